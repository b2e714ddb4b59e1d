//! Shared harness for end-to-end tests that drive the provider with a real `terraform` / `tofu`.
//!
//! Include it from an integration test with
//! `#[path = "support/mod.rs"] mod support;` and pass the binaries in from that test crate
//! (`env!("CARGO_BIN_EXE_terraform-provider-workspace")`), because `env!` is per crate.
//!
//! - [`cli`]: which CLIs to test against (Terraform 1.0.3 always, plus others on PATH or named
//!   by `TF_ACC_CLI` / `TFWS_TEST_CLIS`).
//! - [`workdir`]: a temporary working directory with a CLI config (dev_overrides or a
//!   filesystem mirror) and `terraform` runs in it.
//! - [`process`]: running a command with a sanitised environment and a hard timeout.
//! - [`reattach`]: the provider started in debug mode (`--debug --protocol-version 5|6`) for
//!   `TF_REATTACH_PROVIDERS`.
//! - [`simulator`]: the Workspace APP simulator in-process, on its own runtime, and the `HW_*`
//!   environment pointing the provider at it.
//! - [`tfjson`]: reading `terraform providers schema -json` / `terraform show -json` output.
//!
//! A typical end-to-end test:
//!
//! ```ignore
//! #[path = "support/mod.rs"]
//! mod support;
//!
//! const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");
//!
//! #[test]
//! fn create_reboots_every_listed_server_once() {
//!     let simulator = support::LocalSimulator::with_servers(3, fast_timing());
//!     let env = simulator.provider_env();
//!     for cli in support::test_clis() {
//!         let workdir = support::TestWorkdir::new(std::path::Path::new(PROVIDER));
//!         workdir.write_main_tf(&format!("{}{}", support::TERRAFORM_BLOCK, RESOURCE_HCL));
//!         workdir.apply(&cli, &[], &support::env_refs(&env)).assert_success();
//!         // ... assert on simulator.requests() / simulator.reboot_counts()
//!     }
//! }
//! ```
//!
//! Every command is bounded (`TFWS_TEST_COMMAND_TIMEOUT_SECS`, default 300 s) and runs with a
//! sanitised environment: inherited `TF_*`, `TOFU_*`, `HW_*` and `CHECKPOINT_*` variables are
//! dropped (no `TF_LOG` leakage, no real credentials), `TF_IN_AUTOMATION=1`, `TF_INPUT=0`,
//! `CHECKPOINT_DISABLE=1` and `TF_CLI_CONFIG_FILE` are set, then the test's own variables apply.
// Every test crate uses a different subset of the harness.
#![allow(dead_code, unused_imports)]

pub mod certs;
pub mod cli;
pub mod process;
pub mod reattach;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod tfjson;
pub mod workdir;

pub use cli::{terraform_1_0_3, test_clis, CliFlavor, TerraformCli};
pub use process::{CommandOutput, RunningCommand};
pub use reattach::ReattachedProvider;
#[cfg(feature = "simulator")]
pub use simulator::{env_refs, LocalSimulator};
pub use workdir::{InstallMethod, TestWorkdir};

/// The provider's source address as written in `required_providers`.
pub const PROVIDER_SOURCE: &str = "tfws/workspace";

/// The fully qualified address Terraform gives [`PROVIDER_SOURCE`].
pub const TERRAFORM_PROVIDER_ADDRESS: &str = "registry.terraform.io/tfws/workspace";

/// The fully qualified address OpenTofu gives [`PROVIDER_SOURCE`] (its default registry host
/// differs).
pub const OPENTOFU_PROVIDER_ADDRESS: &str = "registry.opentofu.org/tfws/workspace";

/// Both addresses: CLI configs and reattach values name both so one setup serves either CLI.
pub const PROVIDER_ADDRESSES: [&str; 2] = [TERRAFORM_PROVIDER_ADDRESS, OPENTOFU_PROVIDER_ADDRESS];

/// The resource type this provider offers.
pub const REBOOT_RESOURCE_TYPE: &str = "workspace_app_server_reboot";

/// A `terraform` block requiring this provider; start every test configuration with it.
pub const TERRAFORM_BLOCK: &str = r#"terraform {
  required_providers {
    workspace = {
      source = "tfws/workspace"
    }
  }
}
"#;
