//! The shared poller against the real simulator over HTTP: what a polling round costs, counted
//! from the simulator's request log, with one wait and with several waits on one poller.

use std::collections::BTreeMap;
use std::time::Duration;

use tfws::workspace::client::{Client, ClientConfig};
use tfws::workspace::poller::{Poller, RoundRecord};
use tfws::workspace::preflight::LookupMethod;
use tfws::workspace::simulator::{
    CredentialsConfig, Operation, RebootTiming, RequestLogEntry, ServerSpec, Simulator,
    SimulatorConfig, SimulatorHandle, DEFAULT_SERVER_GROUP_ID,
};
use tfws::workspace::wait::{WaitOptions, WaitOutcome, WaitReport};
use tfws::workspace::wire::RebootType;
use tfws::workspace::Credentials;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

const AK: &str = "POLLERTESTAK00000001";
const SK: &str = "poller-test-secret-key";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const BIG_GROUP: &str = "group-big";
/// Bounds a whole operation so that a bug fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(120);

fn big_group_id(n: u32) -> String {
    format!("big-{n:04}")
}

/// `in_group` servers `big-0001…` in [`BIG_GROUP`] and `others` generated servers in the
/// default group.
async fn start(in_group: u32, others: u32, timing: RebootTiming) -> SimulatorHandle {
    let config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        servers: (1..=in_group)
            .map(|n| ServerSpec::with_id(big_group_id(n)).in_group(BIG_GROUP))
            .collect(),
        server_count: others,
        reboot: timing,
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
    config.retry_max_delay = Duration::from_millis(40);
    config.request_timeout = Duration::from_secs(20);
    Client::new(config).expect("client builds")
}

fn deadline() -> Instant {
    Instant::now() + GUARD
}

fn options(interval_ms: u64) -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(interval_ms),
        // Long: readiness must come from seeing the reboot.
        settle: Duration::from_secs(3600),
        reboot_requested_at: None,
    }
}

async fn guarded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("the operation finished in time")
}

fn reads(log: &[RequestLogEntry]) -> Vec<&RequestLogEntry> {
    log.iter().filter(|r| r.method == "GET").collect()
}

fn query_of(entry: &RequestLogEntry) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(entry.query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn assert_all_ready(report: &WaitReport) {
    assert!(
        report.all_ready(),
        "{:?}",
        report.not_ready().take(5).collect::<Vec<_>>()
    );
}

/// Every round's cost against `min(pending, pages)`, where `pages` is `⌈group / 100⌉` of the
/// one group holding pending servers; and the rounds' requests add up to what the simulator
/// received while waiting.
fn assert_rounds_within(rounds: &[RoundRecord], pages: usize, wait_reads: usize) {
    assert!(!rounds.is_empty());
    for round in rounds {
        let bound = round.pending.min(pages);
        assert!(
            round.requests <= bound,
            "round {} sent {} requests for {} pending servers (bound {bound})",
            round.round,
            round.requests,
            round.pending
        );
    }
    assert_eq!(
        rounds.iter().map(|r| r.requests).sum::<usize>(),
        wait_reads,
        "the poller's count of requests against the simulator's log"
    );
}

#[tokio::test]
async fn a_thousand_servers_of_one_group_cost_ten_requests_a_round() {
    // 1,000 servers in one group, 1,500 others: a project of 2,500.
    let sim = start(
        1_000,
        1_500,
        RebootTiming {
            pending_ms: 300,
            rebooting_ms: 600,
            registering_ms: 100,
        },
    )
    .await;
    let client = client(&sim);
    let poller = Poller::new(client.clone());
    let wanted: Vec<String> = (1..=1_000).map(big_group_id).collect();

    // Pre-flight: 1,000 GETs or the count probe and 25 pages: the listing.
    let cancel = CancellationToken::new();
    let preflight = guarded(poller.preflight(&wanted, &cancel, deadline()))
        .await
        .expect("pre-flight succeeds");
    assert!(preflight.is_clear(), "{}", preflight.problems_text());
    assert_eq!(preflight.method, LookupMethod::ProjectListing { pages: 25 });
    let log = sim.requests();
    assert_eq!(preflight.requests_sent, log.len());
    assert_eq!(log.len(), 26);
    assert!(log.iter().all(|r| r.operation == Operation::ListServers));
    assert_eq!(preflight.group_sizes.get(BIG_GROUP), Some(&1_000));
    assert_eq!(preflight.group_of("big-0500"), Some(BIG_GROUP));

    let report = guarded(client.batch_reboot(&wanted, RebootType::Soft, &cancel, deadline())).await;
    assert!(report.all_rebooted());
    sim.clear_requests();

    let waited =
        guarded(poller.wait_until_ready(&wanted, &options(100), &cancel, deadline())).await;
    assert_all_ready(&waited);
    let log = sim.requests();
    let wait_reads = reads(&log);
    assert_eq!(wait_reads.len(), log.len(), "the wait only reads");
    assert_eq!(waited.requests_sent, wait_reads.len());
    assert_rounds_within(&poller.rounds(), 10, wait_reads.len());
    // Pages of the group, never the whole project.
    for entry in wait_reads
        .iter()
        .filter(|r| r.operation == Operation::ListServers)
    {
        let query = query_of(entry);
        assert_eq!(
            query.get("server_group_id").map(String::as_str),
            Some(BIG_GROUP)
        );
        assert_eq!(query.get("limit").map(String::as_str), Some("100"));
    }
    // The reboot takes several rounds, so the bound was tested on full rounds.
    assert!(poller.rounds().iter().any(|r| r.pending == 1_000));
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrent_waits_on_one_poller_share_its_rounds() {
    // One group of 300 (3 pages), and three waits of 100 servers each.
    let sim = start(
        300,
        0,
        RebootTiming {
            pending_ms: 300,
            rebooting_ms: 600,
            registering_ms: 100,
        },
    )
    .await;
    let client = client(&sim);
    let poller = Poller::new(client.clone());
    let cancel = CancellationToken::new();
    let all: Vec<String> = (1..=300).map(big_group_id).collect();
    let preflight = guarded(poller.preflight(&all, &cancel, deadline()))
        .await
        .expect("pre-flight succeeds");
    assert!(preflight.is_clear());
    let parts: Vec<Vec<String>> = all.chunks(100).map(<[String]>::to_vec).collect();
    for part in &parts {
        let report =
            guarded(client.batch_reboot(part, RebootType::Soft, &cancel, deadline())).await;
        assert!(report.all_rebooted());
    }
    sim.clear_requests();

    let options = options(100);
    let (a, b, c) = guarded(async {
        tokio::join!(
            poller.wait_until_ready(&parts[0], &options, &cancel, deadline()),
            poller.wait_until_ready(&parts[1], &options, &cancel, deadline()),
            poller.wait_until_ready(&parts[2], &options, &cancel, deadline()),
        )
    })
    .await;
    for report in [&a, &b, &c] {
        assert_all_ready(report);
    }
    let log = sim.requests();
    let wait_reads = reads(&log);
    assert_eq!(wait_reads.len(), log.len());
    let rounds = poller.rounds();
    // The whole process's rounds stay within the bound of one group of 300.
    assert_rounds_within(&rounds, 3, wait_reads.len());
    // The three waits were served by the same rounds: the first round already held all
    // 300 servers, for at most 3 requests (three pollers would send 3 each).
    assert_eq!(rounds[0].pending, 300);
    assert!(rounds[0].requests <= 3);
    // Each group page of a round was fetched once for all three waits.
    let first_pages = wait_reads
        .iter()
        .filter(|r| {
            r.operation == Operation::ListServers
                && query_of(r).get("offset").map(String::as_str) == Some("0")
        })
        .count();
    let listing_rounds = rounds.iter().filter(|r| r.pending > 3).count();
    assert_eq!(first_pages, listing_rounds);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_few_servers_in_a_big_group_are_polled_one_by_one() {
    let sim = start(
        1_000,
        1_500,
        RebootTiming {
            pending_ms: 200,
            rebooting_ms: 400,
            registering_ms: 100,
        },
    )
    .await;
    let client = client(&sim);
    let poller = Poller::new(client.clone());
    let cancel = CancellationToken::new();
    // Not on the group's first page either.
    let wanted: Vec<String> = [500, 700, 900].into_iter().map(big_group_id).collect();
    let preflight = guarded(poller.preflight(&wanted, &cancel, deadline()))
        .await
        .expect("pre-flight succeeds");
    assert!(preflight.is_clear());
    // The count probe, three GETs (cheaper than 25 pages), and the group's size.
    assert_eq!(preflight.method, LookupMethod::PerId);
    assert_eq!(preflight.requests_sent, 5);
    assert_eq!(sim.requests().len(), 5);
    assert_eq!(preflight.group_sizes.get(BIG_GROUP), Some(&1_000));

    let report = guarded(client.batch_reboot(&wanted, RebootType::Hard, &cancel, deadline())).await;
    assert!(report.all_rebooted());
    sim.clear_requests();
    let waited = guarded(poller.wait_until_ready(&wanted, &options(50), &cancel, deadline())).await;
    assert_all_ready(&waited);
    let log = sim.requests();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|r| r.operation == Operation::ShowServer),
        "{log:?}"
    );
    assert_rounds_within(&poller.rounds(), 10, log.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn without_a_preflight_the_rounds_learn_groups_and_sizes() {
    // 150 servers of the default group: unknown at first, then 2 pages a round.
    let sim = start(
        0,
        150,
        RebootTiming {
            pending_ms: 500,
            rebooting_ms: 1_500,
            registering_ms: 100,
        },
    )
    .await;
    let client = client(&sim);
    let poller = Poller::new(client.clone());
    let cancel = CancellationToken::new();
    let wanted: Vec<String> = (1..=150).map(|n| format!("srv-{n:04}")).collect();
    let report = guarded(client.batch_reboot(&wanted, RebootType::Soft, &cancel, deadline())).await;
    assert!(report.all_rebooted());
    sim.clear_requests();
    let waited =
        guarded(poller.wait_until_ready(&wanted, &options(100), &cancel, deadline())).await;
    assert_all_ready(&waited);
    let rounds = poller.rounds();
    assert!(rounds.len() >= 3, "{rounds:?}");
    // Round 1: one GET each (the groups are unknown); round 2 probes the group's first page
    // and fetches the second; after that every round is within the bound.
    assert_eq!(rounds[0].requests, 150);
    assert_eq!(rounds[1].requests, 2);
    let log = sim.requests();
    assert_rounds_within(&rounds[1..], 2, log.len() - 150);
    for entry in log.iter().filter(|r| r.operation == Operation::ListServers) {
        assert_eq!(
            query_of(entry).get("server_group_id").map(String::as_str),
            Some(DEFAULT_SERVER_GROUP_ID)
        );
    }
    sim.shutdown().await;
}

// On worker threads, as the provider runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_server_is_gone_and_cancelling_one_wait_leaves_the_other() {
    let sim = start(
        120,
        0,
        RebootTiming {
            pending_ms: 200,
            rebooting_ms: 60_000,
            registering_ms: 100,
        },
    )
    .await;
    let client = client(&sim);
    let poller = Poller::new(client.clone());
    let cancel = CancellationToken::new();
    let mut wanted: Vec<String> = (1..=120).map(big_group_id).collect();
    poller
        .preflight(&wanted, &cancel, deadline())
        .await
        .expect("pre-flight succeeds");
    // Listed as a member of the group by the caller, but it does not exist: missing from the
    // group's pages, then 404 on its own GET.
    poller.remember_groups([("big-9999", BIG_GROUP)]);
    wanted.push("big-9999".to_string());
    let report =
        guarded(client.batch_reboot(&wanted[..120], RebootType::Soft, &cancel, deadline())).await;
    assert!(report.all_rebooted());

    let stop_first = CancellationToken::new();
    let fast = options(50);
    let first = poller.wait_until_ready(&wanted, &fast, &stop_first, deadline());
    let second = poller.wait_until_ready(
        &wanted[..10],
        &fast,
        &cancel,
        Instant::now() + Duration::from_millis(800),
    );
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        stop_first.cancel();
    };
    let (first, second, ()) = guarded(async { tokio::join!(first, second, stopper) }).await;
    match first.outcome("big-9999") {
        Some(WaitOutcome::Failed { reason }) => {
            assert!(reason.contains("no longer exists"), "{reason}")
        }
        other => panic!("big-9999: {other:?}"),
    }
    assert_eq!(first.outcome("big-0001"), Some(&WaitOutcome::Cancelled));
    // The other wait went on after the first was cancelled, until its own deadline.
    match second.outcome("big-0001") {
        Some(WaitOutcome::TimedOut { last_status }) => {
            assert!(last_status.contains("reboot seen"), "{last_status}")
        }
        other => panic!("big-0001: {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_preflight_right_after_a_round_reads_the_shared_view() {
    let sim = start(40, 0, RebootTiming::default()).await;
    let client = client(&sim);
    let poller = Poller::new(client.clone());
    let cancel = CancellationToken::new();
    let wanted: Vec<String> = (1..=40).map(big_group_id).collect();
    // Never rebooted, but with no settle time an idle server counts as ready at once: one round.
    let options = WaitOptions {
        interval: Duration::from_secs(30),
        settle: Duration::ZERO,
        reboot_requested_at: None,
    };
    let waited = guarded(poller.wait_until_ready(&wanted, &options, &cancel, deadline())).await;
    assert_all_ready(&waited);
    assert_eq!(poller.rounds().len(), 1);
    let sent = sim.requests().len();
    assert_eq!(sent, 40, "one GET each: the groups were unknown");

    // Seen less than one interval ago: no lookup, only the group's size (the round used GETs
    // and never learnt it) for the rounds to come.
    let preflight = guarded(poller.preflight(&wanted[..10], &cancel, deadline()))
        .await
        .expect("pre-flight succeeds");
    assert!(preflight.is_clear());
    assert_eq!(preflight.servers.len(), 10);
    assert_eq!(preflight.group_sizes.get(BIG_GROUP), Some(&40));
    assert_eq!(preflight.requests_sent, 1);
    let log = sim.requests();
    assert_eq!(log.len(), sent + 1);
    let probe = query_of(&log[sent]);
    assert_eq!(probe.get("limit").map(String::as_str), Some("1"));
    assert_eq!(
        probe.get("server_group_id").map(String::as_str),
        Some(BIG_GROUP)
    );
    // The size is known now: the same pre-flight again costs nothing.
    let again = guarded(poller.preflight(&wanted[..10], &cancel, deadline()))
        .await
        .expect("pre-flight succeeds");
    assert_eq!(again.requests_sent, 0);
    // A server the rounds never saw is looked up.
    let preflight = guarded(poller.preflight(&["big-0404".to_string()], &cancel, deadline()))
        .await
        .expect("pre-flight succeeds");
    assert_eq!(preflight.problems.len(), 1);
    assert_eq!(sim.requests().len(), sent + 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn session_counts_reuse_a_shared_listing_younger_than_their_max_age() {
    // 150 servers, 20 of them with sessions: listing them costs a probe and two pages.
    let config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        servers: (1..=150)
            .map(|n| {
                let mut spec = ServerSpec::with_id(big_group_id(n));
                spec.session_count = u32::from(n <= 20) * 2;
                spec
            })
            .collect(),
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(config).await.expect("simulator starts");
    let poller = Poller::new(client(&sim));
    poller.set_listing_window(Duration::from_millis(1));
    let cancel = CancellationToken::new();
    let first: Vec<String> = (1..=100).map(big_group_id).collect();
    let counts =
        guarded(poller.session_counts(&first, Duration::from_secs(60), &cancel, deadline()))
            .await
            .expect("the lookup succeeds");
    assert_eq!(counts.len(), 100);
    assert_eq!(counts.values().sum::<u64>(), 40);
    let listed = sim.requests().len();
    assert_eq!(listed, 3, "a probe and two pages: {:#?}", sim.requests());

    // Past the pre-flight window, but within the max age: read from that listing, free.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second: Vec<String> = (10..=150).map(big_group_id).collect();
    let counts =
        guarded(poller.session_counts(&second, Duration::from_secs(60), &cancel, deadline()))
            .await
            .expect("the lookup succeeds");
    assert_eq!(counts.len(), 141);
    assert_eq!(counts.values().sum::<u64>(), 22);
    assert_eq!(sim.requests().len(), listed);

    // Older than the max age: looked up again.
    let counts =
        guarded(poller.session_counts(&second, Duration::from_millis(1), &cancel, deadline()))
            .await
            .expect("the lookup succeeds");
    assert_eq!(counts.len(), 141);
    assert!(sim.requests().len() > listed);
    sim.shutdown().await;
}
