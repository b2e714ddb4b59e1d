//! Property tests: random types and conforming values survive encode → decode in both forms,
//! and no input bytes make a decoder panic.

use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;
use tfws::protocol::cty::{
    decode_json, decode_msgpack, encode_json, encode_msgpack, Number, Refinements, Type, Value,
};

// ---- generators --------------------------------------------------------------------------------

fn attribute_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}"
}

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map(attribute_name(), inner.clone(), 0..4)
                .prop_map(Type::Object),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number(finite_only: bool) -> BoxedStrategy<Number> {
    let float = if finite_only {
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO
    } else {
        prop::num::f64::ANY
    };
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        (-1000i64..1000).prop_map(Number::Int),
        float
            .prop_filter("cty has no NaN", |f| !f.is_nan())
            .prop_map(Number::Float),
        // Decimals that fit neither an i64 nor (exactly) an f64.
        "-?[1-9][0-9]{19,30}".prop_map(Number::Decimal),
        "-?[0-9]{1,4}\\.[0-9]{20,30}".prop_map(Number::Decimal),
    ]
    .boxed()
}

/// Whether generated values may contain unknowns (JSON cannot carry them).
#[derive(Clone, Copy)]
struct Known(bool);

fn arb_value(ty: &Type, known: Known, depth: u32) -> BoxedStrategy<Value> {
    let known_value = arb_known(ty, known, depth);
    if known.0 {
        prop_oneof![1 => Just(Value::Null), 6 => known_value].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::unknown()), 6 => known_value].boxed()
    }
}

fn arb_known(ty: &Type, known: Known, depth: u32) -> BoxedStrategy<Value> {
    let element = |ty: &Type| arb_value(ty, known, depth + 1);
    match ty {
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Number => arb_number(known.0).prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => prop::collection::vec(element(e), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => prop::collection::vec(element(e), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => prop::collection::btree_map(any::<String>(), element(e), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Tuple(es) => es
            .iter()
            .map(element)
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Object(attributes) => attributes
            .iter()
            .map(|(name, ty)| (Just(name.clone()), element(ty)))
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
        Type::Dynamic => {
            // Only a few levels of dynamic-in-dynamic, so generation stays small.
            let concrete = if depth < 3 {
                arb_type().boxed()
            } else {
                Just(Type::String).boxed()
            };
            concrete
                .prop_flat_map(move |concrete| {
                    arb_value(&concrete, known, depth + 1)
                        .prop_map(move |inner| Value::Dynamic(concrete.clone(), Box::new(inner)))
                })
                .boxed()
        }
    }
}

fn typed_value(known: Known) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |ty| {
        let value = arb_value(&ty, known, 0);
        (Just(ty), value)
    })
}

// ---- comparison -------------------------------------------------------------------------------

/// Maps every part of a value through `number` and drops refinements (which are never written).
fn normalise(value: &Value, number: &dyn Fn(&Number) -> Number) -> Value {
    let all = |items: &[Value]| {
        items
            .iter()
            .map(|v| normalise(v, number))
            .collect::<Vec<_>>()
    };
    let entries = |entries: &BTreeMap<String, Value>| {
        entries
            .iter()
            .map(|(k, v)| (k.clone(), normalise(v, number)))
            .collect::<BTreeMap<_, _>>()
    };
    match value {
        Value::Null => Value::Null,
        Value::Unknown(_) => Value::Unknown(Refinements::default()),
        Value::Bool(b) => Value::Bool(*b),
        Value::Number(n) => Value::Number(number(n)),
        Value::String(s) => Value::String(s.clone()),
        Value::List(items) => Value::List(all(items)),
        Value::Set(items) => Value::Set(all(items)),
        Value::Tuple(items) => Value::Tuple(all(items)),
        Value::Map(map) => Value::Map(entries(map)),
        Value::Object(map) => Value::Object(entries(map)),
        Value::Dynamic(ty, inner) => Value::Dynamic(ty.clone(), Box::new(normalise(inner, number))),
    }
}

/// What msgpack gives back: integral floats as ints, decimal strings re-read.
fn msgpack_form(value: &Value) -> Value {
    normalise(value, &Number::canonical)
}

/// What JSON gives back: JSON text is parsed by serde_json without arbitrary precision, so a
/// decimal that is not a u64 comes back as the nearest f64, and serde_json's default float
/// parser may be one unit in the last place off. Numbers are compared as f64 with that slack.
fn json_number(number: &Number) -> Number {
    match number.canonical() {
        Number::Decimal(text) => match text.parse::<u64>() {
            Ok(unsigned) => Number::Decimal(unsigned.to_string()),
            Err(_) => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .unwrap_or(Number::Decimal(text)),
        },
        other => other,
    }
}

fn numbers_close(a: &Number, b: &Number) -> bool {
    match (a, b) {
        (Number::Float(x), Number::Float(y)) => {
            x == y || (x - y).abs() <= f64::EPSILON * 4.0 * x.abs().max(y.abs())
        }
        (Number::Float(f), Number::Int(i)) | (Number::Int(i), Number::Float(f)) => {
            // A float one ULP away from an integer can read back as that integer.
            (*f - *i as f64).abs() <= f64::EPSILON * 4.0 * f.abs()
        }
        _ => a == b,
    }
}

fn json_equivalent(a: &Value, b: &Value) -> bool {
    let all = |x: &[Value], y: &[Value]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equivalent(p, q))
    };
    let entries = |x: &BTreeMap<String, Value>, y: &BTreeMap<String, Value>| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|((kx, vx), (ky, vy))| kx == ky && json_equivalent(vx, vy))
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_close(&json_number(x), &json_number(y)),
        (Value::List(x), Value::List(y))
        | (Value::Set(x), Value::Set(y))
        | (Value::Tuple(x), Value::Tuple(y)) => all(x, y),
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => entries(x, y),
        (Value::Dynamic(tx, x), Value::Dynamic(ty, y)) => tx == ty && json_equivalent(x, y),
        _ => a == b,
    }
}

// ---- properties ---------------------------------------------------------------------------------

proptest! {
    #![proptest_config(Config { cases: 512, ..Config::default() })]

    #[test]
    fn type_json_round_trips(ty in arb_type()) {
        prop_assert_eq!(Type::from_json(&ty.to_json()), Ok(ty.clone()));
        let reparsed: serde_json::Value = serde_json::from_slice(&ty.to_json_bytes())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(reparsed, ty.to_json());
    }

    #[test]
    fn msgpack_round_trips((ty, value) in typed_value(Known(false))) {
        let bytes = encode_msgpack(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = decode_msgpack(&bytes, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&decoded, &msgpack_form(&value));
        // Writing what was read gives the same bytes: the encoding is canonical.
        let again = encode_msgpack(&decoded, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn json_round_trips_known_values((ty, value) in typed_value(Known(true))) {
        prop_assume!(value.is_wholly_known());
        let bytes = encode_json(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = decode_json(&bytes, &ty).map_err(|e| {
            TestCaseError::fail(format!("{e} in {}", String::from_utf8_lossy(&bytes)))
        })?;
        prop_assert!(json_equivalent(&decoded, &value), "{:?}\n!=\n{:?}", decoded, value);
    }

    #[test]
    fn unknowns_never_encode_as_json((ty, value) in typed_value(Known(false))) {
        let result = encode_json(&value, &ty);
        prop_assert_eq!(result.is_ok(), value.is_wholly_known() && !has_infinity(&value));
    }
}

fn has_infinity(value: &Value) -> bool {
    match value {
        Value::Number(Number::Float(f)) => f.is_infinite(),
        Value::Number(Number::Decimal(text)) => text.ends_with("Inf") || text.ends_with("inf"),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            items.iter().any(has_infinity)
        }
        Value::Map(entries) | Value::Object(entries) => entries.values().any(has_infinity),
        Value::Dynamic(_, inner) => has_infinity(inner),
        _ => false,
    }
}

// ---- hostile input ----------------------------------------------------------------------------

fn hostile_types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Dynamic,
        Type::list(Type::Dynamic),
        Type::map(Type::set(Type::Number)),
        Type::object([
            ("id", Type::String),
            ("ids", Type::list(Type::Number)),
            ("tags", Type::map(Type::String)),
            ("any", Type::Dynamic),
            ("pair", Type::Tuple(vec![Type::Bool, Type::Number])),
        ]),
    ]
}

/// A decoded value must be writable again, and read back as itself (refinements aside).
fn check_decoded(bytes: &[u8], ty: &Type) -> Result<(), TestCaseError> {
    if let Ok(value) = decode_msgpack(bytes, ty) {
        let written = encode_msgpack(&value, ty)
            .map_err(|e| TestCaseError::fail(format!("re-encode: {e}")))?;
        let reread = decode_msgpack(&written, ty)
            .map_err(|e| TestCaseError::fail(format!("re-decode: {e}")))?;
        prop_assert_eq!(msgpack_form(&reread), msgpack_form(&value));
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match *mutation {
        Mutation::Flip { at, mask } if len > 0 => bytes[at % len] ^= mask,
        Mutation::Set { at, byte } if len > 0 => bytes[at % len] = byte,
        Mutation::Insert { at, byte } => bytes.insert(at % (len + 1), byte),
        Mutation::Remove { at } if len > 0 => {
            bytes.remove(at % len);
        }
        Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(Config { cases: 2000, ..Config::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_msgpack(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        for ty in hostile_types() {
            check_decoded(&bytes, &ty)?;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_json(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        for ty in hostile_types() {
            let _ = decode_json(&bytes, &ty);
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 1000, ..Config::default() })]

    #[test]
    fn mutated_encodings_never_panic(
        (ty, value) in typed_value(Known(false)),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = encode_msgpack(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        check_decoded(&bytes, &ty)?;
        check_decoded(&bytes, &Type::Dynamic)?;
    }

    #[test]
    fn mutated_json_never_panics(
        (ty, value) in typed_value(Known(true)),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let Ok(mut bytes) = encode_json(&value, &ty) else { return Ok(()) };
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        if let Ok(decoded) = decode_json(&bytes, &ty) {
            // Whatever was read can be written again (it is wholly known by construction).
            prop_assert!(encode_json(&decoded, &ty).is_ok() || has_infinity(&decoded));
        }
    }
}
