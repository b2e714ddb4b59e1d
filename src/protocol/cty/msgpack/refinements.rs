//! The payload of extension type 12: what Terraform (>= 1.6) knows about an unknown value.
//!
//! The payload is a msgpack map with small integer keys (go-cty `cty/msgpack/unknown.go`):
//! 1 nullness (bool, `false` = definitely not null), 2 string prefix, 3 / 4 number lower /
//! upper bound as `[number, inclusive]`, 5 / 6 collection length lower / upper bound.
//! Unknown keys are skipped and bytes after the map ignored, as go-cty does. A payload that
//! does not fit these rules still stands for an unknown value, just one without refinements.

use super::decode::Reader;
use crate::protocol::cty::{CodecError, Number, Refinements, Type};

/// The extension type go-cty uses for unknowns that carry refinements.
const REFINED_UNKNOWN: i8 = 12;
/// go-cty refuses larger payloads as abusive; here they simply carry no refinements.
const MAX_PAYLOAD: usize = 1024;

const NULLNESS: i64 = 1;
const STRING_PREFIX: i64 = 2;
const NUMBER_LOWER: i64 = 3;
const NUMBER_UPPER: i64 = 4;
const LENGTH_LOWER: i64 = 5;
const LENGTH_UPPER: i64 = 6;

/// The refinements of an unknown value of type `ty` read from an extension of type `type_id`.
pub(super) fn parse(type_id: i8, payload: &[u8], ty: &Type) -> Refinements {
    // A payload of 0 or 1 bytes is go-cty's "wholly unknown"; refinements on a dynamic value
    // are ignored by go-cty too.
    if type_id != REFINED_UNKNOWN || payload.len() <= 1 || payload.len() > MAX_PAYLOAD {
        return Refinements::default();
    }
    if *ty == Type::Dynamic {
        return Refinements::default();
    }
    parse_map(payload, ty).unwrap_or_default()
}

fn parse_map(payload: &[u8], ty: &Type) -> Result<Refinements, CodecError> {
    let mut reader = Reader::new(payload);
    let mut refinements = Refinements::default();
    let is_collection = matches!(ty, Type::List(_) | Type::Set(_) | Type::Map(_));
    for _ in 0..reader.map_len("a refinement map")? {
        match reader.int()? {
            NULLNESS => refinements.nullable = Some(reader.bool()?),
            STRING_PREFIX if *ty == Type::String => {
                refinements.string_prefix = Some(reader.string()?)
            }
            NUMBER_LOWER if *ty == Type::Number => {
                refinements.number_lower = Some(number_bound(&mut reader)?)
            }
            NUMBER_UPPER if *ty == Type::Number => {
                refinements.number_upper = Some(number_bound(&mut reader)?)
            }
            LENGTH_LOWER if is_collection => refinements.length_lower = Some(reader.int()?),
            LENGTH_UPPER if is_collection => refinements.length_upper = Some(reader.int()?),
            key @ STRING_PREFIX..=LENGTH_UPPER => {
                return Err(CodecError::new(format!(
                    "refinement {key} does not apply to {}",
                    ty.kind()
                )))
            }
            _ => reader.skip(0)?,
        }
    }
    Ok(refinements)
}

/// `[number, inclusive]`.
fn number_bound(reader: &mut Reader<'_>) -> Result<(Number, bool), CodecError> {
    if reader.array_len("a [number, inclusive] bound")? != 2 {
        return Err(CodecError::new(
            "a number bound must be a [number, inclusive] array",
        ));
    }
    let bound = reader.number()?;
    let inclusive = reader.bool()?;
    Ok((bound, inclusive))
}
