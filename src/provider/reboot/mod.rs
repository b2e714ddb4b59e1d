//! The `workspace_app_server_reboot` resource: an action dressed as a resource. Creating it
//! reboots the listed servers; changing `triggers` reboots them again; everything else about
//! it lives only in Terraform's state (read and delete call no API).

mod apply;
mod plan;
mod progress;
mod report;
mod upgrade;
mod validate;

use std::time::Duration;

pub use apply::{apply, ApplyContext};
pub use plan::{plan, reboot_planned};
pub use progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
pub use upgrade::upgrade;
pub use validate::validate;

use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};
use crate::protocol::provider::{ImportResponse, ReadResponse};
use crate::provider::schema::reboot_attrs as attrs;

/// `type` when the configuration leaves it out.
pub const DEFAULT_TYPE: &str = "SOFT";
/// `wait_for_ready` when the configuration leaves it out.
pub const DEFAULT_WAIT_FOR_READY: bool = true;
/// Bound on one apply step when `timeouts` says nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

const TIMEOUT_KINDS: [&str; 2] = [attrs::TIMEOUT_CREATE, attrs::TIMEOUT_UPDATE];

/// Why a `type` value is refused, or `None` when it is fine. Case matters: the API takes
/// exactly "SOFT" or "HARD", and a plan must carry the configured value unchanged.
fn reboot_type_problem(text: &str) -> Option<String> {
    match text {
        "SOFT" | "HARD" => None,
        other if other.eq_ignore_ascii_case("soft") || other.eq_ignore_ascii_case("hard") => {
            Some(format!(
                "type must be \"SOFT\" or \"HARD\" in capitals; write {:?}.",
                other.to_ascii_uppercase()
            ))
        }
        other => Some(format!("type must be \"SOFT\" or \"HARD\", not {other:?}.")),
    }
}

/// Read needs no API call: what this resource owns is the record of its reboots, which only
/// the state holds. The state and the private progress record come back unchanged.
pub fn read(current_state: Value, private: Vec<u8>) -> ReadResponse {
    ReadResponse {
        new_state: current_state,
        private,
        diagnostics: Diagnostics::new(),
    }
}

/// Import is refused: there is no remote object to adopt.
pub fn import(id: &str) -> ImportResponse {
    let _ = id;
    ImportResponse {
        imported: Vec::new(),
        diagnostics: Diagnostic::error(
            "workspace_app_server_reboot cannot be imported",
            "This resource is an action (a reboot), not a remote object, so there is nothing to \
             import. Declare it in the configuration instead; note that its first apply reboots \
             the listed servers.",
        )
        .into(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
