//! Control endpoints under `/_simulator/`, outside the API namespace and without
//! authentication, for tests and demos driving a simulator in another process.
//!
//! - `GET  /_simulator/state` → [`SimulatorState`](super::SimulatorState)
//! - `GET  /_simulator/requests` → `[RequestLogEntry]`; `DELETE` empties the in-memory log
//! - `GET  /_simulator/faults` → [`Faults`]; `PUT` replaces them (restarting "first N" budgets)
//! - `PUT  /_simulator/quota` ← [`QuotaFault`] or `null`: only the quota (full buckets; per
//!   API unless `"per_api": false`); the other faults keep their budgets
//! - `PUT  /_simulator/reboot-timing` ← [`RebootTiming`] (`registering_ms`: the
//!   agent-registration delay)
//! - `POST /_simulator/servers` ← [`ServerSpec`] (a bare id string or an object; `frozen`,
//!   `maintain_status`, `server_group_id`, …)
//! - `POST /_simulator/groups` ← [`ServerGroupSpec`] (`name` optional) → the new ids
//!   (generated `srv-NNNN`)
//! - `GET  /_simulator/fleet` → [`FleetReport`](super::FleetReport): the most servers
//!   unavailable at once, sessions open / killed / logged off / ended, and per server its
//!   maintenance changes, reboots (sessions killed each) and logoff messages
//! - `GET  /_simulator/timeline[?width=N]` → the fleet report as a text timeline
//!   ([`timeline`](super::timeline)): waves, maintenance on/off, logoff messages and reboots
//!   per server, and the totals, then the API requests per API and their 429s (`text/plain`)
//! - `GET  /_simulator/sessions` → [`SessionConfig`]; `PUT` replaces it from now on
//! - `POST /_simulator/servers/{id}/status` ← [`StatusOverride`] (status fields, `freeze`:
//!   `[]` unfreezes, `[{"effect":1,"scene":"ARREAR"}]` freezes, `maintain_status`,
//!   `session_count`)

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;
use time::OffsetDateTime;

use super::config::{Faults, QuotaFault, RebootTiming, ServerGroupSpec, ServerSpec, SessionConfig};
use super::servers::StatusOverride;
use super::state::Shared;
use super::timeline::{requests_by_api, DEFAULT_WIDTH};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_simulator/state", get(state))
        .route("/_simulator/requests", get(requests).delete(clear_requests))
        .route("/_simulator/faults", get(faults).put(set_faults))
        .route("/_simulator/quota", put(set_quota))
        .route("/_simulator/reboot-timing", put(set_reboot_timing))
        .route("/_simulator/servers", post(add_server))
        .route("/_simulator/groups", post(add_group))
        .route("/_simulator/servers/{id}/status", post(set_status))
        .route("/_simulator/fleet", get(fleet))
        .route("/_simulator/timeline", get(timeline))
        .route("/_simulator/sessions", get(sessions).put(set_sessions))
}

fn problem(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.snapshot()).into_response()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.log.entries()).into_response()
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.log.clear();
    StatusCode::NO_CONTENT
}

async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().faults().clone()).into_response()
}

async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> StatusCode {
    shared.lock().set_faults(faults);
    StatusCode::NO_CONTENT
}

async fn set_quota(
    State(shared): State<Arc<Shared>>,
    Json(quota): Json<Option<QuotaFault>>,
) -> StatusCode {
    shared.lock().set_quota(quota);
    StatusCode::NO_CONTENT
}

async fn add_group(
    State(shared): State<Arc<Shared>>,
    Json(group): Json<ServerGroupSpec>,
) -> Response {
    let mut inner = shared.lock();
    if let Some(name) = &group.name {
        inner.servers.set_group_name(&group.id, name);
    }
    let ids = inner
        .servers
        .add_generated(&group.id, group.server_count, OffsetDateTime::now_utc());
    (StatusCode::CREATED, Json(ids)).into_response()
}

async fn fleet(State(shared): State<Arc<Shared>>) -> Response {
    Json(
        shared
            .lock()
            .servers
            .fleet_report(OffsetDateTime::now_utc()),
    )
    .into_response()
}

/// `?width=N`: the number of time columns.
#[derive(Debug, serde::Deserialize)]
struct TimelineQuery {
    width: Option<usize>,
}

async fn timeline(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<TimelineQuery>,
) -> Response {
    let (report, counters) = {
        let mut inner = shared.lock();
        let report = inner.servers.fleet_report(OffsetDateTime::now_utc());
        (report, inner.counters.clone())
    };
    // Wider than a few hundred columns helps nobody.
    let width = query.width.unwrap_or(DEFAULT_WIDTH).min(400);
    let mut text = report.timeline(width);
    text.push_str(&requests_by_api(&counters));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn sessions(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().servers.session_config()).into_response()
}

async fn set_sessions(
    State(shared): State<Arc<Shared>>,
    Json(config): Json<SessionConfig>,
) -> StatusCode {
    shared
        .lock()
        .servers
        .set_session_config(config, OffsetDateTime::now_utc());
    StatusCode::NO_CONTENT
}

async fn set_reboot_timing(
    State(shared): State<Arc<Shared>>,
    Json(timing): Json<RebootTiming>,
) -> StatusCode {
    shared.lock().timing = timing;
    StatusCode::NO_CONTENT
}

async fn add_server(State(shared): State<Arc<Shared>>, Json(spec): Json<ServerSpec>) -> Response {
    match shared.lock().servers.add(spec, OffsetDateTime::now_utc()) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(error) => problem(StatusCode::CONFLICT, error.to_string()),
    }
}

async fn set_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(change): Json<StatusOverride>,
) -> Response {
    let found = shared
        .lock()
        .servers
        .override_status(&id, &change, OffsetDateTime::now_utc());
    if found {
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, format!("no server with id {id:?}"))
    }
}
