//! The progress lines an invoked action streams to the CLI, written for a person reading CI
//! logs:
//!
//! - one line before the first request (how many servers, how many requests, what comes next);
//! - one line per reboot request as it ends: accepted, failed (with the API's error) or not
//!   sent;
//! - one line when waiting starts, then "17/40 servers ready" whenever the count changed, at
//!   most once every [`MIN_GAP`] (a change inside the gap is told when the gap has passed),
//!   and a "still waiting" line after [`HEARTBEAT`] without any change, so a quiet log does not
//!   look hung;
//! - one line at once for each server that ended its wait without becoming ready (failed or
//!   timed out: the Completed event's diagnostics repeat them), since those are rare and urgent;
//! - the final count, when the last line did not already say it.
//!
//! [`ReadyMeter`] decides about the count lines from the times it is given, so its rate rules
//! are tested without a clock.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::execute::{BatchEnd, Observer};
use crate::protocol::provider::ActionProgress;
use crate::provider::duration::format_go_duration;
use crate::workspace::{ClientError, ServerWait, WaitOutcome};

/// Shortest pause between two "N/M servers ready" lines.
pub const MIN_GAP: Duration = Duration::from_secs(5);
/// Longest silence while waiting: then a line says what is still awaited.
pub const HEARTBEAT: Duration = Duration::from_secs(60);
/// Pending server IDs named in a "still waiting" line.
const NAMED_PENDING: usize = 5;

/// When to tell the ready count.
#[derive(Debug)]
pub struct ReadyMeter {
    total: usize,
    ready: usize,
    failed: usize,
    /// The count the last line told.
    told: (usize, usize),
    last_line: Instant,
}

impl ReadyMeter {
    /// Waiting for `total` servers starts `now` (a line has just said so).
    pub fn new(total: usize, now: Instant) -> Self {
        Self {
            total,
            ready: 0,
            failed: 0,
            told: (0, 0),
            last_line: now,
        }
    }

    pub fn ended(&mut self, ready: bool) {
        if ready {
            self.ready += 1;
        } else {
            self.failed += 1;
        }
    }

    /// The line due at `now`, if any: a changed count once the gap has passed, else a
    /// heartbeat after a long silence.
    pub fn due(&mut self, now: Instant, pending: &[String]) -> Option<String> {
        let since = now.saturating_duration_since(self.last_line);
        if self.changed() && since >= MIN_GAP {
            return Some(self.tell(now));
        }
        if since >= HEARTBEAT && !pending.is_empty() {
            let mut line = format!("{} Still waiting for {}", self.tell(now), pending.len());
            let named: Vec<&str> = pending
                .iter()
                .take(NAMED_PENDING)
                .map(String::as_str)
                .collect();
            line.push_str(&format!(": {}", named.join(", ")));
            if pending.len() > NAMED_PENDING {
                line.push_str(&format!(" and {} more", pending.len() - NAMED_PENDING));
            }
            line.push('.');
            return Some(line);
        }
        None
    }

    /// The final count, unless the last line already told it.
    pub fn last(&mut self, now: Instant) -> Option<String> {
        self.changed().then(|| self.tell(now))
    }

    fn changed(&self) -> bool {
        (self.ready, self.failed) != self.told
    }

    fn tell(&mut self, now: Instant) -> String {
        self.told = (self.ready, self.failed);
        self.last_line = now;
        let mut line = format!("{}/{} servers ready", self.ready, self.total);
        if self.failed > 0 {
            line.push_str(&format!(
                ", {} not ready (failed or timed out)",
                self.failed
            ));
        }
        line.push('.');
        line
    }
}

/// Turns execution events into progress lines.
pub struct Reporter {
    progress: ActionProgress,
    reboot_type: String,
    wait: bool,
    timeout: Duration,
    state: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    meter: Option<ReadyMeter>,
    pending: Vec<String>,
}

impl Reporter {
    pub fn new(progress: ActionProgress, reboot_type: &str, wait: bool, timeout: Duration) -> Self {
        Self {
            progress,
            reboot_type: reboot_type.to_owned(),
            wait,
            timeout,
            state: Mutex::new(Waiting::default()),
        }
    }

    pub fn say(&self, line: impl Into<String>) {
        self.progress.send(line);
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // A poisoned lock only means an earlier line panicked; the counts are still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The final count, if the last line did not tell it.
    pub fn finish(&self) {
        let line = self
            .lock_state()
            .meter
            .as_mut()
            .and_then(|meter| meter.last(Instant::now()));
        if let Some(line) = line {
            self.say(line);
        }
    }
}

impl Observer for Reporter {
    fn starting(&self, servers: usize, batches: usize) {
        let then = if self.wait {
            format!(
                "then waiting until they are ready again (timeout {})",
                format_go_duration(self.timeout)
            )
        } else {
            "not waiting for them to be ready (wait_for_ready = false)".to_owned()
        };
        self.say(format!(
            "Rebooting {servers} server(s) ({}) in {batches} request(s) of at most 20; {then}.",
            self.reboot_type
        ));
    }

    fn batch(&self, index: usize, batches: usize, ids: &[String], end: BatchEnd<'_>) {
        let range = match (ids.first(), ids.last()) {
            (Some(first), Some(last)) if ids.len() > 1 => format!("{first} … {last}"),
            (Some(only), _) => only.clone(),
            _ => String::new(),
        };
        let count = ids.len();
        self.say(match end {
            BatchEnd::Accepted => {
                format!("Reboot request {index}/{batches} accepted: {count} server(s), {range}.")
            }
            BatchEnd::Failed(failure) => format!(
                "Reboot request {index}/{batches} failed for {count} server(s), {range}: {}.",
                short_error(&failure.error)
            ),
            BatchEnd::NotSent => format!(
                "Reboot request {index}/{batches} not sent ({count} server(s), {range}): \
                 stopped or out of time first."
            ),
        });
    }

    fn waiting(&self, servers: &[String]) {
        self.say(format!(
            "Reboot accepted for {} server(s); waiting until they are ready again.",
            servers.len()
        ));
        let mut state = self.lock_state();
        state.meter = Some(ReadyMeter::new(servers.len(), Instant::now()));
        state.pending = servers.to_vec();
    }

    fn server(&self, server: &ServerWait) {
        let problem = match &server.outcome {
            WaitOutcome::Ready | WaitOutcome::Cancelled => None,
            WaitOutcome::Failed { reason } => Some(format!(
                "{} did not become ready: {reason}.",
                server.server_id
            )),
            WaitOutcome::TimedOut { last_status } => Some(format!(
                "{} not ready when the timeout ran out ({last_status}).",
                server.server_id
            )),
        };
        {
            let mut state = self.lock_state();
            if let Some(meter) = state.meter.as_mut() {
                // A cancelled wait is neither: the Completed event tells the interruption.
                if server.outcome != WaitOutcome::Cancelled {
                    meter.ended(server.outcome == WaitOutcome::Ready);
                }
            }
            state.pending.retain(|id| id != &server.server_id);
        }
        if let Some(line) = problem {
            self.say(line);
        }
        self.tick();
    }

    fn tick(&self) {
        let line = {
            let mut state = self.lock_state();
            let Waiting { meter, pending } = &mut *state;
            meter.as_mut().and_then(|m| m.due(Instant::now(), pending))
        };
        if let Some(line) = line {
            self.say(line);
        }
    }
}

/// The API's own words when there are any, else the error.
fn short_error(error: &ClientError) -> String {
    match error.api_error() {
        Some(api) => format!(
            "HTTP {} {}: {}",
            api.status,
            api.error_code.as_deref().unwrap_or("(no error_code)"),
            api.error_msg.trim_end_matches('.')
        ),
        None => error.to_string().trim_end_matches('.').to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("srv-{i:04}")).collect()
    }

    #[test]
    fn a_count_is_told_on_change_at_most_once_per_gap() {
        let start = Instant::now();
        let mut meter = ReadyMeter::new(40, start);
        let pending = ids(40);
        assert_eq!(meter.due(start + Duration::from_secs(1), &pending), None);
        meter.ended(true);
        // Changed, but inside the gap: held back…
        assert_eq!(meter.due(start + Duration::from_secs(2), &pending), None);
        meter.ended(true);
        // …and told once the gap has passed, with the latest count.
        let at = start + MIN_GAP;
        assert_eq!(
            meter.due(at, &pending).as_deref(),
            Some("2/40 servers ready.")
        );
        // No change: nothing, however often asked (short of the heartbeat).
        for s in 1..30 {
            assert_eq!(meter.due(at + Duration::from_secs(s), &pending), None);
        }
        meter.ended(false);
        let later = at + MIN_GAP + Duration::from_millis(1);
        assert_eq!(
            meter.due(later, &pending).as_deref(),
            Some("2/40 servers ready, 1 not ready (failed or timed out).")
        );
    }

    #[test]
    fn silence_gets_a_heartbeat_naming_some_pending_servers() {
        let start = Instant::now();
        let mut meter = ReadyMeter::new(40, start);
        let pending = ids(7);
        assert_eq!(meter.due(start + HEARTBEAT / 2, &pending), None);
        let line = meter
            .due(start + HEARTBEAT, &pending)
            .expect("a heartbeat after a minute of silence");
        assert_eq!(
            line,
            "0/40 servers ready. Still waiting for 7: srv-0001, srv-0002, srv-0003, srv-0004, \
             srv-0005 and 2 more."
        );
        // The heartbeat counts as a line: the next one is a heartbeat later.
        assert_eq!(meter.due(start + HEARTBEAT + MIN_GAP, &pending), None);
    }

    #[test]
    fn the_last_count_is_told_once() {
        let start = Instant::now();
        let mut meter = ReadyMeter::new(2, start);
        meter.ended(true);
        meter.ended(true);
        assert_eq!(meter.last(start).as_deref(), Some("2/2 servers ready."));
        assert_eq!(meter.last(start), None);
    }
}
