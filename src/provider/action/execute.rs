//! The reboot itself, shared by every form of it: send the reboot requests, then wait for the
//! servers when asked, all under one deadline and the provider's stop signal, telling an
//! [`Observer`] what happens as it happens.
//!
//! Rules:
//! - Batching is the client's ([`plan_batches`], [`Client::batch_reboot`]): the IDs are
//!   de-duplicated, sorted and split into requests of at most 20; each request goes through
//!   `batch_reboot` on its own, at most `max_concurrency` at a time (the client's limit anyway),
//!   so that each accepted or failed request can be told as it ends. The merged
//!   [`RebootReport`] is what one `batch_reboot` call over all IDs returns.
//! - Waiting is the shared [`Poller`]'s: one wait per server, all on the same poller, so they
//!   read the same polling rounds (costing what one wait for all of them costs) and each
//!   server's end can be told as it comes. The merged [`WaitReport`] is sorted by server ID.
//! - While waiting, the observer is ticked about once a second, so that it can report on a
//!   clock (rate-limited progress lines) without a timer of its own.
//! - Nothing here knows about Terraform's state or diagnostics: the resource records the
//!   outcome, the action reports it.
//!
//! The resource's run step (`reboot::run`) does the same requests and waits without an
//! observer; it is meant to call [`execute`] with [`Silent`] so there is one implementation.
//! The rolling reboot engine (`workspace::rollout`, waves and draining) will take the place of
//! the single reboot-then-wait step here, and report waves and drain state to the same
//! observer.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::stream::{self, FuturesUnordered, StreamExt};
use time::OffsetDateTime;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::workspace::reboot::{in_order, plan_batches};
use crate::workspace::{
    BatchFailure, Client, Poller, RebootReport, RebootType, ServerWait, WaitOptions, WaitOutcome,
    WaitReport,
};

/// How often a waiting observer is ticked.
const TICK: Duration = Duration::from_secs(1);

/// One reboot to carry out.
#[derive(Debug, Clone)]
pub struct Execution<'a> {
    /// The servers to reboot (duplicates and order do not matter).
    pub servers: &'a [String],
    pub reboot_type: RebootType,
    /// Wait until every rebooted server is ready again.
    pub wait: bool,
    /// Bound on the whole execution.
    pub timeout: Duration,
}

/// What happened to one reboot request.
#[derive(Debug, Clone, Copy)]
pub enum BatchEnd<'a> {
    Accepted,
    Failed(&'a BatchFailure),
    /// Never sent: the provider was stopped or the deadline passed first.
    NotSent,
}

/// Told what happens as it happens. Every method has an empty default.
pub trait Observer: Send + Sync {
    /// Before the first request: `batches` requests for `servers` distinct valid IDs.
    fn starting(&self, servers: usize, batches: usize) {
        let _ = (servers, batches);
    }

    /// One request ended (`index` counts from 1, in sorted ID order).
    fn batch(&self, index: usize, batches: usize, ids: &[String], end: BatchEnd<'_>) {
        let _ = (index, batches, ids, end);
    }

    /// The wait for these rebooted servers starts.
    fn waiting(&self, servers: &[String]) {
        let _ = servers;
    }

    /// The wait for one server ended.
    fn server(&self, server: &ServerWait) {
        let _ = server;
    }

    /// About once a second while waiting.
    fn tick(&self) {}
}

/// An observer that is told nothing.
pub struct Silent;

impl Observer for Silent {}

/// What an execution produced.
#[derive(Debug)]
pub struct Executed {
    /// When the reboot was requested.
    pub requested_at: OffsetDateTime,
    pub report: RebootReport,
    /// `None` when waiting was not asked, or nothing was rebooted.
    pub wait: Option<WaitReport>,
    /// Terraform asked the provider to stop.
    pub interrupted: bool,
}

impl Executed {
    /// Servers done: reboot accepted and, when waiting was asked, seen ready.
    pub fn done(&self) -> BTreeSet<String> {
        self.report
            .rebooted
            .iter()
            .filter(|id| {
                self.wait
                    .as_ref()
                    .is_none_or(|wait| wait.outcome(id) == Some(&WaitOutcome::Ready))
            })
            .cloned()
            .collect()
    }
}

/// Reboots `execution.servers` and waits for them (see the module docs). Never fails as a
/// whole: see [`Executed`].
pub async fn execute(
    poller: &Poller,
    wait_options: WaitOptions,
    execution: &Execution<'_>,
    cancel: &CancellationToken,
    observer: &dyn Observer,
) -> Executed {
    let deadline = Instant::now() + execution.timeout;
    let requested_at = OffsetDateTime::now_utc();
    let report = request(poller.client(), execution, cancel, deadline, observer).await;
    let wait = if execution.wait && !report.rebooted.is_empty() {
        let options = WaitOptions {
            reboot_requested_at: Some(requested_at),
            ..wait_options
        };
        observer.waiting(&report.rebooted);
        Some(
            wait(
                poller,
                &report.rebooted,
                &options,
                cancel,
                deadline,
                observer,
            )
            .await,
        )
    } else {
        None
    };
    Executed {
        requested_at,
        report,
        wait,
        interrupted: cancel.is_cancelled(),
    }
}

/// Every batch through `batch_reboot`, merged into one report.
async fn request(
    client: &Client,
    execution: &Execution<'_>,
    cancel: &CancellationToken,
    deadline: Instant,
    observer: &dyn Observer,
) -> RebootReport {
    let plan = plan_batches(execution.servers);
    let batches = plan.batches.len();
    observer.starting(plan.batches.iter().map(Vec::len).sum(), batches);
    let concurrency = client.config().max_concurrency.max(1);
    let results: Vec<(usize, RebootReport)> = stream::iter(plan.batches.into_iter().enumerate())
        .map(|(index, ids)| async move {
            let part = client
                .batch_reboot(&ids, execution.reboot_type, cancel, deadline)
                .await;
            let end = match (part.failed.first(), part.rebooted.is_empty()) {
                (Some(failure), _) => BatchEnd::Failed(failure),
                (None, false) => BatchEnd::Accepted,
                (None, true) => BatchEnd::NotSent,
            };
            observer.batch(index + 1, batches, &ids, end);
            (index, part)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut report = RebootReport {
        batches,
        failed: plan.invalid,
        ..RebootReport::default()
    };
    for part in in_order(results) {
        report.requests_sent += part.requests_sent;
        report.rebooted.extend(part.rebooted);
        report.failed.extend(part.failed);
        report.not_attempted.extend(part.not_attempted);
    }
    report.rebooted.sort();
    report.not_attempted.sort();
    report
}

/// One wait per server on `poller`, merged into one report.
async fn wait(
    poller: &Poller,
    servers: &[String],
    options: &WaitOptions,
    cancel: &CancellationToken,
    deadline: Instant,
    observer: &dyn Observer,
) -> WaitReport {
    let sent_before = poller.requests_sent();
    let mut waits: FuturesUnordered<_> = servers
        .iter()
        .map(|id| poller.wait_until_ready(std::slice::from_ref(id), options, cancel, deadline))
        .collect();
    let mut ticks = tokio::time::interval_at(Instant::now() + TICK, TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ended: Vec<ServerWait> = Vec::with_capacity(servers.len());
    loop {
        tokio::select! {
            next = waits.next() => match next {
                Some(report) => {
                    for server in report.servers {
                        observer.server(&server);
                        ended.push(server);
                    }
                }
                None => break,
            },
            _ = ticks.tick() => observer.tick(),
        }
    }
    ended.sort_by(|a, b| a.server_id.cmp(&b.server_id));
    WaitReport {
        servers: ended,
        requests_sent: poller.requests_sent().saturating_sub(sent_before),
    }
}
