//! The progress lines an invoked action streams to the CLI, written for a person reading CI
//! logs. They are the rollout engine's own steps ([`RolloutEvent`], whose `Display` is the
//! line; the resource logs the same text at INFO), told as sentences:
//!
//! - the pre-flight's verdict (how many servers, how many waves);
//! - per wave: started (which servers), maintenance mode on, "draining: N sessions open on M
//!   servers" when the count changes, drained or the drain's timeout and what follows, the
//!   logoff message sent, one line per reboot request (accepted, failed with the API's words,
//!   or not sent) and the wave's total, finished or failed (why), maintenance mode off again;
//! - "17/40 servers ready" as servers come back: the engine tells a changed count at most
//!   every few seconds (`RolloutPlan::progress_every`) and at each wave's end, never one line
//!   per poll;
//! - a "still …" line after [`HEARTBEAT`] without any line, saying what is awaited (draining
//!   or readiness, which wave, the ready count), so a quiet log does not look hung;
//! - the final line is the action's own (done in how long, or interrupted): the engine's
//!   "done" is left out.
//!
//! [`Narrator`] turns events and times into lines without a channel or a clock, so these rules
//! are tested directly.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::provider::ActionProgress;
use crate::workspace::rollout::RolloutEvent;

/// Longest silence while the rollout runs: then a line says what is still awaited.
pub const HEARTBEAT: Duration = Duration::from_secs(60);
/// How often the invocation asks whether a heartbeat is due.
pub const HEARTBEAT_CHECK: Duration = Duration::from_secs(5);

/// What the rollout is doing, for the heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Doing {
    Checking,
    Wave,
    Draining { sessions: u64, servers: usize },
    LoggingOff,
    Waiting,
}

/// Events (and silences) to lines.
#[derive(Debug)]
pub struct Narrator {
    doing: Doing,
    /// The current wave and the number of waves (0 before the first).
    wave: usize,
    waves: usize,
    ready: usize,
    total: usize,
    last_line: Instant,
}

impl Narrator {
    /// The rollout of `total` servers starts `now`.
    pub fn new(total: usize, now: Instant) -> Self {
        Self {
            doing: Doing::Checking,
            wave: 0,
            waves: 0,
            ready: 0,
            total,
            last_line: now,
        }
    }

    /// The line for `event` at `now`, if it gets one.
    pub fn line(&mut self, event: &RolloutEvent, now: Instant) -> Option<String> {
        match event {
            RolloutEvent::WaveStarted { wave, waves, .. } => {
                (self.wave, self.waves) = (*wave, *waves);
                self.doing = Doing::Wave;
            }
            RolloutEvent::Draining {
                sessions, servers, ..
            }
            | RolloutEvent::DrainTimedOut {
                sessions, servers, ..
            } => {
                self.doing = Doing::Draining {
                    sessions: *sessions,
                    servers: *servers,
                }
            }
            RolloutEvent::LogoffSent { .. } => self.doing = Doing::LoggingOff,
            RolloutEvent::RebootSent { .. } => self.doing = Doing::Waiting,
            RolloutEvent::Ready { ready, total } => {
                self.ready = *ready;
                self.total = *total;
            }
            // The action says the last word itself, with the time it took.
            RolloutEvent::Finished { .. } => return None,
            _ => {}
        }
        self.last_line = now;
        Some(sentence(&event.to_string()))
    }

    /// A "still …" line when nothing was told for [`HEARTBEAT`].
    pub fn heartbeat(&mut self, now: Instant) -> Option<String> {
        if now.saturating_duration_since(self.last_line) < HEARTBEAT {
            return None;
        }
        self.last_line = now;
        let ready = format!("{}/{} servers ready", self.ready, self.total);
        let (wave, waves) = (self.wave, self.waves);
        Some(match &self.doing {
            Doing::Checking => "Still looking the servers up before rebooting.".to_owned(),
            Doing::Wave => format!("Still on wave {wave}/{waves}; {ready}."),
            Doing::Draining { sessions, servers } => format!(
                "Still draining wave {wave}/{waves}: {sessions} session(s) were open on \
                 {servers} server(s) at the last change; {ready}."
            ),
            Doing::LoggingOff => format!(
                "Still waiting for the logged-off sessions of wave {wave}/{waves} to end; \
                 {ready}."
            ),
            Doing::Waiting => {
                format!("Still waiting for wave {wave}/{waves} to be ready; {ready}.")
            }
        })
    }
}

/// `wave 1: drained` → `Wave 1: drained.`
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut line: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !line.ends_with(['.', '!', '?']) {
        line.push('.');
    }
    line
}

/// Sends the lines.
pub struct Reporter {
    progress: ActionProgress,
    narrator: Mutex<Narrator>,
}

impl Reporter {
    pub fn new(progress: ActionProgress, servers: usize) -> Self {
        Self {
            progress,
            narrator: Mutex::new(Narrator::new(servers, Instant::now())),
        }
    }

    /// A line of the action's own.
    pub fn say(&self, line: impl Into<String>) {
        self.lock().last_line = Instant::now();
        self.progress.send(line);
    }

    /// The line for a rollout event, if any.
    pub fn event(&self, event: &RolloutEvent) {
        let line = self.lock().line(event, Instant::now());
        if let Some(line) = line {
            self.progress.send(line);
        }
    }

    /// The heartbeat, when due.
    pub fn tick(&self) {
        let line = self.lock().heartbeat(Instant::now());
        if let Some(line) = line {
            self.progress.send(line);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Narrator> {
        // A poisoned lock only means an earlier line panicked; the state is still usable.
        self.narrator
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::rollout::RequestOutcome;

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("srv-{i:04}")).collect()
    }

    #[test]
    fn events_become_sentences() {
        let start = Instant::now();
        let mut narrator = Narrator::new(40, start);
        let line = |n: &mut Narrator, e: RolloutEvent| n.line(&e, start);
        assert_eq!(
            line(
                &mut narrator,
                RolloutEvent::PreflightPassed {
                    servers: 40,
                    waves: 4,
                    already_unavailable: 0
                }
            )
            .as_deref(),
            Some("Pre-flight: 40 servers OK, 4 waves.")
        );
        assert_eq!(
            line(
                &mut narrator,
                RolloutEvent::RebootRequest {
                    wave: 2,
                    request: 1,
                    requests: 1,
                    server_ids: ids(10),
                    outcome: RequestOutcome::Accepted
                }
            )
            .as_deref(),
            Some("Wave 2: reboot request 1/1 accepted: 10 servers (srv-0001 … srv-0010).")
        );
        assert_eq!(
            line(
                &mut narrator,
                RolloutEvent::Ready {
                    ready: 17,
                    total: 40
                }
            )
            .as_deref(),
            Some("17/40 servers ready.")
        );
        // The action's own final line replaces the engine's.
        assert_eq!(
            line(
                &mut narrator,
                RolloutEvent::Finished {
                    rebooted: 40,
                    total: 40
                }
            ),
            None
        );
    }

    #[test]
    fn silence_gets_a_heartbeat_saying_what_is_awaited() {
        let start = Instant::now();
        let mut narrator = Narrator::new(40, start);
        narrator.line(
            &RolloutEvent::WaveStarted {
                wave: 2,
                waves: 4,
                server_ids: ids(10),
            },
            start,
        );
        narrator.line(
            &RolloutEvent::Draining {
                wave: 2,
                sessions: 12,
                servers: 3,
            },
            start,
        );
        assert_eq!(narrator.heartbeat(start + HEARTBEAT / 2), None);
        assert_eq!(
            narrator.heartbeat(start + HEARTBEAT).as_deref(),
            Some(
                "Still draining wave 2/4: 12 session(s) were open on 3 server(s) at the last \
                 change; 0/40 servers ready."
            )
        );
        // The heartbeat counts as a line: the next one is a heartbeat later.
        assert_eq!(narrator.heartbeat(start + HEARTBEAT + HEARTBEAT / 2), None);
        let later = start + HEARTBEAT * 2;
        narrator.line(
            &RolloutEvent::RebootSent {
                wave: 2,
                accepted: 10,
                failed: 0,
                requests: 1,
            },
            later,
        );
        narrator.line(
            &RolloutEvent::Ready {
                ready: 15,
                total: 40,
            },
            later,
        );
        assert_eq!(
            narrator.heartbeat(later + HEARTBEAT).as_deref(),
            Some("Still waiting for wave 2/4 to be ready; 15/40 servers ready.")
        );
    }

    #[test]
    fn lines_are_capitalised_and_end_with_a_full_stop() {
        assert_eq!(sentence("wave 1: drained"), "Wave 1: drained.");
        assert_eq!(sentence("17/40 servers ready"), "17/40 servers ready.");
        assert_eq!(sentence("Done."), "Done.");
    }
}
