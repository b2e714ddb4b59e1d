//! The `workspace_app_server_reboot` resource: an action dressed as a resource. Creating it
//! reboots the listed servers; changing `triggers` reboots them again; everything else about
//! it lives only in Terraform's state (read and delete call no API).
//!
//! - `model`: the attribute declarations and the typed state.
//! - `validate`: the validators the declarations name.
//! - `rolling`: `max_unavailable` and `drain`, declared once for the resource and the action.
//! - `plan`: whether an update reboots, and the plan's warnings and errors about the rollout.
//! - `apply` → `job` → `preflight` → `run` → `record`: the reboot itself, and what is saved.
//! - `progress`, `handover`, `report`: partial-failure bookkeeping (an update's private
//!   progress; a destroyed tainted create's pending servers handed to its replacement) and
//!   diagnostics.
//! - `upgrade`: state written by earlier schema versions.

mod apply;
mod handover;
mod job;
pub mod model;
mod plan;
pub(crate) mod preflight;
mod progress;
mod record;
pub(crate) mod report;
pub mod rolling;
mod run;
mod upgrade;
pub(crate) mod validate;

use async_trait::async_trait;
use serde_json::Value as Json;

pub use handover::{Handover, Handovers};
pub use job::DEFAULT_TIMEOUT;
pub use model::{RebootState, Timeouts, DEFAULT_TYPE, DEFAULT_WAIT_FOR_READY};
pub use plan::reboot_planned;
pub use progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
pub use report::hint_for;

use super::ClientState;
use crate::framework::{Applied, Context, Create, PlanChange, Resource, Update};
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};

/// The resource type name Terraform uses.
pub const REBOOT_RESOURCE: &str = "workspace_app_server_reboot";

/// Schema version of `workspace_app_server_reboot`. Version 0 had the same shape; the upgrade
/// path from it is kept (and tested) so state written by early builds keeps working. Adding the
/// computed `pending_server_ids` did not change the version: a state without it reads it as
/// null ("not recorded"), which hands nothing over, exactly as before it existed.
pub const REBOOT_SCHEMA_VERSION: i64 = 1;

/// The resource.
#[derive(Debug, Clone, Copy, Default)]
pub struct RebootResource;

#[async_trait]
impl Resource<ClientState> for RebootResource {
    type State = RebootState;

    fn type_name(&self) -> &'static str {
        REBOOT_RESOURCE
    }

    fn description(&self) -> &'static str {
        "Reboots Workspace APP servers: all of them when created, and again whenever `triggers` \
         change. Destroying it calls no API."
    }

    fn version(&self) -> i64 {
        REBOOT_SCHEMA_VERSION
    }

    fn validate(&self, config: &RebootState) -> Diagnostics {
        rolling::rules(
            &config.max_unavailable,
            &config.drain,
            &config.wait_for_ready,
        )
    }

    async fn plan(&self, context: &Context<ClientState>, change: &mut PlanChange<RebootState>) {
        plan::plan(context, change).await;
    }

    async fn create(
        &self,
        context: &Context<ClientState>,
        request: Create<RebootState>,
    ) -> Applied<RebootState> {
        apply::create(context, request).await
    }

    async fn update(
        &self,
        context: &Context<ClientState>,
        request: Update<RebootState>,
    ) -> Applied<RebootState> {
        apply::update(context, request).await
    }

    /// No API call; a tainted object's unfinished work is left for its replacement.
    async fn delete(&self, context: &Context<ClientState>, prior: RebootState) -> Diagnostics {
        apply::delete(context, &prior)
    }

    fn upgrade(&self, version: i64, raw_state: &Json) -> Result<RebootState, Diagnostics> {
        upgrade::upgrade(version, raw_state)
    }

    /// Refused: there is no remote object to adopt.
    fn import(&self, _id: &str) -> Result<(RebootState, Vec<u8>), Diagnostics> {
        Err(Diagnostic::error(
            "workspace_app_server_reboot cannot be imported",
            "This resource is an action (a reboot), not a remote object, so there is nothing to \
             import. Declare it in the configuration instead; note that its first apply reboots \
             the listed servers.",
        )
        .into())
    }
}

#[cfg(test)]
pub(crate) mod tests;
