//! The `workspace_app_servers` data source: the servers matching a few filters, so that
//! `server_ids = data.workspace_app_servers.group.ids` targets a whole server group.
//!
//! - `model`: the attribute declarations and the typed state.
//! - `read`: resolving `server_group_name`, listing, exporting.
//!
//! Rules across attributes: `server_group_id` and `server_group_name` both pick the group, so
//! setting both is a validation error (at `server_group_name`). Terraform reads the data
//! source during plan whenever its configuration is known, so a group that gained servers
//! shows up as an in-place change of the reboot resource's `server_ids` — which reboots
//! nothing by itself (only `triggers` do).
//!
//! IAM permissions: `workspace:server:list`, and `workspace:serverGroup:list` when
//! `server_group_name` is set.

pub mod model;
mod read;

use async_trait::async_trait;

pub use model::{Server, ServersState};
pub use read::{Filters, READ_TIMEOUT};

use super::ClientState;
use crate::framework::{Context, DataSource};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};

/// The data source type name Terraform uses.
pub const SERVERS_DATA_SOURCE: &str = "workspace_app_servers";

/// The data source.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServersDataSource;

#[async_trait]
impl DataSource<ClientState> for ServersDataSource {
    type State = ServersState;

    fn type_name(&self) -> &'static str {
        SERVERS_DATA_SOURCE
    }

    fn description(&self) -> &'static str {
        "Lists Workspace APP servers, optionally only those of one server group (by ID or by \
         name), whose name contains a text, or in or out of maintenance mode. Its `ids` feed \
         `workspace_app_server_reboot.server_ids`."
    }

    fn validate(&self, config: &ServersState) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        // Unknown values are checked again at read time, when they are known.
        if config.server_group_id.is_known() && config.server_group_name.is_known() {
            diagnostics.push(
                Diagnostic::error(
                    "Conflicting server group filters",
                    "Set either server_group_id or server_group_name, not both: each picks \
                     the server group on its own.",
                )
                .at(AttributePath::attribute("server_group_name")),
            );
        }
        diagnostics
    }

    async fn read(
        &self,
        context: &Context<ClientState>,
        config: ServersState,
    ) -> Result<ServersState, Diagnostics> {
        let (client, _) = context.data.client().map_err(Diagnostics::from)?;
        read::read(&client, config, &context.cancel).await
    }
}

// These drive the data source against the in-process simulator.
#[cfg(all(test, feature = "simulator"))]
mod tests;
