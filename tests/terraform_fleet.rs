//! `workspace_app_server_reboot` against the simulator's models of the real service, with a
//! real `terraform` (1.0.3): the agent-registration delay, dead ends, the pre-flight check,
//! the handover of a failed create's pending servers, and a fleet of resources sharing the
//! request budgets (one per API) against a quota per API.
//!
//! Every assertion is on what the simulator recorded (request log, reboot history with its
//! timestamps, reboot counts) and on Terraform's output and state; none on elapsed time.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{env_refs, tfjson, CommandOutput, LocalSimulator, TestWorkdir};
use tfws::workspace::simulator::{
    InjectedFault, Operation, QuotaFault, RebootTiming, ServerSpec, SimulatorConfig,
};
use tfws::workspace::Credentials;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

/// A simulator with `config`, accepting the support module's test credentials.
fn simulator(mut config: SimulatorConfig) -> LocalSimulator {
    config.credentials.access_keys.push(Credentials::ak_sk(
        support::simulator::TEST_ACCESS_KEY,
        support::simulator::TEST_SECRET_KEY,
    ));
    LocalSimulator::start(config)
}

fn quick_timing() -> RebootTiming {
    RebootTiming {
        pending_ms: 100,
        rebooting_ms: 200,
        registering_ms: 100,
    }
}

/// One working directory and the provider environment for `sim`, plus `extra` variables.
struct Run<'a> {
    sim: &'a LocalSimulator,
    workdir: TestWorkdir,
    cli: support::TerraformCli,
    env: Vec<(String, String)>,
}

impl<'a> Run<'a> {
    fn new(sim: &'a LocalSimulator, extra: &[(&str, &str)]) -> Run<'a> {
        let mut env = sim.provider_env();
        env.push(("HW_WORKSPACE_SETTLE_TIME".into(), "200ms".into()));
        for (key, value) in extra {
            env.retain(|(k, _)| k != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        Run {
            sim,
            workdir: TestWorkdir::new(Path::new(PROVIDER_BINARY)),
            cli: support::terraform_1_0_3(),
            env,
        }
    }

    fn write(&self, resources: &str) {
        self.workdir
            .write_main_tf(&format!("{}\n{resources}", support::TERRAFORM_BLOCK));
    }

    fn apply(&self, extra: &[&str]) -> CommandOutput {
        self.workdir.apply(&self.cli, extra, &env_refs(&self.env))
    }

    fn show(&self) -> Value {
        self.workdir.show_json(&self.cli, &env_refs(&self.env))
    }

    fn counts(&self, ids: &[String]) -> Vec<u64> {
        let counts = self.sim.reboot_counts();
        ids.iter()
            .map(|id| counts.get(id).copied().unwrap_or(0))
            .collect()
    }

    fn reboot_requests(&self) -> usize {
        self.sim.request_count(Operation::BatchReboot)
    }
}

fn resource(name: &str, ids: &[String], extra: &str) -> String {
    let literal = serde_json::to_string(ids).unwrap_or_default();
    format!(
        "resource \"workspace_app_server_reboot\" {name:?} {{\n  server_ids = {literal}\n{extra}}}\n"
    )
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("srv-{n:04}")).collect()
}

/// Terraform's boxed, wrapped diagnostics as one line of words.
fn flat(output: &CommandOutput) -> String {
    output
        .combined()
        .split_whitespace()
        .filter(|word| !matches!(*word, "│" | "╷" | "╵"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn assert_says(output: &CommandOutput, needle: &str) {
    let needle = needle.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat(output).contains(&needle),
        "{needle:?} missing:\n{output}"
    );
}

fn parse_time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|error| panic!("{text:?} is not an RFC 3339 time: {error}"))
}

/// The agent registers 3 s after the VM is back: the apply returns only after every server's
/// agent registered again, as the simulator's own reboot history dates it.
#[test]
fn apply_waits_for_the_agent_to_register() {
    let sim = simulator(SimulatorConfig {
        server_count: 2,
        reboot: RebootTiming {
            pending_ms: 100,
            rebooting_ms: 300,
            registering_ms: 3_000,
        },
        ..SimulatorConfig::default()
    });
    let run = Run::new(&sim, &[]);
    let all = ids(1..=2);
    run.write(&resource("test", &all, ""));
    run.apply(&[]).assert_success();
    let returned = OffsetDateTime::now_utc();
    let report = sim.fleet_report();
    for id in &all {
        let history = report
            .server(id)
            .unwrap_or_else(|| panic!("{id} missing in {report:#?}"));
        assert_eq!(history.reboots.len(), 1, "{history:#?}");
        let reboot = &history.reboots[0];
        let accepted = parse_time(&reboot.accepted_at);
        let registered = parse_time(
            reboot
                .available_again_at
                .as_deref()
                .unwrap_or_else(|| panic!("{id} never registered again: {reboot:#?}")),
        );
        // The model itself: registration comes 3 s after the VM is back.
        assert!(registered - accepted >= time::Duration::milliseconds(3_400));
        assert!(
            returned >= registered,
            "apply returned at {returned} before {id}'s agent registered at {registered}"
        );
    }
    // And the provider saw it: a read of each server after its registration.
    let last_read = sim
        .requests()
        .iter()
        .filter(|r| matches!(r.operation, Operation::ShowServer | Operation::ListServers))
        .map(|r| parse_time(&r.time))
        .max()
        .unwrap_or_else(|| panic!("no read request"));
    let latest_registration = report
        .servers
        .iter()
        .filter_map(|s| {
            s.reboots
                .last()?
                .available_again_at
                .as_deref()
                .map(parse_time)
        })
        .max()
        .unwrap_or_else(|| panic!("no registration"));
    assert!(last_read >= latest_registration);
}

/// A reboot that ends in ERROR ends the wait for that server at once (well inside a 2-minute
/// timeout), the others are done; before a repair the pre-flight refuses it and sends no
/// reboot; after it the next apply reboots only that server.
#[test]
fn a_server_ending_in_error_fails_fast_and_only_it_is_rebooted_after_repair() {
    let sim = simulator(SimulatorConfig {
        server_count: 3,
        reboot: quick_timing(),
        ..SimulatorConfig::default()
    });
    sim.set_error_after_reboot(&["srv-0002"]);
    let run = Run::new(&sim, &[]);
    let all = ids(1..=3);
    run.write(&resource(
        "test",
        &all,
        "  timeouts {\n    create = \"2m\"\n  }\n",
    ));
    let failed = run.apply(&[]);
    failed.assert_failure();
    assert_says(&failed, "1 rebooted server(s) did not become ready");
    assert_says(&failed, "srv-0002");
    assert_says(&failed, "ERROR");
    // A dead end, not the timeout.
    assert!(!flat(&failed).contains("ran out"), "{failed}");
    assert_says(&failed, "Rebooted and ready again (2): srv-0001, srv-0003.");
    assert_eq!(run.counts(&all), [1, 1, 1]);
    let show = run.show();
    let values = tfjson::state_values(&show, "workspace_app_server_reboot.test")
        .unwrap_or_else(|| panic!("no state: {show}"));
    assert_eq!(
        values["pending_server_ids"],
        serde_json::json!(["srv-0002"])
    );

    // Not repaired yet: the pre-flight refuses, no reboot request at all.
    sim.set_error_after_reboot(&[]);
    let before = run.reboot_requests();
    let refused = run.apply(&[]);
    refused.assert_failure();
    assert_says(&refused, "Servers cannot be rebooted");
    assert_says(&refused, "srv-0002");
    assert_says(&refused, "ERROR");
    assert_eq!(run.reboot_requests(), before);
    assert_eq!(run.counts(&all), [1, 1, 1]);

    // Repaired: the next apply reboots only srv-0002.
    sim.repair_server("srv-0002")
        .unwrap_or_else(|e| panic!("repair: {e}"));
    sim.clear_requests();
    run.apply(&[]).assert_success();
    assert_eq!(run.counts(&all), [1, 2, 1]);
    let batches: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.is_accepted_reboot())
        .collect();
    assert_eq!(batches.len(), 1, "{batches:#?}");
    assert_eq!(
        batches[0].items.as_deref(),
        Some(&["srv-0002".to_owned()][..])
    );
    let show = run.show();
    let values = tfjson::state_values(&show, "workspace_app_server_reboot.test")
        .unwrap_or_else(|| panic!("no state: {show}"));
    assert_eq!(values["pending_server_ids"], serde_json::json!([]));
}

/// A nonexistent and a frozen ID among good ones: the apply fails naming both, and not one
/// reboot request is sent.
#[test]
fn a_missing_and_a_frozen_server_stop_the_apply_before_any_reboot() {
    let mut config = SimulatorConfig {
        server_count: 3,
        reboot: quick_timing(),
        ..SimulatorConfig::default()
    };
    config
        .servers
        .push(ServerSpec::with_id("srv-frozen").frozen());
    let sim = simulator(config);
    let run = Run::new(&sim, &[]);
    let mut listed = ids(1..=3);
    listed.extend(["srv-frozen".to_owned(), "srv-typo".to_owned()]);
    run.write(&resource("test", &listed, ""));
    let failed = run.apply(&[]);
    failed.assert_failure();
    assert_says(&failed, "Servers cannot be rebooted");
    assert_says(&failed, "2 of the 5 server(s) about to be rebooted");
    assert_says(&failed, "srv-frozen: frozen");
    assert_says(&failed, "srv-typo: does not exist");
    assert_says(&failed, "no reboot request was sent at all");
    assert_eq!(run.reboot_requests(), 0);
    assert!(run.counts(&listed).iter().all(|&n| n == 0));
    let show = run.show();
    assert!(
        tfjson::state_values(&show, "workspace_app_server_reboot.test").is_none(),
        "nothing is saved: {show}"
    );
}

/// 100 resources of 20 servers each, `-parallelism=10`, against a quota of 10 requests a second
/// per API (as Huawei's gateway counts): every request of one API in the apply shares the
/// provider's budget of that API (9 a second), so the apply succeeds and every server is
/// rebooted exactly once. Prints the figures of the run, per API too.
#[test]
fn a_hundred_resources_share_one_budget_under_the_quota() {
    const RESOURCES: u32 = 100;
    const PER_RESOURCE: u32 = 20;
    let mut config = SimulatorConfig {
        reboot: quick_timing(),
        ..SimulatorConfig::default()
    };
    for group in 0..RESOURCES {
        config = config.with_group(format!("group-{group:03}"), PER_RESOURCE);
    }
    let sim = simulator(config);
    sim.set_quota(Some(QuotaFault::per_second(10)));
    let run = Run::new(
        &sim,
        &[
            ("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", "9"),
            ("HW_WORKSPACE_POLL_INTERVAL", "2s"),
        ],
    );
    let mut hcl = String::new();
    let mut all = Vec::new();
    for r in 0..RESOURCES {
        let first = r * PER_RESOURCE + 1;
        let servers = ids(first..=first + PER_RESOURCE - 1);
        hcl.push_str(&resource(&format!("r{r:03}"), &servers, ""));
        all.extend(servers);
    }
    run.write(&hcl);
    let started = std::time::Instant::now();
    let output = run.apply(&["-parallelism=10"]);
    let elapsed = started.elapsed();
    output.assert_success();
    let counts = run.counts(&all);
    let wrong: BTreeMap<&String, u64> = all.iter().zip(counts).filter(|(_, n)| *n != 1).collect();
    assert!(wrong.is_empty(), "not rebooted exactly once: {wrong:?}");
    let requests = sim.requests();
    let throttled = requests
        .iter()
        .filter(|r| r.fault == Some(InjectedFault::Quota))
        .count();
    eprintln!(
        "100 x 20 servers, quota 10/s per API, budget 9/s per API: {:.1} s, {} requests, {} answered 429 ({:.1} %); by API: {:?}, 429 by API: {:?}",
        elapsed.as_secs_f64(),
        requests.len(),
        throttled,
        100.0 * throttled as f64 / requests.len().max(1) as f64,
        sim.requests_by_api(),
        sim.throttled_by_api()
    );
}
