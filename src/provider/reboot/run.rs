//! The run step of a reboot apply: send the reboot requests, then wait for the servers when
//! asked, all under one deadline and the provider's stop signal.
//!
//! Kept to this one small function on purpose: the rolling (wave) engine of
//! `workspace::rollout` is meant to replace it whole, taking the same inputs and giving a
//! [`Ran`]. The wait goes through the process's one [`Poller`](crate::workspace::Poller), so
//! every resource waiting in the same apply shares its polling rounds.

use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::job::{Job, Targets};
use crate::provider::Session;
use crate::workspace::{RebootReport, WaitOptions, WaitReport};

/// What running a job produced.
#[derive(Debug)]
pub struct Ran {
    /// When the reboot was requested: the time recorded in `rebooted_at`.
    pub requested_at: OffsetDateTime,
    pub report: RebootReport,
    /// `None` when waiting was not asked, or nothing was rebooted.
    pub wait: Option<WaitReport>,
    /// Terraform asked the provider to stop.
    pub interrupted: bool,
}

pub async fn run(
    session: &Session,
    job: &Job,
    targets: &Targets,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Ran {
    let requested_at = OffsetDateTime::now_utc();
    tracing::info!(
        servers = targets.to_reboot.len(),
        already_done = targets.done_before.len(),
        reboot_type = %job.reboot_type,
        wait = job.wait,
        "workspace_app_server_reboot: rebooting"
    );
    let report = if targets.to_reboot.is_empty() {
        RebootReport::default()
    } else {
        session
            .client
            .batch_reboot(&targets.to_reboot, job.reboot_type, cancel, deadline)
            .await
    };
    let wait = if job.wait && !report.rebooted.is_empty() {
        let options = WaitOptions {
            reboot_requested_at: Some(requested_at),
            ..session.wait_options.clone()
        };
        Some(
            session
                .poller
                .wait_until_ready(&report.rebooted, &options, cancel, deadline)
                .await,
        )
    } else {
        None
    };
    Ran {
        requested_at,
        report,
        wait,
        interrupted: cancel.is_cancelled(),
    }
}
