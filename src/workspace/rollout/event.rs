//! What a rollout tells a person while it runs: one typed event per step, whose `Display` is
//! the line to show (the resource logs it at INFO, the action streams it as progress).

use std::fmt;
use std::time::Duration;

use super::plan::OnTimeout;

/// One step of a rollout. Waves are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutEvent {
    /// Every listed server was looked up and none is a problem.
    PreflightPassed {
        servers: usize,
        waves: usize,
        /// Servers not up at the pre-flight: they ride along without counting.
        already_unavailable: usize,
    },
    /// Some servers must not be rebooted; nothing was sent. One line per problem.
    PreflightFailed {
        problems: Vec<String>,
    },
    WaveStarted {
        wave: usize,
        waves: usize,
        server_ids: Vec<String>,
    },
    /// The wave's servers not already in maintenance were put into it.
    MaintenanceOn {
        wave: usize,
        server_ids: Vec<String>,
        /// Servers of the wave that were in maintenance already (left as they are).
        already: usize,
    },
    /// Sessions still open on the wave's servers (on change).
    Draining {
        wave: usize,
        sessions: u64,
        servers: usize,
    },
    /// No session is left on the wave's servers.
    Drained {
        wave: usize,
    },
    /// The drain's timeout passed with sessions open; `action` says what comes next.
    DrainTimedOut {
        wave: usize,
        sessions: u64,
        servers: usize,
        action: OnTimeout,
    },
    LogoffSent {
        wave: usize,
        sessions: usize,
        servers: usize,
        delay: Duration,
    },
    /// The logoff wait ended with sessions still open; the reboot goes ahead.
    LogoffIncomplete {
        wave: usize,
        sessions: u64,
    },
    /// One reboot request of a wave (at most 20 IDs) ended; told for every request of the
    /// wave, in request order, once the wave's requests are done.
    RebootRequest {
        wave: usize,
        /// Numbered from 1 within the wave.
        request: usize,
        requests: usize,
        server_ids: Vec<String>,
        outcome: RequestOutcome,
    },
    RebootSent {
        wave: usize,
        accepted: usize,
        failed: usize,
        requests: usize,
    },
    /// Servers of the whole rollout seen ready so far (on change, at most every
    /// `progress_every`, and at each wave's end).
    Ready {
        ready: usize,
        total: usize,
    },
    /// Servers of the wave that ended their wait without becoming ready (failed or out of
    /// time; a cancelled wait is not told here): `server: why`, one per server.
    NotReady {
        wave: usize,
        servers: Vec<String>,
    },
    WaveFinished {
        wave: usize,
        waves: usize,
    },
    WaveFailed {
        wave: usize,
        waves: usize,
        reason: String,
    },
    /// Servers the rollout had put into maintenance are out of it again.
    MaintenanceRestored {
        server_ids: Vec<String>,
    },
    /// Taking them out failed: they are still in maintenance.
    MaintenanceRestoreFailed {
        server_ids: Vec<String>,
        error: String,
    },
    Finished {
        rebooted: usize,
        total: usize,
    },
}

/// How one reboot request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    Accepted,
    /// Refused or unanswered: the API's own words when there are any.
    Failed {
        error: String,
    },
    /// Not sent: stopped or out of time first.
    NotSent,
}

/// `first … last` for a batch of IDs (one ID alone).
pub fn id_range(ids: &[String]) -> String {
    match (ids.first(), ids.last()) {
        (Some(first), Some(last)) if ids.len() > 1 => format!("{first} … {last}"),
        (Some(only), _) => only.clone(),
        _ => String::new(),
    }
}

/// `a, b, c` or `a, b, c and 7 more`.
pub fn id_list(ids: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    text
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

fn count(n: usize, one: &str, many: &str) -> String {
    plural(u64::try_from(n).unwrap_or(u64::MAX), one, many)
}

/// `300 s` or `5m` style: whole minutes when exact, else seconds.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else if d.subsec_millis() == 0 || secs >= 10 {
        format!("{secs}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl fmt::Display for RolloutEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutEvent::PreflightPassed {
                servers,
                waves,
                already_unavailable,
            } => {
                write!(
                    f,
                    "pre-flight: {} OK, {}",
                    count(*servers, "server", "servers"),
                    count(*waves, "wave", "waves")
                )?;
                if *already_unavailable > 0 {
                    write!(
                        f,
                        " ({} not up already, rebooted without counting against max_unavailable)",
                        already_unavailable
                    )?;
                }
                Ok(())
            }
            RolloutEvent::PreflightFailed { problems } => write!(
                f,
                "pre-flight: {} must not be rebooted, nothing was sent: {}",
                count(problems.len(), "server", "servers"),
                problems.join("; ")
            ),
            RolloutEvent::WaveStarted {
                wave,
                waves,
                server_ids,
            } => write!(
                f,
                "wave {wave}/{waves} started: {} ({})",
                count(server_ids.len(), "server", "servers"),
                id_list(server_ids)
            ),
            RolloutEvent::MaintenanceOn {
                wave,
                server_ids,
                already,
            } => {
                write!(
                    f,
                    "wave {wave}: maintenance mode on for {}",
                    count(server_ids.len(), "server", "servers")
                )?;
                if !server_ids.is_empty() {
                    write!(f, " ({})", id_list(server_ids))?;
                }
                if *already > 0 {
                    write!(f, "; {already} already in maintenance stay so")?;
                }
                Ok(())
            }
            RolloutEvent::Draining {
                wave,
                sessions,
                servers,
            } => write!(
                f,
                "wave {wave}: draining, {} open on {}",
                plural(*sessions, "session", "sessions"),
                count(*servers, "server", "servers")
            ),
            RolloutEvent::Drained { wave } => write!(f, "wave {wave}: drained, no session open"),
            RolloutEvent::DrainTimedOut {
                wave,
                sessions,
                servers,
                action,
            } => {
                let next = match action {
                    OnTimeout::Reboot => "rebooting anyway",
                    OnTimeout::Logoff => "logging the users off",
                    OnTimeout::Fail => "stopping the rollout",
                };
                write!(
                    f,
                    "wave {wave}: drain timeout with {} open on {}: {next}",
                    plural(*sessions, "session", "sessions"),
                    count(*servers, "server", "servers")
                )
            }
            RolloutEvent::LogoffSent {
                wave,
                sessions,
                servers,
                delay,
            } => write!(
                f,
                "wave {wave}: logoff message sent to {} on {}; logoff in {}",
                count(*sessions, "session", "sessions"),
                count(*servers, "server", "servers"),
                human_duration(*delay)
            ),
            RolloutEvent::LogoffIncomplete { wave, sessions } => write!(
                f,
                "wave {wave}: {} still open after the logoff delay; rebooting",
                plural(*sessions, "session", "sessions")
            ),
            RolloutEvent::RebootRequest {
                wave,
                request,
                requests,
                server_ids,
                outcome,
            } => {
                let servers = count(server_ids.len(), "server", "servers");
                let range = id_range(server_ids);
                match outcome {
                    RequestOutcome::Accepted => write!(
                        f,
                        "wave {wave}: reboot request {request}/{requests} accepted: {servers} \
                         ({range})"
                    ),
                    RequestOutcome::Failed { error } => write!(
                        f,
                        "wave {wave}: reboot request {request}/{requests} failed for {servers} \
                         ({range}): {error}"
                    ),
                    RequestOutcome::NotSent => write!(
                        f,
                        "wave {wave}: reboot request {request}/{requests} not sent ({servers}, \
                         {range}): stopped or out of time first"
                    ),
                }
            }
            RolloutEvent::RebootSent {
                wave,
                accepted,
                failed,
                requests,
            } => {
                write!(
                    f,
                    "wave {wave}: reboot requested for {} ({})",
                    count(*accepted, "server", "servers"),
                    count(*requests, "request", "requests")
                )?;
                if *failed > 0 {
                    write!(f, "; {failed} failed")?;
                }
                Ok(())
            }
            RolloutEvent::Ready { ready, total } => write!(f, "{ready}/{total} servers ready"),
            RolloutEvent::NotReady { wave, servers } => write!(
                f,
                "wave {wave}: {} did not become ready: {}",
                count(servers.len(), "server", "servers"),
                servers.join("; ")
            ),
            RolloutEvent::WaveFinished { wave, waves } => {
                write!(f, "wave {wave}/{waves} finished: every server ready")
            }
            RolloutEvent::WaveFailed {
                wave,
                waves,
                reason,
            } => write!(f, "wave {wave}/{waves} failed: {reason}"),
            RolloutEvent::MaintenanceRestored { server_ids } => write!(
                f,
                "maintenance mode off again for {} ({})",
                count(server_ids.len(), "server", "servers"),
                id_list(server_ids)
            ),
            RolloutEvent::MaintenanceRestoreFailed { server_ids, error } => write!(
                f,
                "could not take {} out of maintenance mode ({}): {error}",
                count(server_ids.len(), "server", "servers"),
                id_list(server_ids)
            ),
            RolloutEvent::Finished { rebooted, total } => {
                write!(f, "done: {rebooted}/{total} servers rebooted")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_well() {
        let ids: Vec<String> = (1..=7).map(|i| format!("srv-{i}")).collect();
        assert_eq!(
            RolloutEvent::WaveStarted {
                wave: 2,
                waves: 4,
                server_ids: ids.clone()
            }
            .to_string(),
            "wave 2/4 started: 7 servers (srv-1, srv-2, srv-3, srv-4, srv-5 and 2 more)"
        );
        assert_eq!(
            RolloutEvent::Draining {
                wave: 1,
                sessions: 12,
                servers: 3
            }
            .to_string(),
            "wave 1: draining, 12 sessions open on 3 servers"
        );
        assert_eq!(
            RolloutEvent::Ready {
                ready: 17,
                total: 40
            }
            .to_string(),
            "17/40 servers ready"
        );
        assert_eq!(
            RolloutEvent::LogoffSent {
                wave: 1,
                sessions: 1,
                servers: 1,
                delay: Duration::from_secs(300)
            }
            .to_string(),
            "wave 1: logoff message sent to 1 session on 1 server; logoff in 5m"
        );
        assert_eq!(human_duration(Duration::from_secs(90)), "90s");
        assert_eq!(human_duration(Duration::from_millis(20)), "20ms");
    }
}
