//! The one abstraction the tfplugin5 and tfplugin6 servers adapt: a provider speaks in decoded
//! cty values, schemas and diagnostics, and never sees gRPC.

use super::cty::Value;
use super::diagnostics::{AttributePath, Diagnostics};
use super::schema::Schema;
use std::collections::BTreeMap;

/// All schemas a provider offers.
#[derive(Clone, Debug)]
pub struct ProviderSchemas {
    pub provider: Schema,
    /// Resource type name → schema.
    pub resources: BTreeMap<String, Schema>,
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
/// `DynamicValue` with the right schema type before calling in, reject unknown resource type
/// names themselves, and encode the answers.
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

    /// Terraform asked to stop (Ctrl-C): cancel in-flight work promptly. Calls in progress should
    /// return soon with an error diagnostic saying they were interrupted.
    fn stop(&self);
}
