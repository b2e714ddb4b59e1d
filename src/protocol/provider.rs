//! The one abstraction the tfplugin5 and tfplugin6 servers adapt: a provider speaks in decoded
//! cty values, schemas and diagnostics, and never sees gRPC.

use super::cty::Value;
use super::diagnostics::{AttributePath, Diagnostics};
use super::schema::Schema;
use std::collections::BTreeMap;

/// All schemas a provider offers.
#[derive(Clone, Debug, Default)]
pub struct ProviderSchemas {
    pub provider: Schema,
    /// Resource type name → schema.
    pub resources: BTreeMap<String, Schema>,
    /// Data source type name → schema.
    pub data_sources: BTreeMap<String, Schema>,
    /// Action type name → schema (Terraform 1.14 and later). An action may share its type
    /// name with a resource: the kinds are separate name spaces.
    pub actions: BTreeMap<String, Schema>,
}

#[derive(Clone, Debug, Default)]
pub struct ReadDataSourceResponse {
    /// The data source's state: the configuration with its computed attributes filled in.
    pub state: Value,
    pub diagnostics: Diagnostics,
}

/// Where a running action reports progress; the protocol layer turns each message into an
/// `InvokeAction` Progress event, in order, ahead of the one Completed event.
#[derive(Clone, Debug)]
pub struct ActionProgress(tokio::sync::mpsc::UnboundedSender<String>);

impl ActionProgress {
    pub fn new(sender: tokio::sync::mpsc::UnboundedSender<String>) -> Self {
        Self(sender)
    }

    /// A sink that drops every message (validation paths and tests).
    pub fn discard() -> Self {
        Self(tokio::sync::mpsc::unbounded_channel().0)
    }

    /// Queues one progress line. A closed stream (Terraform went away) is not an error here:
    /// the action carries on until it sees cancellation.
    pub fn send(&self, message: impl Into<String>) {
        let _ = self.0.send(message.into());
    }
}

/// A resource change to plan. `prior_state` is `Value::Null` on create; `proposed_new_state`
/// is `Value::Null` on destroy.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    pub type_name: String,
    pub prior_state: Value,
    pub proposed_new_state: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct PlanResponse {
    pub planned_state: Value,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// A planned change to carry out. `planned_state` is `Value::Null` on destroy.
#[derive(Clone, Debug)]
pub struct ApplyRequest {
    pub type_name: String,
    pub prior_state: Value,
    pub planned_state: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct ApplyResponse {
    /// `Value::Null` after a destroy; on error, whatever should be saved (null keeps the prior state).
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct ReadResponse {
    /// `Value::Null` means the object is gone.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug)]
pub struct ImportedResource {
    pub type_name: String,
    pub state: Value,
    pub private: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct ImportResponse {
    pub imported: Vec<ImportedResource>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct UpgradeResponse {
    /// The state in the current schema's type.
    pub upgraded_state: Value,
    pub diagnostics: Diagnostics,
}

/// A Terraform provider, independent of protocol version. The servers decode every
/// `DynamicValue` with the right schema type before calling in, answer requests naming a
/// resource, data source or action type the provider does not offer themselves (so these
/// methods only ever see offered type names), and encode the answers.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + 'static {
    fn schemas(&self) -> ProviderSchemas;

    /// May see unknown values; runs before `configure`.
    async fn validate_provider_config(&self, config: &Value) -> Diagnostics;

    async fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics;

    /// May see unknown values; runs before `configure`.
    async fn validate_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics;

    /// `raw_state` is the stored JSON of a state written with schema `version`.
    async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_state: &serde_json::Value,
    ) -> UpgradeResponse;

    async fn read_resource(
        &self,
        type_name: &str,
        current_state: Value,
        private: Vec<u8>,
    ) -> ReadResponse;

    async fn plan_resource_change(&self, request: PlanRequest) -> PlanResponse;

    async fn apply_resource_change(&self, request: ApplyRequest) -> ApplyResponse;

    async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse;

    /// May see unknown values; runs before `configure`.
    async fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let _ = (type_name, config);
        Diagnostics::new()
    }

    /// Runs after `configure`; `config` is fully known.
    async fn read_data_source(&self, type_name: &str, config: Value) -> ReadDataSourceResponse {
        let _ = config;
        ReadDataSourceResponse {
            state: Value::Null,
            diagnostics: crate::protocol::diagnostics::Diagnostic::error(
                "Data source not implemented",
                format!("This provider does not implement reading data source {type_name:?}."),
            )
            .into(),
        }
    }

    /// May see unknown values; runs before `configure`.
    async fn validate_action_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let _ = (type_name, config);
        Diagnostics::new()
    }

    /// Plans an action: validation only, never a side effect. May see unknown values.
    async fn plan_action(&self, type_name: &str, config: &Value) -> Diagnostics {
        let _ = (type_name, config);
        Diagnostics::new()
    }

    /// Runs an action to its end, reporting progress on the way; the diagnostics returned
    /// become the one Completed event.
    async fn invoke_action(
        &self,
        type_name: &str,
        config: Value,
        progress: ActionProgress,
    ) -> Diagnostics {
        let _ = (config, progress);
        crate::protocol::diagnostics::Diagnostic::error(
            "Action not implemented",
            format!("This provider does not implement invoking action {type_name:?}."),
        )
        .into()
    }

    /// Terraform asked to stop (Ctrl-C): cancel in-flight work promptly. Calls in progress should
    /// return soon with an error diagnostic saying they were interrupted.
    fn stop(&self);
}
