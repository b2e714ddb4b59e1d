//! Huawei Cloud Workspace APP API client and simulator. Knows nothing about Terraform.
//!
//! - [`wire`]: request/response types, paths and header names shared by client and simulator.
//! - [`signing`]: `SDK-HMAC-SHA256` AK/SK signing and verification.

pub mod signing;
pub mod wire;
pub mod simulator;
