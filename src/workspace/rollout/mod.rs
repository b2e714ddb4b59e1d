//! The rollout engine: reboots a list of servers in waves, each drained first when asked, and
//! reports what happened to every server. It knows nothing of Terraform: the
//! `workspace_app_server_reboot` resource and action both call [`run`] and turn its
//! [`RolloutEvent`]s into log lines or progress messages.
//!
//! **Pre-flight.** Before the first request that changes anything, every listed server is
//! looked up ([`Poller::preflight`]); any problem (missing, frozen, a dead end) stops the
//! rollout naming every problem server, and nothing is sent.
//!
//! **Wave order.** The distinct server IDs are rolled in ascending ID order (byte order of
//! the IDs; the list order the caller gives does not matter, since Terraform's `server_ids`
//! is a set). A wave takes the next servers in that order until it holds `max_unavailable`
//! servers that were **up** at the pre-flight (Up per [`readiness`](crate::workspace::readiness)).
//! Servers that were not up are unavailable already: they join the wave they fall into
//! without counting against the budget, since rebooting them takes nothing more away. So at
//! most `max_unavailable` servers that were available are taken away at once, and there are at
//! most ⌈servers / max_unavailable⌉ waves. `max_unavailable` is a count (`"10"`) or a
//! percentage (`"25%"`) of the listed servers ([`RolloutPlan::listed`], by default the
//! distinct `server_ids`), rounded down, at least 1. Without it the whole list is one wave.
//!
//! **A wave** is drained (when asked), rebooted, and waited for until every server is ready;
//! only then does the next start. A wave fails when any of its steps fails (see
//! [`WaveFailure`]); the rollout stops there, and the servers of later waves are untouched and
//! reported [`ServerOutcome::NotStarted`]. Waves and draining need `wait_for_ready`.
//!
//! **Drain** (per wave, before its reboot):
//! 1. One fresh look at the wave's servers; those not in maintenance mode *now* are put into
//!    it (`batch-maint`). Those are "ours"; servers already in maintenance stay as they are.
//! 2. Their `session_count` is read every polling interval (the poller's cheaper way: group
//!    pages or GETs) until every count is 0, for at most the drain `timeout`.
//! 3. Sessions left at the timeout: `on_timeout` `reboot` reboots anyway; `fail` stops the
//!    rollout listing the servers and their session counts (the wave is not rebooted);
//!    `logoff` lists the open sessions (Active, Disconnected, last 30 days) of each server by
//!    its `machine_name`, sends them a warning (`message_type` 1, `title`, `message`,
//!    `delay_time` = `logoff_delay` in whole seconds), waits up to `logoff_delay` plus a
//!    grace (a minute) for the sessions to end, and reboots. A failed session listing or
//!    logoff fails the wave rather than end sessions without the notice that was asked for.
//! 4. After the wave is ready, ours are taken out of maintenance again.
//!
//! **Maintenance clean-up.** Whatever ends a wave — success, failure, the rollout's deadline,
//! cancellation — the servers it put into maintenance are taken out again before [`run`]
//! returns, with a cancellation token and a deadline of their own
//! ([`DrainPlan::restore_timeout`]). If that fails, the report lists them in
//! [`RolloutReport::left_in_maintenance`] with [`RolloutReport::maintenance_advice`].
//!
//! **Time.** [`default_timeout`] and [`minimum_timeout`] size the caller's timeout; [`run`]
//! takes one deadline for the whole rollout. Cancelling stops at once: a reboot request is not
//! sent after it, waits end, and only the maintenance clean-up still runs.
//!
//! [`Poller::preflight`]: crate::workspace::poller::Poller::preflight

mod engine;
pub mod event;
pub mod plan;
pub mod report;

pub use event::{RequestOutcome, RolloutEvent};
pub use plan::{
    default_timeout, minimum_timeout, plan_waves, DrainPlan, MaxUnavailable, MaxUnavailableError,
    OnTimeout, OnTimeoutError, PlanError, RolloutPlan, DEFAULT_DRAIN_TIMEOUT, DEFAULT_LOGOFF_DELAY,
    DEFAULT_LOGOFF_TITLE,
};
pub use report::{
    RolloutFailure, RolloutReport, ServerOutcome, ServerReport, WaveFailure, WaveReport, WaveState,
};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::poller::Poller;
use crate::workspace::preflight::Preflight;

/// Runs `plan` (see the module docs) through `poller`, calling `progress` for every step,
/// until done, failed, `deadline` or `cancel`. Never fails as a whole: see [`RolloutReport`].
pub async fn run(
    poller: &Poller,
    plan: &RolloutPlan,
    progress: &(dyn Fn(RolloutEvent) + Send + Sync),
    cancel: &CancellationToken,
    deadline: Instant,
) -> RolloutReport {
    run_checked(poller, plan, None, progress, cancel, deadline).await
}

/// [`run`] after the caller's own pre-flight of the same servers (through the same poller)
/// found no problem: the waves are planned from `checked` instead of looking the servers up
/// again. A pre-flight that does not cover every server of `plan` is ignored.
pub async fn run_checked(
    poller: &Poller,
    plan: &RolloutPlan,
    checked: Option<Preflight>,
    progress: &(dyn Fn(RolloutEvent) + Send + Sync),
    cancel: &CancellationToken,
    deadline: Instant,
) -> RolloutReport {
    let client = poller.client().clone();
    let before = client.requests_sent();
    let mut report = engine::Engine::new(poller, plan, progress, cancel, deadline)
        .run(checked)
        .await;
    report.requests_sent = client.requests_sent().saturating_sub(before);
    report
}
