//! The tfplugin5 `Provider` gRPC service over a [`Provider`].
//!
//! The RPCs shared with protocol 6 come from [`provider_service!`]; protocol 5's only RPC of
//! its own here is `PrepareProviderConfig`, which must hand the configuration back.

use crate::protocol::convert::provider_service;

provider_service! {
    /// Serves protocol 5 for a provider (Terraform 0.12 and later; chosen by clients without 6).
    server: ProviderServerV5,
    proto: tfplugin5,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::convert::test_provider::{
        resource_type, rpc, serve, thing, TestProvider, RESOURCE,
    };
    use crate::protocol::cty::{decode_msgpack, encode_msgpack, Type, Value};
    use pb::provider_server::Provider as _;
    use std::sync::atomic::Ordering;

    fn server() -> (Arc<TestProvider>, ProviderServerV5<TestProvider>) {
        serve(ProviderServerV5::new)
    }

    #[tokio::test]
    async fn prepare_provider_config_echoes_the_config_and_validates_it() {
        let (_, server) = server();
        let ty = Type::object([("region", Type::String)]);
        let given = pb::DynamicValue {
            msgpack: encode_msgpack(&Value::object([("region", Value::string("nowhere"))]), &ty)
                .expect("fits"),
            json: Vec::new(),
        };
        let response = rpc!(
            server.prepare_provider_config(pb::prepare_provider_config::Request {
                config: Some(given.clone()),
            })
        );
        assert_eq!(response.prepared_config, Some(given));
        assert_eq!(response.diagnostics.len(), 1);
        assert_eq!(
            response.diagnostics[0].severity,
            pb::diagnostic::Severity::Error as i32
        );
        assert_eq!(response.diagnostics[0].summary, "Bad region");
    }

    #[tokio::test]
    async fn get_schema_serves_the_same_model_in_protocol_5_messages() {
        let (_, server) = server();
        let response = rpc!(server.get_schema(pb::get_provider_schema::Request {}));
        assert!(response.provider.is_some());
        let block = response.resource_schemas[RESOURCE]
            .block
            .clone()
            .expect("block");
        let secret = block
            .attributes
            .iter()
            .find(|a| a.name == "secret")
            .expect("secret");
        assert!(secret.sensitive && !secret.write_only);
        let rule = &block.block_types[0];
        assert_eq!(
            rule.nesting,
            pb::schema::nested_block::NestingMode::List as i32
        );
        assert!(response.action_schemas.is_empty());
    }

    #[tokio::test]
    async fn apply_round_trips_through_protocol_5() {
        let (_, server) = server();
        let ty = resource_type();
        let planned = thing("v5", Value::unknown());
        let response = rpc!(
            server.apply_resource_change(pb::apply_resource_change::Request {
                type_name: RESOURCE.into(),
                planned_state: Some(pb::DynamicValue {
                    msgpack: encode_msgpack(&planned, &ty).expect("fits"),
                    json: Vec::new(),
                }),
                ..Default::default()
            })
        );
        let new_state = response.new_state.expect("new state");
        assert_eq!(
            decode_msgpack(&new_state.msgpack, &ty).expect("valid"),
            thing("v5", Value::string("id-42"))
        );
    }

    #[tokio::test]
    async fn validate_resource_type_config_rejects_unknown_types() {
        let (_, server) = server();
        let response = rpc!(server.validate_resource_type_config(
            pb::validate_resource_type_config::Request {
                type_name: "test_nothing".into(),
                ..Default::default()
            },
        ));
        assert_eq!(response.diagnostics.len(), 1);
        assert_eq!(response.diagnostics[0].summary, "Unknown resource type");
    }

    #[tokio::test]
    async fn stop_calls_stop() {
        let (provider, server) = server();
        let response = rpc!(server.stop(pb::stop::Request {}));
        assert_eq!(response.error, "");
        assert_eq!(provider.stops.load(Ordering::SeqCst), 1);
    }
}
