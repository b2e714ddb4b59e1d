//! The Terraform plugin protocol: everything between a `terraform` / `tofu` process and a
//! [`Provider`](provider::Provider) implementation. Knows nothing about Huawei Cloud.

pub(crate) mod convert;
pub mod cty;
pub mod diagnostics;
pub mod handshake;
pub mod logging;
pub mod proto;
pub mod provider;
pub mod runtime;
pub mod schema;
pub mod tls;
pub mod v5;
pub mod v6;
