//! The tfplugin6 `Provider` gRPC service over a [`Provider`].
//!
//! The RPCs shared with protocol 5 come from [`provider_service!`]; this file adds only what
//! protocol 6 alone has: `ValidateProviderConfig` (5's `PrepareProviderConfig`) and the state
//! store RPCs, of which this provider offers none.

use crate::protocol::convert::provider_service;

provider_service! {
    /// Serves protocol 6 for a provider (Terraform 1.0 and later, OpenTofu).
    server: ProviderServerV6,
    proto: tfplugin6,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::convert::test_provider::{
        recorded, resource_type, rpc, serve, thing, TestProvider, RESOURCE,
    };
    use crate::protocol::cty::{decode_msgpack, encode_msgpack, Type, Value};
    use pb::attribute_path::step::Selector;
    use pb::provider_server::Provider as _;
    use std::sync::atomic::Ordering;

    fn server() -> (Arc<TestProvider>, ProviderServerV6<TestProvider>) {
        serve(ProviderServerV6::new)
    }

    fn msgpack(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
        let bytes = encode_msgpack(value, ty).expect("test value fits its type");
        Some(pb::DynamicValue {
            msgpack: bytes,
            json: Vec::new(),
        })
    }

    fn decoded(value: Option<pb::DynamicValue>, ty: &Type) -> Value {
        decode_msgpack(&value.expect("a value was returned").msgpack, ty).expect("valid msgpack")
    }

    fn steps(path: &pb::AttributePath) -> Vec<Selector> {
        path.steps
            .iter()
            .map(|s| s.selector.clone().expect("step has a selector"))
            .collect()
    }

    fn only_error(diagnostics: &[pb::Diagnostic]) -> &pb::Diagnostic {
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics[0].severity,
            pb::diagnostic::Severity::Error as i32
        );
        &diagnostics[0]
    }

    #[tokio::test]
    async fn schema_carries_types_flags_nesting_and_capabilities() {
        let (_, server) = server();
        let response = rpc!(server.get_provider_schema(pb::get_provider_schema::Request {}));

        let provider = response
            .provider
            .expect("provider schema is always present");
        let region = &provider.block.expect("block").attributes[0];
        assert_eq!(
            (region.name.as_str(), region.r#type.as_slice()),
            ("region", &b"\"string\""[..])
        );

        let resource = &response.resource_schemas[RESOURCE];
        assert_eq!(resource.version, 2);
        let block = resource.block.as_ref().expect("block");
        assert_eq!(block.description, "A thing.");
        assert_eq!(block.description_kind, pb::StringKind::Markdown as i32);
        let attribute = |name: &str| {
            block
                .attributes
                .iter()
                .find(|a| a.name == name)
                .expect("attribute present")
        };
        assert!(attribute("name").required && !attribute("name").optional);
        assert!(attribute("secret").sensitive && attribute("secret").optional);
        assert!(!attribute("name").sensitive);
        assert!(attribute("id").computed && !attribute("id").optional);
        assert_eq!(attribute("tags").r#type, br#"["map","string"]"#.to_vec());
        assert_eq!(attribute("name").description, "The **name**.");
        assert_eq!(
            attribute("name").description_kind,
            pb::StringKind::Markdown as i32
        );
        assert!(attribute("name").nested_type.is_none() && !attribute("name").write_only);

        let rule = &block.block_types[0];
        assert_eq!(rule.type_name, "rule");
        assert_eq!(
            rule.nesting,
            pb::schema::nested_block::NestingMode::List as i32
        );
        assert_eq!((rule.min_items, rule.max_items), (0, 3));
        let port = &rule.block.as_ref().expect("nested block").attributes[0];
        assert_eq!(
            (port.name.as_str(), port.r#type.as_slice()),
            ("port", &b"\"number\""[..])
        );

        assert!(response.data_source_schemas.is_empty());
        assert!(response.functions.is_empty() && response.ephemeral_resource_schemas.is_empty());
        assert!(response.list_resource_schemas.is_empty() && response.action_schemas.is_empty());
        assert!(response.state_store_schemas.is_empty() && response.diagnostics.is_empty());
        let capabilities = response.server_capabilities.expect("capabilities");
        assert!(!capabilities.plan_destroy);
        assert!(!capabilities.get_provider_schema_optional);
        assert!(!capabilities.move_resource_state);
    }

    #[tokio::test]
    async fn metadata_lists_resource_types() {
        let (_, server) = server();
        let response = rpc!(server.get_metadata(pb::get_metadata::Request {}));
        let names: Vec<_> = response
            .resources
            .iter()
            .map(|r| r.type_name.as_str())
            .collect();
        assert_eq!(names, [RESOURCE]);
        assert!(response.data_sources.is_empty() && response.actions.is_empty());
    }

    #[tokio::test]
    async fn diagnostics_keep_severity_and_attribute_path() {
        let (_, server) = server();
        let config = thing("", Value::Null);
        let response = rpc!(server.validate_resource_config(
            pb::validate_resource_config::Request {
                type_name: RESOURCE.into(),
                config: msgpack(&config, &resource_type()),
                client_capabilities: None,
            }
        ));
        assert_eq!(response.diagnostics.len(), 1);
        let warning = &response.diagnostics[0];
        assert_eq!(warning.severity, pb::diagnostic::Severity::Warning as i32);
        assert_eq!(warning.summary, "Empty name");
        let path = warning.attribute.as_ref().expect("diagnostic has a path");
        assert_eq!(
            steps(path),
            [
                Selector::AttributeName("rule".into()),
                Selector::ElementKeyInt(1),
                Selector::AttributeName("port".into()),
                Selector::ElementKeyString("k".into()),
            ]
        );
    }

    #[tokio::test]
    async fn provider_config_errors_point_at_the_attribute() {
        let (_, server) = server();
        let ty = Type::object([("region", Type::String)]);
        let config = Value::object([("region", Value::string("nowhere"))]);
        let response = rpc!(server.validate_provider_config(
            pb::validate_provider_config::Request {
                config: msgpack(&config, &ty),
            }
        ));
        let error = only_error(&response.diagnostics);
        assert_eq!(
            steps(error.attribute.as_ref().expect("path")),
            [Selector::AttributeName("region".into())]
        );
    }

    #[tokio::test]
    async fn plan_and_apply_round_trip_msgpack() {
        let (provider, server) = server();
        let ty = resource_type();
        let config = thing("web", Value::Null);

        let planned = rpc!(
            server.plan_resource_change(pb::plan_resource_change::Request {
                type_name: RESOURCE.into(),
                prior_state: msgpack(&Value::Null, &ty),
                proposed_new_state: msgpack(&config, &ty),
                config: msgpack(&config, &ty),
                ..Default::default()
            })
        );
        assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
        let seen = recorded(&provider.planned);
        assert_eq!(
            (seen.prior_state, seen.proposed_new_state),
            (Value::Null, config.clone())
        );
        let planned_state = decoded(planned.planned_state.clone(), &ty);
        assert!(planned_state.get_attr("id").is_some_and(Value::is_unknown));
        assert_eq!(planned_state.get_attr("name"), Some(&Value::string("web")));
        assert_eq!(
            steps(&planned.requires_replace[0]),
            [Selector::AttributeName("name".into())]
        );
        assert_eq!(planned.planned_private, b"plan-private");
        assert!(!planned.legacy_type_system);

        let applied = rpc!(
            server.apply_resource_change(pb::apply_resource_change::Request {
                type_name: RESOURCE.into(),
                prior_state: None,
                planned_state: planned.planned_state,
                config: msgpack(&config, &ty),
                planned_private: planned.planned_private,
                ..Default::default()
            })
        );
        assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
        let seen = recorded(&provider.applied);
        assert_eq!(
            seen.prior_state,
            Value::Null,
            "an absent DynamicValue decodes as null"
        );
        assert_eq!(
            decoded(applied.new_state, &ty),
            thing("web", Value::string("id-42"))
        );
        assert_eq!(applied.private, b"plan-private");
    }

    #[tokio::test]
    async fn json_dynamic_values_are_accepted() {
        let (provider, server) = server();
        let config = br#"{"name":"from-json","rule":[]}"#.to_vec();
        let response = rpc!(
            server.plan_resource_change(pb::plan_resource_change::Request {
                type_name: RESOURCE.into(),
                proposed_new_state: Some(pb::DynamicValue {
                    msgpack: Vec::new(),
                    json: config.clone(),
                }),
                config: Some(pb::DynamicValue {
                    msgpack: Vec::new(),
                    json: config,
                }),
                ..Default::default()
            })
        );
        assert!(
            response.diagnostics.is_empty(),
            "{:?}",
            response.diagnostics
        );
        let seen = recorded(&provider.planned);
        assert_eq!(seen.config, thing("from-json", Value::Null));
    }

    #[tokio::test]
    async fn undecodable_values_become_error_diagnostics() {
        let (_, server) = server();
        let response = rpc!(server.read_resource(pb::read_resource::Request {
            type_name: RESOURCE.into(),
            current_state: Some(pb::DynamicValue {
                msgpack: vec![0xc1],
                json: Vec::new(),
            }),
            ..Default::default()
        }));
        assert_eq!(
            only_error(&response.diagnostics).summary,
            "Invalid current state"
        );
        assert!(response.new_state.is_none());
    }

    #[tokio::test]
    async fn unknown_resource_types_are_rejected_before_the_provider() {
        let (provider, server) = server();
        let unknown = "test_nothing".to_owned();
        let plan = rpc!(
            server.plan_resource_change(pb::plan_resource_change::Request {
                type_name: unknown.clone(),
                ..Default::default()
            })
        );
        let error = only_error(&plan.diagnostics);
        assert_eq!(error.summary, "Unknown resource type");
        assert!(error.detail.contains("test_nothing") && error.detail.contains(RESOURCE));
        assert!(provider.planned.lock().expect("lock").is_none());

        let read = rpc!(server.read_resource(pb::read_resource::Request {
            type_name: unknown.clone(),
            ..Default::default()
        }));
        assert_eq!(
            only_error(&read.diagnostics).summary,
            "Unknown resource type"
        );

        let import = rpc!(
            server.import_resource_state(pb::import_resource_state::Request {
                type_name: unknown.clone(),
                id: "x".into(),
                ..Default::default()
            })
        );
        assert_eq!(
            only_error(&import.diagnostics).summary,
            "Unknown resource type"
        );
        assert!(import.imported_resources.is_empty());

        let upgrade = rpc!(
            server.upgrade_resource_state(pb::upgrade_resource_state::Request {
                type_name: unknown,
                version: 0,
                raw_state: Some(pb::RawState {
                    json: b"{}".to_vec(),
                    flatmap: Default::default(),
                }),
            })
        );
        assert_eq!(
            only_error(&upgrade.diagnostics).summary,
            "Unknown resource type"
        );
    }

    #[tokio::test]
    async fn upgrade_passes_raw_json_and_answers_in_msgpack() {
        let (provider, server) = server();
        let response = rpc!(
            server.upgrade_resource_state(pb::upgrade_resource_state::Request {
                type_name: RESOURCE.into(),
                version: 1,
                raw_state: Some(pb::RawState {
                    json: br#"{"name":"old","gone":true}"#.to_vec(),
                    flatmap: Default::default(),
                }),
            })
        );
        assert!(
            response.diagnostics.is_empty(),
            "{:?}",
            response.diagnostics
        );
        let (version, raw) = recorded(&provider.upgraded_from);
        assert_eq!(
            (version, raw),
            (1, serde_json::json!({"name": "old", "gone": true}))
        );
        assert_eq!(
            decoded(response.upgraded_state, &resource_type()),
            thing("old", Value::string("id-1"))
        );

        let flatmap_only = rpc!(server.upgrade_resource_state(
            pb::upgrade_resource_state::Request {
                type_name: RESOURCE.into(),
                version: 0,
                raw_state: Some(pb::RawState {
                    json: Vec::new(),
                    flatmap: [("id".to_owned(), "1".to_owned())].into(),
                }),
            }
        ));
        assert!(only_error(&flatmap_only.diagnostics)
            .detail
            .contains("flatmap"));
    }

    #[tokio::test]
    async fn import_encodes_each_object_with_its_schema() {
        let (_, server) = server();
        let response = rpc!(
            server.import_resource_state(pb::import_resource_state::Request {
                type_name: RESOURCE.into(),
                id: "abc".into(),
                ..Default::default()
            })
        );
        assert!(response.diagnostics.is_empty());
        let imported = &response.imported_resources[0];
        assert_eq!(imported.type_name, RESOURCE);
        assert_eq!(
            decoded(imported.state.clone(), &resource_type()),
            thing("imported", Value::string("abc"))
        );
    }

    #[tokio::test]
    async fn configure_passes_config_and_terraform_version() {
        let (provider, server) = server();
        let ty = Type::object([("region", Type::String)]);
        let config = Value::object([("region", Value::string("eu-west-101"))]);
        let response = rpc!(server.configure_provider(pb::configure_provider::Request {
            terraform_version: "1.14.0".into(),
            config: msgpack(&config, &ty),
            client_capabilities: None,
        }));
        assert!(response.diagnostics.is_empty());
        let seen = provider.configured_with.lock().expect("lock").clone();
        assert_eq!(seen, Some((config, "1.14.0".to_owned())));
    }

    #[tokio::test]
    async fn stop_provider_calls_stop() {
        let (provider, server) = server();
        let response = rpc!(server.stop_provider(pb::stop_provider::Request {}));
        assert_eq!(response.error, "");
        assert_eq!(provider.stops.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn unoffered_kinds_answer_with_diagnostics_naming_the_type() {
        use futures::StreamExt;
        let (_, server) = server();

        let data = rpc!(server.read_data_source(pb::read_data_source::Request {
            type_name: "test_ds".into(),
            ..Default::default()
        }));
        assert!(only_error(&data.diagnostics).detail.contains("test_ds"));

        let mut events = rpc!(server.list_resource(pb::list_resource::Request {
            type_name: "test_list".into(),
            ..Default::default()
        }));
        let event = events
            .next()
            .await
            .expect("one event")
            .expect("not a status");
        assert!(only_error(&event.diagnostic).detail.contains("test_list"));
        assert!(events.next().await.is_none());

        let mut events = rpc!(server.invoke_action(pb::invoke_action::Request {
            action_type: "test_act".into(),
            ..Default::default()
        }));
        match events
            .next()
            .await
            .expect("one event")
            .expect("not a status")
            .r#type
        {
            Some(pb::invoke_action::event::Type::Completed(done)) => {
                assert!(only_error(&done.diagnostics).detail.contains("test_act"));
            }
            other => panic!("expected a completed event, got {other:?}"),
        }

        let call = rpc!(server.call_function(pb::call_function::Request {
            name: "f".into(),
            arguments: Vec::new(),
        }));
        assert!(call.error.expect("function error").text.contains("\"f\""));

        let mut state = rpc!(server.read_state_bytes(pb::read_state_bytes::Request {
            type_name: "test_store".into(),
            state_id: "default".into(),
        }));
        let chunk = state
            .next()
            .await
            .expect("one chunk")
            .expect("not a status");
        assert!(only_error(&chunk.diagnostics).detail.contains("test_store"));

        let moved = rpc!(
            server.move_resource_state(pb::move_resource_state::Request {
                target_type_name: RESOURCE.into(),
                ..Default::default()
            })
        );
        assert_eq!(
            only_error(&moved.diagnostics).summary,
            "Not supported by this provider"
        );

        let identities = rpc!(
            server.get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        );
        assert!(identities.identity_schemas.is_empty() && identities.diagnostics.is_empty());
    }

    #[test]
    fn service_accepts_large_messages() {
        // Building the service must not panic; the limits themselves are tonic's to enforce.
        let (_, server) = server();
        let _service = server.into_service();
    }
}
