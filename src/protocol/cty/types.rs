//! cty types and their JSON form (the `type` bytes of a schema attribute).

use super::{CodecError, MAX_DEPTH};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Number,
    Bool,
    /// Any type; values travel with their concrete type.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(element: Type) -> Self {
        Type::List(Box::new(element))
    }

    pub fn set(element: Type) -> Self {
        Type::Set(Box::new(element))
    }

    pub fn map(element: Type) -> Self {
        Type::Map(Box::new(element))
    }

    pub fn object<I, K>(attributes: I) -> Self
    where
        I: IntoIterator<Item = (K, Type)>,
        K: Into<String>,
    {
        Type::Object(attributes.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// The type in cty's JSON form, as schema `type` bytes carry it: `"string"`,
    /// `["list","string"]`, `["object",{"a":"number"}]`, ...
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Type::String => Json::from("string"),
            Type::Number => Json::from("number"),
            Type::Bool => Json::from("bool"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(element) => Json::Array(vec!["list".into(), element.to_json()]),
            Type::Set(element) => Json::Array(vec!["set".into(), element.to_json()]),
            Type::Map(element) => Json::Array(vec!["map".into(), element.to_json()]),
            Type::Object(attributes) => {
                // BTreeMap order is byte order, the order Go's encoding/json writes map keys in.
                let attributes = attributes
                    .iter()
                    .map(|(name, ty)| (name.clone(), ty.to_json()))
                    .collect();
                Json::Array(vec!["object".into(), Json::Object(attributes)])
            }
            Type::Tuple(elements) => Json::Array(vec![
                "tuple".into(),
                Json::Array(elements.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// [`Type::to_json`] as compact JSON bytes, written directly (this runs for every dynamic
    /// value encoded, so it avoids building a `serde_json::Value` first).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        self.write_json(&mut out);
        out
    }

    /// Appends the compact JSON form of this type to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Type::String => out.extend_from_slice(b"\"string\""),
            Type::Number => out.extend_from_slice(b"\"number\""),
            Type::Bool => out.extend_from_slice(b"\"bool\""),
            Type::Dynamic => out.extend_from_slice(b"\"dynamic\""),
            Type::List(element) => write_json_collection(out, b"[\"list\",", element),
            Type::Set(element) => write_json_collection(out, b"[\"set\",", element),
            Type::Map(element) => write_json_collection(out, b"[\"map\",", element),
            Type::Object(attributes) => {
                out.extend_from_slice(b"[\"object\",{");
                for (index, (name, ty)) in attributes.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    write_json_string(out, name);
                    out.push(b':');
                    ty.write_json(out);
                }
                out.extend_from_slice(b"}]");
            }
            Type::Tuple(elements) => {
                out.extend_from_slice(b"[\"tuple\",[");
                for (index, ty) in elements.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    ty.write_json(out);
                }
                out.extend_from_slice(b"]]");
            }
        }
    }

    /// Reads a type from its JSON form. Objects may carry a third element listing optional
    /// attributes (Terraform >= 1.3); it is checked and accepted, but this model has no place
    /// for it, so it is dropped.
    pub fn from_json(json: &serde_json::Value) -> Result<Type, CodecError> {
        type_from_json(json, 0)
    }

    /// Short description for error messages: `a string`, `a list`, ...
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Type::String => "a string",
            Type::Number => "a number",
            Type::Bool => "a bool",
            Type::Dynamic => "a dynamic value",
            Type::List(_) => "a list",
            Type::Set(_) => "a set",
            Type::Map(_) => "a map",
            Type::Object(_) => "an object",
            Type::Tuple(_) => "a tuple",
        }
    }
}

fn write_json_collection(out: &mut Vec<u8>, head: &[u8], element: &Type) {
    out.extend_from_slice(head);
    element.write_json(out);
    out.push(b']');
}

/// Appends `text` as a JSON string; serde_json does the escaping.
pub(crate) fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // Serialising a &str into a Vec cannot fail: there is no I/O and no non-string key.
    if serde_json::to_writer(&mut *out, text).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

fn type_error(message: impl std::fmt::Display) -> CodecError {
    CodecError::new(format!("invalid type: {message}"))
}

fn type_from_json(json: &serde_json::Value, depth: usize) -> Result<Type, CodecError> {
    use serde_json::Value as Json;
    if depth > MAX_DEPTH {
        return Err(type_error("nested too deeply"));
    }
    let items = match json {
        Json::String(name) => {
            return match name.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(type_error(format!("unknown primitive type {other:?}"))),
            };
        }
        Json::Array(items) => items,
        other => {
            return Err(type_error(format!(
                "expected a string or an array, found {other}"
            )))
        }
    };
    let (kind, rest) = match items.split_first() {
        Some((Json::String(kind), rest)) => (kind.as_str(), rest),
        _ => return Err(type_error("a complex type must start with its kind name")),
    };
    let element = |rest: &[Json]| match rest {
        [element] => type_from_json(element, depth + 1),
        _ => Err(type_error(format!(
            "[\"{kind}\", T] takes exactly one element type"
        ))),
    };
    match kind {
        "list" => Ok(Type::List(Box::new(element(rest)?))),
        "set" => Ok(Type::Set(Box::new(element(rest)?))),
        "map" => Ok(Type::Map(Box::new(element(rest)?))),
        "object" => {
            let (attributes, optional) = match rest {
                [Json::Object(attributes)] => (attributes, None),
                [Json::Object(attributes), optional] => (attributes, Some(optional)),
                _ => {
                    return Err(type_error(
                        "[\"object\", {...}] takes an attribute map and optionally a list of optional attributes",
                    ))
                }
            };
            let attributes = attributes
                .iter()
                .map(|(name, ty)| {
                    type_from_json(ty, depth + 1)
                        .map(|ty| (name.clone(), ty))
                        .map_err(|e| e.in_attribute(name))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            if let Some(optional) = optional {
                let names = optional.as_array().ok_or_else(|| {
                    type_error("the optional attributes of an object must be a list")
                })?;
                for name in names {
                    match name.as_str() {
                        Some(name) if attributes.contains_key(name) => {}
                        _ => {
                            return Err(type_error(format!(
                                "{name} is not an attribute of the object"
                            )))
                        }
                    }
                }
            }
            Ok(Type::Object(attributes))
        }
        "tuple" => match rest {
            [Json::Array(elements)] => elements
                .iter()
                .enumerate()
                .map(|(index, ty)| type_from_json(ty, depth + 1).map_err(|e| e.in_element(index)))
                .collect::<Result<Vec<_>, _>>()
                .map(Type::Tuple),
            _ => Err(type_error(
                "[\"tuple\", [...]] takes a list of element types",
            )),
        },
        other => Err(type_error(format!("unknown complex type kind {other:?}"))),
    }
}
