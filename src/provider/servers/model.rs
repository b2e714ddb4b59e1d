//! The configuration and state of the `workspace_app_servers` data source: one declaration per
//! attribute. Schema, validation and the docs all come from here.

use crate::framework::{Attr, Value};
use crate::protocol::cty::Number;
use crate::protocol::diagnostics::Diagnostic;

crate::model! {
    /// `data "workspace_app_servers"`: the filters, and what the read found.
    pub struct ServersState {
        pub id: Value<String> = Attr::computed().description(
            "The filters this read used, as a query string (`server_group_id=sg-1`), or `all` \
             when none is set. Terraform itself does not need it; it is here for tools that \
             expect every object to have an `id`.",
        ),
        pub server_group_id: Value<String> = Attr::optional()
            .validate(not_empty)
            .description(
                "Only servers of this server group (exact ID). Conflicts with \
                 `server_group_name`.",
            ),
        pub server_group_name: Value<String> = Attr::optional()
            .validate(not_empty)
            .description(
                "Only servers of the server group with exactly this name (case-sensitive), \
                 looked up in the server group list. It is an error when no group has this \
                 name, and when several do (their IDs are listed: use `server_group_id` \
                 then). Conflicts with `server_group_id`.",
            ),
        pub server_name: Value<String> = Attr::optional()
            .validate(not_empty)
            .description(
                "Only servers whose name contains this text: the API's own partial match, so \
                 `web` also finds `web-01` and `old-web`.",
            ),
        pub maintain_status: Value<bool> = Attr::optional().description(
            "Only servers in maintenance mode (`true`) or only servers out of it (`false`).",
        ),
        pub ids: Value<Vec<String>> = Attr::computed().description(
            "IDs of the matching servers, sorted. Empty when nothing matches.",
        ),
        pub servers: Value<Vec<Server>> = Attr::computed().description(
            "The matching servers, sorted by `id`. Each has `id`, `name`, `machine_name`, \
             `server_group_id`, `image_id`, `status` (the session agent's registration: \
             `REGISTERED`, `MAINTAINING`, …), `vm_status` (`ACTIVE`, `REBOOT`, …), \
             `task_status` (`null` as text when idle), `update_time` (strings), \
             `session_count` (number of user sessions) and `maintain_status` (bool); a field \
             the API left out is null.",
        ),
    }
}

crate::model! {
    /// One element of `servers`: the fields of the server list the data source exports.
    pub struct Server {
        pub id: Value<String> = Attr::computed(),
        pub name: Value<String> = Attr::computed(),
        pub machine_name: Value<String> = Attr::computed(),
        pub server_group_id: Value<String> = Attr::computed(),
        pub image_id: Value<String> = Attr::computed(),
        pub status: Value<String> = Attr::computed(),
        pub vm_status: Value<String> = Attr::computed(),
        pub task_status: Value<String> = Attr::computed(),
        pub session_count: Value<Number> = Attr::computed(),
        pub maintain_status: Value<bool> = Attr::computed(),
        pub update_time: Value<String> = Attr::computed(),
    }
}

/// A filter set to `""` filters nothing the way one would expect; ask to leave it out.
#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn not_empty(text: &String) -> Vec<Diagnostic> {
    if text.is_empty() {
        vec![Diagnostic::error(
            "Empty filter",
            "This filter is set to an empty string. Leave the attribute out (or set it to \
             null) to not filter on it.",
        )]
    } else {
        Vec::new()
    }
}
