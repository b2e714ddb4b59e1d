//! The Workspace APP simulator running in the test process, on a runtime of its own.
//!
//! Why a runtime of its own: the harness runs `terraform` synchronously, blocking the calling
//! thread for seconds. A simulator served by the test's own (current-thread) runtime would then
//! stall and the apply would hang. With this helper end-to-end tests are plain `#[test]`
//! functions, and they also work inside `#[tokio::test]`.

use std::ops::Deref;

use tfws::workspace::simulator::{RebootTiming, Simulator, SimulatorConfig, SimulatorHandle};
use tfws::workspace::Credentials;

/// Credentials a test simulator accepts, and the matching provider environment.
pub const TEST_ACCESS_KEY: &str = "TESTACCESSKEY0000001";
pub const TEST_SECRET_KEY: &str = "test-secret-key-never-logged-7d1e";

pub struct LocalSimulator {
    runtime: Option<tokio::runtime::Runtime>,
    handle: Option<SimulatorHandle>,
}

impl LocalSimulator {
    /// Starts a simulator with `config` on 127.0.0.1 (a free port).
    pub fn start(config: SimulatorConfig) -> LocalSimulator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-simulator")
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("cannot build the simulator's runtime: {error}"));
        // Entered from a fresh thread so that this also works inside a tokio test.
        let (runtime, handle) = std::thread::spawn(move || {
            let handle = runtime.block_on(Simulator::start(config));
            (runtime, handle)
        })
        .join()
        .unwrap_or_else(|_| panic!("starting the simulator panicked"));
        let handle = handle.unwrap_or_else(|error| panic!("cannot start the simulator: {error}"));
        LocalSimulator {
            runtime: Some(runtime),
            handle: Some(handle),
        }
    }

    /// A simulator with `server_count` servers (`srv-0001`, …) accepting [`TEST_ACCESS_KEY`] /
    /// [`TEST_SECRET_KEY`], whose reboots take `pending_ms` + `rebooting_ms`.
    pub fn with_servers(server_count: u32, timing: RebootTiming) -> LocalSimulator {
        let mut config = SimulatorConfig {
            server_count,
            reboot: timing,
            ..SimulatorConfig::default()
        };
        config
            .credentials
            .access_keys
            .push(Credentials::ak_sk(TEST_ACCESS_KEY, TEST_SECRET_KEY));
        LocalSimulator::start(config)
    }

    /// `HW_*` variables pointing the provider at this simulator with AK/SK, polling fast.
    /// Pass them to `terraform` (or, in reattach mode, to the provider process).
    pub fn provider_env(&self) -> Vec<(String, String)> {
        [
            ("HW_WORKSPACE_ENDPOINT", self.base_url()),
            ("HW_PROJECT_ID", self.project_id()),
            ("HW_ACCESS_KEY", TEST_ACCESS_KEY.to_string()),
            ("HW_SECRET_KEY", TEST_SECRET_KEY.to_string()),
            ("HW_WORKSPACE_POLL_INTERVAL", "100ms".to_string()),
            // The simulator has no quota unless a test gives it one.
            ("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", "1000".to_string()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
    }
}

/// Borrows `(String, String)` pairs as the `&[(&str, &str)]` the workdir methods take.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

impl Deref for LocalSimulator {
    type Target = SimulatorHandle;

    fn deref(&self) -> &SimulatorHandle {
        match &self.handle {
            Some(handle) => handle,
            None => unreachable!("the handle is only taken in drop"),
        }
    }
}

impl Drop for LocalSimulator {
    fn drop(&mut self) {
        let (Some(runtime), Some(handle)) = (self.runtime.take(), self.handle.take()) else {
            return;
        };
        // A fresh thread again: block_on must not run inside another runtime.
        let stopped = std::thread::spawn(move || {
            runtime.block_on(handle.shutdown());
            runtime.shutdown_background();
        })
        .join();
        if stopped.is_err() && !std::thread::panicking() {
            panic!("stopping the simulator panicked");
        }
    }
}
