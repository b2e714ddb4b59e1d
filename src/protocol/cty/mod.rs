//! cty, the type system of Terraform values, and its two wire encodings (msgpack and JSON).
//!
//! Decoding and encoding are always driven by a [`Type`]: the bytes alone do not say whether an
//! array is a list, a set or a tuple, nor whether a map is a map or an object.

// mod json;
// mod msgpack;
mod types;
mod value;

// pub use json::{decode_json, decode_json_value, encode_json};
// pub use msgpack::{decode_msgpack, encode_msgpack};
pub use types::Type;
pub use value::{Number, Refinements, Value};

/// Why bytes could not be read as a value of the expected type, or a value could not be
/// written as one. `path` says where inside the value the problem is (`.a[2]["k"]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {path}")]
pub struct CodecError {
    pub path: String,
    pub message: String,
}
