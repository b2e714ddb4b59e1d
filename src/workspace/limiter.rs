//! Request budgets: one token bucket per API, shared by every [`Client`] of the process that
//! calls the same endpoint, project and user, slowed down by the 429s of that API alone, and
//! counted.
//!
//! Rules:
//!
//! - **One budget per API.** Huawei's gateway throttles per API and user: its throttling pages
//!   define a quota as "the maximum number of calls made to a single API within a specified time
//!   window" (e.g. "10/1(s)" per API, user and source IP), and the Workspace API pages give a
//!   limit per API and user. So [`ApiBudgets`] holds one [`RateLimiter`] per [`Api`], each with
//!   the configured ceiling (`max_requests_per_second` is the ceiling *per API*), and a 429
//!   slows down only the API it answered: a busy listing does not hold back the reboots.
//! - **Shared.** [`ApiBudgets::shared`] hands out one set of budgets per key (the client uses
//!   the base URL, the project ID and who the credentials are), so every client built in one
//!   provider process — one per resource, data source or action — draws on the same budgets.
//!   They live as long as a client holds them. When clients sharing a key were configured with
//!   different rates, the lowest one is the ceiling of every API.
//! - **Token bucket.** At most `rate` requests a second on average per API, with a burst of one
//!   second's worth of requests (at least one). It is implemented as GCRA (the "virtual
//!   scheduling" form of a token bucket): each call reserves the next free slot and sleeps until
//!   it, so waiting callers are served in order and nobody polls.
//! - **AIMD on 429.** A 429 halves the rate of its API (not below [`MIN_REQUESTS_PER_SECOND`] or
//!   the ceiling, whichever is lower) and drops its burst to one request. Only a request sent
//!   *after* the last decrease can decrease it again, so the burst of 429s that answers requests
//!   already in flight counts once. After a decrease the rate grows back by a tenth of the
//!   ceiling every [`RECOVERY_INTERVAL`] (so from half to full in 50 s, about one quota window of
//!   a minute).
//! - **Counted.** Per API: the requests sent, the 429 answers, and the time callers spent
//!   waiting for a slot ([`ApiStats`]), from the budgets' creation on: in the provider, whose
//!   one client lives as long as the process, the process's totals.
//! - **Time** is tokio's clock, so tests run it paused.
//!
//! Why not the `governor` crate: its quota is fixed when the limiter is built, and AIMD needs
//! the rate to change while callers are waiting; GCRA with an adjustable interval is a few
//! lines on top of tokio's clock.
//!
//! [`Client`]: crate::workspace::Client

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::retry::Interrupted;
use crate::workspace::wire::Api;

/// Default ceiling of the request rate of each API.
///
/// Why 1.5 a second (90 a minute) per API: Huawei does not publish the Workspace APP quotas.
/// The Workspace (desktop) API reference lists a limit per API and user of 200 calls a minute
/// for most queries and 100 a minute for most changes ("Notes and Constraints",
/// <https://support.huaweicloud.com/intl/en-us/api-workspace/workspace_09_0005.html>), and
/// Huawei's throttling pages count quotas per API and user ("the maximum number of calls made
/// to a single API within a specified time window", e.g.
/// <https://support.huaweicloud.com/intl/en-us/api-oce/fci_00002.html>). 90 a minute (plus a
/// burst of 2) stays below the lowest of those figures on every API, and leaves a tenth of it
/// to the account's other tools. It is still plenty: a list page answers 100 servers, so one
/// request a second keeps 100 servers a second under watch, and a batch reboot request carries
/// 20 servers. Raise it (`max_requests_per_second`) when the account's quota is known to be
/// higher; a 429 still halves the rate of its API on its own.
pub const DEFAULT_MAX_REQUESTS_PER_SECOND: f64 = 1.5;
/// The rate never drops below this after 429s (one request every 20 s), unless the ceiling is
/// lower: progress continues while the retries' own backoff keeps the pressure low.
pub const MIN_REQUESTS_PER_SECOND: f64 = 0.05;
/// After a decrease, the rate grows by a tenth of the ceiling every this long.
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Tenths: the number of [`RECOVERY_INTERVAL`]s from zero to the ceiling.
const RECOVERY_STEPS: f64 = 10.0;

/// The request budget of one API. See the module documentation.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests a second when not throttled (the configured rate).
    ceiling: f64,
    /// The last decrease: when, and the rate it set. `None`: never throttled, or recovered.
    decreased: Option<(Instant, f64)>,
    /// Bumped by every decrease; a 429 to a request of an older generation is ignored.
    generation: u64,
    /// GCRA's theoretical arrival time: the next slot if requests came exactly at the rate.
    tat: Instant,
    counts: Counts,
}

/// What a limiter has counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    requests: u64,
    throttled: u64,
    waited: Duration,
}

/// What [`RateLimiter::acquire`] hands out; give it back to [`RateLimiter::throttled`] when the
/// request was answered 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
}

/// The figures of one API's budget (see [`ApiBudgets::stats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiStats {
    pub api: Api,
    /// Requests sent (every attempt, retries included).
    pub requests: u64,
    /// Answers 429 (throttled by the gateway).
    pub throttled_429: u64,
    /// Time callers spent waiting for a slot of the budget, all callers added up.
    pub waited: Duration,
    /// The rate now (requests a second): the ceiling, or less after a 429.
    pub requests_per_second: f64,
}

/// `workspace API budget: api=list-servers requests=12 throttled_429=1 waited_s=3.5
/// requests_per_second=1.5` (one line): the requests sent, the 429 answers, the seconds callers
/// waited for the budget, and the rate now.
impl std::fmt::Display for ApiStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "workspace API budget: api={} requests={} throttled_429={} waited_s={:.1} requests_per_second={}",
            self.api,
            self.requests,
            self.throttled_429,
            self.waited.as_secs_f64(),
            self.requests_per_second
        )
    }
}

/// A valid ceiling: positive and finite (checked by the client's configuration; this keeps the
/// limiter total anyway).
fn sane(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        DEFAULT_MAX_REQUESTS_PER_SECOND
    }
}

impl RateLimiter {
    /// A limiter of its own (not shared), at most `max_requests_per_second`.
    pub fn new(max_requests_per_second: f64) -> Self {
        RateLimiter {
            state: Mutex::new(State {
                ceiling: sane(max_requests_per_second),
                decreased: None,
                generation: 0,
                tat: Instant::now(),
                counts: Counts::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent (every update is
        // a few assignments), so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lower_ceiling(&self, rate: f64) {
        let mut state = self.lock();
        state.ceiling = state.ceiling.min(sane(rate));
    }

    /// The configured rate (requests a second).
    pub fn ceiling(&self) -> f64 {
        self.lock().ceiling
    }

    /// The rate now (requests a second): the ceiling, or less after a 429.
    pub fn rate(&self) -> f64 {
        let mut state = self.lock();
        state.rate(Instant::now())
    }

    /// Wait for the next slot of the budget. Ends early (without using a slot) on cancellation
    /// or when the slot would come after `deadline`. The time waited is counted.
    pub async fn acquire(
        &self,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Ticket, Interrupted> {
        let begun = Instant::now();
        let (start, ticket) = self.reserve(begun, deadline)?;
        let result = if start > Instant::now() {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => Err(Interrupted::Cancelled),
                _ = tokio::time::sleep_until(start) => Ok(ticket),
            }
        } else if cancel.is_cancelled() {
            Err(Interrupted::Cancelled)
        } else {
            Ok(ticket)
        };
        let waited = Instant::now().saturating_duration_since(begun);
        if !waited.is_zero() {
            self.lock().counts.waited += waited;
        }
        result
    }

    /// Reserve the next slot (GCRA): when it comes, and the ticket of the request it is for.
    fn reserve(&self, now: Instant, deadline: Instant) -> Result<(Instant, Ticket), Interrupted> {
        let mut state = self.lock();
        let rate = state.rate(now);
        let interval = Duration::from_secs_f64(1.0 / rate);
        // A burst of one second's worth while unthrottled; none while throttled.
        let burst = if state.decreased.is_none() {
            rate.ceil().max(1.0)
        } else {
            1.0
        };
        let tolerance = interval.mul_f64(burst - 1.0);
        let earliest = state.tat.checked_sub(tolerance).unwrap_or(now);
        let start = earliest.max(now);
        if start >= deadline {
            return Err(Interrupted::Deadline);
        }
        state.tat = state.tat.max(start) + interval;
        let ticket = Ticket {
            generation: state.generation,
        };
        Ok((start, ticket))
    }

    /// A request was sent (counted in [`ApiStats::requests`]).
    pub fn sent(&self) {
        self.lock().counts.requests += 1;
    }

    /// The request of `ticket` was answered 429: count it, and halve the rate, unless a
    /// decrease already happened since the request was let through.
    pub fn throttled(&self, ticket: Ticket) {
        let mut state = self.lock();
        state.counts.throttled += 1;
        if ticket.generation != state.generation {
            return;
        }
        let now = Instant::now();
        let floor = MIN_REQUESTS_PER_SECOND.min(state.ceiling);
        let halved = (state.rate(now) / 2.0).max(floor);
        state.decreased = Some((now, halved));
        state.generation += 1;
        // Slots already handed out keep their times; the next one comes one new interval after
        // the last of them.
        tracing::debug!(
            requests_per_second = halved,
            "workspace API: throttled (429), this API slows down"
        );
    }

    fn stats(&self, api: Api) -> ApiStats {
        let mut state = self.lock();
        let counts = state.counts;
        ApiStats {
            api,
            requests: counts.requests,
            throttled_429: counts.throttled,
            waited: counts.waited,
            requests_per_second: state.rate(Instant::now()),
        }
    }
}

impl State {
    /// The rate at `now`, recovering additively after a decrease (and forgetting the decrease
    /// once fully recovered).
    fn rate(&mut self, now: Instant) -> f64 {
        let Some((at, rate_then)) = self.decreased else {
            return self.ceiling;
        };
        let steps = (now.saturating_duration_since(at).as_secs_f64()
            / RECOVERY_INTERVAL.as_secs_f64())
        .floor();
        let rate = rate_then + steps * self.ceiling / RECOVERY_STEPS;
        if rate >= self.ceiling {
            self.decreased = None;
            self.ceiling
        } else {
            rate
        }
    }
}

/// One [`RateLimiter`] per [`Api`]: the budgets of one endpoint, project and user. See the
/// module documentation.
#[derive(Debug)]
pub struct ApiBudgets {
    /// In the order of [`Api::ALL`].
    limiters: Vec<RateLimiter>,
}

fn registry() -> &'static Mutex<HashMap<String, Weak<ApiBudgets>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<ApiBudgets>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

impl ApiBudgets {
    /// Budgets of their own (not shared), each API at most `max_requests_per_second`.
    pub fn new(max_requests_per_second: f64) -> Self {
        ApiBudgets {
            limiters: Api::ALL
                .iter()
                .map(|_| RateLimiter::new(max_requests_per_second))
                .collect(),
        }
    }

    /// The budgets of this process for `key`, created on first use. A lower
    /// `max_requests_per_second` than the current ceiling lowers it for every API.
    pub fn shared(key: &str, max_requests_per_second: f64) -> Arc<ApiBudgets> {
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, budgets| budgets.strong_count() > 0);
        if let Some(budgets) = map.get(key).and_then(Weak::upgrade) {
            for limiter in &budgets.limiters {
                limiter.lower_ceiling(max_requests_per_second);
            }
            return budgets;
        }
        let budgets = Arc::new(ApiBudgets::new(max_requests_per_second));
        map.insert(key.to_owned(), Arc::downgrade(&budgets));
        budgets
    }

    /// The budget of `api`.
    pub fn limiter(&self, api: Api) -> &RateLimiter {
        // `limiters` has one entry per `Api::ALL`, so the index is always in range.
        &self.limiters[api.index()]
    }

    /// The configured rate of every API (requests a second).
    pub fn ceiling(&self) -> f64 {
        self.limiter(Api::ListServers).ceiling()
    }

    /// The rate of `api` now (requests a second): the ceiling, or less after a 429.
    pub fn rate(&self, api: Api) -> f64 {
        self.limiter(api).rate()
    }

    /// The figures of every API, in the order of [`Api::ALL`].
    pub fn stats(&self) -> Vec<ApiStats> {
        Api::ALL
            .iter()
            .map(|api| self.limiter(*api).stats(*api))
            .collect()
    }

    /// Logs one INFO line per API that sent a request so far (see [`ApiStats`]'s `Display`).
    pub fn log_stats(&self) {
        for stats in self.stats().iter().filter(|s| s.requests > 0) {
            tracing::info!("{stats}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    /// Offsets (in ms from the first call) at which `n` sequential acquisitions got through.
    async fn offsets(limiter: &RateLimiter, n: usize) -> Vec<u128> {
        let cancel = CancellationToken::new();
        let begin = Instant::now();
        let mut at = Vec::new();
        for _ in 0..n {
            limiter.acquire(&cancel, far()).await.unwrap();
            at.push((Instant::now() - begin).as_millis());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_rate_after_a_burst() {
        let limiter = RateLimiter::new(2.0);
        assert_eq!(
            offsets(&limiter, 6).await,
            vec![0, 0, 500, 1000, 1500, 2000]
        );
        // Idle time refills the bucket up to the burst, not beyond.
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(offsets(&limiter, 4).await, vec![0, 0, 500, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_halves_the_rate_once_per_generation_and_it_recovers() {
        let limiter = RateLimiter::new(4.0);
        let cancel = CancellationToken::new();
        let in_flight: Vec<Ticket> = {
            let mut tickets = Vec::new();
            for _ in 0..3 {
                tickets.push(limiter.acquire(&cancel, far()).await.unwrap());
            }
            tickets
        };
        for ticket in &in_flight {
            limiter.throttled(*ticket);
        }
        // Three 429s to requests sent before the decrease count as one.
        assert_eq!(limiter.rate(), 2.0);
        // Spaced at the halved rate, without a burst.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(offsets(&limiter, 3).await, vec![0, 500, 1000]);
        // A 429 to a request sent after the decrease halves again.
        let after = limiter.acquire(&cancel, far()).await.unwrap();
        limiter.throttled(after);
        assert_eq!(limiter.rate(), 1.0);
        // Recovery: a tenth of the ceiling every interval, up to the ceiling.
        tokio::time::sleep(RECOVERY_INTERVAL).await;
        assert!((limiter.rate() - 1.4).abs() < 1e-9, "{}", limiter.rate());
        tokio::time::sleep(RECOVERY_INTERVAL * 7).await;
        assert_eq!(limiter.rate(), 4.0);
        tokio::time::sleep(RECOVERY_INTERVAL * 10).await;
        assert_eq!(limiter.rate(), 4.0);
    }

    #[test]
    fn the_rate_has_a_floor() {
        let limiter = RateLimiter::new(1.0);
        for _ in 0..20 {
            let current = Ticket {
                generation: limiter.lock().generation,
            };
            limiter.throttled(current);
        }
        assert_eq!(limiter.rate(), MIN_REQUESTS_PER_SECOND);
        // A ceiling below the floor is kept.
        let tiny = RateLimiter::new(0.01);
        tiny.throttled(Ticket { generation: 0 });
        assert_eq!(tiny.rate(), 0.01);
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_and_cancel_end_the_wait_without_using_a_slot() {
        let limiter = RateLimiter::new(1.0);
        let cancel = CancellationToken::new();
        limiter.acquire(&cancel, far()).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(500);
        assert_eq!(
            limiter.acquire(&cancel, soon).await,
            Err(Interrupted::Deadline)
        );
        // The refused call used no slot: the next one comes one interval after the first.
        let begin = Instant::now();
        limiter.acquire(&cancel, far()).await.unwrap();
        assert_eq!(Instant::now() - begin, Duration::from_secs(1));
        let cancelled = CancellationToken::new();
        cancelled.cancel();
        assert_eq!(
            limiter.acquire(&cancelled, far()).await,
            Err(Interrupted::Cancelled)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_budget() {
        let first = ApiBudgets::shared("test-shared-budget", 2.0);
        let second = ApiBudgets::shared("test-shared-budget", 5.0);
        assert!(Arc::ptr_eq(&first, &second));
        // The lower of the two configured rates is the ceiling, of every API.
        assert_eq!(second.ceiling(), 2.0);
        assert!(Api::ALL.iter().all(|api| second.rate(*api) == 2.0));
        let other = ApiBudgets::shared("test-other-budget", 2.0);
        assert!(!Arc::ptr_eq(&first, &other));

        let begin = Instant::now();
        let mut tasks = Vec::new();
        for budgets in [first.clone(), second.clone(), first, second] {
            for _ in 0..2 {
                let budgets = budgets.clone();
                tasks.push(tokio::spawn(async move {
                    budgets
                        .limiter(Api::ListServers)
                        .acquire(&CancellationToken::new(), far())
                        .await
                        .unwrap();
                    (Instant::now() - begin).as_millis()
                }));
            }
        }
        let mut at = Vec::new();
        for task in tasks {
            at.push(task.await.unwrap());
        }
        at.sort_unstable();
        // Eight requests to one API through one budget of 2/s with a burst of 2.
        assert_eq!(at, vec![0, 0, 500, 1000, 1500, 2000, 2500, 3000]);
    }

    #[test]
    fn budgets_are_dropped_with_their_last_client() {
        let key = "test-dropped-budget";
        let budgets = ApiBudgets::shared(key, 1.0);
        drop(budgets);
        // Fresh ones with their own ceiling.
        assert_eq!(ApiBudgets::shared(key, 3.0).ceiling(), 3.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_slows_down_only_its_own_api() {
        let budgets = ApiBudgets::new(4.0);
        let cancel = CancellationToken::new();
        let listing = budgets.limiter(Api::ListServers);
        let ticket = listing.acquire(&cancel, far()).await.unwrap();
        listing.throttled(ticket);
        assert_eq!(budgets.rate(Api::ListServers), 2.0);
        // Every other API keeps its full rate and its burst.
        for api in Api::ALL.iter().filter(|api| **api != Api::ListServers) {
            assert_eq!(budgets.rate(*api), 4.0, "{api}");
        }
        assert_eq!(
            offsets(budgets.limiter(Api::BatchReboot), 6).await,
            vec![0, 0, 0, 0, 250, 500]
        );
        // The throttled API: spaced at the halved rate, without a burst.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(offsets(listing, 3).await, vec![0, 500, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_429s_and_waiting_are_counted_per_api() {
        let budgets = ApiBudgets::new(1.0);
        let cancel = CancellationToken::new();
        let show = budgets.limiter(Api::ShowServer);
        // Three requests at 1/s without a burst: the second waits 1 s, the third 1 s more.
        for _ in 0..3 {
            show.acquire(&cancel, far()).await.unwrap();
            show.sent();
        }
        let ticket = show.acquire(&cancel, far()).await.unwrap();
        show.sent();
        show.throttled(ticket);
        // A second 429 of the same generation is counted, though it does not slow down again.
        show.throttled(ticket);
        // Another API waits for nothing.
        let reboot = budgets.limiter(Api::BatchReboot);
        reboot.acquire(&cancel, far()).await.unwrap();
        reboot.sent();
        // A cancelled wait counts the time it lasted.
        let cancelled = CancellationToken::new();
        let canceller = cancelled.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            canceller.cancel();
        });
        assert_eq!(
            show.acquire(&cancelled, far()).await,
            Err(Interrupted::Cancelled)
        );

        let stats = budgets.stats();
        assert_eq!(stats.len(), Api::ALL.len());
        let of = |api: Api| stats.iter().find(|s| s.api == api).cloned().unwrap();
        let show_stats = of(Api::ShowServer);
        assert_eq!(show_stats.requests, 4);
        assert_eq!(show_stats.throttled_429, 2);
        assert_eq!(show_stats.waited, Duration::from_millis(3_300));
        assert_eq!(show_stats.requests_per_second, 0.5);
        let reboot_stats = of(Api::BatchReboot);
        assert_eq!((reboot_stats.requests, reboot_stats.throttled_429), (1, 0));
        assert_eq!(reboot_stats.waited, Duration::ZERO);
        assert_eq!(reboot_stats.requests_per_second, 1.0);
        assert_eq!(of(Api::Logoff).requests, 0);
        assert_eq!(
            show_stats.to_string(),
            "workspace API budget: api=show-server requests=4 throttled_429=2 waited_s=3.3 requests_per_second=0.5"
        );
    }
}
