//! Typed values: [`Value<T>`] (known / unknown / null) and the [`Typed`] conversion between a
//! Rust type and a cty value.
//!
//! Rules:
//! - Every top-level attribute of a model is a `Value<T>`: Terraform may send any attribute as
//!   null (left out) or, before apply, as unknown. Inside a known collection, use `Value<T>` as
//!   the element type where elements may themselves be unknown or null (a set of IDs some of
//!   which come from resources not created yet).
//! - Decoding never panics on what Terraform sends: a value of the wrong shape is a diagnostic at
//!   its attribute path. The protocol core has already checked values against the schema type,
//!   so those diagnostics point at a provider bug, not at the user.
//! - Sets are kept in a canonical order (sorted, without duplicates), as cty itself does, so that
//!   two decodings of the same set compare equal.

use std::collections::BTreeMap;

use crate::protocol::cty::{Type, Value as Cty};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};

/// A value that may not be known until apply, or not set at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value<T> {
    /// Not set (left out of the configuration, or never computed).
    #[default]
    Null,
    /// Known only after apply.
    Unknown,
    Known(T),
}

impl<T> From<T> for Value<T> {
    fn from(value: T) -> Self {
        Value::Known(value)
    }
}

impl<T> Value<T> {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Value::Known(_))
    }

    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Value::Known(value) => Some(value),
            Value::Null | Value::Unknown => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Value::Known(value) => Some(value),
            Value::Null | Value::Unknown => None,
        }
    }

    pub fn as_ref(&self) -> Value<&T> {
        match self {
            Value::Known(value) => Value::Known(value),
            Value::Null => Value::Null,
            Value::Unknown => Value::Unknown,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Value<U> {
        match self {
            Value::Known(value) => Value::Known(f(value)),
            Value::Null => Value::Null,
            Value::Unknown => Value::Unknown,
        }
    }
}

/// A set attribute's known value: elements in canonical order, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Set<T>(Vec<T>);

impl<T: Ord> Set<T> {
    pub fn new(elements: impl IntoIterator<Item = T>) -> Self {
        let mut elements: Vec<T> = elements.into_iter().collect();
        elements.sort();
        elements.dedup();
        Set(elements)
    }
}

impl<T> Set<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a, T> IntoIterator for &'a Set<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A Rust type with a cty type, decoded from and encoded to cty values.
pub trait Typed: Sized {
    /// The cty type of this Rust type (for schemas and for JSON state).
    fn cty_type() -> Type;

    /// Reads a value. Only [`Value<T>`] accepts null and unknown; every other type refuses them.
    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics>;

    fn to_cty(&self) -> Cty;
}

/// A value of the wrong shape: the protocol core decodes with the schema's type, so this is a
/// provider bug, reported at the attribute rather than as a panic.
pub fn shape_error(path: &AttributePath, expected: &str, found: &Cty) -> Diagnostics {
    let found = match found {
        Cty::Null => "null",
        Cty::Unknown(_) => "an unknown value",
        Cty::Bool(_) => "a bool",
        Cty::Number(_) => "a number",
        Cty::String(_) => "a string",
        Cty::List(_) | Cty::Tuple(_) => "a list",
        Cty::Set(_) => "a set",
        Cty::Map(_) => "a map",
        Cty::Object(_) => "an object",
        Cty::Dynamic(..) => "a dynamic value",
    };
    Diagnostic::error(
        "Unexpected value",
        format!(
            "{} holds {found} where {expected} was expected; this is a bug in the provider.",
            if path.0.is_empty() {
                "The value".to_owned()
            } else {
                format!("`{path}`")
            }
        ),
    )
    .at(path.clone())
    .into()
}

impl<T: Typed> Typed for Value<T> {
    fn cty_type() -> Type {
        T::cty_type()
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        if value.is_null() {
            Ok(Value::Null)
        } else if value.is_unknown() {
            Ok(Value::Unknown)
        } else {
            T::from_cty(value, path).map(Value::Known)
        }
    }

    fn to_cty(&self) -> Cty {
        match self {
            Value::Null => Cty::Null,
            Value::Unknown => Cty::unknown(),
            Value::Known(value) => value.to_cty(),
        }
    }
}

impl Typed for String {
    fn cty_type() -> Type {
        Type::String
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| shape_error(path, "a string", value))
    }

    fn to_cty(&self) -> Cty {
        Cty::string(self.clone())
    }
}

impl Typed for bool {
    fn cty_type() -> Type {
        Type::Bool
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        value
            .as_bool()
            .ok_or_else(|| shape_error(path, "a bool", value))
    }

    fn to_cty(&self) -> Cty {
        Cty::Bool(*self)
    }
}

/// A number attribute as Terraform holds it (integer, float or long decimal); the behaviour
/// decides which ranges it accepts.
impl Typed for crate::protocol::cty::Number {
    fn cty_type() -> Type {
        Type::Number
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        value
            .as_number()
            .cloned()
            .ok_or_else(|| shape_error(path, "a number", value))
    }

    fn to_cty(&self) -> Cty {
        Cty::Number(self.clone())
    }
}

fn decode_elements<T: Typed>(items: &[Cty], path: &AttributePath) -> Result<Vec<T>, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = path.clone().then_index(index as i64);
        match T::from_cty(item, &at) {
            Ok(element) => out.push(element),
            Err(errors) => diagnostics.extend(errors),
        }
    }
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(out)
    }
}

impl<T: Typed> Typed for Vec<T> {
    fn cty_type() -> Type {
        Type::list(T::cty_type())
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        match value {
            Cty::List(items) => decode_elements(items, path),
            other => Err(shape_error(path, "a list", other)),
        }
    }

    fn to_cty(&self) -> Cty {
        Cty::List(self.iter().map(Typed::to_cty).collect())
    }
}

impl<T: Typed + Ord> Typed for Set<T> {
    fn cty_type() -> Type {
        Type::set(T::cty_type())
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        match value {
            Cty::Set(items) => decode_elements(items, path).map(Set::new),
            other => Err(shape_error(path, "a set", other)),
        }
    }

    fn to_cty(&self) -> Cty {
        Cty::Set(self.0.iter().map(Typed::to_cty).collect())
    }
}

impl<T: Typed> Typed for BTreeMap<String, T> {
    fn cty_type() -> Type {
        Type::map(T::cty_type())
    }

    fn from_cty(value: &Cty, path: &AttributePath) -> Result<Self, Diagnostics> {
        let Cty::Map(entries) = value else {
            return Err(shape_error(path, "a map", value));
        };
        let mut diagnostics = Diagnostics::new();
        let mut out = BTreeMap::new();
        for (key, item) in entries {
            match T::from_cty(item, &path.clone().then_key(key.clone())) {
                Ok(element) => {
                    out.insert(key.clone(), element);
                }
                Err(errors) => diagnostics.extend(errors),
            }
        }
        if diagnostics.has_errors() {
            Err(diagnostics)
        } else {
            Ok(out)
        }
    }

    fn to_cty(&self) -> Cty {
        Cty::Map(
            self.iter()
                .map(|(key, element)| (key.clone(), element.to_cty()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_unknown_and_known_round_trip() {
        let path = AttributePath::attribute("a");
        for cty in [Cty::Null, Cty::unknown(), Cty::string("x")] {
            let value = Value::<String>::from_cty(&cty, &path).expect("decodes");
            assert_eq!(value.to_cty(), cty);
        }
        let map = Cty::Map(BTreeMap::from([
            ("k".to_owned(), Cty::unknown()),
            ("n".to_owned(), Cty::Null),
        ]));
        let decoded = Value::<BTreeMap<String, Value<String>>>::from_cty(&map, &path);
        assert_eq!(decoded.map(|v| v.to_cty()).ok(), Some(map));
    }

    #[test]
    fn sets_are_canonical_and_shapes_are_checked() {
        let path = AttributePath::attribute("ids");
        let set = Cty::Set(vec![Cty::string("b"), Cty::string("a"), Cty::string("b")]);
        let decoded = Set::<String>::from_cty(&set, &path).expect("decodes");
        assert_eq!(decoded.iter().collect::<Vec<_>>(), ["a", "b"]);
        let wrong = Set::<String>::from_cty(&Cty::Set(vec![Cty::Bool(true)]), &path);
        let Err(diagnostics) = wrong else {
            panic!("a bool is not a string")
        };
        assert_eq!(
            diagnostics.0[0].attribute,
            Some(AttributePath::attribute("ids").then_index(0))
        );
        assert!(String::from_cty(&Cty::Null, &path).is_err());
    }
}
