//! The configuration and state of `workspace_app_server_reboot`: one declaration per
//! attribute. Schema, defaults, validation, plan behaviour and the docs all come from here.

use std::collections::BTreeMap;

use super::rolling::{self, Drain};
use super::validate;
use crate::framework::{Attr, Block, PlanBehaviour, Set, Value};

/// `type` when the configuration leaves it out.
pub const DEFAULT_TYPE: &str = "SOFT";
/// `wait_for_ready` when the configuration leaves it out.
pub const DEFAULT_WAIT_FOR_READY: bool = true;

// Declarations shared by every form of the reboot (the resource here; the action of the same
// name declares its configuration with the same functions), so the two cannot drift apart.

/// `server_ids`: the servers to reboot.
pub fn server_ids() -> Attr<Set<Value<String>>> {
    Attr::required().validate(validate::server_ids).description(
        "IDs of the servers to reboot: at least one, each 1 to 128 characters. Any number: \
             requests are batched 20 IDs at a time (the API's limit) and sent at most 4 at a \
             time.",
    )
}

/// The distinct IDs of a `server_ids` value, sorted; `None` until the set and every ID in it
/// are known.
pub fn known_ids(server_ids: &Value<Set<Value<String>>>) -> Option<Vec<String>> {
    let mut ids: Vec<String> = server_ids
        .known()?
        .iter()
        .map(|id| id.known().cloned())
        .collect::<Option<_>>()?;
    ids.sort();
    ids.dedup();
    Some(ids)
}

/// `type`: SOFT or HARD.
pub fn reboot_type() -> Attr<String> {
    Attr::optional_computed()
        .default(DEFAULT_TYPE.to_owned())
        .validate(validate::reboot_type)
        .description(
            "`\"SOFT\"` (a normal reboot) or `\"HARD\"` (forced), in exactly these capitals. \
             Changing it alone reboots nothing.",
        )
}

/// `wait_for_ready`: whether the reboot ends when the servers are running again.
pub fn wait_for_ready() -> Attr<bool> {
    Attr::optional_computed()
        .default(DEFAULT_WAIT_FOR_READY)
        .description(
            "Wait until every rebooted server is running normally again (see Waiting). With \
             `false` the apply ends as soon as the API accepted every reboot request.",
        )
}

crate::model! {
    /// `workspace_app_server_reboot`: configuration, plan and state.
    pub struct RebootState {
        pub id: Value<String> = Attr::computed()
            .plan(PlanBehaviour::KeepPrior)
            .description(
                "Identity of this resource: a random 128-bit hex string generated at create, \
                 stable for the resource's life (a replacement gets a new one).",
            ),
        pub server_ids: Value<Set<Value<String>>> = server_ids(),
        pub r#type: Value<String> = reboot_type(),
        pub triggers: Value<BTreeMap<String, Value<String>>> = Attr::optional().description(
            "Arbitrary values; any change (a key added or removed, a value changed, or a value \
             unknown until apply) reboots every listed server again. An absent map and an \
             empty map are the same.",
        ),
        pub wait_for_ready: Value<bool> = wait_for_ready(),
        pub max_unavailable: Value<String> = rolling::max_unavailable(),
        pub drain: Value<Drain> = rolling::drain(),
        pub rebooted_at: Value<String> = Attr::computed()
            .plan(PlanBehaviour::UnknownWhenActing)
            .description(
                "RFC 3339 UTC time (whole seconds) of the last reboot this resource performed. \
                 In a plan it is \"(known after apply)\" exactly when the step will reboot \
                 servers.",
            ),
        pub pending_server_ids: Value<Set<Value<String>>> = Attr::computed()
            .plan(PlanBehaviour::UnknownWhenActing)
            .description(
                "Servers of `server_ids` that the reboot this state stands for has not finished: \
                 not rebooted, or (with `wait_for_ready`) not seen ready. Empty when that reboot \
                 is complete. After a create that failed part-way (the resource is then \
                 tainted) it lists what the replacement still has to reboot: when the tainted \
                 object is destroyed and its replacement created in the same apply with the \
                 same `server_ids`, `triggers` and `type`, only these servers are rebooted (see \
                 Partial failures). After a trigger change that failed part-way the state keeps \
                 the previous triggers and this list unchanged; the error names the servers not \
                 done. Null in states written before this attribute existed.",
            ),
        pub timeouts: Value<Timeouts> = Block::single().description(
            "Bounds on one whole apply step (requests, retries, draining and waiting: the whole \
             rollout), as Go-style durations: `\"90s\"`, `\"30m\"`, `\"1h30m\"`, `\"1.5h\"`. \
             Zero, negative or malformed values fail `terraform validate` at the attribute. \
             With `max_unavailable` or `drain` and no explicit value, the default grows to fit \
             the rollout: waves × (drain timeout + logoff delay + 15 minutes); an explicit \
             value too short for even one wave (the drain's longest wait plus 5 minutes) is a \
             plan error.",
        ),
    }
}

crate::model! {
    /// The `timeouts` block.
    pub struct Timeouts {
        pub create: Value<String> = Attr::optional()
            .validate(validate::timeout_create)
            .description("Bound on creating the resource. Default `\"30m\"` (more with waves or a drain, see above)."),
        pub update: Value<String> = Attr::optional()
            .validate(validate::timeout_update)
            .description("Bound on an update that reboots. Default `\"30m\"` (more with waves or a drain, see above)."),
    }
}
