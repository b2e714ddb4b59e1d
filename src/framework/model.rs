//! Typed models: a Rust struct per configuration / state, declared with the [`model!`] macro.
//!
//! Rules:
//! - A model is decoded once from the cty object Terraform sent and encoded back; behaviour
//!   code reads and writes fields, never attributes by name.
//! - Each field is `Value<T>` (an attribute) or `Value<M>` of another model (a nested block),
//!   followed by its declaration: `pub server_ids: Value<Set<String>> = Attr::required()…`.
//!   The field's name is the attribute's name and its type gives the cty type, so the
//!   declaration is the only place an attribute is written down.
//! - Decoding reports every field that does not fit, each at its attribute path; an attribute
//!   missing from the object reads as null.
//!
//! [`model!`]: crate::model

use super::declaration::{Decl, DeclKind};
use super::value::Typed;
use crate::protocol::cty::{Type, Value as Cty};
use crate::protocol::diagnostics::{AttributePath, Diagnostics};
use crate::protocol::schema::{Attribute, Block, NestedBlock, Nesting};

/// A configuration / state struct with its declarations. Implemented by [`model!`].
///
/// [`model!`]: crate::model
pub trait Model: Typed + Clone + Send + Sync + 'static {
    /// One declaration per field, in field order.
    fn declarations() -> &'static [Decl];

    /// Decodes a whole object (the entry point for configuration, plan and state values).
    fn decode(value: &Cty) -> Result<Self, Diagnostics> {
        Self::from_cty(value, &AttributePath::root())
    }

    fn encode(&self) -> Cty {
        self.to_cty()
    }
}

/// The object type of a model: one attribute per declaration.
pub fn model_type(decls: &[Decl]) -> Type {
    Type::Object(
        decls
            .iter()
            .map(|decl| {
                let ty = match &decl.kind {
                    DeclKind::Attribute(attribute) => attribute.ty.clone(),
                    DeclKind::Block(block) => {
                        let inner = (block.object_type)();
                        match block.nesting {
                            Nesting::Single | Nesting::Group => inner,
                            Nesting::List => Type::list(inner),
                            Nesting::Set => Type::set(inner),
                            Nesting::Map => Type::map(inner),
                        }
                    }
                };
                (decl.name.to_owned(), ty)
            })
            .collect(),
    )
}

/// The schema block of a model.
pub fn schema_block(decls: &[Decl], description: &str) -> Block {
    let mut block = Block {
        description: description.to_owned(),
        ..Block::default()
    };
    for decl in decls {
        match &decl.kind {
            DeclKind::Attribute(attribute) => {
                let mode = attribute.mode;
                block.attributes.push(Attribute {
                    name: decl.name.to_owned(),
                    ty: attribute.ty.clone(),
                    description: decl.full_description(),
                    required: mode == super::Mode::Required,
                    optional: matches!(mode, super::Mode::Optional | super::Mode::OptionalComputed),
                    computed: mode.is_computed(),
                    sensitive: attribute.sensitive,
                    deprecated: false,
                })
            }
            DeclKind::Block(nested) => block.block_types.push(NestedBlock {
                type_name: decl.name.to_owned(),
                nesting: nested.nesting,
                min_items: nested.min_items,
                max_items: nested.max_items,
                block: schema_block((nested.declarations)(), &decl.full_description()),
            }),
        }
    }
    block
}

/// Whether the declaration named `name` is a sensitive attribute.
pub fn is_sensitive(decls: &[Decl], name: &str) -> bool {
    decls
        .iter()
        .any(|decl| decl.name == name && decl.attribute().is_some_and(|a| a.sensitive))
}

/// Shows a sensitive field as set or not, never its value.
pub struct Redacted<'a, T>(pub &'a super::Value<T>);

impl<T> std::fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            super::Value::Null => "Null",
            super::Value::Unknown => "Unknown",
            super::Value::Known(_) => "Known(<redacted>)",
        })
    }
}

/// Decodes one field of an object for the `model!` macro; `None` after recording why not.
pub fn decode_field<F: Typed>(
    object: &Cty,
    name: &'static str,
    path: &AttributePath,
    diagnostics: &mut Diagnostics,
) -> Option<F> {
    let value = object.get_attr(name).unwrap_or(&Cty::Null);
    match F::from_cty(value, &path.clone().then_attribute(name)) {
        Ok(field) => Some(field),
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

/// Declares a model struct: fields with their declarations, and the [`Model`] and
/// [`Typed`](crate::framework::Typed) implementations that decode and encode it.
///
/// ```
/// use tfws::framework::{Attr, Set, Value};
/// tfws::model! {
///     /// A toy configuration.
///     pub struct Toy {
///         pub names: Value<Set<String>> = Attr::required().description("Names."),
///         pub r#type: Value<String> = Attr::optional_computed().default("A".to_owned()),
///     }
/// }
/// ```
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident : $field_ty:ty = $decl:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq)]
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $field_ty, )*
        }

        /// Sensitive attributes show only whether they are set.
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let declarations = <Self as $crate::framework::Model>::declarations();
                let mut out = f.debug_struct(stringify!($name));
                $(
                    let name = $crate::framework::field_name(stringify!($field));
                    if $crate::framework::model::is_sensitive(declarations, name) {
                        out.field(stringify!($field), &$crate::framework::model::Redacted(&self.$field));
                    } else {
                        out.field(stringify!($field), &self.$field);
                    }
                )*
                out.finish()
            }
        }

        impl $crate::framework::Model for $name {
            fn declarations() -> &'static [$crate::framework::Decl] {
                static DECLARATIONS: ::std::sync::OnceLock<::std::vec::Vec<$crate::framework::Decl>> =
                    ::std::sync::OnceLock::new();
                DECLARATIONS.get_or_init(|| {
                    ::std::vec![$(
                        $crate::framework::Declare::<$field_ty>::declare(
                            $decl,
                            $crate::framework::field_name(stringify!($field)),
                        )
                    ),*]
                })
            }
        }

        impl $crate::framework::Typed for $name {
            fn cty_type() -> $crate::protocol::cty::Type {
                $crate::framework::model_type(<Self as $crate::framework::Model>::declarations())
            }

            fn from_cty(
                value: &$crate::protocol::cty::Value,
                path: &$crate::protocol::diagnostics::AttributePath,
            ) -> ::std::result::Result<Self, $crate::protocol::diagnostics::Diagnostics> {
                if !matches!(value, $crate::protocol::cty::Value::Object(_)) {
                    return Err($crate::framework::shape_error(path, "an object", value));
                }
                let mut diagnostics = $crate::protocol::diagnostics::Diagnostics::new();
                $(
                    let $field: ::std::option::Option<$field_ty> = $crate::framework::decode_field(
                        value,
                        $crate::framework::field_name(stringify!($field)),
                        path,
                        &mut diagnostics,
                    );
                )*
                match ($($field,)*) {
                    ($(::std::option::Option::Some($field),)*) => Ok(Self { $($field,)* }),
                    #[allow(unreachable_patterns)]
                    _ => Err(diagnostics),
                }
            }

            fn to_cty(&self) -> $crate::protocol::cty::Value {
                $crate::protocol::cty::Value::Object(::std::collections::BTreeMap::from([$(
                    (
                        $crate::framework::field_name(stringify!($field)).to_owned(),
                        $crate::framework::Typed::to_cty(&self.$field),
                    )
                ),*]))
            }
        }
    };
}
