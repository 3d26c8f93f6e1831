//! Compaction straight from a typed result, without writing it as a JSON value first.
//!
//! Building the full value (a tree of maps with every model text copied) and then comparing it
//! with the templates was most of a write's CPU. Here each object is first probed for its
//! identifying field (a look at its fields' names, no walk of their values), so its template is
//! known before its fields are written; a field is then compared with its template value as it is
//! serialised (stopping at the first difference), and only a field that differs is written, in
//! compact form, as JSON bytes. They are the bytes of the value [`Dictionary::compact`] gives for
//! the serialised result, written by `json_writer` (a test checks it on every reference program,
//! and the property test on arbitrary values), so hydration inverts it the same way.
//!
//! A shape this does not handle (an enum variant with data, a map with keys that are not strings)
//! makes it give up: the writer then compacts the serialised value as before.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Display};
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::{Map, Value};

use super::{ABSENT_FIELDS, CompactString, Dictionary, IDENTIFYING_FIELDS, identical, push_segment};
use crate::json_writer;

/// What a compact result is written into at first: most are 4-10 KB.
const COMPACT_CAPACITY: usize = 16 << 10;

/// Lists remembered per template value: a few suffice (a template path sees one list, or a few).
const LISTS_PER_TEMPLATE_VALUE: usize = 4;

/// A template as the typed compaction reads it: each member found by hashing its name, and the
/// members' names in key order, which the list of absent members follows. Searching the sorted map, a
/// name comparison per step, was a sixth of a compaction (callgrind). The members are copies of
/// the template's, fixed for the dictionary's life, so their addresses can key
/// [`ComparedLists`].
#[derive(Debug, PartialEq)]
pub(super) struct TypedTemplate {
    /// Each member's index in `names`, and its value.
    members: super::Lookup<String, (usize, Expected)>,
    names: Vec<String>,
}

impl TypedTemplate {
    pub(super) fn new(template: &Map<String, Value>) -> Self {
        Self {
            members: template
                .iter()
                .enumerate()
                .map(|(index, (field, value))| (field.clone(), (index, Expected::new(value))))
                .collect(),
            names: template.keys().cloned().collect(),
        }
    }
}

/// A template value as [`Same`] compares a member with it: a JSON value whose objects find their
/// members by hashing their names. (Once the templates' own members were hashed, searching the
/// sorted maps of the objects inside their values was a tenth of a compaction.)
#[derive(Debug, PartialEq)]
pub(super) enum Expected {
    /// Null, a boolean, a number or a string.
    Scalar(Value),
    Array(Vec<Expected>),
    Object(super::Lookup<String, Expected>),
}

impl Expected {
    fn new(value: &Value) -> Self {
        match value {
            Value::Array(items) => Self::Array(items.iter().map(Self::new).collect()),
            Value::Object(members) => {
                Self::Object(members.iter().map(|(name, value)| (name.clone(), Self::new(value))).collect())
            }
            scalar => Self::Scalar(scalar.clone()),
        }
    }

    fn scalar(&self) -> Option<&Value> {
        match self {
            Self::Scalar(value) => Some(value),
            Self::Array(_) | Self::Object(_) => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        self.scalar().and_then(Value::as_str)
    }

    fn is_null(&self) -> bool {
        self.scalar().is_some_and(Value::is_null)
    }
}

/// Whether a shared list of the model (a citation list, offering its JSON through
/// [`json_writer::Prewritten`]) is identical to a template value, remembered by the list's JSON:
/// the same lists are in every result, and comparing each again, item by item and field by field,
/// was a tenth of a compaction. Keyed by the template value's address, which is fixed for the
/// dictionary's life (it is never changed once built), and lives in the dictionary, so no address
/// outlives its value. The same JSON is the same list to every comparison, so a remembered answer
/// is the one a comparison would give.
#[derive(Default)]
pub(super) struct ComparedLists(Mutex<HashMap<usize, Vec<ComparedList>>>);

/// A list's JSON, and whether it was identical to the template value.
type ComparedList = (Box<[u8]>, bool);

impl ComparedLists {
    fn known(&self, template_value: usize, json: &[u8]) -> Option<bool> {
        let compared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        compared.get(&template_value)?.iter().find(|(list, _)| **list == *json).map(|(_, same)| *same)
    }

    /// How many lists are remembered identical to their template value, and how many different.
    #[cfg(test)]
    pub(super) fn remembered(&self) -> (usize, usize) {
        let compared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let same = compared.values().flatten().filter(|(_, same)| *same).count();
        (same, compared.values().map(Vec::len).sum::<usize>() - same)
    }

    fn remember(&self, template_value: usize, json: &[u8], same: bool) {
        let mut compared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let lists = compared.entry(template_value).or_default();
        if lists.len() < LISTS_PER_TEMPLATE_VALUE && !lists.iter().any(|(list, _)| **list == *json) {
            lists.push((json.into(), same));
        }
    }
}

/// A cache: dictionaries are equal by what they hold.
impl PartialEq for ComparedLists {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for ComparedLists {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ComparedLists")
    }
}

/// Why a typed compaction stopped: a field was not its template's value (the comparison only), or
/// the result has a shape this module leaves to [`Dictionary::compact`].
#[derive(Debug)]
pub(super) enum Stop {
    Different,
    Unsupported,
    /// `Dictionary::compact` refuses it too: an object with the reserved field.
    Reserved,
}

impl Display for Stop {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{self:?}")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: Display>(_: T) -> Self {
        Self::Unsupported
    }
}

impl Dictionary {
    /// The compact form of `result`, written as JSON, as [`Dictionary::compact`] gives it for
    /// `result` serialised to a JSON value; `Err(true)` when that is `None` too (an object has the reserved field),
    /// `Err(false)` when this path cannot tell and the value must be built.
    pub(super) fn compact_typed<T: Serialize + ?Sized>(&self, result: &T) -> Result<Vec<u8>, bool> {
        let buffers = Buffers {
            path: RefCell::new(String::new()),
            out: RefCell::new(Vec::with_capacity(COMPACT_CAPACITY)),
            written: RefCell::new(Vec::new()),
            present: RefCell::new(Vec::new()),
        };
        let identifier = result.serialize(Probe).map_err(|_| false)?;
        result
            .serialize(Compactor { dictionary: self, buffers: &buffers, identifier })
            .map_err(|stop| matches!(stop, Stop::Reserved))?;
        Ok(buffers.out.into_inner())
    }
}

/// An object's identifying field and its value as the template key writes it (`None` when it has
/// none, or when the value is not an object).
type Identifier = Option<(&'static str, String)>;

/// Finds the identifying field of an object as `template_of` would in its JSON value: the first of
/// [`IDENTIFYING_FIELDS`] the object has whose value is a string or an unsigned integer.
struct Probe;

struct ObjectProbe {
    best: Option<(usize, &'static str, String)>,
}

impl ObjectProbe {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        let Some(rank) = IDENTIFYING_FIELDS.iter().position(|field| *field == key) else {
            return;
        };
        if self.best.as_ref().is_some_and(|(best, _, _)| *best < rank) {
            return;
        }
        if let Ok(Some(text)) = value.serialize(ScalarProbe) {
            self.best = Some((rank, IDENTIFYING_FIELDS[rank], text));
        }
    }

    fn end(self) -> Identifier {
        self.best.map(|(_, field, text)| (field, text))
    }
}

impl SerializeStruct for ObjectProbe {
    type Ok = Identifier;
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.field(key, value);
        Ok(())
    }
    fn end(self) -> Result<Identifier, Stop> {
        Ok(ObjectProbe::end(self))
    }
}

/// A map's probe: its keys are read as strings (another key type is left to the slow path).
struct MapProbe {
    object: ObjectProbe,
    key: Option<String>,
}

impl SerializeMap for MapProbe {
    type Ok = Identifier;
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().ok_or(Stop::Unsupported)?;
        self.object.field(&key, value);
        Ok(())
    }
    fn end(self) -> Result<Identifier, Stop> {
        Ok(self.object.end())
    }
}

/// A sequence, tuple or other compound that is not an object, skipped by a probe.
struct Skipped<T>(T);

macro_rules! skipped_compound {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<T> ser::$trait for Skipped<T> {
            type Ok = T;
            type Error = Stop;
            fn $method<V: Serialize + ?Sized>(&mut self, _: &V) -> Result<(), Stop> {
                Ok(())
            }
            fn end(self) -> Result<T, Stop> {
                Ok(self.0)
            }
        }
    )*};
}

skipped_compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The ten number methods of a serializer, each `$body` with the number as `$value`.
macro_rules! numbers {
    (|$this:ident, $value:ident| $body:expr) => {
        numbers!(@each $this $value $body; serialize_i8 i8, serialize_i16 i16, serialize_i32 i32,
            serialize_i64 i64, serialize_u8 u8, serialize_u16 u16, serialize_u32 u32, serialize_u64 u64,
            serialize_f32 f32, serialize_f64 f64);
    };
    (@each $this:ident $value:ident $body:expr; $($method:ident $type:ty),*) => {$(
        fn $method(self, $value: $type) -> Result<Self::Ok, Stop> {
            let $this = self;
            $body
        }
    )*};
}

/// The three sequence traits of `$type`, each item given to its `item` method and the end to its
/// `finish`.
macro_rules! sequence {
    ($type:ident, $ok:ty) => {
        sequence!(@each $type $ok; SerializeSeq serialize_element, SerializeTuple serialize_element,
            SerializeTupleStruct serialize_field);
    };
    (@each $type:ident $ok:ty; $($trait:ident $method:ident),*) => {$(
        impl ser::$trait for $type<'_> {
            type Ok = $ok;
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.item(value)
            }
            fn end(self) -> Result<$ok, Stop> {
                self.finish()
            }
        }
    )*};
}

/// The scalar methods of a serializer that answers `$value` for every scalar.
macro_rules! scalars {
    ($value:expr) => {
        fn serialize_bool(self, _: bool) -> Result<Self::Ok, Stop> {
            Ok($value)
        }
        numbers!(|_probe, _number| Ok($value));
        fn serialize_char(self, _: char) -> Result<Self::Ok, Stop> {
            Ok($value)
        }
        fn serialize_str(self, _: &str) -> Result<Self::Ok, Stop> {
            Ok($value)
        }
        fn serialize_none(self) -> Result<Self::Ok, Stop> {
            Ok($value)
        }
        fn serialize_unit(self) -> Result<Self::Ok, Stop> {
            Ok($value)
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Stop> {
            Ok($value)
        }
    };
}

/// The methods every serializer here refuses: bytes and enum variants with data, which no result
/// has and which serde_json writes as objects of their own.
macro_rules! refused {
    () => {
        fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, Stop> {
            Err(Stop::Unsupported)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Stop> {
            Err(Stop::Unsupported)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Stop> {
            Err(Stop::Unsupported)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Stop> {
            Err(Stop::Unsupported)
        }
    };
}

impl Serializer for Probe {
    type Ok = Identifier;
    type Error = Stop;
    type SerializeSeq = Skipped<Identifier>;
    type SerializeTuple = Skipped<Identifier>;
    type SerializeTupleStruct = Skipped<Identifier>;
    type SerializeTupleVariant = Skipped<Identifier>;
    type SerializeMap = MapProbe;
    type SerializeStruct = ObjectProbe;
    type SerializeStructVariant = Impossible<Identifier, Stop>;

    scalars!(None);
    refused!();

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<Identifier, Stop> {
        Ok(None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Identifier, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Identifier, Stop> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Skipped<Identifier>, Stop> {
        Ok(Skipped(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Skipped<Identifier>, Stop> {
        Ok(Skipped(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Skipped<Identifier>, Stop> {
        Ok(Skipped(None))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapProbe, Stop> {
        Ok(MapProbe { object: ObjectProbe { best: None }, key: None })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<ObjectProbe, Stop> {
        Ok(ObjectProbe { best: None })
    }
}

/// The text a value gives a template key when it identifies its object: a string as itself, an
/// unsigned integer in decimal (as serde_json writes it); `None` for anything else.
struct ScalarProbe;

impl Serializer for ScalarProbe {
    type Ok = Option<String>;
    type Error = Stop;
    type SerializeSeq = Skipped<Option<String>>;
    type SerializeTuple = Skipped<Option<String>>;
    type SerializeTupleStruct = Skipped<Option<String>>;
    type SerializeTupleVariant = Skipped<Option<String>>;
    type SerializeMap = Impossible<Option<String>, Stop>;
    type SerializeStruct = Impossible<Option<String>, Stop>;
    type SerializeStructVariant = Impossible<Option<String>, Stop>;

    refused!();

    fn serialize_bool(self, _: bool) -> Result<Self::Ok, Stop> {
        Ok(None)
    }
    fn serialize_i8(self, value: i8) -> Result<Self::Ok, Stop> {
        self.serialize_i64(value.into())
    }
    fn serialize_i16(self, value: i16) -> Result<Self::Ok, Stop> {
        self.serialize_i64(value.into())
    }
    fn serialize_i32(self, value: i32) -> Result<Self::Ok, Stop> {
        self.serialize_i64(value.into())
    }
    fn serialize_i64(self, value: i64) -> Result<Self::Ok, Stop> {
        Ok((value >= 0).then(|| value.to_string()))
    }
    fn serialize_u8(self, value: u8) -> Result<Self::Ok, Stop> {
        Ok(Some(value.to_string()))
    }
    fn serialize_u16(self, value: u16) -> Result<Self::Ok, Stop> {
        Ok(Some(value.to_string()))
    }
    fn serialize_u32(self, value: u32) -> Result<Self::Ok, Stop> {
        Ok(Some(value.to_string()))
    }
    fn serialize_u64(self, value: u64) -> Result<Self::Ok, Stop> {
        Ok(Some(value.to_string()))
    }
    fn serialize_f32(self, _: f32) -> Result<Self::Ok, Stop> {
        Ok(None)
    }
    fn serialize_f64(self, _: f64) -> Result<Self::Ok, Stop> {
        Ok(None)
    }
    fn serialize_char(self, value: char) -> Result<Self::Ok, Stop> {
        Ok(Some(value.to_string()))
    }
    fn serialize_str(self, value: &str) -> Result<Self::Ok, Stop> {
        Ok(Some(value.to_owned()))
    }
    fn serialize_none(self) -> Result<Self::Ok, Stop> {
        Ok(None)
    }
    fn serialize_unit(self) -> Result<Self::Ok, Stop> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Stop> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Stop> {
        Ok(Some(variant.to_owned()))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Stop> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Ok(Skipped(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Ok(Skipped(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Stop> {
        Ok(Skipped(None))
    }
    // An object identifies nothing; saying so needs no walk of it, so the probe stops there.
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop::Different)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop::Different)
    }
}

/// A map key as text; a key of another type is left to the slow path.
struct KeyText;

impl Serializer for KeyText {
    type Ok = String;
    type Error = Stop;
    type SerializeSeq = Impossible<String, Stop>;
    type SerializeTuple = Impossible<String, Stop>;
    type SerializeTupleStruct = Impossible<String, Stop>;
    type SerializeTupleVariant = Impossible<String, Stop>;
    type SerializeMap = Impossible<String, Stop>;
    type SerializeStruct = Impossible<String, Stop>;
    type SerializeStructVariant = Impossible<String, Stop>;

    refused!();

    fn serialize_str(self, value: &str) -> Result<String, Stop> {
        Ok(value.to_owned())
    }
    fn serialize_bool(self, _: bool) -> Result<String, Stop> {
        Err(Stop::Unsupported)
    }
    numbers!(|_key, _number| Err(Stop::Unsupported));
    fn serialize_char(self, _: char) -> Result<String, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_none(self) -> Result<String, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_unit(self) -> Result<String, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<String, Stop> {
        Ok(variant.to_owned())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Stop> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop::Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop::Unsupported)
    }
}

/// Whether a value, serialised as a JSON value, is identical to `expected` (as [`identical`]
/// compares them): `Ok` when it is, stopping at the first difference otherwise.
struct Same<'a> {
    dictionary: &'a Dictionary,
    expected: &'a Expected,
}

impl Same<'_> {
    fn check(&self, same: bool) -> Result<(), Stop> {
        if same { Ok(()) } else { Err(Stop::Different) }
    }

    fn number<T: Serialize>(&self, value: T) -> Result<(), Stop> {
        let value = serde_json::to_value(value).map_err(|_| Stop::Unsupported)?;
        self.check(self.expected.scalar().is_some_and(|expected| identical(expected, &value)))
    }
}

impl<'a> Serializer for Same<'a> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = SameItems<'a>;
    type SerializeTuple = SameItems<'a>;
    type SerializeTupleStruct = SameItems<'a>;
    type SerializeTupleVariant = Impossible<(), Stop>;
    type SerializeMap = SameMembers<'a>;
    type SerializeStruct = SameMembers<'a>;
    type SerializeStructVariant = Impossible<(), Stop>;

    refused!();

    fn serialize_bool(self, value: bool) -> Result<(), Stop> {
        self.check(self.expected.scalar().and_then(Value::as_bool) == Some(value))
    }
    numbers!(|same, value| same.number(value));
    fn serialize_char(self, value: char) -> Result<(), Stop> {
        self.check(self.expected.as_str() == Some(value.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, value: &str) -> Result<(), Stop> {
        self.check(self.expected.as_str() == Some(value))
    }
    fn serialize_none(self) -> Result<(), Stop> {
        self.check(self.expected.is_null())
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        self.check(self.expected.is_null())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        self.check(self.expected.is_null())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Stop> {
        self.check(self.expected.as_str() == Some(variant))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        let compared = &self.dictionary.compared_lists;
        let template_value = std::ptr::from_ref(self.expected) as usize;
        match json_writer::with_prewritten(name, value, |json| compared.known(template_value, json)) {
            Some(Some(same)) => self.check(same),
            Some(None) => {
                let verdict = value.serialize(Same { ..self });
                if matches!(verdict, Ok(()) | Err(Stop::Different)) {
                    json_writer::with_prewritten(name, value, |json| {
                        compared.remember(template_value, json, verdict.is_ok());
                    });
                }
                verdict
            }
            None => value.serialize(self),
        }
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SameItems<'a>, Stop> {
        let Expected::Array(items) = self.expected else {
            return Err(Stop::Different);
        };
        Ok(SameItems { dictionary: self.dictionary, items, next: 0 })
    }
    fn serialize_tuple(self, length: usize) -> Result<SameItems<'a>, Stop> {
        self.serialize_seq(Some(length))
    }
    fn serialize_tuple_struct(self, _: &'static str, length: usize) -> Result<SameItems<'a>, Stop> {
        self.serialize_seq(Some(length))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<SameMembers<'a>, Stop> {
        let Expected::Object(members) = self.expected else {
            return Err(Stop::Different);
        };
        Ok(SameMembers { dictionary: self.dictionary, members, seen: 0, key: None })
    }
    fn serialize_struct(self, _: &'static str, length: usize) -> Result<SameMembers<'a>, Stop> {
        self.serialize_map(Some(length))
    }
}

struct SameItems<'a> {
    dictionary: &'a Dictionary,
    items: &'a [Expected],
    next: usize,
}

impl SameItems<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let expected = self.items.get(self.next).ok_or(Stop::Different)?;
        self.next += 1;
        value.serialize(Same { dictionary: self.dictionary, expected })
    }

    fn finish(self) -> Result<(), Stop> {
        if self.next == self.items.len() { Ok(()) } else { Err(Stop::Different) }
    }
}

sequence!(SameItems, ());

/// An object compared member by member: identical when every member is the expected object's
/// and identical to it, and it has as many members (an object's keys are distinct).
struct SameMembers<'a> {
    dictionary: &'a Dictionary,
    members: &'a super::Lookup<String, Expected>,
    seen: usize,
    key: Option<String>,
}

impl SameMembers<'_> {
    fn member<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Stop> {
        let expected = self.members.get(key).ok_or(Stop::Different)?;
        self.seen += 1;
        value.serialize(Same { dictionary: self.dictionary, expected })
    }

    fn finish(self) -> Result<(), Stop> {
        if self.seen == self.members.len() { Ok(()) } else { Err(Stop::Different) }
    }
}

impl SerializeStruct for SameMembers<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.member(key, value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl SerializeMap for SameMembers<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().ok_or(Stop::Unsupported)?;
        self.member(&key, value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

/// Writes the compact form of a value at `path` as JSON to `out`, whose identifier (when it is an
/// object) the probe found. The bytes are those of the compact value written by `json_writer`
/// (object members in key order, as serde_json's map keeps them): no tree of maps is built, to be
/// written once more and freed (that was a third of a compaction, and the packing's writing of
/// the tree a tenth of a write).
struct Compactor<'a> {
    dictionary: &'a Dictionary,
    buffers: &'a Buffers,
    identifier: Identifier,
}

/// What a compaction writes into, shared by all its objects: none allocates its own.
struct Buffers {
    /// The path of the value being written.
    path: RefCell<String>,
    out: RefCell<Vec<u8>>,
    /// The members written by the objects being written, innermost last: each `"name":value` at
    /// a range of `out`.
    written: RefCell<Vec<(Cow<'static, str>, Range<usize>)>>,
    /// The template members present in the objects being written (their indexes in the
    /// template's names), innermost last.
    present: RefCell<Vec<usize>>,
}

impl<'a> Compactor<'a> {
    /// Writes the compact form of a member or item: probed, then written at `path`.
    fn child<T: Serialize + ?Sized>(
        dictionary: &'a Dictionary,
        buffers: &'a Buffers,
        value: &T,
    ) -> Result<(), Stop> {
        // A probe that fails (a map with keys that are not strings) leaves the compactor to find
        // that out and give up.
        let identifier = value.serialize(Probe).unwrap_or(None);
        value.serialize(Compactor { dictionary, buffers, identifier })
    }

    fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Stop> {
        json_writer::write(&mut self.buffers.out.borrow_mut(), value).map_err(|_| Stop::Unsupported)
    }

    /// A string as `Dictionary::encode_string` writes it, without building it (a result has
    /// some thousand strings).
    fn string(&self, text: &str) -> Result<(), Stop> {
        match self.dictionary.compact_string(text) {
            CompactString::Itself(text) => self.json(text),
            CompactString::Reference(index) => {
                // The reference character as JSON escapes it, then the index.
                let mut out = self.buffers.out.borrow_mut();
                out.extend_from_slice(b"\"\\u0001");
                out.extend_from_slice(itoa::Buffer::new().format(index).as_bytes());
                out.push(b'"');
                Ok(())
            }
            CompactString::Escaped(_) => self.json(&self.dictionary.encode_string(text)),
        }
    }

    fn object(self) -> CompactObject<'a> {
        let mut path = self.buffers.path.borrow_mut();
        let length = path.len();
        if let Some((_, text)) = &self.identifier {
            path.push('#');
            path.push_str(text);
        }
        let template = self.dictionary.templates.get(path.as_str()).map(|template| &template.typed);
        path.truncate(length);
        let mut out = self.buffers.out.borrow_mut();
        out.push(b'{');
        CompactObject {
            dictionary: self.dictionary,
            buffers: self.buffers,
            start: out.len(),
            template,
            identifier: self.identifier.map(|(field, _)| field),
            written_from: self.buffers.written.borrow().len(),
            present_from: self.buffers.present.borrow().len(),
            key: None,
        }
    }
}

impl<'a> Serializer for Compactor<'a> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = CompactItems<'a>;
    type SerializeTuple = CompactItems<'a>;
    type SerializeTupleStruct = CompactItems<'a>;
    type SerializeTupleVariant = Impossible<(), Stop>;
    type SerializeMap = CompactObject<'a>;
    type SerializeStruct = CompactObject<'a>;
    type SerializeStructVariant = Impossible<(), Stop>;

    refused!();

    fn serialize_bool(self, value: bool) -> Result<(), Stop> {
        self.json(&value)
    }
    // Through a JSON value, as `Dictionary::compact` sees a number (an f32 as the f64 it becomes).
    numbers!(|compactor, value| compactor.json(&serde_json::to_value(value).map_err(|_| Stop::Unsupported)?));
    fn serialize_char(self, value: char) -> Result<(), Stop> {
        self.string(value.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, value: &str) -> Result<(), Stop> {
        self.string(value)
    }
    fn serialize_none(self) -> Result<(), Stop> {
        self.json(&())
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        self.json(&())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        self.json(&())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Stop> {
        self.string(variant)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<CompactItems<'a>, Stop> {
        self.buffers.out.borrow_mut().push(b'[');
        Ok(CompactItems { dictionary: self.dictionary, buffers: self.buffers, first: true })
    }
    fn serialize_tuple(self, length: usize) -> Result<CompactItems<'a>, Stop> {
        self.serialize_seq(Some(length))
    }
    fn serialize_tuple_struct(self, _: &'static str, length: usize) -> Result<CompactItems<'a>, Stop> {
        self.serialize_seq(Some(length))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<CompactObject<'a>, Stop> {
        Ok(self.object())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<CompactObject<'a>, Stop> {
        Ok(self.object())
    }
}

/// An array's items, each compacted at the array's own path (positions are not part of a path).
struct CompactItems<'a> {
    dictionary: &'a Dictionary,
    buffers: &'a Buffers,
    first: bool,
}

impl CompactItems<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        if !std::mem::take(&mut self.first) {
            self.buffers.out.borrow_mut().push(b',');
        }
        Compactor::child(self.dictionary, self.buffers, value)
    }

    fn finish(self) -> Result<(), Stop> {
        self.buffers.out.borrow_mut().push(b']');
        Ok(())
    }
}

sequence!(CompactItems, ());

/// An object as `Dictionary::encode` writes it: its identifying field, the members that differ
/// from its template's (compacted in turn), and the template's members it lacks.
struct CompactObject<'a> {
    dictionary: &'a Dictionary,
    buffers: &'a Buffers,
    /// Where the object's members start in `out` (after its `{`).
    start: usize,
    template: Option<&'a TypedTemplate>,
    identifier: Option<&'static str>,
    /// Where the object's own entries start in `written` and `present`.
    written_from: usize,
    present_from: usize,
    key: Option<String>,
}

impl CompactObject<'_> {
    fn member<T: Serialize + ?Sized>(&mut self, field: Cow<'static, str>, value: &T) -> Result<(), Stop> {
        if field == ABSENT_FIELDS {
            return Err(Stop::Reserved);
        }
        let usual = self.template.and_then(|template| template.members.get(field.as_ref()));
        if let Some((index, _)) = usual {
            self.buffers.present.borrow_mut().push(*index);
        }
        if Some(field.as_ref()) != self.identifier
            && let Some((_, usual)) = usual
            && value.serialize(Same { dictionary: self.dictionary, expected: usual }).is_ok()
        {
            return Ok(());
        }
        let begin = self.open_member(&field)?;
        let length = self.buffers.path.borrow().len();
        push_segment(&mut self.buffers.path.borrow_mut(), &field);
        let written = Compactor::child(self.dictionary, self.buffers, value);
        self.buffers.path.borrow_mut().truncate(length);
        written?;
        let end = self.buffers.out.borrow().len();
        self.buffers.written.borrow_mut().push((field, begin..end));
        Ok(())
    }

    /// Writes `"name":` (after a comma when a member came before); returns where it starts.
    fn open_member(&self, field: &str) -> Result<usize, Stop> {
        let mut out = self.buffers.out.borrow_mut();
        if self.buffers.written.borrow().len() > self.written_from {
            out.push(b',');
        }
        let begin = out.len();
        json_writer::write(&mut out, field).map_err(|_| Stop::Unsupported)?;
        out.push(b':');
        Ok(begin)
    }

    fn finish(self) -> Result<(), Stop> {
        // The template's members the object lacks; when it has as many as the template (nearly
        // always), none, and the names need not be looked through.
        let absent: Vec<&String> = {
            let present = &self.buffers.present.borrow()[self.present_from..];
            self.template
                .filter(|template| template.names.len() > present.len())
                .into_iter()
                .flat_map(|template| template.names.iter().enumerate())
                .filter(|(index, _)| !present.contains(index))
                .map(|(_, name)| name)
                .collect()
        };
        self.buffers.present.borrow_mut().truncate(self.present_from);
        if !absent.is_empty() {
            let begin = self.open_member(ABSENT_FIELDS)?;
            json_writer::write(&mut self.buffers.out.borrow_mut(), &absent).map_err(|_| Stop::Unsupported)?;
            let end = self.buffers.out.borrow().len();
            self.buffers.written.borrow_mut().push((Cow::Borrowed(ABSENT_FIELDS), begin..end));
        }
        let mut out = self.buffers.out.borrow_mut();
        let mut all_written = self.buffers.written.borrow_mut();
        let written = &mut all_written[self.written_from..];
        // Members in key order, as a map writes them; a struct's come in declaration order, so
        // they are moved only when that differs (most objects keep one or two members).
        if !written.is_sorted_by(|a, b| a.0 <= b.0) {
            let members = out.split_off(self.start);
            written.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (index, (_, range)) in written.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&members[range.start - self.start..range.end - self.start]);
            }
        }
        all_written.truncate(self.written_from);
        out.push(b'}');
        Ok(())
    }
}

impl SerializeStruct for CompactObject<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl SerializeMap for CompactObject<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().ok_or(Stop::Unsupported)?;
        self.member(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}
