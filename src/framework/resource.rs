//! Resources: the typed [`Resource`] trait a provider implements, and its erased form that the
//! registry dispatches to.
//!
//! Rules:
//! - The framework decodes configuration, prior state and plan into the resource's model once,
//!   validates the declarations, fills in defaults, and splits ApplyResourceChange into
//!   [`Resource::create`], [`Resource::update`] and [`Resource::delete`].
//! - Planning: the framework fills in declared defaults, then calls [`Resource::plan`], which
//!   may add diagnostics, private data and decide whether an update does work
//!   ([`PlanChange::acts`]); then each computed attribute is planned by its declared
//!   [`PlanBehaviour`]. Attributes that are not computed are planned exactly as proposed — a
//!   provider may not change them, and their unknown values keep their refinements.
//! - Destroy plans null without asking the resource.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::declaration::{validate_object, Decl, PlanBehaviour};
use super::model::{schema_block, Model};
use super::registry::Context;
use crate::protocol::cty::{decode_json_value, Value as Cty};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::{
    ApplyRequest, ApplyResponse, ImportResponse, ImportedResource, PlanRequest, PlanResponse,
    ReadResponse, UpgradeResponse,
};
use crate::protocol::schema::Schema;

/// A plan in the making, as [`Resource::plan`] sees it.
#[derive(Clone, Debug)]
pub struct PlanChange<M> {
    /// `None` when the object is being created.
    pub prior: Option<M>,
    pub config: M,
    /// The proposed new state with declared defaults filled in. Computed attributes are planned
    /// by their declared behaviour after `plan` returns.
    pub planned: M,
    pub prior_private: Vec<u8>,
    /// Whether applying this change does work; attributes declared
    /// [`PlanBehaviour::UnknownWhenActing`] become unknown when it does. True on create.
    pub acts: bool,
    /// Private data handed to the apply; the prior private data unless changed.
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// What ApplyResourceChange sends for a create.
#[derive(Clone, Debug)]
pub struct Create<M> {
    pub planned: M,
    pub config: M,
    pub private: Vec<u8>,
}

/// What ApplyResourceChange sends for an update.
#[derive(Clone, Debug)]
pub struct Update<M> {
    pub prior: M,
    pub planned: M,
    pub config: M,
    pub private: Vec<u8>,
}

/// The outcome of a create or an update.
#[derive(Clone, Debug)]
pub struct Applied<M> {
    /// The state to save; `None` saves nothing (on a failed update Terraform keeps the prior
    /// state, on a failed create nothing at all).
    pub state: Option<M>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl<M> Applied<M> {
    /// Nothing was done; `diagnostic` says why.
    pub fn nothing(diagnostic: Diagnostic) -> Self {
        Self {
            state: None,
            private: Vec::new(),
            diagnostics: diagnostic.into(),
        }
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// Configuration, plan and state (one shape, as in Terraform).
    type State: Model;

    fn type_name(&self) -> &'static str;

    /// Markdown, for the schema and the docs.
    fn description(&self) -> &'static str;

    /// The state schema version.
    fn version(&self) -> i64 {
        0
    }

    /// Rules across attributes, after the declared validators. May see unknown values.
    fn validate(&self, config: &Self::State) -> Diagnostics {
        let _ = config;
        Diagnostics::new()
    }

    async fn plan(&self, context: &Context<D>, change: &mut PlanChange<Self::State>) {
        let _ = (context, change);
    }

    async fn create(
        &self,
        context: &Context<D>,
        request: Create<Self::State>,
    ) -> Applied<Self::State>;

    async fn update(
        &self,
        context: &Context<D>,
        request: Update<Self::State>,
    ) -> Applied<Self::State>;

    /// Destroys the object; the default calls nothing (state-only resources).
    async fn delete(&self, context: &Context<D>, prior: Self::State) -> Diagnostics {
        let _ = (context, prior);
        Diagnostics::new()
    }

    /// Refreshes the state; the default keeps state and private data unchanged (resources whose
    /// state is their own record).
    async fn read(
        &self,
        context: &Context<D>,
        state: Self::State,
        private: Vec<u8>,
    ) -> (Option<Self::State>, Vec<u8>, Diagnostics) {
        let _ = context;
        (Some(state), private, Diagnostics::new())
    }

    /// Reads stored JSON state of an older (or the current) schema version. The default reads
    /// the current version only, with [`state_from_json`].
    fn upgrade(&self, version: i64, raw_state: &Json) -> Result<Self::State, Diagnostics> {
        if version != self.version() {
            return Err(Diagnostic::error(
                "Unsupported state version",
                format!(
                    "This {} state was written with schema version {version}, but this provider \
                     knows version {}.",
                    self.type_name(),
                    self.version()
                ),
            )
            .into());
        }
        state_from_json(self.type_name(), raw_state)
    }

    /// Imports an object by ID; the default refuses.
    fn import(&self, id: &str) -> Result<(Self::State, Vec<u8>), Diagnostics> {
        let _ = id;
        Err(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        )
        .into())
    }
}

/// Stored JSON state in the current shape: each declared attribute read with its type (missing
/// ones are null), attributes no longer declared dropped, every unreadable one reported at its
/// path.
pub fn state_from_json<M: Model>(type_name: &str, raw_state: &Json) -> Result<M, Diagnostics> {
    let Some(object) = raw_state.as_object() else {
        return Err(Diagnostic::error(
            "Unreadable state",
            format!("The stored {type_name} state is not a JSON object."),
        )
        .into());
    };
    let mut diagnostics = Diagnostics::new();
    let mut attributes = std::collections::BTreeMap::new();
    let crate::protocol::cty::Type::Object(types) = M::cty_type() else {
        return Err(Diagnostic::error("Unreadable state", "A model is not an object.").into());
    };
    for (name, ty) in types {
        let value = match object.get(&name) {
            None | Some(Json::Null) => Cty::Null,
            Some(json) => decode_json_value(json, &ty).unwrap_or_else(|_| {
                diagnostics.push(
                    Diagnostic::error(
                        "Unreadable state",
                        format!("The stored attribute {name:?} does not have the expected type."),
                    )
                    .at(AttributePath::attribute(name.clone())),
                );
                Cty::Null
            }),
        };
        attributes.insert(name, value);
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    M::decode(&Cty::Object(attributes))
}

/// A resource as the registry holds it: cty values in, cty values out.
#[async_trait]
pub(crate) trait AnyResource<D>: Send + Sync {
    fn schema(&self) -> Schema;
    fn declarations(&self) -> &'static [super::Decl];
    fn validate(&self, config: &Cty) -> Diagnostics;
    async fn plan(&self, context: &Context<D>, request: PlanRequest) -> PlanResponse;
    async fn apply(&self, context: &Context<D>, request: ApplyRequest) -> ApplyResponse;
    async fn read(&self, context: &Context<D>, state: Cty, private: Vec<u8>) -> ReadResponse;
    fn upgrade(&self, version: i64, raw_state: &Json) -> UpgradeResponse;
    fn import(&self, id: &str) -> ImportResponse;
}

pub(crate) struct Erased<R>(pub R);

/// Validation of a configuration: the declarations' validators, then the resource's own rules
/// on the decoded model.
pub(crate) fn validate_with<M: Model>(
    config: &Cty,
    rules: impl FnOnce(&M) -> Diagnostics,
) -> Diagnostics {
    let mut diagnostics = validate_object(M::declarations(), config, &AttributePath::root());
    match M::decode(config) {
        Ok(model) => diagnostics.extend(rules(&model)),
        Err(errors) => diagnostics.extend(errors),
    }
    diagnostics
}

#[async_trait]
impl<D: Send + Sync + 'static, R: Resource<D>> AnyResource<D> for Erased<R> {
    fn declarations(&self) -> &'static [super::Decl] {
        R::State::declarations()
    }

    fn schema(&self) -> Schema {
        Schema {
            version: self.0.version(),
            block: schema_block(R::State::declarations(), self.0.description()),
        }
    }

    fn validate(&self, config: &Cty) -> Diagnostics {
        validate_with::<R::State>(config, |model| self.0.validate(model))
    }

    async fn plan(&self, context: &Context<D>, request: PlanRequest) -> PlanResponse {
        if request.proposed_new_state.is_null() {
            return PlanResponse::default();
        }
        // Terraform validates before planning, but only with the values known then; the plan
        // at apply time sees the final ones.
        let diagnostics = self.validate(&request.config);
        if diagnostics.has_errors() {
            return plan_failure(request.proposed_new_state, diagnostics);
        }
        let decls = R::State::declarations();
        let mut proposed = request.proposed_new_state;
        fill_defaults(decls, &mut proposed, &request.config);
        let mut change = match PlanChange::<R::State>::decode(
            &request.prior_state,
            &request.config,
            &proposed,
            request.prior_private,
            diagnostics,
        ) {
            Ok(change) => change,
            Err(errors) => return plan_failure(proposed, errors),
        };
        let before = change.planned.encode();
        self.0.plan(context, &mut change).await;
        plan_computed(decls, &mut proposed, &request.prior_state, &change, &before);
        PlanResponse {
            requires_replace: replacing(decls, &request.prior_state, &proposed),
            planned_state: proposed,
            planned_private: change.planned_private,
            diagnostics: change.diagnostics,
        }
    }

    async fn apply(&self, context: &Context<D>, request: ApplyRequest) -> ApplyResponse {
        if request.planned_state.is_null() {
            let diagnostics = match R::State::decode(&request.prior_state) {
                Ok(prior) => self.0.delete(context, prior).await,
                Err(errors) => errors,
            };
            return ApplyResponse {
                new_state: Cty::Null,
                private: Vec::new(),
                diagnostics,
            };
        }
        let (planned, config) = match (
            R::State::decode(&request.planned_state),
            R::State::decode(&request.config),
        ) {
            (Ok(planned), Ok(config)) => (planned, config),
            (Err(errors), _) | (_, Err(errors)) => return apply_failure(errors),
        };
        let applied = if request.prior_state.is_null() {
            let create = Create {
                planned,
                config,
                private: request.planned_private,
            };
            self.0.create(context, create).await
        } else {
            let prior = match R::State::decode(&request.prior_state) {
                Ok(prior) => prior,
                Err(errors) => return apply_failure(errors),
            };
            let update = Update {
                prior,
                planned,
                config,
                private: request.planned_private,
            };
            self.0.update(context, update).await
        };
        ApplyResponse {
            new_state: applied.state.map_or(Cty::Null, |state| state.encode()),
            private: applied.private,
            diagnostics: applied.diagnostics,
        }
    }

    async fn read(&self, context: &Context<D>, state: Cty, private: Vec<u8>) -> ReadResponse {
        let model = match R::State::decode(&state) {
            Ok(model) => model,
            Err(diagnostics) => {
                return ReadResponse {
                    new_state: state,
                    private,
                    diagnostics,
                }
            }
        };
        let (model, private, diagnostics) = self.0.read(context, model, private).await;
        ReadResponse {
            new_state: model.map_or(Cty::Null, |model| model.encode()),
            private,
            diagnostics,
        }
    }

    fn upgrade(&self, version: i64, raw_state: &Json) -> UpgradeResponse {
        match self.0.upgrade(version, raw_state) {
            Ok(model) => UpgradeResponse {
                upgraded_state: model.encode(),
                diagnostics: Diagnostics::new(),
            },
            Err(diagnostics) => UpgradeResponse {
                upgraded_state: Cty::Null,
                diagnostics,
            },
        }
    }

    fn import(&self, id: &str) -> ImportResponse {
        match self.0.import(id) {
            Ok((state, private)) => ImportResponse {
                imported: vec![ImportedResource {
                    type_name: self.0.type_name().to_owned(),
                    state: state.encode(),
                    private,
                }],
                diagnostics: Diagnostics::new(),
            },
            Err(diagnostics) => ImportResponse {
                imported: Vec::new(),
                diagnostics,
            },
        }
    }
}

impl<M: Model> PlanChange<M> {
    /// The models of a plan request; nothing acts yet except a create.
    fn decode(
        prior: &Cty,
        config: &Cty,
        proposed: &Cty,
        prior_private: Vec<u8>,
        diagnostics: Diagnostics,
    ) -> Result<Self, Diagnostics> {
        let prior = if prior.is_null() {
            None
        } else {
            Some(M::decode(prior)?)
        };
        Ok(PlanChange {
            acts: prior.is_none(),
            prior,
            config: M::decode(config)?,
            planned: M::decode(proposed)?,
            planned_private: prior_private.clone(),
            prior_private,
            diagnostics,
        })
    }
}

/// Optional + computed attributes left out of the configuration get their declared default —
/// not the prior value, so removing `type = "HARD"` from a configuration plans the default.
fn fill_defaults(decls: &[Decl], proposed: &mut Cty, config: &Cty) {
    for decl in decls {
        let Some(default) = decl.attribute().and_then(|a| a.default.as_ref()) else {
            continue;
        };
        if config.get_attr(decl.name).is_none_or(Cty::is_null) {
            set(proposed, decl.name, default.clone());
        }
    }
}

/// Plans each computed attribute by its declared behaviour; values the resource set in its
/// plan replace the proposed ones, and untouched ones stay exactly as proposed (an unknown
/// value keeps its refinements). Other attributes are never changed.
fn plan_computed<M: Model>(
    decls: &[Decl],
    proposed: &mut Cty,
    prior: &Cty,
    change: &PlanChange<M>,
    before: &Cty,
) {
    let from_model = change.planned.encode();
    for decl in decls {
        let Some(attribute) = decl.attribute().filter(|a| a.mode.is_computed()) else {
            continue;
        };
        let prior_value = prior.get_attr(decl.name).filter(|value| !value.is_null());
        let planned = match (attribute.plan, prior_value) {
            (PlanBehaviour::KeepPrior, Some(prior)) => prior.clone(),
            (PlanBehaviour::KeepPrior, None) => Cty::unknown(),
            (PlanBehaviour::UnknownWhenActing, _) if change.acts || change.prior.is_none() => {
                Cty::unknown()
            }
            (PlanBehaviour::UnknownWhenActing, _) => {
                prior.get_attr(decl.name).cloned().unwrap_or(Cty::Null)
            }
            _ if from_model.get_attr(decl.name) != before.get_attr(decl.name) => {
                from_model.get_attr(decl.name).cloned().unwrap_or(Cty::Null)
            }
            _ => continue,
        };
        set(proposed, decl.name, planned);
    }
}

/// Attributes declared [`PlanBehaviour::RequiresReplace`] whose planned value differs from
/// the prior one.
fn replacing(decls: &[Decl], prior: &Cty, planned: &Cty) -> Vec<AttributePath> {
    if prior.is_null() {
        return Vec::new();
    }
    decls
        .iter()
        .filter(|decl| {
            decl.attribute()
                .is_some_and(|a| a.plan == PlanBehaviour::RequiresReplace)
        })
        .filter(|decl| prior.get_attr(decl.name) != planned.get_attr(decl.name))
        .map(|decl| AttributePath::attribute(decl.name))
        .collect()
}

/// Sets a top-level attribute of an object value.
fn set(object: &mut Cty, name: &str, value: Cty) {
    if let Cty::Object(attributes) = object {
        attributes.insert(name.to_owned(), value);
    }
}

fn plan_failure(planned_state: Cty, diagnostics: Diagnostics) -> PlanResponse {
    PlanResponse {
        planned_state,
        diagnostics,
        ..PlanResponse::default()
    }
}

fn apply_failure(diagnostics: Diagnostics) -> ApplyResponse {
    ApplyResponse {
        new_state: Cty::Null,
        private: Vec::new(),
        diagnostics,
    }
}
