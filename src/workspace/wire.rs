//! Wire types of the Workspace APP server API, shared by the client and the simulator.
//!
//! Status fields (`status`, `vm_status`, `task_status`) stay plain strings: the service has many
//! undocumented (some misspelt) values, and an unknown value is data, never a parse error.
//! Server objects are decoded leniently (see [`AppServer`]): only the fields this project reads
//! are looked at, and no field's type can make a server unreadable.

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

/// Known values of the server status fields (Huawei's API reference for ShowServer /
/// ListServers). Other values exist; compare, never enumerate.
pub mod status {
    /// `status`: the session agent has registered; users can be placed on the server.
    pub const REGISTERED: &str = "REGISTERED";
    /// `status`: the agent has not registered (yet): during and right after a reboot.
    pub const UNREGISTER: &str = "UNREGISTER";
    /// `status` of a server in maintenance mode.
    pub const MAINTAINING: &str = "MAINTAINING";
    /// `status` (and `vm_status`) of a frozen server.
    pub const FREEZE: &str = "FREEZE";
    pub const STOPPED: &str = "STOPPED";
    /// `status` "abnormal".
    pub const NONE: &str = "NONE";

    /// `vm_status` of a running server.
    pub const VM_ACTIVE: &str = "ACTIVE";
    pub const VM_REBOOT: &str = "REBOOT";
    pub const VM_HARD_REBOOT: &str = "HARD_REBOOT";
    pub const VM_SHUTOFF: &str = "SHUTOFF";
    pub const VM_ERROR: &str = "ERROR";
    pub const VM_BUILD: &str = "BUILD";
    pub const VM_BUILD_FAIL: &str = "BUILD_FAIL";
    pub const VM_REBUILD_FAIL: &str = "REBUILD_FAIL";
    pub const VM_DELETING: &str = "DELETING";
    pub const VM_FREEZE: &str = "FREEZE";
    /// `vm_status` values of a VM on its way somewhere (besides the reboot ones).
    pub const VM_TRANSITIONS: &[&str] = &[
        "BUILD",
        "REBOOT",
        "HARD_REBOOT",
        "REBUILD",
        "MIGRATING",
        "RESIZE",
        "REVERT_RESIZE",
        "VERIFY_RESIZE",
        "BUILD_IMAGE",
        "BUILD_SNAPSHOT",
        "RESTORE_SNAPSHOT",
    ];

    /// `task_status` of an idle server: the *string* "null".
    pub const TASK_IDLE: &str = "null";
    pub const TASK_REBOOT_PENDING: &str = "reboot_pending";
    pub const TASK_REBOOT_PENDING_HARD: &str = "reboot_pending_hard";
    pub const TASK_REBOOT_STARTED: &str = "reboot_started";
    pub const TASK_REBOOT_STARTED_HARD: &str = "reboot_started_hard";
    pub const TASK_REBOOTING: &str = "rebooting";
    pub const TASK_REBOOTING_HARD: &str = "rebooting_hard";
    /// A finished task (sic), as idle as "null".
    pub const TASK_AGENT_UPGRADE_DONE: &str = "upgrad_access_agent_success";
    /// `task_status` values of a task that failed (spelling as the service sends it): the
    /// server stays as it is until someone repairs it.
    pub const TASK_FAILURES: &[&str] = &[
        "rebuild_fail",
        "updating_tsvi_failed",
        "delete_failed",
        "migrate_failed",
        "install_app_failed",
        "upgrad_access_agent_fail",
    ];
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

/// One API of the service: a method and a path template. The gateway counts calls against a
/// quota per API and user, so the client keeps one request budget per API and the simulator's
/// per-API quota keys its buckets the same way. [`Api::name`] is the short, stable name used in
/// logs, statistics and the simulator's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    /// `GET /v1/{project_id}/app-servers`
    ListServers,
    /// `GET /v1/{project_id}/app-servers/{server_id}`
    ShowServer,
    /// `PATCH /v1/{project_id}/app-servers/actions/batch-reboot`
    BatchReboot,
    /// `PATCH /v1/{project_id}/app-servers/actions/batch-maint`
    BatchMaint,
    /// `PATCH /v1/{project_id}/app-servers/{server_id}` (maintenance mode of one server; the
    /// simulator serves it, the client does not call it).
    UpdateServer,
    /// `GET /v1/{project_id}/app-server-groups`
    ListServerGroups,
    /// `GET /v1/{project_id}/session/list-sessions`
    ListSessions,
    /// `POST /v1/{project_id}/session/logoff`
    Logoff,
}

impl Api {
    /// Every API, in a fixed order (also the order of [`Api::index`]).
    pub const ALL: [Api; 8] = [
        Api::ListServers,
        Api::ShowServer,
        Api::BatchReboot,
        Api::BatchMaint,
        Api::UpdateServer,
        Api::ListServerGroups,
        Api::ListSessions,
        Api::Logoff,
    ];

    /// The short name: `list-servers`, `show-server`, `batch-reboot`, `batch-maint`,
    /// `update-server`, `list-server-groups`, `list-sessions`, `logoff`.
    pub fn name(self) -> &'static str {
        match self {
            Api::ListServers => "list-servers",
            Api::ShowServer => "show-server",
            Api::BatchReboot => "batch-reboot",
            Api::BatchMaint => "batch-maint",
            Api::UpdateServer => "update-server",
            Api::ListServerGroups => "list-server-groups",
            Api::ListSessions => "list-sessions",
            Api::Logoff => "logoff",
        }
    }

    /// The method and path template, e.g. `GET /v1/{project_id}/app-servers`.
    pub fn template(self) -> &'static str {
        match self {
            Api::ListServers => "GET /v1/{project_id}/app-servers",
            Api::ShowServer => "GET /v1/{project_id}/app-servers/{server_id}",
            Api::BatchReboot => "PATCH /v1/{project_id}/app-servers/actions/batch-reboot",
            Api::BatchMaint => "PATCH /v1/{project_id}/app-servers/actions/batch-maint",
            Api::UpdateServer => "PATCH /v1/{project_id}/app-servers/{server_id}",
            Api::ListServerGroups => "GET /v1/{project_id}/app-server-groups",
            Api::ListSessions => "GET /v1/{project_id}/session/list-sessions",
            Api::Logoff => "POST /v1/{project_id}/session/logoff",
        }
    }

    /// The place of this API in [`Api::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether a 409 answer means "a server of the request is busy with another task; the
    /// request was not carried out" (the batch actions on servers), so that the same request
    /// may be sent again later.
    pub fn conflict_means_busy(self) -> bool {
        matches!(self, Api::BatchReboot | Api::BatchMaint)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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

/// One APP server as returned by the show and list calls: only the fields this project reads.
///
/// Decoding is lenient on purpose (see [`lenient`]): the service's server object has dozens of
/// fields whose types we do not control, and a surprise in one field must not make a whole
/// server — or a whole list page — unreadable. Every other field is ignored whatever its type;
/// `null` is accepted everywhere; a used field of an unexpected type becomes absent, or is
/// coerced where the meaning is unambiguous:
///
/// | field | accepted | coerced | otherwise |
/// |---|---|---|---|
/// | `id` and the text fields | string | number, boolean → their JSON text | absent (`id`: empty) |
/// | `maintain_status` | boolean | `"true"`/`"false"` (any case), `0`/`1` | absent |
/// | `session_count` | non-negative integer | integral float, numeric string | absent |
/// | `freeze` | list of `{effect, scene}` | one object → a list of one | empty |
///
/// The text fields are `name`, `machine_name`, `server_group_id`, `image_id`, `status`,
/// `vm_status`, `task_status` and `update_time`. Status values stay plain strings: the service
/// has many undocumented (some misspelt) values, and an unknown value is data.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AppServer {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The session agent's registration: UNREGISTER, REGISTERED, MAINTAINING, FREEZE,
    /// STOPPED, NONE, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// ACTIVE, REBOOT, HARD_REBOOT, SHUTOFF, BUILD, ERROR, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_status: Option<String>,
    /// The string "null" when idle; `reboot_pending`, `rebooting`, … during a reboot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_status: Option<String>,
    /// The server is in maintenance mode (receives no new user sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintain_status: Option<bool>,
    /// Why the server is frozen; empty for a server that is not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<Freeze>,
    /// User sessions on the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_count: Option<u64>,
    /// `2024-03-07T10:40:43.858Z`; kept as text (parsed where it is compared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
}

/// One entry of a server's `freeze` list (`effect` 1–3, `scene` ARREAR, POLICE, ILLEGAL,
/// VERIFY or PARTNER); either may be missing in a malformed entry, which still counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Freeze {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
}

impl fmt::Display for Freeze {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.scene, self.effect) {
            (Some(scene), Some(effect)) => write!(f, "{scene} (effect {effect})"),
            (Some(scene), None) => f.write_str(scene),
            (None, Some(effect)) => write!(f, "effect {effect}"),
            (None, None) => f.write_str("unspecified"),
        }
    }
}

/// The lenient readers behind [`AppServer`]'s decoding, one per kind of field.
pub mod lenient {
    use serde_json::Value;

    /// A string as is; a number or boolean as its JSON text; anything else absent.
    pub fn text(value: Option<&Value>) -> Option<String> {
        match value? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A boolean; `"true"`/`"false"` in any case; the numbers 0 and 1.
    pub fn boolean(value: Option<&Value>) -> Option<bool> {
        match value? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            Value::Number(n) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            _ => None,
        }
    }

    /// A non-negative integer; a float without fraction; a string holding one.
    pub fn count(value: Option<&Value>) -> Option<u64> {
        match value? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        }
    }

    /// An integer (possibly negative) or a string holding one.
    pub fn integer(value: Option<&Value>) -> Option<i64> {
        match value? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }

    /// `freeze`: a list of entries, or a single object taken as a list of one. `null`
    /// entries are skipped; any other entry counts as a freeze even when it says nothing.
    pub fn freeze(value: Option<&Value>) -> Vec<super::Freeze> {
        let entry = |value: &Value| match value {
            Value::Object(object) => super::Freeze {
                effect: integer(object.get("effect")),
                scene: text(object.get("scene")),
            },
            _ => super::Freeze::default(),
        };
        match value {
            Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).map(entry).collect(),
            Some(object @ Value::Object(_)) => vec![entry(object)],
            _ => Vec::new(),
        }
    }
}

impl AppServer {
    /// Reads a server from any JSON object (see the type's docs); `None` for a value that is
    /// not an object.
    pub fn from_json(value: &serde_json::Value) -> Option<AppServer> {
        let object = value.as_object()?;
        let text = |key: &str| lenient::text(object.get(key));
        Some(AppServer {
            id: text("id").unwrap_or_default(),
            name: text("name"),
            machine_name: text("machine_name"),
            server_group_id: text("server_group_id"),
            image_id: text("image_id"),
            status: text("status"),
            vm_status: text("vm_status"),
            task_status: text("task_status"),
            maintain_status: lenient::boolean(object.get("maintain_status")),
            freeze: lenient::freeze(object.get("freeze")),
            session_count: lenient::count(object.get("session_count")),
            update_time: text("update_time"),
        })
    }

    /// No task in progress: `task_status` absent, empty, JSON null, the string "null", or the
    /// finished-task value `upgrad_access_agent_success` (sic).
    pub fn task_idle(&self) -> bool {
        match self.task_status.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(s) => {
                s.eq_ignore_ascii_case(status::TASK_IDLE)
                    || s.eq_ignore_ascii_case(status::TASK_AGENT_UPGRADE_DONE)
            }
        }
    }

    /// `vm_status` is ACTIVE (any case, spaces around ignored).
    pub fn vm_active(&self) -> bool {
        self.vm_status
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case(status::VM_ACTIVE))
    }

    /// `freeze` lists at least one reason.
    pub fn is_frozen(&self) -> bool {
        !self.freeze.is_empty()
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

    /// `status S, vm_status V, task_status T` (`(none)` for an absent field), for messages.
    pub fn describe_status(&self) -> String {
        let show = |field: &Option<String>| field.clone().unwrap_or_else(|| "(none)".to_string());
        format!(
            "status {}, vm_status {}, task_status {}",
            show(&self.status),
            show(&self.vm_status),
            show(&self.task_status)
        )
    }
}

impl<'de> Deserialize<'de> for AppServer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        AppServer::from_json(&value)
            .ok_or_else(|| serde::de::Error::custom("a server must be a JSON object"))
    }
}

/// Answer of `GET .../app-servers`: `count` is the number of servers matching the filters
/// (independent of `offset`/`limit`), `items` the page. Decoded leniently like [`AppServer`]:
/// an item that is not an object is skipped, a missing or unreadable `count` is 0.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ListAppServersResponse {
    pub count: u64,
    pub items: Vec<AppServer>,
}

impl<'de> Deserialize<'de> for ListAppServersResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let object = value
            .as_object()
            .ok_or_else(|| serde::de::Error::custom("a server list must be a JSON object"))?;
        let items = match object.get("items") {
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(AppServer::from_json).collect()
            }
            _ => Vec::new(),
        };
        Ok(ListAppServersResponse {
            count: lenient::count(object.get("count")).unwrap_or(0),
            items,
        })
    }
}

/// Query of `GET .../app-servers` (the subset this project uses).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    pub offset: Option<u32>,
    /// 1 to [`MAX_LIST_LIMIT`]; the service's default is 10.
    pub limit: Option<u32>,
    /// One exact server id.
    pub server_id: Option<String>,
    pub server_group_id: Option<String>,
    /// Partial match on the server name.
    pub server_name: Option<String>,
    pub maintain_status: Option<bool>,
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
        if let Some(name) = &self.server_name {
            pairs.push(("server_name".to_string(), name.clone()));
        }
        if let Some(maintain) = self.maintain_status {
            pairs.push(("maintain_status".to_string(), maintain.to_string()));
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

// ------------------------------------------------------------------ fleet: groups, maintenance,
// sessions (Huawei's API reference for ListServerGroups, BatchUpdateTenantServerMaintainStatus
// ("batch-maint"), ListSessions and LogoffUserSession; shapes from the SDK models of
// huaweicloudsdkworkspaceapp 3.1.219).

/// `session/logoff` takes 1 to this many session ids per request.
pub const MAX_LOGOFF_SESSIONS: usize = 999;
/// `delay_time` of `session/logoff`: 0 to this many seconds.
pub const MAX_LOGOFF_DELAY_SECS: u64 = 999_999;
/// How far back a session search looks by default: `list-sessions` filters on the session's
/// *start* time and requires a window; sessions older than this are not looked for.
pub const SESSION_SEARCH_DAYS: i64 = 30;

/// `session_state` values of `list-sessions` (Huawei's API reference).
pub mod session_state {
    pub const ACTIVE: &str = "Active";
    pub const DISCONNECTED: &str = "Disconnected";
    pub const APPC_INIT: &str = "AppcInit";
    pub const SIGNED_OUT: &str = "SignedOut";
    pub const INIT_FAIL: &str = "InitFail";
}

/// `message_type` of `session/logoff`: 0 information, 1 warning, 2 serious (3 and 4 are
/// accepted by the API; their meaning is not documented).
pub mod message_type {
    pub const INFO: u8 = 0;
    pub const WARNING: u8 = 1;
    pub const SERIOUS: u8 = 2;
    /// The largest value the API accepts.
    pub const MAX: u8 = 4;
}

/// `/v1/{project_id}/app-servers/actions/batch-maint`
pub fn batch_maint_path(project_id: &str) -> String {
    format!("{}/actions/batch-maint", servers_path(project_id))
}

/// `/v1/{project_id}/app-server-groups`
pub fn server_groups_path(project_id: &str) -> String {
    format!("/v1/{}/app-server-groups", segment(project_id))
}

/// `/v1/{project_id}/session/list-sessions`
pub fn list_sessions_path(project_id: &str) -> String {
    format!("/v1/{}/session/list-sessions", segment(project_id))
}

/// `/v1/{project_id}/session/logoff`
pub fn logoff_path(project_id: &str) -> String {
    format!("/v1/{}/session/logoff", segment(project_id))
}

/// Formats a timestamp as the API writes it: RFC 3339, UTC, milliseconds, `Z`
/// (`2024-02-27T03:47:51.182Z`).
pub fn format_api_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses an API timestamp (any RFC 3339 form); `None` when it is not one.
pub fn parse_api_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// Body of `PATCH .../app-servers/actions/batch-maint`: 1–20 unique ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMaintRequest {
    pub items: Vec<String>,
    /// `true` puts the servers into maintenance mode (no new user sessions), `false` takes
    /// them out.
    pub maintain_status: bool,
}

/// `{count, items}` of a list answer, read leniently: items that `read` rejects are skipped,
/// a missing or unreadable `count` is 0.
fn lenient_page<T>(
    value: &serde_json::Value,
    what: &str,
    read: impl Fn(&serde_json::Value) -> Option<T>,
) -> Result<(u64, Vec<T>), String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{what} must be a JSON object"))?;
    let items = match object.get("items") {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(read).collect(),
        _ => Vec::new(),
    };
    Ok((lenient::count(object.get("count")).unwrap_or(0), items))
}

/// One server group of `GET .../app-server-groups`: only the fields this project reads,
/// decoded like [`AppServer`] (text fields from strings, numbers or booleans; a used field of
/// another type is absent; every other field ignored whatever its type).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ServerGroup {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// `COMMON_APP`, `SESSION_DESKTOP_APP`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    /// Servers in the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_server_count: Option<u64>,
}

impl ServerGroup {
    /// `None` for a value that is not an object.
    pub fn from_json(value: &serde_json::Value) -> Option<ServerGroup> {
        let object = value.as_object()?;
        let text = |key: &str| lenient::text(object.get(key));
        Some(ServerGroup {
            id: text("id").unwrap_or_default(),
            name: text("name"),
            image_id: text("image_id"),
            app_type: text("app_type"),
            app_server_count: lenient::count(object.get("app_server_count")),
        })
    }
}

/// Answer of `GET .../app-server-groups`, decoded leniently (see [`ServerGroup`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ListServerGroupsResponse {
    pub count: u64,
    pub items: Vec<ServerGroup>,
}

impl<'de> Deserialize<'de> for ListServerGroupsResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let (count, items) = lenient_page(&value, "a server group list", ServerGroup::from_json)
            .map_err(serde::de::Error::custom)?;
        Ok(ListServerGroupsResponse { count, items })
    }
}

/// Query of `GET .../app-server-groups` (the subset this project uses).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerGroupQuery {
    pub offset: Option<u32>,
    /// 1 to [`MAX_LIST_LIMIT`].
    pub limit: Option<u32>,
    /// The API's name filter; whether it matches exactly or partially is not documented, so
    /// callers wanting one name compare the answers' `name` themselves.
    pub server_group_name: Option<String>,
    pub server_group_id: Option<String>,
    pub app_type: Option<String>,
}

impl ServerGroupQuery {
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut push = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((key.to_string(), value));
            }
        };
        push("offset", self.offset.map(|n| n.to_string()));
        push("limit", self.limit.map(|n| n.to_string()));
        push("server_group_name", self.server_group_name.clone());
        push("server_group_id", self.server_group_id.clone());
        push("app_type", self.app_type.clone());
        pairs
    }
}

/// One user session of `GET .../session/list-sessions`: the fields this project reads,
/// decoded like [`AppServer`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UserSession {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_user: Option<String>,
    /// The server's machine name: the only way to tie a session to a server (the API has no
    /// server id filter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_server_group_id: Option<String>,
    /// Active, Disconnected, AppcInit, SignedOut, InitFail (see [`session_state`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

impl UserSession {
    /// `None` for a value that is not an object.
    pub fn from_json(value: &serde_json::Value) -> Option<UserSession> {
        let object = value.as_object()?;
        let text = |key: &str| lenient::text(object.get(key));
        Some(UserSession {
            id: text("id").unwrap_or_default(),
            login_user: text("login_user"),
            machine_name: text("machine_name"),
            vm_ip: text("vm_ip"),
            app_server_group_id: text("app_server_group_id"),
            session_state: text("session_state"),
            start_time: text("start_time"),
        })
    }
}

/// Answer of `GET .../session/list-sessions`, decoded leniently (see [`UserSession`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ListSessionsResponse {
    pub count: u64,
    pub items: Vec<UserSession>,
}

impl<'de> Deserialize<'de> for ListSessionsResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let (count, items) = lenient_page(&value, "a session list", UserSession::from_json)
            .map_err(serde::de::Error::custom)?;
        Ok(ListSessionsResponse { count, items })
    }
}

/// Query of `GET .../session/list-sessions`. `query_begin_time` and `query_end_time` are
/// required by the API (they bound the session *start* time); [`SessionQuery::window`] fills
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionQuery {
    pub query_begin_time: String,
    pub query_end_time: String,
    /// The API's filter; exact or partial matching is not documented.
    pub machine_name: Option<String>,
    pub vm_ip: Option<String>,
    pub app_server_group_id: Option<String>,
    pub user_name: Option<String>,
    /// Sent as one comma-separated value (`Active,Disconnected`); empty sends none.
    pub session_state: Vec<String>,
    pub offset: Option<u32>,
    /// 1 to [`MAX_LIST_LIMIT`].
    pub limit: Option<u32>,
}

impl SessionQuery {
    /// Sessions started between `now` minus `days` days and `now`.
    pub fn window(now: time::OffsetDateTime, days: i64) -> SessionQuery {
        SessionQuery {
            query_begin_time: format_api_time(now - time::Duration::days(days)),
            query_end_time: format_api_time(now),
            ..SessionQuery::default()
        }
    }

    /// The open sessions (Active and Disconnected) on the server with this machine name,
    /// started in the last [`SESSION_SEARCH_DAYS`] days.
    pub fn open_on(machine_name: &str, now: time::OffsetDateTime) -> SessionQuery {
        SessionQuery {
            machine_name: Some(machine_name.to_string()),
            session_state: vec![
                session_state::ACTIVE.to_string(),
                session_state::DISCONNECTED.to_string(),
            ],
            ..SessionQuery::window(now, SESSION_SEARCH_DAYS)
        }
    }

    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            (
                "query_begin_time".to_string(),
                self.query_begin_time.clone(),
            ),
            ("query_end_time".to_string(), self.query_end_time.clone()),
        ];
        let mut push = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((key.to_string(), value));
            }
        };
        push("machine_name", self.machine_name.clone());
        push("vm_ip", self.vm_ip.clone());
        push("app_server_group_id", self.app_server_group_id.clone());
        push("user_name", self.user_name.clone());
        push(
            "session_state",
            (!self.session_state.is_empty()).then(|| self.session_state.join(",")),
        );
        push("offset", self.offset.map(|n| n.to_string()));
        push("limit", self.limit.map(|n| n.to_string()));
        pairs
    }
}

/// Body of `POST .../session/logoff`: users of `session_ids` see `title` / `message` and are
/// logged off after `delay_time` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoffRequest {
    /// 1 to [`MAX_LOGOFF_SESSIONS`] ids.
    pub session_ids: Vec<String>,
    /// 0 to [`message_type::MAX`]; required.
    pub message_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Seconds, 0 to [`MAX_LOGOFF_DELAY_SECS`]; required.
    pub delay_time: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apis_have_unique_names_their_place_in_all_and_their_serde_name() {
        let mut names = std::collections::BTreeSet::new();
        for (index, api) in Api::ALL.iter().enumerate() {
            assert_eq!(api.index(), index);
            assert!(names.insert(api.name()), "{api} twice");
            assert_eq!(
                serde_json::to_string(api).unwrap(),
                format!("\"{}\"", api.name())
            );
            assert!(api.template().contains("/v1/{project_id}/"));
        }
        assert!(Api::BatchReboot.conflict_means_busy());
        assert!(!Api::Logoff.conflict_means_busy());
    }

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
            ..ListQuery::default()
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
        assert_eq!(server.name.as_deref(), show["name"].as_str());
        assert_eq!(
            server.machine_name.as_deref(),
            show["machine_name"].as_str()
        );
        assert_eq!(
            server.server_group_id.as_deref(),
            show["server_group_id"].as_str()
        );
        assert_eq!(server.image_id.as_deref(), show["image_id"].as_str());
        assert_eq!(server.vm_status.as_deref(), Some("ACTIVE"));
        assert_eq!(server.task_status.as_deref(), Some("null"));
        assert_eq!(server.maintain_status, show["maintain_status"].as_bool());
        assert_eq!(server.session_count, show["session_count"].as_u64());
        assert_eq!(server.update_time.as_deref(), show["update_time"].as_str());
        assert_eq!(
            server.freeze,
            vec![Freeze {
                effect: Some(1),
                scene: Some("ARREAR".into())
            }]
        );
        let list: ListAppServersResponse =
            serde_json::from_value(example["GET /v1/{project_id}/app-servers"].clone())
                .expect("ListServers decodes");
        assert_eq!(list.items.len(), 1);
        assert!(list.count >= 1);
        let item = &example["GET /v1/{project_id}/app-servers"]["items"][0];
        assert_eq!(list.items[0], AppServer::from_json(item).unwrap());
        assert_eq!(list.items[0].id, item["id"].as_str().unwrap());
    }

    /// Every field the provider does not read may hold any JSON value; the used ones may be
    /// null. Nothing of that makes the server unreadable.
    #[test]
    fn other_fields_of_any_type_and_nulls_do_not_break_a_server() {
        let text = include_str!("../../tests/data/app-server.example.json");
        let example: serde_json::Value = serde_json::from_str(text).unwrap();
        let show = example["GET /v1/{project_id}/app-servers/{server_id}"].clone();
        let odd_values = [
            serde_json::json!(null),
            serde_json::json!("text"),
            serde_json::json!(12.5),
            serde_json::json!(true),
            serde_json::json!([1, "two", null]),
            serde_json::json!({"nested": {"deeper": []}}),
        ];
        let used = [
            "id",
            "name",
            "machine_name",
            "server_group_id",
            "image_id",
            "status",
            "vm_status",
            "task_status",
            "maintain_status",
            "freeze",
            "session_count",
            "update_time",
        ];
        let object = show.as_object().unwrap();
        for key in object.keys() {
            for odd in &odd_values {
                let mut changed = show.clone();
                changed[key.as_str()] = odd.clone();
                let server: AppServer = serde_json::from_value(changed)
                    .unwrap_or_else(|e| panic!("{key} = {odd}: {e}"));
                if !used.contains(&key.as_str()) {
                    assert_eq!(server, AppServer::from_json(&show).unwrap(), "{key}");
                }
            }
        }
        // Unused fields may also be missing altogether.
        let minimal: AppServer = serde_json::from_str(r#"{"id":"m"}"#).unwrap();
        assert_eq!(minimal.id, "m");
        assert_eq!(minimal.status, None);
        assert!(!minimal.is_frozen());
        // A page whose items include junk keeps the servers it has.
        let page: ListAppServersResponse = serde_json::from_str(
            r#"{"count":"3","items":[{"id":"a","host_address":"10.0.0.1"},null,"b",{"id":"c","host_address":[{"addr":"x"}]}]}"#,
        )
        .unwrap();
        assert_eq!(page.count, 3);
        let ids: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert!(serde_json::from_str::<AppServer>("[1]").is_err());
        assert!(serde_json::from_str::<ListAppServersResponse>("\"x\"").is_err());
    }

    /// How a used field of an unexpected type is read (the table in `AppServer`'s docs).
    #[test]
    fn used_fields_are_coerced_where_obvious_and_dropped_otherwise() {
        let read = |json: &str| serde_json::from_str::<AppServer>(json).unwrap();
        let s = read(
            r#"{"id":42,"name":7,"status":true,"vm_status":null,"task_status":{"x":1},
                "maintain_status":"TRUE","session_count":"5","update_time":["no"],"freeze":null}"#,
        );
        assert_eq!(s.id, "42");
        assert_eq!(s.name.as_deref(), Some("7"));
        assert_eq!(s.status.as_deref(), Some("true"));
        assert_eq!(s.vm_status, None);
        assert_eq!(s.task_status, None);
        assert_eq!(s.maintain_status, Some(true));
        assert_eq!(s.session_count, Some(5));
        assert_eq!(s.update_time, None);
        assert!(s.freeze.is_empty());
        for (json, maintain, sessions) in [
            (
                r#"{"maintain_status":1,"session_count":3.0}"#,
                Some(true),
                Some(3),
            ),
            (
                r#"{"maintain_status":0,"session_count":-1}"#,
                Some(false),
                None,
            ),
            (
                r#"{"maintain_status":"maybe","session_count":2.5}"#,
                None,
                None,
            ),
            (
                r#"{"maintain_status":[],"session_count":"many"}"#,
                None,
                None,
            ),
        ] {
            let s = read(json);
            assert_eq!(
                (s.maintain_status, s.session_count),
                (maintain, sessions),
                "{json}"
            );
            assert_eq!(s.id, "");
        }
        let frozen = read(r#"{"id":"f","freeze":{"effect":"2","scene":"POLICE"}}"#);
        assert_eq!(
            frozen.freeze,
            vec![Freeze {
                effect: Some(2),
                scene: Some("POLICE".into())
            }]
        );
        assert!(read(r#"{"freeze":[null]}"#).freeze.is_empty());
        assert!(read(r#"{"freeze":["odd"]}"#).is_frozen());
        assert!(read(r#"{"freeze":"ARREAR"}"#).freeze.is_empty());
        assert!(read(r#"{"freeze":[]}"#).freeze.is_empty());
    }

    /// The SDK-shaped group and session answers decode; the request bodies serialise to the
    /// SDK's field names.
    #[test]
    fn decodes_sdk_shaped_group_and_session_answers_and_writes_the_bodies() {
        let text = include_str!("../../tests/data/app-server.example.json");
        let example: serde_json::Value = serde_json::from_str(text).unwrap();
        let groups: ListServerGroupsResponse =
            serde_json::from_value(example["GET /v1/{project_id}/app-server-groups"].clone())
                .expect("ListServerGroups decodes");
        let item = &example["GET /v1/{project_id}/app-server-groups"]["items"][0];
        assert_eq!(groups.items.len(), 1);
        assert_eq!(groups.items[0].id, item["id"].as_str().unwrap());
        assert_eq!(groups.items[0].name.as_deref(), item["name"].as_str());
        assert_eq!(
            groups.items[0].app_server_count,
            item["app_server_count"].as_u64()
        );
        let sessions: ListSessionsResponse =
            serde_json::from_value(example["GET /v1/{project_id}/session/list-sessions"].clone())
                .expect("ListSessions decodes");
        let item = &example["GET /v1/{project_id}/session/list-sessions"]["items"][0];
        assert_eq!(sessions.items[0].id, item["id"].as_str().unwrap());
        assert_eq!(
            sessions.items[0].machine_name.as_deref(),
            item["machine_name"].as_str()
        );
        assert_eq!(
            sessions.items[0].session_state.as_deref(),
            item["session_state"].as_str()
        );
        // Junk items are skipped, odd field types do not break an item.
        let odd: ListSessionsResponse = serde_json::from_str(
            r#"{"count":"2","items":[null,{"id":7,"machine_name":["x"],"start_time":null}]}"#,
        )
        .unwrap();
        assert_eq!((odd.count, odd.items.len()), (2, 1));
        assert_eq!(odd.items[0].id, "7");
        assert_eq!(odd.items[0].machine_name, None);

        // Every key of our bodies is a key of the SDK's body.
        let maint_keys = example
            ["PATCH /v1/{project_id}/app-servers/actions/batch-maint (request body)"]
            .as_object()
            .unwrap()
            .clone();
        let maint = serde_json::to_value(BatchMaintRequest {
            items: vec!["a".into()],
            maintain_status: true,
        })
        .unwrap();
        for key in maint.as_object().unwrap().keys() {
            assert!(maint_keys.contains_key(key), "{key}");
        }
        let logoff_keys = example["POST /v1/{project_id}/session/logoff (request body)"]
            .as_object()
            .unwrap()
            .clone();
        let logoff = serde_json::to_value(LogoffRequest {
            session_ids: vec!["s".into()],
            message_type: message_type::WARNING,
            title: Some("t".into()),
            message: Some("m".into()),
            delay_time: 300,
        })
        .unwrap();
        for (key, value) in logoff.as_object().unwrap() {
            let sdk = &logoff_keys[key.as_str()];
            assert!(!sdk.is_null(), "{key} is not in the SDK body");
            assert_eq!(
                std::mem::discriminant(value),
                std::mem::discriminant(sdk),
                "{key}"
            );
        }
    }

    #[test]
    fn fleet_paths_queries_and_times() {
        assert_eq!(
            batch_maint_path("p"),
            "/v1/p/app-servers/actions/batch-maint"
        );
        assert_eq!(server_groups_path("p"), "/v1/p/app-server-groups");
        assert_eq!(list_sessions_path("p"), "/v1/p/session/list-sessions");
        assert_eq!(logoff_path("p"), "/v1/p/session/logoff");
        let now = parse_api_time("2024-03-31T10:40:43.858Z").unwrap();
        assert_eq!(format_api_time(now), "2024-03-31T10:40:43.858Z");
        let query = SessionQuery::open_on("APPSRV-001", now);
        assert_eq!(
            query.to_pairs(),
            vec![
                (
                    "query_begin_time".to_string(),
                    "2024-03-01T10:40:43.858Z".to_string()
                ),
                (
                    "query_end_time".to_string(),
                    "2024-03-31T10:40:43.858Z".to_string()
                ),
                ("machine_name".to_string(), "APPSRV-001".to_string()),
                (
                    "session_state".to_string(),
                    "Active,Disconnected".to_string()
                ),
            ]
        );
        let groups = ServerGroupQuery {
            limit: Some(100),
            server_group_name: Some("Finance".into()),
            ..ServerGroupQuery::default()
        };
        assert_eq!(
            groups.to_pairs(),
            vec![
                ("limit".to_string(), "100".to_string()),
                ("server_group_name".to_string(), "Finance".to_string())
            ]
        );
        assert!(parse_api_time("yesterday").is_none());
    }
}
