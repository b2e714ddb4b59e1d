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

mod actions;
mod data_sources;
mod resources;
mod values;

pub use actions::ActionEvent;
pub use resources::{ImportOutcome, ImportedState, PlanOutcome};
pub use values::{StateOutcome, WireValue};

use super::cty::{Type, Value};
use super::diagnostics::{Diagnostic, Diagnostics};
use super::provider::{Provider, ProviderSchemas};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// gRPC message size limit in both directions. Terraform sends whole states and plans in one
/// message; terraform-plugin-go allows 256 MiB, so Terraform may send that much.
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

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

/// The protocol-independent half of a provider server.
pub struct ProviderCore<P: Provider> {
    provider: Arc<P>,
    /// Asked on the first call that needs them, not at start-up: Terraform waits for the
    /// handshake line of every provider process it starts, and a process serves one protocol
    /// version, so the other version's core never asks at all. Schemas do not change while the
    /// process lives.
    offered: OnceLock<Offered>,
}

/// The provider's schemas and the value types derived from them, which every decode and
/// encode needs.
struct Offered {
    schemas: ProviderSchemas,
    provider_type: Type,
    types: BTreeMap<(Kind, String), Type>,
}

impl Offered {
    fn of(schemas: ProviderSchemas) -> Self {
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
            schemas,
            provider_type,
            types,
        }
    }
}

impl<P: Provider> ProviderCore<P> {
    pub fn new(provider: Arc<P>) -> Self {
        Self {
            provider,
            offered: OnceLock::new(),
        }
    }

    fn offered(&self) -> &Offered {
        self.offered
            .get_or_init(|| Offered::of(self.provider.schemas()))
    }

    pub fn schemas(&self) -> &ProviderSchemas {
        &self.offered().schemas
    }

    /// The value type of a named object, or the error for a name not offered.
    fn value_type(&self, kind: Kind, type_name: &str) -> Result<&Type, Diagnostics> {
        let types = &self.offered().types;
        types.get(&(kind, type_name.to_owned())).ok_or_else(|| {
            let offered = types
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

    pub async fn validate_provider_config(&self, config: &WireValue) -> Diagnostics {
        let ty = &self.offered().provider_type;
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
        let ty = &self.offered().provider_type;
        match config.decode(ty, "provider configuration") {
            Ok(config) => self.provider.configure(&config, terraform_version).await,
            Err(error) => error.into(),
        }
    }

    pub fn stop(&self) {
        self.provider.stop();
    }
}
