//! The fleet calls as the simulator serves them: maintenance mode (`batch-maint` and the
//! single-server `PATCH`), the server group listing, `list-sessions` and `logoff`.
//!
//! Validation follows Huawei's API reference; where it says nothing the simulator chooses,
//! and says so here:
//! - `batch-maint`: `items` as for a batch reboot (1–20 unique ids), `maintain_status` a
//!   required boolean; an unknown id fails the whole batch with 404 (as a reboot does), a busy
//!   one (`busy_ids`) with 409; answered 200 with an empty body. The single-server `PATCH …/app-servers/{id}` takes
//!   `{"maintain_status": bool}` and answers the server object.
//! - groups: `server_group_name` matches **partially** (the simulator's pick, so that a
//!   client that trusts the filter to be exact is caught), `server_group_id` and `app_type`
//!   exactly; `limit` 1–100 (default 10).
//! - `list-sessions`: `query_begin_time` and `query_end_time` are required RFC 3339 times
//!   (400 otherwise) bounding the session start; `machine_name` matches exactly ignoring case,
//!   `vm_ip`, `app_server_group_id`, `user_name` exactly; `session_state` a comma list; only
//!   open sessions (Active, Disconnected) are known; `limit` 1–100 (default 10).
//! - `logoff`: `session_ids` 1–999 non-empty strings, `message_type` 0–4 and `delay_time`
//!   0–999999 required; ids of sessions that have ended or never existed are ignored (the
//!   session may end between listing and logoff); 200 with an empty body.

use std::collections::HashSet;

use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;
use time::OffsetDateTime;

use super::api::{body_object, json_null, list_page, parse_items, parse_number, Notes, Outcome};
use super::errors::ApiError;
use super::log::InjectedFault;
use super::sdk::{self, Shape};
use super::servers::{format_api_time, LogoffNotice};
use super::state::Inner;
use super::state::Shared;
use crate::workspace::signing;
use crate::workspace::wire::{self, MAX_LIST_LIMIT, MAX_LOGOFF_DELAY_SECS, MAX_LOGOFF_SESSIONS};

const DEFAULT_LIMIT: usize = 10;

/// The failure to answer when `ids` name a server of the `failing_maint_ids` fault.
fn failing_maint(inner: &mut Inner, ids: &[&str], notes: &mut Notes) -> Option<ApiError> {
    let fault = inner.faults().failing_maint_ids.as_ref()?;
    if !ids.iter().any(|id| fault.ids.iter().any(|f| f == id)) {
        return None;
    }
    let failure = ApiError::server_error(
        fault.status,
        fault.error_code.as_deref(),
        fault.error_msg.as_deref(),
    );
    inner.counters.failing_id_batches += 1;
    notes.fault = Some(InjectedFault::FailingId);
    Some(failure)
}

fn required_bool(object: &serde_json::Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match object.get(key) {
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(ApiError::invalid_parameter(format!(
            "{key} must be true or false"
        ))),
        None => Err(ApiError::invalid_parameter(format!("{key} is required"))),
    }
}

pub(crate) fn batch_maint(shared: &Shared, body: &[u8], notes: &mut Notes) -> Outcome {
    let parsed = body_object(body, "items and maintain_status").and_then(|object| {
        let ids = parse_items(&object)?;
        Ok((ids, required_bool(&object, "maintain_status")?))
    });
    let (ids, maintain_status) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return Outcome::Fail(error),
    };
    notes.items = Some(ids.clone());
    let mut inner = shared.lock();
    if ids.iter().any(|id| inner.faults().hang_ids.contains(id)) {
        return Outcome::Hang;
    }
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !inner.servers.contains(id))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Outcome::Fail(ApiError::server_not_found(&unknown.join(",")));
    }
    let named: Vec<&str> = ids.iter().map(String::as_str).collect();
    if let Some(failure) = failing_maint(&mut inner, &named, notes) {
        return Outcome::Fail(failure);
    }
    if let Some(busy) = inner.take_busy(&ids) {
        notes.fault = Some(InjectedFault::Busy);
        return Outcome::Fail(busy);
    }
    let now = OffsetDateTime::now_utc();
    for id in &ids {
        inner.servers.set_maintenance(id, maintain_status, now);
    }
    Outcome::Answer(json_null())
}

pub(crate) fn update_server(
    shared: &Shared,
    server_id: &str,
    body: &[u8],
    notes: &mut Notes,
) -> Outcome {
    notes.server_id = Some(server_id.to_owned());
    let maintain_status = match body_object(body, "maintain_status")
        .and_then(|object| required_bool(&object, "maintain_status"))
    {
        Ok(value) => value,
        Err(error) => return Outcome::Fail(error),
    };
    let mut inner = shared.lock();
    if inner.faults().hang_ids.iter().any(|id| id == server_id) {
        return Outcome::Hang;
    }
    if !inner.servers.contains(server_id) {
        return Outcome::Fail(ApiError::server_not_found(server_id));
    }
    if let Some(failure) = failing_maint(&mut inner, &[server_id], notes) {
        return Outcome::Fail(failure);
    }
    let now = OffsetDateTime::now_utc();
    if inner
        .servers
        .set_maintenance(server_id, maintain_status, now)
        .is_none()
    {
        return Outcome::Fail(ApiError::server_not_found(server_id));
    }
    match inner.servers.get(server_id, now) {
        Some(server) => {
            Outcome::Answer(Json(sdk::server_json(&server, Shape::Show)).into_response())
        }
        None => Outcome::Fail(ApiError::server_not_found(server_id)),
    }
}

/// `offset` and `limit` (1–100, default 10) of a list query.
fn paging(pairs: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let offset = parse_number(pairs, "offset")?.unwrap_or(0);
    let limit = parse_number(pairs, "limit")?.unwrap_or(DEFAULT_LIMIT);
    let max = usize::try_from(MAX_LIST_LIMIT).unwrap_or(usize::MAX);
    if limit == 0 || limit > max {
        return Err(ApiError::invalid_parameter(format!(
            "The parameter is invalid: limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}"
        )));
    }
    Ok((offset, limit))
}

pub(crate) fn list_groups(shared: &Shared, raw_query: Option<&str>) -> Outcome {
    let pairs = signing::parse_query(raw_query.unwrap_or(""));
    let text = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let (offset, limit) = match paging(&pairs) {
        Ok(paging) => paging,
        Err(error) => return Outcome::Fail(error),
    };
    let name = text("server_group_name");
    let id = text("server_group_id");
    let app_type = text("app_type");
    let inner = shared.lock();
    let created = format_api_time(inner.servers.started_at());
    let matching: Vec<_> = inner
        .servers
        .groups()
        .into_iter()
        .filter(|group| {
            name.as_ref()
                .is_none_or(|n| group.name.contains(n.as_str()))
        })
        .filter(|group| id.as_ref().is_none_or(|id| group.id == *id))
        .filter(|_| {
            app_type
                .as_deref()
                .is_none_or(|t| t == "SESSION_DESKTOP_APP")
        })
        .collect();
    let items = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|group| sdk::group_json(group, &created))
        .collect();
    list_page(matching.len(), items, !inner.faults().list_without_count)
}

pub(crate) fn list_sessions(shared: &Shared, raw_query: Option<&str>) -> Outcome {
    let pairs = signing::parse_query(raw_query.unwrap_or(""));
    let text = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let time_param = |key: &str| -> Result<OffsetDateTime, ApiError> {
        let value = text(key).ok_or_else(|| {
            ApiError::invalid_parameter(format!("The parameter is invalid: {key} is required"))
        })?;
        wire::parse_api_time(&value).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "The parameter is invalid: {key} must be a time such as 2024-02-27T03:47:51.182Z, got {value:?}"
            ))
        })
    };
    let window =
        time_param("query_begin_time").and_then(|begin| Ok((begin, time_param("query_end_time")?)));
    let (begin, end) = match window {
        Ok(window) => window,
        Err(error) => return Outcome::Fail(error),
    };
    let (offset, limit) = match paging(&pairs) {
        Ok(paging) => paging,
        Err(error) => return Outcome::Fail(error),
    };
    let states: Option<Vec<String>> = text("session_state").map(|list| {
        list.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let machine = text("machine_name");
    let vm_ip = text("vm_ip");
    let group = text("app_server_group_id");
    let user = text("user_name");
    let now = OffsetDateTime::now_utc();
    let (with_count, open) = {
        let mut inner = shared.lock();
        (
            !inner.faults().list_without_count,
            inner.servers.open_sessions(now),
        )
    };
    let matching: Vec<_> = open
        .into_iter()
        .filter(|s| s.start_time >= begin && s.start_time <= end)
        .filter(|s| {
            machine
                .as_ref()
                .is_none_or(|m| s.machine_name.eq_ignore_ascii_case(m))
        })
        .filter(|s| vm_ip.as_ref().is_none_or(|ip| s.vm_ip == *ip))
        .filter(|s| group.as_ref().is_none_or(|g| s.server_group_id == *g))
        .filter(|s| user.as_ref().is_none_or(|u| s.login_user == *u))
        .filter(|s| {
            states
                .as_ref()
                .is_none_or(|states| states.iter().any(|state| state == s.state))
        })
        .collect();
    let items = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(sdk::session_json)
        .collect();
    list_page(matching.len(), items, with_count)
}

pub(crate) fn logoff(shared: &Shared, body: &[u8], notes: &mut Notes) -> Outcome {
    let parsed = body_object(body, "session_ids, message_type and delay_time").and_then(|object| {
        let ids = match object.get("session_ids") {
            Some(Value::Array(ids)) => ids,
            Some(_) => {
                return Err(ApiError::invalid_parameter(
                    "session_ids must be an array of session IDs",
                ))
            }
            None => return Err(ApiError::invalid_parameter("session_ids is required")),
        };
        if ids.is_empty() || ids.len() > MAX_LOGOFF_SESSIONS {
            return Err(ApiError::invalid_parameter(format!(
                "session_ids must contain 1 to {MAX_LOGOFF_SESSIONS} IDs, got {}",
                ids.len()
            )));
        }
        let mut session_ids = Vec::with_capacity(ids.len());
        for id in ids {
            match id {
                Value::String(id) if !id.is_empty() => session_ids.push(id.clone()),
                _ => {
                    return Err(ApiError::invalid_parameter(
                        "every entry of session_ids must be a non-empty string",
                    ))
                }
            }
        }
        let message_type = object
            .get("message_type")
            .and_then(Value::as_u64)
            .filter(|n| *n <= u64::from(wire::message_type::MAX))
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "message_type is required and must be 0 to {}",
                    wire::message_type::MAX
                ))
            })?;
        let delay_time = object
            .get("delay_time")
            .and_then(Value::as_u64)
            .filter(|n| *n <= MAX_LOGOFF_DELAY_SECS)
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "delay_time is required and must be 0 to {MAX_LOGOFF_DELAY_SECS} seconds"
                ))
            })?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok((
            session_ids,
            LogoffNotice {
                message_type: u8::try_from(message_type).unwrap_or(u8::MAX),
                title: text("title"),
                message: text("message"),
                delay_time,
            },
        ))
    });
    let (session_ids, notice) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return Outcome::Fail(error),
    };
    notes.items = Some(session_ids.clone());
    let wanted: HashSet<String> = session_ids.into_iter().collect();
    let mut inner = shared.lock();
    if !inner.faults().ignore_logoff {
        inner
            .servers
            .logoff(&wanted, &notice, OffsetDateTime::now_utc());
    }
    Outcome::Answer(json_null())
}
