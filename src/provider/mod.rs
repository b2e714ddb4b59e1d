//! The workspace provider: configuration and the `workspace_app_server_reboot` resource.

pub mod config;
pub mod duration;
pub mod environment;
pub mod schema;
mod values;
