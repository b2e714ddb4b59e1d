//! Huawei Cloud Workspace APP API client and simulator. Knows nothing about Terraform.
//!
//! - [`wire`]: request/response types, paths and header names shared by client and simulator.
//! - [`credentials`]: the one credential type (AK/SK or IAM token) and its redaction rule.
//! - [`signing`]: `SDK-HMAC-SHA256` AK/SK signing and verification.
//! - [`endpoint`]: the base URL from region and cloud, or an override.
//! - [`client`]: configuration, authentication, one request with retries; `get_server`,
//!   `list_servers`.
//! - [`limiter`]: the process-wide request budgets, one per API, each slowed down by its own
//!   429s, and their counts.
//! - [`trust`]: trusted CAs (bundled, system, `SSL_CERT_FILE`/`SSL_CERT_DIR`) and certificate
//!   errors.
//! - [`reboot`]: `Client::batch_reboot` for any number of servers.
//! - [`preflight`]: `Client::preflight`, the check of every server before the first reboot.
//! - [`wait`]: the waiting rules, options and results; `Client::wait_until_ready`.
//! - [`poller`]: the [`Poller`] one process shares between all its waits.
//! - [`error`]: typed errors.
//! - [`fleet`]: server and group listings, maintenance mode, user sessions and logoff.
//! - [`readiness`]: what one server snapshot says: up, pending or a dead end.
//! - [`rollout`]: the rollout engine: pre-flight, waves, draining, waiting, one report.
//! - `simulator` (cargo feature `simulator`, off by default): a local simulator of the API
//!   for tests and demos, kept out of the provider's dependency graph.

pub mod client;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod fleet;
pub mod limiter;
pub mod poller;
pub mod preflight;
pub mod readiness;
pub mod reboot;
pub mod retry;
pub mod rollout;
pub mod signing;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod trust;
pub mod wait;
pub mod wire;

pub use client::{Client, ClientConfig};
pub use credentials::Credentials;
pub use error::{ApiError, ClientError};
pub use fleet::{BatchReport, LogoffNotice};
pub use limiter::{ApiBudgets, ApiStats, RateLimiter};
pub use poller::Poller;
pub use preflight::{Preflight, PreflightProblem, ProblemKind};
pub use reboot::{BatchFailure, RebootReport};
pub use rollout::{RolloutEvent, RolloutPlan, RolloutReport};
pub use trust::TrustRoots;
pub use wait::{ServerWait, WaitOptions, WaitOutcome, WaitReport};
pub use wire::{Api, AppServer, ListQuery, RebootType};
