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
    /// `Some(false)`: definitely not null.
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

// HELPER-B: accessors (is_null, is_unknown, is_wholly_known, as_str, as_bool, as_number,
// get_attr, elements, ...) and constructors live here.
