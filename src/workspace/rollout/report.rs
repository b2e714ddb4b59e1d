//! What a rollout did: per server, per wave, and why it stopped.

use std::fmt;

use time::OffsetDateTime;

use super::event::id_list;
use super::plan::PlanError;
use crate::workspace::error::ClientError;
use crate::workspace::wait::WaitOutcome;
use crate::workspace::wire::AppServer;

/// How the rollout ended for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOutcome {
    /// Rebooted and seen ready again.
    Ready,
    /// The reboot was accepted; waiting was not asked.
    Rebooted,
    /// The reboot was accepted but the server was not seen ready: failed, timed out or
    /// cancelled (see [`WaitOutcome`]).
    NotReady(WaitOutcome),
    /// The reboot request failed; when it got no answer the reboot may or may not have
    /// happened (the error says so).
    RequestFailed(ClientError),
    /// Its wave started but the server was not rebooted (why: the wave's failure, or a
    /// cancellation before the request).
    NotRebooted { reason: String },
    /// Its wave never started.
    NotStarted,
}

impl ServerOutcome {
    /// The reboot request was accepted.
    pub fn reboot_accepted(&self) -> bool {
        matches!(
            self,
            ServerOutcome::Ready | ServerOutcome::Rebooted | ServerOutcome::NotReady(_)
        )
    }
}

impl fmt::Display for ServerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerOutcome::Ready => f.write_str("rebooted and ready"),
            ServerOutcome::Rebooted => f.write_str("rebooted (not waited for)"),
            ServerOutcome::NotReady(WaitOutcome::Ready) => f.write_str("rebooted and ready"),
            ServerOutcome::NotReady(WaitOutcome::Failed { reason }) => {
                write!(f, "rebooted, then failed: {reason}")
            }
            ServerOutcome::NotReady(WaitOutcome::TimedOut { last_status }) => {
                write!(f, "rebooted, not ready before the timeout ({last_status})")
            }
            ServerOutcome::NotReady(WaitOutcome::Cancelled) => {
                f.write_str("rebooted, waiting was cancelled")
            }
            ServerOutcome::RequestFailed(error) => write!(f, "reboot request failed: {error}"),
            ServerOutcome::NotRebooted { reason } => write!(f, "not rebooted: {reason}"),
            ServerOutcome::NotStarted => f.write_str("not started (an earlier wave failed)"),
        }
    }
}

/// One server's part in the rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerReport {
    pub server_id: String,
    /// Its wave, from 1; 0 when the rollout stopped before waves were planned.
    pub wave: usize,
    pub outcome: ServerOutcome,
    /// When its wave's reboot was requested.
    pub requested_at: Option<OffsetDateTime>,
    /// The last answer seen for it (pre-flight, drain or wait).
    pub last_seen: Option<AppServer>,
    /// The rollout put it into maintenance mode and could not take it out again.
    pub left_in_maintenance: bool,
}

/// How a wave ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaveState {
    /// Every server rebooted and ready (or rebooted, without waiting).
    Done,
    Failed {
        reason: String,
    },
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveReport {
    /// From 1.
    pub number: usize,
    pub server_ids: Vec<String>,
    pub state: WaveState,
}

/// Why a rollout stopped before rebooting everything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutFailure {
    #[error("{0}")]
    InvalidPlan(PlanError),
    #[error("the pre-flight lookup failed, nothing was rebooted: {0}")]
    PreflightLookup(ClientError),
    #[error("{} must not be rebooted, nothing was rebooted: {}", count_servers(.problems.len()), .problems.join("; "))]
    Preflight { problems: Vec<String> },
    #[error("wave {wave}/{waves} failed: {reason}")]
    Wave {
        wave: usize,
        waves: usize,
        reason: WaveFailure,
    },
}

fn count_servers(n: usize) -> String {
    if n == 1 {
        "1 server".to_string()
    } else {
        format!("{n} servers")
    }
}

/// Why a wave failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaveFailure {
    #[error("could not put {} into maintenance mode: {error}; nothing in this wave was rebooted", id_list(.server_ids))]
    MaintenanceOn {
        server_ids: Vec<String>,
        error: String,
    },
    #[error("could not read the servers' session counts: {0}; nothing in this wave was rebooted")]
    DrainLookup(ClientError),
    #[error("sessions still open when the drain timeout passed (on_timeout = \"fail\"): {}; nothing in this wave was rebooted", sessions_text(.sessions))]
    SessionsRemain { sessions: Vec<(String, u64)> },
    #[error("could not log the users off: {0}; nothing in this wave was rebooted")]
    Logoff(String),
    #[error("the reboot request failed for {}: {error}", id_list(.server_ids))]
    RebootRequest {
        server_ids: Vec<String>,
        error: String,
    },
    #[error("{} not ready: {details}", count_servers(.server_ids.len()))]
    NotReady {
        server_ids: Vec<String>,
        details: String,
    },
    #[error("could not take {} out of maintenance mode: {error}", id_list(.server_ids))]
    MaintenanceOff {
        server_ids: Vec<String>,
        error: String,
    },
    #[error("cancelled{}", if *.rebooting { " while waiting for the servers" } else { " before the reboot" })]
    Cancelled { rebooting: bool },
    #[error("the rollout's timeout passed{}", if *.rebooting { " while waiting for the servers" } else { " before the reboot" })]
    DeadlineExceeded { rebooting: bool },
}

fn sessions_text(sessions: &[(String, u64)]) -> String {
    sessions
        .iter()
        .map(|(id, n)| format!("{id} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The result of [`run`](super::run). Never an `Err`: what happened to every server is here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolloutReport {
    /// Every listed server, in rollout order (ascending ID).
    pub servers: Vec<ServerReport>,
    /// The planned waves; empty when the rollout stopped before planning them.
    pub waves: Vec<WaveReport>,
    /// Why the rollout stopped early; None when every wave finished.
    pub failure: Option<RolloutFailure>,
    /// The caller cancelled the rollout.
    pub cancelled: bool,
    /// Servers the rollout put into maintenance and could not take out again, sorted.
    pub left_in_maintenance: Vec<String>,
    /// HTTP attempts the client sent while the rollout ran (retries included; other work on
    /// the same client at the same time is counted too).
    pub requests_sent: usize,
}

impl RolloutReport {
    /// Every server rebooted (and ready, when waiting was asked), nothing left in maintenance.
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
            && self.left_in_maintenance.is_empty()
            && self.pending().next().is_none()
    }

    /// Servers that are done: ready again, or rebooted when waiting was not asked.
    pub fn done(&self) -> impl Iterator<Item = &str> {
        self.servers
            .iter()
            .filter(|s| matches!(s.outcome, ServerOutcome::Ready | ServerOutcome::Rebooted))
            .map(|s| s.server_id.as_str())
    }

    /// Servers that still need a reboot (everything not [`RolloutReport::done`]).
    pub fn pending(&self) -> impl Iterator<Item = &str> {
        self.servers
            .iter()
            .filter(|s| !matches!(s.outcome, ServerOutcome::Ready | ServerOutcome::Rebooted))
            .map(|s| s.server_id.as_str())
    }

    /// Whether any reboot request was accepted.
    pub fn rebooted_any(&self) -> bool {
        self.servers.iter().any(|s| s.outcome.reboot_accepted())
    }

    /// The earliest reboot request time.
    pub fn first_requested_at(&self) -> Option<OffsetDateTime> {
        self.servers.iter().filter_map(|s| s.requested_at).min()
    }

    pub fn server(&self, server_id: &str) -> Option<&ServerReport> {
        self.servers.iter().find(|s| s.server_id == server_id)
    }

    /// The wave that failed, if one did.
    pub fn failed_wave(&self) -> Option<&WaveReport> {
        self.waves
            .iter()
            .find(|w| matches!(w.state, WaveState::Failed { .. }))
    }

    /// What to tell a person about servers left in maintenance mode; None when there are none.
    pub fn maintenance_advice(&self) -> Option<String> {
        if self.left_in_maintenance.is_empty() {
            return None;
        }
        Some(format!(
            "{} still in maintenance mode because of this rollout and receive no new user sessions: {}. \
             Take them out of maintenance mode in the Workspace console, or with \
             PATCH /v1/{{project_id}}/app-servers/actions/batch-maint and \
             {{\"items\": [...], \"maintain_status\": false}}",
            count_servers(self.left_in_maintenance.len()),
            self.left_in_maintenance.join(", ")
        ))
    }

    /// One line per server that is not done: `id (wave N): outcome`.
    pub fn pending_text(&self) -> String {
        self.servers
            .iter()
            .filter(|s| !matches!(s.outcome, ServerOutcome::Ready | ServerOutcome::Rebooted))
            .map(|s| format!("{} (wave {}): {}", s.server_id, s.wave, s.outcome))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
