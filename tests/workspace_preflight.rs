//! The pre-flight check against the real simulator over HTTP: which servers it reports, and
//! what the lookup costs (counted from the simulator's request log).

use std::collections::BTreeMap;
use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig};
use tfws::workspace::error::ClientError;
use tfws::workspace::preflight::{LookupMethod, ProblemKind};
use tfws::workspace::simulator::{
    CredentialsConfig, Operation, RequestLogEntry, ServerSpec, Simulator, SimulatorConfig,
    SimulatorHandle, StatusOverride, DEFAULT_SERVER_GROUP_ID,
};
use tfws::workspace::Credentials;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

const AK: &str = "PREFLIGHTAK000000001";
const SK: &str = "preflight-test-secret-key";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const GUARD: Duration = Duration::from_secs(60);

async fn start(server_count: u32, extra: Vec<ServerSpec>) -> SimulatorHandle {
    let config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        servers: extra,
        server_count,
        ..SimulatorConfig::default()
    };
    Simulator::start(config).await.expect("simulator starts")
}

fn client(sim: &SimulatorHandle) -> Client {
    let url = Url::parse(&sim.base_url()).expect("simulator URL parses");
    let mut config = ClientConfig::new(url, PROJECT, Credentials::ak_sk(AK, SK));
    // These measure waiting and listing, not the request budget.
    config.max_requests_per_second = 1e9;
    config.retry_base_delay = Duration::from_millis(5);
    config.retry_max_delay = Duration::from_millis(20);
    config.max_retries = 1;
    Client::new(config).expect("client builds")
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("srv-{n:04}")).collect()
}

fn deadline() -> Instant {
    Instant::now() + GUARD
}

fn query_of(entry: &RequestLogEntry) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(entry.query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_missing_a_frozen_and_a_broken_server_are_named_among_good_ones() {
    let sim = start(50, Vec::new()).await;
    sim.set_server_status(
        "srv-0003",
        StatusOverride {
            status: Some("FREEZE".into()),
            ..StatusOverride::default()
        },
    )
    .expect("srv-0003 exists");
    sim.set_server_status("srv-0004", StatusOverride::error())
        .expect("srv-0004 exists");
    let client = client(&sim);
    let mut wanted = ids(1..=6);
    wanted.push("srv-nope".into());
    wanted.push("srv-0002".into()); // a duplicate

    let report = client
        .preflight(&wanted, &CancellationToken::new(), deadline())
        .await
        .expect("pre-flight succeeds");
    assert!(!report.is_clear());
    let named: Vec<&str> = report
        .problems
        .iter()
        .map(|p| p.server_id.as_str())
        .collect();
    assert_eq!(named, ["srv-0003", "srv-0004", "srv-nope"]);
    match &report.problems[0].kind {
        ProblemKind::Frozen { state } => assert!(state.contains("status FREEZE"), "{state}"),
        other => panic!("srv-0003: {other:?}"),
    }
    match &report.problems[1].kind {
        ProblemKind::DeadEnd { reason } => assert!(reason.contains("ERROR"), "{reason}"),
        other => panic!("srv-0004: {other:?}"),
    }
    assert_eq!(report.problems[2].kind, ProblemKind::NotFound);
    let text = report.problems_text();
    for id in ["srv-0003", "srv-0004", "srv-nope"] {
        assert!(text.contains(id), "{text}");
    }
    assert!(!text.contains("srv-0001"), "{text}");
    // Every existing server was looked up, with its group.
    assert_eq!(report.servers.len(), 6);
    assert_eq!(report.group_of("srv-0005"), Some(DEFAULT_SERVER_GROUP_ID));

    // 7 IDs against a project of 50: the count probe and one page are cheaper than 7 GETs;
    // the ID the listing did not show is confirmed by its own GET. Nothing but reads.
    assert_eq!(report.method, LookupMethod::ProjectListing { pages: 1 });
    let log = sim.requests();
    assert_eq!(report.requests_sent, 3);
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r.method == "GET"));
    assert_eq!(sim.state().counters.accepted_reboots, 0);
    let shows: Vec<_> = log
        .iter()
        .filter(|r| r.operation == Operation::ShowServer)
        .collect();
    assert_eq!(shows.len(), 1);
    assert_eq!(shows[0].server_id.as_deref(), Some("srv-nope"));
    assert_eq!(shows[0].status, Some(404));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_listing_learns_the_count_then_pages_by_a_hundred_until_the_count() {
    let extra = (1..=30)
        .map(|n| ServerSpec::with_id(format!("grp-{n:02}")).in_group("group-b"))
        .collect();
    let sim = start(220, extra).await;
    let client = client(&sim);
    let mut wanted = ids(1..=10);
    wanted.push("grp-07".into());
    let report = client
        .preflight(&wanted, &CancellationToken::new(), deadline())
        .await
        .expect("pre-flight succeeds");
    assert!(report.is_clear(), "{}", report.problems_text());
    assert_eq!(report.method, LookupMethod::ProjectListing { pages: 3 });
    let log = sim.requests();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|r| r.operation == Operation::ListServers));
    let mut queries: Vec<BTreeMap<String, String>> = log.iter().map(query_of).collect();
    queries.sort_by_key(|q| {
        (
            q.get("limit").cloned().unwrap_or_default().len(),
            q.get("offset").cloned().unwrap_or_default(),
        )
    });
    // The probe: limit=1, unfiltered.
    assert_eq!(queries[0].get("limit").map(String::as_str), Some("1"));
    for (query, offset) in queries[1..].iter().zip(["0", "100", "200"]) {
        assert_eq!(query.get("limit").map(String::as_str), Some("100"));
        assert_eq!(query.get("offset").map(String::as_str), Some(offset));
    }
    for query in &queries {
        assert!(!query.contains_key("server_group_id"), "{query:?}");
    }
    // The whole project was seen: every group's size is known.
    assert_eq!(report.group_sizes.get("group-b"), Some(&30));
    assert_eq!(report.group_sizes.get(DEFAULT_SERVER_GROUP_ID), Some(&220));
    assert_eq!(report.group_of("grp-07"), Some("group-b"));
    sim.shutdown().await;
}

#[tokio::test]
async fn few_servers_in_a_big_project_are_looked_up_one_by_one() {
    let sim = start(500, Vec::new()).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();

    // Two IDs against 5 pages: the probe, then two GETs.
    let report = client
        .preflight(&ids(7..=8), &cancel, deadline())
        .await
        .expect("pre-flight succeeds");
    assert!(report.is_clear());
    assert_eq!(report.method, LookupMethod::PerId);
    assert_eq!(report.requests_sent, 3);
    let log = sim.requests();
    assert_eq!(
        log.iter()
            .filter(|r| r.operation == Operation::ShowServer)
            .count(),
        2
    );
    sim.clear_requests();

    // One ID: a GET is always cheapest, no probe.
    let report = client
        .preflight(&["srv-gone".to_string()], &cancel, deadline())
        .await
        .expect("pre-flight succeeds");
    assert_eq!(report.requests_sent, 1);
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, ProblemKind::NotFound);
    assert_eq!(sim.requests().len(), 1);
    sim.clear_requests();

    // IDs that cannot be server IDs are reported without a request.
    let report = client
        .preflight(&[String::new(), "x".repeat(129)], &cancel, deadline())
        .await
        .expect("pre-flight succeeds");
    assert_eq!(report.problems.len(), 2);
    assert!(report
        .problems
        .iter()
        .all(|p| matches!(p.kind, ProblemKind::InvalidId { .. })));
    assert_eq!(report.requests_sent, 0);
    assert!(sim.requests().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_lookup_fails_the_preflight() {
    let sim = start(5, Vec::new()).await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let error = client
        .preflight(&ids(1..=3), &cancel, deadline())
        .await
        .expect_err("a cancelled pre-flight knows nothing");
    assert!(matches!(error, ClientError::Cancelled { .. }), "{error:?}");
    sim.shutdown().await;
}

/// Pre-flights through one poller, as the resources of one apply run them.
mod shared_listing {
    use super::*;
    use futures::future::join_all;
    use tfws::workspace::poller::Poller;

    fn batch(k: u32) -> Vec<String> {
        ids(k * 20 + 1..=k * 20 + 20)
    }

    #[tokio::test]
    async fn concurrent_preflights_share_one_listing_and_reuse_it_within_the_window() {
        let sim = start(2_000, Vec::new()).await;
        let poller = Poller::new(client(&sim));
        poller.set_listing_window(Duration::from_secs(60));
        let cancel = CancellationToken::new();
        let mut batches: Vec<Vec<String>> = (0..10).map(batch).collect();
        batches[3].push("srv-nope".into());

        // Alone, each would cost the probe and 20 GETs (20 pages tie with 20 GETs): 210.
        let reports = join_all(
            batches
                .iter()
                .map(|wanted| poller.preflight(wanted, &cancel, deadline())),
        )
        .await;
        let log = sim.requests();
        let lists: Vec<_> = log
            .iter()
            .filter(|r| r.operation == Operation::ListServers)
            .collect();
        let gets: Vec<_> = log
            .iter()
            .filter(|r| r.operation != Operation::ListServers)
            .collect();
        assert_eq!(lists.len(), 21, "one probe and 20 pages");
        assert_eq!(
            lists
                .iter()
                .filter(|r| query_of(r).get("limit").map(String::as_str) == Some("1"))
                .count(),
            1,
            "one count probe"
        );
        // The ID missing from the listing is confirmed by its own GET, and only it.
        assert_eq!(gets.len(), 1, "{gets:?}");
        assert!(gets[0].path.ends_with("/srv-nope"), "{:?}", gets[0].path);

        let mut sent = 0;
        for (k, report) in reports.into_iter().enumerate() {
            let report = report.expect("pre-flight succeeds");
            sent += report.requests_sent;
            assert_eq!(report.servers.len(), 20, "batch {k}");
            assert!(
                batches[k]
                    .iter()
                    .all(|id| id == "srv-nope"
                        || report.group_of(id) == Some(DEFAULT_SERVER_GROUP_ID)),
                "batch {k}"
            );
            assert!(matches!(
                report.method,
                LookupMethod::ProjectListing { pages: 20 }
            ));
            if k == 3 {
                assert_eq!(report.problems.len(), 1);
                assert_eq!(report.problems[0].server_id, "srv-nope");
                assert_eq!(report.problems[0].kind, ProblemKind::NotFound);
            } else {
                assert!(report.is_clear(), "batch {k}: {}", report.problems_text());
            }
        }
        assert_eq!(
            sent,
            log.len(),
            "every request is counted by exactly one pre-flight"
        );

        // The next pre-flights within the window read the same listing: no request at all.
        sim.clear_requests();
        for k in 10..13 {
            let report = poller
                .preflight(&batch(k), &cancel, deadline())
                .await
                .expect("pre-flight succeeds");
            assert!(report.is_clear());
            assert_eq!(report.servers.len(), 20);
            assert_eq!(report.requests_sent, 0);
        }
        assert_eq!(sim.requests().len(), 0);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_listing_older_than_the_window_is_not_trusted() {
        let sim = start(2_000, Vec::new()).await;
        let poller = Poller::new(client(&sim));
        let window = Duration::from_millis(200);
        poller.set_listing_window(window);
        let cancel = CancellationToken::new();
        let first = poller
            .preflight(&batch(0), &cancel, deadline())
            .await
            .expect("pre-flight succeeds");
        // Alone: 20 pages against 20 GETs, a tie, goes to the listing.
        assert_eq!(first.method, LookupMethod::ProjectListing { pages: 20 });
        assert_eq!(first.requests_sent, 21);
        assert_eq!(sim.requests().len(), 21);

        // Frozen after the listing: a pre-flight after the window must see it.
        sim.set_server_status(
            "srv-0025",
            StatusOverride {
                status: Some("FREEZE".into()),
                ..StatusOverride::default()
            },
        )
        .expect("srv-0025 exists");
        tokio::time::sleep(window * 2).await;
        sim.clear_requests();
        let second = poller
            .preflight(&batch(1), &cancel, deadline())
            .await
            .expect("pre-flight succeeds");
        let log = sim.requests();
        assert_eq!(second.requests_sent, log.len());
        assert_eq!(log.len(), 21, "probed and listed again");
        assert!(log.iter().all(|r| r.operation == Operation::ListServers));
        assert_eq!(second.problems.len(), 1, "{}", second.problems_text());
        assert_eq!(second.problems[0].server_id, "srv-0025");
        assert!(matches!(
            second.problems[0].kind,
            ProblemKind::Frozen { .. }
        ));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn few_servers_in_a_big_project_still_go_one_by_one() {
        let sim = start(2_000, Vec::new()).await;
        let poller = Poller::new(client(&sim));
        poller.set_listing_window(Duration::from_secs(60));
        let cancel = CancellationToken::new();
        let report = poller
            .preflight(&ids(7..=9), &cancel, deadline())
            .await
            .expect("pre-flight succeeds");
        assert!(report.is_clear());
        assert_eq!(report.method, LookupMethod::PerId);
        // The count probe and three GETs (the group's size is learnt with one more request).
        let log = sim.requests();
        assert_eq!(
            log.iter()
                .filter(|r| r.operation == Operation::ListServers
                    && !query_of(r).contains_key("server_group_id"))
                .count(),
            1
        );
        assert_eq!(
            log.iter()
                .filter(|r| r.operation != Operation::ListServers)
                .count(),
            3
        );
        // A second one within the window reuses the probed count: only its own GETs.
        sim.clear_requests();
        let report = poller
            .preflight(&ids(30..=31), &cancel, deadline())
            .await
            .expect("pre-flight succeeds");
        assert!(report.is_clear());
        assert_eq!(report.method, LookupMethod::PerId);
        let log = sim.requests();
        assert!(
            log.iter().all(|r| r.operation != Operation::ListServers
                || query_of(r).contains_key("server_group_id")),
            "no second count probe"
        );
        assert_eq!(
            log.iter()
                .filter(|r| r.operation != Operation::ListServers)
                .count(),
            2
        );
        sim.shutdown().await;
    }
}
