//! Actions (Terraform 1.14): the typed [`Action`] trait and its erased form.
//!
//! Rules: an action keeps no state. Planning an action only validates it (declarations, then
//! [`Action::validate`]) and adds what [`Action::plan`] says about the configuration (warnings,
//! say), with the declared defaults filled in; it never has a side effect. Invoking it decodes
//! the configuration once and runs [`Action::invoke`], whose progress lines stream to the CLI
//! and whose diagnostics become the one Completed event.
//!
//! - An action's configuration is never planned into a state, so its schema has no computed
//!   attributes (terraform-plugin-framework's action schemas cannot declare any either): an
//!   optional + computed declaration (shared with a resource, say) is advertised as optional.
//! - Terraform sends every attribute the configuration leaves out as null; before decoding, a
//!   null attribute with a declared default gets that default, as a resource's plan would.

use async_trait::async_trait;

use super::declaration::Decl;
use super::model::{schema_block, Model};
use super::registry::Context;
use super::resource::validate_with;
use crate::protocol::cty::Value as Cty;
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::provider::ActionProgress;
use crate::protocol::schema::{Block, Schema};

/// An action type. It may share its type name with a resource.
#[async_trait]
pub trait Action<D: Send + Sync + 'static>: Send + Sync + 'static {
    type Config: Model;

    fn type_name(&self) -> &'static str;

    /// Markdown, for the schema and the docs.
    fn description(&self) -> &'static str;

    /// Rules across attributes, after the declared validators. May see unknown values.
    fn validate(&self, config: &Self::Config) -> Diagnostics {
        let _ = config;
        Diagnostics::new()
    }

    /// What PlanAction adds once validation passed: the configuration with its defaults,
    /// which may still hold unknown values. No API call, no side effect.
    fn plan(&self, config: &Self::Config) -> Diagnostics {
        let _ = config;
        Diagnostics::new()
    }

    async fn invoke(
        &self,
        context: &Context<D>,
        config: Self::Config,
        progress: ActionProgress,
    ) -> Diagnostics;
}

#[async_trait]
pub(crate) trait AnyAction<D>: Send + Sync {
    fn schema(&self) -> Schema;
    fn declarations(&self) -> &'static [Decl];
    fn validate(&self, config: &Cty) -> Diagnostics;
    fn plan(&self, config: &Cty) -> Diagnostics;
    async fn invoke(
        &self,
        context: &Context<D>,
        config: Cty,
        progress: ActionProgress,
    ) -> Diagnostics;
}

pub(crate) struct ErasedAction<A>(pub A);

#[async_trait]
impl<D: Send + Sync + 'static, A: Action<D>> AnyAction<D> for ErasedAction<A> {
    fn declarations(&self) -> &'static [Decl] {
        A::Config::declarations()
    }

    fn schema(&self) -> Schema {
        let mut block = schema_block(A::Config::declarations(), self.0.description());
        not_computed(&mut block);
        Schema { version: 0, block }
    }

    fn validate(&self, config: &Cty) -> Diagnostics {
        validate_with::<A::Config>(config, |model| self.0.validate(model))
    }

    fn plan(&self, config: &Cty) -> Diagnostics {
        let mut diagnostics = self.validate(config);
        if diagnostics.has_errors() {
            return diagnostics;
        }
        match A::Config::decode(&with_defaults(A::Config::declarations(), config.clone())) {
            Ok(model) => diagnostics.extend(self.0.plan(&model)),
            Err(errors) => diagnostics.extend(errors),
        }
        diagnostics
    }

    async fn invoke(
        &self,
        context: &Context<D>,
        config: Cty,
        progress: ActionProgress,
    ) -> Diagnostics {
        let diagnostics = self.validate(&config);
        if diagnostics.has_errors() {
            return diagnostics;
        }
        match A::Config::decode(&with_defaults(A::Config::declarations(), config)) {
            Ok(model) => self.0.invoke(context, model, progress).await,
            Err(errors) => errors,
        }
    }
}

/// Optional + computed attributes become optional, in nested blocks too.
fn not_computed(block: &mut Block) {
    for attribute in &mut block.attributes {
        if attribute.optional {
            attribute.computed = false;
        }
    }
    for nested in &mut block.block_types {
        not_computed(&mut nested.block);
    }
}

/// `config` with each null top-level attribute that has a declared default set to it.
fn with_defaults(decls: &[Decl], config: Cty) -> Cty {
    let Cty::Object(mut attributes) = config else {
        return config;
    };
    for decl in decls {
        let Some(default) = decl.attribute().and_then(|a| a.default.as_ref()) else {
            continue;
        };
        let slot = attributes.entry(decl.name.to_owned()).or_insert(Cty::Null);
        if slot.is_null() {
            *slot = default.clone();
        }
    }
    Cty::Object(attributes)
}
