//! The `workspace_app_server_reboot` action (Terraform 1.14): the same reboot as the resource
//! of the same name, run by `terraform apply -invoke=action.workspace_app_server_reboot.NAME`
//! or from a resource's `lifecycle { action_trigger { … } }`, keeping no state.
//!
//! - `model`: the configuration, declared with the resource's own attribute declarations
//!   (`max_unavailable` and `drain` included), plus `timeout`.
//! - `progress`: turns the rollout engine's events into progress lines for the CLI.
//!
//! The reboot itself is the rollout engine's (`workspace::rollout`), the resource's too: one
//! implementation of batching, waves, draining and waiting.
//!
//! Rules:
//! - Validation (ValidateActionConfig, PlanAction, and again before invoking) checks the
//!   declarations, the resource's rules across attributes (`max_unavailable` and `drain` need
//!   `wait_for_ready = true`, errors at the attribute) and an explicit `timeout` too short for
//!   even one wave (error at `timeout`). PlanAction also warns about a drain without
//!   `max_unavailable`, as the resource's plan does. No API call.
//! - `timeout` unset: 30 minutes, grown to fit waves and a drain as the resource's default
//!   grows (see `model`).
//! - Invoking runs the same pre-flight as the resource, then the rollout; the one Completed
//!   event carries no diagnostics on success, and on failure the resource's diagnostics (failed
//!   requests with the API's words, the failed wave, servers not ready with their state,
//!   servers left in maintenance, a summary) whose last sentence says what invoking again
//!   does: an action keeps no state, so it reboots every listed server again.
//! - StopProvider cancels the context's token: requests not yet sent are not sent, waits and
//!   drains end at once, servers the rollout put into maintenance are taken out of it again,
//!   and Completed says "Interrupted" and lists what was and was not done.

pub mod model;
pub mod progress;

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::MissedTickBehavior;

use super::reboot::model::known_ids;
use super::reboot::report::{failure_diagnostics_then, list, Outcome};
use super::reboot::rolling::{self, drain_without_waves, Rolling};
use super::reboot::validate::parse_timeout;
use super::ClientState;
use crate::framework::{Action, Context, Value};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::ActionProgress;
use crate::provider::duration::format_go_duration;
use crate::provider::reboot::preflight::{check_servers, lookup_failed, Refusal};
use crate::workspace::rollout::{self, OnTimeout, RolloutEvent, RolloutReport};
use crate::workspace::RebootType;
use model::{RebootActionConfig, DEFAULT_ACTION_TIMEOUT};
use progress::{Reporter, HEARTBEAT_CHECK};

/// The action type name: the resource's, in the other name space.
pub const REBOOT_ACTION: &str = "workspace_app_server_reboot";

/// The action.
#[derive(Debug, Clone, Copy, Default)]
pub struct RebootAction;

/// The configuration, read once defaults are in.
struct Job {
    /// Sorted, without duplicates.
    servers: Vec<String>,
    reboot_type: RebootType,
    wait: bool,
    /// Waves and draining.
    rolling: Rolling,
    timeout: Duration,
}

impl Job {
    /// Validation ran before, so every error here is a bug (or a value still unknown, which
    /// Terraform never sends to InvokeAction).
    fn read(config: &RebootActionConfig) -> Result<Job, Diagnostic> {
        let broken = |what: &str| {
            Diagnostic::error(
                "Invalid action configuration",
                format!(
                    "The {what} of the configuration is not usable when the action is invoked; \
                     values must be known by then."
                ),
            )
        };
        let servers = known_ids(&config.server_ids).ok_or_else(|| broken("server_ids"))?;
        let reboot_type = config
            .r#type
            .known()
            .and_then(|t| t.parse::<RebootType>().ok())
            .ok_or_else(|| broken("type"))?;
        let wait = *config
            .wait_for_ready
            .known()
            .ok_or_else(|| broken("wait_for_ready"))?;
        let rolling = Rolling::read(&config.max_unavailable, &config.drain)?
            .ok_or_else(|| broken("max_unavailable or drain"))?;
        let timeout = match &config.timeout {
            Value::Null => rolling.default_timeout(servers.len(), DEFAULT_ACTION_TIMEOUT),
            Value::Known(text) => parse_timeout(text).map_err(|_| broken("timeout"))?,
            Value::Unknown => return Err(broken("timeout")),
        };
        Ok(Job {
            servers,
            reboot_type,
            wait,
            rolling,
            timeout,
        })
    }

    /// The first line: what this invocation is going to do.
    fn intent(&self) -> String {
        let mut line = format!(
            "Rebooting {} server(s) ({})",
            self.servers.len(),
            self.reboot_type
        );
        match self.rolling.max_unavailable {
            Some(budget) => line.push_str(&format!(
                " in waves of at most {} (max_unavailable = \"{budget}\")",
                budget.resolve(self.servers.len())
            )),
            None => line.push_str(" all at once"),
        }
        if let Some(drain) = &self.rolling.drain {
            let then = match drain.on_timeout {
                OnTimeout::Reboot => "rebooting anyway",
                OnTimeout::Logoff => "logging the users off",
                OnTimeout::Fail => "stopping",
            };
            line.push_str(&format!(
                ", each wave drained first (up to {}, then {then})",
                format_go_duration(drain.timeout)
            ));
        }
        if self.wait {
            line.push_str(", waiting until they are ready again");
        } else {
            line.push_str(", not waiting for them to be ready (wait_for_ready = false)");
        }
        line.push_str(&format!("; timeout {}.", format_go_duration(self.timeout)));
        line
    }
}

/// Rules across attributes: the resource's (`max_unavailable` and `drain` need
/// `wait_for_ready`), and an explicit `timeout` that cannot fit one wave. Values unknown yet
/// are left for later.
fn validate(config: &RebootActionConfig) -> Diagnostics {
    let mut diagnostics = rolling::rules(
        &config.max_unavailable,
        &config.drain,
        &config.wait_for_ready,
    );
    if diagnostics.has_errors() {
        return diagnostics;
    }
    let Some(timeout) = config.timeout.known().and_then(|t| parse_timeout(t).ok()) else {
        return diagnostics;
    };
    let (Ok(Some(rolling)), Some(servers)) = (
        Rolling::read(&config.max_unavailable, &config.drain),
        known_ids(&config.server_ids).map(|ids| ids.len()),
    ) else {
        return diagnostics;
    };
    if let Some(problem) = rolling.too_short(servers, timeout, "timeout") {
        diagnostics.push(problem.at(AttributePath::attribute("timeout")));
    }
    diagnostics
}

#[async_trait]
impl Action<ClientState> for RebootAction {
    type Config = RebootActionConfig;

    fn type_name(&self) -> &'static str {
        REBOOT_ACTION
    }

    fn description(&self) -> &'static str {
        "Reboots Workspace APP servers each time it is invoked, and waits until they are ready \
         again. Keeps no state: invoking it again reboots every listed server again."
    }

    fn validate(&self, config: &RebootActionConfig) -> Diagnostics {
        validate(config)
    }

    /// The resource's plan warning: a drain without waves drains every listed server at once.
    fn plan(&self, config: &RebootActionConfig) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        if let (Ok(Some(rolling)), Some(servers)) = (
            Rolling::read(&config.max_unavailable, &config.drain),
            known_ids(&config.server_ids).map(|ids| ids.len()),
        ) {
            if rolling.drain.is_some() && rolling.max_unavailable.is_none() {
                diagnostics.push(drain_without_waves(servers));
            }
        }
        diagnostics
    }

    async fn invoke(
        &self,
        context: &Context<ClientState>,
        config: RebootActionConfig,
        progress: ActionProgress,
    ) -> Diagnostics {
        let job = match Job::read(&config) {
            Ok(job) => job,
            Err(diagnostic) => return diagnostic.into(),
        };
        // The provider process's one session: its poller is shared with every resource and
        // every other action waiting in the same run.
        let session = match context.data.session() {
            Ok(session) => session,
            Err(diagnostic) => return diagnostic.into(),
        };
        let reporter = Reporter::new(progress, job.servers.len());
        let started = tokio::time::Instant::now();
        let deadline = started + job.timeout;
        reporter.say(job.intent());
        // The same pre-flight as the resource's: a typo or a frozen server among the IDs stops
        // the action before any reboot request, with the same diagnostic at `server_ids`.
        reporter.say(format!(
            "Checking {} server(s) before rebooting.",
            job.servers.len()
        ));
        let checked =
            match check_servers(&session.poller, &job.servers, &context.cancel, deadline).await {
                Ok(checked) => checked,
                Err(refusal) => {
                    return match refusal {
                        Refusal::Problems(diagnostic) => {
                            diagnostic.at(AttributePath::attribute("server_ids")).into()
                        }
                        Refusal::Lookup(error) => {
                            lookup_failed(&error, job.servers.len(), "timeout", job.timeout).into()
                        }
                    }
                }
            };
        let plan = job.rolling.plan(
            job.servers.clone(),
            job.servers.len(),
            job.reboot_type,
            job.wait,
            session.wait_options.clone(),
        );
        let tell = |event: RolloutEvent| reporter.event(&event);
        let rollout = rollout::run_checked(
            &session.poller,
            &plan,
            Some(checked),
            &tell,
            &context.cancel,
            deadline,
        );
        tokio::pin!(rollout);
        // A heartbeat beside the rollout, in the same task: a long quiet wait still shows
        // what it is waiting for.
        let mut ticks = tokio::time::interval(HEARTBEAT_CHECK);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let report = loop {
            tokio::select! {
                report = &mut rollout => break report,
                _ = ticks.tick() => reporter.tick(),
            }
        };
        let interrupted = context.cancel.is_cancelled();
        let done: BTreeSet<String> = report.done().map(str::to_owned).collect();
        tracing::info!(
            servers = job.servers.len(),
            done = done.len(),
            interrupted,
            "workspace_app_server_reboot action: finished"
        );
        // The process's request figures per API so far, for tuning `max_requests_per_second`.
        session.client.log_api_stats();
        if report.succeeded() && done.len() == job.servers.len() {
            let how = if job.wait {
                "rebooted and ready again"
            } else {
                "rebooted (not waited for)"
            };
            reporter.say(format!(
                "Done: {} server(s) {how} in {}.",
                done.len(),
                format_go_duration(tenths(started.elapsed()))
            ));
            return Diagnostics::new();
        }
        if interrupted {
            reporter.say("Interrupted: Terraform asked the provider to stop.");
        } else {
            reporter.say(format!(
                "Failed: {} of {} server(s) done in {}; the diagnostics say what went wrong.",
                done.len(),
                job.servers.len(),
                format_go_duration(tenths(started.elapsed()))
            ));
        }
        failure(&job, &report, interrupted, &done)
    }
}

/// The resource's diagnostics, ending with what invoking the action again does.
fn failure(
    job: &Job,
    report: &RolloutReport,
    interrupted: bool,
    done: &BTreeSet<String>,
) -> Diagnostics {
    let pending: Vec<String> = job
        .servers
        .iter()
        .filter(|id| !done.contains(*id))
        .cloned()
        .collect();
    let next = if done.is_empty() {
        "Invoking the action again tries the whole reboot again.".to_owned()
    } else if pending.is_empty() {
        format!(
            "Every listed server was rebooted; an action keeps no state, so invoking it again              reboots all {} of them again.",
            job.servers.len()
        )
    } else {
        format!(
            "An action keeps no state: invoking it again reboots all {} listed server(s) again, \
             including the {} already done. To reboot only the {} not done, invoke it with \
             server_ids = [{}].",
            job.servers.len(),
            done.len(),
            pending.len(),
            list(pending.iter().map(|id| format!("{id:?}")))
        )
    };
    let no_earlier_run = BTreeSet::new();
    failure_diagnostics_then(
        &Outcome {
            creating: false,
            listed: &job.servers,
            done_before: &no_earlier_run,
            rollout: report,
            waited: job.wait,
            interrupted,
            timeout_label: "timeout",
            timeout: job.timeout,
            pending: &pending,
        },
        &next,
    )
}

/// Rounded down to a tenth of a second, for a readable "1.2s".
fn tenths(elapsed: Duration) -> Duration {
    Duration::from_millis(elapsed.as_millis() as u64 / 100 * 100)
}
