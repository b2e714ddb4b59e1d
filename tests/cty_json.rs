//! The JSON form of cty values (`DynamicValue.json`, raw state) and of cty types.

use serde_json::json;
use std::collections::BTreeMap;
use tfws::protocol::cty::{
    decode_json, decode_json_value, encode_json, CodecError, Number, Type, Value,
};

fn decode(json: serde_json::Value, ty: &Type) -> Value {
    match decode_json_value(&json, ty) {
        Ok(value) => value,
        Err(e) => panic!("decoding {json} as {ty:?} failed: {e}"),
    }
}

fn decode_err(json: serde_json::Value, ty: &Type) -> CodecError {
    match decode_json_value(&json, ty) {
        Ok(value) => panic!("decoding {json} as {ty:?} should fail, got {value:?}"),
        Err(e) => e,
    }
}

fn encode(value: &Value, ty: &Type) -> String {
    match encode_json(value, ty) {
        Ok(bytes) => String::from_utf8(bytes).unwrap_or_else(|e| panic!("not UTF-8: {e}")),
        Err(e) => panic!("encoding {value:?} as {ty:?} failed: {e}"),
    }
}

fn encode_err(value: &Value, ty: &Type) -> CodecError {
    match encode_json(value, ty) {
        Ok(bytes) => panic!(
            "encoding {value:?} should fail, got {}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => e,
    }
}

fn num(n: i64) -> Value {
    Value::Number(Number::Int(n))
}

#[test]
fn missing_object_attributes_are_null() {
    let ty = Type::object([("a", Type::String), ("b", Type::list(Type::Number))]);
    assert_eq!(
        decode(json!({"a": "x"}), &ty),
        Value::object([("a", Value::string("x")), ("b", Value::Null)])
    );
    assert_eq!(
        decode(json!({}), &ty),
        Value::object([("a", Value::Null), ("b", Value::Null)])
    );
    let err = decode_err(json!({"a": "x", "c": 1}), &ty);
    assert!(err.message.contains("unsupported attribute \"c\""), "{err}");
}

#[test]
fn numbers() {
    assert_eq!(decode(json!(7), &Type::Number), num(7));
    assert_eq!(decode(json!(-7), &Type::Number), num(-7));
    assert_eq!(
        decode(json!(1.5), &Type::Number),
        Value::Number(Number::Float(1.5))
    );
    assert_eq!(decode(json!(2.0), &Type::Number), num(2));
    assert_eq!(
        decode(json!(18446744073709551615u64), &Type::Number),
        Value::Number(Number::Decimal("18446744073709551615".into()))
    );
    // go-cty converts strings to numbers.
    assert_eq!(decode(json!("12"), &Type::Number), num(12));
    assert_eq!(
        decode(json!("0.5e-3"), &Type::Number),
        Value::Number(Number::Decimal("0.5e-3".into()))
    );
    decode_err(json!("twelve"), &Type::Number);
    decode_err(json!(true), &Type::Number);

    assert_eq!(encode(&num(-3), &Type::Number), "-3");
    assert_eq!(
        encode(&Value::Number(Number::Float(0.25)), &Type::Number),
        "0.25"
    );
    assert_eq!(
        encode(&Value::Number(Number::Float(8.0)), &Type::Number),
        "8"
    );
    assert_eq!(
        encode(
            &Value::Number(Number::Decimal("1e400".into())),
            &Type::Number
        ),
        "1e400"
    );
    assert_eq!(
        encode(&Value::Number(Number::Decimal("+.5".into())), &Type::Number),
        "0.5"
    );
    encode_err(&Value::Number(Number::Float(f64::INFINITY)), &Type::Number);
}

#[test]
fn primitives_convert_like_go_cty() {
    assert_eq!(decode(json!(5), &Type::String), Value::string("5"));
    assert_eq!(decode(json!(true), &Type::String), Value::string("true"));
    assert_eq!(decode(json!("false"), &Type::Bool), Value::Bool(false));
    decode_err(json!("yes"), &Type::Bool);
    decode_err(json!([]), &Type::String);
    decode_err(json!({}), &Type::Bool);
}

#[test]
fn collections() {
    let list = Type::list(Type::String);
    assert_eq!(
        decode(json!(["a", "b"]), &list),
        Value::List(vec![Value::string("a"), Value::string("b")])
    );
    let set = Type::set(Type::Number);
    assert_eq!(
        decode(json!([3, 1]), &set),
        Value::Set(vec![num(3), num(1)])
    );
    assert_eq!(encode(&Value::Set(vec![num(3), num(1)]), &set), "[3,1]");
    let map = Type::map(Type::Bool);
    let value = Value::Map(BTreeMap::from([("k".to_string(), Value::Bool(true))]));
    assert_eq!(decode(json!({"k": true}), &map), value);
    assert_eq!(encode(&value, &map), r#"{"k":true}"#);
    let tuple = Type::Tuple(vec![Type::String, Type::Bool]);
    assert_eq!(
        decode(json!(["a", false]), &tuple),
        Value::Tuple(vec![Value::string("a"), Value::Bool(false)])
    );
    let err = decode_err(json!(["a"]), &tuple);
    assert!(err.message.contains("tuple of 2"), "{err}");
    decode_err(json!(["a", false, 1]), &tuple);
    decode_err(json!({"a": 1}), &list);
}

#[test]
fn objects_are_written_sorted_with_every_attribute() {
    let ty = Type::object([("b", Type::Number), ("a", Type::String), ("c", Type::Bool)]);
    let value = Value::object([
        ("c", Value::Null),
        ("b", num(1)),
        ("a", Value::string("x\"y")),
    ]);
    assert_eq!(encode(&value, &ty), r#"{"a":"x\"y","b":1,"c":null}"#);
    let err = encode_err(&Value::object([("a", Value::Null)]), &ty);
    assert!(err.message.contains("missing attribute"), "{err}");
}

#[test]
fn dynamic_values_are_value_and_type() {
    let value = Value::Dynamic(
        Type::list(Type::String),
        Box::new(Value::List(vec![Value::string("a")])),
    );
    assert_eq!(
        encode(&value, &Type::Dynamic),
        r#"{"value":["a"],"type":["list","string"]}"#
    );
    assert_eq!(
        decode(
            json!({"type": ["list", "string"], "value": ["a"]}),
            &Type::Dynamic
        ),
        value
    );
    assert_eq!(decode(json!(null), &Type::Dynamic), Value::Null);
    assert_eq!(encode(&Value::Null, &Type::Dynamic), "null");
    assert_eq!(
        encode(&Value::string("s"), &Type::Dynamic),
        r#"{"value":"s","type":"string"}"#
    );
    decode_err(json!({"value": "a"}), &Type::Dynamic);
    decode_err(json!({"type": "string"}), &Type::Dynamic);
    decode_err(
        json!({"type": "string", "value": "a", "extra": 1}),
        &Type::Dynamic,
    );
    decode_err(json!({"type": "strung", "value": "a"}), &Type::Dynamic);
    decode_err(json!("a"), &Type::Dynamic);
}

#[test]
fn unknowns_cannot_be_written() {
    let ty = Type::object([("ids", Type::list(Type::String))]);
    let value = Value::object([(
        "ids",
        Value::List(vec![Value::string("a"), Value::unknown()]),
    )]);
    let err = encode_err(&value, &ty);
    assert_eq!(err.path, ".ids[1]");
    assert!(err.message.contains("unknown"), "{err}");
    encode_err(&Value::unknown(), &Type::Dynamic);
}

#[test]
fn errors_say_where() {
    let ty = Type::object([("triggers", Type::map(Type::list(Type::Bool)))]);
    let err = decode_err(json!({"triggers": {"k": [true, 3]}}), &ty);
    assert_eq!(err.path, ".triggers[\"k\"][1]");
}

#[test]
fn bytes_are_parsed() {
    assert_eq!(
        decode_json(
            br#"{"a":[1,2]}"#,
            &Type::object([("a", Type::list(Type::Number))])
        )
        .ok(),
        Some(Value::object([("a", Value::List(vec![num(1), num(2)]))]))
    );
    assert!(decode_json(b"{\"a\":", &Type::Dynamic).is_err());
    assert!(decode_json(b"1e999", &Type::Number).is_err());
}

// ---- types ------------------------------------------------------------------------------------

#[test]
fn types_to_json() {
    let cases: Vec<(Type, &str)> = vec![
        (Type::String, r#""string""#),
        (Type::Number, r#""number""#),
        (Type::Bool, r#""bool""#),
        (Type::Dynamic, r#""dynamic""#),
        (Type::list(Type::String), r#"["list","string"]"#),
        (Type::set(Type::Number), r#"["set","number"]"#),
        (
            Type::map(Type::list(Type::Bool)),
            r#"["map",["list","bool"]]"#,
        ),
        (
            Type::object([("b", Type::Number), ("a", Type::set(Type::String))]),
            r#"["object",{"a":["set","string"],"b":"number"}]"#,
        ),
        (Type::Object(BTreeMap::new()), r#"["object",{}]"#),
        (
            Type::Tuple(vec![Type::String, Type::Dynamic]),
            r#"["tuple",["string","dynamic"]]"#,
        ),
        (Type::Tuple(vec![]), r#"["tuple",[]]"#),
    ];
    for (ty, expected) in cases {
        assert_eq!(
            String::from_utf8_lossy(&ty.to_json_bytes()),
            expected,
            "{ty:?}"
        );
        assert_eq!(
            serde_json::to_string(&ty.to_json()).ok().as_deref(),
            Some(expected),
            "{ty:?}"
        );
        let parsed: serde_json::Value = serde_json::from_str(expected).unwrap_or_default();
        assert_eq!(Type::from_json(&parsed), Ok(ty));
    }
    // Attribute names that need escaping.
    let odd = Type::object([("a\"b\\c\u{1}", Type::String)]);
    let bytes = odd.to_json_bytes();
    let reparsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    assert_eq!(reparsed, odd.to_json());
    assert_eq!(Type::from_json(&reparsed), Ok(odd));
}

#[test]
fn object_types_may_list_optional_attributes() {
    let with_optional = json!(["object", {"a": "string", "b": "number"}, ["b"]]);
    assert_eq!(
        Type::from_json(&with_optional),
        Ok(Type::object([("a", Type::String), ("b", Type::Number)]))
    );
    assert!(Type::from_json(&json!(["object", {"a": "string"}, ["zz"]])).is_err());
    assert!(Type::from_json(&json!(["object", {"a": "string"}, "a"])).is_err());
}

#[test]
fn invalid_types_are_rejected() {
    for bad in [
        json!("strin"),
        json!(5),
        json!(null),
        json!([]),
        json!(["list"]),
        json!(["list", "string", "string"]),
        json!(["foo", "string"]),
        json!(["object", ["a"]]),
        json!(["object", {"a": "strin"}]),
        json!(["tuple", "string"]),
        json!(["tuple", ["string", 1]]),
        json!([["list"], "string"]),
        json!({"list": "string"}),
    ] {
        assert!(Type::from_json(&bad).is_err(), "{bad}");
    }
    let err = Type::from_json(&json!(["object", {"a": ["list", "nope"]}])).err();
    assert_eq!(err.map(|e| e.path), Some(".a".to_string()));
}
