//! A local simulator of the Workspace APP server API, speaking the same HTTP as the real
//! service: AK/SK signatures and tokens are verified, bodies validated, and servers answered
//! in the shape of Huawei's SDK model (every field, in its real JSON type: [`sdk`]). Reboots
//! walk through the real state sequence, the session agent included (`status` UNREGISTER
//! while rebooting and for `registering_ms` after the VM is back: [`servers`]). The list call
//! honours `server_id`, `server_group_id`, `server_name` / `machine_name` (partial match) and
//! `maintain_status`, answers `count` (every match, whatever the page) and refuses a `limit`
//! outside 1–100 with 400. Timestamps are RFC 3339 UTC with milliseconds
//! (`2024-03-07T10:40:43.858Z`).
//!
//! The fleet side ([`sessions`], served by `fleet_api`): maintenance mode (`batch-maint` and
//! the single-server `PATCH`; `status` MAINTAINING where REGISTERED stands; no new sessions),
//! user sessions per server that arrive, end by themselves (or never), end after a `logoff`
//! and its `delay_time`, or are **killed** by a reboot; `session_count` follows them;
//! `list-sessions` with its required time window, filters and paging; the server group
//! listing with `app_server_count`. Per server it records maintenance changes, reboots (with
//! the sessions each killed) and logoff messages, and over the fleet the most servers
//! unavailable at once ([`FleetReport`], `GET /_simulator/fleet`), also drawn as a text
//! timeline of waves, maintenance and reboots ([`timeline`], `GET /_simulator/timeline`).
//!
//! Dead ends and faults can be set up from the configuration, at runtime through the
//! [`SimulatorHandle`], over the control endpoints ([`control`]'s list) and with the
//! `workspace-simulator` flags: servers whose reboot ends in ERROR, frozen servers (a batch
//! naming one is refused), a quota per API (or per account; token buckets, 429 `APIG.0308`
//! with the gateway's message), "first N" throttling and 5xx, failing or hanging ids, busy
//! servers (a batch action naming one is answered 409 a set number of times), list answers
//! without `count`, latency and an in-flight cap. Every API request is logged ([`log`]) so
//! tests can count them by kind, and counted per API by the client's API names
//! ([`SimulatorHandle::requests_by_api`]; also in `GET /_simulator/state` and at the end of
//! `GET /_simulator/timeline`).
//!
//! Tests use it in-process through [`Simulator::start`]; the `workspace-simulator` binary
//! serves it to other processes. It is compiled only with the cargo feature `simulator`.
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
pub mod control;
pub mod errors;
mod fleet_api;
pub mod log;
pub mod sdk;
pub mod servers;
pub mod sessions;
mod state;
pub mod timeline;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

pub use auth::{authenticate, AuthError, AuthKind, Authenticated, ReceivedRequest};
pub use config::{
    BusyFault, CredentialsConfig, FailingIdsFault, FaultScope, Faults, QuotaFault, RebootTiming,
    ServerErrorFault, ServerGroupSpec, ServerSpec, SessionConfig, SimulatorConfig, ThrottleFault,
    DEFAULT_MAX_CLOCK_SKEW_SECS, DEFAULT_PROJECT_ID, DEFAULT_SERVER_GROUP_ID,
};
pub use log::{InjectedFault, Operation, RequestLogEntry};
pub use servers::{FreezeEntry, RebootPhase, ServerSnapshot, ServerTableError, StatusOverride};
pub use sessions::{FleetReport, LogoffMessage, MaintenanceChange, RebootEvent, ServerHistory};
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
        let mut servers = servers::ServerTable::with_sessions(
            config.server_specs(),
            config.sessions,
            OffsetDateTime::now_utc(),
        )?;
        for group in &config.server_groups {
            if let Some(name) = &group.name {
                servers.set_group_name(&group.id, name);
            }
        }
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

    /// How many logged API requests were of kind `operation`.
    pub fn request_count(&self, operation: Operation) -> usize {
        self.shared
            .log
            .entries()
            .iter()
            .filter(|entry| entry.operation == operation)
            .count()
    }

    /// API requests per API since the simulator started, by the client's API names
    /// (`list-servers`, `show-server`, `batch-reboot`, …; see
    /// [`Api::name`](crate::workspace::wire::Api::name)). Not emptied by `clear_requests`.
    pub fn requests_by_api(&self) -> BTreeMap<String, u64> {
        self.shared.lock().counters.requests_by_api.clone()
    }

    /// Of [`SimulatorHandle::requests_by_api`], those answered 429, per API.
    pub fn throttled_by_api(&self) -> BTreeMap<String, u64> {
        self.shared.lock().counters.throttled_by_api.clone()
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

    /// Sets (or with `None` removes) the quota, with full buckets; other faults keep their
    /// budgets.
    pub fn set_quota(&self, quota: Option<QuotaFault>) {
        self.shared.lock().set_quota(quota);
    }

    /// Makes these servers end their next reboot in `vm_status` ERROR (replacing the list).
    pub fn set_error_after_reboot(&self, ids: &[&str]) {
        // Only this list changes: the other faults' budgets keep running.
        self.shared
            .lock()
            .set_error_after_reboot(ids.iter().map(|id| (*id).to_owned()).collect());
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

    /// Adds `count` generated servers (`srv-NNNN`) to group `server_group_id`; their ids.
    pub fn add_group(&self, server_group_id: &str, count: u32) -> Vec<String> {
        self.shared
            .lock()
            .servers
            .add_generated(server_group_id, count, OffsetDateTime::now_utc())
    }

    /// Availability (the most servers unavailable at once), sessions (open, killed by
    /// reboots, logged off, ended) and every server's maintenance, reboot and logoff history.
    pub fn fleet_report(&self) -> FleetReport {
        self.shared
            .lock()
            .servers
            .fleet_report(OffsetDateTime::now_utc())
    }

    /// Replaces the session rules from now on.
    pub fn set_sessions(&self, sessions: SessionConfig) {
        self.shared
            .lock()
            .servers
            .set_session_config(sessions, OffsetDateTime::now_utc());
    }

    /// Names a server group (`name` in the group listing, `server_group_name` of servers).
    pub fn set_group_name(&self, server_group_id: &str, name: &str) {
        self.shared
            .lock()
            .servers
            .set_group_name(server_group_id, name);
    }

    /// Puts a server into maintenance mode or takes it out, as `batch-maint` does.
    pub fn set_maintenance(&self, id: &str, maintain_status: bool) -> Result<(), SimulatorError> {
        self.shared
            .lock()
            .servers
            .set_maintenance(id, maintain_status, OffsetDateTime::now_utc())
            .ok_or_else(|| SimulatorError::UnknownServer(id.to_owned()))
    }

    /// Freezes a server for arrears (see [`StatusOverride::frozen`]).
    pub fn freeze_server(&self, id: &str) -> Result<(), SimulatorError> {
        self.set_server_status(id, StatusOverride::frozen())
    }

    /// Makes a server healthy again: REGISTERED, ACTIVE, idle, not frozen.
    pub fn repair_server(&self, id: &str) -> Result<(), SimulatorError> {
        self.set_server_status(id, StatusOverride::repaired())
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
