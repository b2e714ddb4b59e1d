//! cty, the type system of Terraform values, and its two wire encodings (msgpack and JSON).
//!
//! Decoding and encoding are always driven by a [`Type`]: the bytes alone do not say whether an
//! array is a list, a set or a tuple, nor whether a map is a map or an object.

mod json;
mod msgpack;
mod number;
mod types;
mod value;

pub use json::{decode_json, decode_json_value, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use types::Type;
pub use value::{Number, Refinements, Value};

/// How deeply values (and types) may nest. Terraform values from real configurations nest a few
/// dozen levels at most; the limit keeps hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 128;

/// Why bytes could not be read as a value of the expected type, or a value could not be
/// written as one. `path` says where inside the value the problem is (`.a[2]["k"]`); it is empty
/// when the problem is with the value as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}{path}", if path.is_empty() { "" } else { " at " })]
pub struct CodecError {
    pub path: String,
    pub message: String,
}

impl CodecError {
    /// An error about the value being read or written right now; callers further up add the
    /// path steps as the error travels outwards (paths are built only when something fails).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            path: String::new(),
            message: message.into(),
        }
    }

    /// Prefixes the path with `.name`.
    pub(crate) fn in_attribute(mut self, name: &str) -> Self {
        self.path.insert_str(0, &format!(".{name}"));
        self
    }

    /// Prefixes the path with `[index]`.
    pub(crate) fn in_element(mut self, index: usize) -> Self {
        self.path.insert_str(0, &format!("[{index}]"));
        self
    }

    /// Prefixes the path with `["key"]` (the key written as a JSON string).
    pub(crate) fn in_key(mut self, key: &str) -> Self {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""));
        self.path.insert_str(0, &format!("[{quoted}]"));
        self
    }
}

/// The primitive type a value implies on its own, used when a bare string, number or bool is
/// written into a `dynamic` slot without a [`Value::Dynamic`] wrapper. Collections cannot be
/// inferred (an empty list has no element type), so they must come wrapped.
pub(crate) fn implied_primitive_type(value: &Value) -> Option<Type> {
    match value {
        Value::String(_) => Some(Type::String),
        Value::Number(_) => Some(Type::Number),
        Value::Bool(_) => Some(Type::Bool),
        _ => None,
    }
}

/// A short name for what a value is, for error messages.
pub(crate) fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown(_) => "an unknown value",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(..) => "a dynamic value",
    }
}
