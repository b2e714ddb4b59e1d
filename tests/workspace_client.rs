//! The Workspace client against the real simulator over HTTP: batching, retries, failures,
//! concurrency, timeouts, cancellation, waiting, and every authentication method.

use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig};
use tfws::workspace::error::ClientError;
use tfws::workspace::simulator::{
    AuthKind, BusyFault, CredentialsConfig, FailingIdsFault, FaultScope, Operation, RebootPhase,
    RebootTiming, ServerErrorFault, ServerSpec, Simulator, SimulatorConfig, SimulatorHandle,
    ThrottleFault,
};
use tfws::workspace::wait::{WaitOptions, WaitOutcome};
use tfws::workspace::wire::{Api, ListQuery, RebootType};
use tfws::workspace::Credentials;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

const AK: &str = "CLIENTTESTAK00000001";
const SK: &str = "client-test-secret-key-do-not-print";
const TEMP_AK: &str = "CLIENTTEMPAK00000002";
const TEMP_SK: &str = "client-temp-secret-key-do-not-print";
const SECURITY_TOKEN: &str = "client-security-token-do-not-print";
const IAM_TOKEN: &str = "client-iam-token-do-not-print";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// Bounds a whole operation so that a bug fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(60);

fn sim_config(server_count: u32) -> SimulatorConfig {
    SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![
                Credentials::ak_sk(AK, SK),
                Credentials::ak_sk(TEMP_AK, TEMP_SK).with_security_token(SECURITY_TOKEN),
            ],
            iam_tokens: vec![Credentials::token(IAM_TOKEN)],
            allow_anonymous: false,
        },
        server_count,
        reboot: RebootTiming {
            pending_ms: 50,
            rebooting_ms: 100,
            registering_ms: 50,
        },
        ..SimulatorConfig::default()
    }
}

async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

fn aksk() -> Credentials {
    Credentials::ak_sk(AK, SK)
}

fn client_config(sim: &SimulatorHandle, credentials: Credentials) -> ClientConfig {
    let url = Url::parse(&sim.base_url()).expect("simulator URL parses");
    let mut config = ClientConfig::new(url, PROJECT, credentials);
    // Each simulator has its own port, hence its own process-wide budget; these tests are
    // about retries and batching, not the rate, so the budget is out of the way.
    config.max_requests_per_second = 10_000.0;
    config.retry_base_delay = Duration::from_millis(5);
    config.retry_max_delay = Duration::from_millis(40);
    config.request_timeout = Duration::from_secs(10);
    config
}

fn client(sim: &SimulatorHandle) -> Client {
    Client::new(client_config(sim, aksk())).expect("client builds")
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("srv-{n:04}")).collect()
}

fn far_deadline() -> Instant {
    Instant::now() + GUARD
}

async fn guarded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("the operation finished within the guard time")
}

#[tokio::test]
async fn forty_five_ids_become_three_batches_each_rebooted_once() {
    let sim = start(sim_config(45)).await;
    let client = client(&sim);
    // Shuffled and with duplicates: the client sorts and de-duplicates.
    let mut wanted = ids(1..=45);
    wanted.reverse();
    wanted.extend(ids(1..=7));
    let report = guarded(client.batch_reboot(
        &wanted,
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;

    assert_eq!(report.rebooted, ids(1..=45));
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.not_attempted.is_empty());
    assert_eq!(report.batches, 3);
    assert_eq!(report.requests_sent, 3);

    let batches: Vec<Vec<String>> = sim
        .requests()
        .into_iter()
        .filter(|r| r.is_accepted_reboot())
        .map(|r| r.items.unwrap_or_default())
        .collect();
    let mut sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 20, 20]);
    for (id, count) in sim.reboot_counts() {
        assert_eq!(count, 1, "{id} rebooted {count} times");
    }
    assert!(sim
        .requests()
        .iter()
        .all(|r| r.reboot_type.is_none_or(|t| t == RebootType::Soft)));
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_is_retried_and_succeeds() {
    let mut config = sim_config(30);
    config.faults.throttle = Some(ThrottleFault {
        first_n: 3,
        retry_after_secs: None,
        scope: FaultScope::All,
    });
    let sim = start(config).await;
    let client = client(&sim);
    let report = guarded(client.batch_reboot(
        &ids(1..=30),
        RebootType::Hard,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted, ids(1..=30));
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.requests_sent, 2 + 3);
    let state = sim.state();
    assert_eq!(state.counters.throttled, 3);
    assert!(state.servers.iter().all(|s| s.reboot_count == 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_is_retried_past_max_retries_and_slows_that_api_in_the_whole_process() {
    let mut config = sim_config(2);
    config.faults.throttle = Some(ThrottleFault {
        first_n: 6,
        retry_after_secs: None,
        scope: FaultScope::All,
    });
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    cfg.max_retries = 1;
    let throttled_client = Client::new(cfg.clone()).expect("client builds");
    let other_client = Client::new(cfg.clone()).expect("client builds");
    let full_rate = other_client.budgets().rate(Api::ShowServer);
    let server =
        guarded(throttled_client.get_server("srv-0001", &CancellationToken::new(), far_deadline()))
            .await
            .expect("answered once the throttling stopped");
    assert_eq!(server.id, "srv-0001");
    // Six 429s and the success: far more attempts than `max_retries` allows for 5xx.
    assert_eq!(throttled_client.requests_sent(), 7);
    assert_eq!(sim.state().counters.throttled, 6);
    // Every client of the process for this endpoint, project and user shares the budgets; the
    // 429s slowed down the API they answered, and no other.
    assert!(std::sync::Arc::ptr_eq(
        throttled_client.budgets(),
        other_client.budgets()
    ));
    let slowed = other_client.budgets().rate(Api::ShowServer);
    assert!(slowed < full_rate, "{slowed} < {full_rate}");
    assert_eq!(other_client.budgets().rate(Api::ListServers), full_rate);
    assert_eq!(other_client.budgets().rate(Api::BatchReboot), full_rate);
    // The figures, per API, of every client sharing the budgets.
    let stats = other_client.api_stats();
    let show = stats.iter().find(|s| s.api == Api::ShowServer).unwrap();
    assert_eq!((show.requests, show.throttled_429), (7, 6));
    assert!(stats
        .iter()
        .filter(|s| s.api != Api::ShowServer)
        .all(|s| s.requests == 0 && s.throttled_429 == 0));
    assert_eq!(
        sim.requests_by_api().get("show-server").copied(),
        Some(7),
        "the simulator counts by the same names"
    );
    // A client of another project, or of another user, has budgets of its own.
    let mut elsewhere = cfg.clone();
    elsewhere.project_id = "another-project".into();
    let elsewhere = Client::new(elsewhere).expect("client builds");
    let by_token = Client::new(client_config(&sim, Credentials::token(IAM_TOKEN))).unwrap();
    for separate in [&elsewhere, &by_token] {
        assert!(!std::sync::Arc::ptr_eq(
            separate.budgets(),
            other_client.budgets()
        ));
        assert_eq!(separate.budgets().rate(Api::ShowServer), full_rate);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_obey_max_retries() {
    for (max_retries, status) in [(0u32, 500u16), (2, 503)] {
        let mut config = sim_config(1);
        config.faults.server_errors = Some(ServerErrorFault {
            first_n: 100,
            status,
            error_code: None,
            error_msg: None,
            scope: FaultScope::All,
        });
        let sim = start(config).await;
        let mut cfg = client_config(&sim, aksk());
        cfg.max_retries = max_retries;
        let client = Client::new(cfg).expect("client builds");
        let error =
            guarded(client.get_server("srv-0001", &CancellationToken::new(), far_deadline()))
                .await
                .expect_err("the 5xx outlasts the retries");
        assert_eq!(error.api_error().map(|e| e.status), Some(status));
        assert_eq!(client.requests_sent(), max_retries as usize + 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let mut config = sim_config(1);
    config.faults.throttle = Some(ThrottleFault {
        first_n: 1,
        retry_after_secs: Some(1),
        scope: FaultScope::All,
    });
    let sim = start(config).await;
    let client = client(&sim);
    let started = Instant::now();
    let server = guarded(client.get_server("srv-0001", &CancellationToken::new(), far_deadline()))
        .await
        .expect("answered after the throttle");
    assert_eq!(server.id, "srv-0001");
    // A lower bound only: the client must have slept the server's Retry-After, not its own
    // 5 ms backoff.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(client.requests_sent(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_and_succeed() {
    for status in [500u16, 502, 503, 504] {
        let mut config = sim_config(5);
        config.faults.server_errors = Some(ServerErrorFault {
            first_n: 2,
            status,
            error_code: None,
            error_msg: None,
            scope: FaultScope::All,
        });
        let sim = start(config).await;
        let client = client(&sim);
        let report = guarded(client.batch_reboot(
            &ids(1..=5),
            RebootType::Soft,
            &CancellationToken::new(),
            far_deadline(),
        ))
        .await;
        assert_eq!(report.rebooted, ids(1..=5), "status {status}");
        assert_eq!(report.requests_sent, 3, "status {status}");
        assert!(sim.reboot_counts().values().all(|&c| c == 1));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_failing_batch_fails_only_its_ids() {
    let mut config = sim_config(45);
    config.faults.failing_ids = Some(FailingIdsFault {
        ids: vec!["srv-0025".into()],
        status: 500,
        error_code: None,
        error_msg: None,
    });
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    cfg.max_retries = 2;
    let client = Client::new(cfg).expect("client builds");
    let report = guarded(client.batch_reboot(
        &ids(1..=45),
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;

    let mut expected_ok = ids(1..=20);
    expected_ok.extend(ids(41..=45));
    assert_eq!(report.rebooted, expected_ok);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].server_ids, ids(21..=40));
    let api = report.failed[0].error.api_error().expect("an API error");
    assert_eq!(api.status, 500);
    // Two good batches once each, the failing one 1 + 2 retries.
    assert_eq!(report.requests_sent, 2 + 3);
    for (id, count) in sim.reboot_counts() {
        let expected = u64::from(expected_ok.contains(&id));
        assert_eq!(count, expected, "{id}");
    }
    sim.shutdown().await;
}

fn busy(ids: &[&str], times: u32) -> Option<BusyFault> {
    Some(BusyFault {
        ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        times,
    })
}

#[tokio::test]
async fn a_batch_answered_409_is_retried_until_accepted_and_rebooted_once() {
    let mut config = sim_config(2);
    config.faults.busy_ids = busy(&["srv-0001"], 2);
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    // A 409 is not a 5xx: `max_retries` does not bound it, the deadline does.
    cfg.max_retries = 0;
    let client = Client::new(cfg).expect("client builds");
    let report = guarded(client.batch_reboot(
        &ids(1..=2),
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted, ids(1..=2));
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.requests_sent, 3);
    assert_eq!(sim.request_count(Operation::BatchReboot), 3);
    assert_eq!(sim.state().counters.busy_rejections, 2);
    for (id, count) in sim.reboot_counts() {
        assert_eq!(count, 1, "{id}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_batch_busy_past_the_deadline_fails_naming_its_servers_in_the_services_words() {
    let mut config = sim_config(25);
    config.faults.busy_ids = busy(&["srv-0003"], 1_000_000);
    let sim = start(config).await;
    let client = client(&sim);
    let deadline = Instant::now() + Duration::from_millis(300);
    let report = guarded(client.batch_reboot(
        &ids(1..=25),
        RebootType::Soft,
        &CancellationToken::new(),
        deadline,
    ))
    .await;
    // The other batch went through once; the busy one was never accepted.
    assert_eq!(report.rebooted, ids(21..=25));
    assert!(report.not_attempted.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].server_ids, ids(1..=20));
    let error = &report.failed[0].error;
    assert!(
        matches!(error, ClientError::DeadlineExceeded { .. }),
        "{error:?}"
    );
    assert_eq!(error.api_error().map(|e| e.status), Some(409));
    let message = error.to_string();
    assert!(
        message.contains("busy") && message.contains("srv-0003"),
        "{message}"
    );
    assert!(
        report.requests_sent > 2,
        "retried: {}",
        report.requests_sent
    );
    for (id, count) in sim.reboot_counts() {
        let expected = u64::from(ids(21..=25).contains(&id));
        assert_eq!(count, expected, "{id}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn maintenance_of_a_busy_server_is_retried_until_accepted() {
    let mut config = sim_config(3);
    config.faults.busy_ids = busy(&["srv-0002"], 1);
    let sim = start(config).await;
    let client = client(&sim);
    let report = guarded(client.set_maintenance(
        &ids(1..=3),
        true,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.done, ids(1..=3));
    assert_eq!(report.requests_sent, 2);
    assert!(sim.state().servers.iter().all(|s| s.maintain_status));
    assert_eq!(sim.requests_by_api().get("batch-maint").copied(), Some(2));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let sim = start(sim_config(3)).await;
    let client = client(&sim);
    let error = guarded(client.list_servers(
        &ListQuery {
            limit: Some(0),
            ..ListQuery::default()
        },
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await
    .expect_err("limit 0 is refused by the service");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status, 400);
    assert_eq!(api.error_code.as_deref(), Some("WKS.00211102"));
    assert!(api.request_id.is_some(), "X-Request-Id kept");
    assert_eq!(client.requests_sent(), 1);
    assert_eq!(sim.requests().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_fail_their_batch_with_404_without_retry() {
    let sim = start(sim_config(25)).await;
    let client = client(&sim);
    let mut wanted = ids(1..=25);
    wanted.push("srv-9999".into());
    let report = guarded(client.batch_reboot(
        &wanted,
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    // Sorted: srv-0001..srv-0020 | srv-0021..srv-0025, srv-9999.
    assert_eq!(report.rebooted, ids(1..=20));
    let mut failed_ids = ids(21..=25);
    failed_ids.push("srv-9999".into());
    assert_eq!(report.failed[0].server_ids, failed_ids);
    assert_eq!(
        report.failed[0].error.api_error().map(|e| e.status),
        Some(404)
    );
    assert_eq!(report.requests_sent, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_concurrency_cap_is_respected() {
    let mut config = sim_config(200);
    config.faults.latency_ms = 30;
    // The simulator would throttle a fourth request in flight.
    config.faults.max_in_flight = Some(3);
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    cfg.max_concurrency = 3;
    let client = Client::new(cfg).expect("client builds");
    let report = guarded(client.batch_reboot(
        &ids(1..=200),
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted.len(), 200);
    assert_eq!(report.requests_sent, 10);
    let state = sim.state();
    assert_eq!(state.counters.concurrency_rejections, 0);
    assert!(state.peak_in_flight <= 3, "peak {}", state.peak_in_flight);
    assert!(sim.requests().iter().all(|r| r.in_flight <= 3));

    // Waiting shares the same limit.
    let options = WaitOptions {
        interval: Duration::from_millis(20),
        settle: Duration::from_secs(3600),
        reboot_requested_at: None,
    };
    let waited = guarded(client.wait_until_ready(
        &ids(1..=30),
        &options,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert!(
        waited.all_ready(),
        "{:?}",
        waited.not_ready().collect::<Vec<_>>()
    );
    assert!(sim.state().peak_in_flight <= 3);
    assert_eq!(sim.state().counters.concurrency_rejections, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hanging_reboot_times_out_is_not_resent_and_fails_only_its_batch() {
    let mut config = sim_config(25);
    config.faults.hang_ids = vec!["srv-0003".into()];
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    cfg.request_timeout = Duration::from_millis(300);
    let client = Client::new(cfg).expect("client builds");
    let report = guarded(client.batch_reboot(
        &ids(1..=25),
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted, ids(21..=25));
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].server_ids, ids(1..=20));
    let error = &report.failed[0].error;
    assert!(matches!(error, ClientError::Timeout { .. }), "{error:?}");
    assert!(error.to_string().contains("may or may not"), "{error}");
    // The unanswered reboot was not sent again.
    assert_eq!(report.requests_sent, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hanging_read_times_out_after_its_retries() {
    let mut config = sim_config(2);
    config.faults.hang_ids = vec!["srv-0001".into()];
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    cfg.request_timeout = Duration::from_millis(200);
    cfg.max_retries = 1;
    let client = Client::new(cfg).expect("client builds");
    let result =
        guarded(client.get_server("srv-0001", &CancellationToken::new(), far_deadline())).await;
    assert!(
        matches!(result, Err(ClientError::Timeout { .. })),
        "{result:?}"
    );
    assert_eq!(client.requests_sent(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_deadline_bounds_retries() {
    let mut config = sim_config(1);
    config.faults.throttle = Some(ThrottleFault {
        first_n: 1_000_000,
        retry_after_secs: None,
        scope: FaultScope::All,
    });
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    // Throttling is retried until the deadline whatever `max_retries` says.
    cfg.max_retries = 0;
    let client = Client::new(cfg).expect("client builds");
    let deadline = Instant::now() + Duration::from_millis(300);
    let report = guarded(client.batch_reboot(
        &ids(1..=1),
        RebootType::Soft,
        &CancellationToken::new(),
        deadline,
    ))
    .await;
    assert!(report.rebooted.is_empty());
    let error = &report.failed[0].error;
    assert!(
        matches!(error, ClientError::DeadlineExceeded { .. }),
        "{error:?}"
    );
    assert_eq!(error.api_error().map(|e| e.status), Some(429));
    assert!(error.to_string().contains("APIG.0308"), "{error}");
    sim.shutdown().await;
}

#[tokio::test]
async fn cancellation_returns_promptly() {
    let mut config = sim_config(60);
    config.faults.hang_ids = vec!["srv-0001".into(), "srv-0021".into()];
    let sim = start(config).await;
    let mut cfg = client_config(&sim, aksk());
    cfg.request_timeout = Duration::from_secs(3600);
    cfg.max_concurrency = 2;
    let client = Client::new(cfg).expect("client builds");
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    // Both slots hang; without cancellation this would wait an hour.
    let report = guarded(client.batch_reboot(
        &ids(1..=60),
        RebootType::Soft,
        &cancel,
        Instant::now() + Duration::from_secs(3600),
    ))
    .await;
    assert!(report.rebooted.is_empty());
    assert_eq!(report.failed.len(), 2);
    for failure in &report.failed {
        assert!(
            matches!(
                failure.error,
                ClientError::Cancelled {
                    in_flight: true,
                    ..
                }
            ),
            "{:?}",
            failure.error
        );
        assert!(failure.error.to_string().contains("may or may not"));
    }
    assert_eq!(report.not_attempted, ids(41..=60));
    assert_eq!(report.requests_sent, 2);
    assert!(sim.reboot_counts().values().all(|&c| c == 0));

    // A cancelled token stops waiting too, before any poll.
    let waited = guarded(client.wait_until_ready(
        &ids(1..=3),
        &WaitOptions::default(),
        &cancel,
        far_deadline(),
    ))
    .await;
    assert!(waited
        .servers
        .iter()
        .all(|s| s.outcome == WaitOutcome::Cancelled));
    assert_eq!(waited.requests_sent, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn wait_returns_after_the_reboot_finished_and_reports_error() {
    let mut config = sim_config(4);
    config.reboot = RebootTiming {
        pending_ms: 150,
        rebooting_ms: 300,
        registering_ms: 150,
    };
    config.faults.error_after_reboot_ids = vec!["srv-0004".into()];
    let sim = start(config).await;
    let client = client(&sim);
    let wanted = ids(1..=4);
    let report = guarded(client.batch_reboot(
        &wanted,
        RebootType::Hard,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted, wanted);

    let options = WaitOptions {
        interval: Duration::from_millis(20),
        // Long: readiness must come from seeing the reboot, not from the settle time.
        settle: Duration::from_secs(3600),
        reboot_requested_at: None,
    };
    let waited = guarded(client.wait_until_ready(
        &wanted,
        &options,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    // When the wait returned, the simulator had finished every reboot.
    for id in &wanted {
        let snapshot = sim.server(id).expect("server exists");
        assert_eq!(snapshot.phase, RebootPhase::Idle, "{id}");
        assert_eq!(snapshot.reboot_count, 1, "{id}");
    }
    for s in &waited.servers[..3] {
        assert_eq!(s.outcome, WaitOutcome::Ready, "{}", s.server_id);
        assert!(s.reboot_seen, "{}", s.server_id);
    }
    match &waited.servers[3].outcome {
        WaitOutcome::Failed { reason } => assert!(reason.contains("ERROR"), "{reason}"),
        other => panic!("srv-0004: {other:?}"),
    }
    assert!(!waited.all_ready());
    // The first round polls one by one (the group is not known yet); the answers tell the
    // group, and from then on one page of it (4 servers) serves all four.
    let gets: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert!(
        gets.iter()
            .take(4)
            .all(|r| r.operation == Operation::ShowServer),
        "{gets:?}"
    );
    let listings: Vec<_> = gets
        .iter()
        .filter(|r| r.operation == Operation::ListServers)
        .collect();
    assert!(!listings.is_empty());
    for listing in &listings {
        let query = listing.query.as_deref().unwrap_or("");
        assert!(
            query.contains("server_group_id=") && query.contains("limit=100"),
            "{query}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn an_idle_server_without_proof_of_reboot_is_not_ready_and_gone_fails() {
    let sim = start(sim_config(1)).await;
    let client = client(&sim);
    let options = WaitOptions {
        interval: Duration::from_millis(20),
        settle: Duration::from_secs(3600),
        reboot_requested_at: None,
    };
    // srv-0001 was never rebooted: ACTIVE and idle, but nothing shows a reboot happened.
    let waited = guarded(client.wait_until_ready(
        &["srv-0001".to_string(), "srv-gone".to_string()],
        &options,
        &CancellationToken::new(),
        Instant::now() + Duration::from_millis(300),
    ))
    .await;
    match waited.outcome("srv-0001") {
        Some(WaitOutcome::TimedOut { last_status }) => {
            assert!(last_status.contains("not seen"), "{last_status}")
        }
        other => panic!("srv-0001: {other:?}"),
    }
    match waited.outcome("srv-gone") {
        Some(WaitOutcome::Failed { reason }) => assert!(reason.contains("404"), "{reason}"),
        other => panic!("srv-gone: {other:?}"),
    }
    // With a short settle time the same server counts as ready.
    let settled = WaitOptions {
        settle: Duration::ZERO,
        ..options
    };
    let waited = guarded(client.wait_until_ready(
        &["srv-0001".to_string()],
        &settled,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert!(waited.all_ready());
    sim.shutdown().await;
}

#[tokio::test]
async fn token_and_security_token_auth_are_accepted() {
    let sim = start(sim_config(3)).await;

    let token_client =
        Client::new(client_config(&sim, Credentials::token(IAM_TOKEN))).expect("client builds");
    let server =
        guarded(token_client.get_server("srv-0001", &CancellationToken::new(), far_deadline()))
            .await
            .expect("token accepted");
    assert_eq!(server.id, "srv-0001");

    let temp_client = Client::new(client_config(
        &sim,
        Credentials::temporary(TEMP_AK, TEMP_SK, SECURITY_TOKEN),
    ))
    .expect("client builds");
    let report = guarded(temp_client.batch_reboot(
        &ids(2..=3),
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted, ids(2..=3));

    let kinds: Vec<AuthKind> = sim.requests().iter().map(|r| r.auth).collect();
    assert_eq!(kinds, vec![AuthKind::IamToken, AuthKind::AkSkSecurityToken]);
    assert!(sim.requests().iter().all(|r| r.status == Some(200)));

    let wrong_token =
        Client::new(client_config(&sim, Credentials::token("not-the-token"))).expect("builds");
    let error =
        guarded(wrong_token.get_server("srv-0001", &CancellationToken::new(), far_deadline()))
            .await
            .expect_err("a wrong token is refused");
    assert_eq!(error.api_error().map(|e| e.status), Some(401));
    assert_eq!(wrong_token.requests_sent(), 1, "401 is not retried");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_secret_gives_apigw_0301_with_the_gateway_canonical_request() {
    let sim = start(sim_config(1)).await;
    let wrong = Client::new(client_config(
        &sim,
        Credentials::temporary(TEMP_AK, "wrong-secret-do-not-print", SECURITY_TOKEN),
    ))
    .expect("client builds");
    let error = guarded(wrong.get_server("srv-0001", &CancellationToken::new(), far_deadline()))
        .await
        .expect_err("a wrong secret is refused");
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status, 401);
    assert_eq!(api.error_code.as_deref(), Some("APIGW.0301"));
    let canonical = api
        .gateway_canonical_request
        .as_deref()
        .expect("the gateway's canonical request is kept");
    let expected_start = format!("GET\n/v1/{PROJECT}/app-servers/srv-0001/\n\n");
    assert!(canonical.starts_with(&expected_start), "{canonical}");
    assert!(canonical.contains("\nx-project-id:0123456789abcdef0123456789abcdef\n"));
    assert!(canonical.contains("\nhost;x-project-id;x-sdk-date;x-security-token\n"));
    assert_eq!(wrong.requests_sent(), 1, "401 is not retried");
    let shown = format!("{error} {error:?}");
    for secret in ["wrong-secret-do-not-print", SECURITY_TOKEN] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn list_sends_the_query_as_signed() {
    let mut config = sim_config(0);
    config.servers = vec![
        ServerSpec::with_id("a-1").in_group("group one/ä"),
        ServerSpec::with_id("a-2").in_group("group one/ä"),
        ServerSpec::with_id("b-1").in_group("other"),
    ];
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let by_group = guarded(client.list_servers(
        &ListQuery {
            offset: Some(0),
            limit: Some(100),
            server_id: None,
            server_group_id: Some("group one/ä".into()),
            ..ListQuery::default()
        },
        &cancel,
        far_deadline(),
    ))
    .await
    .expect("signed query accepted");
    let mut found: Vec<String> = by_group.items.into_iter().map(|s| s.id).collect();
    found.sort();
    assert_eq!(found, vec!["a-1", "a-2"]);
    let by_id = guarded(client.list_servers(
        &ListQuery {
            server_id: Some("b-1".into()),
            ..ListQuery::default()
        },
        &cancel,
        far_deadline(),
    ))
    .await
    .expect("signed query accepted");
    assert_eq!(by_id.items.len(), 1);
    assert_eq!(by_id.items[0].server_group_id.as_deref(), Some("other"));
    let query = sim.requests()[0].query.clone().unwrap_or_default();
    assert_eq!(
        query,
        "limit=100&offset=0&server_group_id=group%20one%2F%C3%A4"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn no_request_is_sent_for_invalid_ids() {
    let sim = start(sim_config(1)).await;
    let client = client(&sim);
    let report = guarded(client.batch_reboot(
        &["".to_string(), "x".repeat(129), "srv-0001".to_string()],
        RebootType::Soft,
        &CancellationToken::new(),
        far_deadline(),
    ))
    .await;
    assert_eq!(report.rebooted, vec!["srv-0001".to_string()]);
    assert_eq!(report.failed.len(), 2);
    assert!(report
        .failed
        .iter()
        .all(|f| matches!(f.error, ClientError::InvalidInput(_))));
    assert_eq!(report.requests_sent, 1);
    sim.shutdown().await;
}
