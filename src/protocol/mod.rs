//! The Terraform plugin protocol: everything between a `terraform` / `tofu` process and a
//! [`Provider`](provider::Provider) implementation. Knows nothing about Huawei Cloud.

pub mod cty;
pub mod handshake;
pub mod logging;
pub mod tls;
pub mod diagnostics;
pub mod provider;
pub mod schema;
pub mod proto;
pub(crate) mod convert;
pub mod v5;
pub mod v6;
pub mod runtime;
