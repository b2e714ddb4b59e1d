//! cty values in JSON: `DynamicValue.json` and the raw state of `UpgradeResourceState`.
//!
//! Follows go-cty's `cty/json`: plain JSON shaped by the type; an object attribute that is left
//! out is null; a dynamic value is `{"value": ..., "type": ...}`; unknown values cannot be
//! written. Like go-cty (which converts primitives on the way in), a string may stand for a
//! number or bool and a number or bool for a string.
//!
//! Numbers go through serde_json without `arbitrary_precision`: integers beyond u64 and more
//! precise decimals arrive as the nearest f64, and literals beyond the f64 range are rejected.

use super::number::write_json_number;
use super::types::write_json_string;
use super::{implied_primitive_type, value_kind, CodecError, Number, Type, Value, MAX_DEPTH};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Reads a value of type `ty` from JSON bytes.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let json: Json =
        serde_json::from_slice(bytes).map_err(|e| CodecError::new(format!("invalid JSON: {e}")))?;
    decode_json_value(&json, ty)
}

/// Reads a value of type `ty` from already parsed JSON.
pub fn decode_json_value(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    decode(json, ty, 0)
}

/// Writes `value` as compact JSON of type `ty`. Unknown values are an error.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(128);
    write_value(&mut out, value, ty, 0)?;
    Ok(out)
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn mismatch(ty: &Type, json: &Json) -> CodecError {
    CodecError::new(format!(
        "{} is required, found {}",
        ty.kind(),
        json_kind(json)
    ))
}

fn number_from_json(number: &serde_json::Number) -> Result<Number, CodecError> {
    if let Some(int) = number.as_i64() {
        return Ok(Number::Int(int));
    }
    if let Some(unsigned) = number.as_u64() {
        return Ok(Number::Decimal(unsigned.to_string()));
    }
    number
        .as_f64()
        .and_then(Number::from_f64)
        .ok_or_else(|| CodecError::new(format!("{number} is not a number cty can hold")))
}

fn decode(json: &Json, ty: &Type, depth: usize) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::new("nested too deeply"));
    }
    if json.is_null() {
        return Ok(Value::Null);
    }
    match (ty, json) {
        (Type::String, Json::String(text)) => Ok(Value::String(text.clone())),
        (Type::String, Json::Number(number)) => Ok(Value::String(number.to_string())),
        (Type::String, Json::Bool(flag)) => Ok(Value::String(flag.to_string())),
        (Type::Number, Json::Number(number)) => number_from_json(number).map(Value::Number),
        (Type::Number, Json::String(text)) => Number::parse(text)
            .map(Value::Number)
            .ok_or_else(|| CodecError::new(format!("a number is required, found {text:?}"))),
        (Type::Bool, Json::Bool(flag)) => Ok(Value::Bool(*flag)),
        (Type::Bool, Json::String(text)) => match text.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(CodecError::new(format!(
                "a bool is required, found {text:?}"
            ))),
        },
        (Type::List(element), Json::Array(items)) => {
            decode_elements(items, element, depth).map(Value::List)
        }
        (Type::Set(element), Json::Array(items)) => {
            decode_elements(items, element, depth).map(Value::Set)
        }
        (Type::Tuple(elements), Json::Array(items)) => {
            if items.len() != elements.len() {
                return Err(CodecError::new(format!(
                    "a tuple of {} elements is required, found {}",
                    elements.len(),
                    items.len()
                )));
            }
            items
                .iter()
                .zip(elements)
                .enumerate()
                .map(|(index, (item, element))| {
                    decode(item, element, depth + 1).map_err(|e| e.in_element(index))
                })
                .collect::<Result<_, _>>()
                .map(Value::Tuple)
        }
        (Type::Map(element), Json::Object(entries)) => entries
            .iter()
            .map(|(key, item)| {
                decode(item, element, depth + 1)
                    .map(|value| (key.clone(), value))
                    .map_err(|e| e.in_key(key))
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        (Type::Object(attributes), Json::Object(entries)) => {
            let mut values = BTreeMap::new();
            for (name, item) in entries {
                let Some(ty) = attributes.get(name) else {
                    return Err(CodecError::new(format!("unsupported attribute {name:?}")));
                };
                let value = decode(item, ty, depth + 1).map_err(|e| e.in_attribute(name))?;
                values.insert(name.clone(), value);
            }
            for name in attributes.keys() {
                if !values.contains_key(name) {
                    values.insert(name.clone(), Value::Null);
                }
            }
            Ok(Value::Object(values))
        }
        (Type::Dynamic, Json::Object(entries)) => decode_dynamic(entries, depth),
        (_, json) => Err(mismatch(ty, json)),
    }
}

fn decode_elements(items: &[Json], element: &Type, depth: usize) -> Result<Vec<Value>, CodecError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| decode(item, element, depth + 1).map_err(|e| e.in_element(index)))
        .collect()
}

/// `{"value": ..., "type": ...}`, both required, nothing else.
fn decode_dynamic(
    entries: &serde_json::Map<String, Json>,
    depth: usize,
) -> Result<Value, CodecError> {
    if let Some(other) = entries.keys().find(|key| *key != "value" && *key != "type") {
        return Err(CodecError::new(format!(
            "invalid key {other:?} in a dynamic value"
        )));
    }
    let type_json = entries
        .get("type")
        .ok_or_else(|| CodecError::new("a dynamic value needs a \"type\""))?;
    let value_json = entries
        .get("value")
        .ok_or_else(|| CodecError::new("a dynamic value needs a \"value\""))?;
    let ty = Type::from_json(type_json)?;
    let value = decode(value_json, &ty, depth + 1)?;
    Ok(Value::Dynamic(ty, Box::new(value)))
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
        (_, Value::Unknown(_)) => Err(CodecError::new("unknown values cannot be written as JSON")),
        (Type::Dynamic, Value::Null) => {
            out.extend_from_slice(b"null");
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
        (_, Value::Dynamic(_, inner)) => write_value(out, inner, ty, depth),
        (_, Value::Null) => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        (Type::String, Value::String(text)) => {
            write_json_string(out, text);
            Ok(())
        }
        (Type::Number, Value::Number(number)) => write_json_number(out, number),
        (Type::Bool, Value::Bool(flag)) => {
            out.extend_from_slice(if *flag { b"true" } else { b"false" });
            Ok(())
        }
        (Type::List(element), Value::List(items)) | (Type::Set(element), Value::Set(items)) => {
            write_array(
                out,
                items.iter().map(|item| (item, element.as_ref())),
                depth,
            )
        }
        (Type::Tuple(elements), Value::Tuple(items)) => {
            if items.len() != elements.len() {
                return Err(CodecError::new(format!(
                    "a tuple of {} elements is required, found {}",
                    elements.len(),
                    items.len()
                )));
            }
            write_array(out, items.iter().zip(elements), depth)
        }
        (Type::Map(element), Value::Map(entries)) => {
            out.push(b'{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json_string(out, key);
                out.push(b':');
                write_value(out, item, element, depth + 1).map_err(|e| e.in_key(key))?;
            }
            out.push(b'}');
            Ok(())
        }
        (Type::Object(attributes), Value::Object(values)) => {
            if let Some(extra) = values.keys().find(|name| !attributes.contains_key(*name)) {
                return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
            }
            out.push(b'{');
            for (index, (name, ty)) in attributes.iter().enumerate() {
                let value = values
                    .get(name)
                    .ok_or_else(|| CodecError::new(format!("missing attribute {name:?}")))?;
                if index > 0 {
                    out.push(b',');
                }
                write_json_string(out, name);
                out.push(b':');
                write_value(out, value, ty, depth + 1).map_err(|e| e.in_attribute(name))?;
            }
            out.push(b'}');
            Ok(())
        }
        (_, value) => Err(CodecError::new(format!(
            "{} is required, found {}",
            ty.kind(),
            value_kind(value)
        ))),
    }
}

fn write_array<'v>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = (&'v Value, &'v Type)>,
    depth: usize,
) -> Result<(), CodecError> {
    out.push(b'[');
    for (index, (item, ty)) in items.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_value(out, item, ty, depth + 1).map_err(|e| e.in_element(index))?;
    }
    out.push(b']');
    Ok(())
}

/// go-cty's order: value first, then type.
fn write_dynamic(
    out: &mut Vec<u8>,
    concrete: &Type,
    inner: &Value,
    depth: usize,
) -> Result<(), CodecError> {
    out.extend_from_slice(b"{\"value\":");
    write_value(out, inner, concrete, depth + 1)?;
    out.extend_from_slice(b",\"type\":");
    concrete.write_json(out);
    out.push(b'}');
    Ok(())
}
