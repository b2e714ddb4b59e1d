//! Arbitrary bytes must never panic the cty decoders, and whatever they accept must write back
//! and read again as the same value (refinements aside, which are never written).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfws::protocol::cty::{decode_json, decode_msgpack, encode_msgpack, Refinements, Type, Value};

/// The types the input is read as; the first byte picks one.
fn types() -> [Type; 6] {
    [
        Type::Dynamic,
        Type::String,
        Type::Number,
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

fn without_refinements(value: &Value) -> Value {
    match value {
        Value::Unknown(_) => Value::Unknown(Refinements::default()),
        Value::List(items) => Value::List(items.iter().map(without_refinements).collect()),
        Value::Set(items) => Value::Set(items.iter().map(without_refinements).collect()),
        Value::Tuple(items) => Value::Tuple(items.iter().map(without_refinements).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), without_refinements(v)))
                .collect(),
        ),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), without_refinements(v)))
                .collect(),
        ),
        Value::Dynamic(ty, inner) => {
            Value::Dynamic(ty.clone(), Box::new(without_refinements(inner)))
        }
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, bytes)) = data.split_first() else {
        return;
    };
    let types = types();
    let ty = &types[usize::from(*selector) % types.len()];
    if let Ok(value) = decode_msgpack(bytes, ty) {
        let written = match encode_msgpack(&value, ty) {
            Ok(written) => written,
            Err(e) => panic!("decoded {value:?} but cannot write it back: {e}"),
        };
        match decode_msgpack(&written, ty) {
            Ok(reread) => assert_eq!(without_refinements(&reread), without_refinements(&value)),
            Err(e) => panic!("wrote {written:02x?} but cannot read it back: {e}"),
        }
    }
    let _ = decode_json(bytes, ty);
});
