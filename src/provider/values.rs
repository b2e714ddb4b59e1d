//! Small readers for the cty values Terraform hands the provider.

use crate::protocol::cty::Value;

static NULL: Value = Value::Null;

/// An attribute of an object value; null when the object is null, unknown or lacks it.
pub fn attr<'a>(object: &'a Value, name: &str) -> &'a Value {
    object.get_attr(name).unwrap_or(&NULL)
}

/// What a configuration slot holds, as far as a provider cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot<T> {
    /// Not known until apply.
    Unknown,
    Null,
    Known(T),
}

/// A string slot. A value of another type (which a decoder driven by the schema never
/// produces) reads as null.
pub fn string_slot(value: &Value) -> Slot<&str> {
    if value.is_unknown() {
        Slot::Unknown
    } else {
        value.as_str().map_or(Slot::Null, Slot::Known)
    }
}

/// Sets a top-level attribute of an object value (no-op on anything that is not an object).
pub fn set_attr(object: &mut Value, name: &str, value: Value) {
    if let Value::Object(attributes) = object {
        attributes.insert(name.to_owned(), value);
    }
}
