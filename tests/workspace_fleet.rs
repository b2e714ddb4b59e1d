//! The fleet calls of the Workspace client (listings with paging, server groups, maintenance
//! mode, sessions, logoff) against the real simulator over HTTP, and the simulator's fleet
//! bookkeeping (sessions killed, logoff messages, maintenance history, the most servers
//! unavailable at once). No timed assertions: tests poll the simulator's state.

use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig};
use tfws::workspace::error::ClientError;
use tfws::workspace::fleet::LogoffNotice;
use tfws::workspace::simulator::{
    CredentialsConfig, FleetReport, Operation, RebootTiming, ServerGroupSpec, ServerSpec,
    SessionConfig, Simulator, SimulatorConfig, SimulatorHandle,
};
use tfws::workspace::wire::{
    message_type, status, ListQuery, RebootType, ServerGroupQuery, SessionQuery,
};
use tfws::workspace::Credentials;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

const AK: &str = "FLEETTESTAK000000001";
const SK: &str = "fleet-test-secret-key-do-not-print";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// Bounds a whole operation so that a bug fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(60);
/// Upper bound for polling loops; generous so that a slow machine never flakes.
const POLL_ROUNDS: usize = 3_000;
const POLL_PAUSE: Duration = Duration::from_millis(10);

fn sim_config() -> SimulatorConfig {
    SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            iam_tokens: Vec::new(),
            allow_anonymous: false,
        },
        reboot: RebootTiming {
            pending_ms: 20,
            rebooting_ms: 40,
            registering_ms: 20,
        },
        ..SimulatorConfig::default()
    }
}

fn group(id: &str, name: &str, server_count: u32) -> ServerGroupSpec {
    ServerGroupSpec {
        id: id.to_owned(),
        name: Some(name.to_owned()),
        server_count,
    }
}

async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

fn client(sim: &SimulatorHandle) -> Client {
    let url = Url::parse(&sim.base_url()).expect("simulator URL parses");
    let mut config = ClientConfig::new(url, PROJECT, Credentials::ak_sk(AK, SK));
    // Each simulator has its own port, hence its own process-wide budget; these tests are
    // about the calls, not the rate, so the budget is out of the way.
    config.max_requests_per_second = 10_000.0;
    config.retry_base_delay = Duration::from_millis(5);
    config.retry_max_delay = Duration::from_millis(40);
    config.request_timeout = Duration::from_secs(10);
    Client::new(config).expect("client builds")
}

fn deadline() -> Instant {
    Instant::now() + GUARD
}

/// Polls the fleet report until `done` holds; panics after [`POLL_ROUNDS`].
async fn poll_fleet(
    sim: &SimulatorHandle,
    what: &str,
    done: impl Fn(&FleetReport) -> bool,
) -> FleetReport {
    for _ in 0..POLL_ROUNDS {
        let report = sim.fleet_report();
        if done(&report) {
            return report;
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
    panic!(
        "never reached: {what}; last report: {:?}",
        sim.fleet_report()
    );
}

/// Waits until every server is idle and registered (or in maintenance) again.
async fn poll_all_ready(sim: &SimulatorHandle) {
    for _ in 0..POLL_ROUNDS {
        let state = sim.state();
        if state.servers.iter().all(|s| {
            (s.status == status::REGISTERED || s.status == status::MAINTAINING)
                && s.vm_status == status::VM_ACTIVE
                && s.task_status == status::TASK_IDLE
        }) {
            return;
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
    panic!("servers never became ready: {:?}", sim.state().servers);
}

#[tokio::test]
async fn server_listing_pages_with_limit_100_until_count_and_filters() {
    let mut config = sim_config();
    config.server_groups = vec![group("g-big", "Big", 230), group("g-small", "Small", 20)];
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();

    let all = client
        .list_all_servers(&ListQuery::default(), &cancel, deadline())
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    let big = client
        .list_all_servers(
            &ListQuery {
                server_group_id: Some("g-big".into()),
                ..ListQuery::default()
            },
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(big.len(), 230);
    assert!(big
        .iter()
        .all(|s| s.server_group_id.as_deref() == Some("g-big")));
    // 3 pages for 250 and 3 for 230: paging stops at count, never asks for an empty page.
    let pages: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.operation == Operation::ListServers)
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 6, "{pages:?}");
    assert!(pages.iter().all(|q| q.contains("limit=100")), "{pages:?}");
    assert!(pages.iter().any(|q| q.contains("offset=200")), "{pages:?}");

    // server_name matches partially, as the API does.
    let named = client
        .list_all_servers(
            &ListQuery {
                server_name: Some("server-000".into()),
                ..ListQuery::default()
            },
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(named.len(), 9, "app-server-0001 … 0009");
    // maintain_status filter.
    sim.set_maintenance("srv-0007", true).unwrap();
    let maintained = client
        .list_all_servers(
            &ListQuery {
                maintain_status: Some(true),
                ..ListQuery::default()
            },
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    let ids: Vec<&str> = maintained.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["srv-0007"]);
    assert_eq!(maintained[0].status.as_deref(), Some(status::MAINTAINING));
    sim.shutdown().await;
}

#[tokio::test]
async fn server_groups_list_with_counts_and_resolve_an_exact_name() {
    let mut config = sim_config();
    config.server_groups = vec![
        group("g-fin", "Finance", 3),
        group("g-fin-eu", "Finance-EU", 2),
        group("g-hr", "HR", 1),
    ];
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let groups = client
        .list_all_server_groups(&ServerGroupQuery::default(), &cancel, deadline())
        .await
        .unwrap();
    let summary: Vec<(&str, Option<&str>, Option<u64>)> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_deref(), g.app_server_count))
        .collect();
    assert_eq!(
        summary,
        [
            ("g-fin", Some("Finance"), Some(3)),
            ("g-fin-eu", Some("Finance-EU"), Some(2)),
            ("g-hr", Some("HR"), Some(1)),
        ]
    );
    // The API's name filter is partial (in the simulator): both Finance groups come back,
    // and only the exact one is kept.
    let partial = client
        .list_server_groups(
            &ServerGroupQuery {
                server_group_name: Some("Finance".into()),
                ..ServerGroupQuery::default()
            },
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(partial.count, 2);
    let exact = client
        .find_server_groups_by_name("Finance", &cancel, deadline())
        .await
        .unwrap();
    let ids: Vec<&str> = exact.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["g-fin"]);
    assert!(client
        .find_server_groups_by_name("Fin", &cancel, deadline())
        .await
        .unwrap()
        .is_empty());
    // The group's servers carry its name.
    let servers = client
        .list_all_servers(
            &ListQuery {
                server_group_id: Some(exact[0].id.clone()),
                ..ListQuery::default()
            },
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(servers.len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn maintenance_on_and_off_in_batches_of_20_is_recorded() {
    let mut config = sim_config();
    config.server_count = 45;
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let mut ids: Vec<String> = (1..=45).map(|n| format!("srv-{n:04}")).collect();
    ids.push("srv-0001".into()); // a duplicate is sent once
    let on = client
        .set_maintenance(&ids, true, &cancel, deadline())
        .await;
    assert!(on.all_done(), "{on:?}");
    assert_eq!(on.done.len(), 45);
    let batches: Vec<Vec<String>> = sim
        .requests()
        .iter()
        .filter(|r| r.operation == Operation::BatchMaint)
        .map(|r| r.items.clone().unwrap_or_default())
        .collect();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [20, 20, 5]);
    for server in sim.state().servers {
        assert!(server.maintain_status, "{}", server.id);
        assert_eq!(server.status, status::MAINTAINING, "{}", server.id);
    }
    let off = client
        .set_maintenance(&ids[..10], false, &cancel, deadline())
        .await;
    assert!(off.all_done(), "{off:?}");
    let report = sim.fleet_report();
    let first = report.server("srv-0001").unwrap();
    let changes: Vec<bool> = first
        .maintenance
        .iter()
        .map(|c| c.maintain_status)
        .collect();
    assert_eq!(changes, [true, false]);
    assert!(first.maintenance[0].at_ms <= first.maintenance[1].at_ms);
    let last = report.server("srv-0045").unwrap();
    assert_eq!(last.maintenance.len(), 1);
    assert_eq!(sim.server("srv-0001").unwrap().status, status::REGISTERED);
    // Setting the same value again records no change.
    let again = client
        .set_maintenance(&ids[..1], false, &cancel, deadline())
        .await;
    assert!(again.all_done());
    assert_eq!(
        sim.fleet_report()
            .server("srv-0001")
            .unwrap()
            .maintenance
            .len(),
        2
    );
    // An unknown id fails its batch (404) and only that batch.
    let mixed: Vec<String> = vec!["srv-0002".into(), "nope".into()];
    let failed = client
        .set_maintenance(&mixed, false, &cancel, deadline())
        .await;
    assert_eq!(failed.failed.len(), 1);
    assert_eq!(
        failed.failed[0].error.api_error().map(|e| e.status),
        Some(404)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sessions_end_by_themselves_and_never_arrive_in_maintenance() {
    let mut config = sim_config();
    config.servers = vec![
        ServerSpec::with_id("busy"),
        ServerSpec::with_id("quiet").in_maintenance(),
    ];
    config.sessions = SessionConfig {
        per_server: 0,
        lifetime_ms: None,
        arrival_ms: Some(5),
        max_per_server: 3,
        logoff_second_ms: 1_000,
    };
    let sim = start(config).await;
    let report = poll_fleet(&sim, "3 sessions on busy", |r| {
        r.server("busy").is_some_and(|s| s.sessions_open == 3)
    })
    .await;
    assert_eq!(report.server("quiet").unwrap().sessions_open, 0);
    assert_eq!(sim.server("busy").unwrap().session_count, 3);
    assert_eq!(sim.server("quiet").unwrap().session_count, 0);

    // Sessions that end by themselves.
    sim.set_sessions(SessionConfig {
        per_server: 0,
        lifetime_ms: Some(20),
        arrival_ms: None,
        max_per_server: 3,
        logoff_second_ms: 1_000,
    });
    sim.set_server_status(
        "quiet",
        tfws::workspace::simulator::StatusOverride {
            session_count: Some(4),
            ..Default::default()
        },
    )
    .unwrap();
    let report = poll_fleet(&sim, "quiet's sessions ended", |r| {
        r.server("quiet").is_some_and(|s| s.sessions_open == 0)
    })
    .await;
    assert_eq!(report.server("quiet").unwrap().sessions_ended, 4);
    // Sessions opened under "never" keep their lifetime; no new ones arrive any more.
    let busy = report.server("busy").unwrap();
    assert_eq!((busy.sessions_open, busy.sessions_ended), (3, 0));
    assert_eq!(report.sessions_killed, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn sessions_are_listed_in_pages_and_logged_off_after_the_delay() {
    let mut config = sim_config();
    config.server_count = 3;
    config.sessions = SessionConfig {
        per_server: 70,
        lifetime_ms: None,
        arrival_ms: None,
        max_per_server: 100,
        logoff_second_ms: 5,
    };
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let all = client
        .list_all_sessions(
            &SessionQuery::window(time::OffsetDateTime::now_utc(), 30),
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 210);
    assert_eq!(sim.request_count(Operation::ListSessions), 3);
    let machine = sim.server("srv-0002").unwrap().machine_name;
    let open = client
        .open_sessions_on(&machine.to_lowercase(), &cancel, deadline())
        .await
        .unwrap();
    assert_eq!(open.len(), 70);
    assert!(open
        .iter()
        .all(|s| s.machine_name.as_deref() == Some(machine.as_str())));
    assert!(open
        .iter()
        .all(|s| matches!(s.session_state.as_deref(), Some("Active" | "Disconnected"))));
    // A window that ends before the sessions started finds nothing.
    let old = client
        .list_sessions(
            &SessionQuery::window(
                time::OffsetDateTime::now_utc() - time::Duration::days(40),
                5,
            ),
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(old.count, 0);

    let ids: Vec<String> = open.iter().map(|s| s.id.clone()).collect();
    let notice = LogoffNotice {
        message_type: message_type::WARNING,
        title: Some("Server maintenance".into()),
        message: Some("Please save your work".into()),
        delay_secs: 2,
    };
    let report = client
        .logoff_sessions(&ids, &notice, &cancel, deadline())
        .await;
    assert!(report.all_done(), "{report:?}");
    assert_eq!(report.done.len(), 70);
    let fleet = poll_fleet(&sim, "srv-0002 logged off", |r| {
        r.server("srv-0002").is_some_and(|s| s.sessions_open == 0)
    })
    .await;
    let server = fleet.server("srv-0002").unwrap();
    assert_eq!(server.sessions_logged_off, 70);
    assert_eq!(server.logoff_messages.len(), 70);
    let message = &server.logoff_messages[0];
    assert_eq!(message.title.as_deref(), Some("Server maintenance"));
    assert_eq!(message.message.as_deref(), Some("Please save your work"));
    assert_eq!((message.message_type, message.delay_time), (1, 2));
    assert_eq!(fleet.server("srv-0001").unwrap().sessions_open, 70);
    assert_eq!(fleet.sessions_killed, 0);
    assert_eq!(sim.server("srv-0002").unwrap().session_count, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn logoff_checks_its_input_and_batches_by_999() {
    let mut config = sim_config();
    config.server_count = 2;
    config.sessions = SessionConfig {
        per_server: 600,
        max_per_server: 1_000,
        ..SessionConfig::default()
    };
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let bad = LogoffNotice {
        message_type: 9,
        title: None,
        message: None,
        delay_secs: 0,
    };
    let refused = client
        .logoff_sessions(&["x".to_string()], &bad, &cancel, deadline())
        .await;
    assert_eq!((refused.failed.len(), refused.requests_sent), (1, 0));
    let sessions = client
        .list_all_sessions(
            &SessionQuery::window(time::OffsetDateTime::now_utc(), 30),
            &cancel,
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1_200);
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let notice = LogoffNotice {
        message_type: message_type::INFO,
        title: None,
        message: None,
        delay_secs: 0,
    };
    let report = client
        .logoff_sessions(&ids, &notice, &cancel, deadline())
        .await;
    assert!(report.all_done(), "{report:?}");
    let sizes: Vec<usize> = sim
        .requests()
        .iter()
        .filter(|r| r.operation == Operation::Logoff)
        .map(|r| r.items.as_ref().map_or(0, Vec::len))
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [201, 999]);
    poll_fleet(&sim, "all logged off", |r| r.sessions_open == 0).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn list_sessions_without_its_time_window_is_refused() {
    let mut config = sim_config();
    config.server_count = 1;
    let sim = start(config).await;
    let client = client(&sim);
    let error = client
        .list_sessions(
            &SessionQuery::default(),
            &CancellationToken::new(),
            deadline(),
        )
        .await
        .unwrap_err();
    let api = error.api_error().expect("an API error");
    assert_eq!(api.status, 400);
    assert_eq!(api.error_code.as_deref(), Some("WKS.00211102"));
    assert!(
        api.error_msg.contains("query_begin_time"),
        "{}",
        api.error_msg
    );
    assert!(matches!(error, ClientError::Api(_)));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_reboot_kills_the_open_sessions_and_a_drained_one_kills_none() {
    let mut config = sim_config();
    config.server_count = 4;
    config.sessions = SessionConfig {
        per_server: 2,
        logoff_second_ms: 1,
        ..SessionConfig::default()
    };
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    // Undrained: srv-0001 and srv-0002 rebooted with 2 sessions each.
    let undrained: Vec<String> = vec!["srv-0001".into(), "srv-0002".into()];
    let rebooted = client
        .batch_reboot(&undrained, RebootType::Soft, &cancel, deadline())
        .await;
    assert!(rebooted.all_rebooted());
    poll_all_ready(&sim).await;
    let report = poll_fleet(&sim, "two reboots over", |r| {
        r.servers
            .iter()
            .flat_map(|s| &s.reboots)
            .filter(|e| e.available_again_at.is_some())
            .count()
            == 2
    })
    .await;
    assert_eq!(report.sessions_killed, 4);
    let event = &report.server("srv-0001").unwrap().reboots[0];
    assert_eq!((event.sessions_open, event.sessions_killed), (2, 2));
    assert!(!event.maintain_status);

    // Drained: maintenance, logoff, then reboot: nothing killed.
    let drained: Vec<String> = vec!["srv-0003".into(), "srv-0004".into()];
    assert!(client
        .set_maintenance(&drained, true, &cancel, deadline())
        .await
        .all_done());
    let mut ids = Vec::new();
    for id in &drained {
        let machine = sim.server(id).unwrap().machine_name;
        ids.extend(
            client
                .open_sessions_on(&machine, &cancel, deadline())
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id),
        );
    }
    assert_eq!(ids.len(), 4);
    let notice = LogoffNotice {
        message_type: message_type::WARNING,
        title: Some("Server maintenance".into()),
        message: Some("Rebooting".into()),
        delay_secs: 1,
    };
    assert!(client
        .logoff_sessions(&ids, &notice, &cancel, deadline())
        .await
        .all_done());
    poll_fleet(&sim, "drained", |r| {
        drained
            .iter()
            .all(|id| r.server(id).is_some_and(|s| s.sessions_open == 0))
    })
    .await;
    assert!(client
        .batch_reboot(&drained, RebootType::Soft, &cancel, deadline())
        .await
        .all_rebooted());
    poll_all_ready(&sim).await;
    assert!(client
        .set_maintenance(&drained, false, &cancel, deadline())
        .await
        .all_done());
    let report = sim.fleet_report();
    assert_eq!(
        report.sessions_killed, 4,
        "only the undrained reboot killed sessions"
    );
    let server = report.server("srv-0003").unwrap();
    assert!(server.reboots[0].maintain_status);
    assert_eq!(server.reboots[0].sessions_killed, 0);
    assert_eq!(server.logoff_messages.len(), 2);
    let changes: Vec<bool> = server
        .maintenance
        .iter()
        .map(|c| c.maintain_status)
        .collect();
    assert_eq!(changes, [true, false]);
    assert!(server.maintenance[0].at_ms <= server.reboots[0].accepted_at_ms);
    assert!(server.reboots[0].available_again_at_ms.unwrap() <= server.maintenance[1].at_ms);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_most_servers_unavailable_at_once_is_tracked() {
    let mut config = sim_config();
    config.server_count = 12;
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    assert_eq!(sim.fleet_report().max_unavailable, 0);
    // Three waves of four, each rebooted and ready before the next.
    for wave in 0..3u32 {
        let ids: Vec<String> = (1..=4)
            .map(|n| format!("srv-{:04}", wave * 4 + n))
            .collect();
        assert!(client
            .batch_reboot(&ids, RebootType::Soft, &cancel, deadline())
            .await
            .all_rebooted());
        let during = sim.fleet_report();
        assert!(during.unavailable_now <= 4, "{}", during.unavailable_now);
        poll_all_ready(&sim).await;
        assert_eq!(sim.fleet_report().unavailable_now, 0);
    }
    let report = sim.fleet_report();
    assert_eq!(report.max_unavailable, 4);
    assert_eq!(report.reboots, 12);
    assert!(report.max_unavailable_at.is_some());
    // All twelve at once.
    let all: Vec<String> = (1..=12).map(|n| format!("srv-{n:04}")).collect();
    assert!(client
        .batch_reboot(&all, RebootType::Hard, &cancel, deadline())
        .await
        .all_rebooted());
    poll_all_ready(&sim).await;
    assert_eq!(sim.fleet_report().max_unavailable, 12);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_server_left_in_error_stays_unavailable_and_restarts_count_once() {
    let mut config = sim_config();
    config.server_count = 3;
    config.faults.error_after_reboot_ids = vec!["srv-0001".into()];
    let sim = start(config).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let first: Vec<String> = vec!["srv-0001".into(), "srv-0002".into()];
    assert!(client
        .batch_reboot(&first, RebootType::Soft, &cancel, deadline())
        .await
        .all_rebooted());
    // srv-0002 comes back; srv-0001 ends in ERROR and stays unavailable.
    let report = poll_fleet(&sim, "srv-0001 in error", |r| {
        r.server("srv-0001")
            .is_some_and(|s| s.reboots.first().is_some_and(|e| e.ended_in_error))
            && r.server("srv-0002").is_some_and(|s| {
                s.reboots
                    .first()
                    .is_some_and(|e| e.available_again_at.is_some())
            })
    })
    .await;
    assert_eq!(report.unavailable_now, 1);
    // Rebooting srv-0003 twice in a row (a restart) counts it once.
    let third: Vec<String> = vec!["srv-0003".into()];
    for _ in 0..2 {
        assert!(client
            .batch_reboot(&third, RebootType::Soft, &cancel, deadline())
            .await
            .all_rebooted());
    }
    sim.repair_server("srv-0001").unwrap();
    let report = poll_fleet(&sim, "all available", |r| r.unavailable_now == 0).await;
    assert_eq!(report.max_unavailable, 2);
    assert_eq!(report.server("srv-0003").unwrap().reboots.len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn maintenance_and_logoff_faults() {
    let mut config = sim_config();
    config.server_count = 25;
    config.sessions = SessionConfig {
        per_server: 1,
        logoff_second_ms: 1,
        ..SessionConfig::default()
    };
    config.faults.failing_maint_ids = Some(tfws::workspace::simulator::FailingIdsFault {
        ids: vec!["srv-0022".into()],
        status: 500,
        error_code: None,
        error_msg: None,
    });
    config.faults.ignore_logoff = true;
    let sim = start(config).await;
    let mut settings = ClientConfig::new(
        Url::parse(&sim.base_url()).unwrap(),
        PROJECT,
        Credentials::ak_sk(AK, SK),
    );
    settings.max_retries = 0;
    settings.max_requests_per_second = 10_000.0;
    let client = Client::new(settings).unwrap();
    let cancel = CancellationToken::new();
    let ids: Vec<String> = (1..=25).map(|n| format!("srv-{n:04}")).collect();
    let report = client
        .set_maintenance(&ids, true, &cancel, deadline())
        .await;
    assert_eq!(report.done.len(), 20);
    let failed: Vec<&str> = report.failed_ids().collect();
    assert_eq!(
        failed,
        ["srv-0021", "srv-0022", "srv-0023", "srv-0024", "srv-0025"]
    );
    assert_eq!(
        report.failed[0].error.api_error().map(|e| e.status),
        Some(500)
    );
    assert!(!sim.server("srv-0021").unwrap().maintain_status);
    assert!(sim.server("srv-0020").unwrap().maintain_status);

    // An ignored logoff is accepted, and the sessions stay.
    let machine = sim.server("srv-0001").unwrap().machine_name;
    let open = client
        .open_sessions_on(&machine, &cancel, deadline())
        .await
        .unwrap();
    let ids: Vec<String> = open.iter().map(|s| s.id.clone()).collect();
    let notice = LogoffNotice {
        message_type: message_type::WARNING,
        title: None,
        message: None,
        delay_secs: 0,
    };
    assert!(client
        .logoff_sessions(&ids, &notice, &cancel, deadline())
        .await
        .all_done());
    let report = sim.fleet_report();
    let server = report.server("srv-0001").unwrap();
    assert_eq!((server.sessions_open, server.logoff_messages.len()), (1, 0));
    sim.shutdown().await;
}
