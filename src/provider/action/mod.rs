//! The `workspace_app_server_reboot` action (Terraform 1.14): the same reboot as the resource
//! of the same name, run by `terraform apply -invoke=action.workspace_app_server_reboot.NAME`
//! or from a resource's `lifecycle { action_trigger { … } }`, keeping no state.
//!
//! - `model`: the configuration, declared with the resource's own attribute declarations, plus
//!   `timeout`.
//! - `execute`: the reboot itself (requests, then waiting), shared with the resource and told
//!   to an observer as it happens.
//! - `progress`: the observer that turns those events into progress lines for the CLI.
//!
//! Rules:
//! - Planning validates only (the framework's PlanAction): no API call.
//! - Invoking reboots every listed server; the one Completed event carries no diagnostics on
//!   success, and on failure the resource's diagnostics (failed requests with the API's words,
//!   servers not ready with their state, a summary) whose last sentence says what invoking again
//!   does: an action keeps no state, so it reboots every listed server again.
//! - StopProvider cancels the context's token: requests not yet sent are not sent, waits end at
//!   once, and Completed says "Interrupted" and lists what was and was not done.

pub mod execute;
pub mod model;
pub mod progress;

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;

use super::reboot::report::{failure_diagnostics_then, list, Outcome};
use super::reboot::validate::parse_timeout;
use super::ClientState;
use crate::framework::{Action, Context};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::ActionProgress;
use crate::provider::duration::format_go_duration;
use crate::provider::reboot::preflight::{check_servers, Refusal};
use crate::workspace::rollout::{self, RolloutEvent, RolloutPlan, RolloutReport};
use crate::workspace::RebootType;
use model::RebootActionConfig;
use progress::Reporter;

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
        let servers: BTreeSet<String> = config
            .server_ids
            .known()
            .and_then(|ids| ids.iter().map(|id| id.known().cloned()).collect())
            .ok_or_else(|| broken("server_ids"))?;
        let reboot_type = config
            .r#type
            .known()
            .and_then(|t| t.parse::<RebootType>().ok())
            .ok_or_else(|| broken("type"))?;
        let wait = *config
            .wait_for_ready
            .known()
            .ok_or_else(|| broken("wait_for_ready"))?;
        let timeout = config
            .timeout
            .known()
            .and_then(|text| parse_timeout(text).ok())
            .ok_or_else(|| broken("timeout"))?;
        Ok(Job {
            servers: servers.into_iter().collect(),
            reboot_type,
            wait,
            timeout,
        })
    }
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
        let reporter = Reporter::new(
            progress,
            &job.reboot_type.to_string(),
            job.wait,
            job.timeout,
        );
        let started = tokio::time::Instant::now();
        // The same pre-flight as the resource's: a typo or a frozen server among the IDs stops
        // the action before any reboot request.
        reporter.say(format!(
            "Checking {} server(s) before rebooting.",
            job.servers.len()
        ));
        if let Err(refusal) = check_servers(
            &session.poller,
            &job.servers,
            &context.cancel,
            started + job.timeout,
        )
        .await
        {
            return match refusal {
                Refusal::Problems(diagnostic) => {
                    diagnostic.at(AttributePath::attribute("server_ids")).into()
                }
                Refusal::Lookup(error) => Diagnostic::error(
                    "Pre-flight check failed",
                    format!(
                        "Before rebooting, the action looks up the {} listed server(s); that \
                         lookup did not finish, so no reboot request was sent at all: {error}",
                        job.servers.len()
                    ),
                )
                .into(),
            };
        }
        let plan = RolloutPlan {
            wait_for_ready: job.wait,
            wait: session.wait_options.clone(),
            ..RolloutPlan::new(job.servers.clone(), job.reboot_type)
        };
        let tell = |event: RolloutEvent| reporter.say(event.to_string());
        let report = rollout::run(
            &session.poller,
            &plan,
            &tell,
            &context.cancel,
            started + job.timeout,
        )
        .await;
        let interrupted = context.cancel.is_cancelled();
        reporter.finish();
        let done: BTreeSet<String> = report.done().map(str::to_owned).collect();
        tracing::info!(
            servers = job.servers.len(),
            done = done.len(),
            interrupted,
            "workspace_app_server_reboot action: finished"
        );
        if done.len() == job.servers.len() {
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
