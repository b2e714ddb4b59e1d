//! Tests of the end-to-end test harness itself (tests/support): CLI discovery, the process
//! runner's timeout/interrupt/environment handling, the CLI config files it writes (checked by
//! a real Terraform 1.0.3), reattach-line parsing and the JSON lookups.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::cli::parse_version_line;
use support::process::{run_command, sanitized_env, RunningCommand};
use support::reattach::reattach_value_for_all_addresses;
use support::{tfjson, CliFlavor, InstallMethod, TestWorkdir};
use tfws::workspace::simulator::RebootTiming;

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

#[test]
fn version_lines_of_both_products_parse() {
    assert_eq!(
        parse_version_line("Terraform v1.0.3"),
        Some((CliFlavor::Terraform, "1.0.3".to_string()))
    );
    assert_eq!(
        parse_version_line("OpenTofu v1.8.0-beta1"),
        Some((CliFlavor::OpenTofu, "1.8.0-beta1".to_string()))
    );
    assert_eq!(parse_version_line("Terraform 1.0.3"), None);
    assert_eq!(parse_version_line("Packer v1.0.3"), None);
    assert_eq!(parse_version_line("Terraform v1.x"), None);
    assert_eq!(parse_version_line(""), None);
}

#[test]
fn terraform_1_0_3_is_always_the_first_cli() {
    let clis = support::test_clis();
    let first = &clis[0];
    assert_eq!(first.flavor, CliFlavor::Terraform);
    assert_eq!(first.version, "1.0.3");
    assert_eq!(first.version_tuple(), (1, 0, 3));
    assert!(first.at_least(1, 0) && !first.at_least(1, 1));
    // Every CLI listed is distinct by product and version.
    for (index, cli) in clis.iter().enumerate() {
        for other in &clis[index + 1..] {
            assert!(
                cli.flavor != other.flavor
                    || cli.version != other.version
                    || cli.path != other.path,
                "{cli} listed twice"
            );
        }
    }
}

#[test]
fn inherited_logging_reattach_and_credentials_are_dropped() {
    let inherited = [
        ("PATH", "/usr/bin"),
        ("TF_LOG", "trace"),
        ("TF_LOG_PATH", "/tmp/log"),
        ("TF_REATTACH_PROVIDERS", "{}"),
        ("TF_VAR_image_id", "x"),
        ("TF_CLI_CONFIG_FILE", "/root/.terraformrc"),
        ("HW_SECRET_KEY", "real-secret"),
        ("CHECKPOINT_DISABLE", ""),
    ]
    .map(|(key, value)| (key.to_string(), value.to_string()));
    let env = sanitized_env(inherited);
    let keys: Vec<&str> = env.iter().map(|(key, _)| key.as_str()).collect();
    assert!(keys.contains(&"PATH"));
    for dropped in [
        "TF_LOG",
        "TF_LOG_PATH",
        "TF_REATTACH_PROVIDERS",
        "TF_VAR_image_id",
        "TF_CLI_CONFIG_FILE",
        "HW_SECRET_KEY",
    ] {
        assert!(!keys.contains(&dropped), "{dropped} leaked: {env:?}");
    }
    for (key, value) in [
        ("TF_IN_AUTOMATION", "1"),
        ("TF_INPUT", "0"),
        ("CHECKPOINT_DISABLE", "1"),
    ] {
        assert!(
            env.contains(&(key.to_string(), value.to_string())),
            "{key} not set: {env:?}"
        );
    }
}

#[test]
fn a_command_past_its_timeout_is_killed_with_everything_it_started() {
    // The shell starts a background grandchild that holds the output pipes too: only killing
    // the whole process group lets the runner return.
    let output = run_command(
        Path::new("/bin/sh"),
        &["-c", "sleep 300 & echo started; sleep 300"],
        Path::new("/"),
        &sanitized_env(std::env::vars()),
        Duration::from_millis(500),
    );
    assert!(output.timed_out, "{output}");
    assert!(!output.success());
    assert!(output.stdout.contains("started"), "{output}");
}

#[test]
fn a_command_that_finishes_reports_status_and_output() {
    let output = run_command(
        Path::new("/bin/sh"),
        &["-c", "echo out; echo err >&2; exit 3"],
        Path::new("/"),
        &sanitized_env(std::env::vars()),
        Duration::from_secs(60),
    );
    assert!(!output.timed_out);
    assert_eq!(output.code(), Some(3));
    assert_eq!(output.stdout, "out\n");
    assert_eq!(output.stderr, "err\n");
    output.assert_failure();
}

#[test]
fn interrupt_delivers_sigint_like_ctrl_c() {
    let script = "trap 'echo got-sigint; exit 7' INT; echo ready; while :; do sleep 0.05; done";
    let mut running = RunningCommand::spawn(
        Path::new("/bin/sh"),
        &["-c", script],
        Path::new("/"),
        &sanitized_env(std::env::vars()),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|error| panic!("cannot start sh: {error}"));
    assert!(running.wait_for_output("ready", Duration::from_secs(30)));
    running.interrupt();
    let output = running.wait();
    assert!(!output.timed_out, "{output}");
    assert_eq!(output.code(), Some(7), "{output}");
    assert!(output.stdout.contains("got-sigint"), "{output}");
}

/// Terraform prints this warning when it cannot use the CLI config file.
const CLI_CONFIG_PROBLEM: &str = "problems with the CLI configuration";

#[test]
fn generated_cli_configs_are_accepted_by_every_cli() {
    for cli in support::test_clis() {
        for install in [
            InstallMethod::DevOverrides,
            InstallMethod::FilesystemMirror {
                version: "0.1.0".to_string(),
            },
        ] {
            let workdir = TestWorkdir::with_install(Path::new(PROVIDER_BINARY), install.clone());
            let output = workdir.run(&cli, &["version"], &[]);
            output.assert_success();
            assert!(
                !output.combined().contains(CLI_CONFIG_PROBLEM),
                "{cli} {install:?}:\n{output}"
            );
        }
    }
}

#[test]
fn a_broken_cli_config_is_noticed_by_terraform() {
    // Guards the test above: the warning it looks for really appears for a bad config.
    let cli = support::terraform_1_0_3();
    let workdir = TestWorkdir::new(Path::new(PROVIDER_BINARY));
    std::fs::write(
        workdir.cli_config_path(),
        "provider_installation { dev_overrides = 3 }\n",
    )
    .unwrap_or_else(|error| panic!("cannot write the CLI config: {error}"));
    let output = workdir.run(&cli, &["version"], &[]);
    assert!(output.combined().contains(CLI_CONFIG_PROBLEM), "{output}");
}

#[test]
fn terraform_init_installs_the_provider_from_the_filesystem_mirror() {
    for cli in support::test_clis() {
        let workdir = TestWorkdir::with_install(
            Path::new(PROVIDER_BINARY),
            InstallMethod::FilesystemMirror {
                version: "0.1.0".to_string(),
            },
        );
        workdir.write_main_tf(support::TERRAFORM_BLOCK);
        workdir.init(&cli, &[]).assert_success();
        let lock = std::fs::read_to_string(workdir.path().join(".terraform.lock.hcl"))
            .unwrap_or_else(|error| panic!("{cli}: no lock file after init: {error}"));
        assert!(
            lock.contains(&format!("provider \"{}\"", cli.provider_address())),
            "{cli}: lock file does not name the provider:\n{lock}"
        );
        let locked_version = lock
            .lines()
            .filter_map(|line| line.trim().strip_prefix("version"))
            .map(|rest| rest.trim_start_matches([' ', '=']).trim())
            .next();
        assert_eq!(locked_version, Some("\"0.1.0\""), "{cli}:\n{lock}");
    }
}

#[test]
fn reattach_line_is_rekeyed_to_both_provider_addresses() {
    let printed = r#"'{"registry.terraform.io/tfws/workspace":{"Protocol":"grpc","ProtocolVersion":5,"Pid":42,"Test":true,"Addr":{"Network":"unix","String":"/tmp/plugin42"}}}'"#;
    let value = reattach_value_for_all_addresses(printed, 5)
        .unwrap_or_else(|message| panic!("rejected a good line: {message}"));
    let parsed: serde_json::Value = serde_json::from_str(&value)
        .unwrap_or_else(|error| panic!("rekeyed value is not JSON: {error}"));
    for address in support::PROVIDER_ADDRESSES {
        assert_eq!(
            parsed[address]["Addr"]["String"], "/tmp/plugin42",
            "{value}"
        );
        assert_eq!(parsed[address]["ProtocolVersion"], 5, "{value}");
    }

    assert!(
        reattach_value_for_all_addresses(printed, 6).is_err(),
        "wrong protocol accepted"
    );
    assert!(reattach_value_for_all_addresses("'not json'", 5).is_err());
    assert!(reattach_value_for_all_addresses("{}", 5).is_err());
    let no_addr = r#"{"a/b/c":{"ProtocolVersion":6,"Addr":{"Network":"unix","String":""}}}"#;
    assert!(reattach_value_for_all_addresses(no_addr, 6).is_err());
}

#[test]
fn json_lookups_find_schema_state_and_plan_entries() {
    let schemas = json!({
        "format_version": "0.2",
        "provider_schemas": {
            "registry.opentofu.org/tfws/workspace": {
                "provider": {"block": {"attributes": {"region": {"type": "string", "optional": true}}}},
                "resource_schemas": {
                    "workspace_app_server_reboot": {"block": {"attributes": {"server_ids": {"type": ["set", "string"], "required": true}}}}
                }
            }
        }
    });
    let provider =
        tfjson::provider_config_block(&schemas).unwrap_or_else(|| panic!("no provider block"));
    assert_eq!(
        tfjson::block_attribute(provider, "region").map(|a| &a["type"]),
        Some(&json!("string"))
    );
    let resource = tfjson::resource_block(&schemas, support::REBOOT_RESOURCE_TYPE)
        .unwrap_or_else(|| panic!("no resource block"));
    assert_eq!(
        tfjson::block_attribute(resource, "server_ids").map(|a| &a["required"]),
        Some(&json!(true))
    );
    assert!(tfjson::resource_block(&schemas, "workspace_other").is_none());

    let show = json!({"values": {"root_module": {"resources": [
        {"address": "workspace_app_server_reboot.a", "values": {"id": "x"}}
    ]}}});
    assert_eq!(
        tfjson::state_addresses(&show),
        vec!["workspace_app_server_reboot.a"]
    );
    assert_eq!(
        tfjson::state_values(&show, "workspace_app_server_reboot.a").map(|v| &v["id"]),
        Some(&json!("x"))
    );
    assert!(tfjson::state_values(&show, "workspace_app_server_reboot.b").is_none());
    assert!(tfjson::state_addresses(&json!({"format_version": "0.1"})).is_empty());

    let plan = json!({"resource_changes": [{
        "address": "workspace_app_server_reboot.a",
        "change": {"actions": ["update"], "after_unknown": {"rebooted_at": true}}
    }]});
    assert_eq!(
        tfjson::planned_actions(&plan, "workspace_app_server_reboot.a"),
        Some(vec!["update".to_string()])
    );
    assert_eq!(
        tfjson::planned_unknown(&plan, "workspace_app_server_reboot.a", "rebooted_at"),
        Some(true)
    );
    assert_eq!(
        tfjson::planned_unknown(&plan, "workspace_app_server_reboot.a", "id"),
        Some(false)
    );
}

#[test]
fn reattach_helper_serves_terraform_over_both_protocols() {
    let cli = support::terraform_1_0_3();
    // Guard: without the reattach value this working directory has no provider at all.
    let unreachable =
        TestWorkdir::with_install(Path::new(PROVIDER_BINARY), InstallMethod::ReattachOnly);
    unreachable.write_main_tf(support::TERRAFORM_BLOCK);
    unreachable
        .run(&cli, &["providers", "schema", "-json"], &[])
        .assert_failure();
    for protocol in [5u8, 6] {
        let provider = support::ReattachedProvider::start(Path::new(PROVIDER_BINARY), protocol);
        assert_eq!(provider.protocol_version(), protocol);
        let workdir =
            TestWorkdir::with_install(Path::new(PROVIDER_BINARY), InstallMethod::ReattachOnly);
        workdir.write_main_tf(support::TERRAFORM_BLOCK);
        let schemas = workdir.providers_schema_json(&cli, &[provider.env()]);
        assert!(
            tfjson::resource_block(&schemas, support::REBOOT_RESOURCE_TYPE).is_some(),
            "protocol {protocol}: no resource schema in {schemas}\nprovider stderr:\n{}",
            provider.stderr()
        );
    }
}

#[test]
fn in_process_simulator_serves_a_real_apply_while_terraform_blocks_the_test_thread() {
    let cli = support::terraform_1_0_3();
    let simulator = support::LocalSimulator::with_servers(
        4,
        RebootTiming {
            pending_ms: 50,
            rebooting_ms: 100,
            registering_ms: 50,
        },
    );
    let workdir = TestWorkdir::new(Path::new(PROVIDER_BINARY));
    workdir.write_main_tf(&format!(
        "{}\nresource \"workspace_app_server_reboot\" \"r\" {{\n  server_ids = [\"srv-0001\", \"srv-0003\"]\n}}\n",
        support::TERRAFORM_BLOCK
    ));
    let env = simulator.provider_env();
    workdir
        .apply(&cli, &[], &support::env_refs(&env))
        .assert_success();
    let counts = simulator.reboot_counts();
    assert_eq!(counts.get("srv-0001"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("srv-0002"), Some(&0), "{counts:?}");
    assert_eq!(counts.get("srv-0003"), Some(&1), "{counts:?}");
    let show = workdir.show_json(&cli, &support::env_refs(&env));
    let values = tfjson::state_values(&show, "workspace_app_server_reboot.r")
        .unwrap_or_else(|| panic!("no resource in state: {show}"));
    assert!(
        values["rebooted_at"]
            .as_str()
            .is_some_and(|at| !at.is_empty()),
        "{values}"
    );
}
