//! Rolling, drained reboots by `workspace_app_server_reboot`, end to end: a real `terraform`
//! (1.0.3 always; for the waves and the interrupt also the other CLIs found on PATH) applies
//! `max_unavailable` and `drain` against an in-process simulator with user sessions.
//!
//! What each test shows, from what the simulator recorded (its fleet report: the most servers
//! unavailable at once, per server its maintenance changes, reboots with the sessions they
//! killed, and the logoff messages delivered; its request log) and from Terraform's output and
//! state — never from elapsed time:
//! - waves: 40 servers with `max_unavailable = 10` (and `"25%"`) are never more than 10
//!   unavailable at once, rebooted once each, wave after wave in ascending ID order;
//! - drain with `on_timeout = "logoff"`: every reboot happens in maintenance mode, no session
//!   is killed, the users get the message, a server that was in maintenance before stays there
//!   and every other one is out of it again;
//! - drain with `on_timeout = "fail"` in wave 2 of 4: the apply names the wave and the server
//!   with its sessions, waves 3–4 are untouched, maintenance is restored, and the next apply
//!   reboots only what is left;
//! - Ctrl-C during a drain wait ends the apply with no server left in maintenance;
//! - the plan's checks: the open-sessions warning, the drain-without-waves warning, the
//!   `wait_for_ready` rule, a timeout too short for a wave, and that changing only
//!   `max_unavailable` / `drain` reboots nothing.
//!
//! Reboots are simulated in a few hundred milliseconds; drain timeouts and logoff delays are a
//! second or two.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::simulator::{TEST_ACCESS_KEY, TEST_SECRET_KEY};
use support::{tfjson, CommandOutput, LocalSimulator, TerraformCli, TestWorkdir};
use tfws::workspace::simulator::{
    FleetReport, Operation, RebootTiming, ServerHistory, ServerSpec, SessionConfig,
    SimulatorConfig, StatusOverride,
};
use tfws::workspace::Credentials;

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");
const ADDRESS: &str = "workspace_app_server_reboot.fleet";
const TITLE: &str = "Patch night";
const MESSAGE: &str = "This server restarts in a minute: please save your work.";

fn id(n: u32) -> String {
    format!("srv-{n:04}")
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(id).collect()
}

/// `srv-0001` … `srv-NNNN`, no sessions of their own.
fn servers(n: u32) -> Vec<ServerSpec> {
    (1..=n).map(|i| ServerSpec::with_id(id(i))).collect()
}

fn with_sessions(mut spec: ServerSpec, sessions: u32) -> ServerSpec {
    spec.session_count = sessions;
    spec
}

/// Sessions never end by themselves; nothing arrives unless `arrival_ms` is set.
fn lasting_sessions(arrival_ms: Option<u64>) -> SessionConfig {
    SessionConfig {
        per_server: 0,
        lifetime_ms: None,
        arrival_ms,
        max_per_server: 2,
        // One second of a logoff's delay lasts half a second.
        logoff_second_ms: 500,
    }
}

fn simulator(servers: Vec<ServerSpec>, sessions: SessionConfig) -> LocalSimulator {
    let mut config = SimulatorConfig {
        servers,
        sessions,
        reboot: RebootTiming {
            pending_ms: 100,
            rebooting_ms: 200,
            registering_ms: 100,
        },
        ..SimulatorConfig::default()
    };
    config
        .credentials
        .access_keys
        .push(Credentials::ak_sk(TEST_ACCESS_KEY, TEST_SECRET_KEY));
    LocalSimulator::start(config)
}

/// One simulator, one CLI, one working directory.
struct Scenario {
    sim: LocalSimulator,
    workdir: TestWorkdir,
    cli: TerraformCli,
    env: Vec<(String, String)>,
}

impl Scenario {
    fn start(cli: TerraformCli, sim: LocalSimulator) -> Scenario {
        let mut env = sim.provider_env();
        env.retain(|(key, _)| key != "HW_WORKSPACE_POLL_INTERVAL");
        env.push(("HW_WORKSPACE_POLL_INTERVAL".into(), "50ms".into()));
        // Long: a wave must be seen rebooting and back, never taken as done by the clock.
        env.push(("HW_WORKSPACE_SETTLE_TIME".into(), "60s".into()));
        Scenario {
            sim,
            workdir: TestWorkdir::new(Path::new(PROVIDER_BINARY))
                .with_timeout(Duration::from_secs(240)),
            cli,
            env,
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        support::env_refs(&self.env)
    }

    fn write(&self, resources: &str) {
        self.workdir
            .write_main_tf(&format!("{}\n{resources}", support::TERRAFORM_BLOCK));
    }

    fn apply(&self) -> CommandOutput {
        self.workdir.apply(&self.cli, &[], &self.env())
    }

    fn plan(&self) -> CommandOutput {
        self.workdir.plan(&self.cli, &[], &self.env())
    }

    fn values(&self) -> Value {
        let show = self.workdir.show_json(&self.cli, &self.env());
        match tfjson::state_values(&show, ADDRESS) {
            Some(values) => values.clone(),
            None => panic!("{}: {ADDRESS} is not in the state: {show}", self.cli),
        }
    }

    fn counts(&self, ids: &[String]) -> Vec<u64> {
        let counts = self.sim.reboot_counts();
        ids.iter()
            .map(|id| counts.get(id).copied().unwrap_or(0))
            .collect()
    }

    /// The servers of every accepted batch reboot, in arrival order.
    fn batches(&self) -> Vec<Vec<String>> {
        let mut accepted: Vec<_> = self
            .sim
            .requests()
            .into_iter()
            .filter(|entry| entry.is_accepted_reboot())
            .collect();
        accepted.sort_by_key(|entry| entry.seq);
        accepted
            .into_iter()
            .map(|entry| {
                let mut items = entry.items.unwrap_or_default();
                items.sort();
                items
            })
            .collect()
    }

    fn in_maintenance(&self) -> Vec<String> {
        self.sim
            .state()
            .servers
            .iter()
            .filter(|server| server.maintain_status)
            .map(|server| server.id.clone())
            .collect()
    }
}

/// The resource over `server_ids` with `body` inside.
fn fleet_resource(server_ids: &[String], body: &str) -> String {
    let literal = serde_json::to_string(server_ids).unwrap_or_default();
    format!("resource \"workspace_app_server_reboot\" \"fleet\" {{\n  server_ids = {literal}\n{body}}}\n")
}

fn drain_block(timeout: &str, on_timeout: &str) -> String {
    format!(
        "  drain {{\n    timeout      = {timeout:?}\n    on_timeout   = {on_timeout:?}\n    title        = {TITLE:?}\n    message      = {MESSAGE:?}\n    logoff_delay = \"1s\"\n  }}\n"
    )
}

/// Terraform's boxed, wrapped diagnostics as one line of single-spaced words.
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
        "expected {needle:?} in:\n{output}"
    );
}

#[track_caller]
fn history<'a>(report: &'a FleetReport, id: &str) -> &'a ServerHistory {
    report
        .server(id)
        .unwrap_or_else(|| panic!("{id} is not in the fleet report: {report:#?}"))
}

/// Every wave's reboots were accepted after every server of the wave before was available
/// again (as the simulator dates them).
#[track_caller]
fn assert_waves_in_sequence(report: &FleetReport, waves: &[Vec<String>]) {
    for pair in waves.windows(2) {
        let previous_back = pair[0]
            .iter()
            .map(|id| {
                let reboot = history(report, id)
                    .reboots
                    .last()
                    .unwrap_or_else(|| panic!("{id} was not rebooted: {:#?}", history(report, id)));
                reboot
                    .available_again_at_ms
                    .unwrap_or_else(|| panic!("{id} never came back: {reboot:#?}"))
            })
            .max()
            .unwrap_or(0);
        for id in &pair[1] {
            let accepted = history(report, id)
                .reboots
                .first()
                .map(|reboot| reboot.accepted_at_ms)
                .unwrap_or_else(|| panic!("{id} was not rebooted"));
            assert!(
                accepted >= previous_back,
                "{id} was rebooted at {accepted} ms, before the previous wave was back \
                 ({previous_back} ms): {pair:?}"
            );
        }
    }
}

// ------------------------------------------------------------------------------------ waves

/// 40 servers, `max_unavailable = 10` and then `"25%"` on a fresh fleet: at most 10 servers
/// unavailable at once (exactly 10: each wave is full), every server rebooted exactly once, in
/// four waves of ascending server IDs, each started after the one before was back. Every CLI.
#[test]
fn forty_servers_are_rebooted_ten_at_a_time() {
    for cli in support::test_clis() {
        for max_unavailable in ["10", "\"25%\""] {
            let scenario =
                Scenario::start(cli.clone(), simulator(servers(40), lasting_sessions(None)));
            let all = ids(1..=40);
            // Listed out of order: the order of waves is the servers' IDs, not the list's.
            let mut listed = all.clone();
            listed.reverse();
            scenario.write(&fleet_resource(
                &listed,
                &format!("  max_unavailable = {max_unavailable}\n"),
            ));
            let output = scenario.apply();
            output.assert_success();
            let context = format!("{cli}, max_unavailable = {max_unavailable}");

            let report = scenario.sim.fleet_report();
            assert_eq!(
                report.max_unavailable, 10,
                "{context}: never more than 10 at once, and the waves were full: {report:#?}"
            );
            assert_eq!(report.unavailable_now, 0, "{context}");
            assert!(
                scenario.counts(&all).iter().all(|&n| n == 1),
                "{context}: every server exactly once: {:?}",
                scenario.counts(&all)
            );
            let waves: Vec<Vec<String>> = (0..4).map(|w| ids(w * 10 + 1..=w * 10 + 10)).collect();
            assert_eq!(
                scenario.batches(),
                waves,
                "{context}: waves by ascending ID"
            );
            assert_waves_in_sequence(&report, &waves);
            let values = scenario.values();
            assert_eq!(
                values["pending_server_ids"],
                serde_json::json!([]),
                "{context}"
            );
            // No drain: maintenance mode is never touched.
            assert_eq!(
                scenario.sim.request_count(Operation::BatchMaint),
                0,
                "{context}"
            );
        }
    }
}

// ------------------------------------------------------------------------------------ drain

/// `on_timeout = "logoff"` on 12 servers, 4 at a time. Sessions never end by themselves and
/// new ones arrive on every server that takes them; srv-0007 is in maintenance mode before
/// the apply. Every reboot is accepted while its server is in maintenance, no session is
/// killed, every session open at its wave's timeout gets the logoff message, srv-0007 stays in
/// maintenance and every other server is out of it again.
#[test]
fn a_logoff_drain_kills_no_session_and_restores_maintenance() {
    let mut specs = servers(12);
    specs[1] = with_sessions(specs[1].clone(), 2);
    specs[5] = with_sessions(specs[5].clone(), 1);
    specs[6] = with_sessions(specs[6].clone().in_maintenance(), 1);
    let scenario = Scenario::start(
        support::terraform_1_0_3(),
        simulator(specs, lasting_sessions(Some(200))),
    );
    let all = ids(1..=12);
    let preexisting = id(7);
    scenario.write(&fleet_resource(
        &all,
        &format!("  max_unavailable = 4\n{}", drain_block("2s", "logoff")),
    ));
    let output = scenario.apply();
    output.assert_success();

    let report = scenario.sim.fleet_report();
    assert_eq!(report.sessions_killed, 0, "no session killed: {report:#?}");
    assert!(report.max_unavailable <= 4, "{report:#?}");
    assert_eq!(scenario.counts(&all), vec![1; 12]);
    let waves = vec![ids(1..=4), ids(5..=8), ids(9..=12)];
    assert_eq!(scenario.batches(), waves);
    assert_waves_in_sequence(&report, &waves);

    // The users were told, with the configured notice, and logged off by it.
    assert!(report.logoff_messages >= 4, "{report:#?}");
    assert_eq!(
        report.sessions_logged_off, report.logoff_messages,
        "every notified session ended by the logoff: {report:#?}"
    );
    for id in [id(2), id(6), preexisting.clone()] {
        assert!(
            !history(&report, &id).logoff_messages.is_empty(),
            "{id}'s users got no message: {:#?}",
            history(&report, &id)
        );
    }
    for server in &report.servers {
        for message in &server.logoff_messages {
            assert_eq!(message.title.as_deref(), Some(TITLE), "{message:#?}");
            assert_eq!(message.message.as_deref(), Some(MESSAGE), "{message:#?}");
            assert_eq!(message.message_type, 1, "a warning: {message:#?}");
            assert_eq!(
                message.delay_time, 1,
                "logoff_delay in seconds: {message:#?}"
            );
        }
    }

    for id in &all {
        let server = history(&report, id);
        assert_eq!(server.sessions_killed, 0, "{server:#?}");
        let reboot = &server.reboots[0];
        assert!(
            reboot.maintain_status,
            "{id} was rebooted out of maintenance mode: {server:#?}"
        );
        assert_eq!(
            reboot.sessions_open, 0,
            "{id} still had sessions: {server:#?}"
        );
        if *id == preexisting {
            // Left as it was: never taken out, never put in again.
            assert!(server.maintenance.is_empty(), "{server:#?}");
            continue;
        }
        let changes: Vec<bool> = server
            .maintenance
            .iter()
            .map(|c| c.maintain_status)
            .collect();
        assert_eq!(changes, [true, false], "{id}: in, then out: {server:#?}");
        assert!(
            server.maintenance[0].at_ms <= reboot.accepted_at_ms,
            "{server:#?}"
        );
        let back = reboot
            .available_again_at_ms
            .unwrap_or_else(|| panic!("{id} never came back: {server:#?}"));
        assert!(
            server.maintenance[1].at_ms >= back,
            "{id} left maintenance before it was ready: {server:#?}"
        );
    }
    assert_eq!(scenario.in_maintenance(), [preexisting]);

    // The simulator's own picture of it (what the demo prints) reads the same waves.
    let timeline = report.timeline(60);
    assert!(timeline.contains("waves: 3 ·"), "{timeline}");
    assert!(timeline.contains("sessions killed: 0 ·"), "{timeline}");
}

/// `on_timeout = "fail"`, 8 servers 2 at a time (4 waves), sessions that never end on
/// srv-0004 (wave 2). The apply fails naming wave 2 and srv-0004 with its 3 sessions; wave 1
/// is rebooted, wave 2 is not, waves 3–4 are untouched (not rebooted, never in maintenance);
/// no server is left in maintenance. Once the sessions are gone, the next apply reboots
/// exactly the servers of waves 2–4.
#[test]
fn a_failing_drain_stops_the_rollout_and_the_next_apply_finishes_it() {
    let mut specs = servers(8);
    specs[3] = with_sessions(specs[3].clone(), 3);
    let scenario = Scenario::start(
        support::terraform_1_0_3(),
        simulator(specs, lasting_sessions(None)),
    );
    let all = ids(1..=8);
    scenario.write(&fleet_resource(
        &all,
        &format!("  max_unavailable = 2\n{}", drain_block("1s", "fail")),
    ));
    let failed = scenario.apply();
    failed.assert_failure();
    assert_says(&failed, "wave 2/4 failed");
    assert_says(&failed, "srv-0004 (3)");

    let report = scenario.sim.fleet_report();
    assert_eq!(scenario.counts(&all), [1, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(report.sessions_killed, 0);
    for id in ids(5..=8) {
        let server = history(&report, &id);
        assert!(
            server.maintenance.is_empty() && server.reboots.is_empty(),
            "{id} of waves 3-4 was touched: {server:#?}"
        );
    }
    for id in ids(3..=4) {
        let changes: Vec<bool> = history(&report, &id)
            .maintenance
            .iter()
            .map(|c| c.maintain_status)
            .collect();
        assert_eq!(changes, [true, false], "{id}: drained, then restored");
    }
    assert!(
        scenario.in_maintenance().is_empty(),
        "left in maintenance: {:?}",
        scenario.in_maintenance()
    );
    let values = scenario.values();
    assert_eq!(
        values["pending_server_ids"],
        serde_json::json!(ids(3..=8)),
        "the servers not done"
    );

    // The users of srv-0004 are gone: the next apply finishes what is left.
    scenario
        .sim
        .set_server_status(
            &id(4),
            StatusOverride {
                session_count: Some(0),
                ..StatusOverride::default()
            },
        )
        .unwrap_or_else(|error| panic!("{error}"));
    scenario.sim.clear_requests();
    let finished = scenario.apply();
    finished.assert_success();
    assert_eq!(scenario.counts(&all), vec![1; 8]);
    let rebooted: BTreeSet<String> = scenario.batches().into_iter().flatten().collect();
    assert_eq!(
        rebooted,
        ids(3..=8).into_iter().collect::<BTreeSet<_>>(),
        "only waves 2-4's servers"
    );
    assert!(scenario.in_maintenance().is_empty());
    assert_eq!(
        scenario.values()["pending_server_ids"],
        serde_json::json!([])
    );
}

// -------------------------------------------------------------------------------- interrupt

/// Ctrl-C while the provider waits for a wave's sessions to end (a 10-minute drain timeout):
/// the apply ends with an "Interrupted" error, nothing was rebooted and no server is left in
/// maintenance mode. Every CLI.
#[test]
fn interrupt_during_a_drain_leaves_no_server_in_maintenance() {
    for cli in support::test_clis() {
        let mut specs = servers(4);
        specs[0] = with_sessions(specs[0].clone(), 2);
        let scenario = Scenario::start(cli.clone(), simulator(specs, lasting_sessions(None)));
        scenario.write(&fleet_resource(
            &ids(1..=4),
            &format!("  max_unavailable = 2\n{}", drain_block("10m", "reboot")),
        ));
        let running = scenario.workdir.spawn(
            &cli,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
            &scenario.env(),
        );
        // Interrupt once the first wave is in maintenance and its sessions have been polled.
        let give_up = Instant::now() + Duration::from_secs(120);
        let draining = loop {
            let requests = scenario.sim.requests();
            let maint = requests
                .iter()
                .filter(|entry| {
                    entry.operation == Operation::BatchMaint && entry.status == Some(200)
                })
                .map(|entry| entry.seq)
                .min();
            let polled = requests
                .iter()
                .filter(|entry| {
                    matches!(
                        entry.operation,
                        Operation::ShowServer | Operation::ListServers
                    ) && maint.is_some_and(|seq| entry.seq > seq)
                })
                .count();
            if maint.is_some() && polled >= 2 {
                break true;
            }
            if Instant::now() >= give_up {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let in_maintenance_then = scenario.in_maintenance();
        running.interrupt();
        let output = running.wait();
        assert!(
            draining,
            "{cli}: the apply never reached the drain:\n{output}"
        );
        assert_eq!(
            in_maintenance_then,
            ids(1..=2),
            "{cli}: wave 1 was draining"
        );
        assert!(!output.timed_out, "{cli}: {output}");
        output.assert_failure();
        assert_says(&output, "Interrupted");
        assert!(
            scenario.in_maintenance().is_empty(),
            "{cli}: left in maintenance: {:?}\n{output}",
            scenario.in_maintenance()
        );
        assert_eq!(
            scenario.sim.request_count(Operation::BatchReboot),
            0,
            "{cli}"
        );
        let report = scenario.sim.fleet_report();
        assert_eq!(report.sessions_killed, 0, "{cli}");
        assert_eq!(history(&report, &id(1)).sessions_open, 2, "{cli}");
    }
}

// ------------------------------------------------------------------------------------- plan

/// Without `drain`, a plan that reboots servers holding sessions warns how many end without
/// notice; with `drain` and no `max_unavailable` it warns that everything is drained at once.
#[test]
fn the_plan_warns_about_sessions_and_a_drain_without_waves() {
    let mut specs = servers(4);
    specs[0] = with_sessions(specs[0].clone(), 2);
    specs[2] = with_sessions(specs[2].clone(), 3);
    let scenario = Scenario::start(
        support::terraform_1_0_3(),
        simulator(specs, lasting_sessions(None)),
    );
    let all = ids(1..=4);

    scenario.write(&fleet_resource(&all, ""));
    let plain = scenario.plan();
    plain.assert_success();
    assert_says(&plain, "Warning: User sessions will end without notice");
    assert_says(
        &plain,
        "5 user sessions are open on the servers this plan reboots; without `drain` they end \
         without notice",
    );

    scenario.write(&fleet_resource(&all, &drain_block("2s", "logoff")));
    let drained = scenario.plan();
    drained.assert_success();
    assert_says(&drained, "Warning: Every listed server is drained at once");
    assert_says(&drained, "all 4 listed server(s) are one wave");
    assert!(
        !flat(&drained).contains("end without notice"),
        "a drain gives notice:\n{drained}"
    );

    scenario.write(&fleet_resource(
        &all,
        &format!(
            "  max_unavailable = \"50%\"\n{}",
            drain_block("2s", "logoff")
        ),
    ));
    let rolling = scenario.plan();
    rolling.assert_success();
    for warning in ["end without notice", "drained at once"] {
        assert!(
            !flat(&rolling).contains(warning),
            "no {warning:?} warning:\n{rolling}"
        );
    }
    assert_eq!(scenario.sim.request_count(Operation::BatchReboot), 0);
    assert_eq!(scenario.sim.request_count(Operation::BatchMaint), 0);
}

/// `max_unavailable` with `wait_for_ready = false` fails validation at `max_unavailable`; an
/// explicit `timeouts.create` too short for one drained wave fails the plan at it. Nothing is
/// sent.
#[test]
fn waves_need_waiting_and_enough_time() {
    let scenario = Scenario::start(
        support::terraform_1_0_3(),
        simulator(servers(4), lasting_sessions(None)),
    );
    let all = ids(1..=4);

    scenario.write(&fleet_resource(
        &all,
        "  max_unavailable = 2\n  wait_for_ready  = false\n",
    ));
    let invalid = scenario.workdir.validate(&scenario.cli, &scenario.env());
    invalid.assert_failure();
    assert_says(&invalid, "max_unavailable requires wait_for_ready");
    // Terraform quotes the line of the attribute the diagnostic points at.
    assert_says(&invalid, "max_unavailable = 2");

    scenario.write(&fleet_resource(
        &all,
        &format!(
            "  max_unavailable = 2\n{}  timeouts {{\n    create = \"1m\"\n  }}\n",
            drain_block("10m", "logoff")
        ),
    ));
    let short = scenario.plan();
    short.assert_failure();
    assert_says(&short, "Timeout too short for the rollout");
    assert_says(&short, "create = \"1m\"");
    assert_eq!(scenario.sim.request_count(Operation::BatchReboot), 0);
    assert_eq!(scenario.sim.request_count(Operation::BatchMaint), 0);
}

/// Adding `max_unavailable` and a `drain` to an existing resource is an in-place update that
/// reboots nothing and touches no maintenance mode; so is changing them again.
#[test]
fn changing_only_the_rollout_settings_reboots_nothing() {
    let scenario = Scenario::start(
        support::terraform_1_0_3(),
        simulator(servers(4), lasting_sessions(None)),
    );
    let all = ids(1..=4);
    scenario.write(&fleet_resource(&all, ""));
    scenario.apply().assert_success();
    assert_eq!(scenario.counts(&all), [1, 1, 1, 1]);
    let rebooted_at = scenario.values()["rebooted_at"].clone();

    for body in [
        format!("  max_unavailable = 2\n{}", drain_block("2s", "logoff")),
        format!("  max_unavailable = \"25%\"\n{}", drain_block("5m", "fail")),
    ] {
        scenario.write(&fleet_resource(&all, &body));
        scenario.sim.clear_requests();
        let plan = scenario
            .workdir
            .plan_json(&scenario.cli, &[], &scenario.env());
        assert_eq!(
            tfjson::planned_actions(&plan, ADDRESS),
            Some(vec!["update".to_owned()]),
            "{body}"
        );
        assert_eq!(
            tfjson::planned_unknown(&plan, ADDRESS, "rebooted_at"),
            Some(false),
            "{body}: no reboot planned"
        );
        let updated = scenario.apply();
        updated.assert_success();
        updated.assert_output_contains("0 added, 1 changed, 0 destroyed");
        assert_eq!(
            scenario.sim.request_count(Operation::BatchReboot),
            0,
            "{body}"
        );
        assert_eq!(
            scenario.sim.request_count(Operation::BatchMaint),
            0,
            "{body}"
        );
        assert_eq!(scenario.counts(&all), [1, 1, 1, 1], "{body}");
        assert_eq!(scenario.values()["rebooted_at"], rebooted_at, "{body}");
    }
}
