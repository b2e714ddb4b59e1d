//! The registry of resources, data sources and actions, and [`Framework`]: the protocol
//! [`Provider`] built from a [`ProviderDefinition`] and a [`Registry`].
//!
//! Rules:
//! - Objects are registered by kind and type name; the kinds are separate name spaces, so an
//!   action may share its name with a resource.
//! - The protocol core answers unknown type names itself (it needs the schema to decode), so a
//!   registry miss here is an internal error, answered by [`not_registered`] alone.
//! - Configure stores the provider's data (an API client, or why there is none); every call
//!   after it gets a [`Context`] with a clone of that data and a cancellation token that
//!   StopProvider cancels.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use super::action::{Action, AnyAction, ErasedAction};
use super::data_source::{AnyDataSource, DataSource, ErasedDataSource};
use super::declaration::{validate_object, Decl};
use super::model::{schema_block, Model};
use super::resource::{AnyResource, Erased, Resource};
use crate::protocol::cty::Value as Cty;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::{
    ActionProgress, ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse,
    Provider, ProviderSchemas, ReadDataSourceResponse, ReadResponse, UpgradeResponse,
};
use crate::protocol::schema::Schema;

/// What every resource, data source and action call gets besides its request.
#[derive(Clone, Debug)]
pub struct Context<D> {
    /// What configure left behind.
    pub data: D,
    /// Cancelled when Terraform asks the provider to stop.
    pub cancel: CancellationToken,
}

/// The kinds of objects a provider offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Resource,
    DataSource,
    Action,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Resource => "resource type",
            Kind::DataSource => "data source",
            Kind::Action => "action",
        })
    }
}

/// The one answer to a type name the registry does not hold. The protocol core rejects
/// unknown names before calling in, so reaching this is a bug.
pub fn not_registered(kind: Kind, type_name: &str) -> Diagnostic {
    Diagnostic::error(
        "Internal error: unknown type",
        format!(
            "The provider has no {kind} {type_name:?}, but the request reached it; this is a bug \
             in the provider."
        ),
    )
}

/// Resources, data sources and actions by kind and type name.
pub struct Registry<D> {
    resources: BTreeMap<&'static str, Arc<dyn AnyResource<D>>>,
    data_sources: BTreeMap<&'static str, Arc<dyn AnyDataSource<D>>>,
    actions: BTreeMap<&'static str, Arc<dyn AnyAction<D>>>,
}

impl<D: Send + Sync + 'static> Default for Registry<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Send + Sync + 'static> Registry<D> {
    pub fn new() -> Self {
        Self {
            resources: BTreeMap::new(),
            data_sources: BTreeMap::new(),
            actions: BTreeMap::new(),
        }
    }

    pub fn resource<R: Resource<D>>(mut self, resource: R) -> Self {
        self.resources
            .insert(resource.type_name(), Arc::new(Erased(resource)));
        self
    }

    pub fn data_source<S: DataSource<D>>(mut self, data_source: S) -> Self {
        self.data_sources.insert(
            data_source.type_name(),
            Arc::new(ErasedDataSource(data_source)),
        );
        self
    }

    pub fn action<A: Action<D>>(mut self, action: A) -> Self {
        self.actions
            .insert(action.type_name(), Arc::new(ErasedAction(action)));
        self
    }

    /// Type names of one kind, sorted.
    pub fn names(&self, kind: Kind) -> Vec<&'static str> {
        match kind {
            Kind::Resource => self.resources.keys().copied().collect(),
            Kind::DataSource => self.data_sources.keys().copied().collect(),
            Kind::Action => self.actions.keys().copied().collect(),
        }
    }

    /// The schema of one object, if registered.
    pub fn schema(&self, kind: Kind, type_name: &str) -> Option<Schema> {
        match kind {
            Kind::Resource => self.resources.get(type_name).map(|r| r.schema()),
            Kind::DataSource => self.data_sources.get(type_name).map(|s| s.schema()),
            Kind::Action => self.actions.get(type_name).map(|a| a.schema()),
        }
    }

    /// The declarations of one object, if registered (for the docs).
    pub fn declarations(&self, kind: Kind, type_name: &str) -> Option<&'static [Decl]> {
        match kind {
            Kind::Resource => self.resources.get(type_name).map(|r| r.declarations()),
            Kind::DataSource => self.data_sources.get(type_name).map(|s| s.declarations()),
            Kind::Action => self.actions.get(type_name).map(|a| a.declarations()),
        }
    }

    fn schemas(&self, kind: Kind) -> BTreeMap<String, Schema> {
        self.names(kind)
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), self.schema(kind, name)?)))
            .collect()
    }
}

/// The provider itself: its configuration model and what configure makes of it.
#[async_trait]
pub trait ProviderDefinition: Send + Sync + 'static {
    /// The `provider "…" {}` block.
    type Config: Model;
    /// What configure leaves for every later call; `Default` is "not configured".
    type Data: Clone + Default + Send + Sync + 'static;

    /// Markdown, for the schema and the docs.
    fn description(&self) -> &'static str;

    /// Rules across arguments, after the declared validators (`terraform validate`; may see
    /// unknown values; runs before configure).
    fn validate(&self, config: &Self::Config) -> Diagnostics {
        let _ = config;
        Diagnostics::new()
    }

    async fn configure(
        &self,
        config: Self::Config,
        terraform_version: &str,
    ) -> (Self::Data, Diagnostics);
}

/// A [`Provider`] made of a definition and a registry.
pub struct Framework<P: ProviderDefinition> {
    definition: P,
    registry: Registry<P::Data>,
    data: RwLock<P::Data>,
    /// Cancelled by [`Provider::stop`]; every call works under a child of it.
    stop: CancellationToken,
}

impl<P: ProviderDefinition> Framework<P> {
    pub fn new(definition: P, registry: Registry<P::Data>) -> Self {
        Self {
            definition,
            registry,
            data: RwLock::new(P::Data::default()),
            stop: CancellationToken::new(),
        }
    }

    pub fn definition(&self) -> &P {
        &self.definition
    }

    pub fn registry(&self) -> &Registry<P::Data> {
        &self.registry
    }

    /// The provider configuration schema.
    pub fn provider_schema(&self) -> Schema {
        Schema {
            version: 0,
            block: schema_block(P::Config::declarations(), self.definition.description()),
        }
    }

    async fn context(&self) -> Context<P::Data> {
        Context {
            data: self.data.read().await.clone(),
            cancel: self.stop.child_token(),
        }
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn AnyResource<P::Data>>, Diagnostics> {
        self.registry
            .resources
            .get(type_name)
            .ok_or_else(|| not_registered(Kind::Resource, type_name).into())
    }

    fn data_source(
        &self,
        type_name: &str,
    ) -> Result<&Arc<dyn AnyDataSource<P::Data>>, Diagnostics> {
        self.registry
            .data_sources
            .get(type_name)
            .ok_or_else(|| not_registered(Kind::DataSource, type_name).into())
    }

    fn action(&self, type_name: &str) -> Result<&Arc<dyn AnyAction<P::Data>>, Diagnostics> {
        self.registry
            .actions
            .get(type_name)
            .ok_or_else(|| not_registered(Kind::Action, type_name).into())
    }
}

#[async_trait]
impl<P: ProviderDefinition> Provider for Framework<P> {
    fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            provider: self.provider_schema(),
            resources: self.registry.schemas(Kind::Resource),
            data_sources: self.registry.schemas(Kind::DataSource),
            actions: self.registry.schemas(Kind::Action),
        }
    }

    async fn validate_provider_config(&self, config: &Cty) -> Diagnostics {
        let mut diagnostics =
            validate_object(P::Config::declarations(), config, &AttributePath::root());
        match P::Config::decode(config) {
            Ok(model) => diagnostics.extend(self.definition.validate(&model)),
            Err(errors) => diagnostics.extend(errors),
        }
        diagnostics
    }

    async fn configure(&self, config: &Cty, terraform_version: &str) -> Diagnostics {
        let (data, diagnostics) = match P::Config::decode(config) {
            Ok(model) => self.definition.configure(model, terraform_version).await,
            Err(errors) => (P::Data::default(), errors),
        };
        *self.data.write().await = data;
        diagnostics
    }

    async fn validate_resource_config(&self, type_name: &str, config: &Cty) -> Diagnostics {
        match self.resource(type_name) {
            Ok(resource) => resource.validate(config),
            Err(diagnostics) => diagnostics,
        }
    }

    async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_state: &serde_json::Value,
    ) -> UpgradeResponse {
        match self.resource(type_name) {
            Ok(resource) => resource.upgrade(version, raw_state),
            Err(diagnostics) => UpgradeResponse {
                upgraded_state: Cty::Null,
                diagnostics,
            },
        }
    }

    async fn read_resource(
        &self,
        type_name: &str,
        current_state: Cty,
        private: Vec<u8>,
    ) -> ReadResponse {
        match self.resource(type_name) {
            Ok(resource) => {
                let context = self.context().await;
                resource.read(&context, current_state, private).await
            }
            Err(diagnostics) => ReadResponse {
                new_state: current_state,
                private,
                diagnostics,
            },
        }
    }

    async fn plan_resource_change(&self, request: PlanRequest) -> PlanResponse {
        match self.resource(&request.type_name) {
            Ok(resource) => {
                let context = self.context().await;
                resource.plan(&context, request).await
            }
            Err(diagnostics) => PlanResponse {
                diagnostics,
                ..PlanResponse::default()
            },
        }
    }

    async fn apply_resource_change(&self, request: ApplyRequest) -> ApplyResponse {
        match self.resource(&request.type_name) {
            Ok(resource) => {
                let context = self.context().await;
                resource.apply(&context, request).await
            }
            Err(diagnostics) => ApplyResponse {
                diagnostics,
                ..ApplyResponse::default()
            },
        }
    }

    async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse {
        match self.resource(type_name) {
            Ok(resource) => resource.import(id),
            Err(diagnostics) => ImportResponse {
                imported: Vec::new(),
                diagnostics,
            },
        }
    }

    async fn validate_data_source_config(&self, type_name: &str, config: &Cty) -> Diagnostics {
        match self.data_source(type_name) {
            Ok(data_source) => data_source.validate(config),
            Err(diagnostics) => diagnostics,
        }
    }

    async fn read_data_source(&self, type_name: &str, config: Cty) -> ReadDataSourceResponse {
        match self.data_source(type_name) {
            Ok(data_source) => {
                let context = self.context().await;
                data_source.read(&context, config).await
            }
            Err(diagnostics) => ReadDataSourceResponse {
                state: Cty::Null,
                diagnostics,
            },
        }
    }

    async fn validate_action_config(&self, type_name: &str, config: &Cty) -> Diagnostics {
        match self.action(type_name) {
            Ok(action) => action.validate(config),
            Err(diagnostics) => diagnostics,
        }
    }

    async fn plan_action(&self, type_name: &str, config: &Cty) -> Diagnostics {
        // Planning an action is validating it (and the action's own plan checks): no side
        // effect, no API call.
        match self.action(type_name) {
            Ok(action) => action.plan(config),
            Err(diagnostics) => diagnostics,
        }
    }

    async fn invoke_action(
        &self,
        type_name: &str,
        config: Cty,
        progress: ActionProgress,
    ) -> Diagnostics {
        match self.action(type_name) {
            Ok(action) => {
                let context = self.context().await;
                action.invoke(&context, config, progress).await
            }
            Err(diagnostics) => diagnostics,
        }
    }

    fn stop(&self) {
        tracing::info!("stop requested: interrupting in-flight calls");
        self.stop.cancel();
    }
}
