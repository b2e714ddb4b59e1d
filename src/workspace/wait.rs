//! Waiting until rebooted servers are ready again.
//!
//! Each pending server is polled by ID (`GET .../app-servers/{id}`) in rounds: all pending
//! servers once (at most `max_concurrency` requests in flight), then a pause that starts at
//! `initial_interval` and doubles up to `max_interval`.
//!
//! A server is **ready** when `vm_status` is ACTIVE and no task is in progress (`task_status`
//! absent, empty or `"null"`) **and** one of these proves the reboot is behind it rather than
//! not yet started (right after the request is accepted a server can still look ACTIVE and idle):
//! - it was seen in a reboot state (`vm_status` REBOOT / HARD_REBOOT, or a `task_status`
//!   starting with `reboot`) by an earlier or the same poll; or
//! - its `update_time` is later than the reboot request time (the service's clock against
//!   ours: a client clock running ahead only delays this proof, and the next two cover it); or
//! - `settle` has passed since the wait started: a reboot that never showed any sign for that
//!   long is taken as finished. Call the wait right after the reboot request.
//!
//! `vm_status` ERROR or SHUTOFF, or a 404, ends the wait for that server as failed.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::client::Client;
use crate::workspace::error::ClientError;
use crate::workspace::readiness::{self, Condition};
use crate::workspace::wire::AppServer;

/// How to poll. Tests use milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// Pause after the first polling round; doubles each round.
    pub initial_interval: Duration,
    /// Longest pause between rounds.
    pub max_interval: Duration,
    /// After this long since the wait started, an ACTIVE idle server counts as rebooted even
    /// if no sign of the reboot was ever seen.
    pub settle: Duration,
    /// When the reboot was requested (compared with `update_time`); `None` means "when the wait
    /// starts".
    pub reboot_requested_at: Option<OffsetDateTime>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            initial_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(30),
            settle: Duration::from_secs(60),
            reboot_requested_at: None,
        }
    }
}

/// How the wait ended for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Ready,
    /// ERROR, SHUTOFF, gone (404) or a non-retryable API error.
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

/// The result of [`Client::wait_until_ready`], sorted by server ID.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitReport {
    pub servers: Vec<ServerWait>,
    /// HTTP attempts sent, retries included.
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

struct Tracker {
    id: String,
    outcome: Option<WaitOutcome>,
    last_seen: Option<AppServer>,
    last_error: Option<ClientError>,
    reboot_seen: bool,
}

impl Tracker {
    fn last_status(&self) -> String {
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

    fn observe(
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
    pub async fn wait_until_ready(
        &self,
        server_ids: &[String],
        options: &WaitOptions,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> WaitReport {
        let started = Instant::now();
        let requested_at = options
            .reboot_requested_at
            .unwrap_or_else(OffsetDateTime::now_utc);
        let mut ids: Vec<&String> = server_ids.iter().collect();
        ids.sort();
        ids.dedup();
        let mut trackers: Vec<Tracker> = ids
            .into_iter()
            .map(|id| Tracker {
                id: id.clone(),
                outcome: None,
                last_seen: None,
                last_error: None,
                reboot_seen: false,
            })
            .collect();
        let concurrency = self.config().max_concurrency.max(1);
        let mut interval = options.initial_interval;
        let mut requests_sent = 0usize;

        loop {
            let pending: Vec<usize> = (0..trackers.len())
                .filter(|&i| trackers[i].outcome.is_none())
                .collect();
            if pending.is_empty() {
                break;
            }
            if cancel.is_cancelled() {
                finish_pending(&mut trackers, |_| WaitOutcome::Cancelled);
                break;
            }
            if Instant::now() >= deadline {
                finish_pending(&mut trackers, |t| WaitOutcome::TimedOut {
                    last_status: t.last_status(),
                });
                break;
            }
            let polls: Vec<(usize, _)> = stream::iter(pending)
                .map(|i| {
                    let id = trackers[i].id.clone();
                    async move { (i, self.get_server_attempted(&id, cancel, deadline).await) }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            for (i, attempted) in polls {
                requests_sent += attempted.sent;
                let settled = started.elapsed() >= options.settle;
                trackers[i].observe(attempted.result, requested_at, settled);
            }
            if trackers.iter().all(|t| t.outcome.is_some()) {
                break;
            }
            let now = Instant::now();
            let pause = interval.min(deadline.saturating_duration_since(now));
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(pause) => {}
            }
            interval = interval
                .saturating_mul(2)
                .min(options.max_interval.max(options.initial_interval));
        }

        WaitReport {
            servers: trackers
                .into_iter()
                .map(|t| ServerWait {
                    outcome: t.outcome.unwrap_or(WaitOutcome::Cancelled),
                    server_id: t.id,
                    last_seen: t.last_seen,
                    reboot_seen: t.reboot_seen,
                })
                .collect(),
            requests_sent,
        }
    }
}

fn finish_pending(trackers: &mut [Tracker], outcome: impl Fn(&Tracker) -> WaitOutcome) {
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
        Tracker {
            id: "s".into(),
            outcome: None,
            last_seen: None,
            last_error: None,
            reboot_seen: false,
        }
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
