//! A temporary Terraform working directory wired to the provider binary under test.
//!
//! Layout inside one temp dir:
//! - `cli.tfrc`: the CLI config named by `TF_CLI_CONFIG_FILE`;
//! - `mirror/` (filesystem-mirror installs only): `<host>/tfws/workspace/<version>/linux_amd64/`;
//! - `work/`: the working directory where `*.tf` files are written and commands run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::cli::TerraformCli;
use super::process::{command_timeout, run_command, sanitized_env, CommandOutput, RunningCommand};
use super::PROVIDER_ADDRESSES;

/// How the CLI finds the provider binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallMethod {
    /// `dev_overrides` to the binary's directory: no `terraform init` needed (or possible).
    DevOverrides,
    /// A filesystem mirror holding the binary as `version`; `terraform init` installs it.
    FilesystemMirror { version: String },
    /// No way to install it: the CLI can only use a provider given by `TF_REATTACH_PROVIDERS`
    /// (so a test of reattach cannot pass by accident).
    ReattachOnly,
}

pub struct TestWorkdir {
    root: TempDir,
    work: PathBuf,
    cli_config: PathBuf,
    timeout: Duration,
}

impl TestWorkdir {
    /// A working directory whose CLI config points `dev_overrides` for both provider addresses
    /// at the directory of `provider_binary` (pass
    /// `env!("CARGO_BIN_EXE_terraform-provider-workspace")`).
    pub fn new(provider_binary: &Path) -> TestWorkdir {
        TestWorkdir::with_install(provider_binary, InstallMethod::DevOverrides)
    }

    pub fn with_install(provider_binary: &Path, install: InstallMethod) -> TestWorkdir {
        let root = tempfile::Builder::new()
            .prefix("tfws-test-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create a temp dir: {error}"));
        let work = root.path().join("work");
        create_dir(&work);
        let cli_config = root.path().join("cli.tfrc");
        let config_text = match &install {
            InstallMethod::DevOverrides => {
                let binary_dir = absolute_parent(provider_binary);
                dev_overrides_config(&binary_dir)
            }
            InstallMethod::FilesystemMirror { version } => {
                let mirror = root.path().join("mirror");
                populate_mirror(&mirror, provider_binary, version);
                filesystem_mirror_config(&mirror)
            }
            InstallMethod::ReattachOnly => {
                String::from("# reattach only: no provider_installation\n")
            }
        };
        write(&cli_config, &config_text);
        TestWorkdir {
            root,
            work,
            cli_config,
            timeout: command_timeout(),
        }
    }

    /// Bound on each command run here (default [`command_timeout`]).
    pub fn with_timeout(mut self, timeout: Duration) -> TestWorkdir {
        self.timeout = timeout;
        self
    }

    /// The working directory where commands run.
    pub fn path(&self) -> &Path {
        &self.work
    }

    pub fn cli_config_path(&self) -> &Path {
        &self.cli_config
    }

    /// A scratch directory beside the working directory (not read by Terraform).
    pub fn scratch_dir(&self) -> PathBuf {
        let scratch = self.root.path().join("scratch");
        create_dir(&scratch);
        scratch
    }

    /// Writes `main.tf`, replacing any previous one.
    pub fn write_main_tf(&self, hcl: &str) {
        self.write_file("main.tf", hcl);
    }

    /// Writes a file relative to the working directory.
    pub fn write_file(&self, relative: &str, contents: &str) {
        let path = self.work.join(relative);
        if let Some(parent) = path.parent() {
            create_dir(parent);
        }
        write(&path, contents);
    }

    pub fn remove_file(&self, relative: &str) {
        let path = self.work.join(relative);
        std::fs::remove_file(&path)
            .unwrap_or_else(|error| panic!("cannot remove {}: {error}", path.display()));
    }

    /// The environment a command here gets: the sanitised inherited environment, the CLI
    /// config, then `extra` (which wins).
    pub fn environment(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = sanitized_env(std::env::vars());
        env.push((
            "TF_CLI_CONFIG_FILE".to_string(),
            self.cli_config.display().to_string(),
        ));
        env.extend(
            extra
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string())),
        );
        env
    }

    /// Runs `cli args...` here and waits (bounded by the timeout).
    pub fn run(&self, cli: &TerraformCli, args: &[&str], env: &[(&str, &str)]) -> CommandOutput {
        run_command(
            &cli.path,
            args,
            &self.work,
            &self.environment(env),
            self.timeout,
        )
    }

    /// Starts `cli args...` here without waiting (for interrupt tests).
    pub fn spawn(&self, cli: &TerraformCli, args: &[&str], env: &[(&str, &str)]) -> RunningCommand {
        RunningCommand::spawn(
            &cli.path,
            args,
            &self.work,
            &self.environment(env),
            self.timeout,
        )
        .unwrap_or_else(|error| panic!("cannot start {cli}: {error}"))
    }

    /// `init -input=false -no-color` (only meaningful with a filesystem mirror).
    pub fn init(&self, cli: &TerraformCli, env: &[(&str, &str)]) -> CommandOutput {
        self.run(cli, &["init", "-input=false", "-no-color"], env)
    }

    /// `validate -no-color`.
    pub fn validate(&self, cli: &TerraformCli, env: &[(&str, &str)]) -> CommandOutput {
        self.run(cli, &["validate", "-no-color"], env)
    }

    /// `plan -input=false -no-color <extra...>`.
    pub fn plan(&self, cli: &TerraformCli, extra: &[&str], env: &[(&str, &str)]) -> CommandOutput {
        self.run(
            cli,
            &with_args(&["plan", "-input=false", "-no-color"], extra),
            env,
        )
    }

    /// `apply -auto-approve -input=false -no-color <extra...>`.
    pub fn apply(&self, cli: &TerraformCli, extra: &[&str], env: &[(&str, &str)]) -> CommandOutput {
        let base = ["apply", "-auto-approve", "-input=false", "-no-color"];
        self.run(cli, &with_args(&base, extra), env)
    }

    /// `destroy -auto-approve -input=false -no-color <extra...>`.
    pub fn destroy(
        &self,
        cli: &TerraformCli,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> CommandOutput {
        let base = ["destroy", "-auto-approve", "-input=false", "-no-color"];
        self.run(cli, &with_args(&base, extra), env)
    }

    /// `providers schema -json`, parsed; panics with the transcript on failure.
    pub fn providers_schema_json(&self, cli: &TerraformCli, env: &[(&str, &str)]) -> Value {
        parse_json_output(&self.run(cli, &["providers", "schema", "-json"], env))
    }

    /// `show -json` of the current state, parsed; panics with the transcript on failure.
    pub fn show_json(&self, cli: &TerraformCli, env: &[(&str, &str)]) -> Value {
        parse_json_output(&self.run(cli, &["show", "-json", "-no-color"], env))
    }

    /// `plan -out=<file>` then `show -json <file>`: the plan as JSON (`resource_changes` etc.).
    pub fn plan_json(&self, cli: &TerraformCli, extra: &[&str], env: &[(&str, &str)]) -> Value {
        let plan_file = self.root.path().join("scratch.tfplan");
        let out_arg = format!("-out={}", plan_file.display());
        let mut args = vec![out_arg.as_str()];
        args.extend_from_slice(extra);
        self.plan(cli, &args, env).assert_success();
        let plan_path = plan_file.display().to_string();
        parse_json_output(&self.run(cli, &["show", "-json", "-no-color", &plan_path], env))
    }
}

/// Parses a command's stdout as JSON; panics with the transcript unless it succeeded and
/// printed JSON.
#[track_caller]
pub fn parse_json_output(output: &CommandOutput) -> Value {
    output.assert_success();
    serde_json::from_str(output.stdout.trim())
        .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{output}"))
}

/// CLI config text: dev_overrides for both provider addresses.
pub fn dev_overrides_config(binary_dir: &Path) -> String {
    let mut text = String::from("provider_installation {\n  dev_overrides {\n");
    for address in PROVIDER_ADDRESSES {
        text.push_str(&format!(
            "    {} = {}\n",
            hcl_string(address),
            hcl_path(binary_dir)
        ));
    }
    text.push_str("  }\n  direct {}\n}\n");
    text
}

/// CLI config text: this provider from the mirror, nothing from the network.
pub fn filesystem_mirror_config(mirror: &Path) -> String {
    let include = PROVIDER_ADDRESSES
        .iter()
        .map(|address| hcl_string(address))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {}\n    include = [{include}]\n  }}\n}}\n",
        hcl_path(mirror)
    )
}

/// Copies the binary into `<mirror>/<host>/tfws/workspace/<version>/linux_amd64/` for both
/// registry hosts (the unpacked layout both CLIs accept).
pub fn populate_mirror(mirror: &Path, provider_binary: &Path, version: &str) {
    for address in PROVIDER_ADDRESSES {
        let dir = mirror.join(address).join(version).join("linux_amd64");
        create_dir(&dir);
        let target = dir.join(format!("terraform-provider-workspace_v{version}"));
        std::fs::copy(provider_binary, &target).unwrap_or_else(|error| {
            panic!(
                "cannot copy {} to {}: {error}",
                provider_binary.display(),
                target.display()
            )
        });
    }
}

fn with_args<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra.iter()).copied().collect()
}

fn absolute_parent(binary: &Path) -> PathBuf {
    let absolute = std::fs::canonicalize(binary)
        .unwrap_or_else(|error| panic!("provider binary {}: {error}", binary.display()));
    absolute.parent().map(Path::to_path_buf).unwrap_or_else(|| {
        panic!(
            "provider binary {} has no parent directory",
            absolute.display()
        )
    })
}

/// An HCL string literal (JSON escaping is a valid subset for the characters paths use;
/// `${` and `%{` are escaped because HCL would read them as templates).
fn hcl_string(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_string()).to_string();
    quoted.replace("${", "$${").replace("%{", "%%{")
}

fn hcl_path(path: &Path) -> String {
    hcl_string(&path.display().to_string())
}

fn create_dir(path: &Path) {
    std::fs::create_dir_all(path)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()));
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}
