//! The workspace provider: its configuration, the `workspace_app_server_reboot` resource and
//! the action of the same name, written with [`crate::framework`].
//!
//! Knows nothing about gRPC (the framework implements the protocol's `Provider`) nor HTTP (it
//! uses the public API of [`crate::workspace`]).
//!
//! Environment variables read besides the provider arguments' fallbacks (see [`config`]):
//! - `HW_WORKSPACE_POLL_INTERVAL` (Go duration, default `5s`): the steady interval between the
//!   starts of two polling rounds of the servers being waited for (no doubling).
//! - `HW_WORKSPACE_SETTLE_TIME` (Go duration, default `60s`): the settle time. A rebooted
//!   server that looks running and idle (ACTIVE, no task) but never showed any sign of the
//!   reboot (no reboot state seen, no `update_time` after the request) is taken as rebooted
//!   once this long has passed since the wait for it started, which is right after the reboot
//!   requests were accepted. `0s` takes such a server as rebooted on its first poll.

pub mod action;
pub mod config;
pub mod duration;
pub mod environment;
pub mod reboot;
pub mod servers;

use std::sync::Arc;

use crate::framework::{Framework, ProviderDefinition, Registry};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::workspace::client::default_user_agent;
use crate::workspace::{endpoint, Client, ClientConfig, Poller, WaitOptions};
use config::{ProviderConfig, ProviderSettings, Resolution, Target, WaitTuning};
use environment::{Environment, ProcessEnvironment};
use reboot::{Handovers, RebootResource};

/// What configure left behind, for every later call.
#[derive(Clone, Default)]
pub enum ClientState {
    #[default]
    NotConfigured,
    /// The configuration held values unknown until apply.
    Deferred,
    Ready(Session),
}

/// Everything a configured provider process shares between its calls. Terraform configures a
/// provider process once, so there is one of each per process: one API client (and with it one
/// request budget), one [`Poller`] that every wait of every resource (and later every action)
/// reads, and one place where a destroyed tainted reboot hands its unfinished work to its
/// replacement. Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct Session {
    pub client: Client,
    pub poller: Poller,
    /// `HW_WORKSPACE_POLL_INTERVAL` and `HW_WORKSPACE_SETTLE_TIME` applied.
    pub wait_options: WaitOptions,
    pub handovers: Handovers,
}

impl Session {
    pub fn new(client: Client, wait_options: WaitOptions) -> Session {
        Session {
            poller: Poller::new(client.clone()),
            client,
            wait_options,
            handovers: Handovers::default(),
        }
    }
}

impl ClientState {
    /// The configured client and wait options, or why there are none.
    pub fn client(&self) -> Result<(Client, WaitOptions), Diagnostic> {
        self.session()
            .map(|session| (session.client, session.wait_options))
    }

    /// The configured session (client, shared poller, handovers), or why there is none.
    pub fn session(&self) -> Result<Session, Diagnostic> {
        match self {
            ClientState::Ready(session) => Ok(session.clone()),
            ClientState::Deferred => Err(Diagnostic::error(
                "Provider configuration not known",
                "The provider \"workspace\" configuration still held values that are only \
                 known after apply when it was configured, so no API client could be made. \
                 Give the provider arguments values known at plan time (or use environment \
                 variables).",
            )),
            ClientState::NotConfigured => Err(Diagnostic::error(
                "Provider not configured",
                "The provider \"workspace\" was not configured before the apply; this is \
                 unexpected from Terraform and OpenTofu.",
            )),
        }
    }
}

/// The `workspace` provider's definition: its configuration and how it is configured.
pub struct Workspace {
    env: Arc<dyn Environment>,
}

/// The `workspace` provider, as the plugin server runs it.
pub type WorkspaceProvider = Framework<Workspace>;

/// Every resource, data source and action of the provider.
pub fn registry() -> Registry<ClientState> {
    Registry::new()
        .resource(RebootResource)
        .data_source(servers::ServersDataSource)
        .action(action::RebootAction)
}

/// `WorkspaceProvider::default()` reads environment fallbacks from the process environment.
impl Default for Framework<Workspace> {
    fn default() -> Self {
        Self::new_workspace(Arc::new(ProcessEnvironment))
    }
}

impl Framework<Workspace> {
    /// Reads environment fallbacks from `env` (tests use a map).
    pub fn with_environment(env: Arc<dyn Environment>) -> Self {
        Self::new_workspace(env)
    }

    fn new_workspace(env: Arc<dyn Environment>) -> Self {
        Framework::new(Workspace { env }, registry())
    }
}

#[async_trait::async_trait]
impl ProviderDefinition for Workspace {
    type Config = ProviderConfig;
    type Data = ClientState;

    fn description(&self) -> &'static str {
        "Reboots Huawei Cloud Workspace APP servers. Every argument may also come from its \
         environment variable; configuration wins."
    }

    fn validate(&self, config: &ProviderConfig) -> Diagnostics {
        config::validate(config)
    }

    async fn configure(
        &self,
        config: ProviderConfig,
        terraform_version: &str,
    ) -> (ClientState, Diagnostics) {
        let (resolution, mut diagnostics) = config::resolve(&config, self.env.as_ref());
        let state = match resolution {
            Resolution::Invalid => ClientState::NotConfigured,
            Resolution::Deferred => {
                tracing::debug!("provider configuration has unknown values; client deferred");
                ClientState::Deferred
            }
            Resolution::Ready(settings) => match build_client(&settings, terraform_version) {
                Ok(client) => ClientState::Ready(Session::new(client, wait_options(settings.wait))),
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    ClientState::NotConfigured
                }
            },
        };
        (state, diagnostics)
    }
}

/// The API client for checked settings. Errors point at the argument at fault.
fn build_client(
    settings: &ProviderSettings,
    terraform_version: &str,
) -> Result<Client, Diagnostic> {
    let base_url = match &settings.target {
        Target::BaseUrl(url) => url.clone(),
        Target::Region { region, cloud } => endpoint::base_url_for_region(region, Some(cloud))
            .map_err(|e| {
                Diagnostic::error(
                    "Invalid region or cloud",
                    format!(
                    "No API endpoint can be derived: {e}. Check `region` ({}) and `cloud` ({}), \
                     or set `endpoint` ({}) to a full base URL.",
                    config::REGION.env(),
                    config::CLOUD.env(),
                    config::ENDPOINT.env()
                ),
                )
                .at(AttributePath::attribute(config::REGION.name()))
            })?,
    };
    let mut client_config = ClientConfig::new(
        base_url,
        settings.project_id.clone(),
        settings.credentials.clone(),
    );
    client_config.insecure = settings.insecure;
    client_config.max_retries = settings.max_retries;
    if let Some(rate) = settings.max_requests_per_second {
        client_config.max_requests_per_second = rate;
    }
    client_config.user_agent = user_agent(terraform_version);
    tracing::debug!(
        base_url = %client_config.base_url,
        auth = settings.credentials.kind(),
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

// These drive the provider against the in-process simulator.
#[cfg(all(test, feature = "simulator"))]
mod tests;
