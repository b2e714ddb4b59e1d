//! The Terraform plugin protocol: everything between a `terraform` / `tofu` process and a
//! [`Provider`](provider::Provider) implementation. Knows nothing about Huawei Cloud.
//!
//! - [`provider`]: the `Provider` trait a provider implements, in decoded values;
//! - [`core`]: what every RPC does whatever the protocol version (types, decoding, encoding,
//!   unknown type names, running actions);
//! - [`v5`], [`v6`]: the two gRPC services, sharing one implementation of each RPC;
//! - [`server`]: the tower service both versions are served through;
//! - [`runtime`]: the go-plugin process around them (handshake, TLS, side services);
//! - [`testing`]: a small provider for tests.

pub mod core;
pub mod cty;
pub mod diagnostics;
pub mod handshake;
pub mod logging;
pub mod proto;
pub mod provider;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod testing;
pub mod tls;
pub mod v5;
pub mod v6;
