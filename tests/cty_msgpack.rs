//! The msgpack form of cty values, checked against hand-written bytes (as go-cty writes and
//! reads them).

use std::collections::BTreeMap;
use tfws::protocol::cty::{
    decode_msgpack, encode_msgpack, CodecError, Number, Refinements, Type, Value,
};

fn decode(bytes: &[u8], ty: &Type) -> Value {
    match decode_msgpack(bytes, ty) {
        Ok(value) => value,
        Err(e) => panic!("decoding {bytes:02x?} as {ty:?} failed: {e}"),
    }
}

fn decode_err(bytes: &[u8], ty: &Type) -> CodecError {
    match decode_msgpack(bytes, ty) {
        Ok(value) => panic!("decoding {bytes:02x?} as {ty:?} should fail, got {value:?}"),
        Err(e) => e,
    }
}

fn encode(value: &Value, ty: &Type) -> Vec<u8> {
    match encode_msgpack(value, ty) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encoding {value:?} as {ty:?} failed: {e}"),
    }
}

fn encode_err(value: &Value, ty: &Type) -> CodecError {
    match encode_msgpack(value, ty) {
        Ok(bytes) => panic!("encoding {value:?} as {ty:?} should fail, got {bytes:02x?}"),
        Err(e) => e,
    }
}

fn num(n: i64) -> Value {
    Value::Number(Number::Int(n))
}

fn fixstr(text: &str) -> Vec<u8> {
    assert!(text.len() < 32);
    let mut out = vec![0xa0 | text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn sample_types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Bool),
        Type::object([("a", Type::String)]),
        Type::Tuple(vec![Type::String, Type::Number]),
    ]
}

// ---- unknown values -------------------------------------------------------------------------

#[test]
fn every_unknown_is_written_as_fixext1_type_0() {
    let refined = Value::Unknown(Refinements {
        nullable: Some(false),
        string_prefix: Some("ab".into()),
        ..Refinements::default()
    });
    for ty in sample_types() {
        assert_eq!(encode(&Value::unknown(), &ty), [0xd4, 0x00, 0x00], "{ty:?}");
        assert_eq!(
            encode(&refined, &ty),
            [0xd4, 0x00, 0x00],
            "refinements are not written ({ty:?})"
        );
    }
    // Unknown of a concrete type in a dynamic slot keeps its type wrapper, as go-cty does.
    let wrapped = Value::Dynamic(Type::String, Box::new(Value::unknown()));
    assert_eq!(
        encode(&wrapped, &Type::Dynamic),
        cat(&[&[0x92, 0xc4, 0x08], b"\"string\"", &[0xd4, 0x00, 0x00]])
    );
}

#[test]
fn any_extension_reads_as_unknown() {
    let extensions: [&[u8]; 9] = [
        &[0xd4, 0x00, 0x00],                   // fixext1, type 0 (what Terraform writes)
        &[0xd4, 0xff, 0x07],                   // fixext1, negative type
        &[0xd5, 0x05, 0x01, 0x02],             // fixext2
        &[0xd6, 0x01, 1, 2, 3, 4],             // fixext4
        &[0xd7, 0x02, 1, 2, 3, 4, 5, 6, 7, 8], // fixext8
        &[0xd8, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // fixext16
        &[0xc7, 0x03, 0x07, 0xaa, 0xbb, 0xcc], // ext8
        &[0xc8, 0x00, 0x02, 0x01, 0xaa, 0xbb], // ext16
        &[0xc9, 0x00, 0x00, 0x00, 0x01, 0x7f, 0x00], // ext32
    ];
    for ty in sample_types() {
        for bytes in extensions {
            assert_eq!(
                decode(bytes, &ty),
                Value::unknown(),
                "{bytes:02x?} as {ty:?}"
            );
        }
    }
    // ... also deep inside a value.
    let ty = Type::object([("ids", Type::list(Type::Number))]);
    let bytes = cat(&[&[0x81], &fixstr("ids"), &[0x92, 0x01, 0xc7, 0x00, 0x05]]);
    assert_eq!(
        decode(&bytes, &ty),
        Value::object([("ids", Value::List(vec![num(1), Value::unknown()]))])
    );
}

#[test]
fn truncated_extension_is_an_error() {
    decode_err(&[0xc7, 0x05, 0x0c, 0x81], &Type::String);
    decode_err(&[0xd4, 0x00], &Type::String);
}

fn refined(payload: &[u8], ty: &Type) -> Refinements {
    let mut bytes = vec![0xc7, payload.len() as u8, 0x0c];
    bytes.extend_from_slice(payload);
    match decode(&bytes, ty) {
        Value::Unknown(refinements) => refinements,
        other => panic!("expected an unknown, got {other:?}"),
    }
}

#[test]
fn type_12_refinements_are_parsed() {
    // {1: false, 2: "ab"}: definitely not null, starts with "ab".
    let string = refined(&[0x82, 0x01, 0xc2, 0x02, 0xa2, b'a', b'b'], &Type::String);
    assert_eq!(
        string,
        Refinements {
            nullable: Some(false),
            string_prefix: Some("ab".into()),
            ..Default::default()
        }
    );

    // {3: [1, true], 4: [2.5, false]}
    let mut payload = vec![0x82, 0x03, 0x92, 0x01, 0xc3, 0x04, 0x92, 0xcb];
    payload.extend_from_slice(&2.5f64.to_be_bytes());
    payload.push(0xc2);
    let number = refined(&payload, &Type::Number);
    assert_eq!(number.number_lower, Some((Number::Int(1), true)));
    assert_eq!(number.number_upper, Some((Number::Float(2.5), false)));
    assert_eq!(number.nullable, None);

    // A decimal-string bound is a number too: {3: ["1e400", false]}
    let number = refined(
        &cat(&[&[0x81, 0x03, 0x92], &fixstr("1e400"), &[0xc2]]),
        &Type::Number,
    );
    assert_eq!(
        number.number_lower,
        Some((Number::Decimal("1e400".into()), false))
    );

    // {5: 1, 6: 10} on a list, a set and a map
    for ty in [
        Type::list(Type::String),
        Type::set(Type::String),
        Type::map(Type::String),
    ] {
        let lengths = refined(&[0x82, 0x05, 0x01, 0x06, 0x0a], &ty);
        assert_eq!(
            (lengths.length_lower, lengths.length_upper),
            (Some(1), Some(10)),
            "{ty:?}"
        );
    }

    // Keys written in wider int forms are still keys: {u16 1: false}
    let wide = refined(&[0x81, 0xcd, 0x00, 0x01, 0xc2], &Type::Bool);
    assert_eq!(wide.nullable, Some(false));
}

#[test]
fn unknown_refinement_keys_are_skipped() {
    // {9: [1, {"x": d4 00 00}], 1: false, 10: "zz"}
    let payload = cat(&[
        &[0x83, 0x09, 0x92, 0x01, 0x81],
        &fixstr("x"),
        &[0xd4, 0x00, 0x00, 0x01, 0xc2, 0x0a],
        &fixstr("zz"),
    ]);
    assert_eq!(refined(&payload, &Type::String).nullable, Some(false));
    // Bytes after the map are ignored, as go-cty does.
    assert_eq!(
        refined(&[0x81, 0x01, 0xc2, 0xff, 0xff], &Type::String).nullable,
        Some(false)
    );
}

#[test]
fn malformed_refinements_still_give_an_unknown() {
    let none = Refinements::default();
    let cases: [(&[u8], Type); 9] = [
        (&[0x82, 0x01, 0xc2], Type::String), // map shorter than declared
        (&[0x92, 0x01, 0xc2], Type::String), // not a map
        (&[0x81, 0xa1, b'k', 0xc2], Type::String), // non-integer key
        (&[0x81, 0x01, 0x01], Type::String), // nullness not a bool
        (&[0x81, 0x02, 0xa1, b'a'], Type::Number), // string prefix on a number
        (&[0x81, 0x05, 0x01], Type::String), // length bound on a string
        (&[0x81, 0x03, 0x01], Type::Number), // bound not an array
        (&[0x81, 0x03, 0x92, 0xa1, b'x', 0xc3], Type::Number), // bound not a number
        (&[0x81, 0x02, 0xa2, 0xff, 0xfe], Type::String), // prefix not UTF-8
    ];
    for (payload, ty) in cases {
        assert_eq!(refined(payload, &ty), none, "{payload:02x?} as {ty:?}");
    }
    // One-byte type-12 payload: wholly unknown.
    assert_eq!(decode(&[0xd4, 0x0c, 0x00], &Type::String), Value::unknown());
    // Refinements of another extension type are not read.
    assert_eq!(
        decode(&[0xc7, 0x03, 0x05, 0x81, 0x01, 0xc2], &Type::String),
        Value::unknown()
    );
    // go-cty ignores refinements on dynamic values.
    assert_eq!(refined(&[0x81, 0x01, 0xc2], &Type::Dynamic), none);
}

// ---- null, bool, string -------------------------------------------------------------------

#[test]
fn null_is_nil_for_every_type() {
    for ty in sample_types() {
        assert_eq!(encode(&Value::Null, &ty), [0xc0], "{ty:?}");
        assert_eq!(decode(&[0xc0], &ty), Value::Null, "{ty:?}");
    }
}

#[test]
fn bools() {
    assert_eq!(encode(&Value::Bool(true), &Type::Bool), [0xc3]);
    assert_eq!(encode(&Value::Bool(false), &Type::Bool), [0xc2]);
    assert_eq!(decode(&[0xc3], &Type::Bool), Value::Bool(true));
    assert_eq!(decode(&[0xc2], &Type::Bool), Value::Bool(false));
    decode_err(&[0x01], &Type::Bool);
    decode_err(&fixstr("true"), &Type::Bool);
}

#[test]
fn strings() {
    assert_eq!(encode(&Value::string("foo"), &Type::String), fixstr("foo"));
    let long = "x".repeat(40);
    assert_eq!(
        encode(&Value::string(&long), &Type::String),
        cat(&[&[0xd9, 40], long.as_bytes()])
    );
    assert_eq!(decode(&fixstr("foo"), &Type::String), Value::string("foo"));
    assert_eq!(
        decode(&cat(&[&[0xd9, 40], long.as_bytes()]), &Type::String),
        Value::string(&long)
    );
    assert_eq!(
        decode(&[0xda, 0x00, 0x01, b'z'], &Type::String),
        Value::string("z")
    );
    // go-cty's decoder takes bin for strings too.
    assert_eq!(
        decode(&[0xc4, 0x02, b'h', b'i'], &Type::String),
        Value::string("hi")
    );
    let err = decode_err(&[0xa2, 0xff, 0xfe], &Type::String);
    assert!(err.message.contains("UTF-8"), "{err}");
    decode_err(&[0x05], &Type::String);
    decode_err(&[0xa5, b'a'], &Type::String); // truncated
}

// ---- numbers ---------------------------------------------------------------------------------

#[test]
fn every_msgpack_int_form_decodes() {
    let cases: [(&[u8], i64); 12] = [
        (&[0x05], 5),
        (&[0x7f], 127),
        (&[0xff], -1),
        (&[0xe0], -32),
        (&[0xcc, 0xff], 255),
        (&[0xcd, 0x01, 0x00], 256),
        (&[0xce, 0x00, 0x01, 0x00, 0x00], 65536),
        (&[0xcf, 0, 0, 0, 0, 0, 0, 0, 0x05], 5),
        (&[0xd0, 0x80], -128),
        (&[0xd1, 0xff, 0x00], -256),
        (&[0xd2, 0x80, 0x00, 0x00, 0x00], i32::MIN as i64),
        (&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], i64::MIN),
    ];
    for (bytes, expected) in cases {
        assert_eq!(decode(bytes, &Type::Number), num(expected), "{bytes:02x?}");
    }
}

#[test]
fn u64_above_i64_max_is_a_decimal() {
    assert_eq!(
        decode(
            &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &Type::Number
        ),
        Value::Number(Number::Decimal("18446744073709551615".into()))
    );
    let mut bytes = vec![0xcf];
    bytes.extend_from_slice(&(i64::MAX as u64).to_be_bytes());
    assert_eq!(decode(&bytes, &Type::Number), num(i64::MAX));
}

#[test]
fn floats_decode() {
    let mut f64_bytes = vec![0xcb];
    f64_bytes.extend_from_slice(&0.1f64.to_be_bytes());
    assert_eq!(
        decode(&f64_bytes, &Type::Number),
        Value::Number(Number::Float(0.1))
    );
    assert_eq!(
        decode(&[0xca, 0x3f, 0xc0, 0x00, 0x00], &Type::Number),
        Value::Number(Number::Float(1.5))
    );
    // An integral float reads as the integer it is.
    let mut two = vec![0xcb];
    two.extend_from_slice(&2.0f64.to_be_bytes());
    assert_eq!(decode(&two, &Type::Number), num(2));
    let mut infinity = vec![0xcb];
    infinity.extend_from_slice(&f64::INFINITY.to_be_bytes());
    assert_eq!(
        decode(&infinity, &Type::Number),
        Value::Number(Number::Float(f64::INFINITY))
    );
    let mut nan = vec![0xcb];
    nan.extend_from_slice(&f64::NAN.to_be_bytes());
    decode_err(&nan, &Type::Number);
}

#[test]
fn decimal_strings_decode() {
    assert_eq!(
        decode(&fixstr("1e400"), &Type::Number),
        Value::Number(Number::Decimal("1e400".into()))
    );
    assert_eq!(
        decode(&fixstr("0.1000000000000000000001"), &Type::Number),
        Value::Number(Number::Decimal("0.1000000000000000000001".into()))
    );
    assert_eq!(decode(&fixstr("12"), &Type::Number), num(12));
    assert_eq!(
        decode(&fixstr("-Inf"), &Type::Number),
        Value::Number(Number::Float(f64::NEG_INFINITY))
    );
    assert_eq!(
        decode(&[0xc4, 0x03, b'3', b'.', b'5'], &Type::Number),
        Value::Number(Number::Decimal("3.5".into()))
    );
    let err = decode_err(&fixstr("abc"), &Type::Number);
    assert!(err.message.contains("number is required"), "{err}");
    decode_err(&[0xc3], &Type::Number);
}

#[test]
fn numbers_encode_like_go_cty() {
    let cases: Vec<(Number, Vec<u8>)> = vec![
        (Number::Int(5), vec![0x05]),
        (Number::Int(-1), vec![0xff]),
        (Number::Int(300), vec![0xcd, 0x01, 0x2c]),
        (Number::Int(i64::MIN), vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        (Number::Float(1.5), cat(&[&[0xcb], &1.5f64.to_be_bytes()])),
        (Number::Float(3.0), vec![0x03]),
        (Number::Float(-0.0), vec![0x00]),
        (
            Number::Float(1e300),
            cat(&[&[0xcb], &1e300f64.to_be_bytes()]),
        ),
        (
            Number::Float(f64::INFINITY),
            cat(&[&[0xcb], &f64::INFINITY.to_be_bytes()]),
        ),
        (Number::Decimal("1e400".into()), fixstr("1e400")),
        (Number::Decimal("42".into()), vec![0x2a]),
        (
            Number::Decimal("18446744073709551615".into()),
            fixstr("18446744073709551615"),
        ),
        (
            Number::Decimal("-Inf".into()),
            cat(&[&[0xcb], &f64::NEG_INFINITY.to_be_bytes()]),
        ),
    ];
    for (number, expected) in cases {
        assert_eq!(
            encode(&Value::Number(number.clone()), &Type::Number),
            expected,
            "{number:?}"
        );
    }
    encode_err(&Value::Number(Number::Float(f64::NAN)), &Type::Number);
    encode_err(
        &Value::Number(Number::Decimal("12 apples".into())),
        &Type::Number,
    );
}

// ---- collections -----------------------------------------------------------------------------

#[test]
fn lists_sets_and_tuples_are_arrays() {
    let list = Type::list(Type::Number);
    assert_eq!(
        encode(&Value::List(vec![num(1), num(2)]), &list),
        [0x92, 0x01, 0x02]
    );
    assert_eq!(
        decode(&[0x92, 0x01, 0x02], &list),
        Value::List(vec![num(1), num(2)])
    );
    assert_eq!(decode(&[0x90], &list), Value::List(vec![]));
    assert_eq!(
        decode(&[0xdc, 0x00, 0x01, 0x07], &list),
        Value::List(vec![num(7)])
    );
    assert_eq!(
        decode(&[0xdd, 0x00, 0x00, 0x00, 0x01, 0x07], &list),
        Value::List(vec![num(7)])
    );

    // Sets keep the order they arrived in, and are written in stored order.
    let set = Type::set(Type::Number);
    let bytes = [0x93, 0x03, 0x01, 0x02];
    let value = decode(&bytes, &set);
    assert_eq!(value, Value::Set(vec![num(3), num(1), num(2)]));
    assert_eq!(encode(&value, &set), bytes);

    let tuple = Type::Tuple(vec![Type::String, Type::Number]);
    let bytes = cat(&[&[0x92], &fixstr("a"), &[0x01]]);
    let value = Value::Tuple(vec![Value::string("a"), num(1)]);
    assert_eq!(decode(&bytes, &tuple), value);
    assert_eq!(encode(&value, &tuple), bytes);
    let err = decode_err(&cat(&[&[0x93], &fixstr("a"), &[0x01, 0x02]]), &tuple);
    assert!(err.message.contains("tuple of 2"), "{err}");
    decode_err(&cat(&[&[0x91], &fixstr("a")]), &tuple);
    encode_err(&Value::Tuple(vec![Value::string("a")]), &tuple);

    decode_err(&[0x81, 0xa1, b'a', 0x01], &list);
    decode_err(&[0x92, 0x01], &list); // truncated
}

#[test]
fn maps_have_string_keys() {
    let ty = Type::map(Type::String);
    let bytes = cat(&[
        &[0x82],
        &fixstr("a"),
        &fixstr("x"),
        &fixstr("b"),
        &fixstr("y"),
    ]);
    let value = Value::Map(BTreeMap::from([
        ("a".to_string(), Value::string("x")),
        ("b".to_string(), Value::string("y")),
    ]));
    assert_eq!(decode(&bytes, &ty), value);
    assert_eq!(encode(&value, &ty), bytes);
    assert_eq!(decode(&[0x80], &ty), Value::Map(BTreeMap::new()));
    let err = decode_err(&cat(&[&[0x81, 0x01], &fixstr("x")]), &ty);
    assert!(err.message.contains("map key"), "{err}");
    let duplicate = cat(&[
        &[0x82],
        &fixstr("a"),
        &fixstr("x"),
        &fixstr("a"),
        &fixstr("y"),
    ]);
    let err = decode_err(&duplicate, &ty);
    assert!(err.message.contains("duplicate"), "{err}");
    decode_err(&[0x91, 0xc0], &ty);
}

// ---- objects ----------------------------------------------------------------------------------

fn ab_type() -> Type {
    Type::object([("a", Type::String), ("b", Type::Number)])
}

#[test]
fn objects_read_in_any_order_and_write_sorted() {
    let ty = ab_type();
    let b_first = cat(&[&[0x82], &fixstr("b"), &[0x01], &fixstr("a"), &fixstr("x")]);
    let value = Value::object([("a", Value::string("x")), ("b", num(1))]);
    assert_eq!(decode(&b_first, &ty), value);
    assert_eq!(
        encode(&value, &ty),
        cat(&[&[0x82], &fixstr("a"), &fixstr("x"), &fixstr("b"), &[0x01]])
    );
    assert_eq!(
        decode(&[0x80], &Type::Object(BTreeMap::new())),
        Value::Object(BTreeMap::new())
    );
}

#[test]
fn object_with_a_missing_attribute_is_rejected() {
    let err = decode_err(&cat(&[&[0x81], &fixstr("a"), &fixstr("x")]), &ab_type());
    assert!(err.message.contains("missing attribute \"b\""), "{err}");
    let err = decode_err(&[0x80], &ab_type());
    assert!(err.message.contains("missing attribute"), "{err}");
}

#[test]
fn object_with_an_extra_attribute_is_rejected() {
    let bytes = cat(&[
        &[0x83],
        &fixstr("a"),
        &fixstr("x"),
        &fixstr("b"),
        &[0x01],
        &fixstr("c"),
        &[0xc0],
    ]);
    let err = decode_err(&bytes, &ab_type());
    assert!(err.message.contains("unsupported attribute \"c\""), "{err}");
    // Same count as the type, but one key swapped for an unknown one.
    let bytes = cat(&[&[0x82], &fixstr("a"), &fixstr("x"), &fixstr("z"), &[0x01]]);
    let err = decode_err(&bytes, &ab_type());
    assert!(err.message.contains("unsupported attribute \"z\""), "{err}");
}

#[test]
fn object_with_a_repeated_attribute_is_rejected() {
    let bytes = cat(&[
        &[0x82],
        &fixstr("a"),
        &fixstr("x"),
        &fixstr("a"),
        &fixstr("y"),
    ]);
    decode_err(&bytes, &ab_type());
}

#[test]
fn encoding_an_object_needs_exactly_the_types_attributes() {
    let err = encode_err(&Value::object([("a", Value::string("x"))]), &ab_type());
    assert!(err.message.contains("missing attribute \"b\""), "{err}");
    let extra = Value::object([("a", Value::string("x")), ("b", num(1)), ("c", Value::Null)]);
    let err = encode_err(&extra, &ab_type());
    assert!(err.message.contains("unsupported attribute \"c\""), "{err}");
    let err = encode_err(&Value::Map(BTreeMap::new()), &ab_type());
    assert!(err.message.contains("an object is required"), "{err}");
}

// ---- dynamic ----------------------------------------------------------------------------------

#[test]
fn dynamic_values_carry_their_type_json() {
    let value = Value::Dynamic(Type::String, Box::new(Value::string("hi")));
    let bytes = cat(&[&[0x92, 0xc4, 0x08], b"\"string\"", &fixstr("hi")]);
    assert_eq!(encode(&value, &Type::Dynamic), bytes);
    assert_eq!(decode(&bytes, &Type::Dynamic), value);
    // The type JSON may also come as a str.
    let as_str = cat(&[&[0x92, 0xa8], b"\"string\"", &fixstr("hi")]);
    assert_eq!(decode(&as_str, &Type::Dynamic), value);

    let list = Value::Dynamic(
        Type::list(Type::Number),
        Box::new(Value::List(vec![num(1)])),
    );
    let bytes = cat(&[&[0x92, 0xc4, 0x11], b"[\"list\",\"number\"]", &[0x91, 0x01]]);
    assert_eq!(encode(&list, &Type::Dynamic), bytes);
    assert_eq!(decode(&bytes, &Type::Dynamic), list);

    // A null of a known type keeps its wrapper.
    let typed_null = Value::Dynamic(Type::Bool, Box::new(Value::Null));
    let bytes = cat(&[&[0x92, 0xc4, 0x06], b"\"bool\"", &[0xc0]]);
    assert_eq!(encode(&typed_null, &Type::Dynamic), bytes);
    assert_eq!(decode(&bytes, &Type::Dynamic), typed_null);

    // Bare primitives in a dynamic slot are wrapped with the type they imply.
    assert_eq!(
        encode(&Value::Bool(true), &Type::Dynamic),
        cat(&[&[0x92, 0xc4, 0x06], b"\"bool\"", &[0xc3]])
    );
    encode_err(&Value::List(vec![]), &Type::Dynamic);
}

#[test]
fn unknown_and_null_in_a_dynamic_slot_are_plain() {
    assert_eq!(encode(&Value::Null, &Type::Dynamic), [0xc0]);
    assert_eq!(
        encode(&Value::unknown(), &Type::Dynamic),
        [0xd4, 0x00, 0x00]
    );
    assert_eq!(decode(&[0xc0], &Type::Dynamic), Value::Null);
    assert_eq!(
        decode(&[0xd4, 0x00, 0x00], &Type::Dynamic),
        Value::unknown()
    );
}

#[test]
fn malformed_dynamic_values_are_rejected() {
    decode_err(&cat(&[&[0x91, 0xc4, 0x08], b"\"string\""]), &Type::Dynamic);
    decode_err(
        &cat(&[&[0x93, 0xc4, 0x08], b"\"string\"", &[0xc0, 0xc0]]),
        &Type::Dynamic,
    );
    decode_err(
        &cat(&[&[0x92, 0xc4, 0x07], b"\"strin\"", &[0xc0]]),
        &Type::Dynamic,
    );
    decode_err(
        &cat(&[&[0x92, 0xc4, 0x03], b"[[[", &[0xc0]]),
        &Type::Dynamic,
    );
    decode_err(&[0x92, 0x01, 0xc0], &Type::Dynamic);
    decode_err(&fixstr("hi"), &Type::Dynamic);
    // Value does not match the declared type.
    decode_err(
        &cat(&[&[0x92, 0xc4, 0x08], b"\"number\"", &fixstr("hi")]),
        &Type::Dynamic,
    );
}

// ---- errors and limits -----------------------------------------------------------------------

#[test]
fn errors_say_where() {
    let ty = Type::object([
        ("server_ids", Type::list(Type::Number)),
        ("triggers", Type::map(Type::String)),
    ]);
    let bad_id = cat(&[
        &[0x82],
        &fixstr("server_ids"),
        &[0x94, 0x01, 0x02, 0x03],
        &fixstr("x"),
        &fixstr("triggers"),
        &[0x80],
    ]);
    let err = decode_err(&bad_id, &ty);
    assert_eq!(err.path, ".server_ids[3]");
    assert!(err.message.contains("a number is required"), "{err}");

    let bad_trigger = cat(&[
        &[0x82],
        &fixstr("server_ids"),
        &[0x90],
        &fixstr("triggers"),
        &[0x81],
        &fixstr("k"),
        &[0x01],
    ]);
    let err = decode_err(&bad_trigger, &ty);
    assert_eq!(err.path, ".triggers[\"k\"]");
    assert_eq!(
        err.to_string(),
        "a string is required, found an integer at .triggers[\"k\"]"
    );

    let value = Value::object([
        ("server_ids", Value::List(vec![num(1), Value::string("x")])),
        ("triggers", Value::Map(BTreeMap::new())),
    ]);
    assert_eq!(encode_err(&value, &ty).path, ".server_ids[1]");
}

#[test]
fn trailing_bytes_are_an_error() {
    decode_err(&[0x01, 0x02], &Type::Number);
    decode_err(&[], &Type::Number);
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut ty = Type::Number;
    for _ in 0..1000 {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; 1000];
    bytes.push(0x01);
    let err = decode_err(&bytes, &ty);
    assert!(err.message.contains("nested too deeply"), "{err}");

    // The same through dynamic values nesting dynamic values.
    let mut bytes = Vec::new();
    for _ in 0..1000 {
        bytes.extend_from_slice(&[0x92, 0xc4, 0x09]);
        bytes.extend_from_slice(b"\"dynamic\"");
    }
    bytes.push(0xc0);
    decode_err(&bytes, &Type::Dynamic);

    // And on the way out.
    let mut value = num(1);
    for _ in 0..1000 {
        value = Value::List(vec![value]);
    }
    encode_err(&value, &ty);
}

#[test]
fn huge_declared_lengths_do_not_allocate_or_panic() {
    let list = Type::list(Type::list(Type::Number));
    decode_err(
        &[0xdd, 0xff, 0xff, 0xff, 0xff, 0xdd, 0xff, 0xff, 0xff, 0xff],
        &list,
    );
    decode_err(&[0xdf, 0xff, 0xff, 0xff, 0xff], &Type::map(Type::String));
    decode_err(&[0xdb, 0xff, 0xff, 0xff, 0xff], &Type::String);
    decode_err(&[0xc9, 0xff, 0xff, 0xff, 0xff, 0x0c], &Type::String);
}
