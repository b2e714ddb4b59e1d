//! The provider plugin binary. Terraform and OpenTofu start it and talk gRPC to it; run by hand
//! it explains that, unless asked for debug mode.

use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use tfws::protocol::handshake::HandshakeError;
use tfws::protocol::logging;
use tfws::protocol::runtime::{self, PluginEnvironment, ServeError};
use tfws::provider::WorkspaceProvider;

/// The source address users write in `required_providers`, used in debug mode's reattach value.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/tfws/workspace";

/// What `--version` prints after the program name: the crate version and the git commit the
/// binary was built from (`unknown` outside a git checkout; see `build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("TFWS_GIT_COMMIT"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    version = VERSION,
    about = "Terraform / OpenTofu provider for Huawei Cloud Workspace APP servers"
)]
struct Cli {
    /// Serve plaintext gRPC for a debugger and print the TF_REATTACH_PROVIDERS value to use.
    #[arg(long)]
    debug: bool,

    /// Plugin protocol served in debug mode (6, or 5 for older CLIs).
    #[arg(long, default_value_t = 6, requires = "debug", value_parser = clap::value_parser!(u32).range(5..=6))]
    protocol_version: u32,

    /// Provider source address printed in the TF_REATTACH_PROVIDERS value.
    #[arg(long, default_value = PROVIDER_ADDRESS, requires = "debug")]
    provider_address: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init_from_env();
    // One thread is plenty: every call is I/O-bound (gRPC in, HTTPS out), and each extra
    // worker costs start-up time and resident memory in every provider process Terraform starts.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let provider = Arc::new(WorkspaceProvider::default());
    let result = runtime.block_on(async {
        if cli.debug {
            runtime::serve_debug(provider, &cli.provider_address, cli.protocol_version).await
        } else {
            runtime::serve(provider, PluginEnvironment::from_process()).await
        }
    });
    // Don't wait for stragglers (an in-flight apply already told to stop): Terraform is gone.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::Handshake(HandshakeError::NotStartedByTerraform)) => {
            eprintln!("{}", tfws::protocol::handshake::NOT_A_PLUGIN_MESSAGE);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
