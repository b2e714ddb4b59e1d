//! Data sources: the typed [`DataSource`] trait and its erased form.
//!
//! The framework validates the declarations, decodes the (fully known) configuration at read
//! time and encodes the state the data source returns.

use async_trait::async_trait;

use super::model::{schema_block, Model};
use super::registry::Context;
use super::resource::validate_with;
use crate::protocol::cty::Value as Cty;
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::provider::ReadDataSourceResponse;
use crate::protocol::schema::Schema;

/// A data source type.
#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// Configuration and state (the configuration with computed attributes filled in).
    type State: Model;

    fn type_name(&self) -> &'static str;

    /// Markdown, for the schema and the docs.
    fn description(&self) -> &'static str;

    /// Rules across attributes, after the declared validators. May see unknown values.
    fn validate(&self, config: &Self::State) -> Diagnostics {
        let _ = config;
        Diagnostics::new()
    }

    /// Runs after configure, with a fully known configuration.
    async fn read(
        &self,
        context: &Context<D>,
        config: Self::State,
    ) -> Result<Self::State, Diagnostics>;
}

#[async_trait]
pub(crate) trait AnyDataSource<D>: Send + Sync {
    fn schema(&self) -> Schema;
    fn declarations(&self) -> &'static [super::Decl];
    fn validate(&self, config: &Cty) -> Diagnostics;
    async fn read(&self, context: &Context<D>, config: Cty) -> ReadDataSourceResponse;
}

pub(crate) struct ErasedDataSource<S>(pub S);

#[async_trait]
impl<D: Send + Sync + 'static, S: DataSource<D>> AnyDataSource<D> for ErasedDataSource<S> {
    fn declarations(&self) -> &'static [super::Decl] {
        S::State::declarations()
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: schema_block(S::State::declarations(), self.0.description()),
        }
    }

    fn validate(&self, config: &Cty) -> Diagnostics {
        validate_with::<S::State>(config, |model| self.0.validate(model))
    }

    async fn read(&self, context: &Context<D>, config: Cty) -> ReadDataSourceResponse {
        let diagnostics = self.validate(&config);
        if diagnostics.has_errors() {
            return ReadDataSourceResponse {
                state: Cty::Null,
                diagnostics,
            };
        }
        let result = match S::State::decode(&config) {
            Ok(model) => self.0.read(context, model).await,
            Err(errors) => Err(errors),
        };
        match result {
            Ok(state) => ReadDataSourceResponse {
                state: state.encode(),
                diagnostics,
            },
            Err(errors) => ReadDataSourceResponse {
                state: Cty::Null,
                diagnostics: errors,
            },
        }
    }
}
