//! The plugin protocol proven with a real `terraform` (1.0.3, plus any other CLI the harness
//! finds): schemas read through dev_overrides, validation diagnostics that point at the
//! offending configuration line, both protocol versions over reattach, and provider logs
//! re-logged by Terraform at their own levels.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::path::Path;
use support::{
    tfjson, InstallMethod, TerraformCli, TestWorkdir, REBOOT_RESOURCE_TYPE, TERRAFORM_BLOCK,
};

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

fn provider_binary() -> &'static Path {
    Path::new(PROVIDER_BINARY)
}

/// A provider block that passes validation without any environment.
const PROVIDER_BLOCK: &str = r#"
provider "workspace" {
  endpoint   = "http://127.0.0.1:9"
  project_id = "0123456789abcdef0123456789abcdef"
  access_key = "AKEXAMPLE"
  secret_key = "SKEXAMPLE"
}
"#;

fn assert_schemas(schemas: &Value, cli: &TerraformCli) {
    let provider = tfjson::provider_config_block(schemas)
        .unwrap_or_else(|| panic!("{cli}: no provider schema in {schemas}"));
    for name in [
        "region",
        "project_id",
        "access_key",
        "secret_key",
        "security_token",
        "token",
        "endpoint",
        "cloud",
    ] {
        let attribute = tfjson::block_attribute(provider, name)
            .unwrap_or_else(|| panic!("{cli}: provider argument {name}"));
        assert_eq!(attribute["type"], "string", "{cli}: {name}");
        assert_eq!(attribute["optional"], true, "{cli}: {name}");
    }
    for secret in ["access_key", "secret_key", "security_token", "token"] {
        assert_eq!(
            tfjson::block_attribute(provider, secret).unwrap()["sensitive"],
            true,
            "{cli}: {secret} is sensitive"
        );
    }
    assert_eq!(
        tfjson::block_attribute(provider, "insecure").unwrap()["type"],
        "bool"
    );
    assert_eq!(
        tfjson::block_attribute(provider, "max_retries").unwrap()["type"],
        "number"
    );

    let resource = tfjson::resource_block(schemas, REBOOT_RESOURCE_TYPE)
        .unwrap_or_else(|| panic!("{cli}: no resource schema"));
    let server_ids = tfjson::block_attribute(resource, "server_ids").unwrap();
    assert_eq!(
        server_ids["type"],
        serde_json::json!(["set", "string"]),
        "{cli}"
    );
    assert_eq!(server_ids["required"], true, "{cli}");
    assert_eq!(
        tfjson::block_attribute(resource, "triggers").unwrap()["type"],
        serde_json::json!(["map", "string"])
    );
    for computed in ["id", "rebooted_at"] {
        assert_eq!(
            tfjson::block_attribute(resource, computed).unwrap()["computed"],
            true,
            "{cli}: {computed}"
        );
    }
    for defaulted in ["type", "wait_for_ready"] {
        let attribute = tfjson::block_attribute(resource, defaulted).unwrap();
        assert_eq!(
            (attribute["optional"].clone(), attribute["computed"].clone()),
            (true.into(), true.into()),
            "{cli}: {defaulted}"
        );
    }
    let timeouts = &resource["block_types"]["timeouts"];
    assert_eq!(
        timeouts["nesting_mode"], "single",
        "{cli}: timeouts block in {resource}"
    );
    assert!(
        timeouts["block"]["attributes"]["create"].is_object()
            && timeouts["block"]["attributes"]["update"].is_object()
    );
    assert!(
        resource["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{cli}: resource documented"
    );
}

#[test]
fn every_cli_reads_the_schemas_through_dev_overrides() {
    for cli in support::test_clis() {
        let workdir = TestWorkdir::new(provider_binary());
        workdir.write_main_tf(TERRAFORM_BLOCK);
        let schemas = workdir.providers_schema_json(&cli, &[]);
        assert_schemas(&schemas, &cli);
    }
}

/// (what is wrong, the attribute's configuration line, the text the diagnostic must show)
const BAD_ATTRIBUTES: &[(&str, &str, &str)] = &[
    ("bad type", r#"  type       = "MEDIUM""#, "type must be"),
    ("empty server set", r#"  server_ids = []"#, "server_ids"),
    (
        "empty server id",
        r#"  server_ids = ["srv-1", ""]"#,
        "server_ids",
    ),
];

/// Writes a configuration whose resource has `bad_line` (plus `server_ids` when the bad line is
/// not about them) and returns the 1-based line number of `bad_line`.
fn config_with(workdir: &TestWorkdir, bad_line: &str) -> usize {
    let mut text = format!(
        "{TERRAFORM_BLOCK}{PROVIDER_BLOCK}\nresource \"{REBOOT_RESOURCE_TYPE}\" \"fleet\" {{\n"
    );
    if !bad_line.trim_start().starts_with("server_ids") {
        text.push_str("  server_ids = [\"srv-1\"]\n");
    }
    let line = text.lines().count() + 1;
    text.push_str(bad_line);
    text.push_str("\n}\n");
    workdir.write_main_tf(&text);
    line
}

fn assert_validate_points_at(workdir: &TestWorkdir, cli: &TerraformCli, env: &[(&str, &str)]) {
    for (what, bad_line, expected) in BAD_ATTRIBUTES {
        let line = config_with(workdir, bad_line);
        let output = workdir.validate(cli, env);
        output.assert_failure();
        let text = output.combined();
        assert!(
            text.contains("Error: "),
            "{cli}, {what}: an error diagnostic:\n{text}"
        );
        assert!(
            text.contains(&format!("on main.tf line {line}")),
            "{cli}, {what}: points at line {line}:\n{text}"
        );
        assert!(
            text.contains(bad_line.trim()),
            "{cli}, {what}: quotes the attribute:\n{text}"
        );
        assert!(
            text.contains(expected),
            "{cli}, {what}: says {expected:?}:\n{text}"
        );
    }
    // And the same configuration with good values validates.
    config_with(workdir, r#"  type       = "HARD""#);
    workdir.validate(cli, env).assert_success();
}

#[test]
fn validate_points_at_the_bad_attribute_on_every_cli() {
    for cli in support::test_clis() {
        let workdir = TestWorkdir::new(provider_binary());
        assert_validate_points_at(&workdir, &cli, &[]);
    }
}

#[test]
fn protocol_5_and_6_over_reattach() {
    let cli = support::terraform_1_0_3();
    for protocol in [5u8, 6] {
        let provider = support::ReattachedProvider::start_with_env(
            provider_binary(),
            protocol,
            &[("TF_LOG_PROVIDER", "debug")],
        );
        let workdir = TestWorkdir::with_install(provider_binary(), InstallMethod::ReattachOnly);
        workdir.write_main_tf(TERRAFORM_BLOCK);
        let schemas = workdir.providers_schema_json(&cli, &[provider.env()]);
        assert_schemas(&schemas, &cli);
        assert_validate_points_at(&workdir, &cli, &[provider.env()]);
        // The provider's own log names the calls it served: they came over this protocol.
        let stderr = provider.stderr();
        let schema_rpc = if protocol == 5 {
            "/tfplugin5.Provider/GetSchema"
        } else {
            "/tfplugin6.Provider/GetProviderSchema"
        };
        let validate_rpc = if protocol == 5 {
            "/tfplugin5.Provider/ValidateResourceTypeConfig"
        } else {
            "/tfplugin6.Provider/ValidateResourceConfig"
        };
        for rpc in [schema_rpc, validate_rpc] {
            assert!(
                stderr.contains(rpc),
                "protocol {protocol}: provider served {rpc}:\n{stderr}"
            );
        }
        let other = if protocol == 5 {
            "/tfplugin6."
        } else {
            "/tfplugin5."
        };
        assert!(
            !stderr.contains(other),
            "protocol {protocol}: no call over the other protocol:\n{stderr}"
        );
    }
}

#[test]
fn tf_log_debug_shows_provider_lines_at_their_level() {
    let cli = support::terraform_1_0_3();
    let workdir = TestWorkdir::new(provider_binary());
    workdir.write_main_tf(TERRAFORM_BLOCK);
    let output = workdir.validate(&cli, &[("TF_LOG", "debug")]);
    output.assert_success();
    let stderr = &output.stderr;
    // Terraform re-logs our hclog JSON lines under the plugin's name at their own level;
    // a line it could not parse would show up raw, with `@level` in it.
    let relogged = stderr
        .lines()
        .find(|l| {
            l.contains("[DEBUG] provider.terraform-provider-workspace: gRPC call:")
                && l.contains("rpc=/tfplugin")
        })
        .unwrap_or_else(|| panic!("no re-logged provider debug line:\n{stderr}"));
    assert!(
        relogged.contains("@module=tfws.protocol.runtime"),
        "{relogged}"
    );
    assert!(
        !stderr.contains("\"@level\""),
        "every provider line parsed as hclog JSON:\n{stderr}"
    );
    // At the default level nothing of ours is logged at debug.
    let quiet = workdir.validate(&cli, &[("TF_LOG", "info")]);
    assert!(
        !quiet
            .stderr
            .contains("provider.terraform-provider-workspace: gRPC call"),
        "{}",
        quiet.stderr
    );
}
