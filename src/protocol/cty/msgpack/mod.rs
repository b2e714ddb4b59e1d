//! cty values in msgpack, the form Terraform sends in `DynamicValue.msgpack`.
//!
//! Follows go-cty's `cty/msgpack` (what Terraform itself runs): null is nil, numbers are ints,
//! float64s or decimal strings, objects are maps with exactly one entry per attribute, dynamic
//! values are `[type JSON, value]`, and unknowns are msgpack extensions.
//!
//! The low-level msgpack reads and writes come from the `rmp` crate; the walk over the type is
//! ours, because it is the type, not the bytes, that says what an array or map means.

mod decode;
mod encode;
mod refinements;

use super::{CodecError, Type, Value};

/// The bytes go-cty writes for an unknown value without refinements: fixext1, type 0, one zero
/// byte. This codec writes every unknown this way.
pub(crate) const UNKNOWN_BYTES: [u8; 3] = [0xd4, 0x00, 0x00];

/// Reads one value of type `ty`. Any extension reads as an unknown value (type 12 with its
/// refinements); trailing bytes after the value are an error.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode::decode(bytes, ty)
}

/// Writes `value` as a value of type `ty`. Unknowns are written as `d4 00 00` (refinements are
/// not written), object attributes in sorted order, set elements in their stored order.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    encode::encode(value, ty)
}
