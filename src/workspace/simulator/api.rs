//! The Workspace APP API as the simulator serves it: routing, fault injection, authentication,
//! body validation and the three calls.
//!
//! One handler takes every request outside `/_simulator/`, because the signature check needs
//! the raw method, path, query, headers and body exactly as received.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use time::OffsetDateTime;

use super::auth::{self, AuthKind, ReceivedRequest};
use super::errors::{codes, ApiError};
use super::fleet_api as fleet;
use super::log::{InjectedFault, Operation, RequestLogEntry};
use super::sdk::{self, Shape};
use super::servers::{format_api_time, RebootPlan, ServerFilter};
use super::state::Shared;
use crate::workspace::signing;
use crate::workspace::wire::{
    headers, RebootType, MAX_IDS_PER_BATCH, MAX_LIST_LIMIT, MAX_SERVER_ID_LEN,
};

const DEFAULT_LIST_LIMIT: usize = 10;

/// A request matched to an API call.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    BatchReboot {
        project_id: String,
    },
    List {
        project_id: String,
    },
    Show {
        project_id: String,
        server_id: String,
    },
    BatchMaint {
        project_id: String,
    },
    UpdateServer {
        project_id: String,
        server_id: String,
    },
    ListGroups {
        project_id: String,
    },
    ListSessions {
        project_id: String,
    },
    Logoff {
        project_id: String,
    },
    Unknown,
}

impl Route {
    fn operation(&self) -> Operation {
        match self {
            Route::BatchReboot { .. } => Operation::BatchReboot,
            Route::List { .. } => Operation::ListServers,
            Route::Show { .. } => Operation::ShowServer,
            Route::BatchMaint { .. } => Operation::BatchMaint,
            Route::UpdateServer { .. } => Operation::UpdateServer,
            Route::ListGroups { .. } => Operation::ListServerGroups,
            Route::ListSessions { .. } => Operation::ListSessions,
            Route::Logoff { .. } => Operation::Logoff,
            Route::Unknown => Operation::Unknown,
        }
    }

    fn project_id(&self) -> Option<&str> {
        match self {
            Route::BatchReboot { project_id }
            | Route::List { project_id }
            | Route::Show { project_id, .. }
            | Route::BatchMaint { project_id }
            | Route::UpdateServer { project_id, .. }
            | Route::ListGroups { project_id }
            | Route::ListSessions { project_id }
            | Route::Logoff { project_id } => Some(project_id),
            Route::Unknown => None,
        }
    }
}

fn decode_segment(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn route(method: &Method, raw_path: &str) -> Route {
    let segments: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::PATCH, ["v1", project, "app-servers", "actions", "batch-reboot"]) => {
            Route::BatchReboot {
                project_id: decode_segment(project),
            }
        }
        (&Method::PATCH, ["v1", project, "app-servers", "actions", "batch-maint"]) => {
            Route::BatchMaint {
                project_id: decode_segment(project),
            }
        }
        (&Method::PATCH, ["v1", project, "app-servers", server_id]) if !server_id.is_empty() => {
            Route::UpdateServer {
                project_id: decode_segment(project),
                server_id: decode_segment(server_id),
            }
        }
        (&Method::GET, ["v1", project, "app-server-groups"]) => Route::ListGroups {
            project_id: decode_segment(project),
        },
        (&Method::GET, ["v1", project, "session", "list-sessions"]) => Route::ListSessions {
            project_id: decode_segment(project),
        },
        (&Method::POST, ["v1", project, "session", "logoff"]) => Route::Logoff {
            project_id: decode_segment(project),
        },
        (&Method::GET, ["v1", project, "app-servers"]) => Route::List {
            project_id: decode_segment(project),
        },
        (&Method::GET, ["v1", project, "app-servers", server_id]) if !server_id.is_empty() => {
            Route::Show {
                project_id: decode_segment(project),
                server_id: decode_segment(server_id),
            }
        }
        _ => Route::Unknown,
    }
}

/// How a request ends.
pub(crate) enum Outcome {
    Answer(Response),
    Fail(ApiError),
    /// Never answered; the client has to give up.
    Hang,
}

/// What the log learns while the request is processed.
#[derive(Default)]
pub(crate) struct Notes {
    pub items: Option<Vec<String>>,
    reboot_type: Option<RebootType>,
    pub server_id: Option<String>,
    access_key: Option<String>,
    pub fault: Option<InjectedFault>,
}

fn new_request_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    request_headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let arrived = OffsetDateTime::now_utc();
    let request_id = new_request_id();
    let seq = shared
        .next_seq
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let route = route(&method, uri.path());
    let mut notes = Notes::default();
    let cap = {
        let mut inner = shared.lock();
        inner.counters.requests += 1;
        inner.faults().max_in_flight
    };

    let admitted = shared.enter(cap);
    let in_flight = admitted.as_ref().map_or(0, |slot| slot.count);
    let outcome = match &admitted {
        None => {
            notes.fault = Some(InjectedFault::ConcurrencyCap);
            shared.lock().counters.concurrency_rejections += 1;
            Outcome::Fail(ApiError::throttled(cap.unwrap_or(0), 1, None))
        }
        Some(_) => {
            process(
                &shared,
                &route,
                &method,
                &uri,
                &request_headers,
                &body,
                &mut notes,
            )
            .await
        }
    };

    let (status, error_code, response) = match outcome {
        Outcome::Answer(mut response) => {
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(headers::REQUEST_ID, value);
            }
            (Some(response.status().as_u16()), None, Some(response))
        }
        Outcome::Fail(error) => (
            Some(error.status.as_u16()),
            Some(error.error_code.clone()),
            Some(error.into_response_with_id(&request_id)),
        ),
        Outcome::Hang => (None, None, None),
    };
    shared
        .lock()
        .counters
        .count_answer(route.operation(), status);
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    shared.log.record(RequestLogEntry {
        seq,
        time: format_api_time(arrived),
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        operation: route.operation(),
        status,
        error_code,
        items: notes.items,
        reboot_type: notes.reboot_type,
        server_id: notes.server_id,
        auth: AuthKind::presented(&request_headers),
        access_key: notes.access_key,
        request_id: request_id.clone(),
        fault: notes.fault,
        in_flight,
        duration_ms,
    });

    match response {
        Some(response) => response,
        None => {
            // Hold the in-flight slot while hanging; give up only when the simulator stops
            // (or the client disconnects and the server drops this future).
            shared.shutdown.cancelled().await;
            drop(admitted);
            ApiError::server_error(503, None, None).into_response_with_id(&request_id)
        }
    }
}

async fn process(
    shared: &Shared,
    route: &Route,
    method: &Method,
    uri: &Uri,
    request_headers: &HeaderMap,
    body: &Bytes,
    notes: &mut Notes,
) -> Outcome {
    let latency = Duration::from_millis(shared.lock().faults().latency_ms);
    if !latency.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(latency) => {}
            () = shared.shutdown.cancelled() => {}
        }
    }
    let Some(project_id) = route.project_id() else {
        return Outcome::Fail(ApiError::api_not_found());
    };
    let operation = route.operation();
    {
        let mut inner = shared.lock();
        if let Some(throttled) = inner.take_throttle(operation) {
            inner.counters.throttled += 1;
            notes.fault = Some(InjectedFault::Throttled);
            return Outcome::Fail(throttled);
        }
    }

    let (credentials, max_skew, configured_project) = {
        let inner = shared.lock();
        (
            inner.credentials.clone(),
            inner.max_clock_skew,
            inner.project_id.clone(),
        )
    };
    let received = ReceivedRequest {
        method: method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query(),
        headers: request_headers,
        body,
    };
    match auth::authenticate(&received, &credentials, OffsetDateTime::now_utc(), max_skew) {
        Ok(authenticated) => notes.access_key = authenticated.access_key,
        Err(error) => return Outcome::Fail(error.to_api_error()),
    }
    {
        // The gateway counts the request against the quota (of its API and user) once it knows
        // who sent it, before the service sees it.
        let mut inner = shared.lock();
        if let Some(throttled) = inner.take_quota(operation.api()) {
            inner.counters.quota_rejections += 1;
            notes.fault = Some(InjectedFault::Quota);
            return Outcome::Fail(throttled);
        }
    }
    if let Err(error) = check_project(project_id, &configured_project, request_headers) {
        return Outcome::Fail(error);
    }
    {
        let mut inner = shared.lock();
        if let Some(failure) = inner.take_server_error(operation) {
            inner.counters.server_errors += 1;
            notes.fault = Some(InjectedFault::ServerError);
            return Outcome::Fail(failure);
        }
    }

    let outcome = match route {
        Route::BatchReboot { .. } => batch_reboot(shared, body, notes),
        Route::List { .. } => list_servers(shared, uri.query(), notes),
        Route::Show { server_id, .. } => show_server(shared, server_id, notes),
        Route::BatchMaint { .. } => fleet::batch_maint(shared, body, notes),
        Route::UpdateServer { server_id, .. } => {
            fleet::update_server(shared, server_id, body, notes)
        }
        Route::ListGroups { .. } => fleet::list_groups(shared, uri.query()),
        Route::ListSessions { .. } => fleet::list_sessions(shared, uri.query()),
        Route::Logoff { .. } => fleet::logoff(shared, body, notes),
        Route::Unknown => Outcome::Fail(ApiError::api_not_found()),
    };
    if matches!(outcome, Outcome::Hang) {
        notes.fault = Some(InjectedFault::Hang);
        shared.lock().counters.hung += 1;
    }
    outcome
}

fn check_project(
    path_project: &str,
    configured_project: &str,
    request_headers: &HeaderMap,
) -> Result<(), ApiError> {
    if path_project != configured_project {
        return Err(ApiError::service(
            StatusCode::FORBIDDEN,
            codes::PERMISSION_DENIED,
            format!(
                "The project {path_project} in the URL is not the project of these credentials"
            ),
        ));
    }
    if let Some(header_project) = request_headers.get(headers::PROJECT_ID) {
        if header_project.as_bytes() != configured_project.as_bytes() {
            return Err(ApiError::service(
                StatusCode::FORBIDDEN,
                codes::PERMISSION_DENIED,
                "The X-Project-Id header does not match the project in the URL",
            ));
        }
    }
    Ok(())
}

pub(crate) fn json_null() -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        "null",
    )
        .into_response()
}

/// The body as a JSON object, or 400 naming what it should hold.
pub(crate) fn body_object(
    body: &[u8],
    holds: &str,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        ApiError::invalid_parameter(format!("The request body is not valid JSON: {error}"))
    })?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::invalid_parameter(format!(
            "The request body must be a JSON object with {holds}"
        ))),
    }
}

/// `items` of a batch body: 1 to 20 unique server ids of 1 to 128 characters.
pub(crate) fn parse_items(
    object: &serde_json::Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let items = match object.get("items") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "items must be an array of server IDs",
            ))
        }
        None => return Err(ApiError::invalid_parameter("items is required")),
    };
    if items.is_empty() || items.len() > MAX_IDS_PER_BATCH {
        return Err(ApiError::invalid_parameter(format!(
            "items must contain 1 to {MAX_IDS_PER_BATCH} server IDs, got {}",
            items.len()
        )));
    }
    let mut ids = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for item in items {
        let Value::String(id) = item else {
            return Err(ApiError::invalid_parameter(
                "every entry of items must be a string",
            ));
        };
        let length = id.chars().count();
        if length == 0 || length > MAX_SERVER_ID_LEN {
            return Err(ApiError::invalid_parameter(format!(
                "every server ID in items must be 1 to {MAX_SERVER_ID_LEN} characters long"
            )));
        }
        if !seen.insert(id.as_str()) {
            return Err(ApiError::invalid_parameter(format!(
                "items must be unique; {id} appears more than once"
            )));
        }
        ids.push(id.clone());
    }
    Ok(ids)
}

/// Validates a batch reboot body the way the service does; every message names the rule.
fn parse_batch_body(body: &[u8]) -> Result<(Vec<String>, RebootType), ApiError> {
    let object = body_object(body, "items and type")?;
    let ids = parse_items(&object)?;
    let reboot_type = match object.get("type") {
        Some(Value::String(text)) => text.parse::<RebootType>().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid_parameter("type is required and must be SOFT or HARD"))?;
    Ok((ids, reboot_type))
}

fn batch_reboot(shared: &Shared, body: &[u8], notes: &mut Notes) -> Outcome {
    let (ids, reboot_type) = match parse_batch_body(body) {
        Ok(parsed) => parsed,
        Err(error) => return Outcome::Fail(error),
    };
    notes.items = Some(ids.clone());
    notes.reboot_type = Some(reboot_type);
    let now = OffsetDateTime::now_utc();
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
    // How the real service answers a frozen server in a batch is undocumented; the simulator
    // refuses the whole batch, so that no server of it reboots.
    let frozen = inner.servers.frozen_among(&ids);
    if !frozen.is_empty() {
        let named: Vec<String> = frozen
            .iter()
            .map(|(id, why)| {
                let scenes: Vec<&str> = why.iter().map(|entry| entry.scene.as_str()).collect();
                format!("{id} ({})", scenes.join(","))
            })
            .collect();
        return Outcome::Fail(ApiError::invalid_parameter(format!(
            "The server is frozen and cannot be rebooted: {}",
            named.join(", ")
        )));
    }
    if let Some(fault) = &inner.faults().failing_ids {
        if ids.iter().any(|id| fault.ids.contains(id)) {
            let failure = ApiError::server_error(
                fault.status,
                fault.error_code.as_deref(),
                fault.error_msg.as_deref(),
            );
            inner.counters.failing_id_batches += 1;
            notes.fault = Some(InjectedFault::FailingId);
            return Outcome::Fail(failure);
        }
    }
    if let Some(busy) = inner.take_busy(&ids) {
        notes.fault = Some(InjectedFault::Busy);
        return Outcome::Fail(busy);
    }
    let ends_in_error = inner.faults().error_after_reboot_ids.clone();
    let plan = RebootPlan {
        kind: reboot_type,
        timing: inner.timing,
        unchanged_ms: inner.faults().unchanged_after_accept_ms,
        ends_in_error: &ends_in_error,
    };
    inner.servers.start_reboot(&ids, &plan, now);
    Outcome::Answer(json_null())
}

pub(crate) fn parse_number(
    pairs: &[(String, String)],
    key: &str,
) -> Result<Option<usize>, ApiError> {
    match pairs.iter().find(|(name, _)| name == key) {
        None => Ok(None),
        Some((_, value)) => value.parse::<usize>().map(Some).map_err(|_| {
            ApiError::invalid_parameter(format!("{key} must be a non-negative integer"))
        }),
    }
}

fn list_servers(shared: &Shared, raw_query: Option<&str>, notes: &mut Notes) -> Outcome {
    let pairs = signing::parse_query(raw_query.unwrap_or(""));
    let text = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let offset = match parse_number(&pairs, "offset") {
        Ok(offset) => offset.unwrap_or(0),
        Err(error) => return Outcome::Fail(error),
    };
    let limit = match parse_number(&pairs, "limit") {
        Ok(limit) => limit.unwrap_or(DEFAULT_LIST_LIMIT),
        Err(error) => return Outcome::Fail(error),
    };
    let max_limit = usize::try_from(MAX_LIST_LIMIT).unwrap_or(usize::MAX);
    if limit == 0 || limit > max_limit {
        return Outcome::Fail(ApiError::invalid_parameter(format!(
            "The parameter is invalid: limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}"
        )));
    }
    let maintain_status = match text("maintain_status").as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Outcome::Fail(ApiError::invalid_parameter(
                "maintain_status must be true or false",
            ))
        }
    };
    let filter = ServerFilter {
        server_id: text("server_id"),
        server_group_id: text("server_group_id"),
        server_name: text("server_name"),
        machine_name: text("machine_name"),
        maintain_status,
    };
    notes.server_id = filter.server_id.clone();
    let mut inner = shared.lock();
    if filter
        .server_id
        .as_ref()
        .is_some_and(|id| inner.faults().hang_ids.contains(id))
    {
        return Outcome::Hang;
    }
    let matching = inner.servers.matching(&filter, OffsetDateTime::now_utc());
    let items: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|server| sdk::server_json(server, Shape::ListItem))
        .collect();
    list_page(matching.len(), items, !inner.faults().list_without_count)
}

/// A list answer: `{"count": N, "items": [...]}`, or without `count` (the
/// `list_without_count` fault).
pub(crate) fn list_page(count: usize, items: Vec<Value>, with_count: bool) -> Outcome {
    let body = if with_count {
        serde_json::json!({ "count": count, "items": items })
    } else {
        serde_json::json!({ "items": items })
    };
    Outcome::Answer(Json(body).into_response())
}

fn show_server(shared: &Shared, server_id: &str, notes: &mut Notes) -> Outcome {
    notes.server_id = Some(server_id.to_owned());
    let mut inner = shared.lock();
    if inner.faults().hang_ids.iter().any(|id| id == server_id) {
        return Outcome::Hang;
    }
    match inner.servers.get(server_id, OffsetDateTime::now_utc()) {
        Some(server) => {
            Outcome::Answer(Json(sdk::server_json(&server, Shape::Show)).into_response())
        }
        None => Outcome::Fail(ApiError::server_not_found(server_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route(&Method::PATCH, "/v1/p/app-servers/actions/batch-reboot"),
            Route::BatchReboot {
                project_id: "p".into()
            }
        );
        assert_eq!(
            route(&Method::GET, "/v1/p/app-servers"),
            Route::List {
                project_id: "p".into()
            }
        );
        assert_eq!(
            route(&Method::GET, "/v1/p/app-servers/srv%3Aa%20b~c"),
            Route::Show {
                project_id: "p".into(),
                server_id: "srv:a b~c".into()
            }
        );
        assert_eq!(
            route(&Method::POST, "/v1/p/app-servers/actions/batch-reboot"),
            Route::Unknown
        );
        assert_eq!(route(&Method::GET, "/v2/p/app-servers"), Route::Unknown);
    }

    #[test]
    fn batch_body_rules() {
        let ok = parse_batch_body(br#"{"items":["a","b"],"type":"HARD"}"#).unwrap();
        assert_eq!(ok, (vec!["a".to_owned(), "b".to_owned()], RebootType::Hard));
        let long = "x".repeat(129);
        let too_many: Vec<String> = (0..21).map(|n| format!("s{n}")).collect();
        for bad in [
            "not json".to_owned(),
            "[]".to_owned(),
            r#"{"type":"SOFT"}"#.to_owned(),
            r#"{"items":[],"type":"SOFT"}"#.to_owned(),
            serde_json::json!({"items": too_many, "type": "SOFT"}).to_string(),
            r#"{"items":["a","a"],"type":"SOFT"}"#.to_owned(),
            r#"{"items":[""],"type":"SOFT"}"#.to_owned(),
            format!(r#"{{"items":["{long}"],"type":"SOFT"}}"#),
            r#"{"items":[1],"type":"SOFT"}"#.to_owned(),
            r#"{"items":["a"],"type":"soft"}"#.to_owned(),
            r#"{"items":["a"]}"#.to_owned(),
        ] {
            let error = parse_batch_body(bad.as_bytes()).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(error.error_code, codes::PARAMETER_INVALID, "{bad}");
        }
        let exactly_128 = "y".repeat(128);
        assert!(parse_batch_body(
            format!(r#"{{"items":["{exactly_128}"],"type":"SOFT"}}"#).as_bytes()
        )
        .is_ok());
    }
}
