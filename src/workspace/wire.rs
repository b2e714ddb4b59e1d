//! Wire types of the Workspace APP server API, shared by the client and the simulator.
//!
//! Status fields (`status`, `vm_status`, `task_status`) stay plain strings: the service has many
//! undocumented (some misspelt) values, and an unknown value is data, never a parse error.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

/// At most this many server IDs per batch request.
pub const MAX_IDS_PER_BATCH: usize = 20;
/// A server ID is 1 to this many characters long.
pub const MAX_SERVER_ID_LEN: usize = 128;
/// The `limit` query parameter of the list call accepts 1 to this value.
pub const MAX_LIST_LIMIT: u32 = 100;

/// HTTP header names used by the API (as the official SDKs spell them).
pub mod headers {
    pub const PROJECT_ID: &str = "X-Project-Id";
    pub const SDK_DATE: &str = "X-Sdk-Date";
    pub const SECURITY_TOKEN: &str = "X-Security-Token";
    pub const AUTH_TOKEN: &str = "X-Auth-Token";
    pub const REQUEST_ID: &str = "X-Request-Id";
    pub const AUTHORIZATION: &str = "Authorization";
    pub const RETRY_AFTER: &str = "Retry-After";
    pub const CONTENT_TYPE: &str = "Content-Type";
    pub const HOST: &str = "Host";
    pub const USER_AGENT: &str = "User-Agent";
}

/// Known values of the server status fields. Other values exist; compare, never enumerate.
pub mod status {
    /// `vm_status` of a running server.
    pub const VM_ACTIVE: &str = "ACTIVE";
    pub const VM_REBOOT: &str = "REBOOT";
    pub const VM_HARD_REBOOT: &str = "HARD_REBOOT";
    pub const VM_SHUTOFF: &str = "SHUTOFF";
    pub const VM_ERROR: &str = "ERROR";
    pub const VM_BUILD: &str = "BUILD";
    /// `task_status` of an idle server: the *string* "null".
    pub const TASK_IDLE: &str = "null";
    pub const TASK_REBOOT_PENDING: &str = "reboot_pending";
    pub const TASK_REBOOT_PENDING_HARD: &str = "reboot_pending_hard";
    pub const TASK_REBOOT_STARTED: &str = "reboot_started";
    pub const TASK_REBOOT_STARTED_HARD: &str = "reboot_started_hard";
    pub const TASK_REBOOTING: &str = "rebooting";
    pub const TASK_REBOOTING_HARD: &str = "rebooting_hard";
}

/// Characters kept as they are in a path segment: the unreserved set `A-Za-z0-9-_.~`
/// (the same rule as the signer's canonical URI).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn segment(raw: &str) -> String {
    utf8_percent_encode(raw, PATH_SEGMENT).to_string()
}

/// `/v1/{project_id}/app-servers`
pub fn servers_path(project_id: &str) -> String {
    format!("/v1/{}/app-servers", segment(project_id))
}

/// `/v1/{project_id}/app-servers/{server_id}` (the ID percent-encoded as one segment).
pub fn server_path(project_id: &str, server_id: &str) -> String {
    format!("{}/{}", servers_path(project_id), segment(server_id))
}

/// `/v1/{project_id}/app-servers/actions/batch-reboot`
pub fn batch_reboot_path(project_id: &str) -> String {
    format!("{}/actions/batch-reboot", servers_path(project_id))
}

/// SOFT = normal reboot, HARD = forced. The documented default is SOFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RebootType {
    #[default]
    #[serde(rename = "SOFT")]
    Soft,
    #[serde(rename = "HARD")]
    Hard,
}

impl RebootType {
    pub fn as_str(self) -> &'static str {
        match self {
            RebootType::Soft => "SOFT",
            RebootType::Hard => "HARD",
        }
    }
}

impl fmt::Display for RebootType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was neither `SOFT` nor `HARD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reboot type {0:?}: expected \"SOFT\" or \"HARD\"")]
pub struct ParseRebootTypeError(pub String);

impl FromStr for RebootType {
    type Err = ParseRebootTypeError;

    /// Exact, upper-case match, as the API itself expects.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "SOFT" => Ok(RebootType::Soft),
            "HARD" => Ok(RebootType::Hard),
            other => Err(ParseRebootTypeError(other.to_string())),
        }
    }
}

/// Body of `PATCH .../app-servers/actions/batch-reboot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRebootRequest {
    pub items: Vec<String>,
    #[serde(rename = "type")]
    pub reboot_type: RebootType,
}

/// One APP server as returned by the show and list calls. Everything but `id` is optional
/// because the service omits fields freely; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AppServer {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_group_id: Option<String>,
    /// UNREGISTER, REGISTERED, MAINTAINING, FREEZE, STOPPED, NONE, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// ACTIVE, REBOOT, HARD_REBOOT, SHUTOFF, BUILD, ERROR, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_status: Option<String>,
    /// The string "null" when idle; `reboot_pending`, `rebooting`, … during a reboot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintain_status: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// A list of network objects (`list[EcsNetWork]` in Huawei's SDK); never read here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_address: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_count: Option<serde_json::Value>,
}

impl AppServer {
    /// No task in progress: `task_status` absent, empty, JSON null or the string "null".
    pub fn task_idle(&self) -> bool {
        match self.task_status.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(s) => s.eq_ignore_ascii_case(status::TASK_IDLE),
        }
    }

    /// `vm_status` is ACTIVE.
    pub fn vm_active(&self) -> bool {
        self.vm_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(status::VM_ACTIVE))
    }

    /// The server shows a reboot in progress: `vm_status` REBOOT / HARD_REBOOT or a
    /// `task_status` starting with `reboot` (reboot_pending, rebooting_hard, …).
    pub fn shows_reboot(&self) -> bool {
        let vm = self.vm_status.as_deref().unwrap_or("");
        let task = self.task_status.as_deref().unwrap_or("");
        vm.eq_ignore_ascii_case(status::VM_REBOOT)
            || vm.eq_ignore_ascii_case(status::VM_HARD_REBOOT)
            || task.to_ascii_lowercase().starts_with("reboot")
    }
}

/// Answer of `GET .../app-servers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListAppServersResponse {
    pub count: u64,
    pub items: Vec<AppServer>,
}

/// Query of `GET .../app-servers` (the subset this project uses).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    pub offset: Option<u32>,
    pub limit: Option<u32>,
    pub server_id: Option<String>,
    pub server_group_id: Option<String>,
}

impl ListQuery {
    /// The query as decoded `(key, value)` pairs, ready for the signer's canonical query.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(offset) = self.offset {
            pairs.push(("offset".to_string(), offset.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit".to_string(), limit.to_string()));
        }
        if let Some(id) = &self.server_id {
            pairs.push(("server_id".to_string(), id.clone()));
        }
        if let Some(group) = &self.server_group_id {
            pairs.push(("server_group_id".to_string(), group.clone()));
        }
        pairs
    }
}

/// Error body: `{"error_code": "...", "error_msg": "...", "request_id": "..."}`.
/// [`ErrorBody::parse`] also accepts `errorCode`/`errorMsg`, `code`/`message` and a nested
/// `{"error": {...}}` form, as other Huawei Cloud services answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error_code: String,
    pub error_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(error_code: impl Into<String>, error_msg: impl Into<String>) -> Self {
        ErrorBody {
            error_code: error_code.into(),
            error_msg: error_msg.into(),
            request_id: None,
        }
    }

    /// Parse any of the known error shapes; `None` when the bytes carry neither a code nor a
    /// message (the caller then falls back to the HTTP status and the raw text).
    pub fn parse(bytes: &[u8]) -> Option<ErrorBody> {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let object = value.as_object()?;
        if let Some(inner) = object.get("error").and_then(|e| e.as_object()) {
            if let Some(body) = Self::from_object(inner) {
                return Some(body);
            }
        }
        Self::from_object(object)
    }

    fn from_object(object: &serde_json::Map<String, serde_json::Value>) -> Option<ErrorBody> {
        let text = |keys: &[&str]| -> Option<String> {
            keys.iter().find_map(|key| match object.get(*key)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let code = text(&["error_code", "errorCode", "code"]);
        let msg = text(&["error_msg", "errorMsg", "message", "msg"]);
        if code.is_none() && msg.is_none() {
            return None;
        }
        Some(ErrorBody {
            error_code: code.unwrap_or_default(),
            error_msg: msg.unwrap_or_default(),
            request_id: text(&["request_id", "requestId"]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reboot_type_round_trips() {
        for t in [RebootType::Soft, RebootType::Hard] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<RebootType>(&json).unwrap(), t);
            assert_eq!(t.as_str().parse::<RebootType>().unwrap(), t);
        }
        assert!("soft".parse::<RebootType>().is_err());
        assert!(serde_json::from_str::<RebootType>("\"MEDIUM\"").is_err());
    }

    #[test]
    fn batch_request_uses_type_key() {
        let body = BatchRebootRequest {
            items: vec!["a".into(), "b".into()],
            reboot_type: RebootType::Hard,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"items":["a","b"],"type":"HARD"}"#
        );
    }

    #[test]
    fn server_with_unknown_values_and_null_task_parses() {
        let json = r#"{"id":"s1","vm_status":"MIGRATING_SOMEWHERE","task_status":null,
            "maintain_status":false,"freeze":[],"extra_field":{"x":1},"session_count":3}"#;
        let server: AppServer = serde_json::from_str(json).unwrap();
        assert_eq!(server.vm_status.as_deref(), Some("MIGRATING_SOMEWHERE"));
        assert!(server.task_idle());
        assert!(!server.vm_active());
        let busy: AppServer = serde_json::from_str(
            r#"{"id":"s2","vm_status":"ACTIVE","task_status":"reboot_pending"}"#,
        )
        .unwrap();
        assert!(!busy.task_idle());
        assert!(busy.vm_active());
        assert!(busy.shows_reboot());
        let idle: AppServer =
            serde_json::from_str(r#"{"id":"s3","vm_status":"ACTIVE","task_status":"null"}"#)
                .unwrap();
        assert!(idle.task_idle());
        assert!(!idle.shows_reboot());
    }

    #[test]
    fn list_response_defaults() {
        let list: ListAppServersResponse =
            serde_json::from_str(r#"{"items":[{"id":"a"}]}"#).unwrap();
        assert_eq!(list.count, 0);
        assert_eq!(list.items[0].id, "a");
    }

    #[test]
    fn error_body_fallbacks() {
        let a = ErrorBody::parse(br#"{"error_code":"WKS.1","error_msg":"bad","request_id":"r"}"#)
            .unwrap();
        assert_eq!(
            (a.error_code.as_str(), a.error_msg.as_str()),
            ("WKS.1", "bad")
        );
        assert_eq!(a.request_id.as_deref(), Some("r"));
        let b = ErrorBody::parse(br#"{"errorCode":"X.2","errorMsg":"worse"}"#).unwrap();
        assert_eq!(
            (b.error_code.as_str(), b.error_msg.as_str()),
            ("X.2", "worse")
        );
        let c = ErrorBody::parse(br#"{"code":403,"message":"nope"}"#).unwrap();
        assert_eq!(
            (c.error_code.as_str(), c.error_msg.as_str()),
            ("403", "nope")
        );
        let d = ErrorBody::parse(br#"{"error":{"code":"E","message":"m"}}"#).unwrap();
        assert_eq!(d.error_code, "E");
        assert!(ErrorBody::parse(b"<html>bad gateway</html>").is_none());
        assert!(ErrorBody::parse(b"null").is_none());
        assert!(ErrorBody::parse(br#"{"other":1}"#).is_none());
    }

    #[test]
    fn paths_encode_segments() {
        assert_eq!(servers_path("p1"), "/v1/p1/app-servers");
        assert_eq!(
            server_path("p1", "srv:a b"),
            "/v1/p1/app-servers/srv%3Aa%20b"
        );
        assert_eq!(
            batch_reboot_path("p1"),
            "/v1/p1/app-servers/actions/batch-reboot"
        );
    }

    #[test]
    fn list_query_pairs() {
        let q = ListQuery {
            offset: Some(0),
            limit: Some(100),
            server_id: Some("x".into()),
            server_group_id: None,
        };
        assert_eq!(
            q.to_pairs(),
            vec![
                ("offset".to_string(), "0".to_string()),
                ("limit".to_string(), "100".to_string()),
                ("server_id".to_string(), "x".to_string())
            ]
        );
    }

    /// The SDK-shaped answers (tests/data/app-server.example.json, every field of
    /// huaweicloudsdkworkspaceapp 3.1.219's models in its declared JSON type) decode.
    #[test]
    fn decodes_sdk_shaped_show_and_list_answers() {
        let text = include_str!("../../tests/data/app-server.example.json");
        let example: serde_json::Value = serde_json::from_str(text).unwrap();
        let show = &example["GET /v1/{project_id}/app-servers/{server_id}"];
        assert!(
            show["host_address"].is_array(),
            "the example has the real shape"
        );
        let server: AppServer = serde_json::from_value(show.clone()).expect("ShowServer decodes");
        assert_eq!(server.id, show["id"].as_str().unwrap());
        assert_eq!(server.status.as_deref(), Some("REGISTERED"));
        let list: ListAppServersResponse =
            serde_json::from_value(example["GET /v1/{project_id}/app-servers"].clone())
                .expect("ListServers decodes");
        assert_eq!(list.items.len(), 1);
        assert!(list.count >= 1);
    }
}
