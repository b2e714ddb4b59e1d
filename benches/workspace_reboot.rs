//! Reboot and wait against the simulator over real HTTP, AK/SK signed. Two parts:
//!
//! 1. **Batch reboot throughput**: 1,000 servers, 50 ms simulated latency per request. Prints
//!    wall time next to the bound `ceil(1000 / 20) / concurrency × 50 ms` and the requests sent
//!    (50 when nothing fails).
//! 2. **Waiting figures** (issue 8): 1,000 servers of one group in a project of 2,500, a
//!    reboot of 60 s scaled down ten times (1 s pending + 5 s rebooting), 10 ms latency per
//!    request (about 100 ms real). For each way of waiting: total API requests (pre-flight,
//!    reboot and wait), requests spent waiting, and the seconds from the last server ready
//!    (its latest `update_time` in the simulator) to the wait's return, plus the same figure
//!    scaled back up to real time. The ways, all at the same scale and judged by the same
//!    readiness rules:
//!    - the shared poller with its pre-flight (steady 5 s interval → 0.5 s);
//!    - per-server GETs on the old schedule (5 s doubling to 30 s → 0.5 s doubling to 3 s);
//!    - per-server GETs at the steady interval;
//!    - the existing Go provider's method: list every server of the project (pages of 100)
//!      every 15 s after a first delay of 10 s (→ every 1.5 s after 1 s).
//!
//! Asserts correctness (every server rebooted once and idle when the wait returns), never
//! speed. Run: `cargo bench --features simulator --bench workspace_reboot` (`TFWS_BENCH_QUICK=1`: one run per
//! setting, and the waiting figures once). Under `cargo test --all-targets` it runs one small
//! smoke round of each part instead.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tfws::workspace::client::{Client, ClientConfig, DEFAULT_MAX_CONCURRENCY};
use tfws::workspace::poller::Poller;
use tfws::workspace::readiness::{self, Condition};
use tfws::workspace::simulator::{
    CredentialsConfig, RebootPhase, RebootTiming, ServerSpec, Simulator, SimulatorConfig,
    SimulatorHandle,
};
use tfws::workspace::wait::{parse_api_time, WaitOptions};
use tfws::workspace::wire::{AppServer, ListQuery, RebootType, MAX_IDS_PER_BATCH, MAX_LIST_LIMIT};
use tfws::workspace::Credentials;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const AK: &str = "BENCHMARKAK000000001";
const SK: &str = "benchmark-secret-key";
const LATENCY_MS: u64 = 50;

struct Run {
    wall: Duration,
    requests: usize,
}

async fn one_run(servers: u32, concurrency: usize) -> Run {
    let config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        server_count: servers,
        faults: tfws::workspace::simulator::Faults {
            latency_ms: LATENCY_MS,
            ..Default::default()
        },
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.expect("simulator starts");
    let url = url::Url::parse(&sim.base_url()).expect("simulator URL");
    let mut client_config = ClientConfig::new(url, PROJECT, Credentials::ak_sk(AK, SK));
    // The bench measures the client and the simulator, not the request budget.
    client_config.max_requests_per_second = 1e9;
    client_config.max_concurrency = concurrency;
    let client = Client::new(client_config).expect("client builds");
    let ids: Vec<String> = sim.state().servers.into_iter().map(|s| s.id).collect();

    let started = Instant::now();
    let report = client
        .batch_reboot(
            &ids,
            RebootType::Soft,
            &CancellationToken::new(),
            Instant::now() + Duration::from_secs(600),
        )
        .await;
    let wall = started.elapsed();

    assert!(report.all_rebooted(), "failures: {:?}", report.failed);
    assert_eq!(report.rebooted.len(), ids.len());
    assert!(sim.reboot_counts().values().all(|&c| c == 1));
    sim.shutdown().await;
    Run {
        wall,
        requests: report.requests_sent,
    }
}

fn bound(servers: u32, concurrency: usize) -> Duration {
    let batches = u64::from(servers).div_ceil(MAX_IDS_PER_BATCH as u64);
    Duration::from_secs_f64(batches as f64 / concurrency as f64 * LATENCY_MS as f64 / 1000.0)
}

/// What whole rounds allow: `ceil(batches / concurrency) × latency` (the last round may be
/// partly empty, which the formula above ignores).
fn round_bound(servers: u32, concurrency: usize) -> Duration {
    let batches = u64::from(servers).div_ceil(MAX_IDS_PER_BATCH as u64);
    let rounds = batches.div_ceil(concurrency as u64);
    Duration::from_millis(rounds * LATENCY_MS)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The simulated fleet and how far time is scaled down.
struct WaitScale {
    /// Servers rebooted, all in one group.
    group: u32,
    /// Servers in the project (the group included).
    project: u32,
    timing: RebootTiming,
    latency_ms: u64,
    /// Real seconds per simulated second.
    scale: f64,
}

impl WaitScale {
    fn real(&self, real: Duration) -> Duration {
        real.div_f64(self.scale)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitMethod {
    Poller,
    PerServerDoubling,
    PerServerSteady,
    GoListing,
}

impl WaitMethod {
    const ALL: [WaitMethod; 4] = [
        WaitMethod::Poller,
        WaitMethod::PerServerDoubling,
        WaitMethod::PerServerSteady,
        WaitMethod::GoListing,
    ];

    fn name(self) -> &'static str {
        match self {
            WaitMethod::Poller => "shared poller + pre-flight (5 s steady)",
            WaitMethod::PerServerDoubling => "per-server GETs, 5 s doubling to 30 s",
            WaitMethod::PerServerSteady => "per-server GETs, 5 s steady",
            WaitMethod::GoListing => "Go provider: list all every 15 s after 10 s",
        }
    }
}

#[derive(Debug)]
struct WaitFigures {
    total_requests: usize,
    wait_requests: usize,
    /// From the last server ready to the wait's return, simulated seconds.
    lag_s: f64,
    wall_s: f64,
}

const GROUP: &str = "bench-group";

/// The readiness rules of the waiter, for the methods written out here: ready when the
/// snapshot is Up and the reboot was seen or `update_time` is after the request.
#[derive(Default)]
struct Judge {
    reboot_seen: BTreeSet<String>,
    done: BTreeSet<String>,
}

impl Judge {
    fn observe(&mut self, server: &AppServer, requested_at: OffsetDateTime) {
        if server.shows_reboot() {
            self.reboot_seen.insert(server.id.clone());
        }
        let updated_after = server
            .update_time
            .as_deref()
            .and_then(parse_api_time)
            .is_some_and(|t| t > requested_at);
        match readiness::assess(server) {
            Condition::Up if updated_after || self.reboot_seen.contains(&server.id) => {
                self.done.insert(server.id.clone());
            }
            Condition::DeadEnd { .. } => {
                self.done.insert(server.id.clone());
            }
            _ => {}
        }
    }
}

async fn per_server(
    client: &Client,
    ids: &[String],
    first: Duration,
    max: Duration,
    requested_at: OffsetDateTime,
    deadline: Instant,
) {
    let cancel = CancellationToken::new();
    let mut judge = Judge::default();
    let mut interval = first;
    loop {
        let pending: Vec<&String> = ids.iter().filter(|id| !judge.done.contains(*id)).collect();
        if pending.is_empty() || Instant::now() >= deadline {
            return;
        }
        let answers: Vec<_> = stream::iter(pending)
            .map(|id| client.get_server(id, &cancel, deadline))
            .buffer_unordered(DEFAULT_MAX_CONCURRENCY)
            .collect()
            .await;
        for server in answers.into_iter().flatten() {
            judge.observe(&server, requested_at);
        }
        if ids.iter().all(|id| judge.done.contains(id)) {
            return;
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(max);
    }
}

async fn go_listing(
    client: &Client,
    ids: &[String],
    scale: &WaitScale,
    requested_at: OffsetDateTime,
    deadline: Instant,
) {
    let cancel = CancellationToken::new();
    let mut judge = Judge::default();
    tokio::time::sleep(scale.real(Duration::from_secs(10))).await;
    loop {
        // Pages of 100 until a short page, one after the other, as the Go provider does.
        let mut offset = 0u32;
        loop {
            let query = ListQuery {
                offset: Some(offset),
                limit: Some(MAX_LIST_LIMIT),
                ..ListQuery::default()
            };
            let Ok(page) = client.list_servers(&query, &cancel, deadline).await else {
                break;
            };
            for server in &page.items {
                judge.observe(server, requested_at);
            }
            if page.items.len() < MAX_LIST_LIMIT as usize {
                break;
            }
            offset += MAX_LIST_LIMIT;
        }
        if ids.iter().all(|id| judge.done.contains(id)) || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(scale.real(Duration::from_secs(15))).await;
    }
}

async fn wait_run(method: WaitMethod, scale: &WaitScale) -> WaitFigures {
    let config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        servers: (1..=scale.group)
            .map(|n| ServerSpec::with_id(format!("bench-{n:05}")).in_group(GROUP))
            .collect(),
        server_count: scale.project - scale.group,
        reboot: scale.timing,
        faults: tfws::workspace::simulator::Faults {
            latency_ms: scale.latency_ms,
            ..Default::default()
        },
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.expect("simulator starts");
    let client = bench_client(&sim, DEFAULT_MAX_CONCURRENCY);
    let ids: Vec<String> = (1..=scale.group).map(|n| format!("bench-{n:05}")).collect();
    let cancel = CancellationToken::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    let poller = Poller::new(client.clone());
    let started = Instant::now();

    if method == WaitMethod::Poller {
        let preflight = poller
            .preflight(&ids, &cancel, deadline)
            .await
            .expect("pre-flight succeeds");
        assert!(preflight.is_clear(), "{}", preflight.problems_text());
    }
    let requested_at = OffsetDateTime::now_utc();
    let report = client
        .batch_reboot(&ids, RebootType::Soft, &cancel, deadline)
        .await;
    assert!(report.all_rebooted(), "failures: {:?}", report.failed);
    let before_wait = sim.requests().len();

    let interval = scale.real(Duration::from_secs(5));
    match method {
        WaitMethod::Poller => {
            let options = WaitOptions {
                interval,
                settle: scale.real(Duration::from_secs(60)),
                reboot_requested_at: Some(requested_at),
            };
            let waited = poller
                .wait_until_ready(&ids, &options, &cancel, deadline)
                .await;
            assert!(waited.all_ready());
        }
        WaitMethod::PerServerDoubling => {
            let max = scale.real(Duration::from_secs(30));
            per_server(&client, &ids, interval, max, requested_at, deadline).await;
        }
        WaitMethod::PerServerSteady => {
            per_server(&client, &ids, interval, interval, requested_at, deadline).await;
        }
        WaitMethod::GoListing => go_listing(&client, &ids, scale, requested_at, deadline).await,
    }
    let returned = OffsetDateTime::now_utc();
    let wall = started.elapsed();
    let total = sim.requests().len();

    let state = sim.state();
    let wanted: BTreeSet<&String> = ids.iter().collect();
    let mut last_ready = None;
    for server in state.servers.iter().filter(|s| wanted.contains(&s.id)) {
        assert_eq!(
            server.phase,
            RebootPhase::Idle,
            "{} still rebooting",
            server.id
        );
        assert_eq!(server.reboot_count, 1, "{}", server.id);
        let ready = parse_api_time(&server.update_time).expect("simulator time parses");
        last_ready = last_ready.max(Some(ready));
    }
    let last_ready = last_ready.expect("servers were rebooted");
    sim.shutdown().await;
    WaitFigures {
        total_requests: total,
        wait_requests: total - before_wait,
        lag_s: (returned - last_ready).as_seconds_f64(),
        wall_s: wall.as_secs_f64(),
    }
}

fn bench_client(sim: &SimulatorHandle, concurrency: usize) -> Client {
    let url = url::Url::parse(&sim.base_url()).expect("simulator URL");
    let mut client_config = ClientConfig::new(url, PROJECT, Credentials::ak_sk(AK, SK));
    // These measure waiting and listing, not the request budget.
    client_config.max_requests_per_second = 1e9;
    client_config.max_concurrency = concurrency;
    Client::new(client_config).expect("client builds")
}

fn wait_figures(runtime: &tokio::runtime::Runtime, quick: bool) {
    let scale = WaitScale {
        group: 1_000,
        project: 2_500,
        timing: RebootTiming {
            pending_ms: 1_000,
            rebooting_ms: 5_000,
            registering_ms: 100,
        },
        latency_ms: 10,
        scale: 10.0,
    };
    let runs = if quick { 1 } else { 3 };
    println!();
    println!(
        "waiting figures: {} servers of one group in a project of {}, a 60 s reboot scaled \
         down {}x ({} ms pending + {} ms rebooting), {} ms latency per request, {} run(s) each \
         (median lag)",
        scale.group,
        scale.project,
        scale.scale,
        scale.timing.pending_ms,
        scale.timing.rebooting_ms,
        scale.latency_ms,
        runs
    );
    println!(
        "  {:<46}  {:>8}  {:>8}  {:>12}  {:>13}  {:>7}",
        "method", "requests", "waiting", "lag s (sim)", "lag s (real)", "wall s"
    );
    let mut rows: BTreeMap<usize, String> = BTreeMap::new();
    for (index, method) in WaitMethod::ALL.into_iter().enumerate() {
        let mut all: Vec<WaitFigures> = (0..runs)
            .map(|_| runtime.block_on(wait_run(method, &scale)))
            .collect();
        all.sort_by(|a, b| a.lag_s.total_cmp(&b.lag_s));
        let median = &all[runs / 2];
        rows.insert(
            index,
            format!(
                "  {:<46}  {:>8}  {:>8}  {:>12.2}  {:>13.1}  {:>7.1}",
                method.name(),
                median.total_requests,
                median.wait_requests,
                median.lag_s,
                median.lag_s * scale.scale,
                median.wall_s
            ),
        );
        println!("{}", rows[&index]);
    }
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let quick = std::env::var_os("TFWS_BENCH_QUICK").is_some_and(|v| v != "0");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    if !bench_mode {
        // Test mode: a small smoke round checks the plumbing.
        let run = runtime.block_on(one_run(100, DEFAULT_MAX_CONCURRENCY));
        assert_eq!(run.requests, 5);
        println!(
            "workspace_reboot smoke: 100 servers in {:.1} ms, 5 requests",
            ms(run.wall)
        );
        let smoke = WaitScale {
            group: 100,
            project: 250,
            timing: RebootTiming {
                pending_ms: 100,
                rebooting_ms: 300,
                registering_ms: 100,
            },
            latency_ms: 0,
            scale: 100.0,
        };
        for method in WaitMethod::ALL {
            let figures = runtime.block_on(wait_run(method, &smoke));
            println!(
                "workspace_reboot wait smoke: {}: {figures:?}",
                method.name()
            );
        }
        return;
    }

    let servers = 1_000u32;
    let runs = if quick { 1 } else { 5 };
    println!(
        "batch reboot benchmark: {servers} servers, {LATENCY_MS} ms simulated latency per request, \
         AK/SK signed, median of {runs} run(s)"
    );
    println!(
        "  {:>11}  {:>10}  {:>10}  {:>6}  {:>15}  {:>8}",
        "concurrency", "wall ms", "bound ms", "ratio", "whole rounds ms", "requests"
    );
    for concurrency in [1usize, 2, DEFAULT_MAX_CONCURRENCY, 8, 16] {
        let mut walls = Vec::with_capacity(runs);
        let mut requests = 0;
        for _ in 0..runs {
            let run = runtime.block_on(one_run(servers, concurrency));
            assert_eq!(run.requests, 50, "requests sent");
            requests = run.requests;
            walls.push(run.wall);
        }
        walls.sort();
        let median = walls[runs / 2];
        let bound = bound(servers, concurrency);
        println!(
            "  {:>11}  {:>10.1}  {:>10.1}  {:>6.3}  {:>15.1}  {:>8}{}",
            concurrency,
            ms(median),
            ms(bound),
            median.as_secs_f64() / bound.as_secs_f64(),
            ms(round_bound(servers, concurrency)),
            requests,
            if concurrency == DEFAULT_MAX_CONCURRENCY {
                "  (default)"
            } else {
                ""
            }
        );
    }
    wait_figures(&runtime, quick);
}
