//! The examples in `examples/` (which the docs and the demo use) stay valid: every CLI under
//! test accepts each of them with `terraform validate` against the built provider.
//!
//! Exemption: the action examples (`examples/actions/`) need Terraform 1.14 or later. Older
//! Terraform rejects `action` blocks, and OpenTofu does not run actions, so those CLIs skip
//! them (saying so on stderr); every Terraform 1.14 or later under test validates them.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::TestWorkdir;

const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

fn example(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn assert_valid(name: &str, hcl: &str) {
    for cli in support::test_clis() {
        assert_valid_for(&cli, name, hcl);
    }
}

fn assert_valid_for(cli: &support::TerraformCli, name: &str, hcl: &str) {
    let workdir = TestWorkdir::new(Path::new(PROVIDER_BINARY));
    workdir.write_main_tf(hcl);
    let output = workdir.validate(cli, &[]);
    assert!(output.success(), "{name} is not valid for {cli}:\n{output}");
    assert!(
        output.stdout.contains("The configuration is valid"),
        "{name}, {cli}:\n{output}"
    );
}

/// The action examples, in registry layout (no `terraform` block).
const ACTION_EXAMPLES: [&str; 3] = [
    "actions/workspace_app_server_reboot/action.tf",
    "actions/workspace_app_server_reboot/trigger.tf",
    "actions/workspace_app_server_reboot/rolling.tf",
];

/// Whether a CLI runs actions: Terraform 1.14 or later.
fn runs_actions(cli: &support::TerraformCli) -> bool {
    cli.flavor == support::CliFlavor::Terraform && cli.at_least(1, 14)
}

#[test]
fn quickstart_is_valid() {
    assert_valid(
        "examples/quickstart/main.tf",
        &example("quickstart/main.tf"),
    );
}

#[test]
fn provider_example_is_valid() {
    assert_valid(
        "examples/provider/provider.tf",
        &example("provider/provider.tf"),
    );
}

/// The resource's examples: the plain one, a rolling one and a drained one.
const RESOURCE_EXAMPLES: [&str; 3] = [
    "resources/workspace_app_server_reboot/resource.tf",
    "resources/workspace_app_server_reboot/rolling.tf",
    "resources/workspace_app_server_reboot/drained.tf",
];

#[test]
fn resource_examples_are_valid() {
    for file in RESOURCE_EXAMPLES {
        // Registry-layout resource examples leave out the `terraform` block; add it.
        let hcl = format!("{}\n{}", support::TERRAFORM_BLOCK, example(file));
        assert_valid(&format!("examples/{file}"), &hcl);
    }
}

#[test]
fn every_resource_example_is_checked() {
    // A new file in the folder must be added to RESOURCE_EXAMPLES.
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/resources/workspace_app_server_reboot");
    let mut found: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .flatten()
        .map(|entry| {
            format!(
                "resources/workspace_app_server_reboot/{}",
                entry.file_name().to_string_lossy()
            )
        })
        .filter(|name| name.ends_with(".tf"))
        .collect();
    found.sort();
    let mut checked: Vec<String> = RESOURCE_EXAMPLES.iter().map(|s| (*s).to_owned()).collect();
    checked.sort();
    assert_eq!(found, checked);
}

#[test]
fn data_source_example_is_valid() {
    // Registry-layout data source examples leave out the `terraform` block too.
    let hcl = format!(
        "{}\n{}",
        support::TERRAFORM_BLOCK,
        example("data-sources/workspace_app_servers/data-source.tf")
    );
    assert_valid(
        "examples/data-sources/workspace_app_servers/data-source.tf",
        &hcl,
    );
}

#[test]
fn action_examples_are_valid_where_actions_exist() {
    for file in ACTION_EXAMPLES {
        let hcl = format!("{}\n{}", support::TERRAFORM_BLOCK, example(file));
        let name = format!("examples/{file}");
        for cli in support::test_clis() {
            if runs_actions(&cli) {
                assert_valid_for(&cli, &name, &hcl);
            } else {
                // The exemption (see the module docs): this CLI rejects `action` blocks.
                eprintln!("{name}: not validated with {cli}, which does not run actions (Terraform 1.14 or later does)");
            }
        }
    }
}

#[test]
fn older_terraform_rejects_action_blocks() {
    // Why the action examples are exempt with older CLIs: Terraform 1.0.3 refuses the block.
    let hcl = format!(
        "{}\n{}",
        support::TERRAFORM_BLOCK,
        example(ACTION_EXAMPLES[0])
    );
    let workdir = TestWorkdir::new(Path::new(PROVIDER_BINARY));
    workdir.write_main_tf(&hcl);
    let output = workdir.validate(&support::terraform_1_0_3(), &[]);
    output
        .assert_failure()
        .assert_output_contains("Blocks of type \"action\" are not expected here");
}

#[test]
fn validate_really_rejects_a_bad_value() {
    // Guards the tests above: validate against this provider does fail on a bad value.
    let hcl = format!(
        "{}\nresource \"workspace_app_server_reboot\" \"bad\" {{\n  server_ids = [\"srv-0001\"]\n  type       = \"GENTLE\"\n}}\n",
        support::TERRAFORM_BLOCK
    );
    let workdir = TestWorkdir::new(Path::new(PROVIDER_BINARY));
    workdir.write_main_tf(&hcl);
    let output = workdir.validate(&support::terraform_1_0_3(), &[]);
    output.assert_failure().assert_output_contains("GENTLE");
}
