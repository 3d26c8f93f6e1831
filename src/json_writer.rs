//! Compact JSON, written byte for byte as `serde_json::to_writer` writes it, but with the string
//! escaping done a word at a time.
//!
//! Why: a result is mostly model text (names, rationales, citations), and serde_json looks up every
//! byte of every string in its escape table. That lookup was 12.7 % of the service's CPU under
//! `POST /v1/score` (perf, issue 16's fifth round). Here a string is scanned eight bytes at a time
//! for the three things JSON escapes (`"`, `\`, bytes under 0x20), and only a word that holds one
//! is looked at byte by byte. Everything else (numbers through the same `itoa` and `zmij` that
//! serde_json uses, map keys, enum variants, `null` for a float that is not finite) follows
//! serde_json, and the tests hold the two to the same bytes.
//!
//! A value can also offer its JSON already written ([`Prewritten`]): the model's citation lists
//! are the same in every assessment (30 % of a result's bytes), so each is written once per
//! process and copied from then on.
//!
//! A value wrapped in [`KeyOrdered`] is written with the members of each of its objects in key
//! order: the bytes its `serde_json::Value` would be written as, without building the value.

use std::cell::Cell;
use std::fmt::Display;

use serde::ser::{self, Impossible, Serialize};

/// Why a value cannot be written as JSON: what serde_json refuses too (a map key that is not a
/// string, a number or a unit variant; a key that is a float that is not finite), or an error of
/// the value's own `Serialize`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WriteError(String);

impl ser::Error for WriteError {
    fn custom<T: Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

fn key_must_be_a_string() -> WriteError {
    WriteError("key must be a string".into())
}

/// `value` as compact JSON, appended to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), WriteError> {
    value.serialize(&mut Writer { out, key_ordered: false, members: Vec::new(), scratch: Vec::new() })
}

/// `value` as compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::with_capacity(1024);
    write(&mut out, value)?;
    Ok(out)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Inside a [`KeyOrdered`] value: each object's members are put in key order when it closes.
    key_ordered: bool,
    /// The members written so far of the objects open inside a [`KeyOrdered`] value, innermost
    /// last.
    members: Vec<Member>,
    /// An object's bytes while its members are put back in key order.
    scratch: Vec<u8>,
}

/// Where a member of an object was written in the output: `"key":value` from `start` to `end`,
/// its key (quoted) up to `key_end`; the key's first eight bytes as a big-endian number (zeros
/// after a shorter key), which orders most pairs of keys in one comparison; whether the key holds
/// an escape.
#[derive(Clone, Copy)]
struct Member {
    start: usize,
    key_end: usize,
    end: usize,
    prefix: u64,
    escaped: bool,
}

impl Member {
    /// A member whose key, quoted, was written to `out[start..key_end]`.
    fn new(out: &[u8], start: usize, key_end: usize, end: usize) -> Self {
        let key = &out[start + 1..key_end - 1];
        let mut first = [0u8; 8];
        let length = key.len().min(8);
        first[..length].copy_from_slice(&key[..length]);
        let prefix = u64::from_be_bytes(first);
        // Every escape starts with a backslash; the padding zeros are no backslash.
        let backslash = prefix ^ (ONES * u64::from(b'\\'));
        let escaped = backslash.wrapping_sub(ONES) & !backslash & HIGH_BITS != 0
            || key.get(8..).is_some_and(|rest| rest.contains(&b'\\'));
        Self { start, key_end, end, prefix, escaped }
    }

    fn key<'o>(&self, out: &'o [u8]) -> &'o [u8] {
        &out[self.start + 1..self.key_end - 1]
    }
}

impl Writer<'_> {
    fn integer(&mut self, value: impl itoa::Integer) {
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn float(&mut self, value: impl zmij::Float) {
        self.out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    }

    /// A float as serde_json writes one: its number when finite, else `null`.
    fn number_or_null(&mut self, value: impl zmij::Float, finite: bool) {
        if finite {
            self.float(value);
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    fn string(&mut self, text: &str) {
        write_escaped(self.out, text);
    }

    /// `{"variant":`, the opening of an enum variant with data.
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        self.string(variant);
        self.out.push(b':');
    }
}

/// What serde_json writes for each byte: 0 for the byte itself, else the escape's letter (`u` for
/// `\u00XX`).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes of `word` needs an escape. Each test is the classic "has a zero
/// byte" trick: a byte under 0x20 (and only such a byte, bytes from 0x80 up included) borrows
/// into its high bit when 0x20 is taken from it; a quote or a backslash is a zero byte after an
/// exclusive or with it. A borrow can only flag a byte above one that is flagged already, so the
/// answer for the word is exact.
const fn needs_escape(word: u64) -> bool {
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * b'"' as u64);
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * b'\\' as u64);
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH_BITS != 0
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// Where the first escape of `bytes` may be: a place with none before it. Model text seldom needs
/// one, so a string is first only looked at, eight bytes a step (a short one byte by byte), then
/// copied at once; copying word by word while looking cost more.
fn first_word_to_escape(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 8 {
        return bytes.iter().position(|&byte| ESCAPE[usize::from(byte)] != 0);
    }
    let mut words = bytes.chunks_exact(8);
    for (index, eight) in words.by_ref().enumerate() {
        if needs_escape(word(eight)) {
            return Some(index * 8);
        }
    }
    // The last eight bytes, overlapping words already looked at.
    let last = bytes.len() - 8;
    (!words.remainder().is_empty() && needs_escape(word(&bytes[last..]))).then_some(last)
}

fn write_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    match first_word_to_escape(bytes) {
        None => {
            out.extend_from_slice(bytes);
            out.push(b'"');
        }
        Some(from) => {
            out.extend_from_slice(&bytes[..from]);
            write_escaped_from(out, bytes, from);
        }
    }
}

/// The rest of a string from `from` (all before it written), where an escape is: byte by byte, as serde_json does (rare:
/// model text seldom quotes).
fn write_escaped_from(out: &mut Vec<u8>, bytes: &[u8], from: usize) {
    let mut written = from;
    for (at, &byte) in bytes.iter().enumerate().skip(from) {
        let escape = ESCAPE[usize::from(byte)];
        if escape != 0 {
            out.extend_from_slice(&bytes[written..at]);
            write_escape(out, escape, byte);
            written = at + 1;
        }
    }
    out.extend_from_slice(&bytes[written..]);
    out.push(b'"');
}

fn write_escape(out: &mut Vec<u8>, escape: u8, byte: u8) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    if escape == b'u' {
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX_DIGITS[usize::from(byte >> 4)],
            HEX_DIGITS[usize::from(byte & 0xf)],
        ]);
    } else {
        out.extend_from_slice(&[b'\\', escape]);
    }
}

/// serde_json's token for its raw values; such a struct would be written raw there and is refused
/// here (no type of this service holds one).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

macro_rules! integers {
    ($($method:ident: $type:ty),*) => {$(
        fn $method(self, value: $type) -> Result<(), WriteError> {
            self.integer(value);
            Ok(())
        }
    )*};
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = WriteError;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_i128: i128,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128);

    fn serialize_bool(self, value: bool) -> Result<(), WriteError> {
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_f32(self, value: f32) -> Result<(), WriteError> {
        self.number_or_null(value, value.is_finite());
        Ok(())
    }

    fn serialize_f64(self, value: f64) -> Result<(), WriteError> {
        self.number_or_null(value, value.is_finite());
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result<(), WriteError> {
        self.string(value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), WriteError> {
        self.string(value);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), WriteError> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Result<(), WriteError> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), WriteError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), WriteError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), WriteError> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), WriteError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), WriteError> {
        if name == KEY_ORDERED {
            let outer = std::mem::replace(&mut self.key_ordered, true);
            let written = value.serialize(&mut *self);
            self.key_ordered = outer;
            return written;
        }
        if name == PREWRITTEN {
            OFFER_WANTED.set(Some(if self.key_ordered { MemberOrder::Key } else { MemberOrder::Declared }));
            let out = &mut *self.out;
            let copied = value.serialize(Verbatim(|json: &[u8]| out.extend_from_slice(json)));
            OFFER_WANTED.set(None);
            return copied;
        }
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), WriteError> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, WriteError> {
        Ok(Compound::open(self, b'[', b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, WriteError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'a>, WriteError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, WriteError> {
        self.open_variant(variant);
        Ok(Compound::open(self, b'[', b"]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, WriteError> {
        Ok(Compound::open_object(self, b"}"))
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'w, 'a>, WriteError> {
        if name == RAW_VALUE_TOKEN {
            return Err(WriteError("raw JSON values are not supported".into()));
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, WriteError> {
        self.open_variant(variant);
        Ok(Compound::open_object(self, b"}}"))
    }
}

/// An array or an object being written: a comma before every element but the first, and its
/// closing bytes at the end.
pub struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    close: &'static [u8],
    /// For an object inside a [`KeyOrdered`] value: where its members start in the output and in
    /// the writer's member stack, and where the member being written starts and its key ends.
    ordered: Option<Ordered>,
}

#[derive(Clone, Copy)]
struct Ordered {
    start: usize,
    members_from: usize,
    member: Option<(usize, usize)>,
}

impl<'w, 'a> Compound<'w, 'a> {
    fn open(writer: &'w mut Writer<'a>, opening: u8, close: &'static [u8]) -> Self {
        writer.out.push(opening);
        Self { writer, first: true, close, ordered: None }
    }

    /// An object: its members are put in key order when it closes, inside a [`KeyOrdered`] value.
    fn open_object(writer: &'w mut Writer<'a>, close: &'static [u8]) -> Self {
        writer.out.push(b'{');
        let ordered = writer.key_ordered.then_some(Ordered {
            start: writer.out.len(),
            members_from: writer.members.len(),
            member: None,
        });
        Self { writer, first: true, close, ordered }
    }

    fn separate(&mut self) {
        if !std::mem::replace(&mut self.first, false) {
            self.writer.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
        self.separate();
        value.serialize(&mut *self.writer)
    }

    /// After the separator, before a member's key.
    fn begin_member(&mut self) {
        if let Some(ordered) = &mut self.ordered {
            ordered.member = Some((self.writer.out.len(), 0));
        }
    }

    /// After a member's key, before its colon.
    fn end_key(&mut self) {
        if let Some(Ordered { member: Some((_, key_end)), .. }) = &mut self.ordered {
            *key_end = self.writer.out.len();
        }
    }

    /// After a member's value.
    fn end_member(&mut self) {
        if let Some(Ordered { member: Some((start, key_end)), .. }) = self.ordered {
            let member = Member::new(self.writer.out, start, key_end, self.writer.out.len());
            self.writer.members.push(member);
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), WriteError> {
        self.separate();
        self.begin_member();
        self.writer.string(key);
        self.end_key();
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)?;
        self.end_member();
        Ok(())
    }

    fn close(self) -> Result<(), WriteError> {
        if let Some(ordered) = self.ordered {
            put_in_key_order(self.writer, ordered);
        }
        self.writer.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// Rewrites an object's members (written from `ordered.start` on) in key order, as a
/// `serde_json::Value`'s map holds them, unless they are in that order already. A member keeps its
/// length, so the members of the objects around it stay where they are.
fn put_in_key_order(writer: &mut Writer<'_>, ordered: Ordered) {
    let members = &mut writer.members[ordered.members_from..];
    let out = &*writer.out;
    let in_order = members.windows(2).all(|pair| key_order(out, &pair[0], &pair[1]).is_le());
    if !in_order {
        // Keys of one object are distinct: an unstable sort gives the one order, without a buffer.
        members.sort_unstable_by(|one, other| key_order(out, one, other));
        let written = &mut writer.scratch;
        written.clear();
        written.extend_from_slice(&out[ordered.start..]);
        writer.out.truncate(ordered.start);
        for (position, member) in members.iter().enumerate() {
            if position > 0 {
                writer.out.push(b',');
            }
            writer.out.extend_from_slice(&written[member.start - ordered.start..member.end - ordered.start]);
        }
    }
    writer.members.truncate(ordered.members_from);
}

/// The order of two members' keys as strings. A key written without an escape is its own bytes
/// between the quotes, ordered by their first eight bytes and, when those are the same, by the
/// whole key (no unescaped key holds a zero byte, so the padding of a shorter key orders it first
/// as a string comparison would); one with an escape is read back first (rare: no key of the
/// service has one).
#[inline]
fn key_order(out: &[u8], one: &Member, other: &Member) -> std::cmp::Ordering {
    if one.escaped || other.escaped {
        return escaped_key_order(one.key(out), other.key(out));
    }
    one.prefix.cmp(&other.prefix).then_with(|| one.key(out).cmp(other.key(out)))
}

#[cold]
fn escaped_key_order(one: &[u8], other: &[u8]) -> std::cmp::Ordering {
    let read =
        |key: &[u8]| serde_json::from_slice::<String>(&[b"\"", key, b"\""].concat()).unwrap_or_default();
    read(one).cmp(&read(other))
}

/// The compound traits that add an element and close.
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = WriteError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
                self.element(value)
            }

            fn end(self) -> Result<(), WriteError> {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The compound traits that add a named field and close.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = WriteError;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), WriteError> {
                self.field(key, value)
            }

            fn end(self) -> Result<(), WriteError> {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = WriteError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), WriteError> {
        self.separate();
        self.begin_member();
        key.serialize(MapKey(&mut *self.writer))?;
        self.end_key();
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)?;
        self.end_member();
        Ok(())
    }

    fn end(self) -> Result<(), WriteError> {
        self.close()
    }
}

/// Serializer methods that refuse their value with `$error()`.
macro_rules! refused {
    ($error:ident; $($method:ident($($argument:ty),*) -> $ok:ty),*) => {$(
        fn $method(self, $(_: $argument),*) -> Result<$ok, WriteError> {
            Err($error())
        }
    )*};
}

/// The name of the newtype by which a [`Prewritten`] value is recognised.
const PREWRITTEN: &str = "$msc_readiness::json_writer::Prewritten";

thread_local! {
    /// Set by this writer for exactly the one call in which it asks a [`Prewritten`] value for its
    /// bytes; any other serializer finds it unset and gets the value itself.
    static OFFER_WANTED: Cell<Option<MemberOrder>> = const { Cell::new(None) };
}

/// This writer's token for a [`KeyOrdered`] value.
const KEY_ORDERED: &str = "$msc_readiness::json_writer::KeyOrdered";

/// A value written with each object's members in key order: the bytes this writer writes for the
/// value's `serde_json::Value` (whose maps are ordered by key), without building that value. Any
/// other serializer sees the value alone (a newtype is transparent to them all).
pub struct KeyOrdered<'a, T: ?Sized>(pub &'a T);

impl<T: Serialize + ?Sized> Serialize for KeyOrdered<'_, T> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(KEY_ORDERED, self.0)
    }
}

/// A value together with its JSON as this writer writes it: this writer copies the bytes, and any
/// other serializer (serde_json, a JSON value, the stored results' compaction) sees `value` alone,
/// as if the wrapper were not there (a newtype is transparent to them all).
pub struct Prewritten<'a, T: ?Sized, F> {
    value: &'a T,
    json: F,
}

/// The order of the members of each object of a [`Prewritten`] value's bytes: as its `Serialize`
/// writes them, or in key order (inside a [`KeyOrdered`] value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOrder {
    Declared,
    Key,
}

impl<'a, T: Serialize + ?Sized, F: Fn(MemberOrder) -> Result<&'a [u8], WriteError>> Prewritten<'a, T, F> {
    /// `json` gives `value`'s bytes with its members in the order asked for (typically kept from
    /// the first call of [`to_vec`], of the value or of it in [`KeyOrdered`]); it is only called by
    /// this writer.
    pub fn new(value: &'a T, json: F) -> Self {
        Self { value, json }
    }
}

impl<'a, T: Serialize + ?Sized, F: Fn(MemberOrder) -> Result<&'a [u8], WriteError>> Serialize
    for Prewritten<'a, T, F>
{
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(PREWRITTEN, &Offer(self))
    }
}

struct Offer<'p, 'a, T: ?Sized, F>(&'p Prewritten<'a, T, F>);

impl<'a, T: Serialize + ?Sized, F: Fn(MemberOrder) -> Result<&'a [u8], WriteError>> Serialize
    for Offer<'_, 'a, T, F>
{
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(order) = OFFER_WANTED.replace(None) {
            let json = (self.0.json)(order).map_err(ser::Error::custom)?;
            return serializer.serialize_bytes(json);
        }
        self.0.value.serialize(serializer)
    }
}

/// Gives `with` the JSON of a [`Prewritten`] value, when `name` and `value` are what a serializer's
/// `serialize_newtype_struct` received for one (`None` for any other newtype): for a serializer
/// that can use the bytes, such as the stored results' compaction remembering what it compared.
pub fn with_prewritten<T: Serialize + ?Sized, R>(
    name: &str,
    value: &T,
    with: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    if name != PREWRITTEN {
        return None;
    }
    let mut with = Some(with);
    let mut answer = None;
    OFFER_WANTED.set(Some(MemberOrder::Declared));
    let offered = value.serialize(Verbatim(|json: &[u8]| answer = with.take().map(|with| with(json))));
    OFFER_WANTED.set(None);
    offered.ok().and(answer)
}

/// Where a [`Prewritten`] value's bytes are received: this writer copies them as they are.
struct Verbatim<F>(F);

fn not_prewritten() -> WriteError {
    WriteError("a prewritten value offered no bytes".into())
}

impl<F: FnOnce(&[u8])> ser::Serializer for Verbatim<F> {
    type Ok = ();
    type Error = WriteError;
    type SerializeSeq = Impossible<(), WriteError>;
    type SerializeTuple = Impossible<(), WriteError>;
    type SerializeTupleStruct = Impossible<(), WriteError>;
    type SerializeTupleVariant = Impossible<(), WriteError>;
    type SerializeMap = Impossible<(), WriteError>;
    type SerializeStruct = Impossible<(), WriteError>;
    type SerializeStructVariant = Impossible<(), WriteError>;

    fn serialize_bytes(self, json: &[u8]) -> Result<(), WriteError> {
        (self.0)(json);
        Ok(())
    }

    refused!(not_prewritten; serialize_bool(bool) -> (), serialize_i8(i8) -> (), serialize_i16(i16) -> (), serialize_i32(i32) -> (),
        serialize_i64(i64) -> (), serialize_u8(u8) -> (), serialize_u16(u16) -> (), serialize_u32(u32) -> (),
        serialize_u64(u64) -> (), serialize_f32(f32) -> (), serialize_f64(f64) -> (), serialize_char(char) -> (),
        serialize_str(&str) -> (), serialize_none() -> (), serialize_unit() -> (),
        serialize_unit_struct(&'static str) -> (),
        serialize_unit_variant(&'static str, u32, &'static str) -> (),
        serialize_seq(Option<usize>) -> Impossible<(), WriteError>,
        serialize_tuple(usize) -> Impossible<(), WriteError>,
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), WriteError>,
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), WriteError>,
        serialize_map(Option<usize>) -> Impossible<(), WriteError>,
        serialize_struct(&'static str, usize) -> Impossible<(), WriteError>,
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), WriteError>);

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), WriteError> {
        Err(not_prewritten())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), WriteError> {
        Err(not_prewritten())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), WriteError> {
        Err(not_prewritten())
    }
}

/// A map key, as serde_json writes one: a string as itself, a unit variant as its name, a number
/// or a boolean as its text in quotes; anything else is refused.
struct MapKey<'w, 'a>(&'w mut Writer<'a>);

macro_rules! quoted {
    ($($method:ident: $type:ty => $write:ident),*) => {$(
        fn $method(self, value: $type) -> Result<(), WriteError> {
            self.0.out.push(b'"');
            self.0.$write(value);
            self.0.out.push(b'"');
            Ok(())
        }
    )*};
}

impl MapKey<'_, '_> {
    fn finite<F: zmij::Float>(self, value: F, finite: bool) -> Result<(), WriteError> {
        if !finite {
            return Err(WriteError("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.0.out.push(b'"');
        self.0.float(value);
        self.0.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_, '_> {
    type Ok = ();
    type Error = WriteError;
    type SerializeSeq = Impossible<(), WriteError>;
    type SerializeTuple = Impossible<(), WriteError>;
    type SerializeTupleStruct = Impossible<(), WriteError>;
    type SerializeTupleVariant = Impossible<(), WriteError>;
    type SerializeMap = Impossible<(), WriteError>;
    type SerializeStruct = Impossible<(), WriteError>;
    type SerializeStructVariant = Impossible<(), WriteError>;

    quoted!(serialize_i8: i8 => integer, serialize_i16: i16 => integer, serialize_i32: i32 => integer,
        serialize_i64: i64 => integer, serialize_i128: i128 => integer, serialize_u8: u8 => integer,
        serialize_u16: u16 => integer, serialize_u32: u32 => integer, serialize_u64: u64 => integer,
        serialize_u128: u128 => integer);

    refused!(key_must_be_a_string; serialize_bytes(&[u8]) -> (), serialize_none() -> (), serialize_unit() -> (),
        serialize_unit_struct(&'static str) -> (),
        serialize_seq(Option<usize>) -> Impossible<(), WriteError>,
        serialize_tuple(usize) -> Impossible<(), WriteError>,
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), WriteError>,
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), WriteError>,
        serialize_map(Option<usize>) -> Impossible<(), WriteError>,
        serialize_struct(&'static str, usize) -> Impossible<(), WriteError>,
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), WriteError>);

    fn serialize_bool(self, value: bool) -> Result<(), WriteError> {
        self.0.out.extend_from_slice(if value { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }

    fn serialize_f32(self, value: f32) -> Result<(), WriteError> {
        self.finite(value, value.is_finite())
    }

    fn serialize_f64(self, value: f64) -> Result<(), WriteError> {
        self.finite(value, value.is_finite())
    }

    fn serialize_char(self, value: char) -> Result<(), WriteError> {
        self.0.string(value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), WriteError> {
        self.0.string(value);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), WriteError> {
        value.serialize(self)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), WriteError> {
        self.0.string(variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), WriteError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), WriteError> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{Value, json};

    use super::*;

    fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) {
        let expected = serde_json::to_vec(value).expect("serde_json writes it");
        let written = to_vec(value).expect("written");
        assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn every_escape_and_every_run_length_is_written_as_serde_json_writes_it() {
        let specials = [
            "\"", "\\", "\u{0}", "\u{8}", "\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1f}", "\u{7f}", "é", "€",
            "𝄞",
        ];
        for special in specials {
            for before in 0..33 {
                for after in 0..17 {
                    let text = format!("{}{special}{}", "a".repeat(before), "z".repeat(after));
                    same_as_serde_json(&text);
                }
            }
        }
        same_as_serde_json("");
        same_as_serde_json(&(0u8..=255).map(char::from).collect::<String>());
    }

    #[test]
    fn every_kind_of_value_and_key_is_written_as_serde_json_writes_it() {
        #[derive(Serialize)]
        enum Shape {
            Unit,
            Newtype(u8),
            Tuple(i32, f64),
            Struct { x: Option<f32> },
        }
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Wrapper(&'static str);
        same_as_serde_json(&(
            [Shape::Unit, Shape::Newtype(7), Shape::Tuple(-3, 0.1), Shape::Struct { x: Some(f32::NAN) }],
            (Unit, Wrapper("w"), (), None::<u8>, 'q', '"'),
            (f64::INFINITY, -0.0f64, 1e300, 5e-324, 123_456_789.123_f64, 1.5f32, u128::MAX, i128::MIN),
            serde_bytes_like(),
        ));
        same_as_serde_json(&BTreeMap::from([(1u64, "a"), (2, "b")]));
        same_as_serde_json(&BTreeMap::from([(-1i8, 'x')]));
        same_as_serde_json(&BTreeMap::from([(true, 0), (false, 1)]));
        same_as_serde_json(&BTreeMap::from([('k', 0)]));
        same_as_serde_json(&Pairs(vec![(2.5, 0), (-0.0, 1), (1e21, 2)]));
        same_as_serde_json(&Pairs(vec![(Shape::Unit, 0)]));
        same_as_serde_json(&Pairs(vec![(Some(Wrapper("key")), 0)]));
    }

    /// A map with keys of any type, in the order given.
    struct Pairs<K>(Vec<(K, i32)>);

    impl<K: Serialize> Serialize for Pairs<K> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
        }
    }

    fn serde_bytes_like() -> Vec<u8> {
        vec![0, 1, 255]
    }

    #[test]
    fn keys_serde_json_refuses_are_refused() {
        assert!(to_vec(&BTreeMap::from([((), 1)])).is_err());
        assert!(to_vec(&BTreeMap::from([(vec![1], 1)])).is_err());
        assert!(serde_json::to_vec(&BTreeMap::from([(vec![1], 1)])).is_err());
        assert!(to_vec(&Pairs(vec![(f64::NAN, 0)])).is_err());
        assert!(serde_json::to_vec(&Pairs(vec![(f64::NAN, 0)])).is_err());
    }

    #[test]
    fn the_results_of_the_reference_programs_are_written_as_serde_json_writes_them() {
        let model = crate::scoring::Model::current();
        for (name, profile) in crate::scoring::reference_programs() {
            let result = model.assess(&profile);
            let expected = serde_json::to_vec(&result).unwrap();
            assert!(to_vec(&result).unwrap() == expected, "{name}");
            let value = serde_json::to_value(&result).unwrap();
            assert!(to_vec(&value).unwrap() == serde_json::to_vec(&value).unwrap(), "{name} as a value");
        }
        same_as_serde_json(&json!({"nested": [{"a": [1, 2.5, null, true, "x\u{1}y"]}, {}], "empty": []}));
    }

    /// What a key-ordered value must write: its JSON value, written.
    fn same_as_its_value<T: Serialize + ?Sized>(value: &T) {
        let expected = to_vec(&serde_json::to_value(value).expect("a JSON value")).expect("written");
        let written = to_vec(&KeyOrdered(value)).expect("written");
        assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn key_ordered_results_are_written_as_their_json_values_are() {
        let model = crate::scoring::Model::current();
        for (_, profile) in crate::scoring::reference_programs() {
            same_as_its_value(&model.assess(&profile));
        }
        same_as_its_value(&model.assess(&crate::scoring::Profile::default()));
    }

    #[test]
    fn key_ordered_objects_are_reordered_at_every_depth_whatever_their_kind() {
        #[derive(Serialize)]
        enum Shape {
            Unit,
            Pair { zeta: u8, alpha: u8 },
            Wrapped(Inner),
        }
        #[derive(Serialize)]
        struct Inner {
            z: Vec<Shape>,
            a: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            m: Option<bool>,
        }
        #[derive(Serialize)]
        struct Pair {
            b: u8,
            a: u8,
        }
        type Listed = Prewritten<'static, Pair, fn(MemberOrder) -> Result<&'static [u8], WriteError>>;
        #[derive(Serialize)]
        struct Outer {
            second: Inner,
            first: BTreeMap<String, Inner>,
            map: std::collections::HashMap<String, u32>,
            listed: Listed,
        }
        let inner = || Inner {
            z: vec![
                Shape::Unit,
                Shape::Pair { zeta: 1, alpha: 2 },
                Shape::Wrapped(Inner { z: vec![], a: None, m: Some(true) }),
            ],
            a: Some(-0.0),
            m: None,
        };
        // Keys that differ only after their first eight bytes, or in length, or by an escape there.
        let keys = [
            "b",
            "a\"",
            "a",
            "\u{1}",
            "é",
            "Z",
            "a\\b",
            "",
            "abcdefghij",
            "abcdefgh",
            "abcdefg",
            "abcdefgh\n",
            "abcdefgh\\",
            "abcdefgi",
            "abcdefgé",
        ];
        let outer = Outer {
            second: inner(),
            first: [("y".to_owned(), inner()), ("x".to_owned(), inner())].into(),
            map: keys.iter().enumerate().map(|(n, key)| ((*key).to_owned(), n as u32)).collect(),
            listed: Prewritten::new(&Pair { b: 1, a: 2 }, |order| {
                Ok(match order {
                    MemberOrder::Declared => b"{\"b\":1,\"a\":2}".as_slice(),
                    MemberOrder::Key => b"{\"a\":2,\"b\":1}".as_slice(),
                })
            }),
        };
        same_as_its_value(&outer);
        same_as_its_value(&vec![outer]);
        // Outside a key-ordered value, declaration order and prewritten bytes, as before.
        assert!(to_vec(&inner()).unwrap().starts_with(b"{\"z\":"));
    }

    #[test]
    fn citation_lists_written_once_are_copied_in_the_form_asked_for_each_time() {
        use crate::scoring::with_citations_as_claim_ids;
        let model = crate::scoring::Model::current();
        let (_, profile) = crate::scoring::reference_programs().swap_remove(0);
        let result = model.assess(&profile);
        for _ in 0..2 {
            assert!(to_vec(&result).unwrap() == serde_json::to_vec(&result).unwrap());
            let ids = with_citations_as_claim_ids(|| to_vec(&result).unwrap());
            assert!(ids == with_citations_as_claim_ids(|| serde_json::to_vec(&result).unwrap()));
            assert!(ids.len() < to_vec(&result).unwrap().len(), "claim ids are shorter than citations");
        }
        // Other serializers see the list itself: a JSON value of the result holds the citations.
        let value = serde_json::to_value(&result).unwrap();
        assert!(value.to_string().contains("\"verification_status\""));
        assert_eq!(to_vec(&value).unwrap(), serde_json::to_vec(&value).unwrap());
    }

    fn arbitrary_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\"\\\\\\x00-\\x1f a-z]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// Map keys for the key-ordered writer's property test.
    const KEY: &str = "(abcdefgh|abcdefg|a)?[ab\"\\\\\x00-\x02é]{0,4}";

    proptest! {
        #[test]
        fn any_json_value_is_written_as_serde_json_writes_it(value in arbitrary_value()) {
            prop_assert_eq!(to_vec(&value).unwrap(), serde_json::to_vec(&value).unwrap());
        }

        /// Keys around the eight bytes that order most pairs at once, in maps inside maps (each
        /// put in key order inside another that is).
        #[test]
        fn key_ordered_maps_are_written_as_their_json_values_are(
            members in prop::collection::hash_map(
                KEY,
                prop::collection::hash_map(KEY, prop::collection::hash_map(KEY, any::<u8>(), 0..4), 0..4),
                0..8,
            )
        ) {
            let value = serde_json::to_value(&members).unwrap();
            prop_assert_eq!(to_vec(&KeyOrdered(&members)).unwrap(), serde_json::to_vec(&value).unwrap());
        }
    }
}
