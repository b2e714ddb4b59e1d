//! Reading `workspace_app_servers`: resolve `server_group_name` to one group ID, list every
//! matching server (paged by the client, `limit=100` until `count`), and export them sorted
//! by ID.
//!
//! Rules:
//! - `server_group_name` must name exactly one group: none is an error at the attribute, and
//!   several (names are not unique) is an error at the attribute listing their IDs, since
//!   rebooting "whichever group" is never what a configuration means.
//! - The other filters go to the API as they are; `server_name` is the API's partial match.
//! - The whole read is bounded by [`READ_TIMEOUT`] (retries included) and ends when Terraform
//!   asks the provider to stop.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::model::{Server, ServersState};
use crate::framework::Value;
use crate::protocol::cty::Number;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::provider::duration::format_go_duration;
use crate::workspace::{AppServer, Client, ClientError, ListQuery};

/// Bound on one read: every request, retry and page.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The filters of a configuration whose values are all known (a data source is read only
/// then).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub server_group_id: Option<String>,
    pub server_group_name: Option<String>,
    pub server_name: Option<String>,
    pub maintain_status: Option<bool>,
}

impl Filters {
    pub fn of(config: &ServersState) -> Filters {
        Filters {
            server_group_id: config.server_group_id.known().cloned(),
            server_group_name: config.server_group_name.known().cloned(),
            server_name: config.server_name.known().cloned(),
            maintain_status: config.maintain_status.known().copied(),
        }
    }

    /// The data source's `id`: the filters set, as a query string in declaration order, or
    /// `all`. The same filters always give the same `id`.
    pub fn id(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        let text_filters = [
            ("server_group_id", &self.server_group_id),
            ("server_group_name", &self.server_group_name),
            ("server_name", &self.server_name),
        ];
        for (name, value) in text_filters {
            if let Some(value) = value {
                query.append_pair(name, value);
                any = true;
            }
        }
        if let Some(maintain) = self.maintain_status {
            query.append_pair("maintain_status", if maintain { "true" } else { "false" });
            any = true;
        }
        if any {
            query.finish()
        } else {
            "all".to_owned()
        }
    }
}

/// Reads the servers `config` asks for and returns the state.
pub async fn read(
    client: &Client,
    config: ServersState,
    cancel: &CancellationToken,
) -> Result<ServersState, Diagnostics> {
    let filters = Filters::of(&config);
    let deadline = Instant::now() + READ_TIMEOUT;
    let server_group_id = match &filters.server_group_name {
        Some(name) => Some(resolve_group(client, name, cancel, deadline).await?),
        None => filters.server_group_id.clone(),
    };
    let query = ListQuery {
        server_group_id,
        server_name: filters.server_name.clone(),
        maintain_status: filters.maintain_status,
        ..ListQuery::default()
    };
    let mut found = client
        .list_all_servers(&query, cancel, deadline)
        .await
        .map_err(|error| {
            Diagnostics::from(client_error(
                "Cannot list the servers",
                "workspace:server:list",
                &error,
            ))
        })?;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    tracing::debug!(
        filters = %filters.id(),
        servers = found.len(),
        "workspace_app_servers: read"
    );
    Ok(ServersState {
        id: Value::Known(filters.id()),
        ids: Value::Known(found.iter().map(|server| server.id.clone()).collect()),
        servers: Value::Known(found.iter().map(server).collect()),
        ..config
    })
}

/// The ID of the one server group named exactly `name`.
async fn resolve_group(
    client: &Client,
    name: &str,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<String, Diagnostics> {
    let at = AttributePath::attribute("server_group_name");
    let groups = client
        .find_server_groups_by_name(name, cancel, deadline)
        .await
        .map_err(|error| {
            client_error(
                "Cannot look up the server group",
                "workspace:serverGroup:list",
                &error,
            )
            .at(at.clone())
        })?;
    match groups.as_slice() {
        [group] => Ok(group.id.clone()),
        [] => Err(Diagnostic::error(
            "No such server group",
            format!(
                "No server group is named {name:?} (names are matched exactly, \
                 case-sensitively). Check server_group_name, or give the group's ID in \
                 server_group_id."
            ),
        )
        .at(at)
        .into()),
        several => {
            let ids: Vec<&str> = several.iter().map(|group| group.id.as_str()).collect();
            Err(Diagnostic::error(
                "Several server groups have this name",
                format!(
                    "{} server groups are named {name:?}: {}. Set server_group_id to the one \
                     you mean instead of server_group_name.",
                    ids.len(),
                    ids.join(", ")
                ),
            )
            .at(at)
            .into())
        }
    }
}

fn server(found: &AppServer) -> Server {
    let text = |value: &Option<String>| match value {
        Some(text) => Value::Known(text.clone()),
        None => Value::Null,
    };
    Server {
        id: Value::Known(found.id.clone()),
        name: text(&found.name),
        machine_name: text(&found.machine_name),
        server_group_id: text(&found.server_group_id),
        image_id: text(&found.image_id),
        status: text(&found.status),
        vm_status: text(&found.vm_status),
        task_status: text(&found.task_status),
        session_count: match found.session_count.map(i64::try_from) {
            Some(Ok(count)) => Value::Known(Number::Int(count)),
            Some(Err(_)) => Value::Known(Number::Decimal(
                found.session_count.unwrap_or_default().to_string(),
            )),
            None => Value::Null,
        },
        maintain_status: found.maintain_status.map_or(Value::Null, Value::Known),
        update_time: text(&found.update_time),
    }
}

/// A failed API call: what failed, the client's own words, and the IAM permission it needs
/// when the answer was a refusal.
fn client_error(summary: &str, permission: &str, error: &ClientError) -> Diagnostic {
    let mut detail = format!("{error}.");
    match error {
        ClientError::Cancelled { .. } => {
            detail.push_str(" Terraform asked the provider to stop.");
        }
        ClientError::DeadlineExceeded { .. } => {
            detail.push_str(&format!(
                " The read is bounded by {}.",
                format_go_duration(READ_TIMEOUT)
            ));
        }
        _ => {}
    }
    if error
        .api_error()
        .is_some_and(|api| matches!(api.status, 401 | 403))
    {
        detail.push_str(&format!(
            " This call needs the IAM permission {permission}."
        ));
    }
    Diagnostic::error(summary, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_names_the_filters_in_a_fixed_order() {
        assert_eq!(Filters::default().id(), "all");
        let filters = Filters {
            server_group_name: Some("web & api".to_owned()),
            maintain_status: Some(false),
            ..Filters::default()
        };
        assert_eq!(
            filters.id(),
            "server_group_name=web+%26+api&maintain_status=false"
        );
    }

    #[test]
    fn missing_fields_are_null_and_counts_are_numbers() {
        let found = AppServer {
            id: "srv-1".to_owned(),
            session_count: Some(3),
            maintain_status: Some(true),
            ..AppServer::default()
        };
        let exported = server(&found);
        assert_eq!(exported.session_count, Value::Known(Number::Int(3)));
        assert_eq!(exported.maintain_status, Value::Known(true));
        assert_eq!(exported.name, Value::Null);
    }
}
