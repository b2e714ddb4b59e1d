//! `DynamicValue` in and out: the core decodes and encodes, this only moves the bytes.

use super::pb;
use crate::protocol::core::WireValue;

/// The bytes of a value as received; an absent value is empty (and decodes as null).
pub(crate) fn wire(value: Option<pb::DynamicValue>) -> WireValue {
    value
        .map(|value| WireValue {
            msgpack: value.msgpack,
            json: value.json,
        })
        .unwrap_or_default()
}

/// An encoded answer, always sent as msgpack; `None` when encoding failed (the diagnostics
/// then say why).
pub(crate) fn dynamic_value(msgpack: Option<Vec<u8>>) -> Option<pb::DynamicValue> {
    msgpack.map(|msgpack| pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}
