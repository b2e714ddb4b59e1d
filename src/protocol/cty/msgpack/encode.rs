//! [`Value`] → msgpack bytes, driven by the [`Type`] of the slot being written.

use super::UNKNOWN_BYTES;
use crate::protocol::cty::number::{parse_decimal, DecimalText};
use crate::protocol::cty::{
    implied_primitive_type, value_kind, CodecError, Number, Type, Value, MAX_DEPTH,
};
use std::collections::BTreeMap;

pub(super) fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(128);
    write_value(&mut out, value, ty, 0)?;
    Ok(out)
}

/// Runs one of rmp's low-level write functions. Writing into a Vec cannot fail, but the
/// functions are generic over fallible writers, so the error is still mapped.
fn rmp_write<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), CodecError> {
    result
        .map(|_| ())
        .map_err(|e| CodecError::new(format!("cannot write msgpack: {e}")))
}

fn length(len: usize) -> Result<u32, CodecError> {
    u32::try_from(len).map_err(|_| CodecError::new("too many elements for msgpack"))
}

fn mismatch(ty: &Type, value: &Value) -> CodecError {
    CodecError::new(format!(
        "{} is required, found {}",
        ty.kind(),
        value_kind(value)
    ))
}

fn write_value(
    out: &mut Vec<u8>,
    value: &Value,
    ty: &Type,
    depth: usize,
) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::new("nested too deeply"));
    }
    match (ty, value) {
        // In a dynamic slot, null and unknown carry no type (go-cty writes a plain nil or
        // extension for cty.NullVal/UnknownVal(DynamicPseudoType)); anything else is
        // `[type JSON, value]`.
        (Type::Dynamic, Value::Null) => rmp_write(rmp::encode::write_nil(out)),
        (Type::Dynamic, Value::Unknown(_)) => {
            out.extend_from_slice(&UNKNOWN_BYTES);
            Ok(())
        }
        (Type::Dynamic, Value::Dynamic(concrete, inner)) => {
            write_dynamic(out, concrete, inner, depth)
        }
        (Type::Dynamic, bare) => match implied_primitive_type(bare) {
            Some(concrete) => write_dynamic(out, &concrete, bare, depth),
            None => Err(CodecError::new(format!(
                "{} in a dynamic slot needs its type (Value::Dynamic)",
                value_kind(bare)
            ))),
        },
        // A wrapped value in a slot of a concrete type: the slot's type decides.
        (_, Value::Dynamic(_, inner)) => write_value(out, inner, ty, depth),
        (_, Value::Unknown(_)) => {
            out.extend_from_slice(&UNKNOWN_BYTES);
            Ok(())
        }
        (_, Value::Null) => rmp_write(rmp::encode::write_nil(out)),
        (Type::String, Value::String(text)) => rmp_write(rmp::encode::write_str(out, text)),
        (Type::Number, Value::Number(number)) => write_number(out, number),
        (Type::Bool, Value::Bool(flag)) => rmp_write(rmp::encode::write_bool(out, *flag)),
        (Type::List(element), Value::List(items)) | (Type::Set(element), Value::Set(items)) => {
            rmp_write(rmp::encode::write_array_len(out, length(items.len())?))?;
            for (index, item) in items.iter().enumerate() {
                write_value(out, item, element, depth + 1).map_err(|e| e.in_element(index))?;
            }
            Ok(())
        }
        (Type::Tuple(elements), Value::Tuple(items)) => {
            if items.len() != elements.len() {
                return Err(CodecError::new(format!(
                    "a tuple of {} elements is required, found {}",
                    elements.len(),
                    items.len()
                )));
            }
            rmp_write(rmp::encode::write_array_len(out, length(items.len())?))?;
            for (index, (item, element)) in items.iter().zip(elements).enumerate() {
                write_value(out, item, element, depth + 1).map_err(|e| e.in_element(index))?;
            }
            Ok(())
        }
        (Type::Map(element), Value::Map(entries)) => {
            rmp_write(rmp::encode::write_map_len(out, length(entries.len())?))?;
            for (key, item) in entries {
                rmp_write(rmp::encode::write_str(out, key))?;
                write_value(out, item, element, depth + 1).map_err(|e| e.in_key(key))?;
            }
            Ok(())
        }
        (Type::Object(attributes), Value::Object(values)) => {
            write_object(out, attributes, values, depth)
        }
        (_, value) => Err(mismatch(ty, value)),
    }
}

fn write_dynamic(
    out: &mut Vec<u8>,
    concrete: &Type,
    inner: &Value,
    depth: usize,
) -> Result<(), CodecError> {
    rmp_write(rmp::encode::write_array_len(out, 2))?;
    // go-cty writes the type JSON as msgpack bin.
    let type_json = concrete.to_json_bytes();
    rmp_write(rmp::encode::write_bin(out, &type_json))?;
    write_value(out, inner, concrete, depth + 1)
}

/// One entry per attribute of the type, in sorted order (BTreeMap order is byte order, as
/// go-cty sorts). A value missing an attribute, or carrying one the type lacks, is an error:
/// Terraform rejects objects whose attributes do not match the schema exactly.
fn write_object(
    out: &mut Vec<u8>,
    attributes: &BTreeMap<String, Type>,
    values: &BTreeMap<String, Value>,
    depth: usize,
) -> Result<(), CodecError> {
    if let Some(extra) = values.keys().find(|name| !attributes.contains_key(*name)) {
        return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
    }
    rmp_write(rmp::encode::write_map_len(out, length(attributes.len())?))?;
    for (name, ty) in attributes {
        let value = values
            .get(name)
            .ok_or_else(|| CodecError::new(format!("missing attribute {name:?}")))?;
        rmp_write(rmp::encode::write_str(out, name))?;
        write_value(out, value, ty, depth + 1).map_err(|e| e.in_attribute(name))?;
    }
    Ok(())
}

/// As go-cty writes numbers: an int when integral and in range, a float64 when the value is a
/// float, otherwise the decimal string.
fn write_number(out: &mut Vec<u8>, number: &Number) -> Result<(), CodecError> {
    match number {
        Number::Int(int) => rmp_write(rmp::encode::write_sint(out, *int)),
        Number::Float(float) => match Number::from_f64(*float) {
            Some(Number::Int(int)) => rmp_write(rmp::encode::write_sint(out, int)),
            Some(_) => rmp_write(rmp::encode::write_f64(out, *float)),
            None => Err(CodecError::new("NaN is not a number cty can hold")),
        },
        Number::Decimal(text) => match parse_decimal(text) {
            Some(DecimalText::Infinite { negative }) => {
                let infinity = if negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                rmp_write(rmp::encode::write_f64(out, infinity))
            }
            Some(DecimalText::Finite {
                fraction: "",
                exponent: None,
                ..
            }) => match text.parse::<i64>() {
                Ok(int) => rmp_write(rmp::encode::write_sint(out, int)),
                Err(_) => rmp_write(rmp::encode::write_str(out, text)),
            },
            Some(DecimalText::Finite { .. }) => rmp_write(rmp::encode::write_str(out, text)),
            None => Err(CodecError::new(format!("{text:?} is not a number"))),
        },
    }
}
