//! The configuration of the `workspace_app_server_reboot` action.
//!
//! `server_ids`, `type`, `wait_for_ready`, `max_unavailable` and `drain` are the resource's
//! own declarations (the functions in [`crate::provider::reboot::model`] and
//! [`crate::provider::reboot::rolling`]), so the two forms cannot drift apart. Terraform sends
//! every attribute the configuration leaves out as null, and the framework fills in the
//! declared defaults before [`RebootActionConfig`] is decoded.
//!
//! `timeout` has no declared default, on purpose: null means "not set", and then the bound is
//! [`DEFAULT_ACTION_TIMEOUT`] for an all-at-once reboot, or more when `max_unavailable` or
//! `drain` make the rollout longer — the resource's rule for its `timeouts`
//! ([`Rolling::default_timeout`](crate::provider::reboot::rolling::Rolling::default_timeout)).
//! A value that is set is used as given; one too short for even one wave is refused at
//! `timeout` by validation (see [`super::RebootAction`]'s `validate`).

use std::time::Duration;

use crate::framework::{Attr, Set, Value};
use crate::provider::reboot::model::{reboot_type, server_ids, wait_for_ready};
use crate::provider::reboot::rolling::{self, Drain};
use crate::provider::reboot::validate::timeout_action;

/// `timeout` when the configuration leaves it out and neither waves nor a drain are asked: the
/// resource's default bound.
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

crate::model! {
    /// `action "workspace_app_server_reboot" "…" { config { … } }`.
    pub struct RebootActionConfig {
        pub server_ids: Value<Set<Value<String>>> = server_ids(),
        pub r#type: Value<String> = reboot_type(),
        pub wait_for_ready: Value<bool> = wait_for_ready(),
        pub max_unavailable: Value<String> = rolling::max_unavailable(),
        pub drain: Value<Drain> = rolling::drain(),
        pub timeout: Value<String> = Attr::optional()
            .validate(timeout_action)
            .description(
                "Bound on the whole invocation (pre-flight, requests, retries, draining and \
                 waiting: the whole rollout), as a Go-style duration: `\"90s\"`, `\"30m\"`, \
                 `\"1h30m\"`, `\"1.5h\"`. Default `\"30m\"`; with `max_unavailable` or `drain` \
                 and no `timeout`, the default grows to fit the rollout: waves × (drain \
                 timeout + logoff delay + 15 minutes), never less than `\"30m\"`. Zero, \
                 negative or malformed values fail validation at the attribute, and so does a \
                 value too short for even one wave (the drain's longest wait plus 5 minutes).",
            ),
    }
}
