//! A local simulator of the Workspace APP server API, speaking the same HTTP as the real
//! service: AK/SK signatures and tokens are verified, bodies validated, reboots walk through
//! the real state sequence, and faults (latency, throttling, 5xx, failing or hanging ids, an
//! in-flight cap) can be injected. Tests use it in-process through [`Simulator::start`]; the
//! `workspace-simulator` binary serves it to other processes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tfws::workspace::simulator::SimulatorError> {
//! use tfws::workspace::simulator::{Simulator, SimulatorConfig};
//! let config: SimulatorConfig = serde_json::from_str(
//!     r#"{"server_count": 3, "credentials": {"access_keys": [{"access_key": "AK", "secret_key": "SK"}]}}"#,
//! ).expect("valid config");
//! let simulator = Simulator::start(config).await?;
//! println!("{}", simulator.base_url());
//! simulator.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
pub mod auth;
pub mod config;
mod control;
pub mod errors;
pub mod log;
pub mod servers;
mod state;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

pub use auth::{authenticate, AuthError, AuthKind, Authenticated, ReceivedRequest};
pub use config::{
    CredentialsConfig, FailingIdsFault, FaultScope, Faults, RebootTiming, ServerErrorFault,
    ServerSpec, SimulatorConfig, ThrottleFault, DEFAULT_MAX_CLOCK_SKEW_SECS, DEFAULT_PROJECT_ID,
    DEFAULT_SERVER_GROUP_ID,
};
pub use log::{InjectedFault, Operation, RequestLogEntry};
pub use servers::{RebootPhase, ServerSnapshot, ServerTableError, StatusOverride};
pub use state::{RequestCounters, SimulatorState};

use state::{Inner, Shared};

#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the request log file {path}: {source}")]
    RequestLog {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("invalid server list: {0}")]
    Servers(#[from] ServerTableError),
    #[error("no server with id {0:?}")]
    UnknownServer(String),
}

/// Entry point: starts simulators.
pub struct Simulator;

impl Simulator {
    /// Serves `config` on a free port of 127.0.0.1.
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle, SimulatorError> {
        Self::start_on_port(config, 0).await
    }

    /// Serves `config` on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start_on_port(
        config: SimulatorConfig,
        port: u16,
    ) -> Result<SimulatorHandle, SimulatorError> {
        let servers = servers::ServerTable::new(config.server_specs(), OffsetDateTime::now_utc())?;
        let request_log =
            log::RequestLog::with_file(config.request_log.as_deref()).map_err(|source| {
                SimulatorError::RequestLog {
                    path: config.request_log.clone().unwrap_or_default(),
                    source,
                }
            })?;
        let inner = Inner::new(
            config.project_id.clone(),
            config.credentials.clone(),
            config.reboot,
            config.max_clock_skew(),
            servers,
            config.faults.clone(),
        );
        let shared = Arc::new(Shared::new(inner, request_log));

        let wanted = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(wanted)
            .await
            .map_err(|source| SimulatorError::Bind {
                addr: wanted,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimulatorError::Bind {
                addr: wanted,
                source,
            })?;

        let app: Router = control::router()
            .fallback(api::handle)
            .with_state(Arc::clone(&shared));
        let stop = shared.shutdown.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the simulator stopped serving");
            }
        });
        tracing::info!(%addr, "workspace simulator listening");
        Ok(SimulatorHandle {
            addr,
            shared,
            server: Some(server),
        })
    }
}

/// A running simulator. Dropping it stops the server (without waiting); prefer
/// [`SimulatorHandle::shutdown`].
pub struct SimulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash): the base URL to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn project_id(&self) -> String {
        self.shared.lock().project_id.clone()
    }

    /// Servers (state evaluated now), counters, in-flight figures, faults.
    pub fn state(&self) -> SimulatorState {
        self.shared.snapshot()
    }

    /// One server as it is now.
    pub fn server(&self, id: &str) -> Option<ServerSnapshot> {
        self.shared
            .lock()
            .servers
            .get(id, OffsetDateTime::now_utc())
    }

    /// Reboots accepted per server id.
    pub fn reboot_counts(&self) -> BTreeMap<String, u64> {
        self.state().reboot_counts()
    }

    /// Every API request so far, in the order they finished (hanging ones when they began
    /// hanging); `seq` gives arrival order.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.shared.log.entries()
    }

    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// The most API requests ever in flight at once.
    pub fn peak_in_flight(&self) -> u32 {
        self.state().peak_in_flight
    }

    pub fn faults(&self) -> Faults {
        self.shared.lock().faults().clone()
    }

    /// Replaces the faults; "first N" budgets start over.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().set_faults(faults);
    }

    /// Applies to reboots accepted from now on.
    pub fn set_reboot_timing(&self, timing: RebootTiming) {
        self.shared.lock().timing = timing;
    }

    pub fn set_credentials(&self, credentials: CredentialsConfig) {
        self.shared.lock().credentials = credentials;
    }

    /// `None` turns the `X-Sdk-Date` freshness check off.
    pub fn set_max_clock_skew(&self, max_clock_skew: Option<Duration>) {
        self.shared.lock().max_clock_skew = max_clock_skew;
    }

    pub fn add_server(&self, spec: ServerSpec) -> Result<(), SimulatorError> {
        self.shared
            .lock()
            .servers
            .add(spec, OffsetDateTime::now_utc())
            .map_err(SimulatorError::from)
    }

    /// Forces status fields of a server (cancelling a reboot in progress), e.g.
    /// [`StatusOverride::error`].
    pub fn set_server_status(
        &self,
        id: &str,
        change: StatusOverride,
    ) -> Result<(), SimulatorError> {
        let found =
            self.shared
                .lock()
                .servers
                .override_status(id, &change, OffsetDateTime::now_utc());
        if found {
            Ok(())
        } else {
            Err(SimulatorError::UnknownServer(id.to_owned()))
        }
    }

    /// Stops accepting connections, releases hanging requests and waits for the server task.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(server) = self.server.take() {
            if let Err(error) = server.await {
                tracing::warn!(%error, "the simulator task ended abnormally");
            }
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}
