//! User sessions on a simulated server, and the per-server history tests and demos read.
//!
//! Like the reboot phases, sessions are computed from timestamps when a server is read, so
//! no timers run. Every change to a server (maintenance, reboot, logoff, forced status) first
//! brings its sessions up to that moment, so between two such moments the server's
//! maintenance mode is constant and the reboot's times are known. The rules:
//!
//! - **Start.** A server starts with `SessionConfig::per_server` open sessions (or its own
//!   `session_count`). When `arrival_ms` is set, a new session arrives on it every
//!   `arrival_ms` (on the multiples since the server was created) while it *accepts
//!   sessions* — not in maintenance, not frozen, its agent registered (`vm_status` ACTIVE,
//!   idle), no reboot accepted and unfinished — and holds fewer than `max_per_server`.
//! - **End.** A session ends by itself `lifetime_ms` after it started (initial sessions are
//!   staggered: the i-th of n ends after `lifetime_ms`·i/n), or never when `lifetime_ms` is
//!   unset; at `logoff` time plus `delay_time` (one second of delay lasts
//!   `logoff_second_ms`); or it is **killed** when a reboot takes the VM down (the start of
//!   the rebooting phase) while it is open. Whichever comes first counts.
//! - Every fourth session (by number) is Disconnected, the others Active; both are "open".
//!   Ended sessions are not listed (the simulator keeps only counts of them).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::config::SessionConfig;
use crate::workspace::wire::{session_state, RebootType};

/// Hands out session numbers, unique across the simulator.
#[derive(Debug, Default)]
pub(crate) struct SessionIds {
    next: u64,
}

impl SessionIds {
    fn take(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// One open session.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub number: u64,
    pub started_at: OffsetDateTime,
    natural_end: Option<OffsetDateTime>,
    logoff_at: Option<OffsetDateTime>,
}

impl Session {
    pub fn id(&self) -> String {
        format!("session-{:08}", self.number)
    }

    pub fn login_user(&self) -> String {
        format!("user{:05}", self.number)
    }

    pub fn state(&self) -> &'static str {
        if self.number % 4 == 0 {
            session_state::DISCONNECTED
        } else {
            session_state::ACTIVE
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    Natural,
    Logoff,
    Killed,
}

/// When the server accepts new sessions, from its state between two changes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acceptance {
    /// Not in maintenance, not frozen, settled state healthy (before any reboot).
    pub open_before_reboot: bool,
    /// Not in maintenance and not frozen.
    pub not_blocked: bool,
    /// The reboot in progress: accepted at, done at (agent registered), ends in error.
    pub reboot: Option<(OffsetDateTime, OffsetDateTime, bool)>,
}

impl Acceptance {
    fn at(&self, t: OffsetDateTime) -> bool {
        match self.reboot {
            Some((accepted, done, error)) if t >= accepted => {
                self.not_blocked && !error && t >= done
            }
            _ => self.open_before_reboot,
        }
    }
}

/// Sessions of one server and the counts of ended ones.
#[derive(Clone, Debug)]
pub(crate) struct SessionBook {
    pub open: Vec<Session>,
    /// Arrivals are settled up to this moment.
    arrivals_checked: OffsetDateTime,
    /// Arrival slots are multiples of `arrival_ms` from here.
    base: OffsetDateTime,
    pub ended_naturally: u64,
    pub logged_off: u64,
    pub killed: u64,
    /// Removed by a forced `session_count`.
    pub removed: u64,
}

fn after_ms(at: OffsetDateTime, ms: u64) -> OffsetDateTime {
    at + std::time::Duration::from_millis(ms)
}

/// At most this many arrival slots are looked at in one step: after a long quiet time only
/// the latest ones can still matter.
const MAX_SLOTS_PER_STEP: i128 = 10_000;

impl SessionBook {
    pub fn new(
        initial: u32,
        now: OffsetDateTime,
        config: &SessionConfig,
        ids: &mut SessionIds,
    ) -> Self {
        let mut book = Self {
            open: Vec::new(),
            arrivals_checked: now,
            base: now,
            ended_naturally: 0,
            logged_off: 0,
            killed: 0,
            removed: 0,
        };
        for i in 0..initial {
            let natural_end = config.lifetime_ms.map(|lifetime| {
                let share = lifetime.saturating_mul(u64::from(i) + 1) / u64::from(initial);
                after_ms(now, share.max(1))
            });
            book.open.push(Session {
                number: ids.take(),
                started_at: now,
                natural_end,
                logoff_at: None,
            });
        }
        book
    }

    fn end_of(
        session: &Session,
        kill_at: Option<OffsetDateTime>,
    ) -> Option<(OffsetDateTime, Cause)> {
        let mut end: Option<(OffsetDateTime, Cause)> =
            session.natural_end.map(|t| (t, Cause::Natural));
        if let Some(t) = session.logoff_at {
            if end.is_none_or(|(e, _)| t < e) {
                end = Some((t, Cause::Logoff));
            }
        }
        if let Some(t) = kill_at.filter(|k| session.started_at < *k) {
            if end.is_none_or(|(e, _)| t < e) {
                end = Some((t, Cause::Killed));
            }
        }
        end
    }

    fn open_at(&self, t: OffsetDateTime, kill_at: Option<OffsetDateTime>) -> u32 {
        let open = self
            .open
            .iter()
            .filter(|s| s.started_at <= t && Self::end_of(s, kill_at).is_none_or(|(e, _)| e > t))
            .count();
        u32::try_from(open).unwrap_or(u32::MAX)
    }

    /// Brings the sessions up to `now`: arrivals, then ends. Returns how many were killed by
    /// the reboot whose VM goes down at `kill_at`.
    pub fn advance(
        &mut self,
        now: OffsetDateTime,
        acceptance: Acceptance,
        kill_at: Option<OffsetDateTime>,
        config: &SessionConfig,
        ids: &mut SessionIds,
    ) -> u64 {
        if let Some(every) = config.arrival_ms.filter(|ms| *ms > 0) {
            let every_ns = i128::from(every) * 1_000_000;
            let since = (self.arrivals_checked - self.base).whole_nanoseconds();
            let until = (now - self.base).whole_nanoseconds();
            let mut slot = since.div_euclid(every_ns) + 1;
            let last = until.div_euclid(every_ns);
            slot = slot.max(last - MAX_SLOTS_PER_STEP);
            while slot <= last {
                let nanos = i64::try_from(slot * every_ns).unwrap_or(i64::MAX);
                let t = self.base + time::Duration::nanoseconds(nanos);
                if acceptance.at(t) && self.open_at(t, kill_at) < config.max_per_server {
                    self.open.push(Session {
                        number: ids.take(),
                        started_at: t,
                        natural_end: config.lifetime_ms.map(|ms| after_ms(t, ms.max(1))),
                        logoff_at: None,
                    });
                }
                slot += 1;
            }
        }
        if now > self.arrivals_checked {
            self.arrivals_checked = now;
        }
        let mut killed = 0;
        let mut kept = Vec::with_capacity(self.open.len());
        for session in self.open.drain(..) {
            match Self::end_of(&session, kill_at) {
                Some((end, cause)) if end <= now => match cause {
                    Cause::Natural => self.ended_naturally += 1,
                    Cause::Logoff => self.logged_off += 1,
                    Cause::Killed => killed += 1,
                },
                _ => kept.push(session),
            }
        }
        self.open = kept;
        self.killed += killed;
        killed
    }

    /// Schedules the logoff of the open sessions among `ids` at `at` (an earlier scheduled
    /// logoff stays). Returns the sessions found.
    pub fn logoff(&mut self, ids: &HashSet<String>, at: OffsetDateTime) -> Vec<Session> {
        let mut found = Vec::new();
        for session in &mut self.open {
            if ids.contains(&session.id()) {
                session.logoff_at = Some(session.logoff_at.map_or(at, |t| t.min(at)));
                found.push(session.clone());
            }
        }
        found
    }

    /// Forces the number of open sessions: new ones start `now`, surplus ones (the newest)
    /// are removed without counting as ended, logged off or killed.
    pub fn force_count(
        &mut self,
        count: u32,
        now: OffsetDateTime,
        config: &SessionConfig,
        ids: &mut SessionIds,
    ) {
        let count = count as usize;
        while self.open.len() > count {
            self.open.pop();
            self.removed += 1;
        }
        while self.open.len() < count {
            self.open.push(Session {
                number: ids.take(),
                started_at: now,
                natural_end: config.lifetime_ms.map(|ms| after_ms(now, ms.max(1))),
                logoff_at: None,
            });
        }
    }
}

/// A server entering (`true`) or leaving (`false`) maintenance mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceChange {
    pub maintain_status: bool,
    /// RFC 3339 UTC with milliseconds.
    pub at: String,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
}

/// One accepted reboot of a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebootEvent {
    pub reboot_type: RebootType,
    pub accepted_at: String,
    pub accepted_at_ms: u64,
    /// Whether the server was in maintenance mode when the reboot was accepted.
    pub maintain_status: bool,
    /// Open sessions when the reboot was accepted.
    pub sessions_open: u32,
    /// Sessions still open when the VM went down.
    pub sessions_killed: u64,
    /// When the agent registered again (or the reboot was cut short by another reboot or a
    /// forced status); `None` while it is unavailable (rebooting, or in ERROR after it).
    pub available_again_at: Option<String>,
    pub available_again_at_ms: Option<u64>,
    pub ended_in_error: bool,
}

/// A logoff notice delivered to one session's user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoffMessage {
    pub session_id: String,
    pub login_user: String,
    pub message_type: u8,
    pub title: Option<String>,
    pub message: Option<String>,
    /// Seconds, as sent.
    pub delay_time: u64,
    pub at: String,
    pub at_ms: u64,
}

/// What happened to one server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHistory {
    pub id: String,
    pub machine_name: String,
    /// In maintenance mode now.
    #[serde(default)]
    pub maintain_status: bool,
    /// Changes of maintenance mode (a server created in maintenance mode records none).
    pub maintenance: Vec<MaintenanceChange>,
    pub reboots: Vec<RebootEvent>,
    pub logoff_messages: Vec<LogoffMessage>,
    pub sessions_open: u32,
    pub sessions_killed: u64,
    pub sessions_logged_off: u64,
    pub sessions_ended: u64,
}

/// The fleet at a glance: availability, sessions, and every server's history. Unavailable
/// means: a reboot was accepted and the agent has not registered again (a server left in
/// ERROR by a reboot stays unavailable until it is repaired or rebooted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetReport {
    /// The largest number of servers unavailable at the same moment since the start.
    pub max_unavailable: u32,
    /// When that number was first reached.
    pub max_unavailable_at: Option<String>,
    pub unavailable_now: u32,
    pub sessions_open: u64,
    /// Sessions still open when a reboot took their server down.
    pub sessions_killed: u64,
    pub sessions_logged_off: u64,
    /// Sessions that ended by themselves.
    pub sessions_ended: u64,
    pub logoff_messages: u64,
    pub reboots: u64,
    pub servers: Vec<ServerHistory>,
}

impl FleetReport {
    pub fn server(&self, id: &str) -> Option<&ServerHistory> {
        self.servers.iter().find(|server| server.id == id)
    }

    /// The report as a text timeline with at most `width` time columns (see
    /// [`timeline`](super::timeline)).
    pub fn timeline(&self, width: usize) -> String {
        super::timeline::render(self, width)
    }
}

/// The most intervals `[start, end)` open at once, and when first reached; an interval
/// without end is open from its start on. At equal times ends come before starts, so a
/// reboot restarted while in progress counts once.
pub(crate) fn max_overlap(
    intervals: &[(OffsetDateTime, Option<OffsetDateTime>)],
) -> (u32, Option<OffsetDateTime>) {
    let mut events: Vec<(OffsetDateTime, i32)> = Vec::with_capacity(intervals.len() * 2);
    for (start, end) in intervals {
        if end.is_some_and(|end| end <= *start) {
            continue;
        }
        events.push((*start, 1));
        if let Some(end) = end {
            events.push((*end, -1));
        }
    }
    events.sort();
    let (mut open, mut best, mut at) = (0i32, 0i32, None);
    for (t, delta) in events {
        open += delta;
        if open > best {
            best = open;
            at = Some(t);
        }
    }
    (u32::try_from(best).unwrap_or(0), at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn overlap_counts_restarts_once() {
        let t = |ms: u64| OffsetDateTime::UNIX_EPOCH + Duration::from_millis(ms);
        let (max, at) = max_overlap(&[
            (t(0), Some(t(10))),
            (t(10), Some(t(20))),
            (t(5), Some(t(15))),
            (t(30), None),
        ]);
        assert_eq!((max, at), (2, Some(t(5))));
        assert_eq!(max_overlap(&[]).0, 0);
        assert_eq!(
            max_overlap(&[(t(1), None), (t(2), None), (t(3), Some(t(4)))]).0,
            3
        );
    }

    #[test]
    fn sessions_arrive_end_get_logged_off_and_killed() {
        let start = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |ms: u64| start + Duration::from_millis(ms);
        let config = SessionConfig {
            per_server: 2,
            lifetime_ms: Some(100),
            arrival_ms: Some(30),
            max_per_server: 3,
            logoff_second_ms: 10,
        };
        let mut ids = SessionIds::default();
        let mut book = SessionBook::new(2, start, &config, &mut ids);
        let open = Acceptance {
            open_before_reboot: true,
            not_blocked: true,
            reboot: None,
        };
        // Arrivals at 30 (3 open, the cap), none at 60; the first initial one ends at 50,
        // so one arrives at 60 again.
        book.advance(at(60), open, None, &config, &mut ids);
        assert_eq!(book.open.len(), 3);
        assert_eq!(book.ended_naturally, 1);
        // Logoff of one session at 70: gone at 70.
        let id: HashSet<String> = [book.open[0].id()].into();
        assert_eq!(book.logoff(&id, at(70)).len(), 1);
        book.advance(at(70), open, None, &config, &mut ids);
        assert_eq!(book.logged_off, 1);
        // A reboot accepted at 80 that takes the VM down at 85 kills what is open then; no
        // arrivals during it.
        let rebooting = Acceptance {
            reboot: Some((at(80), at(200), false)),
            ..open
        };
        let open_then = book.open.len() as u64;
        let killed = book.advance(at(190), rebooting, Some(at(85)), &config, &mut ids);
        assert_eq!(killed, open_then);
        assert!(book.open.is_empty());
        // Maintenance: nothing arrives.
        let blocked = Acceptance {
            open_before_reboot: false,
            not_blocked: false,
            reboot: None,
        };
        book.advance(at(1_000), blocked, None, &config, &mut ids);
        assert!(book.open.is_empty());
    }
}
