//! Attribute and block declarations: one declaration per attribute says everything about it.
//!
//! Rules:
//! - A declaration gives the attribute's role (required / optional / computed), whether it is
//!   sensitive, its markdown description, its default, its validators, how a plan treats it and,
//!   for provider arguments, the environment variable it falls back to. Its name is the model
//!   field's name (`r#type` declares `type`) and its cty type is the field's Rust type, so
//!   neither can be written twice.
//! - The schema, the default filled in at plan time, validation, the description text shown by
//!   `terraform providers schema` and the generated docs all read the declaration; nothing else
//!   lists attributes.
//! - Validators are typed: they see the known value (never null, never unknown — unknown values
//!   are checked again at plan time, when Terraform plans with the final values) and return
//!   diagnostics; the framework points those without a path at the attribute.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::model::Model;
use super::value::{Typed, Value};
use crate::protocol::cty::{Type, Value as Cty};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::schema::Nesting;

/// Who sets an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; null otherwise.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The configuration may set it; otherwise its default (or the prior value) is planned.
    OptionalComputed,
}

impl Mode {
    pub fn is_computed(self) -> bool {
        matches!(self, Mode::Computed | Mode::OptionalComputed)
    }
}

/// How a plan treats an attribute besides defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanBehaviour {
    /// The proposed value: the configuration's, or for a computed attribute left out, the
    /// default (when declared) or the prior value.
    Proposed,
    /// Computed once: unknown when the object is created, the prior value ever after.
    KeepPrior,
    /// Computed by the work an apply does: unknown on create and whenever the plan says the
    /// update does work (`PlanChange::acts`), the prior value otherwise. So the plan shows
    /// "(known after apply)" exactly when something will happen.
    UnknownWhenActing,
    /// A change of this attribute replaces the object.
    RequiresReplace,
}

/// A typed validator of an attribute's known value.
pub type Validator<T> = fn(&T) -> Vec<Diagnostic>;

type ErasedValidator = Arc<dyn Fn(&Cty, &AttributePath) -> Diagnostics + Send + Sync>;

/// One declared attribute or nested block, erased from its Rust type.
#[derive(Clone)]
pub struct Decl {
    pub name: &'static str,
    /// Markdown, without the default and environment notes (see [`Decl::full_description`]).
    pub description: &'static str,
    pub kind: DeclKind,
}

#[derive(Clone)]
pub enum DeclKind {
    Attribute(AttributeDecl),
    Block(BlockDecl),
}

#[derive(Clone)]
pub struct AttributeDecl {
    pub ty: Type,
    pub mode: Mode,
    pub sensitive: bool,
    /// Planned when the configuration leaves the attribute out (optional + computed only).
    pub default: Option<Cty>,
    /// Provider arguments: the environment variable read when the argument is null or empty.
    pub env: Option<&'static str>,
    pub plan: PlanBehaviour,
    validators: Vec<ErasedValidator>,
}

#[derive(Clone)]
pub struct BlockDecl {
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
    /// The nested model's declarations.
    pub declarations: fn() -> &'static [Decl],
    /// The nested model's object type.
    pub object_type: fn() -> Type,
}

impl fmt::Debug for Decl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decl")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl Decl {
    pub fn attribute(&self) -> Option<&AttributeDecl> {
        match &self.kind {
            DeclKind::Attribute(attribute) => Some(attribute),
            DeclKind::Block(_) => None,
        }
    }

    pub fn block(&self) -> Option<&BlockDecl> {
        match &self.kind {
            DeclKind::Block(block) => Some(block),
            DeclKind::Attribute(_) => None,
        }
    }

    /// The description as the schema and the docs show it: the declared text, then the default
    /// and the environment variable when there are any.
    pub fn full_description(&self) -> String {
        let mut text = self.description.trim().to_owned();
        if let DeclKind::Attribute(attribute) = &self.kind {
            if let Some(default) = &attribute.default {
                text.push_str(&format!(" Default: `{}`.", render_literal(default)));
            }
            if let Some(env) = attribute.env {
                text.push_str(&format!(" Environment variable: `{env}`."));
            }
        }
        text
    }

    /// Runs the declared validators on this attribute's value (skipping null and unknown), and
    /// on nested blocks' attributes.
    pub fn validate(&self, value: &Cty, path: &AttributePath) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        if value.is_null() || value.is_unknown() {
            return diagnostics;
        }
        match &self.kind {
            DeclKind::Attribute(attribute) => {
                for validator in &attribute.validators {
                    diagnostics.extend(validator(value, path));
                }
            }
            DeclKind::Block(block) => {
                diagnostics.extend(validate_object((block.declarations)(), value, path));
            }
        }
        diagnostics
    }
}

/// Validators of every declaration against an object value.
pub fn validate_object(decls: &[Decl], object: &Cty, path: &AttributePath) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    for decl in decls {
        let value = object.get_attr(decl.name).unwrap_or(&Cty::Null);
        diagnostics.extend(decl.validate(value, &path.clone().then_attribute(decl.name)));
    }
    diagnostics
}

/// A literal as HCL shows it: `"SOFT"`, `true`, `5`.
pub fn render_literal(value: &Cty) -> String {
    match value {
        Cty::String(text) => format!("{text:?}"),
        Cty::Bool(flag) => flag.to_string(),
        Cty::Number(crate::protocol::cty::Number::Int(int)) => int.to_string(),
        Cty::Number(crate::protocol::cty::Number::Float(float)) => float.to_string(),
        Cty::Number(crate::protocol::cty::Number::Decimal(text)) => text.clone(),
        other => format!("{other:?}"),
    }
}

/// Builds the declaration of an attribute whose model field is `Value<T>`.
pub struct Attr<T> {
    mode: Mode,
    description: &'static str,
    sensitive: bool,
    default: Option<Cty>,
    env: Option<&'static str>,
    plan: PlanBehaviour,
    validators: Vec<Validator<T>>,
    _type: PhantomData<fn() -> T>,
}

impl<T: Typed + 'static> Attr<T> {
    fn new(mode: Mode) -> Self {
        Self {
            mode,
            description: "",
            sensitive: false,
            default: None,
            env: None,
            plan: PlanBehaviour::Proposed,
            validators: Vec::new(),
            _type: PhantomData,
        }
    }

    pub fn required() -> Self {
        Self::new(Mode::Required)
    }

    pub fn optional() -> Self {
        Self::new(Mode::Optional)
    }

    pub fn computed() -> Self {
        Self::new(Mode::Computed)
    }

    pub fn optional_computed() -> Self {
        Self::new(Mode::OptionalComputed)
    }

    /// Markdown; one or two sentences. Defaults and environment variables are added to it.
    pub fn description(mut self, text: &'static str) -> Self {
        self.description = text;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Planned when the configuration leaves the attribute out; the attribute should be
    /// optional + computed. Provider arguments: applied by the provider after the environment
    /// fallback.
    pub fn default(mut self, value: T) -> Self {
        self.default = Some(value.to_cty());
        self
    }

    /// Provider arguments: the environment variable read when the argument is null or empty.
    pub fn env(mut self, variable: &'static str) -> Self {
        self.env = Some(variable);
        self
    }

    pub fn plan(mut self, behaviour: PlanBehaviour) -> Self {
        self.plan = behaviour;
        self
    }

    pub fn validate(mut self, validator: Validator<T>) -> Self {
        self.validators.push(validator);
        self
    }
}

/// Builds the declaration of a nested block whose model field is `Value<M>`.
pub struct Block<M> {
    nesting: Nesting,
    description: &'static str,
    max_items: i64,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Block<M> {
    /// A block that may appear at most once (`timeouts { … }`).
    pub fn single() -> Self {
        Self {
            nesting: Nesting::Single,
            description: "",
            max_items: 0,
            _model: PhantomData,
        }
    }

    pub fn description(mut self, text: &'static str) -> Self {
        self.description = text;
        self
    }
}

/// Turns a builder into a [`Decl`] for a model field of type `F`; used by the `model!` macro,
/// which passes the field's name.
pub trait Declare<F> {
    fn declare(self, name: &'static str) -> Decl;
}

impl<T: Typed + 'static> Declare<Value<T>> for Attr<T> {
    fn declare(self, name: &'static str) -> Decl {
        let validators: Vec<ErasedValidator> = self
            .validators
            .into_iter()
            .map(|validator| -> ErasedValidator {
                Arc::new(
                    move |value: &Cty, path: &AttributePath| match T::from_cty(value, path) {
                        Ok(typed) => validator(&typed)
                            .into_iter()
                            .map(|diagnostic| match diagnostic.attribute {
                                Some(_) => diagnostic,
                                None => diagnostic.at(path.clone()),
                            })
                            .collect(),
                        Err(diagnostics) => diagnostics,
                    },
                )
            })
            .collect();
        Decl {
            name,
            description: self.description,
            kind: DeclKind::Attribute(AttributeDecl {
                ty: T::cty_type(),
                mode: self.mode,
                sensitive: self.sensitive,
                default: self.default,
                env: self.env,
                plan: self.plan,
                validators,
            }),
        }
    }
}

impl<M: Model> Declare<Value<M>> for Block<M> {
    fn declare(self, name: &'static str) -> Decl {
        Decl {
            name,
            description: self.description,
            kind: DeclKind::Block(BlockDecl {
                nesting: self.nesting,
                min_items: 0,
                max_items: self.max_items,
                declarations: M::declarations,
                object_type: M::cty_type,
            }),
        }
    }
}

/// The attribute name of a model field: `r#type` declares `type`.
pub fn field_name(field: &'static str) -> &'static str {
    field.strip_prefix("r#").unwrap_or(field)
}
