//! Batch reboot throughput against the simulator: 1,000 servers, 50 ms simulated latency per
//! request, AK/SK signed over real HTTP. Prints wall time next to the bound
//! `ceil(1000 / 20) / concurrency × 50 ms` and the requests sent (50 when nothing fails).
//! Asserts correctness (every server rebooted once, 50 requests), never speed.
//!
//! Run: `cargo bench --features simulator --bench workspace_reboot` (TFWS_BENCH_QUICK=1 for one run per setting).
//! Under `cargo test --all-targets` it runs one small smoke round instead.

use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig, DEFAULT_MAX_CONCURRENCY};
use tfws::workspace::simulator::{CredentialsConfig, Simulator, SimulatorConfig};
use tfws::workspace::wire::{RebootType, MAX_IDS_PER_BATCH};
use tfws::workspace::Credentials;
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
}
