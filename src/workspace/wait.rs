//! Waiting until rebooted servers are ready again: the rules, the options and the results.
//! The polling itself is done by the shared [`Poller`](crate::workspace::poller::Poller).
//!
//! Servers are polled in rounds at a steady `interval` (`HW_WORKSPACE_POLL_INTERVAL` in the
//! provider), through group listings or per-server GETs, whichever costs fewer requests (see
//! [`poller`](crate::workspace::poller)). A wait therefore returns within about one interval
//! plus one polling round of its last server becoming ready, whatever the fleet size.
//!
//! A server is **ready** when its snapshot is Up (see [`readiness`]) **and** one of these
//! proves the reboot is behind it rather than not yet started (right after the request is
//! accepted a server can still look ACTIVE and idle):
//! - it was seen in a reboot state (`vm_status` REBOOT / HARD_REBOOT, or a `task_status`
//!   starting with `reboot`) by an earlier or the same poll; or
//! - its `update_time` is later than the reboot request time (the service's clock against
//!   ours: a client clock running ahead only delays this proof, and the next one covers it); or
//! - the settle time has passed: a server that looks running and idle with no sign of the
//!   reboot ever seen is taken as rebooted once `settle` has passed since the wait started.
//!   Start the wait right after the reboot request.
//!
//! A DeadEnd verdict of [`readiness::assess`] ends the wait for that server at once, as failed
//! with the verdict's reason; a 404 ends it as gone. Cancellation ends every pending server as
//! cancelled, the deadline as timed out with the last status seen.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::client::Client;
use crate::workspace::error::ClientError;
use crate::workspace::poller::Poller;
use crate::workspace::readiness::{self, Condition};
use crate::workspace::wire::AppServer;

/// Default steady pause between two polling rounds.
///
/// Why 5 s: a round costs one request per 100 servers of a group with pending servers (or one
/// per pending server when that is fewer), so even 1,000 servers cost 10 requests per round,
/// about two a second, well inside the per-API quotas of 100–200 calls a minute that Huawei's
/// Workspace pages mention; and a wait returns at most about 5 s after the last
/// server is back, against 15 s and more with the Go provider's listing every 15 s.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Default settle time (see the module docs).
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(60);

/// How to poll. Tests use milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// Steady pause between the starts of two polling rounds (a round that takes longer is
    /// followed by the next at once). Waits sharing one poller are polled at the shortest
    /// interval among them.
    pub interval: Duration,
    /// A server that looks running and idle with no sign of the reboot ever seen is taken as
    /// rebooted once `settle` has passed since the wait started.
    pub settle: Duration,
    /// When the reboot was requested (compared with `update_time`); `None` means "when the wait
    /// starts".
    pub reboot_requested_at: Option<OffsetDateTime>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            interval: DEFAULT_POLL_INTERVAL,
            settle: DEFAULT_SETTLE,
            reboot_requested_at: None,
        }
    }
}

/// How the wait ended for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Ready,
    /// A dead end (ERROR, SHUTOFF, …), gone (404) or a non-retryable API error.
    Failed {
        reason: String,
    },
    /// The deadline passed first; `last_status` says what was seen last.
    TimedOut {
        last_status: String,
    },
    Cancelled,
}

/// One server's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerWait {
    pub server_id: String,
    pub outcome: WaitOutcome,
    /// The last answer for this server, if any.
    pub last_seen: Option<AppServer>,
    /// Whether a reboot state was observed.
    pub reboot_seen: bool,
}

/// The result of [`Poller::wait_until_ready`] (and [`Client::wait_until_ready`]), sorted by
/// server ID.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitReport {
    pub servers: Vec<ServerWait>,
    /// HTTP attempts the poller sent while this wait ran, retries included. Rounds are shared:
    /// waits running at the same time on one poller count the same requests.
    pub requests_sent: usize,
}

impl WaitReport {
    /// Every server is ready (true for an empty wait).
    pub fn all_ready(&self) -> bool {
        self.servers.iter().all(|s| s.outcome == WaitOutcome::Ready)
    }

    pub fn outcome(&self, server_id: &str) -> Option<&WaitOutcome> {
        self.servers
            .iter()
            .find(|s| s.server_id == server_id)
            .map(|s| &s.outcome)
    }

    /// Servers that are not ready, with their outcome.
    pub fn not_ready(&self) -> impl Iterator<Item = &ServerWait> {
        self.servers
            .iter()
            .filter(|s| s.outcome != WaitOutcome::Ready)
    }
}

/// One server of one wait: what was seen of it and how its wait ended.
pub(crate) struct Tracker {
    pub(crate) id: String,
    pub(crate) outcome: Option<WaitOutcome>,
    pub(crate) last_seen: Option<AppServer>,
    pub(crate) last_error: Option<ClientError>,
    pub(crate) reboot_seen: bool,
    /// The polling round of the last observation taken into account.
    pub(crate) last_round: u64,
}

impl Tracker {
    pub(crate) fn new(id: String) -> Tracker {
        Tracker {
            id,
            outcome: None,
            last_seen: None,
            last_error: None,
            reboot_seen: false,
            last_round: 0,
        }
    }

    pub(crate) fn into_result(self) -> ServerWait {
        ServerWait {
            outcome: self.outcome.unwrap_or(WaitOutcome::Cancelled),
            server_id: self.id,
            last_seen: self.last_seen,
            reboot_seen: self.reboot_seen,
        }
    }

    pub(crate) fn last_status(&self) -> String {
        match (&self.last_seen, &self.last_error) {
            (_, Some(error)) => format!("last poll failed: {error}"),
            (Some(server), None) => format!(
                "vm_status {}, task_status {}, reboot {}",
                server.vm_status.as_deref().unwrap_or("(none)"),
                server.task_status.as_deref().unwrap_or("(none)"),
                if self.reboot_seen {
                    "seen"
                } else {
                    "not seen yet"
                }
            ),
            (None, None) => "no answer before the deadline".to_string(),
        }
    }

    pub(crate) fn observe(
        &mut self,
        result: Result<AppServer, ClientError>,
        requested_at: OffsetDateTime,
        settled: bool,
    ) {
        let server = match result {
            Ok(server) => server,
            Err(error) => {
                self.outcome = match &error {
                    ClientError::Api(api) if api.is_not_found() => Some(WaitOutcome::Failed {
                        reason: format!("the server no longer exists ({error})"),
                    }),
                    ClientError::Cancelled { .. } => Some(WaitOutcome::Cancelled),
                    // Keep what was seen before: the deadline itself says nothing of the server.
                    ClientError::DeadlineExceeded { .. } => {
                        return self.outcome = Some(WaitOutcome::TimedOut {
                            last_status: self.last_status(),
                        });
                    }
                    e if !e.is_retryable() => Some(WaitOutcome::Failed {
                        reason: error.to_string(),
                    }),
                    // Retries exhausted on a transient problem: poll again next round.
                    _ => None,
                };
                self.last_error = Some(error);
                return;
            }
        };
        self.last_error = None;
        if server.shows_reboot() {
            self.reboot_seen = true;
        }
        match readiness::assess(&server) {
            Condition::DeadEnd { reason } => {
                self.outcome = Some(WaitOutcome::Failed { reason });
            }
            Condition::Up => {
                let updated_after = server
                    .update_time
                    .as_deref()
                    .and_then(parse_api_time)
                    .is_some_and(|t| t > requested_at);
                if self.reboot_seen || updated_after || settled {
                    self.outcome = Some(WaitOutcome::Ready);
                }
            }
            Condition::Pending { .. } => {}
        }
        self.last_seen = Some(server);
    }
}

/// Parse a service timestamp: RFC 3339, or `YYYY-MM-DD[T ]HH:MM:SS[.fff]` taken as UTC.
pub fn parse_api_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let forms = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]"),
    ];
    forms.iter().find_map(|form| {
        PrimitiveDateTime::parse(text, form)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })
}

impl Client {
    /// Poll `server_ids` until each has finished its reboot (see the module docs), failed, or
    /// the deadline passed; `cancel` stops at once. Never fails as a whole: see [`WaitReport`].
    ///
    /// Uses a poller of its own; a provider that waits in several places at once shares one
    /// [`Poller`] instead, so that all its waits read the same listings.
    pub async fn wait_until_ready(
        &self,
        server_ids: &[String],
        options: &WaitOptions,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> WaitReport {
        Poller::new(self.clone())
            .wait_until_ready(server_ids, options, cancel, deadline)
            .await
    }
}

pub(crate) fn finish_pending(trackers: &mut [Tracker], outcome: impl Fn(&Tracker) -> WaitOutcome) {
    for tracker in trackers.iter_mut().filter(|t| t.outcome.is_none()) {
        tracker.outcome = Some(outcome(tracker));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::error::ApiError;
    use time::macros::datetime;

    fn tracker() -> Tracker {
        Tracker::new("s".into())
    }

    fn server(vm: &str, task: Option<&str>, update_time: Option<&str>) -> AppServer {
        AppServer {
            id: "s".into(),
            status: Some("REGISTERED".into()),
            vm_status: Some(vm.into()),
            task_status: task.map(str::to_string),
            update_time: update_time.map(str::to_string),
            ..AppServer::default()
        }
    }

    const REQUESTED: OffsetDateTime = datetime!(2026-01-01 12:00:00 UTC);

    #[test]
    fn idle_right_after_request_is_not_ready() {
        let mut t = tracker();
        t.observe(
            Ok(server("ACTIVE", Some("null"), Some("2026-01-01T11:59:00Z"))),
            REQUESTED,
            false,
        );
        assert_eq!(t.outcome, None);
        t.observe(
            Ok(server("ACTIVE", Some("reboot_pending"), None)),
            REQUESTED,
            false,
        );
        assert_eq!(t.outcome, None);
        assert!(t.reboot_seen);
        t.observe(
            Ok(server("REBOOT", Some("rebooting"), None)),
            REQUESTED,
            false,
        );
        assert_eq!(t.outcome, None);
        t.observe(Ok(server("ACTIVE", Some("null"), None)), REQUESTED, false);
        assert_eq!(t.outcome, Some(WaitOutcome::Ready));
    }

    #[test]
    fn later_update_time_or_settle_proves_the_reboot() {
        let mut t = tracker();
        t.observe(
            Ok(server("ACTIVE", None, Some("2026-01-01T12:00:05.123Z"))),
            REQUESTED,
            false,
        );
        assert_eq!(t.outcome, Some(WaitOutcome::Ready));
        let mut t = tracker();
        t.observe(
            Ok(server("ACTIVE", Some(""), Some("2026-01-01 12:00:05"))),
            REQUESTED,
            false,
        );
        assert_eq!(t.outcome, Some(WaitOutcome::Ready));
        let mut t = tracker();
        t.observe(Ok(server("ACTIVE", Some("null"), None)), REQUESTED, true);
        assert_eq!(t.outcome, Some(WaitOutcome::Ready));
        // Settled but still busy: not ready.
        let mut t = tracker();
        t.observe(
            Ok(server("ACTIVE", Some("rebooting"), None)),
            REQUESTED,
            true,
        );
        assert_eq!(t.outcome, None);
    }

    #[test]
    fn error_shutoff_and_gone_fail() {
        let mut t = tracker();
        t.observe(Ok(server("ERROR", Some("null"), None)), REQUESTED, false);
        assert!(matches!(t.outcome, Some(WaitOutcome::Failed { .. })));
        let mut t = tracker();
        t.observe(Ok(server("SHUTOFF", None, None)), REQUESTED, false);
        assert!(matches!(t.outcome, Some(WaitOutcome::Failed { .. })));
        let mut t = tracker();
        let gone = ApiError::from_response(
            404,
            None,
            br#"{"error_code":"WKS.00211902","error_msg":"not found"}"#,
        );
        t.observe(Err(ClientError::Api(gone)), REQUESTED, false);
        match &t.outcome {
            Some(WaitOutcome::Failed { reason }) => assert!(reason.contains("no longer exists")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn transient_errors_keep_polling_and_deadline_times_out() {
        let mut t = tracker();
        t.observe(
            Err(ClientError::Timeout {
                after: Duration::from_secs(1),
            }),
            REQUESTED,
            false,
        );
        assert_eq!(t.outcome, None);
        t.observe(
            Err(ClientError::DeadlineExceeded { last_error: None }),
            REQUESTED,
            false,
        );
        match &t.outcome {
            Some(WaitOutcome::TimedOut { last_status }) => {
                assert!(
                    last_status.contains("no answer within 1 s"),
                    "{last_status}"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn api_times() {
        assert_eq!(parse_api_time("2026-01-01T12:00:00Z"), Some(REQUESTED));
        assert_eq!(parse_api_time("2026-01-01T20:00:00+08:00"), Some(REQUESTED));
        assert_eq!(parse_api_time("2026-01-01 12:00:00"), Some(REQUESTED));
        assert!(parse_api_time("2026-01-01T12:00:00.5").is_some());
        assert_eq!(parse_api_time("yesterday"), None);
    }

    #[test]
    fn report_helpers() {
        let report = WaitReport::default();
        assert!(report.all_ready());
        let report = WaitReport {
            servers: vec![
                ServerWait {
                    server_id: "a".into(),
                    outcome: WaitOutcome::Ready,
                    last_seen: None,
                    reboot_seen: true,
                },
                ServerWait {
                    server_id: "b".into(),
                    outcome: WaitOutcome::Cancelled,
                    last_seen: None,
                    reboot_seen: false,
                },
            ],
            requests_sent: 2,
        };
        assert!(!report.all_ready());
        assert_eq!(report.outcome("b"), Some(&WaitOutcome::Cancelled));
        assert_eq!(report.not_ready().count(), 1);
    }
}
