//! The tfplugin6 `Provider` gRPC service over a [`Provider`].
//!
//! The RPCs shared with protocol 5 come from [`provider_service!`]; this file adds only what
//! protocol 6 alone has: `ValidateProviderConfig` (5's `PrepareProviderConfig`) and the state
//! store RPCs, of which this provider offers none.

use crate::protocol::convert::{provider_service, MAX_MESSAGE_SIZE};
use crate::protocol::provider::Provider;
use std::sync::Arc;

/// Serves protocol 6 for a provider.
pub struct ProviderServerV6<P: Provider> {
    core: ProviderCore<P>,
}

impl<P: Provider> ProviderServerV6<P> {
    pub fn new(provider: Arc<P>) -> Self {
        Self {
            core: ProviderCore::new(provider),
        }
    }

    /// The tonic service, accepting and sending messages up to 256 MiB.
    pub fn into_service(self) -> pb::provider_server::ProviderServer<Self> {
        pb::provider_server::ProviderServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }
}

provider_service! {
    proto: tfplugin6,
    server: ProviderServerV6,
    get_schema: get_provider_schema,
    validate_resource: validate_resource_config,
    validate_data_source: validate_data_resource_config,
    configure: configure_provider,
    stop: stop_provider,
    extra: {
        async fn validate_provider_config(
            &self,
            request: Request<pb::validate_provider_config::Request>,
        ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
            let config = wire(request.into_inner().config);
            let diagnostics = self.core.validate_provider_config(&config).await;
            Ok(Response::new(pb::validate_provider_config::Response {
                diagnostics: diagnostics_to_proto(diagnostics),
            }))
        }

        async fn validate_state_store_config(
            &self,
            request: Request<pb::validate_state_store::Request>,
        ) -> Result<Response<pb::validate_state_store::Response>, Status> {
            let diagnostics = Offering::StateStore.unknown(&request.into_inner().type_name);
            Ok(Response::new(pb::validate_state_store::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
        }

        async fn configure_state_store(
            &self,
            request: Request<pb::configure_state_store::Request>,
        ) -> Result<Response<pb::configure_state_store::Response>, Status> {
            let diagnostics = Offering::StateStore.unknown(&request.into_inner().type_name);
            Ok(Response::new(pb::configure_state_store::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
        }

        type ReadStateBytesStream = EventStream<pb::read_state_bytes::Response>;

        async fn read_state_bytes(
            &self,
            request: Request<pb::read_state_bytes::Request>,
        ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
            let diagnostics = Offering::StateStore.unknown(&request.into_inner().type_name);
            Ok(Response::new(single_event(pb::read_state_bytes::Response {
                diagnostics: diagnostics_to_proto(diagnostics),
                ..Default::default()
            })))
        }

        async fn write_state_bytes(
            &self,
            request: Request<tonic::Streaming<pb::write_state_bytes::RequestChunk>>,
        ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
            // The store's name travels in the chunks; read one to name it in the error.
            let type_name = match request.into_inner().message().await {
                Ok(Some(chunk)) => chunk.type_name,
                Ok(None) | Err(_) => String::new(),
            };
            let diagnostics = Offering::StateStore.unknown(&type_name);
            Ok(Response::new(pb::write_state_bytes::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
        }

        async fn get_states(
            &self,
            request: Request<pb::get_states::Request>,
        ) -> Result<Response<pb::get_states::Response>, Status> {
            let diagnostics = Offering::StateStore.unknown(&request.into_inner().type_name);
            Ok(Response::new(pb::get_states::Response {
                state_id: Vec::new(),
                diagnostics: diagnostics_to_proto(diagnostics),
            }))
        }

        async fn delete_state(
            &self,
            request: Request<pb::delete_state::Request>,
        ) -> Result<Response<pb::delete_state::Response>, Status> {
            let diagnostics = Offering::StateStore.unknown(&request.into_inner().type_name);
            Ok(Response::new(pb::delete_state::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
        }
    }
}
