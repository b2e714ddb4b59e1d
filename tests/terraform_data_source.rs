//! `data "workspace_app_servers"` end to end: a real `terraform` (1.0.3 always, other CLIs
//! found on PATH for the main scenario) reads the data source from the provider binary against
//! an in-process simulator holding several named server groups, and feeds its `ids` to
//! `workspace_app_server_reboot`. Every test asserts on what the simulator saw (request log,
//! reboot counts) and on Terraform's state, plan and diagnostics.
//!
//! The provider is configured through the `HW_*` environment only (no provider block), as
//! pipelines usually do. Reboots are simulated in a few hundred milliseconds.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::simulator::{TEST_ACCESS_KEY, TEST_SECRET_KEY};
use support::{
    tfjson, CommandOutput, InstallMethod, LocalSimulator, ReattachedProvider, TerraformCli,
    TestWorkdir,
};
use tfws::workspace::simulator::{
    Operation, RebootTiming, RequestLogEntry, ServerSpec, SimulatorConfig,
};

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

const DATA_ADDRESS: &str = "data.workspace_app_servers.web";
const REBOOT_ADDRESS: &str = "workspace_app_server_reboot.web";

/// Three groups: "web" (`sg-web`: srv-0001…0003), "api" (`sg-api`: srv-0004…0005) and
/// "web-old" (`sg-web-old`: srv-0006), whose name contains "web" but is not "web".
fn fleet() -> SimulatorConfig {
    let mut config = SimulatorConfig {
        reboot: RebootTiming {
            pending_ms: 100,
            rebooting_ms: 200,
            registering_ms: 100,
        },
        ..SimulatorConfig::default()
    }
    .with_group("sg-web", 3)
    .with_group("sg-api", 2)
    .with_group("sg-web-old", 1);
    config
        .credentials
        .access_keys
        .push(tfws::workspace::Credentials::ak_sk(
            TEST_ACCESS_KEY,
            TEST_SECRET_KEY,
        ));
    config
}

fn named_fleet(config: SimulatorConfig) -> LocalSimulator {
    let simulator = LocalSimulator::start(config);
    simulator.set_group_name("sg-web", "web");
    simulator.set_group_name("sg-api", "api");
    simulator.set_group_name("sg-web-old", "web-old");
    simulator
}

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("srv-{n:04}")).collect()
}

/// One simulator, one CLI, one working directory.
struct Scenario {
    simulator: LocalSimulator,
    workdir: TestWorkdir,
    cli: TerraformCli,
    env: Vec<(String, String)>,
}

impl Scenario {
    fn start(cli: TerraformCli, simulator: LocalSimulator) -> Scenario {
        let mut env = simulator.provider_env();
        env.push(("HW_WORKSPACE_POLL_INTERVAL".into(), "50ms".into()));
        env.push(("HW_WORKSPACE_SETTLE_TIME".into(), "200ms".into()));
        Scenario {
            simulator,
            workdir: TestWorkdir::new(Path::new(PROVIDER_BINARY)),
            cli,
            env,
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        support::env_refs(&self.env)
    }

    fn write(&self, body: &str) {
        self.workdir
            .write_main_tf(&format!("{}\n{body}", support::TERRAFORM_BLOCK));
    }

    fn apply(&self) -> CommandOutput {
        self.workdir.apply(&self.cli, &[], &self.env())
    }

    fn plan(&self, extra: &[&str]) -> CommandOutput {
        self.workdir.plan(&self.cli, extra, &self.env())
    }

    fn show(&self) -> Value {
        self.workdir.show_json(&self.cli, &self.env())
    }

    #[track_caller]
    fn values(&self, address: &str) -> Value {
        let show = self.show();
        match tfjson::state_values(&show, address) {
            Some(values) => values.clone(),
            None => panic!("{}: {address} is not in the state: {show}", self.cli),
        }
    }

    fn counts(&self, ids: &[String]) -> Vec<u64> {
        let counts = self.simulator.reboot_counts();
        ids.iter()
            .map(|id| counts.get(id).copied().unwrap_or(0))
            .collect()
    }

    fn accepted_reboot_items(&self) -> Vec<String> {
        let mut items: Vec<String> = self
            .simulator
            .requests()
            .iter()
            .filter(|entry| entry.is_accepted_reboot())
            .flat_map(|entry| entry.items.clone().unwrap_or_default())
            .collect();
        items.sort();
        items
    }

    fn list_queries(&self) -> Vec<BTreeMap<String, String>> {
        self.simulator
            .requests()
            .iter()
            .filter(|entry| entry.operation == Operation::ListServers)
            .map(query_pairs)
            .collect()
    }
}

fn query_pairs(entry: &RequestLogEntry) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(entry.query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("not a string: {item}"))
                .to_owned()
        })
        .collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// The data source by group name and a reboot of what it found.
fn group_reboot_config(group_name: &str, generation: &str) -> String {
    format!(
        r#"data "workspace_app_servers" "web" {{
  server_group_name = {group_name:?}
}}

resource "workspace_app_server_reboot" "web" {{
  server_ids = data.workspace_app_servers.web.ids

  triggers = {{
    generation = {generation:?}
  }}
}}
"#
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
fn assert_flat_contains(output: &CommandOutput, needle: &str) {
    let needle = needle.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat(output).contains(&needle),
        "expected {needle:?} in:\n{output}"
    );
}

/// The main scenario, with every CLI: the group picked by name is rebooted and no other; a
/// server joining the group is an in-place update of `server_ids` that reboots nothing; the
/// next trigger change reboots the grown group.
#[test]
fn a_group_by_name_feeds_the_reboot_and_growth_reboots_nothing() {
    for cli in support::test_clis() {
        let scenario = Scenario::start(cli.clone(), named_fleet(fleet()));
        let everyone = ids(1..=6);
        let web = ids(1..=3);
        scenario.write(&group_reboot_config("web", "1"));
        let created = scenario.apply();
        created.assert_success();
        created.assert_output_contains("1 added, 0 changed, 0 destroyed");

        // Exactly the group named "web": not "api", not "web-old".
        assert_eq!(scenario.counts(&everyone), [1, 1, 1, 0, 0, 0], "{cli}");
        assert_eq!(scenario.accepted_reboot_items(), web, "{cli}");
        let data = scenario.values(DATA_ADDRESS);
        assert_eq!(strings(&data["ids"]), web, "{cli}");
        assert_eq!(data["id"], "server_group_name=web", "{cli}");
        let servers = data["servers"]
            .as_array()
            .unwrap_or_else(|| panic!("{cli}: servers is a list: {data}"));
        assert_eq!(servers.len(), 3, "{cli}: {data}");
        for (server, id) in servers.iter().zip(&web) {
            assert_eq!(server["id"], id.as_str(), "{cli}: {server}");
            assert_eq!(server["server_group_id"], "sg-web", "{cli}: {server}");
            assert!(server["session_count"].is_number(), "{cli}: {server}");
            assert!(server["maintain_status"].is_boolean(), "{cli}: {server}");
            for text in [
                "name",
                "machine_name",
                "image_id",
                "status",
                "vm_status",
                "task_status",
                "update_time",
            ] {
                assert!(server[text].is_string(), "{cli}: {text} in {server}");
            }
        }
        let reboot = scenario.values(REBOOT_ADDRESS);
        assert_eq!(sorted(strings(&reboot["server_ids"])), web, "{cli}");
        let rebooted_at = reboot["rebooted_at"].clone();

        // Nothing changed: an empty plan.
        let (code, output) = {
            let output = scenario.plan(&["-detailed-exitcode"]);
            (output.code(), output)
        };
        assert_eq!(code, Some(0), "{cli}: an empty plan:\n{output}");

        // Two servers join the group: the plan updates server_ids in place, no reboot.
        let joined = scenario.simulator.add_group("sg-web", 2);
        assert_eq!(joined, ids(7..=8));
        let grown: Vec<String> = web.iter().chain(&joined).cloned().collect();
        scenario.simulator.clear_requests();
        let plan_text = scenario.plan(&[]);
        plan_text.assert_success();
        plan_text.assert_output_contains("will be updated in-place");
        plan_text.assert_output_contains("+ \"srv-0007\"");
        plan_text.assert_output_contains("+ \"srv-0008\"");
        plan_text.assert_output_contains("0 to add, 1 to change, 0 to destroy");
        let plan = scenario
            .workdir
            .plan_json(&scenario.cli, &[], &scenario.env());
        assert_eq!(
            tfjson::planned_actions(&plan, REBOOT_ADDRESS),
            Some(vec!["update".to_owned()]),
            "{cli}"
        );
        assert_eq!(
            tfjson::planned_unknown(&plan, REBOOT_ADDRESS, "rebooted_at"),
            Some(false),
            "{cli}: no reboot planned"
        );
        let updated = scenario.apply();
        updated.assert_success();
        updated.assert_output_contains("0 added, 1 changed, 0 destroyed");
        assert_eq!(
            scenario.simulator.request_count(Operation::BatchReboot),
            0,
            "{cli}: growth reboots nothing"
        );
        let reboot = scenario.values(REBOOT_ADDRESS);
        assert_eq!(sorted(strings(&reboot["server_ids"])), grown, "{cli}");
        assert_eq!(reboot["rebooted_at"], rebooted_at, "{cli}");

        // The next trigger change reboots the whole grown group, still nothing else.
        scenario.simulator.clear_requests();
        scenario.write(&group_reboot_config("web", "2"));
        scenario.apply().assert_success();
        assert_eq!(scenario.accepted_reboot_items(), grown, "{cli}");
        let all_eight = ids(1..=8);
        assert_eq!(
            scenario.counts(&all_eight),
            [2, 2, 2, 0, 0, 0, 1, 1],
            "{cli}"
        );
    }
}

/// `server_name` (partial) and `maintain_status` reach the list API as query parameters, and
/// the answer is what the simulator's filters leave, sorted.
#[test]
fn filters_reach_the_api() {
    let mut config = fleet();
    config.servers = vec![
        ServerSpec::with_id("x-3").named("web-01").in_maintenance(),
        ServerSpec::with_id("x-1").named("old-web").in_maintenance(),
        ServerSpec::with_id("x-2").named("web-02"),
        ServerSpec::with_id("x-4").named("db-01").in_maintenance(),
    ];
    let scenario = Scenario::start(support::terraform_1_0_3(), named_fleet(config));
    scenario.write(
        r#"data "workspace_app_servers" "web" {
  server_name     = "web"
  maintain_status = true
}

data "workspace_app_servers" "api" {
  server_group_id = "sg-api"
}

data "workspace_app_servers" "all" {}

output "web" {
  value = data.workspace_app_servers.web.ids
}

output "api" {
  value = data.workspace_app_servers.api.ids
}

output "all" {
  value = length(data.workspace_app_servers.all.ids)
}
"#,
    );
    scenario.apply().assert_success();
    let outputs = scenario.show();
    let output = |name: &str| {
        outputs
            .pointer(&format!("/values/outputs/{name}/value"))
            .cloned()
    };
    assert_eq!(
        output("web").map(|v| strings(&v)),
        Some(vec!["x-1".to_owned(), "x-3".to_owned()])
    );
    assert_eq!(output("api").map(|v| strings(&v)), Some(ids(4..=5)));
    assert_eq!(output("all"), Some(Value::from(10)));

    let queries = scenario.list_queries();
    let asked = |key: &str, value: &str| {
        queries
            .iter()
            .any(|q| q.get(key).map(String::as_str) == Some(value))
    };
    assert!(asked("server_name", "web"), "{queries:?}");
    assert!(asked("maintain_status", "true"), "{queries:?}");
    assert!(asked("server_group_id", "sg-api"), "{queries:?}");
    assert!(
        queries
            .iter()
            .all(|q| q.get("limit").map(String::as_str) == Some("100")),
        "{queries:?}"
    );
    assert!(
        queries.iter().any(|q| !q.contains_key("server_name")
            && !q.contains_key("server_group_id")
            && !q.contains_key("maintain_status")),
        "the unfiltered read sends no filter: {queries:?}"
    );
    assert_eq!(
        scenario
            .simulator
            .request_count(Operation::ListServerGroups),
        0,
        "no group lookup without server_group_name"
    );
}

/// A name no group has fails the plan at `server_group_name`, and nothing is rebooted.
#[test]
fn an_unknown_group_name_errors_at_the_attribute() {
    for cli in support::test_clis() {
        let scenario = Scenario::start(cli.clone(), named_fleet(fleet()));
        // "we" is part of "web" and "web-old", which the API's filter may return; neither is
        // exactly "we".
        scenario.write(&group_reboot_config("we", "1"));
        let output = scenario.plan(&[]);
        output.assert_failure();
        assert_flat_contains(&output, "Error: No such server group");
        assert_flat_contains(&output, r#"No server group is named "we""#);
        // Terraform quotes the attribute the diagnostic points at.
        assert_flat_contains(&output, r#"server_group_name = "we""#);
        assert_eq!(
            scenario.simulator.request_count(Operation::ListServers),
            0,
            "{cli}"
        );
        assert_eq!(
            scenario.simulator.request_count(Operation::BatchReboot),
            0,
            "{cli}"
        );
    }
}

/// Two groups named alike: the error lists both IDs and asks for `server_group_id`.
#[test]
fn a_shared_group_name_lists_the_groups() {
    let scenario = Scenario::start(support::terraform_1_0_3(), named_fleet(fleet()));
    scenario.simulator.set_group_name("sg-api", "web");
    scenario.write(&group_reboot_config("web", "1"));
    let output = scenario.plan(&[]);
    output.assert_failure();
    assert_flat_contains(&output, "Error: Several server groups have this name");
    assert_flat_contains(&output, "sg-web, sg-api");
    assert_flat_contains(&output, "Set server_group_id");
    assert_flat_contains(&output, r#"server_group_name = "web""#);
    assert_eq!(scenario.simulator.request_count(Operation::BatchReboot), 0);
}

/// `server_group_id` and `server_group_name` together fail `terraform validate` at the
/// attribute, before any API call.
#[test]
fn group_id_and_name_together_fail_validation() {
    for cli in support::test_clis() {
        let scenario = Scenario::start(cli.clone(), named_fleet(fleet()));
        scenario.write(
            r#"data "workspace_app_servers" "web" {
  server_group_id   = "sg-web"
  server_group_name = "web"
}
"#,
        );
        let output = scenario.workdir.validate(&cli, &scenario.env());
        output.assert_failure();
        assert_flat_contains(&output, "Error: Conflicting server group filters");
        assert_flat_contains(&output, "on main.tf line 11");
        assert_flat_contains(&output, r#"server_group_name = "web""#);
        assert_eq!(scenario.simulator.requests(), Vec::new(), "{cli}");
    }
}

/// The data source over both protocol versions (Terraform 1.0.3 reattached to the provider
/// started with `--protocol-version 5`, then 6): the read reaches the provider as
/// ReadDataSource of that protocol and feeds the reboot.
#[test]
fn the_data_source_works_over_protocol_5_and_6() {
    let cli = support::terraform_1_0_3();
    for protocol in [5u8, 6] {
        let simulator = named_fleet(fleet());
        let mut env = simulator.provider_env();
        env.push(("HW_WORKSPACE_POLL_INTERVAL".into(), "50ms".into()));
        env.push(("HW_WORKSPACE_SETTLE_TIME".into(), "200ms".into()));
        env.push(("TF_LOG_PROVIDER".into(), "debug".into()));
        let provider = ReattachedProvider::start_with_env(
            Path::new(PROVIDER_BINARY),
            protocol,
            &support::env_refs(&env),
        );
        let workdir =
            TestWorkdir::with_install(Path::new(PROVIDER_BINARY), InstallMethod::ReattachOnly);
        workdir.write_main_tf(&format!(
            "{}\n{}",
            support::TERRAFORM_BLOCK,
            group_reboot_config("api", "1")
        ));
        let output = workdir.apply(&cli, &[], &[provider.env()]);
        output.assert_success();
        let counts = simulator.reboot_counts();
        let rebooted: Vec<&str> = counts
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(rebooted, ["srv-0004", "srv-0005"], "protocol {protocol}");
        let stderr = provider.stderr();
        let rpc = if protocol == 5 {
            "/tfplugin5.Provider/ReadDataSource"
        } else {
            "/tfplugin6.Provider/ReadDataSource"
        };
        assert!(
            stderr.contains(rpc),
            "protocol {protocol}: served {rpc}:\n{stderr}"
        );
    }
}
