//! `workspace-simulator`: serves the local Workspace APP API simulator until SIGTERM/SIGINT.
//!
//! The first line on stdout is `listening on http://127.0.0.1:PORT`, so a parent process can
//! read the address (with `--port 0`, the default, the port is picked freely).
//!
//! Built only with the cargo feature `simulator`
//! (`cargo build --features simulator --bin workspace-simulator`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tfws::workspace::simulator::{
    FailingIdsFault, QuotaFault, ServerGroupSpec, ServerSpec, Simulator, SimulatorConfig,
    SimulatorError,
};
use tfws::workspace::Credentials;

/// `ID=NAME`.
fn parse_group_name(text: &str) -> Result<(String, String), String> {
    let (id, name) = text
        .split_once('=')
        .ok_or_else(|| format!("expected GROUP=NAME, got {text:?}"))?;
    if id.is_empty() || name.is_empty() {
        return Err(format!("the group id or name in {text:?} is empty"));
    }
    Ok((id.to_owned(), name.to_owned()))
}

/// `--session-lifetime-ms`: milliseconds, or `never` (`None`).
#[derive(Clone, Copy, Debug)]
struct Lifetime(Option<u64>);

fn parse_lifetime(text: &str) -> Result<Lifetime, String> {
    if text.eq_ignore_ascii_case("never") {
        return Ok(Lifetime(None));
    }
    text.parse::<u64>()
        .map(|ms| Lifetime(Some(ms)))
        .map_err(|_| format!("expected milliseconds or \"never\", got {text:?}"))
}

/// `GROUP=N`.
fn parse_group(text: &str) -> Result<ServerGroupSpec, String> {
    let (id, count) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("expected GROUP=N, got {text:?}"))?;
    if id.is_empty() {
        return Err(format!("the group id in {text:?} is empty"));
    }
    let server_count = count
        .parse::<u32>()
        .map_err(|_| format!("the server count in {text:?} is not a number"))?;
    Ok(ServerGroupSpec {
        id: id.to_owned(),
        name: None,
        server_count,
    })
}

const AFTER_HELP: &str = "\
Reboot phases: pending (ACTIVE, task reboot_pending) for --pending-ms, rebooting (REBOOT, status \
UNREGISTER) for --rebooting-ms, then the VM is back but the session agent registers only after \
--registering-ms (status UNREGISTER, then REGISTERED).

Control endpoints (no authentication), for tests driving the simulator from another process:
  GET    /_simulator/state                 servers, counters, faults, timing
  GET    /_simulator/requests              the request log; DELETE empties it
  GET    /_simulator/faults                PUT replaces them (JSON Faults: quota, throttle,
                                           server_errors, failing_ids, hang_ids,
                                           error_after_reboot_ids, latency_ms, max_in_flight,
                                           unchanged_after_accept_ms, failing_maint_ids,
                                           ignore_logoff, busy_ids {\"ids\", \"times\"},
                                           list_without_count)
  PUT    /_simulator/quota                 {\"limit\": N, \"period_secs\": 1, \"per_api\": true}
                                           or null
  PUT    /_simulator/reboot-timing         {\"pending_ms\", \"rebooting_ms\", \"registering_ms\"}
  POST   /_simulator/servers               a server: \"id\" or {\"id\", \"server_group_id\", \"frozen\", ...}
  POST   /_simulator/groups                {\"id\": GROUP, \"server_count\": N} -> the new ids
  GET    /_simulator/fleet                 most servers unavailable at once, sessions
                                           open/killed/logged off/ended, per-server
                                           maintenance, reboots and logoff messages
  GET    /_simulator/timeline[?width=N]    the same as a text timeline: waves, maintenance
                                           on/off, logoff messages, reboots, sessions killed
  GET    /_simulator/sessions              PUT replaces the session rules (per_server,
                                           lifetime_ms, arrival_ms, max_per_server,
                                           logoff_second_ms)
  POST   /_simulator/servers/{id}/status   {\"status\", \"vm_status\", \"task_status\", \"freeze\": [],
                                           \"maintain_status\", \"session_count\"}";

#[derive(Debug, Parser)]
#[command(
    name = "workspace-simulator",
    version,
    about = "Local simulator of the Huawei Cloud Workspace APP server API",
    after_help = AFTER_HELP
)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// JSON SimulatorConfig; the other flags override or extend it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Generate this many servers srv-0001, srv-0002, ...
    #[arg(long, value_name = "N")]
    servers: Option<u32>,
    /// Add a server with this id (repeatable).
    #[arg(long = "server-id", value_name = "ID")]
    server_ids: Vec<String>,
    /// Generate N servers in server group GROUP (repeatable; ids continue srv-NNNN).
    #[arg(long = "group", value_name = "GROUP=N", value_parser = parse_group)]
    groups: Vec<ServerGroupSpec>,
    /// Freeze this server (for arrears) at start: status FREEZE, a batch naming it is refused
    /// (repeatable).
    /// Name a server group (repeatable): its `name` in the group listing.
    #[arg(long = "group-name", value_name = "GROUP=NAME", value_parser = parse_group_name)]
    group_names: Vec<(String, String)>,
    /// Open user sessions on every server at start.
    #[arg(long, value_name = "N")]
    sessions_per_server: Option<u32>,
    /// A session ends by itself this long after it started (`never`: it does not).
    #[arg(long, value_name = "MS|never", value_parser = parse_lifetime)]
    session_lifetime_ms: Option<Lifetime>,
    /// A new session arrives on every server accepting sessions this often.
    #[arg(long, value_name = "MS")]
    session_arrival_ms: Option<u64>,
    /// Arrivals stop while a server holds this many sessions (default 10).
    #[arg(long, value_name = "N")]
    max_sessions_per_server: Option<u32>,
    /// How long one second of a logoff's delay_time lasts (default 1000).
    #[arg(long, value_name = "MS")]
    logoff_second_ms: Option<u64>,
    /// A maintenance-mode change naming this server fails with 500 (repeatable).
    #[arg(long = "failing-maint-id", value_name = "ID")]
    failing_maint_ids: Vec<String>,
    /// Answer logoff with 200 but log nobody off.
    #[arg(long)]
    ignore_logoff: bool,
    #[arg(long = "frozen-id", value_name = "ID")]
    frozen_ids: Vec<String>,
    /// This server's next reboot ends in vm_status ERROR (repeatable).
    #[arg(long = "error-after-reboot-id", value_name = "ID")]
    error_after_reboot_ids: Vec<String>,
    /// Reboot phase: still ACTIVE with task_status reboot_pending, in milliseconds.
    #[arg(long, value_name = "MS")]
    pending_ms: Option<u64>,
    /// Reboot phase: vm_status REBOOT / HARD_REBOOT, in milliseconds.
    #[arg(long, value_name = "MS")]
    rebooting_ms: Option<u64>,
    /// Agent-registration delay: after the VM is back, status stays UNREGISTER this long.
    #[arg(long, value_name = "MS")]
    registering_ms: Option<u64>,
    /// After a reboot is accepted the server shows its old state this long.
    #[arg(long, value_name = "MS")]
    unchanged_after_accept_ms: Option<u64>,
    /// Quota: N API requests per --quota-period-secs for each API (token bucket per API, as
    /// Huawei's gateway counts), then 429 APIG.0308.
    #[arg(long, value_name = "N")]
    quota: Option<u32>,
    /// The quota's period in seconds (1 or 60 as the gateway words it).
    #[arg(long, value_name = "SECS", default_value_t = 1, requires = "quota")]
    quota_period_secs: u64,
    /// One quota bucket for all APIs of the account instead of one per API.
    #[arg(long, requires = "quota")]
    quota_per_account: bool,
    /// Added to every API request before it is answered.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// More API requests than this in flight at once are answered 429.
    #[arg(long, value_name = "N")]
    max_in_flight: Option<u32>,
    #[arg(long)]
    project_id: Option<String>,
    /// Accept AK/SK signatures with this access key (needs --secret-key).
    #[arg(long, env = "SIMULATOR_ACCESS_KEY", requires = "secret_key")]
    access_key: Option<String>,
    #[arg(
        long,
        env = "SIMULATOR_SECRET_KEY",
        hide_env_values = true,
        requires = "access_key"
    )]
    secret_key: Option<String>,
    /// Makes the --access-key pair temporary: requests must carry this X-Security-Token.
    #[arg(
        long,
        env = "SIMULATOR_SECURITY_TOKEN",
        hide_env_values = true,
        requires = "access_key"
    )]
    security_token: Option<String>,
    /// Accept this IAM token in X-Auth-Token (repeatable).
    #[arg(long = "token", env = "SIMULATOR_AUTH_TOKEN", hide_env_values = true)]
    tokens: Vec<String>,
    /// Append every API request to this file as a JSON line.
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid simulator configuration in {path}: {source}")]
    ParseConfig {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Simulator(#[from] SimulatorError),
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("cannot wait for signals: {0}")]
    Signals(std::io::Error),
}

fn load_config(args: &Args) -> Result<SimulatorConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadConfig {
                path: path.clone(),
                source,
            })?;
            serde_json::from_str(&text).map_err(|source| CliError::ParseConfig {
                path: path.clone(),
                source,
            })?
        }
        None => SimulatorConfig::default(),
    };
    if let Some(project_id) = &args.project_id {
        config.project_id = project_id.clone();
    }
    if let Some(count) = args.servers {
        config.server_count = count;
    }
    config
        .servers
        .extend(args.server_ids.iter().cloned().map(ServerSpec::with_id));
    config.server_groups.extend(args.groups.iter().cloned());
    for (id, name) in &args.group_names {
        match config
            .server_groups
            .iter_mut()
            .find(|group| group.id == *id)
        {
            Some(group) => group.name = Some(name.clone()),
            None => config.server_groups.push(ServerGroupSpec {
                id: id.clone(),
                name: Some(name.clone()),
                server_count: 0,
            }),
        }
    }
    if !args.failing_maint_ids.is_empty() {
        config.faults.failing_maint_ids = Some(FailingIdsFault {
            ids: args.failing_maint_ids.clone(),
            status: 500,
            error_code: None,
            error_msg: None,
        });
    }
    if args.ignore_logoff {
        config.faults.ignore_logoff = true;
    }
    if let Some(n) = args.sessions_per_server {
        config.sessions.per_server = n;
    }
    if let Some(Lifetime(lifetime)) = args.session_lifetime_ms {
        config.sessions.lifetime_ms = lifetime;
    }
    if let Some(ms) = args.session_arrival_ms {
        config.sessions.arrival_ms = Some(ms);
    }
    if let Some(n) = args.max_sessions_per_server {
        config.sessions.max_per_server = n;
    }
    if let Some(ms) = args.logoff_second_ms {
        config.sessions.logoff_second_ms = ms;
    }
    if let Some(ms) = args.pending_ms {
        config.reboot.pending_ms = ms;
    }
    if let Some(ms) = args.rebooting_ms {
        config.reboot.rebooting_ms = ms;
    }
    if let Some(ms) = args.registering_ms {
        config.reboot.registering_ms = ms;
    }
    if let Some(ms) = args.unchanged_after_accept_ms {
        config.faults.unchanged_after_accept_ms = ms;
    }
    if let Some(limit) = args.quota {
        config.faults.quota = Some(QuotaFault {
            limit,
            period_secs: args.quota_period_secs,
            retry_after_secs: None,
            per_api: !args.quota_per_account,
        });
    }
    if let Some(ms) = args.latency_ms {
        config.faults.latency_ms = ms;
    }
    if let Some(cap) = args.max_in_flight {
        config.faults.max_in_flight = Some(cap);
    }
    config
        .faults
        .error_after_reboot_ids
        .extend(args.error_after_reboot_ids.iter().cloned());
    if let (Some(access_key), Some(secret_key)) = (&args.access_key, &args.secret_key) {
        let mut credential = Credentials::ak_sk(access_key.clone(), secret_key.clone());
        if let Some(token) = &args.security_token {
            credential = credential.with_security_token(token.clone());
        }
        config.credentials.access_keys.push(credential);
    }
    config
        .credentials
        .iam_tokens
        .extend(args.tokens.iter().cloned().map(Credentials::Token));
    if let Some(path) = &args.request_log {
        config.request_log = Some(path.clone());
    }
    Ok(config)
}

async fn wait_for_stop_signal() -> Result<(), CliError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(CliError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::Signals)?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), CliError> {
    let config = load_config(&args)?;
    let simulator = Simulator::start_on_port(config, args.port).await?;
    for id in &args.frozen_ids {
        simulator.freeze_server(id)?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", simulator.base_url()).map_err(CliError::Stdout)?;
        stdout.flush().map_err(CliError::Stdout)?;
    }
    wait_for_stop_signal().await?;
    simulator.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("workspace-simulator: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("workspace-simulator: {error}");
            ExitCode::FAILURE
        }
    }
}
