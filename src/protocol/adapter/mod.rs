//! The RPCs tfplugin5 and tfplugin6 share, written once against whichever generated module is
//! in scope as `pb`.
//!
//! The two protocol versions carry the same messages, field for field, as distinct Rust types.
//! So that every conversion and every RPC is written once, `v5.rs` and `v6.rs` each include
//! this directory as a module of their own (`#[path = "adapter/mod.rs"] mod adapter;`) after
//! bringing into scope:
//!
//! - `pb`: their generated module (`proto::tfplugin5` or `proto::tfplugin6`);
//! - `messages`: the four message modules protocol 5 names differently, under their protocol 6
//!   names (`configure_provider`, `stop_provider`, `validate_resource_config`,
//!   `validate_data_resource_config`);
//! - `methods`: the gRPC method names of the five RPCs protocol 5 names differently.
//!
//! The code here may therefore only use what both versions have; what one version alone has
//! (v5's PrepareProviderConfig, v6's ValidateProviderConfig and state stores) stays in that
//! version's file. Each handler takes the shared [`ProviderCore`] and a request message and
//! returns the response message: the core does the work, the handler converts.

mod actions;
mod data_sources;
pub(super) mod diagnostics;
mod provider;
mod resources;
mod schema;
#[cfg(test)]
mod tests;
mod unoffered;
pub(super) mod values;

use super::{messages, methods, pb};
use crate::protocol::core::ProviderCore;
use crate::protocol::provider::Provider;
use crate::protocol::server::{server_streaming, unary, Call, Reply};
use std::sync::Arc;

/// The handler of each RPC both versions have, or `None` for any other method.
pub(super) fn route<P: Provider>(
    core: &Arc<ProviderCore<P>>,
    method: &str,
    call: Call,
) -> Option<Reply> {
    let core = Arc::clone(core);
    let reply = match method {
        "GetMetadata" => unary(call, core, provider::get_metadata),
        methods::GET_PROVIDER_SCHEMA => unary(call, core, provider::get_provider_schema),
        methods::CONFIGURE_PROVIDER => unary(call, core, provider::configure_provider),
        methods::STOP_PROVIDER => unary(call, core, provider::stop_provider),
        methods::VALIDATE_RESOURCE_CONFIG => unary(call, core, resources::validate_config),
        "UpgradeResourceState" => unary(call, core, resources::upgrade_state),
        "ReadResource" => unary(call, core, resources::read),
        "PlanResourceChange" => unary(call, core, resources::plan_change),
        "ApplyResourceChange" => unary(call, core, resources::apply_change),
        "ImportResourceState" => unary(call, core, resources::import_state),
        "MoveResourceState" => unary(call, core, resources::move_state),
        "GenerateResourceConfig" => unary(call, core, resources::generate_config),
        "GetResourceIdentitySchemas" => unary(call, core, resources::identity_schemas),
        "UpgradeResourceIdentity" => unary(call, core, resources::upgrade_identity),
        methods::VALIDATE_DATA_RESOURCE_CONFIG => unary(call, core, data_sources::validate_config),
        "ReadDataSource" => unary(call, core, data_sources::read),
        "ValidateActionConfig" => unary(call, core, actions::validate_config),
        "PlanAction" => unary(call, core, actions::plan),
        "InvokeAction" => server_streaming(call, core, actions::invoke),
        "ValidateEphemeralResourceConfig" => unary(call, core, unoffered::validate_ephemeral),
        "OpenEphemeralResource" => unary(call, core, unoffered::open_ephemeral),
        "RenewEphemeralResource" => unary(call, core, unoffered::renew_ephemeral),
        "CloseEphemeralResource" => unary(call, core, unoffered::close_ephemeral),
        "ValidateListResourceConfig" => unary(call, core, unoffered::validate_list),
        "ListResource" => server_streaming(call, core, unoffered::list),
        "GetFunctions" => unary(call, core, unoffered::get_functions),
        "CallFunction" => unary(call, core, unoffered::call_function),
        _ => return None,
    };
    Some(reply)
}
