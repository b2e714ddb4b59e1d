//! The rollout engine against the real simulator over HTTP: waves within `max_unavailable`,
//! drains (maintenance mode, session counts, logoff), failures that stop the rollout, the
//! maintenance clean-up and cancellation. Timings are milliseconds; nothing asserts a
//! duration: the simulator's fleet report and request log tell what happened.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig};
use tfws::workspace::poller::Poller;
use tfws::workspace::rollout::{
    self, DrainPlan, MaxUnavailable, OnTimeout, RequestOutcome, RolloutEvent, RolloutFailure,
    RolloutPlan, RolloutReport, ServerOutcome, WaveFailure, WaveState,
};
use tfws::workspace::simulator::{
    CredentialsConfig, FailingIdsFault, Faults, Operation, RebootTiming, ServerSpec, SessionConfig,
    Simulator, SimulatorConfig, SimulatorHandle,
};
use tfws::workspace::wait::{WaitOptions, WaitOutcome};
use tfws::workspace::wire::{message_type, RebootType};
use tfws::workspace::Credentials;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

const AK: &str = "ROLLOUTTESTAK0000001";
const SK: &str = "rollout-test-secret-key";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// Bounds a whole rollout so that a bug fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(120);

fn sim_config(servers: Vec<ServerSpec>, sessions: SessionConfig) -> SimulatorConfig {
    SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        servers,
        reboot: RebootTiming {
            pending_ms: 20,
            rebooting_ms: 40,
            registering_ms: 20,
        },
        sessions,
        ..SimulatorConfig::default()
    }
}

/// `srv-0001` … `srv-NNNN` in the default group.
fn servers(n: u32) -> Vec<ServerSpec> {
    (1..=n).map(|i| ServerSpec::with_id(id(i))).collect()
}

fn id(i: u32) -> String {
    format!("srv-{i:04}")
}

/// Sessions that never end by themselves; one "second" of logoff delay lasts 5 ms.
fn lasting_sessions(per_server: u32) -> SessionConfig {
    SessionConfig {
        per_server,
        lifetime_ms: None,
        arrival_ms: None,
        max_per_server: 10,
        logoff_second_ms: 5,
    }
}

async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

fn poller(sim: &SimulatorHandle) -> Poller {
    let url = Url::parse(&sim.base_url()).expect("simulator URL parses");
    let mut config = ClientConfig::new(url, PROJECT, Credentials::ak_sk(AK, SK));
    config.max_requests_per_second = 1e9;
    config.retry_base_delay = Duration::from_millis(5);
    config.retry_max_delay = Duration::from_millis(40);
    config.request_timeout = Duration::from_secs(20);
    Poller::new(Client::new(config).expect("client builds"))
}

fn plan(ids: Vec<String>) -> RolloutPlan {
    let mut plan = RolloutPlan::new(ids, RebootType::Soft);
    plan.wait = WaitOptions {
        interval: Duration::from_millis(20),
        // Long: readiness must come from seeing the reboot.
        settle: Duration::from_secs(3600),
        reboot_requested_at: None,
    };
    plan.progress_every = Duration::from_millis(10);
    plan
}

fn drain(on_timeout: OnTimeout, timeout_ms: u64) -> DrainPlan {
    DrainPlan {
        timeout: Duration::from_millis(timeout_ms),
        on_timeout,
        message: Some("Saving is advised: this server restarts shortly.".into()),
        logoff_delay: Duration::from_secs(2),
        ..DrainPlan::default()
    }
}

/// Runs the plan, collecting its events.
async fn roll(
    poller: &Poller,
    plan: &RolloutPlan,
    cancel: &CancellationToken,
) -> (RolloutReport, Vec<RolloutEvent>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let progress = move |event: RolloutEvent| sink.lock().unwrap().push(event);
    let report = tokio::time::timeout(
        GUARD,
        rollout::run(poller, plan, &progress, cancel, Instant::now() + GUARD),
    )
    .await
    .expect("the rollout ended");
    let events = events.lock().unwrap().clone();
    (report, events)
}

fn in_maintenance(sim: &SimulatorHandle) -> Vec<String> {
    sim.state()
        .servers
        .iter()
        .filter(|s| s.maintain_status)
        .map(|s| s.id.clone())
        .collect()
}

#[tokio::test]
async fn forty_servers_ten_at_a_time() {
    let sim = start(sim_config(servers(40), SessionConfig::default())).await;
    let poller = poller(&sim);
    let mut plan = plan((1..=40).rev().map(id).collect());
    plan.max_unavailable = Some("10".parse().unwrap());
    let (report, events) = roll(&poller, &plan, &CancellationToken::new()).await;

    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.done().count(), 40);
    // Waves follow ID order whatever the given order.
    let waves: Vec<Vec<String>> = report.waves.iter().map(|w| w.server_ids.clone()).collect();
    let expected: Vec<Vec<String>> = (0..4)
        .map(|w| (w * 10 + 1..=w * 10 + 10).map(id).collect())
        .collect();
    assert_eq!(waves, expected);
    assert!(report.waves.iter().all(|w| w.state == WaveState::Done));

    let fleet = sim.fleet_report();
    assert!(fleet.max_unavailable <= 10, "{}", fleet.max_unavailable);
    assert!(fleet.max_unavailable >= 1);
    assert!(sim.reboot_counts().values().all(|n| *n == 1));
    assert_eq!(sim.reboot_counts().len(), 40);
    // Every reboot of a wave came after every server of the wave before was back.
    for pair in expected.windows(2) {
        let back = pair[0]
            .iter()
            .map(|id| {
                fleet.server(id).unwrap().reboots[0]
                    .available_again_at_ms
                    .expect("back")
            })
            .max()
            .unwrap();
        for id in &pair[1] {
            assert!(fleet.server(id).unwrap().reboots[0].accepted_at_ms >= back);
        }
    }

    let started = events
        .iter()
        .filter(|e| matches!(e, RolloutEvent::WaveStarted { waves: 4, .. }))
        .count();
    assert_eq!(started, 4);
    assert!(events.contains(&RolloutEvent::Ready {
        ready: 40,
        total: 40
    }));
    assert!(matches!(
        events.last(),
        Some(RolloutEvent::Finished {
            rebooted: 40,
            total: 40
        })
    ));
    // "N/M servers ready" never goes backwards.
    let readies: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            RolloutEvent::Ready { ready, .. } => Some(*ready),
            _ => None,
        })
        .collect();
    assert!(readies.windows(2).all(|w| w[0] < w[1]), "{readies:?}");
    assert!(report.requests_sent > 0);
    // One reboot request per wave of 10, told with its IDs.
    let requests: Vec<(usize, usize, usize, Vec<String>)> = events
        .iter()
        .filter_map(|e| match e {
            RolloutEvent::RebootRequest {
                wave,
                request,
                requests,
                server_ids,
                outcome: RequestOutcome::Accepted,
            } => Some((*wave, *request, *requests, server_ids.clone())),
            _ => None,
        })
        .collect();
    let expected_requests: Vec<(usize, usize, usize, Vec<String>)> = expected
        .iter()
        .enumerate()
        .map(|(i, ids)| (i + 1, 1, 1, ids.clone()))
        .collect();
    assert_eq!(requests, expected_requests);
}

#[tokio::test]
async fn a_wave_is_sent_in_requests_of_at_most_twenty() {
    let sim = start(sim_config(servers(30), SessionConfig::default())).await;
    sim.set_faults(Faults {
        failing_ids: Some(FailingIdsFault {
            ids: vec![id(23)],
            status: 500,
            error_code: Some("WKS.00211401".into()),
            error_msg: Some("Internal error.".into()),
        }),
        ..Faults::default()
    });
    let poller = poller(&sim);
    let mut plan = plan((1..=30).map(id).collect());
    plan.max_unavailable = Some(MaxUnavailable::Count(25));
    let (_, events) = roll(&poller, &plan, &CancellationToken::new()).await;

    let requests: Vec<String> = events
        .iter()
        .filter(|e| matches!(e, RolloutEvent::RebootRequest { .. }))
        .map(ToString::to_string)
        .collect();
    // Wave 1 (25 servers) in two requests; wave 2 not started after wave 1 failed.
    assert_eq!(
        requests,
        [
            "wave 1: reboot request 1/2 accepted: 20 servers (srv-0001 … srv-0020)",
            "wave 1: reboot request 2/2 failed for 5 servers (srv-0021 … srv-0025): HTTP 500 \
             WKS.00211401: Internal error",
        ]
        .map(String::from),
        "{events:#?}"
    );
    let counts = sim.reboot_counts();
    for i in 1..=30 {
        let expected = u64::from(i <= 20);
        assert_eq!(
            counts.get(&id(i)).copied().unwrap_or(0),
            expected,
            "{}",
            id(i)
        );
    }
}

#[tokio::test]
async fn percent_budget_of_the_listed_servers() {
    let sim = start(sim_config(servers(9), SessionConfig::default())).await;
    let poller = poller(&sim);
    let mut plan = plan((1..=9).map(id).collect());
    // 25% of 9 is 2.25: 2 at a time, 5 waves.
    plan.max_unavailable = Some("25%".parse().unwrap());
    let (report, _) = roll(&poller, &plan, &CancellationToken::new()).await;
    assert!(report.succeeded(), "{report:#?}");
    let sizes: Vec<usize> = report.waves.iter().map(|w| w.server_ids.len()).collect();
    assert_eq!(sizes, vec![2, 2, 2, 2, 1]);
    assert!(sim.fleet_report().max_unavailable <= 2);
}

#[tokio::test]
async fn drain_with_logoff_warns_users_and_kills_nothing() {
    let mut specs = servers(12);
    // Maintenance set by someone else: it must stay.
    specs[1] = ServerSpec::with_id(id(2)).in_maintenance();
    specs[6] = ServerSpec::with_id(id(7)).in_maintenance();
    // New sessions keep arriving where they may; sessions never end by themselves.
    let sessions = SessionConfig {
        arrival_ms: Some(25),
        max_per_server: 3,
        ..lasting_sessions(2)
    };
    let sim = start(sim_config(specs, sessions)).await;
    let poller = poller(&sim);
    let mut plan = plan((1..=12).map(id).collect());
    plan.max_unavailable = Some(MaxUnavailable::Count(4));
    plan.drain = Some(drain(OnTimeout::Logoff, 60));
    let (report, events) = roll(&poller, &plan, &CancellationToken::new()).await;

    assert!(report.succeeded(), "{report:#?}");
    let fleet = sim.fleet_report();
    assert_eq!(fleet.sessions_killed, 0, "{fleet:#?}");
    assert!(fleet.sessions_logged_off > 0);
    assert!(fleet.logoff_messages > 0);
    for server in &fleet.servers {
        assert_eq!(server.reboots.len(), 1, "{}", server.id);
        assert!(
            server.reboots[0].maintain_status,
            "{} rebooted outside maintenance",
            server.id
        );
        for message in &server.logoff_messages {
            assert_eq!(message.message_type, message_type::WARNING);
            assert_eq!(message.title.as_deref(), Some("Server maintenance"));
            assert_eq!(
                message.message.as_deref(),
                Some("Saving is advised: this server restarts shortly.")
            );
            assert_eq!(message.delay_time, 2);
        }
        let changes: Vec<bool> = server
            .maintenance
            .iter()
            .map(|c| c.maintain_status)
            .collect();
        if server.id == id(2) || server.id == id(7) {
            assert!(changes.is_empty(), "{}: {changes:?}", server.id);
        } else {
            assert_eq!(changes, vec![true, false], "{}", server.id);
        }
    }
    assert_eq!(in_maintenance(&sim), vec![id(2), id(7)]);
    assert!(events
        .iter()
        .any(|e| matches!(e, RolloutEvent::LogoffSent { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, RolloutEvent::MaintenanceRestored { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, RolloutEvent::MaintenanceOn { already: 1, .. })));
}

#[tokio::test]
async fn fail_on_timeout_names_servers_and_sessions_and_restores_maintenance() {
    let sim = start(sim_config(servers(4), lasting_sessions(3))).await;
    let poller = poller(&sim);
    let mut plan = plan((1..=4).map(id).collect());
    plan.max_unavailable = Some(MaxUnavailable::Count(2));
    plan.drain = Some(drain(OnTimeout::Fail, 60));
    let (report, _) = roll(&poller, &plan, &CancellationToken::new()).await;

    match &report.failure {
        Some(RolloutFailure::Wave {
            wave: 1,
            waves: 2,
            reason: WaveFailure::SessionsRemain { sessions },
        }) => assert_eq!(sessions, &vec![(id(1), 3), (id(2), 3)]),
        other => panic!("{other:?}"),
    }
    let text = report.failure.as_ref().unwrap().to_string();
    assert!(
        text.contains("srv-0001 (3)") && text.contains("srv-0002 (3)"),
        "{text}"
    );
    assert!(sim.reboot_counts().values().all(|n| *n == 0));
    assert_eq!(sim.request_count(Operation::BatchReboot), 0);
    assert!(in_maintenance(&sim).is_empty());
    assert!(report.left_in_maintenance.is_empty());
    assert_eq!(report.waves[1].state, WaveState::NotStarted);
    assert!(matches!(
        report.server(&id(1)).unwrap().outcome,
        ServerOutcome::NotRebooted { .. }
    ));
    assert_eq!(
        report.server(&id(3)).unwrap().outcome,
        ServerOutcome::NotStarted
    );
    assert_eq!(report.pending().count(), 4);
    assert!(!report.rebooted_any());
}

#[tokio::test]
async fn a_failed_wave_two_of_four_leaves_the_rest_untouched() {
    let sim = start(sim_config(servers(8), SessionConfig::default())).await;
    sim.set_error_after_reboot(&["srv-0003"]);
    let poller = poller(&sim);
    let mut plan = plan((1..=8).map(id).collect());
    plan.max_unavailable = Some(MaxUnavailable::Count(2));
    plan.drain = Some(drain(OnTimeout::Reboot, 60));
    let (report, events) = roll(&poller, &plan, &CancellationToken::new()).await;

    match &report.failure {
        Some(RolloutFailure::Wave {
            wave: 2,
            waves: 4,
            reason: WaveFailure::NotReady { server_ids, .. },
        }) => assert_eq!(server_ids, &vec![id(3)]),
        other => panic!("{other:?}"),
    }
    let states: Vec<&WaveState> = report.waves.iter().map(|w| &w.state).collect();
    assert!(matches!(
        states[..],
        [
            WaveState::Done,
            WaveState::Failed { .. },
            WaveState::NotStarted,
            WaveState::NotStarted
        ]
    ));
    let counts = sim.reboot_counts();
    for i in 1..=4 {
        assert_eq!(counts.get(&id(i)).copied(), Some(1), "{}", id(i));
    }
    for i in 5..=8 {
        assert_eq!(counts.get(&id(i)).copied().unwrap_or(0), 0, "{}", id(i));
        assert_eq!(
            report.server(&id(i)).unwrap().outcome,
            ServerOutcome::NotStarted
        );
        assert!(sim
            .fleet_report()
            .server(&id(i))
            .unwrap()
            .maintenance
            .is_empty());
    }
    assert!(matches!(
        report.server(&id(3)).unwrap().outcome,
        ServerOutcome::NotReady(WaitOutcome::Failed { .. })
    ));
    let done: Vec<&str> = report.done().collect();
    assert_eq!(done, vec!["srv-0001", "srv-0002", "srv-0004"]);
    assert!(in_maintenance(&sim).is_empty());
    assert!(events.iter().any(|e| matches!(
        e,
        RolloutEvent::WaveFailed {
            wave: 2,
            waves: 4,
            ..
        }
    )));
    assert!(report.pending_text().contains("srv-0003 (wave 2)"));
}

#[tokio::test]
async fn cancelling_during_a_drain_returns_and_restores_maintenance() {
    let sim = start(sim_config(servers(6), lasting_sessions(2))).await;
    let poller = poller(&sim);
    let mut plan = plan((1..=6).map(id).collect());
    plan.max_unavailable = Some(MaxUnavailable::Count(3));
    // Far longer than the guard: only the cancellation can end this drain.
    plan.drain = Some(drain(OnTimeout::Reboot, 3_600_000));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let progress = move |event: RolloutEvent| {
        if matches!(event, RolloutEvent::Draining { .. }) {
            trigger.cancel();
        }
    };
    let report = tokio::time::timeout(
        GUARD,
        rollout::run(
            &poller,
            &plan,
            &progress,
            &cancel,
            Instant::now() + GUARD * 100,
        ),
    )
    .await
    .expect("the rollout ended after the cancellation");

    assert!(report.cancelled);
    assert!(matches!(
        report.failure,
        Some(RolloutFailure::Wave {
            wave: 1,
            reason: WaveFailure::Cancelled { rebooting: false },
            ..
        })
    ));
    assert_eq!(sim.request_count(Operation::BatchReboot), 0);
    assert!(in_maintenance(&sim).is_empty());
    assert!(report.left_in_maintenance.is_empty());
    let fleet = sim.fleet_report();
    for i in 1..=3 {
        let changes: Vec<bool> = fleet
            .server(&id(i))
            .unwrap()
            .maintenance
            .iter()
            .map(|c| c.maintain_status)
            .collect();
        assert_eq!(changes, vec![true, false]);
    }
}

#[tokio::test]
async fn preflight_problems_stop_everything() {
    let mut specs = servers(4);
    specs[2] = ServerSpec::with_id(id(3)).frozen();
    let sim = start(sim_config(specs, SessionConfig::default())).await;
    let poller = poller(&sim);
    let mut ids: Vec<String> = (1..=4).map(id).collect();
    ids.push("srv-missing".into());
    let mut plan = plan(ids);
    plan.drain = Some(drain(OnTimeout::Reboot, 60));
    let (report, events) = roll(&poller, &plan, &CancellationToken::new()).await;
    match &report.failure {
        Some(RolloutFailure::Preflight { problems }) => {
            assert_eq!(problems.len(), 2, "{problems:?}");
            assert!(problems[0].starts_with("srv-0003"));
            assert!(problems[1].starts_with("srv-missing"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.request_count(Operation::BatchReboot), 0);
    assert!(sim
        .fleet_report()
        .servers
        .iter()
        .all(|s| s.maintenance.is_empty()));
    assert!(matches!(
        events.as_slice(),
        [RolloutEvent::PreflightFailed { .. }]
    ));
}

#[tokio::test]
async fn waves_need_waiting() {
    let sim = start(sim_config(servers(2), SessionConfig::default())).await;
    let poller = poller(&sim);
    let mut plan = plan(vec![id(1), id(2)]);
    plan.wait_for_ready = false;
    plan.max_unavailable = Some(MaxUnavailable::Count(1));
    let (report, _) = roll(&poller, &plan, &CancellationToken::new()).await;
    assert!(matches!(
        report.failure,
        Some(RolloutFailure::InvalidPlan(_))
    ));
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn a_callers_preflight_is_not_repeated() {
    let ids: Vec<String> = (1..=6).map(id).collect();
    let mut plan = plan(ids.clone());
    plan.max_unavailable = Some("3".parse().unwrap());
    let cancel = CancellationToken::new();
    let rolled = |checked_ids: std::ops::Range<usize>| {
        let (ids, plan, cancel) = (ids.clone(), plan.clone(), cancel.clone());
        async move {
            let sim = start(sim_config(servers(6), SessionConfig::default())).await;
            let poller = poller(&sim);
            // Looked up by the client itself, so the poller's view knows nothing of it: any
            // lookup by the engine would show in the log.
            let checked = poller
                .client()
                .preflight(&ids[checked_ids], &cancel, Instant::now() + GUARD)
                .await
                .expect("the pre-flight succeeds");
            sim.clear_requests();
            let report = tokio::time::timeout(
                GUARD,
                rollout::run_checked(
                    &poller,
                    &plan,
                    Some(checked),
                    &|_| {},
                    &cancel,
                    Instant::now() + GUARD,
                ),
            )
            .await
            .expect("the rollout ended");
            assert!(report.succeeded(), "{report:#?}");
            assert_eq!(report.waves.len(), 2);
            let first = sim.requests().first().map(|r| r.operation);
            sim.shutdown().await;
            first
        }
    };
    // Covering every server: the first request is the first wave's reboot.
    assert_eq!(rolled(0..6).await, Some(Operation::BatchReboot));
    // Not covering every server: not trusted, the engine looks the servers up first.
    assert_ne!(rolled(0..2).await, Some(Operation::BatchReboot));
}
