//! cty values, including unknowns.

use super::Type;
use std::collections::BTreeMap;

/// A cty number. Terraform numbers are arbitrary-precision decimals; this keeps integers exact,
/// floats as floats, and anything else as its decimal string.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
    /// A decimal that fits neither form, kept exactly as written (e.g. `"1e400"`, a u64 > i64::MAX).
    Decimal(String),
}

/// What Terraform (>= 1.6) knows about an unknown value: msgpack extension type 12.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinements {
    /// Refinement 1 as sent: `Some(false)` means definitely not null. (`Some(true)`, "is null",
    /// is legal on the wire but never written: such a value would simply be null.)
    pub nullable: Option<bool>,
    pub string_prefix: Option<String>,
    pub number_lower: Option<(Number, bool)>,
    pub number_upper: Option<(Number, bool)>,
    pub length_lower: Option<i64>,
    pub length_upper: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply.
    Unknown(Refinements),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Elements in the order they arrived; no duplicates are expected.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// A value in a slot of type `dynamic`, with its concrete type.
    Dynamic(Type, Box<Value>),
}

impl Number {
    /// The value as an i64 when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f)
                if f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64 =>
            {
                Some(*f as i64)
            }
            Number::Float(_) => None,
            Number::Decimal(s) => s.parse().ok(),
        }
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number::Int(i)
    }
}

impl Value {
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// An unknown value with no refinements.
    pub fn unknown() -> Self {
        Value::Unknown(Refinements::default())
    }

    pub fn object<I, K>(attributes: I) -> Self
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(_, inner) => inner.is_null(),
            _ => false,
        }
    }

    /// Unknown at the top level (elements of a known collection may still be unknown).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Dynamic(_, inner) => inner.is_unknown(),
            _ => false,
        }
    }

    /// Known all the way down.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter().all(Value::is_wholly_known)
            }
            Value::Map(entries) | Value::Object(entries) => {
                entries.values().all(Value::is_wholly_known)
            }
            Value::Dynamic(_, inner) => inner.is_wholly_known(),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(_, inner) => inner.as_str(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(_, inner) => inner.as_bool(),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            Value::Dynamic(_, inner) => inner.as_number(),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => Some(items),
            Value::Dynamic(_, inner) => inner.elements(),
            _ => None,
        }
    }

    /// Entries of a map or an object.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(entries) | Value::Object(entries) => Some(entries),
            Value::Dynamic(_, inner) => inner.entries(),
            _ => None,
        }
    }

    /// One attribute of an object; `None` when this is not an object or has no such attribute.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(attributes) => attributes.get(name),
            Value::Dynamic(_, inner) => inner.get_attr(name),
            _ => None,
        }
    }
}
