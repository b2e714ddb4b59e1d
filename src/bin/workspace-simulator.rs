//! `workspace-simulator`: serves the local Workspace APP API simulator until SIGTERM/SIGINT.
//!
//! The first line on stdout is `listening on http://127.0.0.1:PORT`, so a parent process can
//! read the address (with `--port 0`, the default, the port is picked freely).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tfws::workspace::simulator::{ServerSpec, Simulator, SimulatorConfig, SimulatorError};
use tfws::workspace::Credentials;

#[derive(Debug, Parser)]
#[command(
    name = "workspace-simulator",
    version,
    about = "Local simulator of the Huawei Cloud Workspace APP server API"
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
