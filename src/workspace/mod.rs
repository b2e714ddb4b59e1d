//! Huawei Cloud Workspace APP API client and simulator. Knows nothing about Terraform.
//!
//! - [`wire`]: request/response types, paths and header names shared by client and simulator.
//! - [`signing`]: `SDK-HMAC-SHA256` AK/SK signing and verification.
//! - [`endpoint`]: the base URL from region and cloud, or an override.
//! - [`client`]: configuration, authentication, one request with retries; `get_server`,
//!   `list_servers`.
//! - [`reboot`]: `Client::batch_reboot` for any number of servers.
//! - [`preflight`]: `Client::preflight`, the check of every server before the first reboot.
//! - [`wait`]: the waiting rules, options and results; `Client::wait_until_ready`.
//! - [`poller`]: the [`Poller`] one process shares between all its waits.
//! - [`error`]: typed errors.
//! - [`simulator`]: a local simulator of the API for tests and demos.

pub mod client;
pub mod endpoint;
pub mod error;
pub mod poller;
pub mod preflight;
pub mod readiness;
pub mod reboot;
pub mod retry;
pub mod signing;
pub mod simulator;
pub mod wait;
pub mod wire;

pub use client::{Auth, Client, ClientConfig};
pub use error::{ApiError, ClientError};
pub use poller::Poller;
pub use preflight::{Preflight, PreflightProblem, ProblemKind};
pub use reboot::{BatchFailure, RebootReport};
pub use wait::{ServerWait, WaitOptions, WaitOutcome, WaitReport};
pub use wire::{AppServer, ListQuery, RebootType};
