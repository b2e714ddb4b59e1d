//! The steps of [`run`](super::run): pre-flight, then per wave drain, reboot, wait and
//! restore, with the maintenance clean-up that runs whatever happens.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::event::{RequestOutcome, RolloutEvent};
use super::plan::{plan_waves, DrainPlan, OnTimeout, RolloutPlan};
use super::report::{
    RolloutFailure, RolloutReport, ServerOutcome, ServerReport, WaveFailure, WaveReport, WaveState,
};
use crate::workspace::error::ClientError;
use crate::workspace::fleet::{BatchReport, LogoffNotice};
use crate::workspace::poller::{Looked, Poller, WaitProgress};
use crate::workspace::preflight::Preflight;
use crate::workspace::readiness;
use crate::workspace::reboot::{plan_batches, RebootReport};
use crate::workspace::wait::{WaitOptions, WaitOutcome};
use crate::workspace::wire::{message_type, AppServer, MAX_LOGOFF_DELAY_SECS};

pub(super) type Progress<'a> = &'a (dyn Fn(RolloutEvent) + Send + Sync);

pub(super) struct Engine<'a> {
    pub poller: &'a Poller,
    pub plan: &'a RolloutPlan,
    pub progress: Progress<'a>,
    pub cancel: &'a CancellationToken,
    pub deadline: Instant,
    servers: BTreeMap<String, ServerReport>,
    /// Servers seen ready so far, over all waves.
    ready: usize,
    total: usize,
    waves_planned: usize,
    left_in_maintenance: BTreeSet<String>,
}

/// Session counts of the servers that still have sessions.
type Remaining = Vec<(String, u64)>;

impl<'a> Engine<'a> {
    pub fn new(
        poller: &'a Poller,
        plan: &'a RolloutPlan,
        progress: Progress<'a>,
        cancel: &'a CancellationToken,
        deadline: Instant,
    ) -> Engine<'a> {
        let servers: BTreeMap<String, ServerReport> = plan
            .ordered_ids()
            .into_iter()
            .map(|id| {
                let report = ServerReport {
                    server_id: id.clone(),
                    wave: 0,
                    outcome: ServerOutcome::NotStarted,
                    requested_at: None,
                    last_seen: None,
                    left_in_maintenance: false,
                };
                (id, report)
            })
            .collect();
        let total = servers.len();
        Engine {
            poller,
            plan,
            progress,
            cancel,
            deadline,
            servers,
            ready: 0,
            total,
            waves_planned: 0,
            left_in_maintenance: BTreeSet::new(),
        }
    }

    fn emit(&self, event: RolloutEvent) {
        tracing::debug!(event = %event, "workspace rollout");
        (self.progress)(event);
    }

    fn finish(self, waves: Vec<WaveReport>, failure: Option<RolloutFailure>) -> RolloutReport {
        let mut servers: Vec<ServerReport> = self.servers.into_values().collect();
        for server in &mut servers {
            server.left_in_maintenance = self.left_in_maintenance.contains(&server.server_id);
        }
        RolloutReport {
            servers,
            waves,
            failure,
            cancelled: self.cancel.is_cancelled(),
            left_in_maintenance: self.left_in_maintenance.into_iter().collect(),
            requests_sent: 0,
        }
    }

    fn set_outcome(&mut self, id: &str, outcome: ServerOutcome) {
        if let Some(server) = self.servers.get_mut(id) {
            server.outcome = outcome;
        }
    }

    fn saw(&mut self, server: &AppServer) {
        if let Some(report) = self.servers.get_mut(&server.id) {
            report.last_seen = Some(server.clone());
        }
    }

    pub async fn run(mut self, checked: Option<Preflight>) -> RolloutReport {
        if let Err(error) = self.plan.check() {
            return self.finish(Vec::new(), Some(RolloutFailure::InvalidPlan(error)));
        }
        let ordered: Vec<String> = self.servers.keys().cloned().collect();
        if ordered.is_empty() {
            return self.finish(Vec::new(), None);
        }

        // 1. Pre-flight: every server, before anything is sent (unless the caller's own
        // pre-flight covered them all).
        let checked =
            checked.filter(|p| p.is_clear() && ordered.iter().all(|id| p.servers.contains_key(id)));
        let preflight = match checked {
            Some(preflight) => preflight,
            None => match self
                .poller
                .preflight(&ordered, self.cancel, self.deadline)
                .await
            {
                Ok(preflight) => preflight,
                Err(error) => {
                    return self.finish(Vec::new(), Some(RolloutFailure::PreflightLookup(error)));
                }
            },
        };
        for server in preflight.servers.values() {
            self.saw(server);
        }
        if !preflight.is_clear() {
            let problems: Vec<String> =
                preflight.problems.iter().map(ToString::to_string).collect();
            self.emit(RolloutEvent::PreflightFailed {
                problems: problems.clone(),
            });
            return self.finish(Vec::new(), Some(RolloutFailure::Preflight { problems }));
        }

        // 2. Waves: servers not up now are unavailable already and do not count.
        let up = |id: &str| {
            preflight
                .servers
                .get(id)
                .is_some_and(|s| readiness::assess(s).is_up())
        };
        let already_unavailable = ordered.iter().filter(|id| !up(id)).count();
        let waves = plan_waves(&ordered, self.plan.budget(), up);
        self.waves_planned = waves.len();
        self.emit(RolloutEvent::PreflightPassed {
            servers: ordered.len(),
            waves: waves.len(),
            already_unavailable,
        });
        let mut reports: Vec<WaveReport> = waves
            .iter()
            .enumerate()
            .map(|(i, ids)| WaveReport {
                number: i + 1,
                server_ids: ids.clone(),
                state: WaveState::NotStarted,
            })
            .collect();
        for report in &reports {
            for id in &report.server_ids {
                if let Some(server) = self.servers.get_mut(id) {
                    server.wave = report.number;
                }
            }
        }

        let mut failure = None;
        for (index, ids) in waves.iter().enumerate() {
            let number = index + 1;
            match self.run_wave(number, ids).await {
                Ok(()) => {
                    reports[index].state = WaveState::Done;
                    self.emit(RolloutEvent::WaveFinished {
                        wave: number,
                        waves: self.waves_planned,
                    });
                }
                Err(reason) => {
                    for id in ids {
                        let not_sent = self
                            .servers
                            .get(id)
                            .is_some_and(|s| s.outcome == ServerOutcome::NotStarted);
                        if not_sent {
                            self.set_outcome(
                                id,
                                ServerOutcome::NotRebooted {
                                    reason: reason.to_string(),
                                },
                            );
                        }
                    }
                    reports[index].state = WaveState::Failed {
                        reason: reason.to_string(),
                    };
                    self.emit(RolloutEvent::WaveFailed {
                        wave: number,
                        waves: self.waves_planned,
                        reason: reason.to_string(),
                    });
                    failure = Some(RolloutFailure::Wave {
                        wave: number,
                        waves: self.waves_planned,
                        reason,
                    });
                    break;
                }
            }
        }
        if failure.is_none() {
            let rebooted = self
                .servers
                .values()
                .filter(|s| s.outcome.reboot_accepted())
                .count();
            self.emit(RolloutEvent::Finished {
                rebooted,
                total: self.total,
            });
        }
        self.finish(reports, failure)
    }

    /// One wave; whatever happens, the servers it put into maintenance are taken out again.
    async fn run_wave(&mut self, wave: usize, ids: &[String]) -> Result<(), WaveFailure> {
        self.emit(RolloutEvent::WaveStarted {
            wave,
            waves: self.waves_planned,
            server_ids: ids.to_vec(),
        });
        let mut ours: Vec<String> = Vec::new();
        let result = self.wave_steps(wave, ids, &mut ours).await;
        let restored = if ours.is_empty() {
            Ok(())
        } else {
            self.restore(&ours).await
        };
        result.and(restored)
    }

    fn stopped(&self, rebooting: bool) -> Option<WaveFailure> {
        if self.cancel.is_cancelled() {
            Some(WaveFailure::Cancelled { rebooting })
        } else if Instant::now() >= self.deadline {
            Some(WaveFailure::DeadlineExceeded { rebooting })
        } else {
            None
        }
    }

    /// Why the rollout stopped, when it was asked to stop or ran out of time. Not cancelled
    /// means out of time, even when the clock has not quite reached the deadline: the client
    /// gives up on a request that cannot finish before it.
    fn stop_reason(&self, rebooting: bool) -> WaveFailure {
        self.stopped(rebooting)
            .unwrap_or(WaveFailure::DeadlineExceeded { rebooting })
    }

    async fn wave_steps(
        &mut self,
        wave: usize,
        ids: &[String],
        ours: &mut Vec<String>,
    ) -> Result<(), WaveFailure> {
        if let Some(stop) = self.stopped(false) {
            return Err(stop);
        }
        if let Some(drain) = &self.plan.drain {
            self.drain(wave, drain, ids, ours).await?;
        }
        if let Some(stop) = self.stopped(false) {
            return Err(stop);
        }

        // Reboot.
        let requested_at = OffsetDateTime::now_utc();
        let client = self.poller.client();
        let report = client
            .batch_reboot(ids, self.plan.reboot_type, self.cancel, self.deadline)
            .await;
        for id in &report.rebooted {
            if let Some(server) = self.servers.get_mut(id) {
                server.requested_at = Some(requested_at);
                server.outcome = ServerOutcome::Rebooted;
            }
        }
        for failed in &report.failed {
            for id in &failed.server_ids {
                self.set_outcome(id, ServerOutcome::RequestFailed(failed.error.clone()));
            }
        }
        self.tell_requests(wave, ids, &report);
        self.emit(RolloutEvent::RebootSent {
            wave,
            accepted: report.rebooted.len(),
            failed: report.failed_ids().count(),
            requests: report.requests_sent,
        });
        let request_failure = report
            .failed
            .first()
            .map(|first| WaveFailure::RebootRequest {
                server_ids: report.failed_ids().map(str::to_string).collect(),
                error: first.error.to_string(),
            });
        if !self.plan.wait_for_ready {
            return match request_failure {
                Some(failure) => Err(failure),
                None if report.not_attempted.is_empty() => Ok(()),
                // Only a stop keeps a batch from being sent.
                None => Err(self.stop_reason(!report.rebooted.is_empty())),
            };
        }

        // Wait.
        let options = WaitOptions {
            reboot_requested_at: Some(requested_at),
            ..self.plan.wait.clone()
        };
        let ready_before = self.ready;
        let total = self.total;
        let every = self.plan.progress_every;
        let progress = self.progress;
        // (last count shown, when)
        let shown: Mutex<(usize, Option<Instant>)> = Mutex::new((ready_before, None));
        let observe = |p: WaitProgress| {
            let ready = ready_before + p.ready;
            let mut shown = shown
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = shown.1.is_none_or(|at| at.elapsed() >= every);
            if ready != shown.0 && due {
                *shown = (ready, Some(Instant::now()));
                progress(RolloutEvent::Ready { ready, total });
            }
        };
        let waited = self
            .poller
            .wait_until_ready_observed(
                &report.rebooted,
                &options,
                self.cancel,
                self.deadline,
                &observe,
            )
            .await;
        let mut not_ready: Vec<(String, WaitOutcome)> = Vec::new();
        for server in &waited.servers {
            if let Some(seen) = &server.last_seen {
                self.saw(seen);
            }
            if server.outcome == WaitOutcome::Ready {
                self.ready += 1;
                self.set_outcome(&server.server_id, ServerOutcome::Ready);
            } else {
                not_ready.push((server.server_id.clone(), server.outcome.clone()));
                self.set_outcome(
                    &server.server_id,
                    ServerOutcome::NotReady(server.outcome.clone()),
                );
            }
        }
        let last_shown = shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
        if self.ready != last_shown {
            self.emit(RolloutEvent::Ready {
                ready: self.ready,
                total,
            });
        }
        let told: Vec<String> = not_ready
            .iter()
            .filter(|(_, outcome)| *outcome != WaitOutcome::Cancelled)
            .map(|(id, outcome)| format!("{id}: {}", ServerOutcome::NotReady(outcome.clone())))
            .collect();
        if !told.is_empty() {
            self.emit(RolloutEvent::NotReady {
                wave,
                servers: told,
            });
        }
        if let Some(failure) = request_failure {
            return Err(failure);
        }
        if not_ready.is_empty() && report.not_attempted.is_empty() {
            return Ok(());
        }
        if self.cancel.is_cancelled() || !report.not_attempted.is_empty() {
            return Err(self.stop_reason(!report.rebooted.is_empty()));
        }
        if not_ready
            .iter()
            .all(|(_, outcome)| matches!(outcome, WaitOutcome::TimedOut { .. }))
            && Instant::now() >= self.deadline
        {
            return Err(WaveFailure::DeadlineExceeded { rebooting: true });
        }
        let details = not_ready
            .iter()
            .map(|(id, outcome)| format!("{id}: {}", ServerOutcome::NotReady(outcome.clone())))
            .collect::<Vec<_>>()
            .join("; ");
        Err(WaveFailure::NotReady {
            server_ids: not_ready.into_iter().map(|(id, _)| id).collect(),
            details,
        })
    }

    /// One event per reboot request of the wave, in request order. The client sent them as
    /// [`plan_batches`] splits the wave (the same rule, so the same batches).
    fn tell_requests(&self, wave: usize, ids: &[String], report: &RebootReport) {
        let batches = plan_batches(ids).batches;
        let requests = batches.len();
        for (index, server_ids) in batches.into_iter().enumerate() {
            let outcome = if let Some(failed) = report
                .failed
                .iter()
                .find(|failed| failed.server_ids == server_ids)
            {
                RequestOutcome::Failed {
                    error: short_error(&failed.error),
                }
            } else if server_ids
                .first()
                .is_some_and(|id| report.not_attempted.contains(id))
            {
                RequestOutcome::NotSent
            } else {
                RequestOutcome::Accepted
            };
            self.emit(RolloutEvent::RebootRequest {
                wave,
                request: index + 1,
                requests,
                server_ids,
                outcome,
            });
        }
    }

    /// Maintenance on, wait for the sessions to end, then `on_timeout`.
    async fn drain(
        &mut self,
        wave: usize,
        drain: &DrainPlan,
        ids: &[String],
        ours: &mut Vec<String>,
    ) -> Result<(), WaveFailure> {
        // A fresh look: maintenance mode as it is now (not at the pre-flight) decides what is
        // ours to restore, and its session counts are the drain's first reading.
        let looked = self.look(ids).await?;
        let to_maintain: Vec<String> = ids
            .iter()
            .filter(|id| {
                looked
                    .get(*id)
                    .is_none_or(|s| s.maintain_status != Some(true))
            })
            .cloned()
            .collect();
        let already = ids.len() - to_maintain.len();
        let to_maintain_was_empty = to_maintain.is_empty();
        if !to_maintain.is_empty() {
            let client = self.poller.client();
            let report = client
                .set_maintenance(&to_maintain, true, self.cancel, self.deadline)
                .await;
            // A failed batch may have been applied: restoring a server that is not in
            // maintenance changes nothing, so every attempted one is ours to restore.
            ours.extend(report.done.iter().cloned());
            ours.extend(report.failed_ids().map(str::to_string));
            if !report.all_done() {
                if let Some(stop) = self.stopped(false) {
                    return Err(stop);
                }
                return Err(WaveFailure::MaintenanceOn {
                    server_ids: failed_of(&report),
                    error: first_error(&report),
                });
            }
        }
        self.emit(RolloutEvent::MaintenanceOn {
            wave,
            server_ids: to_maintain,
            already,
        });

        let until = (Instant::now() + drain.timeout).min(self.deadline);
        // A session may have arrived between the look and maintenance mode: read again then.
        let first = to_maintain_was_empty.then_some(looked);
        let remaining = self.watch_sessions(wave, ids, until, first).await?;
        if remaining.is_empty() {
            return Ok(());
        }
        if let Some(stop) = self.stopped(false) {
            return Err(stop);
        }
        self.emit(RolloutEvent::DrainTimedOut {
            wave,
            sessions: remaining.iter().map(|(_, n)| n).sum(),
            servers: remaining.len(),
            action: drain.on_timeout,
        });
        match drain.on_timeout {
            OnTimeout::Reboot => Ok(()),
            OnTimeout::Fail => Err(WaveFailure::SessionsRemain {
                sessions: remaining,
            }),
            OnTimeout::Logoff => self.logoff(wave, drain, ids, &remaining).await,
        }
    }

    /// Finds the sessions of the servers in `remaining`, logs them off with a warning, and
    /// waits up to the logoff delay plus the grace for them to end.
    async fn logoff(
        &mut self,
        wave: usize,
        drain: &DrainPlan,
        ids: &[String],
        remaining: &Remaining,
    ) -> Result<(), WaveFailure> {
        let mut machines: Vec<String> = Vec::new();
        for (id, _) in remaining {
            match self
                .servers
                .get(id)
                .and_then(|s| s.last_seen.as_ref())
                .and_then(|s| s.machine_name.clone())
                .filter(|name| !name.is_empty())
            {
                Some(name) => machines.push(name),
                None => tracing::warn!(
                    server_id = %id,
                    "workspace rollout: no machine_name, its sessions cannot be looked up"
                ),
            }
        }
        let client = self.poller.client();
        let concurrency = client.config().max_concurrency.max(1);
        let (cancel, deadline) = (self.cancel, self.deadline);
        let found: Vec<Result<Vec<String>, ClientError>> = stream::iter(machines)
            .map(|machine| async move {
                client
                    .open_sessions_on(&machine, cancel, deadline)
                    .await
                    .map(|sessions| sessions.into_iter().map(|s| s.id).collect())
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut sessions: Vec<String> = Vec::new();
        for result in found {
            match result {
                Ok(ids) => sessions.extend(ids),
                Err(error) => {
                    if let Some(stop) = self.stopped(false) {
                        return Err(stop);
                    }
                    return Err(WaveFailure::Logoff(format!(
                        "listing the sessions failed: {error}"
                    )));
                }
            }
        }
        if !sessions.is_empty() {
            let delay_secs = drain
                .logoff_delay
                .as_secs()
                .saturating_add(u64::from(drain.logoff_delay.subsec_nanos() > 0))
                .min(MAX_LOGOFF_DELAY_SECS);
            let notice = LogoffNotice {
                message_type: message_type::WARNING,
                title: Some(drain.title.clone()),
                message: drain.message.clone(),
                delay_secs,
            };
            let report = client
                .logoff_sessions(&sessions, &notice, self.cancel, self.deadline)
                .await;
            if !report.all_done() {
                if let Some(stop) = self.stopped(false) {
                    return Err(stop);
                }
                return Err(WaveFailure::Logoff(format!(
                    "{} of {} sessions: {}",
                    report.failed_ids().count() + report.not_attempted.len(),
                    sessions.len(),
                    first_error(&report)
                )));
            }
            self.emit(RolloutEvent::LogoffSent {
                wave,
                sessions: sessions.len(),
                servers: remaining.len(),
                delay: drain.logoff_delay,
            });
        }
        let until = (Instant::now() + drain.logoff_delay + drain.logoff_grace).min(self.deadline);
        let left = self.watch_sessions(wave, ids, until, None).await?;
        if !left.is_empty() {
            if let Some(stop) = self.stopped(false) {
                return Err(stop);
            }
            self.emit(RolloutEvent::LogoffIncomplete {
                wave,
                sessions: left.iter().map(|(_, n)| n).sum(),
            });
        }
        Ok(())
    }

    /// The wave's servers as they are now; any that could not be read fails the drain.
    async fn look(&mut self, ids: &[String]) -> Result<BTreeMap<String, AppServer>, WaveFailure> {
        let Looked { servers, .. } = self.poller.look(ids, self.cancel, self.deadline).await;
        let mut seen = BTreeMap::new();
        for (id, result) in servers {
            match result {
                Ok(server) => {
                    self.saw(&server);
                    seen.insert(id, server);
                }
                Err(error) => {
                    if let Some(stop) = self.stopped(false) {
                        return Err(stop);
                    }
                    return Err(WaveFailure::DrainLookup(error));
                }
            }
        }
        Ok(seen)
    }

    /// Reads the servers' `session_count` every polling interval until none has a session
    /// (empty result) or `until` passes (the servers still holding sessions).
    async fn watch_sessions(
        &mut self,
        wave: usize,
        ids: &[String],
        until: Instant,
        first: Option<BTreeMap<String, AppServer>>,
    ) -> Result<Remaining, WaveFailure> {
        let mut first = first;
        let mut last_shown: Option<(u64, usize)> = None;
        loop {
            let seen = match first.take() {
                Some(seen) => seen,
                None => self.look(ids).await?,
            };
            let remaining: Remaining = ids
                .iter()
                .filter_map(|id| {
                    let count = seen.get(id).and_then(|s| s.session_count).unwrap_or(0);
                    (count > 0).then(|| (id.clone(), count))
                })
                .collect();
            if remaining.is_empty() {
                if last_shown.is_some() {
                    self.emit(RolloutEvent::Drained { wave });
                }
                return Ok(remaining);
            }
            let now_shown = (remaining.iter().map(|(_, n)| n).sum(), remaining.len());
            if last_shown != Some(now_shown) {
                last_shown = Some(now_shown);
                self.emit(RolloutEvent::Draining {
                    wave,
                    sessions: now_shown.0,
                    servers: now_shown.1,
                });
            }
            if Instant::now() >= until {
                return Ok(remaining);
            }
            let next = (Instant::now() + self.plan.wait.interval).min(until);
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(WaveFailure::Cancelled { rebooting: false }),
                _ = tokio::time::sleep_until(next) => {}
            }
        }
    }

    /// Takes `ours` out of maintenance on a deadline of its own, also after a cancellation.
    async fn restore(&mut self, ours: &[String]) -> Result<(), WaveFailure> {
        let timeout = self
            .plan
            .drain
            .as_ref()
            .map_or(super::plan::DEFAULT_RESTORE_TIMEOUT, |d| d.restore_timeout);
        let own_cancel = CancellationToken::new();
        let report = self
            .poller
            .client()
            .set_maintenance(ours, false, &own_cancel, Instant::now() + timeout)
            .await;
        if !report.done.is_empty() {
            self.emit(RolloutEvent::MaintenanceRestored {
                server_ids: report.done.clone(),
            });
        }
        if report.all_done() {
            return Ok(());
        }
        let left = failed_of(&report);
        let error = first_error(&report);
        self.left_in_maintenance.extend(left.iter().cloned());
        self.emit(RolloutEvent::MaintenanceRestoreFailed {
            server_ids: left.clone(),
            error: error.clone(),
        });
        Err(WaveFailure::MaintenanceOff {
            server_ids: left,
            error,
        })
    }
}

/// The API's own words when there are any (status, `error_code`, `error_msg`), else the
/// client's message: short enough for one progress line.
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

/// The ids a batched call did not carry out: failed and never sent.
fn failed_of(report: &BatchReport) -> Vec<String> {
    let mut ids: Vec<String> = report
        .failed_ids()
        .map(str::to_string)
        .chain(report.not_attempted.iter().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn first_error(report: &BatchReport) -> String {
    match report.failed.first() {
        Some(failure) => failure.error.to_string(),
        None => "not sent before the deadline or cancellation".to_string(),
    }
}
