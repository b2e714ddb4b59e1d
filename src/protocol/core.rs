//! The provider core: the half of a provider server that knows no protocol version.
//!
//! The tfplugin5 and tfplugin6 adapters hand it the raw bytes of each `DynamicValue` and
//! encode whatever it answers. In between, it does for every RPC what both versions share:
//!
//! - find the schema type of the named object. Resources, data sources and actions are
//!   separate name spaces (an action may share its type name with a resource), and a name the
//!   provider does not offer gets one diagnostic, built in one place ([`unknown_type`]), for
//!   every kind;
//! - decode the values with that type (msgpack, or JSON when only JSON was sent) and call the
//!   [`Provider`];
//! - encode the answer with the same type, turning an answer that does not fit the schema into
//!   an error diagnostic rather than a malformed message;
//! - run an invoked action in a task of its own and turn its progress messages and its result
//!   into the event stream InvokeAction answers with (see [`ActionEvent`]).

use super::cty::{decode_json, decode_msgpack, encode_msgpack, Type, Value};
use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::provider::{ActionProgress, ApplyRequest, PlanRequest, Provider, ProviderSchemas};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// gRPC message size limit in both directions. Terraform sends whole states and plans in one
/// message; terraform-plugin-go allows 256 MiB, so Terraform may send that much.
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// The bytes of a `DynamicValue` as received, before decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireValue {
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
pub struct StateOutcome {
    pub state: Option<Vec<u8>>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanOutcome {
    pub planned_state: Option<Vec<u8>>,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedState {
    pub type_name: String,
    pub state: Vec<u8>,
    pub private: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOutcome {
    pub imported: Vec<ImportedState>,
    pub diagnostics: Diagnostics,
}

/// The kinds of objects a provider may offer, each its own name space of type names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Resource,
    DataSource,
    Action,
    EphemeralResource,
    ListResource,
    Function,
    StateStore,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Resource => "resource",
            Kind::DataSource => "data source",
            Kind::Action => "action",
            Kind::EphemeralResource => "ephemeral resource",
            Kind::ListResource => "list resource",
            Kind::Function => "function",
            Kind::StateStore => "state store",
        }
    }
}

/// The one diagnostic for a request naming an object the provider does not offer; `offered`
/// lists the names it does offer of that kind.
pub fn unknown_type<'a>(
    kind: Kind,
    name: &str,
    offered: impl IntoIterator<Item = &'a str>,
) -> Diagnostics {
    let noun = kind.noun();
    let summary = match kind {
        Kind::Function => "Unknown function".to_owned(),
        _ => format!("Unknown {noun} type"),
    };
    let offered: Vec<&str> = offered.into_iter().collect();
    let detail = if offered.is_empty() {
        format!("This provider has no {noun} named {name:?}: it offers none.")
    } else {
        format!(
            "This provider has no {noun} named {name:?}; it offers: {}.",
            offered.join(", ")
        )
    };
    Diagnostic::error(summary, detail).into()
}

/// One event of an InvokeAction answer: every progress message in the order the action sent
/// it, then exactly one `Completed`, last.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionEvent {
    Progress(String),
    Completed(Diagnostics),
}

/// The protocol-independent half of a provider server.
pub struct ProviderCore<P: Provider> {
    provider: Arc<P>,
    /// Asked once: schemas do not change while the process lives, and every RPC needs them.
    schemas: ProviderSchemas,
    /// The value types derived from `schemas`, which every decode and encode needs.
    provider_type: Type,
    types: BTreeMap<(Kind, String), Type>,
}

impl<P: Provider> ProviderCore<P> {
    pub fn new(provider: Arc<P>) -> Self {
        let schemas = provider.schemas();
        let provider_type = schemas.provider.value_type();
        let kinds = [
            (Kind::Resource, &schemas.resources),
            (Kind::DataSource, &schemas.data_sources),
            (Kind::Action, &schemas.actions),
        ];
        let types = kinds
            .into_iter()
            .flat_map(|(kind, schemas)| {
                schemas
                    .iter()
                    .map(move |(name, schema)| ((kind, name.clone()), schema.value_type()))
            })
            .collect();
        Self {
            provider,
            schemas,
            provider_type,
            types,
        }
    }

    pub fn schemas(&self) -> &ProviderSchemas {
        &self.schemas
    }

    /// The value type of a named object, or the error for a name not offered.
    fn value_type(&self, kind: Kind, type_name: &str) -> Result<&Type, Diagnostics> {
        self.types
            .get(&(kind, type_name.to_owned()))
            .ok_or_else(|| {
                let offered = self
                    .types
                    .keys()
                    .filter(|(of_kind, _)| *of_kind == kind)
                    .map(|(_, name)| name.as_str());
                unknown_type(kind, type_name, offered)
            })
    }

    fn resource_type(&self, type_name: &str) -> Result<&Type, Diagnostics> {
        self.value_type(Kind::Resource, type_name)
    }

    /// A configuration decoded with the type of the named object.
    fn decode_config(
        &self,
        kind: Kind,
        type_name: &str,
        config: &WireValue,
    ) -> Result<(&Type, Value), Diagnostics> {
        let ty = self.value_type(kind, type_name)?;
        let what = format!("{} configuration", kind.noun());
        let config = config.decode(ty, &what)?;
        Ok((ty, config))
    }

    /// Decodes a configuration with the type of the named object and hands it to `check`
    /// (a validation or a plan); an unknown name or an undecodable value is the answer instead.
    async fn check_config<'a, F, Fut>(
        &'a self,
        kind: Kind,
        type_name: &str,
        config: &WireValue,
        check: F,
    ) -> Diagnostics
    where
        F: FnOnce(&'a P, Value) -> Fut,
        Fut: std::future::Future<Output = Diagnostics>,
    {
        match self.decode_config(kind, type_name, config) {
            Ok((_, config)) => check(&self.provider, config).await,
            Err(error) => error,
        }
    }

    /// The answer to an optional resource feature this provider does not implement (identity,
    /// MoveResourceState, GenerateResourceConfig): unknown type, or "not supported".
    pub fn unsupported_for_resource(&self, type_name: &str, feature: &str) -> Diagnostics {
        match self.resource_type(type_name) {
            Err(unknown) => unknown,
            Ok(_) => Diagnostic::error(
                "Not supported by this provider",
                format!("The {type_name} resource type does not support {feature}."),
            )
            .into(),
        }
    }

    pub async fn validate_provider_config(&self, config: &WireValue) -> Diagnostics {
        let ty = &self.provider_type;
        match config.decode(ty, "provider configuration") {
            Ok(config) => self.provider.validate_provider_config(&config).await,
            Err(error) => error.into(),
        }
    }

    pub async fn configure_provider(
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

    pub async fn validate_resource_config(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> Diagnostics {
        self.check_config(
            Kind::Resource,
            type_name,
            config,
            |provider, config| async move {
                provider.validate_resource_config(type_name, &config).await
            },
        )
        .await
    }

    /// `raw_json` is `RawState.json`; `has_flatmap` says whether the pre-0.12 flatmap form was
    /// sent instead, which no state of this provider can be in.
    pub async fn upgrade_resource_state(
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

    pub async fn read_resource(
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

    pub async fn plan_resource_change(
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

    pub async fn apply_resource_change(
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

    pub async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportOutcome {
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

    pub async fn validate_data_source_config(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> Diagnostics {
        self.check_config(
            Kind::DataSource,
            type_name,
            config,
            |provider, config| async move {
                provider
                    .validate_data_source_config(type_name, &config)
                    .await
            },
        )
        .await
    }

    pub async fn read_data_source(&self, type_name: &str, config: &WireValue) -> StateOutcome {
        let (ty, config) = match self.decode_config(Kind::DataSource, type_name, config) {
            Ok(decoded) => decoded,
            Err(error) => return failed(error),
        };
        let answer = self.provider.read_data_source(type_name, config).await;
        encode_state(&answer.state, ty, Vec::new(), answer.diagnostics)
    }

    pub async fn validate_action_config(&self, type_name: &str, config: &WireValue) -> Diagnostics {
        self.check_config(Kind::Action, type_name, config, |provider, config| async move {
            provider.validate_action_config(type_name, &config).await
        })
        .await
    }

    /// Validation only: the configuration may hold unknown values, and nothing runs.
    pub async fn plan_action(&self, type_name: &str, config: &WireValue) -> Diagnostics {
        self.check_config(
            Kind::Action,
            type_name,
            config,
            |provider, config| async move { provider.plan_action(type_name, &config).await },
        )
        .await
    }

    /// Starts the action in a task of its own and answers with its events: each progress
    /// message as it comes, then one `Completed` with the action's diagnostics. An action that
    /// panics or whose task is dropped still ends in one `Completed`, with an error.
    ///
    /// The task runs to its end even if nobody reads the events any more: cancelling is the
    /// provider's business (StopProvider), so that an action can always clean up after itself.
    pub fn invoke_action(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> BoxStream<'static, ActionEvent> {
        let config = match self.decode_config(Kind::Action, type_name, config) {
            Ok((_, config)) => config,
            Err(error) => return futures::stream::iter([ActionEvent::Completed(error)]).boxed(),
        };
        let (progress, mut messages) = tokio::sync::mpsc::unbounded_channel();
        let provider = Arc::clone(&self.provider);
        let type_name = type_name.to_owned();
        let mut action = tokio::spawn(async move {
            provider
                .invoke_action(&type_name, config, ActionProgress::new(progress))
                .await
        });
        let (events, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // A send fails only when nobody reads the events any more; see above.
            let diagnostics = loop {
                tokio::select! {
                    // Progress first: a message sent just before the action returned still
                    // goes out ahead of Completed.
                    biased;
                    Some(message) = messages.recv() => {
                        let _ = events.send(ActionEvent::Progress(message));
                    }
                    ended = &mut action => break completion(ended),
                }
            };
            while let Ok(message) = messages.try_recv() {
                let _ = events.send(ActionEvent::Progress(message));
            }
            let _ = events.send(ActionEvent::Completed(diagnostics));
        });
        UnboundedReceiverStream::new(received).boxed()
    }

    pub fn stop(&self) {
        self.provider.stop();
    }
}

/// The diagnostics of a finished action task: its own, or an error when it did not return.
fn completion(ended: Result<Diagnostics, tokio::task::JoinError>) -> Diagnostics {
    match ended {
        Ok(diagnostics) => diagnostics,
        Err(error) => {
            let how = if error.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            };
            Diagnostic::error(
                "Action did not complete",
                format!("The action {how} before it returned. This is a bug in the provider."),
            )
            .into()
        }
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
