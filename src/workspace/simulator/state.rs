//! State shared by the HTTP handlers and the handle: servers, configuration that can change at
//! runtime, fault budgets, counters and the request log.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::config::{CredentialsConfig, FaultScope, Faults, QuotaFault, RebootTiming};
use super::errors::ApiError;
use super::log::{Operation, RequestLog};
use super::servers::{ServerSnapshot, ServerTable};
use super::sessions::FleetReport;
use crate::workspace::wire::Api;

/// The limit a throttling message names when no quota is configured (the Workspace desktop
/// API pages speak of 100–200 calls a minute).
pub(crate) const PLACEHOLDER_LIMIT_PER_MINUTE: u32 = 100;

/// How many requests ended which way since the simulator started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounters {
    /// Every API request received (control endpoints excluded).
    pub requests: u64,
    /// Batch reboot requests answered 200.
    pub accepted_reboots: u64,
    /// Answered 429 by the "first N" throttle fault.
    pub throttled: u64,
    /// Answered 429 because the quota (token bucket of the API or the account) was empty.
    pub quota_rejections: u64,
    /// Batch actions answered 409 because they named a busy server (`busy_ids`).
    #[serde(default)]
    pub busy_rejections: u64,
    pub concurrency_rejections: u64,
    pub server_errors: u64,
    pub failing_id_batches: u64,
    pub hung: u64,
    pub auth_failures: u64,
    /// API requests per API, by the client's names ([`Api::name`]: `list-servers`,
    /// `batch-reboot`, …); unknown paths are not counted here.
    #[serde(default)]
    pub requests_by_api: BTreeMap<String, u64>,
    /// Of those, the ones answered 429 (throttle fault, quota or in-flight cap), per API.
    #[serde(default)]
    pub throttled_by_api: BTreeMap<String, u64>,
}

impl RequestCounters {
    /// Counts how a request of `operation` ended: `status`, or `None` when it hangs.
    pub(crate) fn count_answer(&mut self, operation: Operation, status: Option<u16>) {
        if status == Some(401) {
            self.auth_failures += 1;
        }
        if status == Some(200) && operation == Operation::BatchReboot {
            self.accepted_reboots += 1;
        }
        let Some(api) = operation.api() else {
            return;
        };
        *self
            .requests_by_api
            .entry(api.name().to_owned())
            .or_default() += 1;
        if status == Some(429) {
            *self
                .throttled_by_api
                .entry(api.name().to_owned())
                .or_default() += 1;
        }
    }
}

/// A snapshot of everything tests look at (also the body of `GET /_simulator/state`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimulatorState {
    pub project_id: String,
    pub servers: Vec<ServerSnapshot>,
    /// API requests being processed right now.
    pub in_flight: u32,
    /// The most API requests ever processed at once (requests refused by the in-flight cap
    /// are not counted).
    pub peak_in_flight: u32,
    pub counters: RequestCounters,
    pub faults: Faults,
    pub reboot_timing: RebootTiming,
    /// Availability, sessions and per-server history (also `GET /_simulator/fleet`).
    #[serde(default)]
    pub fleet: FleetReport,
}

impl SimulatorState {
    pub fn server(&self, id: &str) -> Option<&ServerSnapshot> {
        self.servers.iter().find(|server| server.id == id)
    }

    /// Reboots accepted per server id (servers never rebooted included, with 0).
    pub fn reboot_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.servers
            .iter()
            .map(|server| (server.id.clone(), server.reboot_count))
            .collect()
    }
}

pub(crate) struct Inner {
    pub project_id: String,
    pub credentials: CredentialsConfig,
    pub timing: RebootTiming,
    pub max_clock_skew: Option<Duration>,
    pub servers: ServerTable,
    pub counters: RequestCounters,
    faults: Faults,
    throttles_left: u32,
    server_errors_left: u32,
    /// The quota's buckets, created full on first use: one per API (`Some`), or one for the
    /// account (`None`) when the quota is not per API.
    buckets: HashMap<Option<Api>, TokenBucket>,
    /// `busy_ids`: how many more 409s each id gets.
    busy_left: BTreeMap<String, u32>,
}

/// A quota bucket: holds at most `capacity` tokens, refilled at `per_sec`.
#[derive(Debug)]
struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    fn new(fault: &QuotaFault) -> Self {
        let capacity = f64::from(fault.limit);
        #[allow(clippy::cast_precision_loss)] // periods are seconds to hours
        let period = fault.period_secs.max(1) as f64;
        Self {
            capacity,
            per_sec: capacity / period,
            tokens: capacity,
            refilled_at: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn in_scope(scope: FaultScope, operation: Operation) -> bool {
    match scope {
        FaultScope::All => true,
        FaultScope::BatchReboot => operation == Operation::BatchReboot,
        FaultScope::Reads => matches!(
            operation,
            Operation::ListServers
                | Operation::ShowServer
                | Operation::ListServerGroups
                | Operation::ListSessions
        ),
        FaultScope::Maintenance => {
            matches!(operation, Operation::BatchMaint | Operation::UpdateServer)
        }
        FaultScope::Sessions => matches!(operation, Operation::ListSessions | Operation::Logoff),
    }
}

impl Inner {
    pub fn new(
        project_id: String,
        credentials: CredentialsConfig,
        timing: RebootTiming,
        max_clock_skew: Option<Duration>,
        servers: ServerTable,
        faults: Faults,
    ) -> Self {
        let mut inner = Self {
            project_id,
            credentials,
            timing,
            max_clock_skew,
            servers,
            counters: RequestCounters::default(),
            faults: Faults::default(),
            throttles_left: 0,
            server_errors_left: 0,
            buckets: HashMap::new(),
            busy_left: BTreeMap::new(),
        };
        inner.set_faults(faults);
        inner
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the faults and restarts the "first N" budgets, the busy servers' counts (and
    /// fills the quota buckets).
    pub fn set_faults(&mut self, faults: Faults) {
        self.buckets.clear();
        self.busy_left = faults.busy_ids.as_ref().map_or_else(BTreeMap::new, |busy| {
            busy.ids.iter().map(|id| (id.clone(), busy.times)).collect()
        });
        self.throttles_left = faults.throttle.as_ref().map_or(0, |fault| fault.first_n);
        self.server_errors_left = faults
            .server_errors
            .as_ref()
            .map_or(0, |fault| fault.first_n);
        self.faults = faults;
    }

    /// Spends one throttle from the budget when this request is in scope.
    pub fn take_throttle(&mut self, operation: Operation) -> Option<ApiError> {
        let fault = self.faults.throttle.as_ref()?;
        if self.throttles_left == 0 || !in_scope(fault.scope, operation) {
            return None;
        }
        self.throttles_left -= 1;
        let (limit, period) = self
            .faults
            .quota
            .as_ref()
            .map_or((PLACEHOLDER_LIMIT_PER_MINUTE, 60), |quota| {
                (quota.limit, quota.period_secs)
            });
        Some(ApiError::throttled(limit, period, fault.retry_after_secs))
    }

    /// Replaces only `error_after_reboot_ids`.
    pub fn set_error_after_reboot(&mut self, ids: Vec<String>) {
        self.faults.error_after_reboot_ids = ids;
    }

    /// Replaces only the quota (full buckets), leaving the other faults' budgets alone.
    pub fn set_quota(&mut self, quota: Option<QuotaFault>) {
        self.buckets.clear();
        self.faults.quota = quota;
    }

    /// Takes one token from the quota of `api` (or of the account, when the quota is not per
    /// API); the 429 to answer when the bucket is empty.
    pub fn take_quota(&mut self, api: Option<Api>) -> Option<ApiError> {
        let quota = self.faults.quota.as_ref()?;
        let key = if quota.per_api { api } else { None };
        let bucket = self
            .buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::new(quota));
        if bucket.take(Instant::now()) {
            return None;
        }
        Some(ApiError::throttled(
            quota.limit,
            quota.period_secs,
            quota.retry_after_secs,
        ))
    }

    /// The 409 to answer a batch action naming `ids` while some of them are busy
    /// (`busy_ids`); each busy id named uses up one of its `times`.
    pub fn take_busy(&mut self, ids: &[String]) -> Option<ApiError> {
        let mut busy = Vec::new();
        for id in ids {
            if let Some(left) = self.busy_left.get_mut(id).filter(|left| **left > 0) {
                *left -= 1;
                busy.push(id.as_str());
            }
        }
        if busy.is_empty() {
            return None;
        }
        self.counters.busy_rejections += 1;
        Some(ApiError::server_busy(&busy))
    }

    /// Spends one injected 5xx from the budget when this request is in scope.
    pub fn take_server_error(&mut self, operation: Operation) -> Option<ApiError> {
        let fault = self.faults.server_errors.as_ref()?;
        if self.server_errors_left == 0 || !in_scope(fault.scope, operation) {
            return None;
        }
        self.server_errors_left -= 1;
        Some(ApiError::server_error(
            fault.status,
            fault.error_code.as_deref(),
            fault.error_msg.as_deref(),
        ))
    }
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub in_flight: AtomicU32,
    pub peak_in_flight: AtomicU32,
    pub next_seq: AtomicU64,
    pub log: RequestLog,
    /// Cancelled when the simulator stops; ends latency sleeps and hanging requests.
    pub shutdown: CancellationToken,
}

impl Shared {
    pub fn new(inner: Inner, log: RequestLog) -> Self {
        Self {
            inner: Mutex::new(inner),
            in_flight: AtomicU32::new(0),
            peak_in_flight: AtomicU32::new(0),
            next_seq: AtomicU64::new(1),
            log,
            shutdown: CancellationToken::new(),
        }
    }

    /// Never held across an `.await`. A panic elsewhere must not take the simulator down,
    /// so a poisoned lock is used as is.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> SimulatorState {
        let now = time::OffsetDateTime::now_utc();
        let mut inner = self.lock();
        SimulatorState {
            project_id: inner.project_id.clone(),
            servers: inner.servers.all(now),
            fleet: inner.servers.fleet_report(now),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            peak_in_flight: self.peak_in_flight.load(Ordering::SeqCst),
            counters: inner.counters.clone(),
            faults: inner.faults.clone(),
            reboot_timing: inner.timing,
        }
    }

    /// Admits one more API request unless that would exceed `cap`; the returned guard
    /// releases the slot when dropped (also when the client disconnects mid-request).
    pub fn enter(&self, cap: Option<u32>) -> Option<InFlight<'_>> {
        let admitted = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |current| match cap {
                Some(cap) if current >= cap => None,
                _ => Some(current + 1),
            })
            .ok()?;
        let now_in_flight = admitted + 1;
        self.peak_in_flight
            .fetch_max(now_in_flight, Ordering::SeqCst);
        Some(InFlight {
            shared: self,
            count: now_in_flight,
        })
    }
}

pub(crate) struct InFlight<'a> {
    shared: &'a Shared,
    /// In flight when admitted, this request included.
    pub count: u32,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
