//! Simulator configuration: what it serves, whom it accepts, how reboots behave and which
//! faults it injects. Deserialises from JSON (every field optional) so tests, the binary's
//! `--config` file and the control endpoint share one format.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::workspace::credentials::Credentials;

/// Project id used when the configuration names none (32 hex digits, like a real one).
pub const DEFAULT_PROJECT_ID: &str = "5b1c7e2f9a8d4c3b8e6f1a2d3c4b5a69";
/// Server group given to servers whose specification names none.
pub const DEFAULT_SERVER_GROUP_ID: &str = "sg-default";
/// The gateway rejects an `X-Sdk-Date` further than this from its clock.
pub const DEFAULT_MAX_CLOCK_SKEW_SECS: u64 = 15 * 60;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    pub project_id: String,
    pub credentials: CredentialsConfig,
    /// Servers listed one by one (an id string or a full specification).
    pub servers: Vec<ServerSpec>,
    /// Additional generated servers `srv-0001`, `srv-0002`, … appended after `servers`, in
    /// the default group.
    pub server_count: u32,
    /// Generated servers in named groups, appended after those: the numbering of generated
    /// ids goes on (`srv-0004`, …), so ids stay unique across groups.
    pub server_groups: Vec<ServerGroupSpec>,
    pub reboot: RebootTiming,
    /// User sessions: how many each server starts with, how they come and go.
    pub sessions: SessionConfig,
    /// Largest accepted distance between `X-Sdk-Date` and the simulator's clock, in seconds.
    /// `null` turns the check off.
    pub max_clock_skew_secs: Option<u64>,
    pub faults: Faults,
    /// When set, every API request is also appended to this file as one JSON line.
    pub request_log: Option<std::path::PathBuf>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            project_id: DEFAULT_PROJECT_ID.to_owned(),
            credentials: CredentialsConfig::default(),
            servers: Vec::new(),
            server_count: 0,
            server_groups: Vec::new(),
            reboot: RebootTiming::default(),
            sessions: SessionConfig::default(),
            max_clock_skew_secs: Some(DEFAULT_MAX_CLOCK_SKEW_SECS),
            faults: Faults::default(),
            request_log: None,
        }
    }
}

impl SimulatorConfig {
    /// Every server the configuration describes: listed ones first, then `server_count`
    /// generated ones, then each group's. Generated ids skip ids already taken.
    pub fn server_specs(&self) -> Vec<ServerSpec> {
        let mut specs = self.servers.clone();
        let mut taken: std::collections::HashSet<String> =
            specs.iter().map(|spec| spec.id.clone()).collect();
        let mut number = 0u32;
        let mut next_id = || loop {
            number += 1;
            let id = generated_server_id(number);
            if taken.insert(id.clone()) {
                return id;
            }
        };
        for _ in 0..self.server_count {
            specs.push(ServerSpec::with_id(next_id()));
        }
        for group in &self.server_groups {
            for _ in 0..group.server_count {
                specs.push(ServerSpec::with_id(next_id()).in_group(group.id.clone()));
            }
        }
        specs
    }

    /// Adds `server_count` generated servers in group `id` (see `server_groups`).
    pub fn with_group(mut self, id: impl Into<String>, server_count: u32) -> Self {
        self.server_groups.push(ServerGroupSpec {
            id: id.into(),
            name: None,
            server_count,
        });
        self
    }

    pub fn max_clock_skew(&self) -> Option<Duration> {
        self.max_clock_skew_secs.map(Duration::from_secs)
    }
}

/// `srv-0001` style ids for generated servers.
pub fn generated_server_id(number: u32) -> String {
    format!("srv-{number:04}")
}

/// Who may call the API. A request is accepted when it is signed with one of the AK/SK
/// `access_keys` (with its security token, if it has one) or carries one of `iam_tokens` (or
/// when `allow_anonymous` is set and it carries neither). The credentials are the crate's one
/// [`Credentials`] type, so `Debug` redacts them by its rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// [`Credentials::AkSk`] entries (an IAM token listed here is accepted as one too).
    pub access_keys: Vec<Credentials>,
    /// IAM tokens accepted in `X-Auth-Token`.
    pub iam_tokens: Vec<Credentials>,
    pub allow_anonymous: bool,
}

impl CredentialsConfig {
    /// The AK/SK credentials whose access key is `access_key`.
    pub fn access_key(&self, access_key: &str) -> Option<&Credentials> {
        self.all()
            .find(|credentials| credentials.access_key() == Some(access_key))
    }

    /// Whether `token` is an accepted IAM token.
    pub fn accepts_token(&self, token: &str) -> bool {
        self.all()
            .any(|credentials| matches!(credentials, Credentials::Token(t) if t == token))
    }

    fn all(&self) -> impl Iterator<Item = &Credentials> {
        self.access_keys.iter().chain(&self.iam_tokens)
    }
}

/// One simulated server. In JSON either a bare id string or an object with `id` and any of
/// the other fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ServerSpecRepr")]
pub struct ServerSpec {
    pub id: String,
    /// Default `app-server-NNNN` (its position in the table); `machine_name` is its upper case.
    pub name: Option<String>,
    /// Default [`DEFAULT_SERVER_GROUP_ID`].
    pub server_group_id: Option<String>,
    pub image_id: Option<String>,
    /// Initial `status` (default `REGISTERED`, or `MAINTAINING` in maintenance mode).
    pub status: Option<String>,
    /// Initial `vm_status` (default `ACTIVE`).
    pub vm_status: Option<String>,
    /// Initial `task_status` (default the string `"null"`).
    pub task_status: Option<String>,
    pub maintain_status: bool,
    /// Frozen for arrears: `freeze` lists one entry, `status` reads FREEZE, and a batch
    /// reboot naming the server is refused.
    pub frozen: bool,
    pub session_count: u32,
    /// Shown as the `tags` list of `{key, value}`.
    pub tags: BTreeMap<String, String>,
}

impl ServerSpec {
    pub fn with_id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            server_group_id: None,
            image_id: None,
            status: None,
            vm_status: None,
            task_status: None,
            maintain_status: false,
            frozen: false,
            session_count: 0,
            tags: BTreeMap::new(),
        }
    }

    pub fn in_group(mut self, server_group_id: impl Into<String>) -> Self {
        self.server_group_id = Some(server_group_id.into());
        self
    }

    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn frozen(mut self) -> Self {
        self.frozen = true;
        self
    }

    pub fn in_maintenance(mut self) -> Self {
        self.maintain_status = true;
        self
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ServerSpecRepr {
    Id(String),
    Full(FullServerSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullServerSpec {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    server_group_id: Option<String>,
    #[serde(default)]
    image_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    vm_status: Option<String>,
    #[serde(default)]
    task_status: Option<String>,
    #[serde(default)]
    maintain_status: bool,
    #[serde(default)]
    frozen: bool,
    #[serde(default)]
    session_count: u32,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

impl From<ServerSpecRepr> for ServerSpec {
    fn from(repr: ServerSpecRepr) -> Self {
        match repr {
            ServerSpecRepr::Id(id) => ServerSpec::with_id(id),
            ServerSpecRepr::Full(full) => ServerSpec {
                id: full.id,
                name: full.name,
                server_group_id: full.server_group_id,
                image_id: full.image_id,
                status: full.status,
                vm_status: full.vm_status,
                task_status: full.task_status,
                maintain_status: full.maintain_status,
                frozen: full.frozen,
                session_count: full.session_count,
                tags: full.tags,
            },
        }
    }
}

/// `server_count` generated servers in the server group `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerGroupSpec {
    pub id: String,
    /// The group's `name` in `GET …/app-server-groups` (and the servers'
    /// `server_group_name`); default: the id.
    #[serde(default)]
    pub name: Option<String>,
    pub server_count: u32,
}

/// How user sessions come and go (rules in [`super::sessions`]). The default: no sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Open sessions on every server at start (a server's own non-zero `session_count`
    /// wins).
    pub per_server: u32,
    /// A session ends by itself this long after it started; `null`: never.
    pub lifetime_ms: Option<u64>,
    /// A new session arrives on each server that accepts sessions this often; `null`: none.
    pub arrival_ms: Option<u64>,
    /// Arrivals stop while a server holds this many open sessions.
    pub max_per_server: u32,
    /// How long one second of a logoff's `delay_time` lasts, in milliseconds (1000 is real
    /// time; tests use a few).
    pub logoff_second_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            per_server: 0,
            lifetime_ms: None,
            arrival_ms: None,
            max_per_server: 10,
            logoff_second_ms: 1_000,
        }
    }
}

/// How long each reboot phase lasts (see the phase table in `servers`). The state is
/// computed from timestamps when read, so no timers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RebootTiming {
    /// After the request was accepted (and `Faults::unchanged_after_accept_ms`): still
    /// ACTIVE, `task_status` `reboot_pending`.
    pub pending_ms: u64,
    /// Then `vm_status` REBOOT / HARD_REBOOT, `task_status` `rebooting` / `rebooting_hard`,
    /// `status` UNREGISTER.
    pub rebooting_ms: u64,
    /// Then the VM is back (ACTIVE, idle) but the session agent has not registered yet:
    /// `status` UNREGISTER for this long, then REGISTERED.
    pub registering_ms: u64,
}

impl Default for RebootTiming {
    fn default() -> Self {
        Self {
            pending_ms: 1_000,
            rebooting_ms: 3_000,
            registering_ms: 1_000,
        }
    }
}

impl RebootTiming {
    /// From the accepted request to `status` REGISTERED.
    pub fn total(&self) -> Duration {
        Duration::from_millis(
            self.pending_ms
                .saturating_add(self.rebooting_ms)
                .saturating_add(self.registering_ms),
        )
    }
}

/// Which API requests a counted fault applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultScope {
    #[default]
    All,
    /// Only `PATCH …/actions/batch-reboot`.
    BatchReboot,
    /// Only the `GET` requests (server list and show, group list, session list).
    Reads,
    /// Only maintenance-mode changes (`batch-maint` and the single-server `PATCH`).
    Maintenance,
    /// Only `list-sessions` and `logoff`.
    Sessions,
}

/// Injected faults. Changing them at runtime (handle or `PUT /_simulator/faults`) restarts the
/// "first N" budgets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API request before it is answered.
    pub latency_ms: u64,
    /// The next `first_n` requests are answered 429 `APIG.0308`.
    pub throttle: Option<ThrottleFault>,
    /// The request quota: a token bucket per API (or one for the account) every authenticated
    /// API request takes one token from; a request finding it empty is answered 429
    /// `APIG.0308` with the gateway's message ("…policy user over ratelimit,limit:N,time:1
    /// second").
    pub quota: Option<QuotaFault>,
    /// The next `first_n` requests are answered with a 5xx.
    pub server_errors: Option<ServerErrorFault>,
    /// A batch reboot or `batch-maint` naming any of these ids is answered 409 (the server is
    /// busy with another task; nothing of the batch is done), `times` times per id.
    pub busy_ids: Option<BusyFault>,
    /// List answers (`app-servers`, `app-server-groups`, `session/list-sessions`) leave out
    /// `count`, as some versions of the service are said to; paging must then go on until a
    /// short page.
    pub list_without_count: bool,
    /// A batch reboot naming any of these ids fails as a whole; no server in it reboots.
    pub failing_ids: Option<FailingIdsFault>,
    /// More API requests in flight than this at once are answered 429 `APIG.0308`.
    pub max_in_flight: Option<u32>,
    /// A request naming any of these ids (batch items, the id in the path, the `server_id`
    /// filter) is never answered; it waits until the client gives up or the simulator stops.
    pub hang_ids: Vec<String>,
    /// A maintenance-mode change (`batch-maint`, single-server `PATCH`) naming any of these
    /// ids fails as a whole; no server in it changes.
    pub failing_maint_ids: Option<FailingIdsFault>,
    /// `logoff` is answered 200 but nothing happens: no message, the sessions stay.
    pub ignore_logoff: bool,
    /// These servers end their next reboot in `vm_status` ERROR instead of ACTIVE.
    pub error_after_reboot_ids: Vec<String>,
    /// For this long after a reboot was accepted the server still shows its old state (idle,
    /// same `update_time`), as the real service sometimes does; then the phases follow.
    pub unchanged_after_accept_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleFault {
    pub first_n: u32,
    /// Sent as a `Retry-After` header (seconds) when set.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub scope: FaultScope,
}

/// A quota of `limit` requests per `period_secs` seconds, as a token bucket that holds at most
/// `limit` tokens (a full bucket allows a burst of `limit`) and refills continuously. Every
/// credential the simulator accepts belongs to its one account (one user).
///
/// JSON: `{"limit": 10, "period_secs": 1, "per_api": true, "retry_after_secs": null}` (only
/// `limit` is required).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaFault {
    pub limit: u32,
    /// Default 1 (a quota per second); 60 gives a quota per minute.
    #[serde(default = "default_quota_period")]
    pub period_secs: u64,
    /// Sent as a `Retry-After` header (seconds) when set; the real gateway's use of it is
    /// undocumented.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// `true` (the default): each API ([`Api`](crate::workspace::wire::Api): method and path
    /// template, as the client keys its budgets) has a bucket of its own, as Huawei's gateway
    /// counts quotas per API and user. `false`: one bucket for every API of the account.
    #[serde(default = "default_true")]
    pub per_api: bool,
}

fn default_quota_period() -> u64 {
    1
}

fn default_true() -> bool {
    true
}

impl QuotaFault {
    /// `limit` requests per second, per API.
    pub fn per_second(limit: u32) -> Self {
        Self {
            limit,
            period_secs: 1,
            retry_after_secs: None,
            per_api: true,
        }
    }

    /// `limit` requests per minute, per API.
    pub fn per_minute(limit: u32) -> Self {
        Self {
            period_secs: 60,
            ..Self::per_second(limit)
        }
    }

    /// The same quota for all APIs of the account together (one bucket).
    pub fn per_account(self) -> Self {
        Self {
            per_api: false,
            ..self
        }
    }
}

/// Servers busy with another task: a batch action (`batch-reboot`, `batch-maint`) naming any of
/// `ids` is answered 409 and nothing of it is done, until each id has been named in `times`
/// such answers; then they are accepted. JSON: `{"ids": ["srv-0001"], "times": 2}` (`times`
/// defaults to 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusyFault {
    pub ids: Vec<String>,
    #[serde(default = "default_busy_times")]
    pub times: u32,
}

fn default_busy_times() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerErrorFault {
    pub first_n: u32,
    /// 500, 502, 503 or 504 (any 5xx is accepted); default 500.
    #[serde(default = "default_server_error_status")]
    pub status: u16,
    /// Defaults to the real code for the status (500 `WKS.00211401`, 503 `WKS.00050902`, …).
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
    #[serde(default)]
    pub scope: FaultScope,
}

fn default_server_error_status() -> u16 {
    500
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailingIdsFault {
    pub ids: Vec<String>,
    /// Default 500.
    #[serde(default = "default_server_error_status")]
    pub status: u16,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_is_the_default() {
        let parsed: SimulatorConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, SimulatorConfig::default());
    }

    #[test]
    fn servers_accept_ids_and_objects_and_generated_ids_skip_taken_ones() {
        let parsed: SimulatorConfig = serde_json::from_str(
            r#"{"servers": ["srv-0002", {"id": "x", "server_group_id": "g1"}], "server_count": 2}"#,
        )
        .unwrap();
        let ids: Vec<String> = parsed.server_specs().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["srv-0002", "x", "srv-0001", "srv-0003"]);
        let grouped = parsed.clone().with_group("g2", 2);
        let specs = grouped.server_specs();
        let tail: Vec<(&str, Option<&str>)> = specs[4..]
            .iter()
            .map(|s| (s.id.as_str(), s.server_group_id.as_deref()))
            .collect();
        assert_eq!(tail, [("srv-0004", Some("g2")), ("srv-0005", Some("g2"))]);
        let from_json: SimulatorConfig = serde_json::from_str(
            r#"{"server_groups": [{"id": "g", "server_count": 3}],
                "servers": [{"id": "f", "frozen": true, "tags": {"k": "v"}}]}"#,
        )
        .unwrap();
        assert_eq!(from_json.server_specs().len(), 4);
        assert!(from_json.servers[0].frozen);
        assert_eq!(parsed.servers[1].server_group_id.as_deref(), Some("g1"));
    }

    #[test]
    fn quota_busy_and_count_faults_have_their_json_forms() {
        let parsed: Faults = serde_json::from_str(
            r#"{"quota": {"limit": 3}, "busy_ids": {"ids": ["a"]}, "list_without_count": true}"#,
        )
        .unwrap();
        // Per API unless told otherwise, as Huawei's gateway counts.
        assert_eq!(parsed.quota, Some(QuotaFault::per_second(3)));
        assert_eq!(
            parsed.busy_ids,
            Some(BusyFault {
                ids: vec!["a".into()],
                times: 1
            })
        );
        assert!(parsed.list_without_count);
        let account: QuotaFault =
            serde_json::from_str(r#"{"limit": 5, "period_secs": 60, "per_api": false}"#).unwrap();
        assert_eq!(account, QuotaFault::per_minute(5).per_account());
        let written = serde_json::to_value(QuotaFault::per_second(2)).unwrap();
        assert_eq!(written["per_api"], serde_json::json!(true));
        assert!(serde_json::from_str::<BusyFault>(r#"{"ids": [], "count": 2}"#).is_err());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(serde_json::from_str::<SimulatorConfig>(r#"{"projectid": "x"}"#).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let credentials = CredentialsConfig {
            access_keys: vec![Credentials::temporary("AK", "very-secret", "tok-secret")],
            iam_tokens: vec![Credentials::token("iam-secret")],
            allow_anonymous: false,
        };
        let printed = format!("{credentials:?}");
        for secret in ["very-secret", "tok-secret", "iam-secret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn credentials_keep_their_json_form() {
        let parsed: CredentialsConfig = serde_json::from_str(
            r#"{"access_keys": [{"access_key": "AK", "secret_key": "SK", "security_token": "T"}],
                "iam_tokens": ["tok"]}"#,
        )
        .unwrap();
        assert_eq!(
            parsed.access_key("AK"),
            Some(&Credentials::temporary("AK", "SK", "T"))
        );
        assert!(parsed.accepts_token("tok"));
        assert!(!parsed.accepts_token("SK"));
        assert_eq!(parsed.access_key("tok"), None);
    }
}
