//! Values on their way in and out: the bytes of a `DynamicValue`, decoded with a schema type,
//! and answers encoded with the same type.

use crate::protocol::cty::{decode_json, decode_msgpack, encode_msgpack, CodecError, Type, Value};
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};

/// The bytes of a `DynamicValue` as received, before decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireValue {
    pub msgpack: Vec<u8>,
    pub json: Vec<u8>,
}

impl WireValue {
    /// Decodes msgpack, or JSON when only JSON was sent. An absent value is null: Terraform
    /// leaves out e.g. the prior state of a create.
    pub(super) fn decode(&self, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
        let decoded = if !self.msgpack.is_empty() {
            decode_msgpack(&self.msgpack, ty)
        } else if !self.json.is_empty() {
            decode_json(&self.json, ty)
        } else {
            return Ok(Value::Null);
        };
        decoded.map_err(|error| {
            Diagnostic::error(
                format!("Invalid {what}"),
                format!("The {what} sent by Terraform could not be decoded: {error}."),
            )
        })
    }
}

/// A state (or other value) answer: msgpack bytes when encoding worked, plus private data and
/// diagnostics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateOutcome {
    pub state: Option<Vec<u8>>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub(super) fn failed(diagnostics: Diagnostics) -> StateOutcome {
    StateOutcome {
        diagnostics,
        ..StateOutcome::default()
    }
}

pub(super) fn encode_state(
    value: &Value,
    ty: &Type,
    private: Vec<u8>,
    mut diagnostics: Diagnostics,
) -> StateOutcome {
    match encode_msgpack(value, ty) {
        Ok(bytes) => StateOutcome {
            state: Some(bytes),
            private,
            diagnostics,
        },
        Err(error) => {
            diagnostics.push(unencodable(&error));
            StateOutcome {
                state: None,
                private,
                diagnostics,
            }
        }
    }
}

pub(super) fn unencodable(error: &CodecError) -> Diagnostic {
    Diagnostic::error(
        "Provider produced an invalid value",
        format!("The provider's answer does not fit its own schema: {error}. This is a bug in the provider."),
    )
}
