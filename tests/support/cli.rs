//! Which Terraform / OpenTofu CLIs the end-to-end tests run against.
//!
//! 1. Always a real Terraform 1.0.3: the path in `TFWS_TERRAFORM_1_0_3` (set by
//!    `scripts/test.sh`), else `.tools/terraform-1.0.3/terraform` in the repository, else
//!    `scripts/install-terraform.sh` is run to fetch it. If none of that works the tests fail
//!    loudly: they never silently skip the real CLI.
//! 2. Every `terraform` and `tofu` on `PATH` whose flavour/version differs from the ones already
//!    chosen (turn off with `TFWS_TEST_PATH_CLIS=0`).
//! 3. The CLI named by `TF_ACC_CLI`, and each one in the comma list `TFWS_TEST_CLIS` (paths or
//!    names looked up on `PATH`). A CLI named explicitly that cannot run fails the tests.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Which product a CLI binary is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CliFlavor {
    Terraform,
    OpenTofu,
}

/// One CLI binary the tests can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformCli {
    /// Absolute path of the executable.
    pub path: PathBuf,
    pub flavor: CliFlavor,
    /// The version without the leading `v`, e.g. `1.0.3`.
    pub version: String,
}

impl TerraformCli {
    /// Runs `<path> version` and reads the flavour and version from its first line.
    pub fn probe(path: &Path) -> Result<TerraformCli, String> {
        let output = Command::new(path)
            .arg("version")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .output()
            .map_err(|error| format!("cannot run {}: {error}", path.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{} version exited with {}: {}{}",
                path.display(),
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let first_line = stdout.lines().next().unwrap_or_default();
        let (flavor, version) = parse_version_line(first_line).ok_or_else(|| {
            format!(
                "{} version printed {first_line:?}, not \"Terraform vX.Y.Z\" or \"OpenTofu vX.Y.Z\"",
                path.display()
            )
        })?;
        Ok(TerraformCli {
            path: path.to_path_buf(),
            flavor,
            version,
        })
    }

    /// `(major, minor, patch)`; pre-release suffixes are ignored.
    pub fn version_tuple(&self) -> (u64, u64, u64) {
        parse_version_numbers(&self.version).unwrap_or((0, 0, 0))
    }

    /// True when this CLI's version is at least `major.minor`.
    pub fn at_least(&self, major: u64, minor: u64) -> bool {
        let (have_major, have_minor, _) = self.version_tuple();
        (have_major, have_minor) >= (major, minor)
    }

    /// The provider address this CLI gives `source = "tfws/workspace"`.
    pub fn provider_address(&self) -> &'static str {
        match self.flavor {
            CliFlavor::Terraform => super::TERRAFORM_PROVIDER_ADDRESS,
            CliFlavor::OpenTofu => super::OPENTOFU_PROVIDER_ADDRESS,
        }
    }

    /// The registry host this CLI uses for unqualified sources.
    pub fn registry_host(&self) -> &'static str {
        match self.flavor {
            CliFlavor::Terraform => "registry.terraform.io",
            CliFlavor::OpenTofu => "registry.opentofu.org",
        }
    }
}

impl fmt::Display for TerraformCli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.flavor {
            CliFlavor::Terraform => "terraform",
            CliFlavor::OpenTofu => "tofu",
        };
        write!(f, "{name} {} ({})", self.version, self.path.display())
    }
}

/// Parses `Terraform v1.0.3` / `OpenTofu v1.8.0` (the first line of `version`).
pub fn parse_version_line(line: &str) -> Option<(CliFlavor, String)> {
    let mut words = line.split_whitespace();
    let flavor = match words.next()? {
        "Terraform" => CliFlavor::Terraform,
        "OpenTofu" => CliFlavor::OpenTofu,
        _ => return None,
    };
    let version = words.next()?.strip_prefix('v')?;
    parse_version_numbers(version)?;
    Some((flavor, version.to_string()))
}

fn parse_version_numbers(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next()??;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// Terraform 1.0.3, the CLI every test runs against. Panics with instructions when it cannot be
/// found, installed or run.
pub fn terraform_1_0_3() -> TerraformCli {
    static CLI: OnceLock<TerraformCli> = OnceLock::new();
    CLI.get_or_init(|| match locate_terraform_1_0_3() {
        Ok(cli) => cli,
        Err(message) => panic!(
            "a real Terraform 1.0.3 is required for these tests and could not be used: {message}\n\
             Run `bash scripts/install-terraform.sh` (or `bash scripts/test.sh`), or set \
             TFWS_TERRAFORM_1_0_3 to a Terraform 1.0.3 binary."
        ),
    })
    .clone()
}

fn locate_terraform_1_0_3() -> Result<TerraformCli, String> {
    let path = if let Some(path) = std::env::var_os("TFWS_TERRAFORM_1_0_3") {
        PathBuf::from(path)
    } else {
        let in_repo = repo_root().join(".tools/terraform-1.0.3/terraform");
        if in_repo.is_file() {
            in_repo
        } else {
            run_install_script()?
        }
    };
    let cli = TerraformCli::probe(&path)?;
    if cli.flavor != CliFlavor::Terraform || cli.version != "1.0.3" {
        return Err(format!("{} is {cli}, not Terraform 1.0.3", path.display()));
    }
    Ok(cli)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_install_script() -> Result<PathBuf, String> {
    let script = repo_root().join("scripts/install-terraform.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|error| format!("cannot run {}: {error}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout.lines().last().unwrap_or_default().trim();
    if path.is_empty() {
        return Err(format!("{} printed no path", script.display()));
    }
    Ok(PathBuf::from(path))
}

/// Every CLI the tests iterate over: Terraform 1.0.3 first, then the others (see module docs).
/// Computed once per test process.
pub fn test_clis() -> Vec<TerraformCli> {
    static CLIS: OnceLock<Vec<TerraformCli>> = OnceLock::new();
    CLIS.get_or_init(discover_clis).clone()
}

fn discover_clis() -> Vec<TerraformCli> {
    let mut chosen = vec![terraform_1_0_3()];
    let mut seen_paths: HashSet<PathBuf> = chosen.iter().map(|cli| canonical(&cli.path)).collect();

    for name in explicitly_named_clis() {
        let path = find_executable(&name).unwrap_or_else(|| {
            panic!("the CLI {name:?} named by TF_ACC_CLI / TFWS_TEST_CLIS was not found")
        });
        let cli = TerraformCli::probe(&path).unwrap_or_else(|message| {
            panic!("the CLI named by TF_ACC_CLI / TFWS_TEST_CLIS: {message}")
        });
        if seen_paths.insert(canonical(&cli.path)) {
            chosen.push(cli);
        }
    }

    if std::env::var("TFWS_TEST_PATH_CLIS").as_deref() != Ok("0") {
        for name in ["terraform", "tofu"] {
            let Some(path) = find_executable(name) else {
                continue;
            };
            if !seen_paths.insert(canonical(&path)) {
                continue;
            }
            match TerraformCli::probe(&path) {
                Ok(cli) => {
                    let already = chosen
                        .iter()
                        .any(|other| other.flavor == cli.flavor && other.version == cli.version);
                    if !already {
                        chosen.push(cli);
                    }
                }
                // A broken CLI that nobody asked for is reported, not fatal.
                Err(message) => eprintln!("support::cli: ignoring {name} on PATH: {message}"),
            }
        }
    }
    chosen
}

fn explicitly_named_clis() -> Vec<String> {
    let mut names = Vec::new();
    for variable in ["TF_ACC_CLI", "TFWS_TEST_CLIS"] {
        if let Ok(value) = std::env::var(variable) {
            names.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_string),
            );
        }
    }
    names
}

/// A path containing `/` is taken as is; a bare name is looked up on `PATH`.
pub fn find_executable(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return is_executable(&path).then_some(path);
    }
    let search_path = std::env::var_os("PATH")?;
    std::env::split_paths(&search_path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
