//! msgpack bytes → [`Value`], driven by the expected [`Type`].

use super::refinements;
use crate::protocol::cty::{CodecError, Number, Type, Value, MAX_DEPTH};
use rmp::Marker;
use std::collections::btree_map::{BTreeMap, Entry};

pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = Reader::new(bytes);
    let value = reader.value(ty, 0)?;
    if !reader.rest.is_empty() {
        return Err(CodecError::new(format!(
            "{} unexpected bytes after the value",
            reader.rest.len()
        )));
    }
    Ok(value)
}

/// A cursor over msgpack bytes. Every read checks the remaining length first, so truncated or
/// hostile input ends in an error, never a panic; declared lengths are never trusted for
/// allocation beyond what the input could actually hold.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

/// Runs one of rmp's low-level decode functions against the remaining bytes.
fn rmp_read<'a, T, E: std::fmt::Display>(
    rest: &mut &'a [u8],
    read: impl FnOnce(&mut &'a [u8]) -> Result<T, E>,
) -> Result<T, CodecError> {
    read(rest).map_err(|e| CodecError::new(format!("malformed msgpack: {e}")))
}

fn is_extension(marker: Marker) -> bool {
    matches!(
        marker,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

/// What a msgpack item is, for error messages.
fn describe(marker: Marker) -> &'static str {
    match marker {
        Marker::Null => "nil",
        Marker::True | Marker::False => "a bool",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "an integer",
        Marker::F32 | Marker::F64 => "a float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "a string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary data",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "an array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "a map",
        Marker::Reserved => "the reserved byte 0xc1",
        _ => "an extension",
    }
}

fn mismatch(expected: &str, found: Marker) -> CodecError {
    CodecError::new(format!("{expected} is required, found {}", describe(found)))
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn peek(&self) -> Result<Marker, CodecError> {
        match self.rest.first() {
            Some(byte) => Ok(Marker::from_u8(*byte)),
            None => Err(CodecError::new("unexpected end of input")),
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        if len > self.rest.len() {
            return Err(CodecError::new(format!(
                "truncated input: {len} bytes declared, {} left",
                self.rest.len()
            )));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// Capacity to reserve for `declared` items: never more than the remaining input could
    /// hold (each item takes at least one byte), and capped so nested hostile lengths cannot
    /// reserve memory level after level; larger collections simply grow.
    fn capacity_for(&self, declared: usize) -> usize {
        const MAX_RESERVED: usize = 1024;
        declared.min(self.rest.len()).min(MAX_RESERVED)
    }

    pub(super) fn array_len(&mut self, expected: &str) -> Result<usize, CodecError> {
        match self.peek()? {
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                rmp_read(&mut self.rest, rmp::decode::read_array_len).map(|len| len as usize)
            }
            other => Err(mismatch(expected, other)),
        }
    }

    pub(super) fn map_len(&mut self, expected: &str) -> Result<usize, CodecError> {
        match self.peek()? {
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                rmp_read(&mut self.rest, rmp::decode::read_map_len).map(|len| len as usize)
            }
            other => Err(mismatch(expected, other)),
        }
    }

    /// The payload of a str or bin item (go-cty's decoder accepts either for strings).
    pub(super) fn string_bytes(&mut self, expected: &str) -> Result<&'a [u8], CodecError> {
        let len = match self.peek()? {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                rmp_read(&mut self.rest, rmp::decode::read_str_len)?
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                rmp_read(&mut self.rest, rmp::decode::read_bin_len)?
            }
            other => return Err(mismatch(expected, other)),
        };
        self.take(len as usize)
    }

    fn str(&mut self, expected: &str) -> Result<&'a str, CodecError> {
        let bytes = self.string_bytes(expected)?;
        std::str::from_utf8(bytes).map_err(|_| CodecError::new("string is not valid UTF-8"))
    }

    pub(super) fn string(&mut self) -> Result<String, CodecError> {
        self.str("a string").map(str::to_owned)
    }

    pub(super) fn bool(&mut self) -> Result<bool, CodecError> {
        match self.peek()? {
            Marker::True | Marker::False => rmp_read(&mut self.rest, rmp::decode::read_bool),
            other => Err(mismatch("a bool", other)),
        }
    }

    /// Any integer form as an i64.
    pub(super) fn int(&mut self) -> Result<i64, CodecError> {
        match self.peek()? {
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::U8
            | Marker::U16
            | Marker::U32
            | Marker::U64
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => rmp_read(&mut self.rest, rmp::decode::read_int::<i64, _>),
            other => Err(mismatch("an integer", other)),
        }
    }

    /// A number in any form Terraform may write it: any int, float32/float64, or a decimal
    /// string.
    pub(super) fn number(&mut self) -> Result<Number, CodecError> {
        let float = match self.peek()? {
            Marker::U64 => {
                let unsigned = rmp_read(&mut self.rest, rmp::decode::read_int::<u64, _>)?;
                return Ok(match i64::try_from(unsigned) {
                    Ok(int) => Number::Int(int),
                    Err(_) => Number::Decimal(unsigned.to_string()),
                });
            }
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::U8
            | Marker::U16
            | Marker::U32
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => return self.int().map(Number::Int),
            Marker::F32 => f64::from(rmp_read(&mut self.rest, rmp::decode::read_f32)?),
            Marker::F64 => rmp_read(&mut self.rest, rmp::decode::read_f64)?,
            Marker::FixStr(_)
            | Marker::Str8
            | Marker::Str16
            | Marker::Str32
            | Marker::Bin8
            | Marker::Bin16
            | Marker::Bin32 => {
                let text = self.str("a number")?;
                return Number::parse(text).ok_or_else(|| {
                    CodecError::new(format!("a number is required, found {text:?}"))
                });
            }
            other => return Err(mismatch("a number", other)),
        };
        Number::from_f64(float).ok_or_else(|| CodecError::new("a number is required, found NaN"))
    }

    /// An extension item: its type id and payload.
    fn extension(&mut self) -> Result<(i8, &'a [u8]), CodecError> {
        let meta = rmp_read(&mut self.rest, rmp::decode::read_ext_meta)?;
        let payload = self.take(meta.size as usize)?;
        Ok((meta.typeid, payload))
    }

    /// Steps over one item of any kind (refinement keys this codec does not know).
    ///
    /// Written here rather than using rmp's `MessageLen`, which panics (`todo!()`) on extension
    /// markers.
    pub(super) fn skip(&mut self, depth: usize) -> Result<(), CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::new("nested too deeply"));
        }
        let fixed = match self.peek()? {
            Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
                1
            }
            Marker::U8 | Marker::I8 => 2,
            Marker::U16 | Marker::I16 => 3,
            Marker::U32 | Marker::I32 | Marker::F32 => 5,
            Marker::U64 | Marker::I64 | Marker::F64 => 9,
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                for _ in 0..self.array_len("an array")? {
                    self.skip(depth + 1)?;
                }
                return Ok(());
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                for _ in 0..self.map_len("a map")? {
                    self.skip(depth + 1)?;
                    self.skip(depth + 1)?;
                }
                return Ok(());
            }
            marker if is_extension(marker) => return self.extension().map(|_| ()),
            Marker::Reserved => return Err(mismatch("a msgpack item", Marker::Reserved)),
            _ => return self.string_bytes("a string").map(|_| ()),
        };
        self.take(fixed).map(|_| ())
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::new("nested too deeply"));
        }
        match self.peek()? {
            marker if is_extension(marker) => {
                let (type_id, payload) = self.extension()?;
                return Ok(Value::Unknown(refinements::parse(type_id, payload, ty)));
            }
            Marker::Null => {
                self.take(1)?;
                return Ok(Value::Null);
            }
            _ => {}
        }
        match ty {
            Type::String => self.string().map(Value::String),
            Type::Number => self.number().map(Value::Number),
            Type::Bool => self.bool().map(Value::Bool),
            Type::List(element) => self.elements(ty, element, depth).map(Value::List),
            Type::Set(element) => self.elements(ty, element, depth).map(Value::Set),
            Type::Tuple(elements) => self.tuple(elements, depth).map(Value::Tuple),
            Type::Map(element) => self.map(element, depth).map(Value::Map),
            Type::Object(attributes) => self.object(attributes, depth).map(Value::Object),
            Type::Dynamic => self.dynamic(depth),
        }
    }

    fn elements(
        &mut self,
        ty: &Type,
        element: &Type,
        depth: usize,
    ) -> Result<Vec<Value>, CodecError> {
        let len = self.array_len(ty.kind())?;
        let mut items = Vec::with_capacity(self.capacity_for(len));
        for index in 0..len {
            items.push(
                self.value(element, depth + 1)
                    .map_err(|e| e.in_element(index))?,
            );
        }
        Ok(items)
    }

    fn tuple(&mut self, elements: &[Type], depth: usize) -> Result<Vec<Value>, CodecError> {
        let len = self.array_len("a tuple")?;
        if len != elements.len() {
            return Err(CodecError::new(format!(
                "a tuple of {} elements is required, found {len}",
                elements.len()
            )));
        }
        let mut items = Vec::with_capacity(len);
        for (index, element) in elements.iter().enumerate() {
            items.push(
                self.value(element, depth + 1)
                    .map_err(|e| e.in_element(index))?,
            );
        }
        Ok(items)
    }

    fn map(&mut self, element: &Type, depth: usize) -> Result<BTreeMap<String, Value>, CodecError> {
        let len = self.map_len("a map")?;
        let mut entries = BTreeMap::new();
        for _ in 0..len {
            let key = self
                .str("a string map key")
                .map_err(|e| CodecError::new(format!("invalid map key: {}", e.message)))?;
            let value = self.value(element, depth + 1).map_err(|e| e.in_key(key))?;
            match entries.entry(key.to_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(_) => return Err(CodecError::new("duplicate map key").in_key(key)),
            }
        }
        Ok(entries)
    }

    /// Exactly one entry per attribute, in any order: a key the type does not have, a repeated
    /// key or a missing attribute is an error.
    fn object(
        &mut self,
        attributes: &BTreeMap<String, Type>,
        depth: usize,
    ) -> Result<BTreeMap<String, Value>, CodecError> {
        let len = self.map_len("an object")?;
        let mut values = BTreeMap::new();
        for _ in 0..len {
            let name = self
                .str("a string attribute name")
                .map_err(|e| CodecError::new(format!("invalid attribute name: {}", e.message)))?;
            let Some(ty) = attributes.get(name) else {
                return Err(CodecError::new(format!("unsupported attribute {name:?}")));
            };
            let value = self
                .value(ty, depth + 1)
                .map_err(|e| e.in_attribute(name))?;
            match values.entry(name.to_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(_) => {
                    return Err(CodecError::new("attribute given twice").in_attribute(name))
                }
            }
        }
        if let Some(missing) = attributes.keys().find(|name| !values.contains_key(*name)) {
            return Err(CodecError::new(format!("missing attribute {missing:?}")));
        }
        Ok(values)
    }

    /// `[type JSON as bytes, value]`; nil and unknown were handled by the caller.
    fn dynamic(&mut self, depth: usize) -> Result<Value, CodecError> {
        let len = self.array_len("a [type, value] array for a dynamic value")?;
        if len != 2 {
            return Err(CodecError::new(format!(
                "a dynamic value must be a [type, value] array, found {len} elements"
            )));
        }
        let type_json = self.string_bytes("the JSON type of a dynamic value")?;
        let json: serde_json::Value = serde_json::from_slice(type_json)
            .map_err(|e| CodecError::new(format!("invalid type of a dynamic value: {e}")))?;
        let ty = Type::from_json(&json).map_err(|e| CodecError::new(e.to_string()))?;
        let value = self.value(&ty, depth + 1)?;
        Ok(Value::Dynamic(ty, Box::new(value)))
    }
}
