//! The run step of a reboot apply: the rollout engine (`workspace::rollout`) reboots the
//! servers left to reboot — in waves and drained first when the configuration asks, all at
//! once otherwise — under one deadline and the provider's stop signal, and waits for them when
//! asked. Every step it reports is logged at INFO (`TF_LOG=info` shows them), so a long
//! rollout can be followed; when it ends, so are the process's request figures per API so far
//! (requests, 429 answers, time waited for the budget).
//!
//! The wait goes through the process's one [`Poller`](crate::workspace::Poller), so every
//! resource waiting in the same apply shares its polling rounds. The pre-flight before this
//! step looked the servers up; the engine plans its waves from that lookup instead of looking
//! again.

use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::job::{Job, Targets};
use crate::provider::Session;
use crate::workspace::preflight::Preflight;
use crate::workspace::rollout::{self, RolloutEvent, RolloutReport};

/// What running a job produced.
#[derive(Debug)]
pub struct Ran {
    /// When the first reboot was requested (when this step started, if none was): the time
    /// recorded in `rebooted_at`.
    pub requested_at: OffsetDateTime,
    pub report: RolloutReport,
    /// Terraform asked the provider to stop.
    pub interrupted: bool,
}

pub async fn run(
    session: &Session,
    job: &Job,
    targets: &Targets,
    checked: Preflight,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Ran {
    let started = OffsetDateTime::now_utc();
    tracing::info!(
        servers = targets.to_reboot.len(),
        already_done = targets.done_before.len(),
        reboot_type = %job.reboot_type,
        wait = job.wait,
        "workspace_app_server_reboot: rebooting"
    );
    let plan = job.rolling.plan(
        targets.to_reboot.clone(),
        job.server_ids.len(),
        job.reboot_type,
        job.wait,
        session.wait_options.clone(),
    );
    let log = |event: RolloutEvent| tracing::info!("workspace_app_server_reboot: {event}");
    let report = rollout::run_checked(
        &session.poller,
        &plan,
        Some(checked),
        &log,
        cancel,
        deadline,
    )
    .await;
    session.client.log_api_stats();
    Ran {
        requested_at: report.first_requested_at().unwrap_or(started),
        report,
        interrupted: cancel.is_cancelled(),
    }
}
