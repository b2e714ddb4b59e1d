//! The tfplugin5 `Provider` gRPC service over a [`Provider`].
//!
//! The RPCs shared with protocol 6 come from [`provider_service!`]; protocol 5's only RPC of
//! its own here is `PrepareProviderConfig`, which must hand the configuration back.

use crate::protocol::convert::{provider_service, MAX_MESSAGE_SIZE};
use crate::protocol::provider::Provider;
use std::sync::Arc;

/// Serves protocol 5 for a provider (Terraform 0.12 and later; chosen by clients without 6).
pub struct ProviderServerV5<P: Provider> {
    core: ProviderCore<P>,
}

impl<P: Provider> ProviderServerV5<P> {
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
    proto: tfplugin5,
    server: ProviderServerV5,
    get_schema: get_schema,
    validate_resource: validate_resource_type_config,
    validate_data_source: validate_data_source_config,
    configure: configure,
    stop: stop,
    extra: {
        /// Validation; `prepared_config` echoes the configuration unchanged, since this provider
        /// fills in no defaults at this stage (Terraform 0.12 would otherwise use a null config).
        async fn prepare_provider_config(
            &self,
            request: Request<pb::prepare_provider_config::Request>,
        ) -> Result<Response<pb::prepare_provider_config::Response>, Status> {
            let config = request.into_inner().config;
            let diagnostics = self.core.validate_provider_config(&wire(config.clone())).await;
            Ok(Response::new(pb::prepare_provider_config::Response {
                prepared_config: config,
                diagnostics: diagnostics_to_proto(diagnostics),
            }))
        }
    }
}
