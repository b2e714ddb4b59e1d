//! Protocol 5 (Terraform 0.12 and later; chosen by clients without 6): the
//! `tfplugin5.Provider` service.
//!
//! The RPCs both versions share are answered by the shared `adapter` over this version's
//! generated messages, with protocol 5's message and method names mapped to protocol 6's; this
//! file adds protocol 5's only RPC of its own, PrepareProviderConfig.

use crate::protocol::core::ProviderCore;
use crate::protocol::provider::Provider;
use crate::protocol::server::{unary, Call, Protocol, Reply};
use adapter::diagnostics::diagnostics;
use adapter::values::wire;
use std::sync::Arc;

pub use crate::protocol::proto::tfplugin5 as pb;

// The adapter is compiled once per protocol version, against that version's `pb`: loading
// the same files twice is the point, not the mistake clippy's `duplicate_mod` looks for.
#[allow(clippy::duplicate_mod)]
#[path = "adapter/mod.rs"]
mod adapter;

/// Protocol 5's message modules, under the protocol 6 names the shared adapter uses.
mod messages {
    pub(super) use super::pb::configure as configure_provider;
    pub(super) use super::pb::stop as stop_provider;
    pub(super) use super::pb::validate_data_source_config as validate_data_resource_config;
    pub(super) use super::pb::validate_resource_type_config as validate_resource_config;
}

/// Protocol 5's method names for the RPCs protocol 6 renamed.
mod methods {
    pub(super) const GET_PROVIDER_SCHEMA: &str = "GetSchema";
    pub(super) const VALIDATE_RESOURCE_CONFIG: &str = "ValidateResourceTypeConfig";
    pub(super) const VALIDATE_DATA_RESOURCE_CONFIG: &str = "ValidateDataSourceConfig";
    pub(super) const CONFIGURE_PROVIDER: &str = "Configure";
    pub(super) const STOP_PROVIDER: &str = "Stop";
}

/// Protocol 5.10.
pub struct V5;

/// Serves protocol 5 for a provider.
pub type ProviderServerV5<P> = crate::protocol::server::ProviderServer<V5, P>;

impl Protocol for V5 {
    const SERVICE: &'static str = "tfplugin5.Provider";

    fn route<P: Provider>(core: &Arc<ProviderCore<P>>, method: &str, call: Call) -> Option<Reply> {
        match method {
            "PrepareProviderConfig" => Some(unary(call, Arc::clone(core), prepare_provider_config)),
            _ => adapter::route(core, method, call),
        }
    }
}

/// Validation; `prepared_config` echoes the configuration unchanged, since this provider
/// fills in no defaults at this stage (Terraform 0.12 would otherwise use a null config).
async fn prepare_provider_config<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::prepare_provider_config::Request,
) -> pb::prepare_provider_config::Response {
    let answer = core
        .validate_provider_config(&wire(request.config.clone()))
        .await;
    pb::prepare_provider_config::Response {
        prepared_config: request.config,
        diagnostics: diagnostics(answer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::cty::{encode_msgpack, Type, Value};
    use crate::protocol::testing::core;

    #[tokio::test]
    async fn prepare_provider_config_echoes_the_config_and_validates_it() {
        let (_, core) = core();
        let ty = Type::object([("region", Type::String)]);
        let given = pb::DynamicValue {
            msgpack: encode_msgpack(&Value::object([("region", Value::string("nowhere"))]), &ty)
                .expect("fits"),
            json: Vec::new(),
        };
        let response = prepare_provider_config(
            core,
            pb::prepare_provider_config::Request {
                config: Some(given.clone()),
            },
        )
        .await;
        assert_eq!(response.prepared_config, Some(given));
        assert_eq!(response.diagnostics.len(), 1);
        assert_eq!(
            response.diagnostics[0].severity,
            pb::diagnostic::Severity::Error as i32
        );
        assert_eq!(response.diagnostics[0].summary, "Bad region");
    }
}
