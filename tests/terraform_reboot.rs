//! `workspace_app_server_reboot` end to end: a real `terraform` (1.0.3 always, other CLIs found
//! on PATH for a smoke subset) drives the provider binary against an in-process Workspace API
//! simulator, and every test asserts on what the simulator saw (reboot counts, the request log
//! with items, type and authentication kind) and on Terraform's output and state.
//!
//! Each test owns its simulator (served by a tokio runtime of its own, so it keeps answering
//! while the test thread blocks on `terraform`) and its temporary working directory, so the
//! tests run in parallel. Reboots are simulated in a few hundred milliseconds and the provider
//! polls every 50 ms (`HW_WORKSPACE_POLL_INTERVAL`).

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{tfjson, CommandOutput, InstallMethod, LocalSimulator, TerraformCli, TestWorkdir};
use tfws::workspace::simulator::{
    AuthKind, CredentialsConfig, FailingIdsFault, FaultScope, Faults, InjectedFault, Operation,
    RebootPhase, RebootTiming, RequestLogEntry, ServerErrorFault, SimulatorConfig, SimulatorHandle,
    ThrottleFault,
};
use tfws::workspace::wire::RebootType;

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

/// Permanent AK/SK pair the simulator accepts.
const ACCESS_KEY: &str = "TFWSTESTAK0000000001";
const SECRET_KEY: &str = "tfws-test-secret-key-6f1c2a9e";
/// Temporary credentials: a second pair that needs its security token.
const TEMP_ACCESS_KEY: &str = "TFWSTESTAKTEMPORARY2";
const TEMP_SECRET_KEY: &str = "tfws-test-temporary-secret-0b7d";
const SECURITY_TOKEN: &str = "tfws-test-security-token-9a4e3c";
/// An IAM token the simulator accepts.
const IAM_TOKEN: &str = "tfws-test-iam-token-MIIexampleTOKEN5d2b";

/// Wrong values for the tests of rejected credentials.
const WRONG_SECRET_KEY: &str = "tfws-test-WRONG-secret-key-31f0";
const WRONG_SECURITY_TOKEN: &str = "tfws-test-WRONG-security-token-77";

/// Every secret the tests use: never expected in any output, and blanked out of the
/// transcripts that failure messages show.
const TEST_SECRETS: [&str; 6] = [
    SECRET_KEY,
    TEMP_SECRET_KEY,
    SECURITY_TOKEN,
    IAM_TOKEN,
    WRONG_SECRET_KEY,
    WRONG_SECURITY_TOKEN,
];

/// The resource every single-resource test declares.
const ADDRESS: &str = "workspace_app_server_reboot.test";

/// Keeps the waits short: the simulated reboots take a few hundred milliseconds, and the
/// simulator has no quota unless a test gives it one.
const FAST_WAIT_ENV: [(&str, &str); 3] = [
    ("HW_WORKSPACE_POLL_INTERVAL", "50ms"),
    ("HW_WORKSPACE_SETTLE_TIME", "200ms"),
    ("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", "1000"),
];

// ------------------------------------------------------------------------------- fixtures

/// How the provider block authenticates. `Debug` (used in assertion messages) names the kind
/// and the access key, never a secret.
#[derive(Clone, Copy)]
enum Credentials<'a> {
    AkSk {
        access_key: &'a str,
        secret_key: &'a str,
    },
    Temporary {
        access_key: &'a str,
        secret_key: &'a str,
        security_token: &'a str,
    },
    Token(&'a str),
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::AkSk { access_key, .. } => write!(f, "AK/SK {access_key}"),
            Credentials::Temporary { access_key, .. } => {
                write!(f, "AK/SK {access_key} with a security token")
            }
            Credentials::Token(_) => f.write_str("IAM token"),
        }
    }
}

const PERMANENT: Credentials<'static> = Credentials::AkSk {
    access_key: ACCESS_KEY,
    secret_key: SECRET_KEY,
};

/// A simulator accepting every test credential, with `server_count` servers `srv-0001`… and
/// reboots that take 100 ms pending + 200 ms rebooting.
fn simulator_config(server_count: u32) -> SimulatorConfig {
    SimulatorConfig {
        credentials: CredentialsConfig {
            access_keys: vec![
                tfws::workspace::Credentials::ak_sk(ACCESS_KEY, SECRET_KEY),
                tfws::workspace::Credentials::ak_sk(TEMP_ACCESS_KEY, TEMP_SECRET_KEY)
                    .with_security_token(SECURITY_TOKEN),
            ],
            iam_tokens: vec![tfws::workspace::Credentials::token(IAM_TOKEN)],
            allow_anonymous: false,
        },
        server_count,
        reboot: RebootTiming {
            pending_ms: 100,
            rebooting_ms: 200,
            registering_ms: 100,
        },
        ..SimulatorConfig::default()
    }
}

/// `srv-0001` … `srv-<count>`.
fn server_ids(count: u32) -> Vec<String> {
    (1..=count).map(|n| format!("srv-{n:04}")).collect()
}

/// A simulator served by its own runtime, one CLI and one working directory.
struct Scenario {
    simulator: LocalSimulator,
    workdir: TestWorkdir,
    cli: TerraformCli,
    /// Extra `provider` block lines (e.g. `max_retries = 1`).
    provider_extra: String,
    /// Environment of every `terraform` run here (the provider inherits it).
    env: Vec<(String, String)>,
}

impl Scenario {
    fn start(cli: TerraformCli, config: SimulatorConfig) -> Scenario {
        Scenario::start_in(cli, config, TestWorkdir::new(Path::new(PROVIDER_BINARY)))
    }

    fn start_in(cli: TerraformCli, config: SimulatorConfig, workdir: TestWorkdir) -> Scenario {
        Scenario {
            simulator: LocalSimulator::start(config),
            workdir,
            cli,
            provider_extra: String::new(),
            env: FAST_WAIT_ENV
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        }
    }

    fn with_provider_lines(mut self, lines: &str) -> Scenario {
        self.provider_extra.push_str(lines);
        self
    }

    fn with_env(mut self, key: &str, value: &str) -> Scenario {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn env_pairs(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    fn sim(&self) -> &SimulatorHandle {
        &self.simulator
    }

    /// The `provider "workspace"` block pointing at this simulator.
    fn provider_block(&self, credentials: Credentials<'_>) -> String {
        let credential_lines = match credentials {
            Credentials::AkSk {
                access_key,
                secret_key,
            } => format!("  access_key = {access_key:?}\n  secret_key = {secret_key:?}\n"),
            Credentials::Temporary {
                access_key,
                secret_key,
                security_token,
            } => format!(
                "  access_key     = {access_key:?}\n  secret_key     = {secret_key:?}\n  \
                 security_token = {security_token:?}\n"
            ),
            Credentials::Token(token) => format!("  token = {token:?}\n"),
        };
        format!(
            "provider \"workspace\" {{\n  endpoint   = {:?}\n  project_id = {:?}\n{credential_lines}{}}}\n",
            self.sim().base_url(),
            self.sim().project_id(),
            self.provider_extra,
        )
    }

    /// Writes `main.tf`: the terraform block, the provider block and `resources`.
    fn write_config(&self, credentials: Credentials<'_>, resources: &str) {
        let text = format!(
            "{}\n{}\n{resources}",
            support::TERRAFORM_BLOCK,
            self.provider_block(credentials)
        );
        self.workdir.write_main_tf(&text);
    }

    fn apply(&self, extra: &[&str]) -> CommandOutput {
        self.workdir.apply(&self.cli, extra, &self.env_pairs())
    }

    /// Starts `apply` without waiting for it.
    fn spawn_apply(&self) -> support::RunningCommand {
        self.workdir.spawn(
            &self.cli,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
            &self.env_pairs(),
        )
    }

    fn destroy(&self) -> CommandOutput {
        self.workdir.destroy(&self.cli, &[], &self.env_pairs())
    }

    /// `plan -detailed-exitcode`: 0 = no changes, 2 = changes.
    fn plan_exit_code(&self) -> (Option<i32>, CommandOutput) {
        let output = self
            .workdir
            .plan(&self.cli, &["-detailed-exitcode"], &self.env_pairs());
        assert!(!output.timed_out, "{output}");
        (output.code(), output)
    }

    #[track_caller]
    fn assert_no_changes_planned(&self) {
        let (code, output) = self.plan_exit_code();
        assert_eq!(
            code,
            Some(0),
            "{}: expected an empty plan:\n{output}",
            self.cli
        );
        output.assert_output_contains("No changes.");
    }

    fn plan_json(&self) -> Value {
        self.workdir.plan_json(&self.cli, &[], &self.env_pairs())
    }

    fn show(&self) -> Value {
        self.workdir.show_json(&self.cli, &self.env_pairs())
    }

    /// A resource's attribute values in the saved state.
    #[track_caller]
    fn state_values(&self, address: &str) -> Value {
        let show = self.show();
        match tfjson::state_values(&show, address) {
            Some(values) => values.clone(),
            None => panic!("{}: {address} is not in the state: {show}", self.cli),
        }
    }

    /// Accepted reboots per server, for `ids`.
    fn counts(&self, ids: &[String]) -> Vec<u64> {
        let counts = self.sim().reboot_counts();
        ids.iter()
            .map(|id| counts.get(id).copied().unwrap_or(0))
            .collect()
    }

    fn requests(&self) -> Vec<RequestLogEntry> {
        self.sim().requests()
    }

    /// Batch reboot requests the simulator answered 200, in arrival order.
    fn accepted_batches(&self) -> Vec<RequestLogEntry> {
        let mut batches: Vec<RequestLogEntry> = self
            .requests()
            .into_iter()
            .filter(RequestLogEntry::is_accepted_reboot)
            .collect();
        batches.sort_by_key(|entry| entry.seq);
        batches
    }
}

/// A `workspace_app_server_reboot` block named `name` with `ids` and any further lines.
fn reboot_resource(name: &str, ids: &[String], extra_lines: &str) -> String {
    let ids_literal = serde_json::to_string(ids)
        .unwrap_or_else(|error| panic!("cannot write server IDs as HCL: {error}"));
    format!(
        "resource \"workspace_app_server_reboot\" {name:?} {{\n  server_ids = {ids_literal}\n{extra_lines}}}\n"
    )
}

/// Terraform's diagnostics boxed (`│ `) and wrapped to the terminal width, flattened into one
/// line of single-spaced words so that long lists can be searched for.
fn flatten(output: &CommandOutput) -> String {
    output
        .combined()
        .split_whitespace()
        .filter(|word| !matches!(*word, "│" | "╷" | "╵"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn assert_flat_contains(output: &CommandOutput, needle: &str) {
    let flat = flatten(output);
    let needle_flat = needle.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&needle_flat),
        "expected the output to contain {needle:?}:\n{}",
        without_test_secrets(output)
    );
}

/// A command's transcript with every test secret blanked out, for failure messages.
fn without_test_secrets(output: &CommandOutput) -> String {
    TEST_SECRETS
        .iter()
        .fold(output.to_string(), |text, secret| {
            text.replace(secret, "<test secret>")
        })
}

/// `a, b, c` as the provider lists server IDs.
fn id_list(ids: &[String]) -> String {
    ids.join(", ")
}

fn string_attr<'a>(values: &'a Value, name: &str) -> &'a str {
    values[name].as_str().unwrap_or_else(|| {
        panic!("attribute {name} is not a string in {values}");
    })
}

#[track_caller]
fn parse_rfc3339(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|error| panic!("{text:?} is not an RFC 3339 time: {error}"))
}

fn state_server_ids(values: &Value) -> Vec<String> {
    let mut ids: Vec<String> = values["server_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("server_ids is not a list in {values}"))
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

// ------------------------------------------------------------------------------- lifecycle

/// Create, no-op, trigger change, ID-only change, `-replace`, destroy — each step checked
/// against the simulator's request log and Terraform's state.
#[test]
fn lifecycle_reboots_exactly_when_it_should() {
    let cli = support::terraform_1_0_3();
    let scenario = Scenario::start(cli, simulator_config(5));
    let all = server_ids(5);
    let first_three = all[..3].to_vec();
    let first_four = all[..4].to_vec();
    let with_triggers =
        |generation: &str| format!("  triggers = {{\n    generation = {generation:?}\n  }}\n");

    // Create reboots every listed server once, SOFT by default, in one batch.
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &first_three, &with_triggers("1")),
    );
    let created = scenario.apply(&[]);
    created.assert_success();
    created.assert_output_contains("1 added, 0 changed, 0 destroyed");
    assert_eq!(scenario.counts(&all), [1, 1, 1, 0, 0]);
    let batches = scenario.accepted_batches();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].items.as_deref(), Some(&first_three[..]));
    assert_eq!(batches[0].reboot_type, Some(RebootType::Soft));
    assert!(
        scenario
            .requests()
            .iter()
            .all(|entry| entry.auth == AuthKind::AkSk
                && entry.access_key.as_deref() == Some(ACCESS_KEY)
                && entry.status == Some(200)),
        "{:#?}",
        scenario.requests()
    );
    let state = scenario.state_values(ADDRESS);
    let id = string_attr(&state, "id").to_owned();
    assert_eq!(id.len(), 32, "{state}");
    let first_rebooted_at = string_attr(&state, "rebooted_at").to_owned();
    parse_rfc3339(&first_rebooted_at);
    assert_eq!(state["type"], "SOFT");
    assert_eq!(state["wait_for_ready"], true);
    assert_eq!(state_server_ids(&state), first_three);

    // Nothing changed: nothing planned, nothing sent.
    scenario.sim().clear_requests();
    scenario.assert_no_changes_planned();
    let unchanged = scenario.apply(&[]);
    unchanged.assert_success();
    unchanged.assert_output_contains("0 added, 0 changed, 0 destroyed");
    assert_eq!(scenario.requests(), Vec::new());
    assert_eq!(scenario.counts(&all), [1, 1, 1, 0, 0]);

    // A trigger change plans an update with `rebooted_at` unknown, and reboots again.
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &first_three, &with_triggers("2")),
    );
    let plan = scenario.plan_json();
    assert_eq!(
        tfjson::planned_actions(&plan, ADDRESS),
        Some(vec!["update".to_owned()])
    );
    assert_eq!(
        tfjson::planned_unknown(&plan, ADDRESS, "rebooted_at"),
        Some(true)
    );
    scenario.sim().clear_requests();
    let retriggered = scenario.apply(&[]);
    retriggered.assert_success();
    retriggered.assert_output_contains("0 added, 1 changed, 0 destroyed");
    assert_eq!(scenario.counts(&all), [2, 2, 2, 0, 0]);
    let batches = scenario.accepted_batches();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].items.as_deref(), Some(&first_three[..]));
    let state = scenario.state_values(ADDRESS);
    assert_eq!(
        string_attr(&state, "id"),
        id,
        "the identity must not change"
    );
    assert_eq!(state["triggers"]["generation"], "2");
    let second_rebooted_at = string_attr(&state, "rebooted_at").to_owned();
    assert!(
        parse_rfc3339(&second_rebooted_at) >= parse_rfc3339(&first_rebooted_at),
        "{first_rebooted_at} then {second_rebooted_at}"
    );
    scenario.assert_no_changes_planned();

    // Changing only the IDs (and the type) updates the state and reboots nothing.
    scenario.write_config(
        PERMANENT,
        &reboot_resource(
            "test",
            &first_four,
            &format!("  type = \"HARD\"\n{}", with_triggers("2")),
        ),
    );
    let plan = scenario.plan_json();
    assert_eq!(
        tfjson::planned_actions(&plan, ADDRESS),
        Some(vec!["update".to_owned()])
    );
    assert_eq!(
        tfjson::planned_unknown(&plan, ADDRESS, "rebooted_at"),
        Some(false)
    );
    scenario.sim().clear_requests();
    let ids_only = scenario.apply(&[]);
    ids_only.assert_success();
    ids_only.assert_output_contains("0 added, 1 changed, 0 destroyed");
    assert_eq!(scenario.requests(), Vec::new());
    assert_eq!(scenario.counts(&all), [2, 2, 2, 0, 0]);
    let state = scenario.state_values(ADDRESS);
    assert_eq!(state_server_ids(&state), first_four);
    assert_eq!(state["type"], "HARD");
    assert_eq!(string_attr(&state, "rebooted_at"), second_rebooted_at);
    scenario.assert_no_changes_planned();

    // `-replace` reboots every listed server again, now HARD.
    scenario.sim().clear_requests();
    let replaced = scenario.apply(&[&format!("-replace={ADDRESS}")]);
    replaced.assert_success();
    replaced.assert_output_contains("1 added, 0 changed, 1 destroyed");
    assert_eq!(scenario.counts(&all), [3, 3, 3, 1, 0]);
    let batches = scenario.accepted_batches();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].items.as_deref(), Some(&first_four[..]));
    assert_eq!(batches[0].reboot_type, Some(RebootType::Hard));
    let state = scenario.state_values(ADDRESS);
    assert_ne!(
        string_attr(&state, "id"),
        id,
        "a replacement is a new object"
    );

    // Destroy forgets the record and calls no API.
    scenario.sim().clear_requests();
    let destroyed = scenario.destroy();
    destroyed.assert_success();
    destroyed.assert_output_contains("1 destroyed");
    assert_eq!(scenario.requests(), Vec::new());
    assert_eq!(scenario.counts(&all), [3, 3, 3, 1, 0]);
    assert!(tfjson::state_addresses(&scenario.show()).is_empty());
}

/// The smoke subset every discovered CLI runs: a HARD reboot reaches the API as HARD, a second
/// apply sends nothing, and destroy sends nothing.
#[test]
fn hard_reboot_reaches_the_api_as_hard_with_every_cli() {
    for cli in support::test_clis() {
        let scenario = Scenario::start(cli.clone(), simulator_config(3));
        let all = server_ids(3);
        let listed = all[..2].to_vec();
        scenario.write_config(
            PERMANENT,
            &reboot_resource("test", &listed, "  type = \"HARD\"\n"),
        );
        scenario.apply(&[]).assert_success();
        assert_eq!(scenario.counts(&all), [1, 1, 0], "{cli}");
        let batches = scenario.accepted_batches();
        assert_eq!(batches.len(), 1, "{cli}: {batches:?}");
        assert_eq!(batches[0].items.as_deref(), Some(&listed[..]), "{cli}");
        assert_eq!(batches[0].reboot_type, Some(RebootType::Hard), "{cli}");
        for id in &listed {
            let server = scenario
                .sim()
                .server(id)
                .unwrap_or_else(|| panic!("{cli}: no server {id}"));
            assert_eq!(server.last_reboot_type, Some(RebootType::Hard), "{cli}");
        }
        assert_eq!(scenario.state_values(ADDRESS)["type"], "HARD", "{cli}");

        scenario.sim().clear_requests();
        scenario.assert_no_changes_planned();
        let again = scenario.apply(&[]);
        again.assert_success();
        again.assert_output_contains("0 added, 0 changed, 0 destroyed");
        scenario.destroy().assert_success();
        assert_eq!(scenario.requests(), Vec::new(), "{cli}");
        assert_eq!(scenario.counts(&all), [1, 1, 0], "{cli}");
    }
}

/// 45 IDs go out as three batch requests (20 + 20 + 5), each server exactly once.
#[test]
fn forty_five_servers_are_rebooted_in_three_batches() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(50));
    let all = server_ids(50);
    let listed = all[..45].to_vec();
    scenario.write_config(PERMANENT, &reboot_resource("test", &listed, ""));
    scenario.apply(&[]).assert_success();

    let batches = scenario.accepted_batches();
    let mut sizes: Vec<usize> = batches
        .iter()
        .map(|entry| entry.items.as_ref().map_or(0, Vec::len))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 20, 20], "{batches:#?}");
    let mut sent: Vec<String> = batches
        .iter()
        .flat_map(|entry| entry.items.clone().unwrap_or_default())
        .collect();
    sent.sort();
    assert_eq!(sent, listed, "every listed server exactly once");
    let mut expected = vec![1u64; 45];
    expected.extend([0; 5]);
    assert_eq!(scenario.counts(&all), expected);
    let all_batch_requests = scenario
        .requests()
        .iter()
        .filter(|entry| entry.operation == Operation::BatchReboot)
        .count();
    assert_eq!(all_batch_requests, 3, "no batch was sent twice");
    assert_eq!(state_server_ids(&scenario.state_values(ADDRESS)), listed);
    scenario.assert_no_changes_planned();
}

// ------------------------------------------------------------------------------ validation

/// One invalid resource: its name, the offending line as written in `main.tf`, and what the
/// error must say.
struct InvalidCase {
    name: &'static str,
    body: String,
    offending_line: String,
    summary: &'static str,
    detail: String,
}

fn invalid_cases() -> Vec<InvalidCase> {
    let long_id = "x".repeat(129);
    vec![
        InvalidCase {
            name: "empty_set",
            body: "  server_ids = []\n".to_owned(),
            offending_line: "  server_ids = []".to_owned(),
            summary: "No servers to reboot",
            detail: "server_ids must list at least one server ID.".to_owned(),
        },
        InvalidCase {
            name: "empty_id",
            body: "  server_ids = [\"srv-0001\", \"\"]\n".to_owned(),
            offending_line: "  server_ids = [\"srv-0001\", \"\"]".to_owned(),
            summary: "Invalid server ID",
            detail: "server_ids must not contain an empty ID.".to_owned(),
        },
        InvalidCase {
            name: "long_id",
            body: format!("  server_ids = [\"{long_id}\"]\n"),
            offending_line: format!("  server_ids = [\"{long_id}\"]"),
            summary: "Invalid server ID",
            detail: "is 129 characters long; server IDs have at most 128.".to_owned(),
        },
        InvalidCase {
            name: "bad_type",
            body: "  server_ids = [\"srv-0001\"]\n  type       = \"REBOOT\"\n".to_owned(),
            offending_line: "  type       = \"REBOOT\"".to_owned(),
            summary: "Invalid reboot type",
            detail: "type must be \"SOFT\" or \"HARD\", not \"REBOOT\".".to_owned(),
        },
        InvalidCase {
            name: "lowercase_type",
            body: "  server_ids = [\"srv-0001\"]\n  type       = \"hard\"\n".to_owned(),
            offending_line: "  type       = \"hard\"".to_owned(),
            summary: "Invalid reboot type",
            detail: "in capitals; write \"HARD\".".to_owned(),
        },
        InvalidCase {
            name: "bad_create_timeout",
            body: "  server_ids = [\"srv-0001\"]\n  timeouts {\n    create = \"5 minutes\"\n  }\n"
                .to_owned(),
            offending_line: "    create = \"5 minutes\"".to_owned(),
            summary: "Invalid timeout",
            detail: "timeouts.create: \"5 minutes\"".to_owned(),
        },
        InvalidCase {
            name: "zero_update_timeout",
            body: "  server_ids = [\"srv-0001\"]\n  timeouts {\n    update = \"0s\"\n  }\n"
                .to_owned(),
            offending_line: "    update = \"0s\"".to_owned(),
            summary: "Invalid timeout",
            detail: "timeouts.update: \"0s\" is zero".to_owned(),
        },
    ]
}

/// Every validation error fails `terraform validate` with a diagnostic pointing at the
/// offending attribute (file, line and source text), and a valid resource beside them passes.
#[test]
fn each_validation_error_points_at_its_attribute_with_every_cli() {
    let cases = invalid_cases();
    let mut text = format!("{}\n", support::TERRAFORM_BLOCK);
    for case in &cases {
        text.push_str(&format!(
            "resource \"workspace_app_server_reboot\" {:?} {{\n{}}}\n\n",
            case.name, case.body
        ));
    }
    text.push_str(&reboot_resource(
        "valid",
        &server_ids(2),
        "  type = \"HARD\"\n  timeouts {\n    create = \"90s\"\n    update = \"1h30m\"\n  }\n",
    ));
    let line_of = |wanted: &str| -> usize {
        let found: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| *line == wanted)
            .map(|(index, _)| index + 1)
            .collect();
        assert_eq!(found.len(), 1, "line {wanted:?} must be unique in:\n{text}");
        found[0]
    };

    for cli in support::test_clis() {
        let workdir = TestWorkdir::new(Path::new(PROVIDER_BINARY));
        workdir.write_main_tf(&text);
        let output = workdir.validate(&cli, &[]);
        output.assert_failure();
        let combined = output.combined();
        // Each error block runs from "Error: " to the next one.
        let blocks: Vec<&str> = combined.split("Error: ").skip(1).collect();
        assert_eq!(
            blocks.len(),
            cases.len(),
            "{cli}: one error per invalid resource, none for the valid one:\n{output}"
        );
        for case in &cases {
            let address = format!("with workspace_app_server_reboot.{},", case.name);
            let block = blocks
                .iter()
                .find(|block| block.contains(&address))
                .unwrap_or_else(|| panic!("{cli}: no error for {}:\n{output}", case.name));
            let line = line_of(&case.offending_line);
            let flat_block = block.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                block.starts_with(case.summary),
                "{cli}: {}: summary {:?} expected:\n{block}",
                case.name,
                case.summary
            );
            assert!(
                block.contains(&format!("on main.tf line {line}")),
                "{cli}: {}: must point at line {line}:\n{block}",
                case.name
            );
            assert!(
                block.contains(&format!("{line}: {}", case.offending_line)),
                "{cli}: {}: must quote the offending line:\n{block}",
                case.name
            );
            assert!(
                flat_block.contains(&case.detail),
                "{cli}: {}: detail {:?} expected:\n{block}",
                case.name,
                case.detail
            );
        }
    }
}

// ----------------------------------------------------------------------------- credentials

/// AK/SK, AK/SK with a security token, and an IAM token all pass the simulator's gateway
/// checks; every request (the reboot and the polls) presents the configured kind.
#[test]
fn every_kind_of_credentials_passes_the_gateway() {
    let kinds = [
        (PERMANENT, AuthKind::AkSk, Some(ACCESS_KEY)),
        (
            Credentials::Temporary {
                access_key: TEMP_ACCESS_KEY,
                secret_key: TEMP_SECRET_KEY,
                security_token: SECURITY_TOKEN,
            },
            AuthKind::AkSkSecurityToken,
            Some(TEMP_ACCESS_KEY),
        ),
        (Credentials::Token(IAM_TOKEN), AuthKind::IamToken, None),
    ];
    for (credentials, expected_kind, expected_key) in kinds {
        let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(2));
        let all = server_ids(2);
        scenario.write_config(credentials, &reboot_resource("test", &all, ""));
        scenario.apply(&[]).assert_success();
        assert_eq!(scenario.counts(&all), [1, 1], "{credentials:?}");
        let requests = scenario.requests();
        assert!(
            requests
                .iter()
                .any(|entry| entry.operation == Operation::ShowServer
                    || entry.operation == Operation::ListServers),
            "{credentials:?}: the wait polled nothing: {requests:#?}"
        );
        for entry in &requests {
            assert_eq!(entry.auth, expected_kind, "{credentials:?}: {entry:?}");
            assert_eq!(entry.access_key.as_deref(), expected_key, "{entry:?}");
            assert_eq!(entry.status, Some(200), "{credentials:?}: {entry:?}");
        }
    }
}

/// A wrong secret key, or a wrong security token, fails the apply with the gateway's own
/// words (APIGW.0301), reboots nothing, saves nothing, and never echoes a secret.
#[test]
fn wrong_credentials_fail_with_the_api_message() {
    let wrong_secret = WRONG_SECRET_KEY;
    let wrong_token = WRONG_SECURITY_TOKEN;
    let cases = [
        (
            Credentials::AkSk {
                access_key: ACCESS_KEY,
                secret_key: wrong_secret,
            },
            AuthKind::AkSk,
            "verify aksk signature fail",
        ),
        (
            Credentials::Temporary {
                access_key: TEMP_ACCESS_KEY,
                secret_key: TEMP_SECRET_KEY,
                security_token: wrong_token,
            },
            AuthKind::AkSkSecurityToken,
            "the security token is missing, not signed or invalid",
        ),
    ];
    for (credentials, kind, gateway_words) in cases {
        let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(2));
        let all = server_ids(2);
        scenario.write_config(credentials, &reboot_resource("test", &all, ""));
        let output = scenario.apply(&[]);
        output.assert_failure();
        // The pre-flight lookup is the first request: it meets the refusal, and no reboot
        // request is sent at all.
        assert_flat_contains(&output, "Pre-flight check failed");
        assert_flat_contains(&output, "no reboot request was sent at all");
        assert_flat_contains(&output, "HTTP status: 401");
        assert_flat_contains(&output, "error_code: APIGW.0301");
        assert_flat_contains(
            &output,
            &format!("error_msg: Incorrect IAM authentication information: {gateway_words}"),
        );
        let requests = scenario.requests();
        assert!(
            requests
                .iter()
                .all(|entry| entry.operation != Operation::BatchReboot),
            "{requests:#?}"
        );
        // Three lookups meet the refusal, one request each (a 401 is not retried): the plan's
        // session count (skipped quietly), the apply-time plan's, and the pre-flight, whose
        // answer the error quotes.
        let rejected = requests;
        assert_eq!(rejected.len(), 3, "a 401 is not retried: {rejected:#?}");
        for entry in &rejected {
            assert_eq!(entry.status, Some(401));
            assert_eq!(entry.error_code.as_deref(), Some("APIGW.0301"));
            assert_eq!(entry.auth, kind);
        }
        assert_flat_contains(&output, &format!("request id: {}", rejected[2].request_id));
        assert_eq!(scenario.counts(&all), [0, 0]);
        assert!(tfjson::state_addresses(&scenario.show()).is_empty());
        for secret in TEST_SECRETS {
            assert!(
                !output.combined().contains(secret),
                "a secret was printed:\n{}",
                without_test_secrets(&output)
            );
        }
    }
}

// ---------------------------------------------------------------------------------- faults

/// Throttling (429) and server errors (503 on the reboot, 502 on the polls) are retried until
/// they pass; each server is still rebooted exactly once per apply.
#[test]
fn throttling_and_server_errors_are_ridden_out() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(3));
    let all = server_ids(3);
    let with_generation =
        |generation: u32| format!("  triggers = {{\n    generation = \"{generation}\"\n  }}\n");

    let attempts_of_last_apply =
        |scenario: &Scenario| -> Vec<(Option<u16>, Option<InjectedFault>)> {
            let mut batches: Vec<RequestLogEntry> = scenario
                .requests()
                .into_iter()
                .filter(|entry| entry.operation == Operation::BatchReboot)
                .collect();
            batches.sort_by_key(|entry| entry.seq);
            // A request the gateway refuses (429) never reaches the body parser: no items then.
            for entry in batches.iter().filter(|entry| entry.items.is_some()) {
                assert_eq!(entry.items.as_deref(), Some(&all[..]), "{entry:?}");
            }
            assert!(
                batches
                    .iter()
                    .any(|entry| entry.status == Some(200)
                        && entry.items.as_deref() == Some(&all[..])),
                "{batches:#?}"
            );
            batches
                .iter()
                .map(|entry| (entry.status, entry.fault))
                .collect()
        };

    scenario.sim().set_faults(Faults {
        throttle: Some(ThrottleFault {
            first_n: 2,
            retry_after_secs: None,
            scope: FaultScope::BatchReboot,
        }),
        ..Faults::default()
    });
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &all, &with_generation(1)),
    );
    scenario.apply(&[]).assert_success();
    assert_eq!(
        attempts_of_last_apply(&scenario),
        [
            (Some(429), Some(InjectedFault::Throttled)),
            (Some(429), Some(InjectedFault::Throttled)),
            (Some(200), None),
        ]
    );
    assert_eq!(scenario.counts(&all), [1, 1, 1]);

    scenario.sim().clear_requests();
    scenario.sim().set_faults(Faults {
        server_errors: Some(ServerErrorFault {
            first_n: 2,
            status: 503,
            error_code: None,
            error_msg: None,
            scope: FaultScope::BatchReboot,
        }),
        ..Faults::default()
    });
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &all, &with_generation(2)),
    );
    scenario.apply(&[]).assert_success();
    assert_eq!(
        attempts_of_last_apply(&scenario),
        [
            (Some(503), Some(InjectedFault::ServerError)),
            (Some(503), Some(InjectedFault::ServerError)),
            (Some(200), None),
        ]
    );
    assert_eq!(scenario.counts(&all), [2, 2, 2]);

    // Errors while polling for readiness are retried too.
    scenario.sim().clear_requests();
    scenario.sim().set_faults(Faults {
        server_errors: Some(ServerErrorFault {
            first_n: 3,
            status: 502,
            error_code: None,
            error_msg: None,
            scope: FaultScope::Reads,
        }),
        ..Faults::default()
    });
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &all, &with_generation(3)),
    );
    scenario.apply(&[]).assert_success();
    let failed_reads = scenario
        .requests()
        .iter()
        .filter(|entry| entry.fault == Some(InjectedFault::ServerError))
        .filter(|entry| entry.operation != Operation::BatchReboot)
        .count();
    assert_eq!(failed_reads, 3);
    assert_eq!(attempts_of_last_apply(&scenario), [(Some(200), None)]);
    assert_eq!(scenario.counts(&all), [3, 3, 3]);
    scenario.assert_no_changes_planned();
}

/// The failing batch fault used by the partial-failure tests: any batch naming `srv-0023`
/// fails with a 503 (retried once, then reported).
fn failing_batch_fault() -> Faults {
    Faults {
        failing_ids: Some(FailingIdsFault {
            ids: vec!["srv-0023".to_owned()],
            status: 503,
            error_code: Some("WKS.00050902".to_owned()),
            error_msg: Some("Simulated outage of the cell holding srv-0023".to_owned()),
        }),
        ..Faults::default()
    }
}

/// Checks the diagnostics of a failed batch (`srv-0021` … `srv-0025`) against the request log.
#[track_caller]
fn assert_failed_batch_reported(scenario: &Scenario, output: &CommandOutput) {
    let failed_ids = server_ids(25)[20..].to_vec();
    let mut failures: Vec<RequestLogEntry> = scenario
        .requests()
        .into_iter()
        .filter(|entry| entry.fault == Some(InjectedFault::FailingId))
        .collect();
    failures.sort_by_key(|entry| entry.seq);
    assert_eq!(failures.len(), 2, "one try and one retry: {failures:#?}");
    for entry in &failures {
        assert_eq!(entry.items.as_deref(), Some(&failed_ids[..]), "{entry:?}");
    }
    let last = &failures[failures.len() - 1];
    assert_flat_contains(output, "Error: Reboot request failed for 5 server(s)");
    assert_flat_contains(output, "HTTP status: 503");
    assert_flat_contains(output, "error_code: WKS.00050902");
    assert_flat_contains(
        output,
        "error_msg: Simulated outage of the cell holding srv-0023",
    );
    assert_flat_contains(output, &format!("request id: {}", last.request_id));
    assert_flat_contains(output, &format!("servers (5): {}", id_list(&failed_ids)));
    assert_flat_contains(
        output,
        &format!("Not rebooted (5): {}.", id_list(&failed_ids)),
    );
}

/// A create whose second batch fails: the diagnostics name the failed batch and the rebooted
/// servers, the state is saved (tainted, with `rebooted_at` and the five servers not done in
/// `pending_server_ids`), and the next apply replaces it — destroying the tainted object first,
/// which hands its pending servers to the replacement — so only those five are rebooted: every
/// server exactly once overall. Then nothing is planned.
#[test]
fn failed_batch_on_create_is_reported_and_the_next_apply_reboots_only_the_rest() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(25))
        .with_provider_lines("  max_retries = 1\n");
    let all = server_ids(25);
    let first_batch = all[..20].to_vec();
    let failed_ids = all[20..].to_vec();
    scenario.sim().set_faults(failing_batch_fault());
    scenario.write_config(PERMANENT, &reboot_resource("test", &all, ""));

    let failed = scenario.apply(&[]);
    failed.assert_failure();
    assert_failed_batch_reported(&scenario, &failed);
    assert_flat_contains(
        &failed,
        &format!("Rebooted and ready again (20): {}.", id_list(&first_batch)),
    );
    assert_flat_contains(&failed, "Terraform marks this resource as tainted");
    assert_flat_contains(
        &failed,
        &format!(
            "the replacement reboots only the 5 server(s) not done: {}.",
            id_list(&failed_ids)
        ),
    );
    let mut expected = vec![1u64; 20];
    expected.extend([0; 5]);
    assert_eq!(scenario.counts(&all), expected);

    // The state tells the truth: the object exists (some servers were rebooted) but is
    // tainted, so Terraform will not take it as done, and it says what is left.
    let show = scenario.show();
    let resource = tfjson::state_resource(&show, ADDRESS)
        .unwrap_or_else(|| panic!("nothing saved after a partly done create: {show}"));
    assert_eq!(resource["tainted"], true, "{resource}");
    assert!(resource["values"]["rebooted_at"].is_string(), "{resource}");
    assert_eq!(
        resource["values"]["pending_server_ids"],
        serde_json::json!(failed_ids),
        "{resource}"
    );
    let plan = scenario.plan_json();
    assert_eq!(
        tfjson::planned_actions(&plan, ADDRESS),
        Some(vec!["delete".to_owned(), "create".to_owned()])
    );

    scenario.sim().set_faults(Faults::default());
    scenario.sim().clear_requests();
    let converged = scenario.apply(&[]);
    converged.assert_success();
    converged.assert_output_contains("1 added, 0 changed, 1 destroyed");
    let batches = scenario.accepted_batches();
    assert_eq!(batches.len(), 1, "{batches:#?}");
    assert_eq!(batches[0].items.as_deref(), Some(&failed_ids[..]));
    assert_eq!(scenario.counts(&all), vec![1u64; 25]);
    let show = scenario.show();
    let resource = tfjson::state_resource(&show, ADDRESS)
        .unwrap_or_else(|| panic!("no state after the converging apply: {show}"));
    assert_ne!(resource["tainted"], true, "{resource}");
    assert_eq!(
        resource["values"]["pending_server_ids"],
        serde_json::json!([])
    );
    scenario.assert_no_changes_planned();
}

/// With `create_before_destroy` the replacement is created before the tainted object is
/// destroyed, so nothing can be handed over: it reboots every listed server, as documented.
#[test]
fn create_before_destroy_replacement_reboots_every_server() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(25))
        .with_provider_lines("  max_retries = 1\n");
    let all = server_ids(25);
    scenario.sim().set_faults(failing_batch_fault());
    let lifecycle = "  lifecycle {\n    create_before_destroy = true\n  }\n";
    scenario.write_config(PERMANENT, &reboot_resource("test", &all, lifecycle));
    scenario.apply(&[]).assert_failure();
    scenario.sim().set_faults(Faults::default());
    scenario.apply(&[]).assert_success();
    let mut expected = vec![2u64; 20];
    expected.extend([1; 5]);
    assert_eq!(scenario.counts(&all), expected);
    scenario.assert_no_changes_planned();
}

/// A trigger change whose second batch fails: the state keeps the prior triggers, the next
/// plan announces the resumption, and the next apply reboots only the five servers not done.
#[test]
fn failed_batch_on_update_is_resumed_by_the_next_apply() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(25))
        .with_provider_lines("  max_retries = 1\n");
    let all = server_ids(25);
    let failed_ids = all[20..].to_vec();
    let with_generation =
        |generation: u32| format!("  triggers = {{\n    generation = \"{generation}\"\n  }}\n");
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &all, &with_generation(1)),
    );
    scenario.apply(&[]).assert_success();
    assert_eq!(scenario.counts(&all), vec![1u64; 25]);

    scenario.sim().clear_requests();
    scenario.sim().set_faults(failing_batch_fault());
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &all, &with_generation(2)),
    );
    let failed = scenario.apply(&[]);
    failed.assert_failure();
    assert_failed_batch_reported(&scenario, &failed);
    assert_flat_contains(
        &failed,
        &format!(
            "the next apply reboots only the 5 server(s) not done: {}.",
            id_list(&failed_ids)
        ),
    );
    let mut expected = vec![2u64; 20];
    expected.extend([1; 5]);
    assert_eq!(scenario.counts(&all), expected);
    let state = scenario.state_values(ADDRESS);
    assert_eq!(
        state["triggers"]["generation"], "1",
        "the state must keep the triggers of the last complete reboot: {state}"
    );

    let (code, plan) = scenario.plan_exit_code();
    assert_eq!(
        code,
        Some(2),
        "the trigger change is planned again:\n{plan}"
    );
    assert_flat_contains(&plan, "Resuming an unfinished reboot");
    assert_flat_contains(
        &plan,
        "20 of the 25 listed servers are already rebooted and will not be rebooted again; the other 5 will be.",
    );

    scenario.sim().set_faults(Faults::default());
    scenario.sim().clear_requests();
    scenario.apply(&[]).assert_success();
    let batches = scenario.accepted_batches();
    assert_eq!(batches.len(), 1, "{batches:#?}");
    assert_eq!(batches[0].items.as_deref(), Some(&failed_ids[..]));
    assert_eq!(scenario.counts(&all), vec![2u64; 25]);
    assert_eq!(
        scenario.state_values(ADDRESS)["triggers"]["generation"],
        "2"
    );
    scenario.assert_no_changes_planned();
}

// ------------------------------------------------------------------------- waiting, Ctrl-C

/// With `wait_for_ready` (the default) the apply returns only once the simulator shows every
/// server idle again; without it, the apply returns while the reboot is still under way.
#[test]
fn wait_for_ready_waits_for_the_simulated_reboot() {
    let listed = server_ids(3);

    let mut config = simulator_config(3);
    config.reboot = RebootTiming {
        pending_ms: 1_000,
        rebooting_ms: 2_000,
        registering_ms: 500,
    };
    let waiting = Scenario::start(support::terraform_1_0_3(), config);
    waiting.write_config(PERMANENT, &reboot_resource("test", &listed, ""));
    waiting.apply(&[]).assert_success();
    let state = waiting.sim().state();
    for id in &listed {
        let server = state.server(id).unwrap_or_else(|| panic!("no server {id}"));
        assert_eq!(server.reboot_count, 1, "{server:?}");
        assert_eq!(server.phase, RebootPhase::Idle, "{server:?}");
        assert_eq!(server.vm_status, "ACTIVE", "{server:?}");
    }
    let requests = waiting.requests();
    let reboot_seq = waiting.accepted_batches()[0].seq;
    // Each server was read after the reboot: by its own GET, or on its group's page.
    for id in &listed {
        assert!(
            requests.iter().any(|entry| entry.seq > reboot_seq
                && ((entry.operation == Operation::ShowServer
                    && entry.server_id.as_deref() == Some(id.as_str()))
                    || (entry.operation == Operation::ListServers
                        && entry
                            .query
                            .as_deref()
                            .is_some_and(|q| q.contains("server_group_id=")))
                    || (entry.operation == Operation::ListServers
                        && entry.server_id.as_deref() == Some(id.as_str())))),
            "{id} was never polled: {requests:#?}"
        );
    }

    // The counterpart: a ten-minute reboot, not waited for.
    let mut config = simulator_config(3);
    config.reboot = RebootTiming {
        pending_ms: 600_000,
        rebooting_ms: 600_000,
        registering_ms: 0,
    };
    let not_waiting = Scenario::start(support::terraform_1_0_3(), config);
    not_waiting.write_config(
        PERMANENT,
        &reboot_resource("test", &listed, "  wait_for_ready = false\n"),
    );
    not_waiting.apply(&[]).assert_success();
    let state = not_waiting.sim().state();
    for id in &listed {
        let server = state.server(id).unwrap_or_else(|| panic!("no server {id}"));
        assert_eq!(server.reboot_count, 1, "{server:?}");
        assert_eq!(server.phase, RebootPhase::Pending, "{server:?}");
    }
    // Only the pre-flight reads, all before the first reboot request: nothing is polled.
    let requests = not_waiting.requests();
    let first_reboot = requests
        .iter()
        .filter(|entry| entry.operation == Operation::BatchReboot)
        .map(|entry| entry.seq)
        .min();
    assert!(first_reboot.is_some(), "{requests:#?}");
    assert!(
        requests.iter().all(
            |entry| entry.operation == Operation::BatchReboot || Some(entry.seq) < first_reboot
        ),
        "nothing is polled without wait_for_ready: {requests:#?}"
    );
    assert_eq!(not_waiting.state_values(ADDRESS)["wait_for_ready"], false);
}

/// Ctrl-C while the provider waits for a ten-minute reboot: Terraform calls StopProvider, the
/// apply ends promptly with "Interrupted", and nothing unfinished is reported as done.
#[test]
fn interrupt_during_the_wait_ends_the_apply_promptly_with_every_cli() {
    for cli in support::test_clis() {
        interrupt_during_the_wait(cli);
    }
}

fn interrupt_during_the_wait(cli: TerraformCli) {
    let mut config = simulator_config(2);
    config.reboot = RebootTiming {
        pending_ms: 600_000,
        rebooting_ms: 600_000,
        registering_ms: 0,
    };
    let workdir =
        TestWorkdir::new(Path::new(PROVIDER_BINARY)).with_timeout(Duration::from_secs(180));
    let scenario = Scenario::start_in(cli.clone(), config, workdir);
    let listed = server_ids(2);
    scenario.write_config(PERMANENT, &reboot_resource("test", &listed, ""));

    let running = scenario.spawn_apply();
    // Interrupt once the provider is polling, i.e. inside the wait.
    let polling_deadline = Instant::now() + Duration::from_secs(120);
    let in_the_wait = loop {
        let requests = scenario.requests();
        let rebooted = requests
            .iter()
            .filter(|entry| entry.is_accepted_reboot())
            .map(|entry| entry.seq)
            .max();
        // Reads after the reboot: the wait's polls (per-server GETs or group pages).
        let polled = requests
            .iter()
            .filter(|entry| {
                matches!(
                    entry.operation,
                    Operation::ShowServer | Operation::ListServers
                ) && rebooted.is_some_and(|seq| entry.seq > seq)
            })
            .count();
        let rebooted = rebooted.is_some();
        if rebooted && polled >= 2 {
            break true;
        }
        if Instant::now() >= polling_deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    running.interrupt();
    let interrupted_at = Instant::now();
    let output = running.wait();
    let took = interrupted_at.elapsed();
    assert!(
        in_the_wait,
        "{cli}: the apply never reached the wait:\n{output}"
    );
    assert!(!output.timed_out, "{output}");
    assert!(
        took < Duration::from_secs(30),
        "{cli}: the apply took {took:?} to end after the interrupt:\n{output}"
    );
    output.assert_failure();
    assert_flat_contains(&output, "Error: Interrupted");
    assert_flat_contains(
        &output,
        "Terraform asked the provider to stop, so the apply ended early.",
    );
    assert_flat_contains(&output, "Rebooted and ready again (0): (none).");
    assert_flat_contains(
        &output,
        &format!(
            "Reboot accepted but not seen ready (2): {}.",
            id_list(&listed)
        ),
    );
    assert_eq!(scenario.counts(&listed), [1, 1]);
    for id in &listed {
        let server = scenario
            .sim()
            .server(id)
            .unwrap_or_else(|| panic!("no server {id}"));
        assert_eq!(server.phase, RebootPhase::Pending, "{server:?}");
    }
    // The reboot was requested, so the object is saved — tainted, as the wait never finished.
    let show = scenario.show();
    let resource = tfjson::state_resource(&show, ADDRESS)
        .unwrap_or_else(|| panic!("nothing saved after the interrupted create: {show}"));
    assert_eq!(resource["tainted"], true, "{resource}");
}

// --------------------------------------------------------------------------------- secrets

/// `TF_LOG=trace` with the secrets in the provider block: neither Terraform's log file nor its
/// output ever contains the secret key, the security token or the IAM token — also when the
/// gateway rejects a signature and the provider reports the canonical request.
#[test]
fn no_secret_in_a_trace_log() {
    let temporary = Credentials::Temporary {
        access_key: TEMP_ACCESS_KEY,
        secret_key: TEMP_SECRET_KEY,
        security_token: SECURITY_TOKEN,
    };
    // The permanent key signed with the temporary key's secret: rejected by the gateway,
    // which answers with its canonical request, headers included.
    let mismatched = Credentials::Temporary {
        access_key: ACCESS_KEY,
        secret_key: TEMP_SECRET_KEY,
        security_token: SECURITY_TOKEN,
    };
    let runs = [
        (temporary, true),
        (Credentials::Token(IAM_TOKEN), true),
        (mismatched, false),
    ];
    for (credentials, succeeds) in runs {
        let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(2));
        let log_path = scenario.workdir.scratch_dir().join("terraform-trace.log");
        let log_path_text = log_path.display().to_string();
        let scenario = scenario
            .with_env("TF_LOG", "trace")
            .with_env("TF_LOG_PATH", &log_path_text);
        scenario.write_config(credentials, &reboot_resource("test", &server_ids(2), ""));
        let output = scenario.apply(&[]);
        let transcript = without_test_secrets(&output);
        assert!(!output.timed_out, "{transcript}");
        assert_eq!(output.success(), succeeds, "{credentials:?}:\n{transcript}");
        let log = std::fs::read_to_string(&log_path)
            .unwrap_or_else(|error| panic!("no trace log at {log_path_text}: {error}"));
        // The log really holds the provider's own trace output and the configuration call.
        assert!(
            log.contains("workspace_app_server_reboot: pre-flight check before rebooting"),
            "{credentials:?}: the provider's logs are missing from the trace log"
        );
        assert!(log.contains("ConfigureProvider"), "{credentials:?}");
        for secret in TEST_SECRETS {
            assert!(
                !log.contains(secret),
                "{credentials:?}: a secret is in the trace log {log_path_text}"
            );
            assert!(
                !output.combined().contains(secret),
                "{credentials:?}: a secret is in the output:\n{transcript}"
            );
        }
        if !succeeds {
            assert_flat_contains(&output, "APIGW.0301");
            assert_flat_contains(&output, "The gateway computed this canonical request");
            // The echoed request did carry the token header: its value was blanked out.
            assert_flat_contains(&output, "x-security-token:<redacted>");
        }
        drop(scenario);
    }
}

// -------------------------------------------------------------------------------- protocol 5

/// A full lifecycle over protocol 5: the provider runs in debug mode and Terraform reattaches
/// to it (the working directory has no other way to find the provider).
#[test]
fn full_apply_over_protocol_5_with_every_cli() {
    for cli in support::test_clis() {
        let mut provider_env = FAST_WAIT_ENV.to_vec();
        // Debug level names every gRPC call with its protocol package.
        provider_env.push(("TF_LOG_PROVIDER", "debug"));
        let provider = support::ReattachedProvider::start_with_env(
            Path::new(PROVIDER_BINARY),
            5,
            &provider_env,
        );
        assert_eq!(provider.protocol_version(), 5);
        let workdir =
            TestWorkdir::with_install(Path::new(PROVIDER_BINARY), InstallMethod::ReattachOnly);
        let scenario = Scenario::start_in(cli.clone(), simulator_config(3), workdir)
            .with_env("TF_REATTACH_PROVIDERS", provider.reattach_value());
        let all = server_ids(3);
        let with_generation =
            |generation: u32| format!("  triggers = {{\n    generation = \"{generation}\"\n  }}\n");

        scenario.write_config(
            PERMANENT,
            &reboot_resource("test", &all, &with_generation(1)),
        );
        let created = scenario.apply(&[]);
        created.assert_success();
        assert_eq!(scenario.counts(&all), [1, 1, 1], "{cli}:\n{created}");
        scenario.assert_no_changes_planned();

        scenario.write_config(
            PERMANENT,
            &reboot_resource("test", &all, &with_generation(2)),
        );
        scenario.apply(&[]).assert_success();
        assert_eq!(scenario.counts(&all), [2, 2, 2], "{cli}");
        assert_eq!(
            scenario.state_values(ADDRESS)["triggers"]["generation"],
            "2",
            "{cli}"
        );
        scenario.assert_no_changes_planned();

        scenario.sim().clear_requests();
        scenario.destroy().assert_success();
        assert_eq!(scenario.requests(), Vec::new(), "{cli}");
        // The calls went to the process this test started, over protocol 5 only.
        let provider_log = provider.stderr();
        assert!(
            provider_log.contains("/tfplugin5.Provider/ApplyResourceChange"),
            "{cli}: the provider logged no protocol 5 apply:\n{provider_log}"
        );
        assert!(
            !provider_log.contains("/tfplugin6."),
            "{cli}: protocol 6 was used:\n{provider_log}"
        );
    }
}

// ------------------------------------------------------------------------- unknown values

/// Values known only after apply are fine at plan time; an unknown trigger plans a reboot,
/// and the final values (IDs, type) are the ones that reach the API.
#[test]
fn values_unknown_at_plan_time_are_fine_and_an_unknown_trigger_reboots() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(4));
    let all = server_ids(4);
    // `first.id` is unknown until `first` is created (or replaced), so at plan time one of
    // `second`'s IDs, its type and its trigger are unknown; after apply they are srv-0003
    // (the id is never empty), HARD, and `first`'s id.
    let second_block = r#"resource "workspace_app_server_reboot" "second" {
  server_ids = ["srv-0002", workspace_app_server_reboot.first.id == "" ? "srv-0004" : "srv-0003"]
  type       = workspace_app_server_reboot.first.id == "" ? "SOFT" : "HARD"
  triggers = {
    after = workspace_app_server_reboot.first.id
  }
}
"#;
    let resources = format!("{}{second_block}", reboot_resource("first", &all[..1], ""));
    scenario.write_config(PERMANENT, &resources);
    let second = "workspace_app_server_reboot.second";

    let created = scenario.apply(&[]);
    created.assert_success();
    created.assert_output_contains("2 added, 0 changed, 0 destroyed");
    assert_eq!(scenario.counts(&all), [1, 1, 1, 0]);
    let second_batch = scenario
        .accepted_batches()
        .into_iter()
        .find(|entry| entry.items.as_deref() == Some(&all[1..3]))
        .unwrap_or_else(|| {
            panic!(
                "no batch for srv-0002, srv-0003: {:#?}",
                scenario.requests()
            )
        });
    assert_eq!(second_batch.reboot_type, Some(RebootType::Hard));

    // Replacing `first` makes the trigger of `second` unknown at plan time: a reboot is planned.
    let replace_first = "-replace=workspace_app_server_reboot.first";
    let plan = scenario
        .workdir
        .plan_json(&scenario.cli, &[replace_first], &scenario.env_pairs());
    assert_eq!(
        tfjson::planned_actions(&plan, second),
        Some(vec!["update".to_owned()])
    );
    assert_eq!(
        tfjson::planned_unknown(&plan, second, "rebooted_at"),
        Some(true)
    );
    scenario.apply(&[replace_first]).assert_success();
    assert_eq!(scenario.counts(&all), [2, 2, 2, 0]);
    let first_id = string_attr(
        &scenario.state_values("workspace_app_server_reboot.first"),
        "id",
    )
    .to_owned();
    assert_eq!(scenario.state_values(second)["triggers"]["after"], first_id);
    scenario.assert_no_changes_planned();
}

// ---------------------------------------------------------------------- servers not ready

/// A server that comes back in ERROR, then servers still rebooting when `timeouts.create` runs
/// out, are reported by name with what was seen last; only what came back is reported done,
/// and the state is saved tainted each time.
#[test]
fn servers_not_ready_are_named_and_the_timeout_bounds_the_wait() {
    let mut config = simulator_config(2);
    config.faults.error_after_reboot_ids = vec!["srv-0002".to_owned()];
    let scenario = Scenario::start(support::terraform_1_0_3(), config);
    let all = server_ids(2);
    scenario.write_config(
        PERMANENT,
        &reboot_resource("test", &all, "  timeouts {\n    create = \"2s\"\n  }\n"),
    );
    let tainted = |scenario: &Scenario| {
        let show = scenario.show();
        tfjson::state_resource(&show, ADDRESS).map(|resource| resource["tainted"] == true)
    };

    let broken = scenario.apply(&[]);
    broken.assert_failure();
    assert_flat_contains(&broken, "Error: 1 rebooted server(s) did not become ready");
    // A dead end, named with all three status fields.
    assert_flat_contains(
        &broken,
        "- srv-0002: the server's VM is broken (status NONE, vm_status ERROR, task_status null)",
    );
    assert_flat_contains(&broken, "Rebooted and ready again (1): srv-0001.");
    assert_flat_contains(&broken, "Reboot accepted but not seen ready (1): srv-0002.");
    assert_eq!(scenario.counts(&all), [1, 1]);
    assert_eq!(
        scenario.sim().server("srv-0002").map(|s| s.vm_status),
        Some("ERROR".to_owned())
    );
    assert_eq!(tainted(&scenario), Some(true));

    // Next, srv-0002 repaired and reboots that take ten minutes: the replacement takes over
    // only srv-0002 (srv-0001 was done) and the 2s bound ends the wait.
    scenario.sim().set_faults(Faults::default());
    scenario
        .sim()
        .repair_server("srv-0002")
        .unwrap_or_else(|error| panic!("repair: {error}"));
    scenario.sim().set_reboot_timing(RebootTiming {
        pending_ms: 600_000,
        rebooting_ms: 600_000,
        registering_ms: 0,
    });
    let slow = scenario.apply(&[]);
    slow.assert_failure();
    assert_flat_contains(&slow, "Error: 1 rebooted server(s) did not become ready");
    assert_flat_contains(
        &slow,
        "- srv-0002: not ready when the timeouts.create bound of 2s ran out",
    );
    assert_flat_contains(
        &slow,
        "Already done by an earlier unfinished apply of the same reboot (1): srv-0001.",
    );
    assert_flat_contains(&slow, "Rebooted and ready again (0): (none).");
    assert_eq!(scenario.counts(&all), [1, 2]);
    assert_eq!(tainted(&scenario), Some(true));
}

#[test]
fn import_is_refused_and_a_version_0_state_is_upgraded() {
    let scenario = Scenario::start(support::terraform_1_0_3(), simulator_config(2));
    let ids = server_ids(2);
    scenario.write_config(PERMANENT, &reboot_resource("test", &ids, ""));

    let import = scenario.workdir.run(
        &scenario.cli,
        &["import", "-input=false", "-no-color", ADDRESS, "srv-0001"],
        &scenario.env_pairs(),
    );
    import.assert_failure();
    assert_flat_contains(&import, "workspace_app_server_reboot cannot be imported");
    assert!(scenario.requests().is_empty(), "import calls no API");

    // A state written by schema version 0 of the resource, as an older provider left it.
    let state = serde_json::json!({
        "version": 4,
        "terraform_version": "1.0.3",
        "serial": 3,
        "lineage": "6f1c2a9e-0b7d-4a4e-9a4e-3c77f0e1d2b3",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "workspace_app_server_reboot",
            "name": "test",
            "provider": "provider[\"registry.terraform.io/tfws/workspace\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": "0123456789abcdef0123456789abcdef",
                    "server_ids": ids,
                    "type": "SOFT",
                    "triggers": null,
                    "wait_for_ready": true,
                    "timeouts": null,
                    "rebooted_at": "2026-01-02T03:04:05Z"
                },
                "sensitive_attributes": []
            }]
        }]
    });
    scenario
        .workdir
        .write_file("terraform.tfstate", &state.to_string());
    scenario.assert_no_changes_planned();
    // Refreshing stores the upgraded object; nothing is rebooted on the way.
    scenario.apply(&["-refresh-only"]).assert_success();
    let values = scenario.state_values(ADDRESS);
    assert_eq!(
        string_attr(&values, "id"),
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(string_attr(&values, "rebooted_at"), "2026-01-02T03:04:05Z");
    assert_eq!(state_server_ids(&values), ids);
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.workdir.path().join("terraform.tfstate")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        saved["resources"][0]["instances"][0]["schema_version"], 1,
        "upgraded schema version recorded"
    );
    assert!(
        scenario.requests().is_empty(),
        "no API call: {:?}",
        scenario.requests()
    );
}
