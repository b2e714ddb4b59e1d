//! terraform-provider-workspace: a Terraform / OpenTofu provider that reboots Huawei Cloud
//! Workspace APP servers.
//!
//! Three layers that know nothing of each other's insides:
//! - [`protocol`]: the plugin protocol (handshake, AutoMTLS, tfplugin5/6, cty values). No Huawei.
//! - [`framework`]: typed values, attribute declarations, models and the registry a provider is
//!   written with. No gRPC, no Huawei.
//! - [`provider`]: provider configuration and the `workspace_app_server_reboot` resource. No gRPC, no HTTP.
//! - [`workspace`]: the Workspace APP HTTP API client and its local simulator. No Terraform.

pub mod framework;
pub mod protocol;
pub mod provider;
pub mod workspace;
