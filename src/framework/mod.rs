//! A small provider framework between the wire protocol ([`crate::protocol`]) and a provider:
//! typed values, attribute declarations, typed models and a registry of resources, data sources
//! and actions. It knows neither gRPC nor any cloud — the way terraform-plugin-framework sits
//! on terraform-plugin-go.
//!
//! How a provider is written with it:
//! - Each configuration or state is a struct declared with [`model!`](crate::model): one field
//!   per attribute, each followed by its declaration ([`Attr`], or [`Block`] for a nested
//!   block). Schema, defaults, validation, environment-variable fallbacks and the description
//!   text (schema and docs alike) come from those declarations.
//! - Behaviour implements [`Resource`], [`DataSource`] or [`Action`] over the typed models, and
//!   the provider itself implements [`ProviderDefinition`].
//! - [`Framework`] joins the definition and a [`Registry`] into a
//!   [`Provider`](crate::protocol::provider::Provider): it decodes each value once, runs the
//!   declared validators, fills in defaults, plans computed attributes by their declared
//!   behaviour, splits ApplyResourceChange into create / update / delete, and turns
//!   StopProvider into cancellation of every call in flight.
//! - [`docs`] renders the declarations as the generated part of the registry docs pages.

pub mod action;
pub mod data_source;
pub mod declaration;
pub mod docs;
pub mod environment;
pub mod model;
pub mod registry;
pub mod resource;
pub mod value;

pub use action::Action;
pub use data_source::DataSource;
pub use declaration::{
    field_name, Attr, AttributeDecl, Block, BlockDecl, Decl, DeclKind, Declare, Mode, PlanBehaviour,
};
pub use model::{decode_field, model_type, Model};
pub use registry::{not_registered, Context, Framework, Kind, ProviderDefinition, Registry};
pub use resource::{state_from_json, Applied, Create, PlanChange, Resource, Update};
pub use value::{shape_error, Set, Typed, Value};

#[cfg(test)]
mod tests;
