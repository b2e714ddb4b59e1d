//! Protocol 6 (Terraform 1.0 and later, OpenTofu): the `tfplugin6.Provider` service.
//!
//! The RPCs both versions share are answered by the shared `adapter` over this version's
//! generated messages; this file adds what protocol 6 alone has: ValidateProviderConfig (5's
//! PrepareProviderConfig) and the state store RPCs, of which this provider offers none.

use crate::protocol::core::{unknown_type, Kind, ProviderCore};
use crate::protocol::provider::Provider;
use crate::protocol::server::{
    client_streaming, server_streaming, unary, Call, Protocol, Reply, Requests,
};
use adapter::diagnostics::diagnostics;
use adapter::values::wire;
use futures::stream::BoxStream;
#[cfg(test)]
use futures::StreamExt;
use std::sync::Arc;

pub use crate::protocol::proto::tfplugin6 as pb;

// The adapter is compiled once per protocol version, against that version's `pb`: loading
// the same files twice is the point, not the mistake clippy's `duplicate_mod` looks for.
#[allow(clippy::duplicate_mod)]
#[path = "adapter/mod.rs"]
mod adapter;

/// The message modules, under the names the shared adapter uses (protocol 6's own).
mod messages {
    pub(super) use super::pb::{
        configure_provider, stop_provider, validate_data_resource_config, validate_resource_config,
    };
}

/// The method names of the RPCs protocol 5 names differently.
mod methods {
    pub(super) const GET_PROVIDER_SCHEMA: &str = "GetProviderSchema";
    pub(super) const VALIDATE_RESOURCE_CONFIG: &str = "ValidateResourceConfig";
    pub(super) const VALIDATE_DATA_RESOURCE_CONFIG: &str = "ValidateDataResourceConfig";
    pub(super) const CONFIGURE_PROVIDER: &str = "ConfigureProvider";
    pub(super) const STOP_PROVIDER: &str = "StopProvider";
}

/// Protocol 6.10.
pub struct V6;

/// Serves protocol 6 for a provider.
pub type ProviderServerV6<P> = crate::protocol::server::ProviderServer<V6, P>;

impl Protocol for V6 {
    const SERVICE: &'static str = "tfplugin6.Provider";

    fn route<P: Provider>(core: &Arc<ProviderCore<P>>, method: &str, call: Call) -> Option<Reply> {
        let core = Arc::clone(core);
        let reply = match method {
            "ValidateProviderConfig" => unary(call, core, validate_provider_config),
            "ValidateStateStoreConfig" => unary(call, core, state_store::validate),
            "ConfigureStateStore" => unary(call, core, state_store::configure),
            "ReadStateBytes" => server_streaming(call, core, state_store::read_bytes),
            "WriteStateBytes" => client_streaming(call, core, state_store::write_bytes),
            "GetStates" => unary(call, core, state_store::get_states),
            "DeleteState" => unary(call, core, state_store::delete_state),
            _ => return adapter::route(&core, method, call),
        };
        Some(reply)
    }
}

async fn validate_provider_config<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::validate_provider_config::Request,
) -> pb::validate_provider_config::Response {
    let config = wire(request.config);
    let answer = core.validate_provider_config(&config).await;
    pb::validate_provider_config::Response {
        diagnostics: diagnostics(answer),
    }
}

/// State stores (Terraform 1.14 experiments): this provider offers none.
mod state_store {
    use super::{diagnostics, pb, unknown_type, BoxStream, Kind, Provider, ProviderCore, Requests};
    use futures::StreamExt;
    use std::sync::Arc;

    fn not_offered(name: &str) -> Vec<pb::Diagnostic> {
        diagnostics(unknown_type(Kind::StateStore, name, []))
    }

    pub(super) async fn validate<P: Provider>(
        _core: Arc<ProviderCore<P>>,
        request: pb::validate_state_store::Request,
    ) -> pb::validate_state_store::Response {
        pb::validate_state_store::Response {
            diagnostics: not_offered(&request.type_name),
        }
    }

    pub(super) async fn configure<P: Provider>(
        _core: Arc<ProviderCore<P>>,
        request: pb::configure_state_store::Request,
    ) -> pb::configure_state_store::Response {
        pb::configure_state_store::Response {
            diagnostics: not_offered(&request.type_name),
        }
    }

    pub(super) fn read_bytes<P: Provider>(
        _core: Arc<ProviderCore<P>>,
        request: pb::read_state_bytes::Request,
    ) -> BoxStream<'static, pb::read_state_bytes::Response> {
        let chunk = pb::read_state_bytes::Response {
            diagnostics: not_offered(&request.type_name),
            ..Default::default()
        };
        futures::stream::iter([chunk]).boxed()
    }

    /// The store's name travels in the chunks; the first one names it in the error.
    pub(super) async fn write_bytes<P: Provider>(
        _core: Arc<ProviderCore<P>>,
        mut chunks: Requests<pb::write_state_bytes::RequestChunk>,
    ) -> pb::write_state_bytes::Response {
        let type_name = match chunks.next().await {
            Some(Ok(chunk)) => chunk.type_name,
            Some(Err(_)) | None => String::new(),
        };
        pb::write_state_bytes::Response {
            diagnostics: not_offered(&type_name),
        }
    }

    pub(super) async fn get_states<P: Provider>(
        _core: Arc<ProviderCore<P>>,
        request: pb::get_states::Request,
    ) -> pb::get_states::Response {
        pb::get_states::Response {
            state_id: Vec::new(),
            diagnostics: not_offered(&request.type_name),
        }
    }

    pub(super) async fn delete_state<P: Provider>(
        _core: Arc<ProviderCore<P>>,
        request: pb::delete_state::Request,
    ) -> pb::delete_state::Response {
        pb::delete_state::Response {
            diagnostics: not_offered(&request.type_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::cty::{encode_msgpack, Type, Value};
    use crate::protocol::testing::core;
    use pb::attribute_path::step::Selector;

    #[tokio::test]
    async fn provider_config_errors_point_at_the_attribute() {
        let (_, core) = core();
        let ty = Type::object([("region", Type::String)]);
        let config = Value::object([("region", Value::string("nowhere"))]);
        let response = validate_provider_config(
            core,
            pb::validate_provider_config::Request {
                config: Some(pb::DynamicValue {
                    msgpack: encode_msgpack(&config, &ty).expect("fits"),
                    json: Vec::new(),
                }),
            },
        )
        .await;
        assert_eq!(response.diagnostics.len(), 1);
        let error = &response.diagnostics[0];
        assert_eq!(error.severity, pb::diagnostic::Severity::Error as i32);
        let path = error.attribute.as_ref().expect("path");
        let steps: Vec<_> = path.steps.iter().map(|s| s.selector.clone()).collect();
        assert_eq!(steps, [Some(Selector::AttributeName("region".into()))]);
    }

    #[tokio::test]
    async fn state_stores_are_not_offered() {
        let (_, core) = core();
        let mut chunks = state_store::read_bytes(
            core.clone(),
            pb::read_state_bytes::Request {
                type_name: "test_store".into(),
                state_id: "default".into(),
            },
        );
        let chunk = chunks.next().await.expect("one chunk");
        assert_eq!(chunk.diagnostics.len(), 1);
        assert!(chunk.diagnostics[0].detail.contains("test_store"));
        assert!(chunks.next().await.is_none());

        let configured = state_store::configure(
            core,
            pb::configure_state_store::Request {
                type_name: "test_store".into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(
            configured.diagnostics[0].summary,
            "Unknown state store type"
        );
    }
}
