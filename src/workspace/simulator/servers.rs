//! Simulated servers and their reboot state machine.
//!
//! A reboot is recorded with the time it was accepted and the phase durations in force then;
//! the visible state is computed from those timestamps whenever a server is read, so no timers
//! run and a paused test loses nothing. The phases, as the real service shows them:
//!
//! | phase | `status` | `vm_status` | `task_status` |
//! |---|---|---|---|
//! | accepted (`unchanged_after_accept_ms`) | as before | as before | as before |
//! | pending (`pending_ms`) | REGISTERED | ACTIVE | `reboot_pending` |
//! | rebooting (`rebooting_ms`) | UNREGISTER | REBOOT / HARD_REBOOT | `rebooting` / `rebooting_hard` |
//! | registering (`registering_ms`) | UNREGISTER | ACTIVE | `"null"` |
//! | done | REGISTERED | ACTIVE | `"null"` |
//!
//! A server in maintenance mode shows MAINTAINING where REGISTERED stands. A reboot that ends
//! in error goes from rebooting straight to `status` NONE, `vm_status` ERROR. A frozen server
//! (non-empty `freeze`) shows `status` FREEZE whatever else it does.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::config::{RebootTiming, ServerSpec, SessionConfig, DEFAULT_SERVER_GROUP_ID};
use super::sessions::{
    max_overlap, Acceptance, FleetReport, LogoffMessage, MaintenanceChange, RebootEvent,
    ServerHistory, Session, SessionBook, SessionIds,
};
use crate::workspace::wire::status::{
    FREEZE, MAINTAINING, NONE, REGISTERED, TASK_IDLE, TASK_REBOOTING, TASK_REBOOTING_HARD,
    TASK_REBOOT_PENDING, UNREGISTER, VM_ACTIVE, VM_ERROR, VM_HARD_REBOOT, VM_REBOOT,
};
use crate::workspace::wire::RebootType;

pub const STATUS_REGISTERED: &str = REGISTERED;
/// `status` of a server whose VM is broken ("abnormal" in the API reference).
pub const STATUS_ABNORMAL: &str = NONE;
/// Image of servers whose specification names none.
pub const DEFAULT_IMAGE_ID: &str = "img-win2019-appstream-0001";

/// Where a server is in its latest reboot, as the simulator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebootPhase {
    /// No reboot in progress.
    Idle,
    /// Accepted, but the server still shows its old state (`unchanged_ms`).
    Accepted,
    /// Accepted; the server still looks ACTIVE.
    Pending,
    /// `vm_status` REBOOT / HARD_REBOOT.
    Rebooting,
    /// The VM is back (ACTIVE, idle) but the session agent has not registered yet
    /// (`status` UNREGISTER).
    Registering,
}

/// One entry of a server's `freeze` list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeEntry {
    /// 1 to 3.
    pub effect: u8,
    /// ARREAR, POLICE, ILLEGAL, VERIFY or PARTNER.
    pub scene: String,
}

impl FreezeEntry {
    /// Frozen for arrears, the commonest reason.
    pub fn arrears() -> Self {
        Self {
            effect: 1,
            scene: "ARREAR".to_owned(),
        }
    }
}

/// A server as the simulator sees it: the API fields plus bookkeeping tests assert on.
/// [`super::sdk::server_json`] turns it into the object the API answers with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSnapshot {
    pub id: String,
    pub name: String,
    pub machine_name: String,
    pub server_group_id: String,
    /// The group's name (its id unless the group was given a name).
    #[serde(default)]
    pub server_group_name: String,
    pub image_id: String,
    pub status: String,
    pub vm_status: String,
    pub task_status: String,
    pub maintain_status: bool,
    /// Empty unless the server is frozen.
    pub freeze: Vec<FreezeEntry>,
    /// Open user sessions (see [`super::sessions`]).
    pub session_count: u32,
    pub tags: BTreeMap<String, String>,
    /// The server's private IPv4 address (`host_address[0].addr`).
    pub ip_address: String,
    /// RFC 3339 with milliseconds, UTC (`2026-11-27T10:15:00.000Z`).
    pub create_time: String,
    pub update_time: String,
    pub phase: RebootPhase,
    /// Reboots accepted for this server since the simulator started.
    pub reboot_count: u64,
    pub last_reboot_type: Option<RebootType>,
}

/// What a test can force on a server; unset fields keep their value. Forcing any of the
/// status fields cancels a reboot in progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusOverride {
    pub status: Option<String>,
    pub vm_status: Option<String>,
    pub task_status: Option<String>,
    /// `[]` unfreezes; a non-empty list freezes (the server then shows `status` FREEZE).
    pub freeze: Option<Vec<FreezeEntry>>,
    pub maintain_status: Option<bool>,
    pub session_count: Option<u32>,
}

impl StatusOverride {
    /// A broken server: `status` NONE, `vm_status` ERROR, idle task.
    pub fn error() -> Self {
        Self {
            status: Some(STATUS_ABNORMAL.to_owned()),
            vm_status: Some(VM_ERROR.to_owned()),
            task_status: Some(TASK_IDLE.to_owned()),
            ..Self::default()
        }
    }

    /// A healthy idle server: REGISTERED, ACTIVE, idle, not frozen.
    pub fn repaired() -> Self {
        Self {
            status: Some(STATUS_REGISTERED.to_owned()),
            vm_status: Some(VM_ACTIVE.to_owned()),
            task_status: Some(TASK_IDLE.to_owned()),
            freeze: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// Frozen for arrears (the VM state is left as it is).
    pub fn frozen() -> Self {
        Self {
            freeze: Some(vec![FreezeEntry::arrears()]),
            ..Self::default()
        }
    }

    fn changes_status(&self) -> bool {
        self.status.is_some() || self.vm_status.is_some() || self.task_status.is_some()
    }
}

#[derive(Clone, Debug)]
struct SettledStatus {
    status: String,
    vm_status: String,
    task_status: String,
    update_time: OffsetDateTime,
}

#[derive(Clone, Debug)]
struct RebootInProgress {
    kind: RebootType,
    accepted_at: OffsetDateTime,
    timing: RebootTiming,
    unchanged_ms: u64,
    ends_in_error: bool,
}

impl RebootInProgress {
    fn unchanged_until(&self) -> OffsetDateTime {
        self.accepted_at + Duration::from_millis(self.unchanged_ms)
    }

    fn pending_until(&self) -> OffsetDateTime {
        self.unchanged_until() + Duration::from_millis(self.timing.pending_ms)
    }

    fn rebooting_until(&self) -> OffsetDateTime {
        self.pending_until() + Duration::from_millis(self.timing.rebooting_ms)
    }

    /// When the reboot is over: the agent has registered (or the VM ended in error).
    fn done_at(&self) -> OffsetDateTime {
        if self.ends_in_error {
            self.rebooting_until()
        } else {
            self.rebooting_until() + Duration::from_millis(self.timing.registering_ms)
        }
    }
}

#[derive(Clone, Debug)]
struct ServerRecord {
    id: String,
    name: String,
    machine_name: String,
    server_group_id: String,
    image_id: String,
    maintain_status: bool,
    freeze: Vec<FreezeEntry>,
    sessions: SessionBook,
    tags: BTreeMap<String, String>,
    ip_address: String,
    create_time: OffsetDateTime,
    settled: SettledStatus,
    reboot: Option<RebootInProgress>,
    reboot_count: u64,
    last_reboot_type: Option<RebootType>,
    history: History,
}

/// One accepted reboot, as [`RebootEvent`] reports it.
#[derive(Clone, Debug)]
struct RebootEntry {
    kind: RebootType,
    accepted_at: OffsetDateTime,
    maintain_status: bool,
    sessions_open: u32,
    sessions_killed: u64,
    /// End of the unavailable interval: the agent registered, or the reboot was cut short.
    available_again: Option<OffsetDateTime>,
    ended_in_error: bool,
}

#[derive(Clone, Debug, Default)]
struct History {
    maintenance: Vec<(bool, OffsetDateTime)>,
    reboots: Vec<RebootEntry>,
    messages: Vec<LogoffMessage>,
}

impl History {
    /// Ends the latest reboot's unavailable interval at `now` if it is still open.
    fn close_reboot(&mut self, now: OffsetDateTime) {
        if let Some(last) = self.reboots.last_mut() {
            if last.available_again.is_none() {
                last.available_again = Some(now);
            }
        }
    }
}

/// What a logoff request says, for the messages recorded.
#[derive(Clone, Debug)]
pub struct LogoffNotice {
    pub message_type: u8,
    pub title: Option<String>,
    pub message: Option<String>,
    pub delay_time: u64,
}

/// An open session as `list-sessions` shows it, with its server's details.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub id: String,
    pub number: u64,
    pub login_user: String,
    pub state: &'static str,
    pub start_time: OffsetDateTime,
    pub machine_name: String,
    pub vm_ip: String,
    pub server_group_id: String,
    pub server_group_name: String,
}

/// A server group as `GET …/app-server-groups` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub app_server_count: u32,
}

fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(u32::from(at.millisecond()) * 1_000_000)
        .unwrap_or(at)
}

fn millis_between(from: OffsetDateTime, to: OffsetDateTime) -> u64 {
    u64::try_from((to - from).whole_milliseconds()).unwrap_or(0)
}

/// A private address for the server at `position`: 10.x.y.z, unique for 16 million servers.
fn ip_for(position: usize) -> String {
    let n = position + 10;
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// REGISTERED, or MAINTAINING for a server in maintenance mode.
fn registered_status(maintain_status: bool) -> &'static str {
    if maintain_status {
        MAINTAINING
    } else {
        REGISTERED
    }
}

impl ServerRecord {
    fn from_spec(
        spec: ServerSpec,
        position: usize,
        now: OffsetDateTime,
        config: &SessionConfig,
        ids: &mut SessionIds,
    ) -> Self {
        let initial = if spec.session_count > 0 {
            spec.session_count
        } else {
            config.per_server
        };
        let name = spec
            .name
            .unwrap_or_else(|| format!("app-server-{:04}", position + 1));
        let freeze = if spec.frozen {
            vec![FreezeEntry::arrears()]
        } else {
            Vec::new()
        };
        Self {
            machine_name: name.to_uppercase(),
            name,
            server_group_id: spec
                .server_group_id
                .unwrap_or_else(|| DEFAULT_SERVER_GROUP_ID.to_owned()),
            image_id: spec.image_id.unwrap_or_else(|| DEFAULT_IMAGE_ID.to_owned()),
            maintain_status: spec.maintain_status,
            freeze,
            sessions: SessionBook::new(initial, now, config, ids),
            tags: spec.tags,
            ip_address: ip_for(position),
            create_time: now,
            settled: SettledStatus {
                status: spec
                    .status
                    .unwrap_or_else(|| registered_status(spec.maintain_status).to_owned()),
                vm_status: spec.vm_status.unwrap_or_else(|| VM_ACTIVE.to_owned()),
                task_status: spec.task_status.unwrap_or_else(|| TASK_IDLE.to_owned()),
                update_time: now,
            },
            reboot: None,
            reboot_count: 0,
            last_reboot_type: None,
            history: History::default(),
            id: spec.id,
        }
    }

    /// When the server accepts new sessions until its next change.
    fn acceptance(&self) -> Acceptance {
        let not_blocked = !self.maintain_status && self.freeze.is_empty();
        let settled = &self.settled;
        let healthy = settled.vm_status == VM_ACTIVE
            && (settled.status == REGISTERED || settled.status == MAINTAINING)
            && settled.task_status == TASK_IDLE;
        Acceptance {
            open_before_reboot: not_blocked && healthy,
            not_blocked,
            reboot: self
                .reboot
                .as_ref()
                .map(|reboot| (reboot.accepted_at, reboot.done_at(), reboot.ends_in_error)),
        }
    }

    /// Brings the sessions up to `now`, folds a finished reboot into the settled status,
    /// then describes the server at `now`.
    fn observe(
        &mut self,
        now: OffsetDateTime,
        config: &SessionConfig,
        ids: &mut SessionIds,
    ) -> ServerSnapshot {
        let acceptance = self.acceptance();
        let kill_at = self.reboot.as_ref().map(RebootInProgress::pending_until);
        let killed = self.sessions.advance(now, acceptance, kill_at, config, ids);
        if killed > 0 {
            if let Some(last) = self.history.reboots.last_mut() {
                last.sessions_killed += killed;
            }
        }
        if let Some(reboot) = &self.reboot {
            if now >= reboot.done_at() {
                if let Some(last) = self.history.reboots.last_mut() {
                    if reboot.ends_in_error {
                        last.ended_in_error = true;
                    } else if last.available_again.is_none() {
                        last.available_again = Some(reboot.done_at());
                    }
                }
                self.settled = if reboot.ends_in_error {
                    SettledStatus {
                        status: STATUS_ABNORMAL.to_owned(),
                        vm_status: VM_ERROR.to_owned(),
                        task_status: TASK_IDLE.to_owned(),
                        update_time: reboot.done_at(),
                    }
                } else {
                    SettledStatus {
                        status: REGISTERED.to_owned(),
                        vm_status: VM_ACTIVE.to_owned(),
                        task_status: TASK_IDLE.to_owned(),
                        update_time: reboot.done_at(),
                    }
                };
                self.reboot = None;
            }
        }
        let (phase, status, vm_status, task_status, update_time) = match &self.reboot {
            None => (
                RebootPhase::Idle,
                self.settled.status.clone(),
                self.settled.vm_status.clone(),
                self.settled.task_status.clone(),
                self.settled.update_time,
            ),
            Some(reboot) if now < reboot.unchanged_until() => (
                RebootPhase::Accepted,
                self.settled.status.clone(),
                self.settled.vm_status.clone(),
                self.settled.task_status.clone(),
                self.settled.update_time,
            ),
            Some(reboot) if now < reboot.pending_until() => (
                RebootPhase::Pending,
                REGISTERED.to_owned(),
                VM_ACTIVE.to_owned(),
                TASK_REBOOT_PENDING.to_owned(),
                reboot.unchanged_until(),
            ),
            Some(reboot) if now < reboot.rebooting_until() => {
                let (vm, task) = match reboot.kind {
                    RebootType::Soft => (VM_REBOOT, TASK_REBOOTING),
                    RebootType::Hard => (VM_HARD_REBOOT, TASK_REBOOTING_HARD),
                };
                (
                    RebootPhase::Rebooting,
                    UNREGISTER.to_owned(),
                    vm.to_owned(),
                    task.to_owned(),
                    reboot.pending_until(),
                )
            }
            Some(reboot) => (
                RebootPhase::Registering,
                UNREGISTER.to_owned(),
                VM_ACTIVE.to_owned(),
                TASK_IDLE.to_owned(),
                reboot.rebooting_until(),
            ),
        };
        // The agent's registration reads MAINTAINING in maintenance mode; a frozen server
        // reads FREEZE whatever its agent does.
        let status = if !self.freeze.is_empty() {
            FREEZE.to_owned()
        } else if status == REGISTERED || status == MAINTAINING {
            registered_status(self.maintain_status).to_owned()
        } else {
            status
        };
        ServerSnapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            machine_name: self.machine_name.clone(),
            server_group_id: self.server_group_id.clone(),
            server_group_name: self.server_group_id.clone(),
            image_id: self.image_id.clone(),
            status,
            vm_status,
            task_status,
            maintain_status: self.maintain_status,
            freeze: self.freeze.clone(),
            session_count: u32::try_from(self.sessions.open.len()).unwrap_or(u32::MAX),
            tags: self.tags.clone(),
            ip_address: self.ip_address.clone(),
            create_time: format_api_time(self.create_time),
            update_time: format_api_time(update_time),
            phase,
            reboot_count: self.reboot_count,
            last_reboot_type: self.last_reboot_type,
        }
    }
}

/// Formats a timestamp the way the API does: RFC 3339, UTC, milliseconds.
pub fn format_api_time(at: OffsetDateTime) -> String {
    crate::workspace::wire::format_api_time(at)
}

/// Filters of `GET /v1/{project_id}/app-servers` that the simulator honours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFilter {
    /// Exact match.
    pub server_id: Option<String>,
    /// Exact match.
    pub server_group_id: Option<String>,
    /// Substring match, as the real API's fuzzy search.
    pub server_name: Option<String>,
    /// Substring match.
    pub machine_name: Option<String>,
    pub maintain_status: Option<bool>,
}

impl ServerFilter {
    fn matches(&self, server: &ServerRecord) -> bool {
        self.server_id.as_ref().is_none_or(|id| *id == server.id)
            && self
                .server_group_id
                .as_ref()
                .is_none_or(|group| *group == server.server_group_id)
            && self
                .server_name
                .as_ref()
                .is_none_or(|name| server.name.contains(name.as_str()))
            && self
                .machine_name
                .as_ref()
                .is_none_or(|name| server.machine_name.contains(name.as_str()))
            && self
                .maintain_status
                .is_none_or(|maintain| maintain == server.maintain_status)
    }
}

/// How the servers of one accepted batch reboot.
#[derive(Clone, Copy, Debug)]
pub struct RebootPlan<'a> {
    pub kind: RebootType,
    pub timing: RebootTiming,
    /// See `Faults::unchanged_after_accept_ms`.
    pub unchanged_ms: u64,
    /// Servers that end this reboot in ERROR.
    pub ends_in_error: &'a [String],
}

/// All simulated servers, in configuration order, with their sessions and history.
#[derive(Debug)]
pub struct ServerTable {
    records: Vec<ServerRecord>,
    index: HashMap<String, usize>,
    sessions: SessionConfig,
    ids: SessionIds,
    started_at: OffsetDateTime,
    group_names: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerTableError {
    #[error("a server with id {0:?} already exists")]
    DuplicateId(String),
    #[error("server id {0:?} is empty or longer than 128 characters")]
    InvalidId(String),
}

impl ServerTable {
    pub fn new(specs: Vec<ServerSpec>, now: OffsetDateTime) -> Result<Self, ServerTableError> {
        Self::with_sessions(specs, SessionConfig::default(), now)
    }

    /// A table whose servers get sessions as `sessions` says.
    pub fn with_sessions(
        specs: Vec<ServerSpec>,
        sessions: SessionConfig,
        now: OffsetDateTime,
    ) -> Result<Self, ServerTableError> {
        let mut table = Self {
            records: Vec::new(),
            index: HashMap::new(),
            sessions,
            ids: SessionIds::default(),
            started_at: now,
            group_names: BTreeMap::new(),
        };
        for spec in specs {
            table.add(spec, now)?;
        }
        Ok(table)
    }

    pub fn add(&mut self, spec: ServerSpec, now: OffsetDateTime) -> Result<(), ServerTableError> {
        if spec.id.is_empty() || spec.id.chars().count() > 128 {
            return Err(ServerTableError::InvalidId(spec.id));
        }
        if self.index.contains_key(&spec.id) {
            return Err(ServerTableError::DuplicateId(spec.id));
        }
        let position = self.records.len();
        self.index.insert(spec.id.clone(), position);
        let record = ServerRecord::from_spec(spec, position, now, &self.sessions, &mut self.ids);
        self.records.push(record);
        Ok(())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Observes the record at `position` (sessions and reboot brought up to `now`).
    fn observe_at(&mut self, position: usize, now: OffsetDateTime) -> Option<ServerSnapshot> {
        let Self {
            records,
            sessions,
            ids,
            group_names,
            ..
        } = self;
        let record = records.get_mut(position)?;
        let mut snapshot = record.observe(now, sessions, ids);
        if let Some(name) = group_names.get(&snapshot.server_group_id) {
            snapshot.server_group_name = name.clone();
        }
        Some(snapshot)
    }

    pub fn get(&mut self, id: &str, now: OffsetDateTime) -> Option<ServerSnapshot> {
        let position = *self.index.get(id)?;
        self.observe_at(position, now)
    }

    pub fn all(&mut self, now: OffsetDateTime) -> Vec<ServerSnapshot> {
        (0..self.records.len())
            .filter_map(|position| self.observe_at(position, now))
            .collect()
    }

    /// The matching servers at `now`, in table order.
    pub fn matching(&mut self, filter: &ServerFilter, now: OffsetDateTime) -> Vec<ServerSnapshot> {
        let positions: Vec<usize> = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, record)| filter.matches(record))
            .map(|(position, _)| position)
            .collect();
        positions
            .into_iter()
            .filter_map(|position| self.observe_at(position, now))
            .collect()
    }

    /// When the table (the simulator) started.
    pub fn started_at(&self) -> OffsetDateTime {
        self.started_at
    }

    /// The session rules in force.
    pub fn session_config(&self) -> SessionConfig {
        self.sessions
    }

    /// Replaces the session rules from `now` on (what happened until now stays).
    pub fn set_session_config(&mut self, sessions: SessionConfig, now: OffsetDateTime) {
        self.all(now);
        self.sessions = sessions;
    }

    /// Names a server group (shown by the group listing and as `server_group_name`).
    pub fn set_group_name(&mut self, server_group_id: &str, name: &str) {
        self.group_names
            .insert(server_group_id.to_owned(), name.to_owned());
    }

    /// The server groups: every group a server is in (in table order), then named groups
    /// without servers.
    pub fn groups(&self) -> Vec<GroupView> {
        let mut order: Vec<String> = Vec::new();
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for record in &self.records {
            let count = counts.entry(record.server_group_id.as_str()).or_insert(0);
            if *count == 0 {
                order.push(record.server_group_id.clone());
            }
            *count += 1;
        }
        for id in self.group_names.keys() {
            if !counts.contains_key(id.as_str()) {
                order.push(id.clone());
            }
        }
        order
            .into_iter()
            .map(|id| GroupView {
                name: self
                    .group_names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| id.clone()),
                app_server_count: counts.get(id.as_str()).copied().unwrap_or(0),
                id,
            })
            .collect()
    }

    /// Sets maintenance mode of a server (recording a change); `None` for an unknown id.
    pub fn set_maintenance(
        &mut self,
        id: &str,
        maintain_status: bool,
        now: OffsetDateTime,
    ) -> Option<()> {
        let position = *self.index.get(id)?;
        self.observe_at(position, now)?;
        let record = self.records.get_mut(position)?;
        if record.maintain_status != maintain_status {
            record.maintain_status = maintain_status;
            record.history.maintenance.push((maintain_status, now));
        }
        Some(())
    }

    /// Every open session at `now`, server by server in table order, oldest first.
    pub fn open_sessions(&mut self, now: OffsetDateTime) -> Vec<SessionView> {
        let snapshots = self.all(now);
        let mut views = Vec::new();
        for (record, server) in self.records.iter().zip(snapshots) {
            let mut sessions: Vec<&Session> = record.sessions.open.iter().collect();
            sessions.sort_by_key(|session| (session.started_at, session.number));
            views.extend(sessions.into_iter().map(|session| SessionView {
                id: session.id(),
                number: session.number,
                login_user: session.login_user(),
                state: session.state(),
                // The API keeps milliseconds; a window ending "now" to the millisecond
                // includes a session that started within that millisecond.
                start_time: truncate_to_millis(session.started_at),
                machine_name: server.machine_name.clone(),
                vm_ip: server.ip_address.clone(),
                server_group_id: server.server_group_id.clone(),
                server_group_name: server.server_group_name.clone(),
            }));
        }
        views
    }

    /// Logs off the open sessions among `session_ids` after the notice's delay (one second
    /// lasting `logoff_second_ms`), recording the message per server. Returns how many
    /// sessions were found.
    pub fn logoff(
        &mut self,
        session_ids: &std::collections::HashSet<String>,
        notice: &LogoffNotice,
        now: OffsetDateTime,
    ) -> usize {
        let delay_ms = notice
            .delay_time
            .saturating_mul(self.sessions.logoff_second_ms);
        let at = now + Duration::from_millis(delay_ms);
        let at_ms = millis_between(self.started_at, now);
        let mut found = 0;
        for position in 0..self.records.len() {
            self.observe_at(position, now);
            let Some(record) = self.records.get_mut(position) else {
                continue;
            };
            for session in record.sessions.logoff(session_ids, at) {
                found += 1;
                record.history.messages.push(LogoffMessage {
                    session_id: session.id(),
                    login_user: session.login_user(),
                    message_type: notice.message_type,
                    title: notice.title.clone(),
                    message: notice.message.clone(),
                    delay_time: notice.delay_time,
                    at: format_api_time(now),
                    at_ms,
                });
            }
        }
        found
    }

    /// Availability, sessions and every server's history at `now`.
    pub fn fleet_report(&mut self, now: OffsetDateTime) -> FleetReport {
        let snapshots = self.all(now);
        let start = self.started_at;
        let stamp = |at: OffsetDateTime| (format_api_time(at), millis_between(start, at));
        let mut report = FleetReport::default();
        let mut intervals = Vec::new();
        for (record, server) in self.records.iter().zip(snapshots) {
            let book = &record.sessions;
            let history = ServerHistory {
                id: record.id.clone(),
                machine_name: record.machine_name.clone(),
                maintain_status: server.maintain_status,
                maintenance: record
                    .history
                    .maintenance
                    .iter()
                    .map(|(maintain_status, at)| {
                        let (at, at_ms) = stamp(*at);
                        MaintenanceChange {
                            maintain_status: *maintain_status,
                            at,
                            at_ms,
                        }
                    })
                    .collect(),
                reboots: record
                    .history
                    .reboots
                    .iter()
                    .map(|entry| {
                        intervals.push((entry.accepted_at, entry.available_again));
                        let (accepted_at, accepted_at_ms) = stamp(entry.accepted_at);
                        let again = entry.available_again.map(stamp);
                        RebootEvent {
                            reboot_type: entry.kind,
                            accepted_at,
                            accepted_at_ms,
                            maintain_status: entry.maintain_status,
                            sessions_open: entry.sessions_open,
                            sessions_killed: entry.sessions_killed,
                            available_again_at: again.as_ref().map(|(at, _)| at.clone()),
                            available_again_at_ms: again.map(|(_, ms)| ms),
                            ended_in_error: entry.ended_in_error,
                        }
                    })
                    .collect(),
                logoff_messages: record.history.messages.clone(),
                sessions_open: server.session_count,
                sessions_killed: book.killed,
                sessions_logged_off: book.logged_off,
                sessions_ended: book.ended_naturally,
            };
            report.sessions_open += u64::from(history.sessions_open);
            report.sessions_killed += history.sessions_killed;
            report.sessions_logged_off += history.sessions_logged_off;
            report.sessions_ended += history.sessions_ended;
            report.logoff_messages += history.logoff_messages.len() as u64;
            report.reboots += history.reboots.len() as u64;
            report.servers.push(history);
        }
        let (max, at) = max_overlap(&intervals);
        report.max_unavailable = max;
        report.max_unavailable_at = at.map(format_api_time);
        report.unavailable_now = u32::try_from(
            intervals
                .iter()
                .filter(|(start, end)| *start <= now && end.is_none_or(|end| end > now))
                .count(),
        )
        .unwrap_or(u32::MAX);
        report
    }

    /// Starts a reboot of each server (unknown ids are skipped). A server already rebooting
    /// starts over.
    pub fn start_reboot(&mut self, ids: &[String], plan: &RebootPlan<'_>, now: OffsetDateTime) {
        for id in ids {
            let Some(&position) = self.index.get(id) else {
                continue;
            };
            // Settle an earlier finished reboot first so its end time is not lost.
            let Some(before) = self.observe_at(position, now) else {
                continue;
            };
            let Some(record) = self.records.get_mut(position) else {
                continue;
            };
            record.history.close_reboot(now);
            record.history.reboots.push(RebootEntry {
                kind: plan.kind,
                accepted_at: now,
                maintain_status: record.maintain_status,
                sessions_open: before.session_count,
                sessions_killed: 0,
                available_again: None,
                ended_in_error: false,
            });
            record.reboot = Some(RebootInProgress {
                kind: plan.kind,
                accepted_at: now,
                timing: plan.timing,
                unchanged_ms: plan.unchanged_ms,
                ends_in_error: plan.ends_in_error.iter().any(|broken| broken == id),
            });
            record.reboot_count += 1;
            record.last_reboot_type = Some(plan.kind);
        }
    }

    /// Forces what `change` sets (see [`StatusOverride`]). Returns false for an unknown id.
    pub fn override_status(
        &mut self,
        id: &str,
        change: &StatusOverride,
        now: OffsetDateTime,
    ) -> bool {
        let Some(&position) = self.index.get(id) else {
            return false;
        };
        let Some(current) = self.observe_at(position, now) else {
            return false;
        };
        let config = self.sessions;
        let Some(record) = self.records.get_mut(position) else {
            return false;
        };
        if change.changes_status() {
            record.reboot = None;
            record.history.close_reboot(now);
            record.settled = SettledStatus {
                status: change.status.clone().unwrap_or(current.status),
                vm_status: change.vm_status.clone().unwrap_or(current.vm_status),
                task_status: change.task_status.clone().unwrap_or(current.task_status),
                update_time: now,
            };
        }
        if let Some(freeze) = &change.freeze {
            record.freeze = freeze.clone();
            record.settled.update_time = now;
        }
        if let Some(maintain_status) = change.maintain_status {
            if record.maintain_status != maintain_status {
                record.maintain_status = maintain_status;
                record.history.maintenance.push((maintain_status, now));
            }
        }
        if let Some(session_count) = change.session_count {
            record
                .sessions
                .force_count(session_count, now, &config, &mut self.ids);
        }
        true
    }

    /// Adds `count` generated servers (`srv-NNNN`, numbers not taken yet) in group
    /// `server_group_id`; returns their ids.
    pub fn add_generated(
        &mut self,
        server_group_id: &str,
        count: u32,
        now: OffsetDateTime,
    ) -> Vec<String> {
        let mut added = Vec::new();
        let mut number = 0u32;
        while added.len() < count as usize {
            number += 1;
            let id = super::config::generated_server_id(number);
            if self.contains(&id) {
                continue;
            }
            let spec = ServerSpec::with_id(id.clone()).in_group(server_group_id);
            if self.add(spec, now).is_ok() {
                added.push(id);
            }
        }
        added
    }

    /// The frozen servers among `ids`, with why.
    pub fn frozen_among(&self, ids: &[String]) -> Vec<(String, Vec<FreezeEntry>)> {
        ids.iter()
            .filter_map(|id| {
                let record = self.records.get(*self.index.get(id)?)?;
                (!record.freeze.is_empty()).then(|| (id.clone(), record.freeze.clone()))
            })
            .collect()
    }

    /// Ids in table order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|record| record.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with(ids: &[&str], now: OffsetDateTime) -> ServerTable {
        ServerTable::new(ids.iter().map(|id| ServerSpec::with_id(*id)).collect(), now).unwrap()
    }

    const TIMING: RebootTiming = RebootTiming {
        pending_ms: 100,
        rebooting_ms: 200,
        registering_ms: 100,
    };

    fn plan(kind: RebootType, unchanged_ms: u64, ends_in_error: &[String]) -> RebootPlan<'_> {
        RebootPlan {
            kind,
            timing: TIMING,
            unchanged_ms,
            ends_in_error,
        }
    }

    #[test]
    fn soft_reboot_walks_through_every_phase() {
        let start = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut table = table_with(&["a"], start);
        table.start_reboot(&["a".to_owned()], &plan(RebootType::Soft, 0, &[]), start);

        let pending = table.get("a", start + Duration::from_millis(50)).unwrap();
        assert_eq!(
            (
                pending.status.as_str(),
                pending.vm_status.as_str(),
                pending.task_status.as_str()
            ),
            (STATUS_REGISTERED, VM_ACTIVE, TASK_REBOOT_PENDING)
        );
        assert_eq!(pending.phase, RebootPhase::Pending);

        let rebooting = table.get("a", start + Duration::from_millis(150)).unwrap();
        assert_eq!(
            (
                rebooting.status.as_str(),
                rebooting.vm_status.as_str(),
                rebooting.task_status.as_str()
            ),
            (UNREGISTER, VM_REBOOT, TASK_REBOOTING)
        );
        assert!(rebooting.update_time > pending.update_time);

        let registering = table.get("a", start + Duration::from_millis(350)).unwrap();
        assert_eq!(
            (
                registering.status.as_str(),
                registering.vm_status.as_str(),
                registering.task_status.as_str()
            ),
            (UNREGISTER, VM_ACTIVE, TASK_IDLE)
        );
        assert_eq!(registering.phase, RebootPhase::Registering);
        assert!(registering.update_time > rebooting.update_time);

        let done = table.get("a", start + Duration::from_millis(400)).unwrap();
        assert_eq!(
            (
                done.status.as_str(),
                done.vm_status.as_str(),
                done.task_status.as_str()
            ),
            (STATUS_REGISTERED, VM_ACTIVE, TASK_IDLE)
        );
        assert_eq!(done.phase, RebootPhase::Idle);
        assert!(done.update_time > registering.update_time);
        assert_eq!(done.reboot_count, 1);
        assert_eq!(done.last_reboot_type, Some(RebootType::Soft));
    }

    #[test]
    fn hard_reboot_uses_the_hard_states_and_can_end_in_error() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let mut table = table_with(&["a", "b"], start);
        let ids = ["a".to_owned(), "b".to_owned()];
        let broken = ["b".to_owned()];
        table.start_reboot(&ids, &plan(RebootType::Hard, 0, &broken), start);
        let rebooting = table.get("a", start + Duration::from_millis(100)).unwrap();
        assert_eq!(
            (rebooting.vm_status.as_str(), rebooting.task_status.as_str()),
            (VM_HARD_REBOOT, TASK_REBOOTING_HARD)
        );
        let later = start + Duration::from_secs(1);
        assert_eq!(table.get("a", later).unwrap().vm_status, VM_ACTIVE);
        let broken = table.get("b", later).unwrap();
        assert_eq!(
            (broken.status.as_str(), broken.vm_status.as_str()),
            (STATUS_ABNORMAL, VM_ERROR)
        );
    }

    #[test]
    fn an_accepted_reboot_can_stay_invisible_for_a_while() {
        let start = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(5_000);
        let mut table = table_with(&["a"], start - Duration::from_secs(60));
        let before = table.get("a", start).unwrap();
        table.start_reboot(&["a".to_owned()], &plan(RebootType::Soft, 100, &[]), start);
        let unchanged = table.get("a", start + Duration::from_millis(50)).unwrap();
        assert_eq!(unchanged.phase, RebootPhase::Accepted);
        assert_eq!(
            (unchanged.vm_status.as_str(), unchanged.task_status.as_str()),
            (VM_ACTIVE, TASK_IDLE)
        );
        assert_eq!(unchanged.update_time, before.update_time);
        assert_eq!(unchanged.reboot_count, 1);
        let pending = table.get("a", start + Duration::from_millis(150)).unwrap();
        assert_eq!(pending.task_status, TASK_REBOOT_PENDING);
        let rebooting = table.get("a", start + Duration::from_millis(250)).unwrap();
        assert_eq!(rebooting.vm_status, VM_REBOOT);
        let done = table.get("a", start + Duration::from_millis(500)).unwrap();
        assert_eq!(done.phase, RebootPhase::Idle);
    }

    #[test]
    fn filters_and_duplicates() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut table = ServerTable::new(
            vec![
                ServerSpec::with_id("a").in_group("g1"),
                ServerSpec::with_id("b"),
            ],
            now,
        )
        .unwrap();
        let filter = ServerFilter {
            server_group_id: Some("g1".into()),
            ..ServerFilter::default()
        };
        let ids: Vec<String> = table
            .matching(&filter, now)
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["a"]);
        assert_eq!(
            table.add(ServerSpec::with_id("a"), now),
            Err(ServerTableError::DuplicateId("a".into()))
        );
    }

    #[test]
    fn maintenance_mode_reads_maintaining_and_frozen_servers_read_freeze() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let mut spec = ServerSpec::with_id("m");
        spec.maintain_status = true;
        let mut frozen = ServerSpec::with_id("f");
        frozen.frozen = true;
        let mut table = ServerTable::new(vec![spec, frozen], start).unwrap();
        assert_eq!(table.get("m", start).unwrap().status, MAINTAINING);
        table.start_reboot(&["m".to_owned()], &plan(RebootType::Soft, 0, &[]), start);
        let registering = table.get("m", start + Duration::from_millis(350)).unwrap();
        assert_eq!(registering.status, UNREGISTER);
        let done = table.get("m", start + Duration::from_secs(1)).unwrap();
        assert_eq!(done.status, MAINTAINING);
        assert!(table.override_status(
            "m",
            &StatusOverride {
                maintain_status: Some(false),
                ..StatusOverride::default()
            },
            start
        ));
        assert_eq!(table.get("m", start).unwrap().status, STATUS_REGISTERED);

        let f = table.get("f", start).unwrap();
        assert_eq!(
            (f.status.as_str(), f.vm_status.as_str()),
            (FREEZE, VM_ACTIVE)
        );
        assert_eq!(f.freeze, vec![FreezeEntry::arrears()]);
        assert_eq!(
            table.frozen_among(&["m".to_owned(), "f".to_owned(), "x".to_owned()]),
            vec![("f".to_owned(), vec![FreezeEntry::arrears()])]
        );
        assert!(table.override_status("f", &StatusOverride::repaired(), start));
        assert_eq!(table.get("f", start).unwrap().status, STATUS_REGISTERED);
        assert!(table.get("f", start).unwrap().freeze.is_empty());
    }

    #[test]
    fn override_cancels_a_reboot() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut table = table_with(&["a"], now);
        table.start_reboot(&["a".to_owned()], &plan(RebootType::Soft, 0, &[]), now);
        assert!(table.override_status("a", &StatusOverride::error(), now));
        let server = table.get("a", now + Duration::from_secs(5)).unwrap();
        assert_eq!(server.vm_status, VM_ERROR);
        assert_eq!(server.phase, RebootPhase::Idle);
        assert!(!table.override_status("missing", &StatusOverride::error(), now));
    }
}
