//! Issue 9's figures: a rolling reboot of 200 servers with `max_unavailable = 50` against the
//! simulator over real HTTP, AK/SK signed, with a reboot of 60 s scaled down 100 times
//! (600 ms: 50 ms pending, 400 ms rebooting, 150 ms registering) and the 5 s polling interval
//! scaled the same way (50 ms). Two runs:
//!
//! 1. **Waves only**: wall time against the bound `waves × reboot time` (4 × 600 ms).
//! 2. **Waves with a drain** (`on_timeout = "logoff"`): every server holds 3 user sessions
//!    that never end by themselves, and new ones keep arriving where allowed; drain timeout
//!    30 s and logoff delay 30 s (scaled: 300 ms each). Bound: `waves × (drain timeout +
//!    logoff delay + reboot time)`.
//!
//! For each: wall time and bound, API requests spent, sessions killed (must be 0 with the
//! drain), and the largest number of servers unavailable at once (the simulator's count;
//! must be ≤ 50). Asserts correctness, never speed. Run:
//! `cargo bench --features simulator --bench rollout`. Under `cargo test --all-targets` it
//! runs one small smoke round instead.

use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig};
use tfws::workspace::poller::Poller;
use tfws::workspace::rollout::{self, DrainPlan, MaxUnavailable, OnTimeout, RolloutPlan};
use tfws::workspace::simulator::{
    CredentialsConfig, RebootTiming, SessionConfig, Simulator, SimulatorConfig,
};
use tfws::workspace::wait::WaitOptions;
use tfws::workspace::wire::RebootType;
use tfws::workspace::Credentials;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const AK: &str = "ROLLOUTBENCHAK000001";
const SK: &str = "rollout-bench-secret-key";
/// One real second lasts this many milliseconds here.
const SECOND_MS: u64 = 10;

struct Figures {
    wall: Duration,
    bound: Duration,
    waves: usize,
    requests: usize,
    killed: u64,
    logged_off: u64,
    max_unavailable: u32,
}

fn scaled(real_secs: u64) -> Duration {
    Duration::from_millis(real_secs * SECOND_MS)
}

async fn one_run(servers: u32, max_unavailable: u64, drain: bool) -> Figures {
    let timing = RebootTiming {
        pending_ms: 5 * SECOND_MS,
        rebooting_ms: 40 * SECOND_MS,
        registering_ms: 15 * SECOND_MS,
    };
    let sessions = if drain {
        SessionConfig {
            per_server: 3,
            lifetime_ms: None,
            arrival_ms: Some(20 * SECOND_MS),
            max_per_server: 5,
            logoff_second_ms: SECOND_MS,
        }
    } else {
        SessionConfig::default()
    };
    let config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        server_count: servers,
        reboot: timing,
        sessions,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.expect("simulator starts");
    let url = Url::parse(&sim.base_url()).expect("simulator URL");
    let mut client_config = ClientConfig::new(url, PROJECT, Credentials::ak_sk(AK, SK));
    client_config.max_requests_per_second = 1e9;
    let poller = Poller::new(Client::new(client_config).expect("client"));

    let ids: Vec<String> = sim.state().servers.iter().map(|s| s.id.clone()).collect();
    let mut plan = RolloutPlan::new(ids, RebootType::Soft);
    plan.max_unavailable = Some(MaxUnavailable::Count(max_unavailable));
    plan.wait = WaitOptions {
        interval: scaled(5),
        settle: scaled(60),
        reboot_requested_at: None,
    };
    plan.progress_every = scaled(5);
    let drain_plan = DrainPlan {
        timeout: scaled(30),
        on_timeout: OnTimeout::Logoff,
        message: Some("This server restarts for maintenance.".into()),
        logoff_delay: Duration::from_secs(30),
        ..DrainPlan::default()
    };
    if drain {
        plan.drain = Some(drain_plan.clone());
    }
    let waves = plan.max_waves();
    let reboot = timing.total();
    let per_wave = if drain {
        // The logoff delay is sent in (real) seconds and lasts SECOND_MS each.
        scaled(30) + scaled(drain_plan.logoff_delay.as_secs()) + reboot
    } else {
        reboot
    };

    let started = Instant::now();
    let report = rollout::run(
        &poller,
        &plan,
        &|_| {},
        &CancellationToken::new(),
        Instant::now() + Duration::from_secs(600),
    )
    .await;
    let wall = started.elapsed();
    assert!(report.succeeded(), "{report:#?}");
    let fleet = sim.fleet_report();
    assert!(sim.reboot_counts().values().all(|n| *n == 1));
    assert!(fleet.max_unavailable as u64 <= max_unavailable);
    if drain {
        assert_eq!(fleet.sessions_killed, 0);
    }
    sim.shutdown().await;
    Figures {
        wall,
        bound: per_wave * u32::try_from(waves).unwrap_or(u32::MAX),
        waves,
        requests: report.requests_sent,
        killed: fleet.sessions_killed,
        logged_off: fleet.sessions_logged_off,
        max_unavailable: fleet.max_unavailable,
    }
}

fn print(what: &str, servers: u32, f: &Figures) {
    println!(
        "{what}: {servers} servers, {} waves: wall {:.2} s against the bound {:.2} s \
         ({:.2}x; real time about {:.0} s against {:.0} s); {} requests; sessions killed {}, \
         logged off {}; most unavailable at once {}",
        f.waves,
        f.wall.as_secs_f64(),
        f.bound.as_secs_f64(),
        f.wall.as_secs_f64() / f.bound.as_secs_f64(),
        f.wall.as_secs_f64() * 1000.0 / SECOND_MS as f64,
        f.bound.as_secs_f64() * 1000.0 / SECOND_MS as f64,
        f.requests,
        f.killed,
        f.logged_off,
        f.max_unavailable,
    );
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if !bench_mode {
        let figures = runtime.block_on(one_run(20, 5, true));
        print("rollout smoke (drain)", 20, &figures);
        return;
    }
    let plain = runtime.block_on(one_run(200, 50, false));
    print("waves only", 200, &plain);
    let drained = runtime.block_on(one_run(200, 50, true));
    print("waves with drain (logoff)", 200, &drained);
}
