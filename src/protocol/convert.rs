//! What the tfplugin5 and tfplugin6 servers have in common.
//!
//! The two protocol versions carry the same semantics in structurally identical messages that
//! are nevertheless distinct Rust types. Everything that does not touch a generated type lives
//! here once, in [`ProviderCore`]: decoding `DynamicValue` bytes with the right schema type,
//! rejecting unknown type names, calling the [`Provider`] and encoding its answers. The
//! conversions to and from generated types, and the RPCs whose messages have the same names in
//! both versions, are written once in the [`provider_service!`] macro, which `v5.rs` and
//! `v6.rs` instantiate for their own generated module.

use super::cty::{decode_json, decode_msgpack, encode_msgpack, Type, Value};
use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::provider::{ApplyRequest, PlanRequest, Provider, ProviderSchemas};
use std::collections::BTreeMap;
use std::sync::Arc;

/// gRPC message size limit in both directions. Terraform sends whole states and plans in one
/// message; terraform-plugin-go allows 256 MiB, so Terraform may send that much.
pub(crate) const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// The bytes of a `DynamicValue` as received, before decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WireValue {
    pub msgpack: Vec<u8>,
    pub json: Vec<u8>,
}

impl WireValue {
    /// Decodes msgpack, or JSON when only JSON was sent. An absent value is null: Terraform
    /// leaves out e.g. the prior state of a create.
    fn decode(&self, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
        let decoded = if !self.msgpack.is_empty() {
            decode_msgpack(&self.msgpack, ty)
        } else if !self.json.is_empty() {
            decode_json(&self.json, ty)
        } else {
            return Ok(Value::Null);
        };
        decoded.map_err(|error| {
            Diagnostic::error(
                format!("Invalid {what}"),
                format!("The {what} sent by Terraform could not be decoded: {error}."),
            )
        })
    }
}

/// A state (or other value) answer: msgpack bytes when encoding worked, plus private data and
/// diagnostics.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StateOutcome {
    pub state: Option<Vec<u8>>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PlanOutcome {
    pub planned_state: Option<Vec<u8>>,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImportedState {
    pub type_name: String,
    pub state: Vec<u8>,
    pub private: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ImportOutcome {
    pub imported: Vec<ImportedState>,
    pub diagnostics: Diagnostics,
}

/// The kinds of things a provider may offer besides managed resources. This provider offers
/// none of them; requests naming one are answered with an error diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offering {
    DataSource,
    EphemeralResource,
    ListResource,
    Action,
    Function,
    StateStore,
}

impl Offering {
    fn noun(self) -> &'static str {
        match self {
            Offering::DataSource => "data source",
            Offering::EphemeralResource => "ephemeral resource",
            Offering::ListResource => "list resource",
            Offering::Action => "action",
            Offering::Function => "function",
            Offering::StateStore => "state store",
        }
    }

    /// The error for a request that names `name` of this kind.
    pub(crate) fn unknown(self, name: &str) -> Diagnostics {
        let noun = self.noun();
        let summary = if self == Offering::Function {
            "Unknown function".to_owned()
        } else {
            format!("Unknown {noun} type")
        };
        Diagnostic::error(
            summary,
            format!("This provider has no {noun} named {name:?}: it offers none."),
        )
        .into()
    }
}

/// The protocol-independent half of a provider server.
pub(crate) struct ProviderCore<P: Provider> {
    provider: Arc<P>,
    /// Asked once: schemas do not change while the process lives, and every RPC needs them.
    schemas: ProviderSchemas,
    /// The value types derived from `schemas`, which every decode and encode needs.
    provider_type: Type,
    resource_types: BTreeMap<String, Type>,
}

impl<P: Provider> ProviderCore<P> {
    pub(crate) fn new(provider: Arc<P>) -> Self {
        let schemas = provider.schemas();
        let provider_type = schemas.provider.value_type();
        let resource_types = schemas
            .resources
            .iter()
            .map(|(name, schema)| (name.clone(), schema.value_type()))
            .collect();
        Self {
            provider,
            schemas,
            provider_type,
            resource_types,
        }
    }

    pub(crate) fn schemas(&self) -> &ProviderSchemas {
        &self.schemas
    }

    /// The value type of a resource type, or the error for an unknown type name.
    fn resource_type(&self, type_name: &str) -> Result<&Type, Diagnostics> {
        self.resource_types.get(type_name).ok_or_else(|| {
            let known: Vec<&str> = self.resource_types.keys().map(String::as_str).collect();
            Diagnostic::error(
                "Unknown resource type",
                format!(
                    "This provider has no resource type named {type_name:?}; it offers: {}.",
                    known.join(", ")
                ),
            )
            .into()
        })
    }

    /// The answer to an optional resource feature this provider does not implement (identity,
    /// MoveResourceState, GenerateResourceConfig): unknown type, or "not supported".
    pub(crate) fn unsupported_for_resource(&self, type_name: &str, feature: &str) -> Diagnostics {
        match self.resource_type(type_name) {
            Err(unknown) => unknown,
            Ok(_) => Diagnostic::error(
                "Not supported by this provider",
                format!("The {type_name} resource type does not support {feature}."),
            )
            .into(),
        }
    }

    pub(crate) async fn validate_provider_config(&self, config: &WireValue) -> Diagnostics {
        let ty = &self.provider_type;
        match config.decode(ty, "provider configuration") {
            Ok(config) => self.provider.validate_provider_config(&config).await,
            Err(error) => error.into(),
        }
    }

    pub(crate) async fn configure_provider(
        &self,
        config: &WireValue,
        terraform_version: &str,
    ) -> Diagnostics {
        let ty = &self.provider_type;
        match config.decode(ty, "provider configuration") {
            Ok(config) => self.provider.configure(&config, terraform_version).await,
            Err(error) => error.into(),
        }
    }

    pub(crate) async fn validate_resource_config(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> Diagnostics {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return unknown,
        };
        match config.decode(ty, "resource configuration") {
            Ok(config) => {
                self.provider
                    .validate_resource_config(type_name, &config)
                    .await
            }
            Err(error) => error.into(),
        }
    }

    /// `raw_json` is `RawState.json`; `has_flatmap` says whether the pre-0.12 flatmap form was
    /// sent instead, which no state of this provider can be in.
    pub(crate) async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_json: &[u8],
        has_flatmap: bool,
    ) -> StateOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return failed(unknown),
        };
        if raw_json.is_empty() {
            let detail = if has_flatmap {
                "The stored state is in the flatmap form of Terraform 0.11 and older, which this provider never wrote."
            } else {
                "Terraform sent no stored state to upgrade."
            };
            return failed(Diagnostic::error("Cannot upgrade resource state", detail).into());
        }
        let raw_state: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(raw_state) => raw_state,
            Err(error) => {
                return failed(
                    Diagnostic::error(
                        "Invalid stored state",
                        format!("The stored state is not valid JSON: {error}."),
                    )
                    .into(),
                )
            }
        };
        let answer = self
            .provider
            .upgrade_resource_state(type_name, version, &raw_state)
            .await;
        encode_state(&answer.upgraded_state, ty, Vec::new(), answer.diagnostics)
    }

    pub(crate) async fn read_resource(
        &self,
        type_name: &str,
        current_state: &WireValue,
        private: Vec<u8>,
    ) -> StateOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return failed(unknown),
        };
        let current_state = match current_state.decode(ty, "current state") {
            Ok(value) => value,
            Err(error) => return failed(error.into()),
        };
        let answer = self
            .provider
            .read_resource(type_name, current_state, private)
            .await;
        encode_state(&answer.new_state, ty, answer.private, answer.diagnostics)
    }

    pub(crate) async fn plan_resource_change(
        &self,
        type_name: &str,
        prior_state: &WireValue,
        proposed_new_state: &WireValue,
        config: &WireValue,
        prior_private: Vec<u8>,
    ) -> PlanOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => {
                return PlanOutcome {
                    diagnostics: unknown,
                    ..PlanOutcome::default()
                }
            }
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>(PlanRequest {
                type_name: type_name.to_owned(),
                prior_state: prior_state.decode(ty, "prior state")?,
                proposed_new_state: proposed_new_state.decode(ty, "proposed new state")?,
                config: config.decode(ty, "resource configuration")?,
                prior_private,
            })
        })();
        let request = match decoded {
            Ok(request) => request,
            Err(error) => {
                return PlanOutcome {
                    diagnostics: error.into(),
                    ..PlanOutcome::default()
                }
            }
        };
        let answer = self.provider.plan_resource_change(request).await;
        let encoded = encode_state(
            &answer.planned_state,
            ty,
            answer.planned_private,
            answer.diagnostics,
        );
        PlanOutcome {
            planned_state: encoded.state,
            requires_replace: answer.requires_replace,
            planned_private: encoded.private,
            diagnostics: encoded.diagnostics,
        }
    }

    pub(crate) async fn apply_resource_change(
        &self,
        type_name: &str,
        prior_state: &WireValue,
        planned_state: &WireValue,
        config: &WireValue,
        planned_private: Vec<u8>,
    ) -> StateOutcome {
        let ty = match self.resource_type(type_name) {
            Ok(ty) => ty,
            Err(unknown) => return failed(unknown),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>(ApplyRequest {
                type_name: type_name.to_owned(),
                prior_state: prior_state.decode(ty, "prior state")?,
                planned_state: planned_state.decode(ty, "planned state")?,
                config: config.decode(ty, "resource configuration")?,
                planned_private,
            })
        })();
        let request = match decoded {
            Ok(request) => request,
            Err(error) => return failed(error.into()),
        };
        let answer = self.provider.apply_resource_change(request).await;
        encode_state(&answer.new_state, ty, answer.private, answer.diagnostics)
    }

    pub(crate) async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportOutcome {
        if let Err(unknown) = self.resource_type(type_name) {
            return ImportOutcome {
                imported: Vec::new(),
                diagnostics: unknown,
            };
        }
        let answer = self.provider.import_resource_state(type_name, id).await;
        let mut diagnostics = answer.diagnostics;
        let mut imported = Vec::with_capacity(answer.imported.len());
        for resource in answer.imported {
            // An import may yield objects of other types than the one asked for.
            let ty = match self.resource_type(&resource.type_name) {
                Ok(ty) => ty,
                Err(unknown) => {
                    diagnostics.extend(unknown);
                    continue;
                }
            };
            match encode_msgpack(&resource.state, ty) {
                Ok(state) => imported.push(ImportedState {
                    type_name: resource.type_name,
                    state,
                    private: resource.private,
                }),
                Err(error) => diagnostics.push(unencodable(&error)),
            }
        }
        ImportOutcome {
            imported,
            diagnostics,
        }
    }

    pub(crate) fn stop(&self) {
        self.provider.stop();
    }
}

fn failed(diagnostics: Diagnostics) -> StateOutcome {
    StateOutcome {
        diagnostics,
        ..StateOutcome::default()
    }
}

fn encode_state(
    value: &Value,
    ty: &Type,
    private: Vec<u8>,
    mut diagnostics: Diagnostics,
) -> StateOutcome {
    match encode_msgpack(value, ty) {
        Ok(bytes) => StateOutcome {
            state: Some(bytes),
            private,
            diagnostics,
        },
        Err(error) => {
            diagnostics.push(unencodable(&error));
            StateOutcome {
                state: None,
                private,
                diagnostics,
            }
        }
    }
}

fn unencodable(error: &super::cty::CodecError) -> Diagnostic {
    Diagnostic::error(
        "Provider produced an invalid value",
        format!("The provider's answer does not fit its own schema: {error}. This is a bug in the provider."),
    )
}

/// Defines a server type `$server<P: Provider>` (with `new` and `into_service`), implements the
/// generated `provider_server::Provider` trait for it, and defines the conversions between the
/// model types and that version's generated messages.
///
/// The arguments name the server type, the generated module (`tfplugin5` / `tfplugin6`), and
/// the RPCs whose method and message names differ between versions. Version-only RPCs (v5's
/// PrepareProviderConfig, v6's ValidateProviderConfig and state store RPCs) are passed in as
/// `extra` items and pasted into the impl; they may use the helpers defined here (`wire`,
/// `diagnostics_to_proto`, `single_event`, ...). The expansion imports `pb`, `Request`,
/// `Response`, `Status`, `Provider` and `Arc` into the calling module, which therefore must not
/// import those names itself.
macro_rules! provider_service {
    (
        $(#[$server_doc:meta])*
        server: $server:ident,
        proto: $pb:ident,
        get_schema: $get_schema:ident,
        validate_resource: $validate_resource:ident,
        validate_data_source: $validate_data_source:ident,
        configure: $configure:ident,
        stop: $stop:ident,
        extra: { $($extra:tt)* }
    ) => {
        use $crate::protocol::proto::$pb as pb;
        use $crate::protocol::convert::{Offering, ProviderCore, WireValue, MAX_MESSAGE_SIZE};
        use $crate::protocol::diagnostics::{AttributePath, Diagnostics, PathStep, Severity};
        use $crate::protocol::provider::Provider;
        use $crate::protocol::schema::{Block, Nesting, Schema};
        use std::pin::Pin;
        use std::sync::Arc;
        use tonic::{Request, Response, Status};

        $(#[$server_doc])*
        pub struct $server<P: Provider> {
            core: ProviderCore<P>,
        }

        impl<P: Provider> $server<P> {
            pub fn new(provider: Arc<P>) -> Self {
                Self { core: ProviderCore::new(provider) }
            }

            /// The tonic service, accepting and sending messages of up to 256 MiB.
            pub fn into_service(self) -> pb::provider_server::ProviderServer<Self> {
                pb::provider_server::ProviderServer::new(self)
                    .max_decoding_message_size(MAX_MESSAGE_SIZE)
                    .max_encoding_message_size(MAX_MESSAGE_SIZE)
            }
        }

        type EventStream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

        fn wire(value: Option<pb::DynamicValue>) -> WireValue {
            value.map(|v| WireValue { msgpack: v.msgpack, json: v.json }).unwrap_or_default()
        }

        fn dynamic_value(state: Option<Vec<u8>>) -> Option<pb::DynamicValue> {
            state.map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() })
        }

        fn attribute_path_to_proto(path: &AttributePath) -> pb::AttributePath {
            use pb::attribute_path::step::Selector;
            let steps = path
                .0
                .iter()
                .map(|step| pb::attribute_path::Step {
                    selector: Some(match step {
                        PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                        PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                        PathStep::Index(index) => Selector::ElementKeyInt(*index),
                    }),
                })
                .collect();
            pb::AttributePath { steps }
        }

        fn diagnostics_to_proto(diagnostics: Diagnostics) -> Vec<pb::Diagnostic> {
            use pb::diagnostic::Severity as Wire;
            diagnostics
                .0
                .into_iter()
                .map(|d| pb::Diagnostic {
                    severity: match d.severity {
                        Severity::Error => Wire::Error,
                        Severity::Warning => Wire::Warning,
                    } as i32,
                    attribute: d.attribute.as_ref().map(attribute_path_to_proto),
                    summary: d.summary,
                    detail: d.detail,
                })
                .collect()
        }

        fn block_to_proto(block: &Block) -> pb::schema::Block {
            use pb::schema::nested_block::NestingMode;
            let markdown = pb::StringKind::Markdown as i32;
            let attributes = block
                .attributes
                .iter()
                .map(|a| pb::schema::Attribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json_bytes(),
                    description: a.description.clone(),
                    required: a.required,
                    optional: a.optional,
                    computed: a.computed,
                    sensitive: a.sensitive,
                    description_kind: markdown,
                    deprecated: a.deprecated,
                    ..Default::default()
                })
                .collect();
            let block_types = block
                .block_types
                .iter()
                .map(|nested| pb::schema::NestedBlock {
                    type_name: nested.type_name.clone(),
                    block: Some(block_to_proto(&nested.block)),
                    nesting: match nested.nesting {
                        Nesting::Single => NestingMode::Single,
                        Nesting::List => NestingMode::List,
                        Nesting::Set => NestingMode::Set,
                        Nesting::Map => NestingMode::Map,
                        Nesting::Group => NestingMode::Group,
                    } as i32,
                    min_items: nested.min_items,
                    max_items: nested.max_items,
                })
                .collect();
            pb::schema::Block {
                version: 0,
                attributes,
                block_types,
                description: block.description.clone(),
                description_kind: markdown,
                deprecated: block.deprecated,
            }
        }

        fn schema_to_proto(schema: &Schema) -> pb::Schema {
            pb::Schema { version: schema.version, block: Some(block_to_proto(&schema.block)) }
        }

        /// Everything optional is off: no destroy plans, schema needed every time, no moves.
        fn server_capabilities() -> pb::ServerCapabilities {
            pb::ServerCapabilities {
                plan_destroy: false,
                get_provider_schema_optional: false,
                move_resource_state: false,
                ..Default::default()
            }
        }

        fn single_event<T: Send + 'static>(event: T) -> EventStream<T> {
            Box::pin(futures::stream::iter([Ok(event)]))
        }

        #[tonic::async_trait]
        impl<P: Provider> pb::provider_server::Provider for $server<P> {
            async fn get_metadata(
                &self,
                _request: Request<pb::get_metadata::Request>,
            ) -> Result<Response<pb::get_metadata::Response>, Status> {
                let resources = self
                    .core
                    .schemas()
                    .resources
                    .keys()
                    .map(|type_name| pb::get_metadata::ResourceMetadata { type_name: type_name.clone() })
                    .collect();
                Ok(Response::new(pb::get_metadata::Response {
                    server_capabilities: Some(server_capabilities()),
                    resources,
                    ..Default::default()
                }))
            }

            async fn $get_schema(
                &self,
                _request: Request<pb::get_provider_schema::Request>,
            ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
                let schemas = self.core.schemas();
                let resource_schemas = schemas
                    .resources
                    .iter()
                    .map(|(type_name, schema)| (type_name.clone(), schema_to_proto(schema)))
                    .collect();
                Ok(Response::new(pb::get_provider_schema::Response {
                    provider: Some(schema_to_proto(&schemas.provider)),
                    resource_schemas,
                    server_capabilities: Some(server_capabilities()),
                    ..Default::default()
                }))
            }

            async fn $validate_resource(
                &self,
                request: Request<pb::$validate_resource::Request>,
            ) -> Result<Response<pb::$validate_resource::Response>, Status> {
                let request = request.into_inner();
                let config = wire(request.config);
                let diagnostics = self.core.validate_resource_config(&request.type_name, &config).await;
                Ok(Response::new(pb::$validate_resource::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
            }

            async fn $validate_data_source(
                &self,
                request: Request<pb::$validate_data_source::Request>,
            ) -> Result<Response<pb::$validate_data_source::Response>, Status> {
                let diagnostics = Offering::DataSource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::$validate_data_source::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
            }

            async fn upgrade_resource_state(
                &self,
                request: Request<pb::upgrade_resource_state::Request>,
            ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
                let request = request.into_inner();
                let raw = request.raw_state.unwrap_or_default();
                let outcome = self
                    .core
                    .upgrade_resource_state(&request.type_name, request.version, &raw.json, !raw.flatmap.is_empty())
                    .await;
                Ok(Response::new(pb::upgrade_resource_state::Response {
                    upgraded_state: dynamic_value(outcome.state),
                    diagnostics: diagnostics_to_proto(outcome.diagnostics),
                }))
            }

            async fn get_resource_identity_schemas(
                &self,
                _request: Request<pb::get_resource_identity_schemas::Request>,
            ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
                Ok(Response::new(pb::get_resource_identity_schemas::Response::default()))
            }

            async fn upgrade_resource_identity(
                &self,
                request: Request<pb::upgrade_resource_identity::Request>,
            ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
                let type_name = request.into_inner().type_name;
                let diagnostics = self.core.unsupported_for_resource(&type_name, "resource identity");
                Ok(Response::new(pb::upgrade_resource_identity::Response {
                    upgraded_identity: None,
                    diagnostics: diagnostics_to_proto(diagnostics),
                }))
            }

            async fn $configure(
                &self,
                request: Request<pb::$configure::Request>,
            ) -> Result<Response<pb::$configure::Response>, Status> {
                let request = request.into_inner();
                let config = wire(request.config);
                let diagnostics = self.core.configure_provider(&config, &request.terraform_version).await;
                Ok(Response::new(pb::$configure::Response { diagnostics: diagnostics_to_proto(diagnostics) }))
            }

            async fn read_resource(
                &self,
                request: Request<pb::read_resource::Request>,
            ) -> Result<Response<pb::read_resource::Response>, Status> {
                let request = request.into_inner();
                let current_state = wire(request.current_state);
                let outcome = self.core.read_resource(&request.type_name, &current_state, request.private).await;
                Ok(Response::new(pb::read_resource::Response {
                    new_state: dynamic_value(outcome.state),
                    diagnostics: diagnostics_to_proto(outcome.diagnostics),
                    private: outcome.private,
                    deferred: None,
                    new_identity: None,
                }))
            }

            async fn plan_resource_change(
                &self,
                request: Request<pb::plan_resource_change::Request>,
            ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
                let request = request.into_inner();
                let outcome = self
                    .core
                    .plan_resource_change(
                        &request.type_name,
                        &wire(request.prior_state),
                        &wire(request.proposed_new_state),
                        &wire(request.config),
                        request.prior_private,
                    )
                    .await;
                Ok(Response::new(pb::plan_resource_change::Response {
                    planned_state: dynamic_value(outcome.planned_state),
                    requires_replace: outcome.requires_replace.iter().map(attribute_path_to_proto).collect(),
                    planned_private: outcome.planned_private,
                    diagnostics: diagnostics_to_proto(outcome.diagnostics),
                    ..Default::default()
                }))
            }

            async fn apply_resource_change(
                &self,
                request: Request<pb::apply_resource_change::Request>,
            ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
                let request = request.into_inner();
                let outcome = self
                    .core
                    .apply_resource_change(
                        &request.type_name,
                        &wire(request.prior_state),
                        &wire(request.planned_state),
                        &wire(request.config),
                        request.planned_private,
                    )
                    .await;
                Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: dynamic_value(outcome.state),
                    private: outcome.private,
                    diagnostics: diagnostics_to_proto(outcome.diagnostics),
                    ..Default::default()
                }))
            }

            async fn import_resource_state(
                &self,
                request: Request<pb::import_resource_state::Request>,
            ) -> Result<Response<pb::import_resource_state::Response>, Status> {
                let request = request.into_inner();
                let outcome = self.core.import_resource_state(&request.type_name, &request.id).await;
                let imported_resources = outcome
                    .imported
                    .into_iter()
                    .map(|resource| pb::import_resource_state::ImportedResource {
                        type_name: resource.type_name,
                        state: dynamic_value(Some(resource.state)),
                        private: resource.private,
                        identity: None,
                    })
                    .collect();
                Ok(Response::new(pb::import_resource_state::Response {
                    imported_resources,
                    diagnostics: diagnostics_to_proto(outcome.diagnostics),
                    deferred: None,
                }))
            }

            async fn move_resource_state(
                &self,
                request: Request<pb::move_resource_state::Request>,
            ) -> Result<Response<pb::move_resource_state::Response>, Status> {
                let target = request.into_inner().target_type_name;
                let diagnostics = self.core.unsupported_for_resource(&target, "moving state from another resource type");
                Ok(Response::new(pb::move_resource_state::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                    ..Default::default()
                }))
            }

            async fn read_data_source(
                &self,
                request: Request<pb::read_data_source::Request>,
            ) -> Result<Response<pb::read_data_source::Response>, Status> {
                let diagnostics = Offering::DataSource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::read_data_source::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                    ..Default::default()
                }))
            }

            async fn generate_resource_config(
                &self,
                request: Request<pb::generate_resource_config::Request>,
            ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
                let type_name = request.into_inner().type_name;
                let diagnostics = self.core.unsupported_for_resource(&type_name, "configuration generation");
                Ok(Response::new(pb::generate_resource_config::Response {
                    config: None,
                    diagnostics: diagnostics_to_proto(diagnostics),
                }))
            }

            async fn validate_ephemeral_resource_config(
                &self,
                request: Request<pb::validate_ephemeral_resource_config::Request>,
            ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
                let diagnostics = Offering::EphemeralResource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::validate_ephemeral_resource_config::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                }))
            }

            async fn open_ephemeral_resource(
                &self,
                request: Request<pb::open_ephemeral_resource::Request>,
            ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
                let diagnostics = Offering::EphemeralResource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::open_ephemeral_resource::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                    ..Default::default()
                }))
            }

            async fn renew_ephemeral_resource(
                &self,
                request: Request<pb::renew_ephemeral_resource::Request>,
            ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
                let diagnostics = Offering::EphemeralResource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::renew_ephemeral_resource::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                    ..Default::default()
                }))
            }

            async fn close_ephemeral_resource(
                &self,
                request: Request<pb::close_ephemeral_resource::Request>,
            ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
                let diagnostics = Offering::EphemeralResource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::close_ephemeral_resource::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                }))
            }

            type ListResourceStream = EventStream<pb::list_resource::Event>;

            async fn list_resource(
                &self,
                request: Request<pb::list_resource::Request>,
            ) -> Result<Response<Self::ListResourceStream>, Status> {
                let diagnostics = Offering::ListResource.unknown(&request.into_inner().type_name);
                Ok(Response::new(single_event(pb::list_resource::Event {
                    diagnostic: diagnostics_to_proto(diagnostics),
                    ..Default::default()
                })))
            }

            async fn validate_list_resource_config(
                &self,
                request: Request<pb::validate_list_resource_config::Request>,
            ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
                let diagnostics = Offering::ListResource.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::validate_list_resource_config::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                }))
            }

            async fn get_functions(
                &self,
                _request: Request<pb::get_functions::Request>,
            ) -> Result<Response<pb::get_functions::Response>, Status> {
                Ok(Response::new(pb::get_functions::Response::default()))
            }

            async fn call_function(
                &self,
                request: Request<pb::call_function::Request>,
            ) -> Result<Response<pb::call_function::Response>, Status> {
                let name = request.into_inner().name;
                let text = Offering::Function
                    .unknown(&name)
                    .iter()
                    .map(|d| d.detail.clone())
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok(Response::new(pb::call_function::Response {
                    result: None,
                    error: Some(pb::FunctionError { text, function_argument: None }),
                }))
            }

            async fn plan_action(
                &self,
                request: Request<pb::plan_action::Request>,
            ) -> Result<Response<pb::plan_action::Response>, Status> {
                let diagnostics = Offering::Action.unknown(&request.into_inner().action_type);
                Ok(Response::new(pb::plan_action::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                    deferred: None,
                }))
            }

            type InvokeActionStream = EventStream<pb::invoke_action::Event>;

            async fn invoke_action(
                &self,
                request: Request<pb::invoke_action::Request>,
            ) -> Result<Response<Self::InvokeActionStream>, Status> {
                use pb::invoke_action::event::{Completed, Type};
                let diagnostics = Offering::Action.unknown(&request.into_inner().action_type);
                Ok(Response::new(single_event(pb::invoke_action::Event {
                    r#type: Some(Type::Completed(Completed { diagnostics: diagnostics_to_proto(diagnostics) })),
                })))
            }

            async fn validate_action_config(
                &self,
                request: Request<pb::validate_action_config::Request>,
            ) -> Result<Response<pb::validate_action_config::Response>, Status> {
                let diagnostics = Offering::Action.unknown(&request.into_inner().type_name);
                Ok(Response::new(pb::validate_action_config::Response {
                    diagnostics: diagnostics_to_proto(diagnostics),
                }))
            }

            async fn $stop(
                &self,
                _request: Request<pb::$stop::Request>,
            ) -> Result<Response<pb::$stop::Response>, Status> {
                self.core.stop();
                Ok(Response::new(pb::$stop::Response { error: String::new() }))
            }

            $($extra)*
        }
    };
}

pub(crate) use provider_service;

/// A tiny provider for the v5/v6 adapter tests: one resource type whose plan fills in its
/// computed attribute, and which records what it was called with.
#[cfg(test)]
pub(crate) mod test_provider {
    use super::super::cty::{Type, Value};
    use super::super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
    use super::super::provider::*;
    use super::super::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    pub const RESOURCE: &str = "test_thing";

    #[derive(Default)]
    pub struct TestProvider {
        pub stops: AtomicUsize,
        pub configured_with: Mutex<Option<(Value, String)>>,
        pub upgraded_from: Mutex<Option<(i64, serde_json::Value)>>,
        pub planned: Mutex<Option<PlanRequest>>,
        pub applied: Mutex<Option<ApplyRequest>>,
    }

    pub fn resource_schema() -> Schema {
        Schema {
            version: 2,
            block: Block {
                attributes: vec![
                    Attribute::required("name", Type::String, "The **name**."),
                    Attribute::optional("secret", Type::String, "A secret.").sensitive(),
                    Attribute::computed("id", Type::String, "Set by the provider."),
                    Attribute::optional("tags", Type::map(Type::String), "Tags."),
                ],
                block_types: vec![NestedBlock {
                    type_name: "rule".into(),
                    block: Block {
                        attributes: vec![Attribute::required("port", Type::Number, "Port.")],
                        ..Block::default()
                    },
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 3,
                }],
                description: "A thing.".into(),
                deprecated: false,
            },
        }
    }

    #[async_trait::async_trait]
    impl Provider for TestProvider {
        fn schemas(&self) -> ProviderSchemas {
            ProviderSchemas {
                provider: Schema {
                    version: 0,
                    block: Block {
                        attributes: vec![Attribute::optional("region", Type::String, "Region.")],
                        ..Block::default()
                    },
                },
                resources: BTreeMap::from([(RESOURCE.to_owned(), resource_schema())]),
                ..ProviderSchemas::default()
            }
        }

        async fn validate_provider_config(&self, config: &Value) -> Diagnostics {
            match config.get_attr("region").and_then(Value::as_str) {
                Some("nowhere") => Diagnostic::error("Bad region", "No such region.")
                    .at(AttributePath::attribute("region"))
                    .into(),
                _ => Diagnostics::new(),
            }
        }

        async fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics {
            *self.configured_with.lock().unwrap() =
                Some((config.clone(), terraform_version.to_owned()));
            Diagnostics::new()
        }

        async fn validate_resource_config(&self, _type_name: &str, config: &Value) -> Diagnostics {
            match config.get_attr("name").and_then(Value::as_str) {
                Some("") => Diagnostic::warning("Empty name", "Names should not be empty.")
                    .at(AttributePath::attribute("rule")
                        .then_index(1)
                        .then_attribute("port")
                        .then_key("k"))
                    .into(),
                _ => Diagnostics::new(),
            }
        }

        async fn upgrade_resource_state(
            &self,
            _type_name: &str,
            version: i64,
            raw_state: &serde_json::Value,
        ) -> UpgradeResponse {
            *self.upgraded_from.lock().unwrap() = Some((version, raw_state.clone()));
            let name = raw_state
                .get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            UpgradeResponse {
                upgraded_state: thing(name, Value::string("id-1")),
                diagnostics: Diagnostics::new(),
            }
        }

        async fn read_resource(
            &self,
            _type_name: &str,
            current_state: Value,
            private: Vec<u8>,
        ) -> ReadResponse {
            ReadResponse {
                new_state: current_state,
                private,
                diagnostics: Diagnostics::new(),
            }
        }

        async fn plan_resource_change(&self, request: PlanRequest) -> PlanResponse {
            *self.planned.lock().unwrap() = Some(request.clone());
            let planned_state = match request.proposed_new_state {
                Value::Object(mut attributes) => {
                    attributes.insert("id".into(), Value::unknown());
                    Value::Object(attributes)
                }
                other => other,
            };
            PlanResponse {
                planned_state,
                requires_replace: vec![AttributePath::attribute("name")],
                planned_private: b"plan-private".to_vec(),
                diagnostics: Diagnostics::new(),
            }
        }

        async fn apply_resource_change(&self, request: ApplyRequest) -> ApplyResponse {
            *self.applied.lock().unwrap() = Some(request.clone());
            let new_state = match request.planned_state {
                Value::Object(mut attributes) => {
                    attributes.insert("id".into(), Value::string("id-42"));
                    Value::Object(attributes)
                }
                other => other,
            };
            ApplyResponse {
                new_state,
                private: request.planned_private,
                diagnostics: Diagnostics::new(),
            }
        }

        async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse {
            ImportResponse {
                imported: vec![ImportedResource {
                    type_name: type_name.to_owned(),
                    state: thing("imported", Value::string(id)),
                    private: Vec::new(),
                }],
                diagnostics: Diagnostics::new(),
            }
        }

        fn stop(&self) {
            self.stops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A full object of the resource type.
    pub fn thing(name: &str, id: Value) -> Value {
        Value::object([
            ("name", Value::string(name)),
            ("secret", Value::Null),
            ("id", id),
            ("tags", Value::Null),
            ("rule", Value::List(Vec::new())),
        ])
    }

    pub fn resource_type() -> Type {
        resource_schema().value_type()
    }

    /// A fresh test provider and a server of either protocol over it.
    pub fn serve<S>(new_server: impl FnOnce(Arc<TestProvider>) -> S) -> (Arc<TestProvider>, S) {
        let provider = Arc::new(TestProvider::default());
        (provider.clone(), new_server(provider))
    }

    /// What the provider recorded of its last call of one kind.
    pub fn recorded<T: Clone>(slot: &Mutex<Option<T>>) -> T {
        slot.lock()
            .expect("no test thread panicked holding the lock")
            .clone()
            .expect("the provider was called")
    }

    /// Calls one RPC of a server directly and unwraps the answer:
    /// `rpc!(server.stop(pb::stop::Request {}))`.
    macro_rules! rpc {
        ($server:ident . $method:ident ( $request:expr $(,)? )) => {
            $server
                .$method(tonic::Request::new($request))
                .await
                .expect(concat!(stringify!($method), " answered with a gRPC status"))
                .into_inner()
        };
    }
    pub(crate) use rpc;
}
