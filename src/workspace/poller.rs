//! One poller per provider process: every wait (of every resource, later every action) reads
//! the same listings, so one group page fetched in a round serves all of them.
//!
//! **Rounds.** While any wait has pending servers, the poller runs rounds at a steady interval
//! (the shortest `WaitOptions::interval` among the waits; start to start, so a round longer
//! than the interval is followed by the next at once, as soon as every wait has read it). A round snapshots the servers pending
//! in any wait and fetches them all; when it ends, every wait reads what it needs from the
//! round's view. A wait only reads rounds that started after it joined, so an answer fetched
//! before its reboot request never counts for it. When no wait is left the rounds stop (a
//! round in flight is cancelled); the next wait starts them again, with a round at once.
//!
//! **Cost of a round.** For each group holding pending servers the round takes the cheaper of
//! its `limit=100` pages filtered by `server_group_id` (`⌈group size / 100⌉` requests) and one
//! `GET .../app-servers/{id}` per pending server of the group; ties go to the GETs. So a round
//! costs at most `min(pending servers, Σ over groups with pending servers of ⌈size / 100⌉)`
//! requests once the groups and their sizes are known:
//! - groups come from the pre-flight ([`Poller::preflight`], or [`Poller::remember`]) or from
//!   any answer that showed the server; a server of unknown group is fetched by GET, whose
//!   answer tells its group;
//! - sizes come from the pre-flight (the whole project's listing, or one `limit=1` request
//!   for each group holding two or more of the looked-up servers), or from a group page's
//!   `count`. A group of unknown size with two or more pending servers is probed with its first
//!   page, which tells the size; the rest of that round then takes the cheaper way. (That first
//!   round of such a group can cost one request more than the bound, when none of its pending
//!   servers is on the first page.)
//! - A pending server missing from a complete listing of its group (deleted or moved while
//!   the rounds ran) is looked up by GET in the same round: 404 ends its wait as gone.
//!
//! **The view.** Every server a round saw (on a group page, pending or not) stays in the view
//! for two rounds; [`Poller::preflight`] takes servers seen less than one interval ago from it
//! instead of asking again.
//!
//! **Shared pre-flight listings.** Pre-flights of one process share the unfiltered project
//! listing (`limit=1` probe for `count`, then `⌈count / 100⌉` pages of `limit=100`):
//! - A listing younger than the *listing window* ([`DEFAULT_LISTING_WINDOW`], one default poll
//!   interval; [`Poller::set_listing_window`]) answers every pre-flight at no cost. A listing's
//!   age counts from its first request, and an older one is never used.
//! - Otherwise a pre-flight of one server sends one GET. A pre-flight of two or more takes the
//!   single flight: pre-flights running at once queue behind it, and the first one decides
//!   for all; the others then find its listing fresh. The decision: the `count` (probed, or
//!   taken from a probe younger than the window) gives the listing's pages; the *demand* is
//!   the servers asked for by every pre-flight of two or more that started within the window
//!   (the queued ones included). When the pages are no more than the demand (ties go to the
//!   listing) the project is listed and kept as the shared listing; otherwise this pre-flight
//!   sends one GET per server.
//! - So `k` pre-flights of `n` servers each, all within the window, cost one probe and
//!   `⌈count / 100⌉` pages (plus a GET for each ID missing from the listing) when those pages
//!   are no more than `k · n`, instead of up to `k · (1 + n)` when each looks on its own: e.g.
//!   10 × 20 servers in a project of 2,000 cost 21 requests instead of 210. (Later pre-flights
//!   in a burst see the whole burst's demand; the first of a burst may still choose GETs.)
//! - A server missing from the listing is still confirmed by its own GET, so a listing that
//!   shifted while it was paged never makes a real server look absent.
//! - The trade-off: a server that becomes frozen, dead or deleted within the window after the
//!   listing is not caught by a pre-flight that reads it; it is caught by the wait that
//!   follows the reboot (a dead end ends the wait at once), exactly as a change just after a
//!   pre-flight's own GET would be.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::{join_all, BoxFuture};
use futures::stream::{self, StreamExt};
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::client::Client;
use crate::workspace::error::ClientError;
use crate::workspace::preflight::{pages_for, problem_of, split_ids, Preflight, PreflightProblem};
use crate::workspace::wait::{
    finish_pending, Tracker, WaitOptions, WaitOutcome, WaitReport, DEFAULT_POLL_INTERVAL,
};
use crate::workspace::wire::{AppServer, ListQuery, MAX_LIST_LIMIT};

/// Polls servers for any number of concurrent waits. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Poller {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").finish_non_exhaustive()
    }
}

struct Shared {
    client: Client,
    state: Mutex<State>,
    /// The number of the last round that ended.
    rounds: watch::Sender<u64>,
    /// Signalled when a wait has read a round (or left).
    acks: Notify,
    /// Held while a pre-flight decides on (and fetches) the shared project listing: the
    /// single flight that concurrent pre-flights queue behind.
    listing_flight: tokio::sync::Mutex<()>,
    /// Session counts one at a time: those queued behind a lookup then read its listing
    /// (see [`Poller::session_counts`]).
    sessions_flight: tokio::sync::Mutex<()>,
}

/// The unfiltered project listing one pre-flight fetched, shared with the others.
struct SharedListing {
    servers: Arc<Vec<AppServer>>,
    pages: usize,
    /// When its first request (the `count` probe) was sent: its age counts from there.
    at: Instant,
}

/// How long the next round waits at most for every wait to have read the previous one (a
/// wait that is not being polled must not stall the others).
const ACK_GRACE: Duration = Duration::from_secs(1);

/// What one wait needs from the rounds.
struct Waiter {
    pending: BTreeSet<String>,
    /// The latest round this wait has read (or had no part in).
    consumed: u64,
    interval: Duration,
    deadline: Instant,
}

/// One server as the latest round that fetched it saw it.
#[derive(Clone)]
struct Seen {
    result: Result<AppServer, ClientError>,
    round: u64,
    at: Instant,
}

/// What one round did: for checking the cost bound (tests, benches, debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundRecord {
    /// 1 for the poller's first round.
    pub round: u64,
    /// Distinct servers pending in any wait when the round started.
    pub pending: usize,
    /// HTTP attempts the round sent, retries included.
    pub requests: usize,
}

/// How far one wait got, after a round it read (see [`Poller::wait_until_ready_observed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitProgress {
    /// Servers seen ready.
    pub ready: usize,
    /// Servers whose wait has ended, ready or not.
    pub finished: usize,
    pub total: usize,
}

/// What [`Poller::look`] saw: every asked server's answer, or the error that kept it unseen.
#[derive(Debug, Clone, Default)]
pub struct Looked {
    pub servers: BTreeMap<String, Result<AppServer, ClientError>>,
    /// HTTP attempts sent, retries included.
    pub requests_sent: usize,
}

/// How long a shared project listing serves pre-flights by default: one default poll
/// interval, so a pre-flight never trusts data older than what the rounds would.
pub const DEFAULT_LISTING_WINDOW: Duration = DEFAULT_POLL_INTERVAL;

/// Rounds kept in [`Poller::rounds`].
const ROUND_HISTORY: usize = 1024;

#[derive(Default)]
struct State {
    history: std::collections::VecDeque<RoundRecord>,
    waiters: HashMap<u64, Waiter>,
    next_waiter: u64,
    /// Rounds started so far; a round's number is the value after its start.
    started: u64,
    /// Whether the round task runs.
    driving: bool,
    /// Cancelled when the last wait leaves, stopping a round in flight.
    round_cancel: CancellationToken,
    /// server ID → group ID.
    groups: HashMap<String, String>,
    /// group ID → number of servers.
    group_sizes: HashMap<String, u64>,
    view: HashMap<String, Seen>,
    /// Attempts sent by rounds so far.
    requests_sent: usize,
    /// Freshness of the view for the pre-flight: the interval of the latest round.
    last_interval: Duration,
    /// The latest shared project listing (see [`Poller::preflight`]).
    listing: Option<SharedListing>,
    /// The project's `count` from the latest probe, and when it was sent.
    project_count: Option<(u64, Instant)>,
    /// Pre-flights that wanted two or more servers: when, and how many servers.
    recent: std::collections::VecDeque<(Instant, usize)>,
    /// How long a shared listing (and a probed `count`) serves pre-flights.
    listing_window: Duration,
}

impl State {
    /// The shared listing, if younger than the window.
    fn fresh_listing(&self) -> Option<(Arc<Vec<AppServer>>, usize)> {
        self.listing
            .as_ref()
            .filter(|l| l.at.elapsed() <= self.listing_window)
            .map(|l| (Arc::clone(&l.servers), l.pages))
    }
}

/// What a round fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fetch {
    Get(String),
    Group {
        group: String,
        size: Option<u64>,
        members: Vec<String>,
    },
}

/// What one fetch brought back.
#[derive(Default)]
struct Fetched {
    /// Pending servers: their answer, or the error that kept them unseen.
    pending: Vec<(String, Result<AppServer, ClientError>)>,
    /// Other servers seen on group pages.
    others: Vec<AppServer>,
    /// A group's size from a page's `count`.
    group_size: Option<(String, u64)>,
    sent: usize,
}

/// Plans a round for `pending` given what is known of groups and sizes.
fn plan(
    pending: &BTreeSet<String>,
    groups: &HashMap<String, String>,
    sizes: &HashMap<String, u64>,
) -> Vec<Fetch> {
    let mut fetches = Vec::new();
    let mut by_group: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for id in pending {
        match groups.get(id) {
            Some(group) => by_group.entry(group).or_default().push(id.clone()),
            None => fetches.push(Fetch::Get(id.clone())),
        }
    }
    for (group, members) in by_group {
        let size = sizes.get(group).copied();
        let list = match size {
            Some(size) => pages_for(size).max(1) < members.len() as u64,
            None => members.len() >= 2,
        };
        if list {
            fetches.push(Fetch::Group {
                group: group.to_string(),
                size,
                members,
            });
        } else {
            fetches.extend(members.into_iter().map(Fetch::Get));
        }
    }
    fetches
}

fn group_page(group: &str, page: u64) -> ListQuery {
    ListQuery {
        offset: u32::try_from(page.saturating_mul(u64::from(MAX_LIST_LIMIT))).ok(),
        limit: Some(MAX_LIST_LIMIT),
        server_group_id: Some(group.to_string()),
        ..ListQuery::default()
    }
}

async fn fetch_one(
    client: &Client,
    id: String,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Fetched {
    let attempted = client.get_server_attempted(&id, cancel, deadline).await;
    Fetched {
        pending: vec![(id, attempted.result)],
        sent: attempted.sent,
        ..Fetched::default()
    }
}

/// Fetches `pages` of `group` concurrently (the client bounds requests in flight); the items
/// of the pages that answered, the count of the last one, the first error, attempts sent.
async fn fetch_pages(
    client: &Client,
    group: &str,
    pages: std::ops::Range<u64>,
    cancel: &CancellationToken,
    deadline: Instant,
) -> (Vec<AppServer>, Option<u64>, Option<ClientError>, usize) {
    let answers = join_all(pages.map(|page| async move {
        client
            .list_servers_attempted(&group_page(group, page), cancel, deadline)
            .await
    }))
    .await;
    let mut items = Vec::new();
    let mut count = None;
    let mut error = None;
    let mut sent = 0;
    for attempted in answers {
        sent += attempted.sent;
        match attempted.result {
            Ok(answer) => {
                count = Some(answer.count);
                items.extend(answer.items);
            }
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (items, count, error, sent)
}

async fn fetch_group(
    client: &Client,
    group: String,
    size: Option<u64>,
    members: Vec<String>,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Fetched {
    let mut fetched = Fetched::default();
    let mut items: Vec<AppServer> = Vec::new();
    let mut error: Option<ClientError> = None;
    // Pages fetched so far: 0..done.
    let mut done = 0u64;
    let mut count = size;

    let first_batch = match size {
        Some(size) => 0..pages_for(size).max(1),
        None => 0..1,
    };
    let (page_items, page_count, page_error, sent) =
        fetch_pages(client, &group, first_batch.clone(), cancel, deadline).await;
    fetched.sent += sent;
    items.extend(page_items);
    error = error.or(page_error);
    done = done.max(first_batch.end);
    if page_count.is_some() {
        count = page_count;
    }

    let mut unfound: Vec<&String> = {
        let seen: BTreeSet<&str> = items.iter().map(|s| s.id.as_str()).collect();
        members
            .iter()
            .filter(|id| !seen.contains(id.as_str()))
            .collect()
    };
    let mut get_instead: Vec<String> = Vec::new();
    if error.is_none() && !unfound.is_empty() {
        // More pages than planned (unknown size, or the group grew): the cheaper way.
        let total = count.map_or(done, |c| pages_for(c).max(1));
        if total > done {
            if total - done < unfound.len() as u64 {
                let (page_items, page_count, page_error, sent) =
                    fetch_pages(client, &group, done..total, cancel, deadline).await;
                fetched.sent += sent;
                items.extend(page_items);
                error = error.or(page_error);
                if page_count.is_some() {
                    count = page_count;
                }
            } else {
                get_instead.extend(unfound.iter().map(|id| (*id).clone()));
            }
        }
        let seen: BTreeSet<&str> = items.iter().map(|s| s.id.as_str()).collect();
        unfound.retain(|id| !seen.contains(id.as_str()));
        if error.is_none() && get_instead.is_empty() {
            // The listing was complete and did not show them: gone or moved.
            get_instead.extend(unfound.iter().map(|id| (*id).clone()));
        }
    }

    let wanted: BTreeSet<&str> = members.iter().map(String::as_str).collect();
    for server in items {
        if wanted.contains(server.id.as_str()) {
            fetched.pending.push((server.id.clone(), Ok(server)));
        } else {
            fetched.others.push(server);
        }
    }
    let answered: BTreeSet<String> = fetched.pending.iter().map(|(id, _)| id.clone()).collect();
    let lookups = join_all(
        get_instead
            .into_iter()
            .map(|id| fetch_one(client, id, cancel, deadline)),
    )
    .await;
    for lookup in lookups {
        fetched.sent += lookup.sent;
        fetched.pending.extend(lookup.pending);
    }
    if let Some(error) = error {
        let looked_up: BTreeSet<String> =
            fetched.pending.iter().map(|(id, _)| id.clone()).collect();
        for id in members {
            if !answered.contains(&id) && !looked_up.contains(&id) {
                fetched.pending.push((id, Err(error.clone())));
            }
        }
    }
    fetched.group_size = count.map(|c| (group, c));
    fetched
}

/// Removes its wait from the poller when the wait ends or its future is dropped.
struct Registration {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.waiters.remove(&self.id);
        if state.waiters.is_empty() {
            state.round_cancel.cancel();
        }
        drop(state);
        self.shared.acks.notify_waiters();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs rounds while any wait has pending servers.
    async fn drive(self: Arc<Self>) {
        loop {
            let (round, pending_count, fetches, cancel, deadline, interval) = {
                let mut state = self.lock();
                let pending: BTreeSet<String> = state
                    .waiters
                    .values()
                    .flat_map(|w| w.pending.iter().cloned())
                    .collect();
                let (Some(deadline), Some(interval)) = (
                    state.waiters.values().map(|w| w.deadline).max(),
                    state.waiters.values().map(|w| w.interval).min(),
                ) else {
                    state.driving = false;
                    return;
                };
                if pending.is_empty() {
                    state.driving = false;
                    return;
                }
                state.started += 1;
                state.last_interval = interval;
                let fetches = plan(&pending, &state.groups, &state.group_sizes);
                (
                    state.started,
                    pending.len(),
                    fetches,
                    state.round_cancel.clone(),
                    deadline,
                    interval,
                )
            };
            let round_start = Instant::now();
            tracing::debug!(
                round,
                requests_planned = fetches.len(),
                "workspace poller: round"
            );
            let concurrency = self.client.config().max_concurrency.max(1);
            let client = &self.client;
            let cancel_ref = &cancel;
            let results: Vec<Fetched> = stream::iter(fetches)
                .map(|fetch| -> BoxFuture<'_, Fetched> {
                    match fetch {
                        Fetch::Get(id) => Box::pin(fetch_one(client, id, cancel_ref, deadline)),
                        Fetch::Group {
                            group,
                            size,
                            members,
                        } => Box::pin(fetch_group(
                            client, group, size, members, cancel_ref, deadline,
                        )),
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            let at = Instant::now();
            {
                let mut state = self.lock();
                let requests: usize = results.iter().map(|f| f.sent).sum();
                if state.history.len() == ROUND_HISTORY {
                    state.history.pop_front();
                }
                state.history.push_back(RoundRecord {
                    round,
                    pending: pending_count,
                    requests,
                });
                for fetched in results {
                    state.requests_sent += fetched.sent;
                    if let Some((group, size)) = fetched.group_size {
                        state.group_sizes.insert(group, size);
                    }
                    for server in fetched.others {
                        state.record(Ok(server), round, at);
                    }
                    for (id, result) in fetched.pending {
                        match &result {
                            // The poller's own stop or deadline says nothing of the server.
                            Err(
                                ClientError::Cancelled { .. }
                                | ClientError::DeadlineExceeded { .. },
                            ) => {}
                            Err(ClientError::Api(api)) if api.is_not_found() => {
                                state.groups.remove(&id);
                                state.view.insert(id, Seen { result, round, at });
                            }
                            Ok(_) => state.record(result, round, at),
                            Err(_) => {
                                state.view.insert(id, Seen { result, round, at });
                            }
                        }
                    }
                }
                state.view.retain(|_, seen| seen.round + 2 > round);
            }
            self.rounds.send_replace(round);
            // Plan the next round from what the waits still need: give them the time to read
            // this one (they do at once unless their task is busy).
            let ack_deadline = Instant::now() + ACK_GRACE;
            loop {
                let notified = self.acks.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.lock().waiters.values().all(|w| w.consumed >= round) {
                    break;
                }
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep_until(ack_deadline) => break,
                    _ = &mut notified => {}
                }
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep_until(round_start + interval) => {}
            }
        }
    }
}

impl State {
    fn record(&mut self, result: Result<AppServer, ClientError>, round: u64, at: Instant) {
        if let Ok(server) = &result {
            if let Some(group) = server.server_group_id.as_deref().filter(|g| !g.is_empty()) {
                self.groups.insert(server.id.clone(), group.to_string());
            }
            self.view
                .insert(server.id.clone(), Seen { result, round, at });
        }
    }
}

impl Poller {
    /// A poller sending its requests through `client` (and its concurrency limit).
    pub fn new(client: Client) -> Poller {
        let (rounds, _) = watch::channel(0);
        Poller {
            shared: Arc::new(Shared {
                client,
                state: Mutex::new(State {
                    last_interval: DEFAULT_POLL_INTERVAL,
                    listing_window: DEFAULT_LISTING_WINDOW,
                    ..State::default()
                }),
                rounds,
                acks: Notify::new(),
                listing_flight: tokio::sync::Mutex::new(()),
                sessions_flight: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// HTTP attempts the rounds have sent so far, retries included (pre-flight lookups not
    /// included: see [`Preflight::requests_sent`]).
    pub fn requests_sent(&self) -> usize {
        self.shared.lock().requests_sent
    }

    /// The latest rounds (up to 1,024), oldest first.
    pub fn rounds(&self) -> Vec<RoundRecord> {
        self.shared.lock().history.iter().copied().collect()
    }

    /// Remember which group each server belongs to (`(server ID, group ID)`), e.g. from a
    /// pre-flight made elsewhere.
    pub fn remember_groups<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut state = self.shared.lock();
        for (server, group) in pairs {
            if !group.is_empty() {
                state.groups.insert(server.to_string(), group.to_string());
            }
        }
    }

    /// Remember what a pre-flight learnt: groups of the servers it saw and, when it listed the
    /// whole project, the size of every group.
    pub fn remember(&self, preflight: &Preflight) {
        let mut state = self.shared.lock();
        for server in preflight.seen.iter().chain(preflight.servers.values()) {
            if let Some(group) = server.server_group_id.as_deref().filter(|g| !g.is_empty()) {
                state.groups.insert(server.id.clone(), group.to_string());
            }
        }
        for (group, size) in &preflight.group_sizes {
            state.group_sizes.insert(group.clone(), *size);
        }
    }

    /// The pre-flight of [`Client::preflight`], taking servers the rounds saw less than one
    /// interval ago from the view instead of asking again, and remembering groups and sizes
    /// for the rounds.
    pub async fn preflight(
        &self,
        server_ids: &[String],
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Preflight, ClientError> {
        let mut fresh: BTreeMap<String, AppServer> = BTreeMap::new();
        let rest: Vec<String> = {
            let state = self.shared.lock();
            server_ids
                .iter()
                .filter(|id| match state.view.get(*id) {
                    Some(Seen {
                        result: Ok(server),
                        at,
                        ..
                    }) if at.elapsed() <= state.last_interval => {
                        fresh.insert((*id).clone(), server.clone());
                        false
                    }
                    _ => true,
                })
                .cloned()
                .collect()
        };
        let mut report = self.lookup(&rest, cancel, deadline).await?;
        for (id, server) in fresh {
            if let Some(kind) = problem_of(&server) {
                report.problems.push(PreflightProblem {
                    server_id: id.clone(),
                    kind,
                });
            }
            report.servers.insert(id, server);
        }
        PreflightProblem::sort(&mut report.problems);
        self.remember(&report);
        self.learn_group_sizes(&mut report, cancel, deadline)
            .await?;
        Ok(report)
    }

    /// The open user sessions (`session_count`) of `server_ids`, for a warning that tolerates
    /// older data than a pre-flight: read from the shared project listing when one is younger
    /// than `max_age`, else looked up the way a pre-flight looks (which may leave a shared
    /// listing for the next caller). Servers not found are left out.
    pub async fn session_counts(
        &self,
        server_ids: &[String],
        max_age: Duration,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<BTreeMap<String, u64>, ClientError> {
        let counts = |servers: &mut dyn Iterator<Item = &AppServer>| {
            servers
                .map(|s| (s.id.clone(), s.session_count.unwrap_or(0)))
                .collect::<BTreeMap<String, u64>>()
        };
        let listed = || {
            let state = self.shared.lock();
            state
                .listing
                .as_ref()
                .filter(|l| l.at.elapsed() <= max_age)
                .map(|l| Arc::clone(&l.servers))
        };
        let from_listing = |all: Arc<Vec<AppServer>>| {
            let wanted: BTreeSet<&str> = server_ids.iter().map(String::as_str).collect();
            counts(&mut all.iter().filter(|s| wanted.contains(s.id.as_str())))
        };
        if let Some(all) = listed() {
            return Ok(from_listing(all));
        }
        // One lookup at a time: under a tight request budget a listing can take longer than the
        // pre-flight window, and the queued callers would each list again.
        let _turn = tokio::select! {
            turn = self.shared.sessions_flight.lock() => turn,
            _ = cancel.cancelled() => {
                return Err(ClientError::Cancelled { last_error: None, in_flight: false });
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(ClientError::DeadlineExceeded { last_error: None });
            }
        };
        if let Some(all) = listed() {
            return Ok(from_listing(all));
        }
        let looked = self.lookup(server_ids, cancel, deadline).await?;
        Ok(counts(&mut looked.servers.values()))
    }

    /// How long a shared project listing serves pre-flights (default
    /// [`DEFAULT_LISTING_WINDOW`]); a listing older than this is never used.
    pub fn set_listing_window(&self, window: Duration) {
        self.shared.lock().listing_window = window;
    }

    /// The lookup behind [`Poller::preflight`]: the shared listing when one is fresh, else the
    /// cost rule of the module docs.
    async fn lookup(
        &self,
        server_ids: &[String],
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Preflight, ClientError> {
        let client = &self.shared.client;
        let (ids, problems) = split_ids(server_ids);
        let mut report = Preflight {
            problems,
            ..Preflight::default()
        };
        let listed = self.shared.lock().fresh_listing();
        if let Some((servers, pages)) = listed {
            return client
                .preflight_from(report, ids, Some((&servers, pages)), cancel, deadline)
                .await;
        }
        if ids.len() <= 1 {
            return client
                .preflight_from(report, ids, None, cancel, deadline)
                .await;
        }
        self.shared
            .lock()
            .recent
            .push_back((Instant::now(), ids.len()));
        let flight = self.shared.listing_flight.lock().await;
        // Another pre-flight may have listed while this one queued.
        let listed = self.shared.lock().fresh_listing();
        if let Some((servers, pages)) = listed {
            drop(flight);
            return client
                .preflight_from(report, ids, Some((&servers, pages)), cancel, deadline)
                .await;
        }
        let started = Instant::now();
        let known = {
            let state = self.shared.lock();
            state
                .project_count
                .filter(|(_, at)| at.elapsed() <= state.listing_window)
        };
        let (count, count_at) = match known {
            Some(known) => known,
            None => {
                let (count, sent) = client.project_count(cancel, deadline).await;
                report.requests_sent += sent;
                let count = count?;
                self.shared.lock().project_count = Some((count, started));
                (count, started)
            }
        };
        let demand: usize = {
            let mut state = self.shared.lock();
            let window = state.listing_window;
            while state
                .recent
                .front()
                .is_some_and(|(at, _)| at.elapsed() > window)
            {
                state.recent.pop_front();
            }
            state
                .recent
                .iter()
                .map(|(_, n)| n)
                .sum::<usize>()
                .max(ids.len())
        };
        if pages_for(count) > demand as u64 {
            drop(flight);
            return client
                .preflight_from(report, ids, None, cancel, deadline)
                .await;
        }
        let (servers, pages, sent) = client.list_project(count, cancel, deadline).await?;
        report.requests_sent += sent;
        let servers = Arc::new(servers);
        self.shared.lock().listing = Some(SharedListing {
            servers: Arc::clone(&servers),
            pages,
            // The listing is as old as the count it was paged by.
            at: count_at.min(started),
        });
        drop(flight);
        client
            .preflight_from(report, ids, Some((&servers, pages)), cancel, deadline)
            .await
    }

    /// Learn, with one `limit=1` request each, the size of every group that holds two or more
    /// of the looked-up servers and whose size is still unknown, so that the first round
    /// already takes the cheaper way for it. (One server alone is always fetched by GET.) The
    /// requests are added to `report.requests_sent`.
    async fn learn_group_sizes(
        &self,
        report: &mut Preflight,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<(), ClientError> {
        let unknown: Vec<String> = {
            let state = self.shared.lock();
            let mut members: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, group) in report.groups() {
                *members.entry(group).or_default() += 1;
            }
            members
                .into_iter()
                .filter(|(group, n)| *n >= 2 && !state.group_sizes.contains_key(*group))
                .map(|(group, _)| group.to_string())
                .collect()
        };
        for group in unknown {
            let query = ListQuery {
                limit: Some(1),
                server_group_id: Some(group.clone()),
                ..ListQuery::default()
            };
            let attempted = self
                .shared
                .client
                .list_servers_attempted(&query, cancel, deadline)
                .await;
            report.requests_sent += attempted.sent;
            let count = attempted.result?.count;
            report.group_sizes.insert(group.clone(), count);
            self.shared.lock().group_sizes.insert(group, count);
        }
        Ok(())
    }

    /// One look at `server_ids` now, outside the rounds, fetched the way a round would (the
    /// cheaper of group pages and per-server GETs, per group): for readers that need fresh
    /// fields other than readiness, such as a drain watching `session_count`. What it learns
    /// of groups and sizes serves the rounds; its answers do not count for any wait.
    pub async fn look(
        &self,
        server_ids: &[String],
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Looked {
        let ids: BTreeSet<String> = server_ids.iter().cloned().collect();
        let fetches = {
            let state = self.shared.lock();
            plan(&ids, &state.groups, &state.group_sizes)
        };
        let client = &self.shared.client;
        let concurrency = client.config().max_concurrency.max(1);
        let results: Vec<Fetched> = stream::iter(fetches)
            .map(|fetch| -> BoxFuture<'_, Fetched> {
                match fetch {
                    Fetch::Get(id) => Box::pin(fetch_one(client, id, cancel, deadline)),
                    Fetch::Group {
                        group,
                        size,
                        members,
                    } => Box::pin(fetch_group(client, group, size, members, cancel, deadline)),
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut looked = Looked::default();
        let mut state = self.shared.lock();
        for fetched in results {
            looked.requests_sent += fetched.sent;
            if let Some((group, size)) = fetched.group_size {
                state.group_sizes.insert(group, size);
            }
            for (id, result) in fetched.pending {
                if let Ok(server) = &result {
                    if let Some(group) = server.server_group_id.as_deref().filter(|g| !g.is_empty())
                    {
                        state.groups.insert(id.clone(), group.to_string());
                    }
                }
                looked.servers.insert(id, result);
            }
        }
        looked
    }

    /// Wait until each of `server_ids` has finished its reboot (see [`crate::workspace::wait`]
    /// for the rules), failed, or `deadline` passed; `cancel` stops at once. Never fails as a
    /// whole: see [`WaitReport`]. Any number of waits may run at once on one poller.
    pub async fn wait_until_ready(
        &self,
        server_ids: &[String],
        options: &WaitOptions,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> WaitReport {
        self.wait_until_ready_observed(server_ids, options, cancel, deadline, &|_| {})
            .await
    }

    /// [`Poller::wait_until_ready`], calling `observe` after every round this wait read with
    /// how far it got (for progress lines; the caller decides how often to show them).
    pub async fn wait_until_ready_observed(
        &self,
        server_ids: &[String],
        options: &WaitOptions,
        cancel: &CancellationToken,
        deadline: Instant,
        observe: &(dyn Fn(WaitProgress) + Send + Sync),
    ) -> WaitReport {
        let started = Instant::now();
        let requested_at = options
            .reboot_requested_at
            .unwrap_or_else(OffsetDateTime::now_utc);
        let ids: BTreeSet<&String> = server_ids.iter().collect();
        let mut trackers: Vec<Tracker> = ids.into_iter().cloned().map(Tracker::new).collect();
        let report = |trackers: Vec<Tracker>, requests_sent| WaitReport {
            servers: trackers.into_iter().map(Tracker::into_result).collect(),
            requests_sent,
        };
        if trackers.is_empty() {
            return report(trackers, 0);
        }
        if cancel.is_cancelled() {
            finish_pending(&mut trackers, |_| WaitOutcome::Cancelled);
            return report(trackers, 0);
        }
        if Instant::now() >= deadline {
            finish_pending(&mut trackers, |t| WaitOutcome::TimedOut {
                last_status: t.last_status(),
            });
            return report(trackers, 0);
        }

        let mut rounds = self.shared.rounds.subscribe();
        let (registration, first_round, sent_before) = {
            let mut state = self.shared.lock();
            let id = state.next_waiter;
            state.next_waiter += 1;
            let started = state.started;
            state.waiters.insert(
                id,
                Waiter {
                    pending: trackers.iter().map(|t| t.id.clone()).collect(),
                    // Rounds started before this wait are none of its business.
                    consumed: started,
                    interval: options.interval,
                    deadline,
                },
            );
            if state.round_cancel.is_cancelled() {
                state.round_cancel = CancellationToken::new();
            }
            if !state.driving {
                state.driving = true;
                tokio::spawn(Arc::clone(&self.shared).drive());
            }
            (
                Registration {
                    shared: Arc::clone(&self.shared),
                    id,
                },
                state.started + 1,
                state.requests_sent,
            )
        };

        loop {
            if trackers.iter().all(|t| t.outcome.is_some()) {
                break;
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    finish_pending(&mut trackers, |_| WaitOutcome::Cancelled);
                    break;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    finish_pending(&mut trackers, |t| WaitOutcome::TimedOut {
                        last_status: t.last_status(),
                    });
                    break;
                }
                changed = rounds.changed() => {
                    if changed.is_err() {
                        // Cannot happen while `shared` holds the sender; end as cancelled.
                        finish_pending(&mut trackers, |_| WaitOutcome::Cancelled);
                        break;
                    }
                }
            }
            let completed = *rounds.borrow_and_update();
            if completed < first_round {
                continue;
            }
            let mut state = self.shared.lock();
            for tracker in trackers.iter_mut().filter(|t| t.outcome.is_none()) {
                let Some(seen) = state.view.get(&tracker.id) else {
                    continue;
                };
                if seen.round < first_round || seen.round <= tracker.last_round {
                    continue;
                }
                tracker.last_round = seen.round;
                let settled = seen.at.saturating_duration_since(started) >= options.settle;
                tracker.observe(seen.result.clone(), requested_at, settled);
            }
            if let Some(waiter) = state.waiters.get_mut(&registration.id) {
                waiter.pending = trackers
                    .iter()
                    .filter(|t| t.outcome.is_none())
                    .map(|t| t.id.clone())
                    .collect();
                waiter.consumed = completed;
            }
            drop(state);
            self.shared.acks.notify_waiters();
            // Outside the lock: the observer may take its time.
            observe(WaitProgress {
                ready: trackers
                    .iter()
                    .filter(|t| t.outcome == Some(WaitOutcome::Ready))
                    .count(),
                finished: trackers.iter().filter(|t| t.outcome.is_some()).count(),
                total: trackers.len(),
            });
        }
        let sent = self.shared.lock().requests_sent - sent_before;
        drop(registration);
        report(trackers, sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn unknown_groups_are_fetched_one_by_one() {
        let fetches = plan(&set(&["a", "b"]), &HashMap::new(), &HashMap::new());
        assert_eq!(
            fetches,
            vec![Fetch::Get("a".into()), Fetch::Get("b".into())]
        );
    }

    #[test]
    fn the_cheaper_way_per_group() {
        let groups = map(&[
            ("a", "g1"),
            ("b", "g1"),
            ("c", "g2"),
            ("d", "g2"),
            ("e", "g3"),
        ]);
        let sizes: HashMap<String, u64> = [("g1".to_string(), 1000), ("g2".to_string(), 150)]
            .into_iter()
            .collect();
        let fetches = plan(&set(&["a", "b", "c", "d", "e"]), &groups, &sizes);
        // g1: 10 pages against 2 GETs; g2: 2 pages against 2 GETs (a tie: GETs);
        // g3: size unknown, one server: a GET.
        assert_eq!(
            fetches,
            ["a", "b", "c", "d", "e"]
                .iter()
                .map(|id| Fetch::Get(id.to_string()))
                .collect::<Vec<_>>()
        );
        let many: Vec<String> = (0..11).map(|i| format!("s{i:02}")).collect();
        let groups: HashMap<String, String> = many
            .iter()
            .map(|id| (id.clone(), "g1".to_string()))
            .collect();
        let fetches = plan(&many.iter().cloned().collect(), &groups, &sizes);
        assert_eq!(
            fetches,
            vec![Fetch::Group {
                group: "g1".into(),
                size: Some(1000),
                members: many.clone(),
            }]
        );
        // Unknown size with two or more servers: probe the group's first page.
        let fetches = plan(&set(&["c", "d"]), &groups_of(&["c", "d"], "g9"), &sizes);
        assert!(matches!(&fetches[..], [Fetch::Group { size: None, .. }]));
    }

    fn groups_of(ids: &[&str], group: &str) -> HashMap<String, String> {
        ids.iter()
            .map(|id| (id.to_string(), group.to_string()))
            .collect()
    }

    #[test]
    fn group_pages_are_filtered_and_full() {
        let query = group_page("g", 3);
        assert_eq!(query.offset, Some(300));
        assert_eq!(query.limit, Some(100));
        assert_eq!(query.server_group_id.as_deref(), Some("g"));
        assert_eq!(query.server_id, None);
    }
}
