//! The configuration of the `workspace_app_server_reboot` action.
//!
//! `server_ids`, `type` and `wait_for_ready` are the resource's own declarations (the
//! functions in [`crate::provider::reboot::model`]), so the two forms cannot drift apart.
//! Terraform sends every attribute the configuration leaves out as null, and the framework
//! fills in the declared defaults before [`RebootActionConfig`] is decoded.
//!
//! `max_unavailable` and `drain` arrive with the rolling-reboot engine (`workspace::rollout`):
//! they will be declared here by the same shared functions as on the resource, and passed on
//! in [`super::execute::Execution`]. Until then the action reboots every listed server at once,
//! as the resource does.

use crate::framework::{Attr, Set, Value};
use crate::protocol::diagnostics::Diagnostic;
use crate::provider::reboot::model::{reboot_type, server_ids, wait_for_ready};
use crate::provider::reboot::validate::parse_timeout;

/// `timeout` when the configuration leaves it out: the resource's default bound.
pub const DEFAULT_ACTION_TIMEOUT: &str = "30m";

crate::model! {
    /// `action "workspace_app_server_reboot" "…" { config { … } }`.
    pub struct RebootActionConfig {
        pub server_ids: Value<Set<Value<String>>> = server_ids(),
        pub r#type: Value<String> = reboot_type(),
        pub wait_for_ready: Value<bool> = wait_for_ready(),
        // max_unavailable and drain: see the module docs.
        pub timeout: Value<String> = Attr::optional_computed()
            .default(DEFAULT_ACTION_TIMEOUT.to_owned())
            .validate(timeout)
            .description(
                "Bound on the whole invocation (requests, retries and waiting), as a Go-style \
                 duration: `\"90s\"`, `\"30m\"`, `\"1h30m\"`, `\"1.5h\"`. Zero, negative or \
                 malformed values fail validation at the attribute.",
            ),
    }
}

/// The resource's `timeouts` rule: a Go duration longer than zero.
#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn timeout(text: &String) -> Vec<Diagnostic> {
    match parse_timeout(text) {
        Ok(_) => Vec::new(),
        Err(problem) => vec![Diagnostic::error(
            "Invalid timeout",
            format!("timeout: {problem}"),
        )],
    }
}
