//! The workspace provider: configuration and the `workspace_app_server_reboot` resource.
//!
//! Knows nothing about gRPC (it implements [`Provider`]) nor HTTP (it uses the public API of
//! [`crate::workspace`]).
//!
//! Environment variables read besides the provider arguments' fallbacks (see [`config`]):
//! - `HW_WORKSPACE_POLL_INTERVAL` (Go duration, default `5s`): the steady pause between two
//!   polling rounds of the servers being waited for.
//! - `HW_WORKSPACE_SETTLE_TIME` (Go duration, default `60s`): how long after the reboot request
//!   a server that looks running and idle, without any sign of the reboot ever seen, is taken
//!   as rebooted.

pub mod config;
pub mod duration;
pub mod environment;
pub mod reboot;
pub mod schema;
mod values;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, Provider,
    ProviderSchemas, ReadResponse, UpgradeResponse,
};
use crate::workspace::client::default_user_agent;
use crate::workspace::{endpoint, Auth, Client, ClientConfig, WaitOptions};
use config::{Credentials, ProviderSettings, Resolution, Target, WaitTuning};
use environment::{Environment, ProcessEnvironment};
use schema::REBOOT_RESOURCE;

/// What configure left behind.
#[derive(Clone)]
enum ClientState {
    NotConfigured,
    /// The configuration held values unknown until apply.
    Deferred,
    Ready {
        client: Client,
        wait_options: WaitOptions,
    },
}

/// The `workspace` provider.
pub struct WorkspaceProvider {
    env: Arc<dyn Environment>,
    state: RwLock<ClientState>,
    /// Cancelled by [`Provider::stop`]; every apply works under a child of it.
    stop: CancellationToken,
}

impl Default for WorkspaceProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkspaceProvider {
    /// Reads environment fallbacks from the process environment.
    pub fn new() -> Self {
        Self::with_environment(Arc::new(ProcessEnvironment))
    }

    /// Reads environment fallbacks from `env` (tests use a map).
    pub fn with_environment(env: Arc<dyn Environment>) -> Self {
        Self {
            env,
            state: RwLock::new(ClientState::NotConfigured),
            stop: CancellationToken::new(),
        }
    }

    async fn apply_context(&self) -> reboot::ApplyContext {
        let (client, wait_options) = match &*self.state.read().await {
            ClientState::Ready {
                client,
                wait_options,
            } => (Ok(client.clone()), wait_options.clone()),
            ClientState::Deferred => (
                Err(Diagnostic::error(
                    "Provider configuration not known",
                    "The provider \"workspace\" configuration still held values that are only \
                     known after apply when it was configured, so no API client could be made. \
                     Give the provider arguments values known at plan time (or use environment \
                     variables).",
                )),
                WaitOptions::default(),
            ),
            ClientState::NotConfigured => (
                Err(Diagnostic::error(
                    "Provider not configured",
                    "The provider \"workspace\" was not configured before the apply; this is \
                     unexpected from Terraform and OpenTofu.",
                )),
                WaitOptions::default(),
            ),
        };
        reboot::ApplyContext {
            client,
            wait_options,
            cancel: self.stop.child_token(),
        }
    }
}

fn unknown_type(type_name: &str) -> Diagnostic {
    Diagnostic::error(
        "Unknown resource type",
        format!("The workspace provider has no resource type {type_name:?}; it offers {REBOOT_RESOURCE}."),
    )
}

#[async_trait::async_trait]
impl Provider for WorkspaceProvider {
    fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            provider: schema::provider_schema(),
            resources: BTreeMap::from([(REBOOT_RESOURCE.to_owned(), schema::reboot_schema())]),
            ..ProviderSchemas::default()
        }
    }

    async fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        config::validate(config)
    }

    async fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics {
        let (resolution, mut diagnostics) = config::resolve(config, self.env.as_ref());
        let new_state = match resolution {
            Resolution::Invalid => ClientState::NotConfigured,
            Resolution::Deferred => {
                tracing::debug!("provider configuration has unknown values; client deferred");
                ClientState::Deferred
            }
            Resolution::Ready(settings) => match build_client(&settings, terraform_version) {
                Ok(client) => ClientState::Ready {
                    client,
                    wait_options: wait_options(settings.wait),
                },
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    ClientState::NotConfigured
                }
            },
        };
        *self.state.write().await = new_state;
        diagnostics
    }

    async fn validate_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        if type_name != REBOOT_RESOURCE {
            return unknown_type(type_name).into();
        }
        reboot::validate(config)
    }

    async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_state: &serde_json::Value,
    ) -> UpgradeResponse {
        if type_name != REBOOT_RESOURCE {
            return UpgradeResponse {
                upgraded_state: Value::Null,
                diagnostics: unknown_type(type_name).into(),
            };
        }
        reboot::upgrade(version, raw_state)
    }

    async fn read_resource(
        &self,
        type_name: &str,
        current_state: Value,
        private: Vec<u8>,
    ) -> ReadResponse {
        if type_name != REBOOT_RESOURCE {
            return ReadResponse {
                new_state: current_state,
                private,
                diagnostics: unknown_type(type_name).into(),
            };
        }
        reboot::read(current_state, private)
    }

    async fn plan_resource_change(&self, request: PlanRequest) -> PlanResponse {
        if request.type_name != REBOOT_RESOURCE {
            return PlanResponse {
                diagnostics: unknown_type(&request.type_name).into(),
                ..PlanResponse::default()
            };
        }
        reboot::plan(&request)
    }

    async fn apply_resource_change(&self, request: ApplyRequest) -> ApplyResponse {
        if request.type_name != REBOOT_RESOURCE {
            return ApplyResponse {
                diagnostics: unknown_type(&request.type_name).into(),
                ..ApplyResponse::default()
            };
        }
        let context = self.apply_context().await;
        reboot::apply(request, context).await
    }

    async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse {
        if type_name != REBOOT_RESOURCE {
            return ImportResponse {
                imported: Vec::new(),
                diagnostics: unknown_type(type_name).into(),
            };
        }
        reboot::import(id)
    }

    fn stop(&self) {
        tracing::info!("stop requested: interrupting in-flight applies");
        self.stop.cancel();
    }
}

/// The API client for checked settings. Errors point at the argument at fault.
fn build_client(
    settings: &ProviderSettings,
    terraform_version: &str,
) -> Result<Client, Diagnostic> {
    let base_url = match &settings.target {
        Target::BaseUrl(url) => url.clone(),
        Target::Region { region, cloud } => endpoint::base_url_for_region(region, Some(cloud)).map_err(|e| {
            Diagnostic::error(
                "Invalid region or cloud",
                format!(
                    "No API endpoint can be derived: {e}. Check `region` (HW_REGION_NAME) and \
                     `cloud` (HW_CLOUD), or set `endpoint` (HW_WORKSPACE_ENDPOINT) to a full base URL."
                ),
            )
            .at(AttributePath::attribute(config::REGION.name))
        })?,
    };
    let auth = match &settings.credentials {
        Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } => Auth::AkSk {
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            security_token: security_token.clone(),
        },
        Credentials::Token(token) => Auth::Token(token.clone()),
    };
    let mut client_config = ClientConfig::new(base_url, settings.project_id.clone(), auth);
    client_config.insecure = settings.insecure;
    client_config.max_retries = settings.max_retries;
    client_config.user_agent = user_agent(terraform_version);
    tracing::debug!(
        base_url = %client_config.base_url,
        auth = match settings.credentials { Credentials::AkSk { .. } => "ak/sk", Credentials::Token(_) => "token" },
        insecure = settings.insecure,
        max_retries = settings.max_retries,
        "configuring the Workspace API client"
    );
    Client::new(client_config).map_err(|e| {
        Diagnostic::error(
            "Cannot create the API client",
            format!("The Workspace API client could not be set up: {e}."),
        )
    })
}

/// `terraform-provider-workspace/0.1.0 terraform/1.0.3`; the version text Terraform sent is
/// kept to header-safe characters.
fn user_agent(terraform_version: &str) -> String {
    let version: String = terraform_version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
        .take(32)
        .collect();
    if version.is_empty() {
        default_user_agent()
    } else {
        format!("{} terraform/{version}", default_user_agent())
    }
}

fn wait_options(tuning: WaitTuning) -> WaitOptions {
    let mut options = WaitOptions::default();
    if let Some(interval) = tuning.poll_interval {
        options.interval = interval;
    }
    if let Some(settle) = tuning.settle_time {
        options.settle = settle;
    }
    options
}

#[cfg(test)]
mod tests;
