//! The stored shape of an assessment result: what varies per assessment, with the rest referred to
//! a dictionary stored once per model version.
//!
//! An explained result repeats the model's texts (factor names, rationales, citation lists, gate
//! wording, mitigation actions) that are the same in every assessment of a model version. The
//! dictionary holds, for each kind of object (its path in the result and its identifying field:
//! a factor code, a mitigation id, a gate code...), a template of its usual field values, and the
//! long strings the results use. A stored result keeps each object's identifying field and only
//! the fields that differ from its template, and writes a dictionary string as a reference.
//!
//! Hydration is the exact inverse whatever the dictionary holds (a poor template only costs bytes):
//! see [`Dictionary::compact`] for why, the property tests below for the check over arbitrary
//! values and dictionaries, and `model_versions::register_current` for the check over the
//! reference programs that every service runs before it writes under a dictionary. A stored
//! result therefore reads back as the same JSON value, hence the same bytes.

mod typed;

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::json_writer::{self, Prewritten};

/// Fields that identify an object among its siblings, in order of preference: the first one an
/// object has (a string or an integer) names its template.
const IDENTIFYING_FIELDS: &[&str] = &[
    "factor",
    "id",
    "code",
    "gate",
    "warning",
    "cap",
    "bonus",
    "item",
    "claim_id",
    "barrier",
    "modifier",
    "criterion",
    "event",
    "level",
    "stream",
];

/// The key of an object's list of template fields it lacks. No result object has a field of this name
/// (the writer refuses to compact one that has, and the result is stored whole).
const ABSENT_FIELDS: &str = "~";

/// Starts a string reference (`\u{1}` then the string's index), and escapes a literal string
/// starting with it (`\u{1}\u{1}` then the rest).
const REFERENCE: char = '\u{1}';

/// Strings at least this long are worth a reference.
const MIN_SHARED_STRING: usize = 12;

/// Why a stored dictionary or compact result cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("malformed result dictionary: {0}")]
    Dictionary(&'static str),
    #[error("compact result refers to string {0}, which its dictionary does not have")]
    UnknownString(String),
    #[error("result cannot be written as JSON: {0}")]
    Writing(String),
}

/// The maps a compaction looks up for every object and string of a result: foldhash, as
/// hashbrown's own default, instead of SipHash (hashing was a tenth of a compaction; the keys are
/// the model's, not an attacker's).
type Lookup<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The templates and shared strings of one model version.
#[derive(Debug, Default, PartialEq)]
pub struct Dictionary {
    /// Each kind of object's template, by its key (path and identifier), in the three forms its
    /// readers take: one look-up finds all three.
    templates: Lookup<String, Template>,
    strings: Vec<String>,
    string_ids: Lookup<String, usize>,
    /// The length of the shortest shared string: a shorter one needs no look-up (most strings of
    /// a result are short codes, and hashing each was a good part of compacting it).
    shortest_string: usize,
    /// What the typed compaction found when it compared the model's shared lists with templates.
    compared_lists: typed::ComparedLists,
}

/// One template: the usual value of each member of one kind of object.
#[derive(Debug, PartialEq)]
struct Template {
    members: Map<String, Value>,
    /// The members as the typed compaction reads them (see [`typed::TypedTemplate`]).
    typed: typed::TypedTemplate,
    /// The JSON of each member's value, in key order: what hydration writes for every member a
    /// stored result left to its template (see [`written_once`]).
    written: Box<[WrittenMember]>,
}

impl Template {
    fn new(members: Map<String, Value>) -> Self {
        Self {
            typed: typed::TypedTemplate::new(&members),
            written: members.values().map(written_once).collect(),
            members,
        }
    }
}

impl Dictionary {
    /// Learns the templates from sample results (the most frequent value of each field of each
    /// kind of object) and the shared strings from the samples and `texts` (the model document).
    pub fn learn(samples: &[Value], texts: &Value) -> Self {
        let mut counts = FieldCounts::new();
        let mut strings = BTreeSet::new();
        for sample in samples {
            count_fields(sample, &mut String::new(), &mut counts);
            collect_strings(sample, &mut strings);
        }
        collect_strings(texts, &mut strings);
        let templates = counts
            .into_iter()
            .map(|(key, fields)| {
                let template = fields
                    .into_iter()
                    .filter_map(|(field, values)| {
                        // The most frequent value; ties go to the first in text order, so the
                        // dictionary is the same on every run.
                        let mut best: Option<(usize, Value)> = None;
                        for (count, value) in values.into_values() {
                            if best.as_ref().is_none_or(|(most, _)| count > *most) {
                                best = Some((count, value));
                            }
                        }
                        best.map(|(_, value)| (field, value))
                    })
                    .collect();
                (key, template)
            })
            .collect();
        Self::new(templates, strings.into_iter().collect())
    }

    fn new(templates: HashMap<String, Map<String, Value>>, strings: Vec<String>) -> Self {
        let string_ids = strings.iter().enumerate().map(|(index, text)| (text.clone(), index)).collect();
        let shortest_string = strings.iter().map(String::len).min().unwrap_or(usize::MAX);
        Self {
            templates: templates.into_iter().map(|(key, members)| (key, Template::new(members))).collect(),
            strings,
            string_ids,
            shortest_string,
            compared_lists: typed::ComparedLists::default(),
        }
    }

    /// The dictionary as stored: `{"templates": {key: object}, "strings": [string]}`.
    pub fn to_json(&self) -> Value {
        let templates: Map<String, Value> = self
            .templates
            .iter()
            .map(|(key, template)| (key.clone(), Value::Object(template.members.clone())))
            .collect();
        serde_json::json!({ "templates": templates, "strings": self.strings })
    }

    /// Reads a stored dictionary.
    pub fn from_json(value: &Value) -> Result<Self, CodecError> {
        let templates = value
            .get("templates")
            .and_then(Value::as_object)
            .ok_or(CodecError::Dictionary("no templates object"))?
            .iter()
            .map(|(key, template)| {
                template
                    .as_object()
                    .map(|template| (key.clone(), template.clone()))
                    .ok_or(CodecError::Dictionary("a template is not an object"))
            })
            .collect::<Result<_, _>>()?;
        let strings = value
            .get("strings")
            .and_then(Value::as_array)
            .ok_or(CodecError::Dictionary("no strings array"))?
            .iter()
            .map(|text| {
                text.as_str().map(str::to_owned).ok_or(CodecError::Dictionary("a string is not a string"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::new(templates, strings))
    }

    /// The compact form of a result, or `None` when the result has an object with a field named
    /// [`ABSENT_FIELDS`] (then the result is stored whole).
    ///
    /// [`Dictionary::hydrate`] gives back `result` exactly, by construction, so the writer does
    /// not hydrate each result again to check (that check cost more than the compaction):
    /// - null, booleans and numbers are copied; arrays item by item, in order;
    /// - a string is written as itself, as a reference to the same dictionary string, or (when it
    ///   starts with [`REFERENCE`] and is no dictionary string) with one more [`REFERENCE`] in
    ///   front; reading inverts each case, and they cannot be confused;
    /// - an object keeps its identifying field, every field whose value differs from its
    ///   template's, and the list of template fields it lacks; hydration finds the same template,
    ///   because the identifying field is kept and any field preferred to it holds no string or
    ///   integer, in either form; it then puts back the template's value of every dropped field,
    ///   and leaves the listed ones out. Only a field named [`ABSENT_FIELDS`] could be misread, and
    ///   an object with one is not compacted.
    ///
    /// A field is dropped only when its value is identical to the template's, floats' signs
    /// included, and object members are kept in key order (serde_json's map), so the hydrated
    /// value writes the same bytes.
    pub fn compact(&self, result: &Value) -> Option<Value> {
        self.encode(result, &mut String::new())
    }

    /// The compact form of a typed result, written as JSON: [`Dictionary::compact`] of the result
    /// serialised to a JSON value, written by `json_writer` (the same bytes, the same `None`),
    /// mostly without building either value (see `typed`); built only for a shape the typed path
    /// leaves to it.
    pub fn compact_json<T: Serialize + ?Sized>(&self, result: &T) -> Result<Option<Vec<u8>>, CodecError> {
        match self.compact_typed(result) {
            Ok(compact) => Ok(Some(compact)),
            Err(true) => Ok(None),
            Err(false) => {
                let value =
                    serde_json::to_value(result).map_err(|error| CodecError::Writing(error.to_string()))?;
                self.compact(&value)
                    .map(|compact| json_writer::to_vec(&compact))
                    .transpose()
                    .map_err(|error| CodecError::Writing(error.to_string()))
            }
        }
    }

    /// The result a compact form was made from.
    pub fn hydrate(&self, compact: &Value) -> Result<Value, CodecError> {
        self.decode(compact, &mut String::new())
    }

    fn encode(&self, value: &Value, path: &mut String) -> Option<Value> {
        Some(match value {
            Value::String(text) => Value::String(self.encode_string(text)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.encode(item, path)).collect::<Option<_>>()?)
            }
            Value::Object(object) => {
                if object.contains_key(ABSENT_FIELDS) {
                    return None;
                }
                let (template, identifier) = self.template_of(path, object);
                let mut compact = Map::new();
                for (field, value) in object {
                    let same = template
                        .and_then(|template| template.get(field))
                        .is_some_and(|usual| identical(usual, value));
                    if !same || Some(field.as_str()) == identifier {
                        compact.insert(field.clone(), self.encode_field(value, path, field)?);
                    }
                }
                let absent: Vec<Value> = template
                    .into_iter()
                    .flat_map(Map::keys)
                    .filter(|field| !object.contains_key(*field))
                    .map(|field| Value::String(field.clone()))
                    .collect();
                if !absent.is_empty() {
                    compact.insert(ABSENT_FIELDS.to_owned(), Value::Array(absent));
                }
                Value::Object(compact)
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        })
    }

    fn encode_field(&self, value: &Value, path: &mut String, field: &str) -> Option<Value> {
        let length = path.len();
        push_segment(path, field);
        let encoded = self.encode(value, path);
        path.truncate(length);
        encoded
    }

    fn encode_string(&self, text: &str) -> String {
        match self.compact_string(text) {
            CompactString::Itself(text) => text.to_owned(),
            CompactString::Reference(index) => reference(index),
            CompactString::Escaped(text) => format!("{REFERENCE}{text}"),
        }
    }

    /// How a string of a result is written in its compact form.
    fn compact_string<'a>(&self, text: &'a str) -> CompactString<'a> {
        if text.starts_with(REFERENCE) {
            return match self.string_ids.get(text) {
                Some(&index) => CompactString::Reference(index),
                None => CompactString::Escaped(text),
            };
        }
        if text.len() < self.shortest_string {
            return CompactString::Itself(text);
        }
        match self.string_ids.get(text) {
            Some(&index) => CompactString::Reference(index),
            None => CompactString::Itself(text),
        }
    }

    /// The template of an object at `path` (array positions left out), and the object's
    /// identifying field; looked up with `path` extended in place, so no key is built.
    fn template_of<'o>(
        &self,
        path: &mut String,
        object: &'o Map<String, Value>,
    ) -> (Option<&Map<String, Value>>, Option<&'o str>) {
        let length = path.len();
        let identifier = IDENTIFYING_FIELDS.iter().find_map(|field| {
            let (name, value) = object.get_key_value(*field)?;
            match value {
                Value::String(text) => {
                    path.push('#');
                    path.push_str(text);
                }
                Value::Number(number) if number.is_u64() => {
                    // Writing to a String cannot fail.
                    let _ = write!(path, "#{number}");
                }
                _ => return None,
            }
            Some(name.as_str())
        });
        let template = self.templates.get(path.as_str()).map(|template| &template.members);
        path.truncate(length);
        (template, identifier)
    }

    fn decode(&self, value: &Value, path: &mut String) -> Result<Value, CodecError> {
        Ok(match value {
            Value::String(text) => Value::String(self.decode_string(text)?),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.decode(item, path)).collect::<Result<_, _>>()?)
            }
            Value::Object(compact) => {
                let mut object = Map::new();
                let mut absent = Vec::new();
                for (field, value) in compact {
                    if field == ABSENT_FIELDS {
                        absent = value
                            .as_array()
                            .map(|fields| fields.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        continue;
                    }
                    let length = path.len();
                    push_segment(path, field);
                    let decoded = self.decode(value, path);
                    path.truncate(length);
                    object.insert(field.clone(), decoded?);
                }
                if let (Some(template), _) = self.template_of(path, &object) {
                    for (field, value) in template {
                        if !object.contains_key(field) && !absent.contains(&field.as_str()) {
                            object.insert(field.clone(), value.clone());
                        }
                    }
                }
                Value::Object(object)
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        })
    }

    /// A compact result as its hydrated form, written without building it: serialising this gives
    /// the bytes of `hydrate(compact)` serialised (see [`Hydrated`]).
    pub fn hydrated<'a>(&'a self, compact: &'a Value) -> Hydrated<'a> {
        Hydrated { dictionary: self, compact }
    }

    /// The string a compact string stands for, borrowed from the compact value or the dictionary.
    fn decoded_str<'a>(&'a self, text: &'a str) -> Result<&'a str, CodecError> {
        let Some(rest) = text.strip_prefix(REFERENCE) else {
            return Ok(text);
        };
        if rest.starts_with(REFERENCE) {
            return Ok(rest);
        }
        rest.parse::<usize>()
            .ok()
            .and_then(|index| self.strings.get(index))
            .map(String::as_str)
            .ok_or_else(|| CodecError::UnknownString(rest.to_owned()))
    }

    /// The template of a compact object at `path`: the one [`Dictionary::hydrate`] finds, from the
    /// object's identifying field as it hydrates (the compact form keeps that field).
    fn template_of_compact(
        &self,
        path: &mut String,
        compact: &Map<String, Value>,
    ) -> Result<Option<TemplateToWrite<'_>>, CodecError> {
        // One pass over the object's few members, not a look-up of each identifying field.
        let mut best: Option<(usize, &Value)> = None;
        for (field, value) in compact {
            let Some(rank) = IDENTIFYING_FIELDS.iter().position(|identifying| identifying == field) else {
                continue;
            };
            let identifies = matches!(value, Value::String(_))
                || matches!(value, Value::Number(number) if number.is_u64());
            if identifies && best.is_none_or(|(best, _)| rank < best) {
                best = Some((rank, value));
            }
        }
        let length = path.len();
        match best {
            Some((_, Value::String(text))) => {
                path.push('#');
                path.push_str(self.decoded_str(text)?);
            }
            Some((_, number)) => {
                // Writing to a String cannot fail.
                let _ = write!(path, "#{number}");
            }
            None => {}
        }
        let template = self.templates.get(path.as_str());
        path.truncate(length);
        Ok(template.map(|template| (&template.members, &*template.written)))
    }

    fn decode_string(&self, text: &str) -> Result<String, CodecError> {
        let Some(rest) = text.strip_prefix(REFERENCE) else {
            return Ok(text.to_owned());
        };
        if rest.starts_with(REFERENCE) {
            return Ok(rest.to_owned());
        }
        rest.parse::<usize>()
            .ok()
            .and_then(|index| self.strings.get(index))
            .cloned()
            .ok_or_else(|| CodecError::UnknownString(rest.to_owned()))
    }
}

/// A compact value written as its hydrated form: the members of each object are the compact ones
/// (hydrated in turn) merged, in key order, with its template's members it does not list as
/// absent, as [`Dictionary::hydrate`] builds them. The merge is in key order because a hydrated
/// object is a serde_json map, which writes its members sorted; so the bytes written are those
/// of the hydrated value, without its tree of maps, copied strings and template values (most of
/// what reading a stored result cost).
pub struct Hydrated<'a> {
    dictionary: &'a Dictionary,
    compact: &'a Value,
}

impl Serialize for Hydrated<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let path = RefCell::new(String::new());
        HydratedNode { dictionary: self.dictionary, value: self.compact, path: &path }.serialize(serializer)
    }
}

/// A value of a compact result at its place in the result.
struct HydratedNode<'a> {
    dictionary: &'a Dictionary,
    value: &'a Value,
    /// The object path of `value` (array positions left out), extended in place by each member
    /// while it is written and truncated after.
    path: &'a RefCell<String>,
}

impl HydratedNode<'_> {
    fn child<'b>(&'b self, value: &'b Value) -> HydratedNode<'b> {
        HydratedNode { dictionary: self.dictionary, value, path: self.path }
    }
}

impl Serialize for HydratedNode<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::String(text) => {
                serializer.serialize_str(self.dictionary.decoded_str(text).map_err(S::Error::custom)?)
            }
            Value::Array(items) => {
                let mut sequence = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    sequence.serialize_element(&self.child(item))?;
                }
                sequence.end()
            }
            Value::Object(compact) => {
                let path = self.path;
                let template = self
                    .dictionary
                    .template_of_compact(&mut path.borrow_mut(), compact)
                    .map_err(S::Error::custom)?;
                let absent: Vec<&str> = compact
                    .get(ABSENT_FIELDS)
                    .and_then(Value::as_array)
                    .map(|fields| fields.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut map = serializer.serialize_map(None)?;
                // Both sides are sorted: a merge. As hydration does, a template member is put back
                // unless the object has it (its absent-fields list is not a member) or lists it
                // as absent.
                let mut own = compact.iter().filter(|(field, _)| *field != ABSENT_FIELDS).peekable();
                let mut usual = template
                    .into_iter()
                    .flat_map(|(template, written)| template.iter().zip(written))
                    .filter(|((field, _), _)| !absent.contains(&field.as_str()))
                    .peekable();
                loop {
                    let order = match (own.peek(), usual.peek()) {
                        (Some((a, _)), Some(((b, _), _))) => a.cmp(b),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => break,
                    };
                    if order == Ordering::Greater {
                        match usual.next() {
                            Some(((field, value), Some(json))) => {
                                map.serialize_entry(field, &Prewritten::new(value, |_| Ok(&**json)))?
                            }
                            Some(((field, value), None)) => map.serialize_entry(field, value)?,
                            None => {}
                        }
                        continue;
                    }
                    if order == Ordering::Equal {
                        usual.next();
                    }
                    let Some((field, value)) = own.next() else { break };
                    let length = path.borrow().len();
                    push_segment(&mut path.borrow_mut(), field);
                    let written = map.serialize_entry(field, &self.child(value));
                    path.borrow_mut().truncate(length);
                    written?;
                }
                map.end()
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => self.value.serialize(serializer),
        }
    }
}

/// A template member's value as `json_writer` writes it, when kept (see [`written_once`]).
type WrittenMember = Option<Box<[u8]>>;

/// A template as hydration writes it: its members, and their values as written, in the same order.
type TemplateToWrite<'a> = (&'a Map<String, Value>, &'a [WrittenMember]);

/// A template member's value as `json_writer` writes it, kept when it is text worth copying rather
/// than writing again: a string, a list or an object (the model's names, rationales and citation
/// lists, most of a hydrated result's bytes); a number, a boolean or null is as quick to write.
/// A template value is a JSON value, whose objects hold their members in key order, so these bytes
/// are the same whichever member order the writer is asked for.
fn written_once(value: &Value) -> WrittenMember {
    match value {
        Value::String(_) | Value::Array(_) | Value::Object(_) => {
            json_writer::to_vec(value).ok().map(Into::into)
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Whether two values write the same bytes: equal, and each float with the same sign (`0.0` and
/// `-0.0` are equal as numbers but written differently).
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) if a.is_f64() && b.is_f64() => x.to_bits() == y.to_bits(),
            _ => a == b,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| identical(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, a), (kb, b))| ka == kb && identical(a, b))
        }
        _ => a == b,
    }
}

/// A string of a result in its compact form: itself, a reference to the dictionary's string of
/// that index, or itself after one more [`REFERENCE`].
enum CompactString<'a> {
    Itself(&'a str),
    Reference(usize),
    Escaped(&'a str),
}

/// A reference to the shared string `index`, built without the formatting machinery (a third of
/// the strings of a result are references).
fn reference(index: usize) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(index);
    let mut reference = String::with_capacity(REFERENCE.len_utf8() + digits.len());
    reference.push(REFERENCE);
    reference.push_str(digits);
    reference
}

fn push_segment(path: &mut String, field: &str) {
    path.push('/');
    path.push_str(field);
}

/// The template key of an object at `path` (array positions left out) and its identifying field.
fn template_key<'a>(path: &str, object: &'a Map<String, Value>) -> (String, Option<&'a str>) {
    let identifier = IDENTIFYING_FIELDS.iter().find_map(|field| {
        let (name, value) = object.get_key_value(*field)?;
        match value {
            Value::String(text) => Some((name.as_str(), text.clone())),
            Value::Number(number) if number.is_u64() => Some((name.as_str(), number.to_string())),
            _ => None,
        }
    });
    match identifier {
        Some((field, value)) => (format!("{path}#{value}"), Some(field)),
        None => (path.to_owned(), None),
    }
}

type FieldCounts = BTreeMap<String, BTreeMap<String, BTreeMap<String, (usize, Value)>>>;

fn count_fields(value: &Value, path: &mut String, counts: &mut FieldCounts) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| count_fields(item, path, counts)),
        Value::Object(object) => {
            let (key, identifier) = template_key(path, object);
            let fields = counts.entry(key).or_default();
            for (field, value) in object {
                if Some(field.as_str()) != identifier {
                    let seen = fields
                        .entry(field.clone())
                        .or_default()
                        .entry(value.to_string())
                        .or_insert((0, value.clone()));
                    seen.0 += 1;
                }
            }
            for (field, value) in object {
                let length = path.len();
                push_segment(path, field);
                count_fields(value, path, counts);
                path.truncate(length);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

fn collect_strings(value: &Value, strings: &mut BTreeSet<String>) {
    match value {
        Value::String(text) if text.len() >= MIN_SHARED_STRING => {
            strings.insert(text.clone());
        }
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, strings)),
        Value::Object(object) => object.values().for_each(|value| collect_strings(value, strings)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn dictionary() -> Dictionary {
        let samples = [
            json!({"factors": [{"factor": "A", "name": "Cell survival after delivery", "points": 1.5, "evidence": [{"claim_id": "c1", "role": "supports"}]},
                               {"factor": "B", "name": "Retention in the target tissue", "points": 2}]}),
            json!({"factors": [{"factor": "A", "name": "Cell survival after delivery", "points": 3.0, "evidence": [{"claim_id": "c1", "role": "supports"}]}]}),
        ];
        Dictionary::learn(&samples, &json!({"texts": ["A long model text that results quote"]}))
    }

    #[test]
    fn a_result_hydrates_to_the_same_value_and_drops_its_template_fields() {
        let dictionary = dictionary();
        let result = json!({"factors": [
            {"factor": "A", "name": "Cell survival after delivery", "points": 0.5, "evidence": [{"claim_id": "c1", "role": "supports"}]},
            {"factor": "B", "points": 2, "note": "A long model text that results quote"},
            {"factor": "C", "name": "\u{1}literal", "points": 1}
        ]});
        let compact = dictionary.compact(&result).expect("round trip");
        assert_eq!(compact["factors"][0], json!({"factor": "A", "points": 0.5}));
        assert_eq!(compact["factors"][1]["~"], json!(["name"]));
        assert!(compact["factors"][1]["note"].as_str().unwrap().starts_with(REFERENCE));
        assert_eq!(compact["factors"][2]["name"], json!("\u{1}\u{1}literal"));
        assert_eq!(dictionary.hydrate(&compact).unwrap(), result);
        assert_eq!(serde_json::to_string(&dictionary.hydrated(&compact)).unwrap(), result.to_string());
        // The service's writer copies the template members' bytes instead: the same bytes.
        assert_eq!(
            json_writer::to_vec(&dictionary.hydrated(&compact)).unwrap(),
            result.to_string().into_bytes()
        );
    }

    #[test]
    fn the_stored_dictionary_reads_back_as_itself() {
        let dictionary = dictionary();
        let stored: Value = serde_json::from_str(&dictionary.to_json().to_string()).unwrap();
        assert_eq!(Dictionary::from_json(&stored).unwrap(), dictionary);
    }

    #[test]
    fn a_result_that_would_not_round_trip_is_not_compacted() {
        let dictionary = dictionary();
        // An object with the reserved field name: its hydration could not tell it from a marker.
        let result = json!({"factors": [{"factor": "A", "~": ["name"]}]});
        assert_eq!(dictionary.compact(&result), None);
    }

    /// Values shaped like results: objects with identifying fields, shared and escaped strings,
    /// numbers, nesting; now and then the reserved field.
    fn result_like() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            Just("A long model text that results quote".to_owned()),
            Just("Cell survival after delivery".to_owned()),
            Just("\u{1}".to_owned()),
            Just("\u{1}0".to_owned()),
            Just("\u{1}\u{1}literal".to_owned()),
            "[a-c\u{1}]{0,14}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0u64..4).prop_map(Value::from),
            (-3i64..0).prop_map(Value::from),
            prop_oneof![Just(0.5), Just(1.25), Just(-2.0), Just(1e300), Just(0.0), Just(-0.0)]
                .prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        let field = prop_oneof![
            8 => prop_oneof![Just("factor"), Just("id"), Just("code"), Just("name"), Just("points"),
                Just("evidence"), Just("claim_id"), Just("level")],
            1 => Just(ABSENT_FIELDS),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((field.clone(), inner), 0..6).prop_map(|fields| {
                    Value::Object(fields.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
                }),
            ]
        })
    }

    fn has_reserved_field(value: &Value) -> bool {
        match value {
            Value::Object(object) => {
                object.contains_key(ABSENT_FIELDS) || object.values().any(has_reserved_field)
            }
            Value::Array(items) => items.iter().any(has_reserved_field),
            _ => false,
        }
    }

    proptest! {
        /// The guarantee the writer relies on instead of hydrating every result it stores:
        /// whatever the dictionary learnt (from the value itself, from other values, from
        /// nothing), a compacted value hydrates to the same value and so writes the same bytes.
        #[test]
        fn every_compacted_value_hydrates_to_its_own_bytes(
            value in result_like(),
            others in prop::collection::vec(result_like(), 0..3),
            learn_from_itself in any::<bool>(),
        ) {
            let mut samples = others;
            if learn_from_itself {
                samples.push(value.clone());
            }
            let dictionary = Dictionary::learn(&samples, &json!(["A long model text that results quote"]));
            match dictionary.compact(&value) {
                None => {
                    prop_assert!(has_reserved_field(&value));
                    prop_assert!(matches!(dictionary.compact_typed(&value), Err(true)));
                }
                Some(compact) => {
                    let hydrated = dictionary.hydrate(&compact).expect("hydrates");
                    prop_assert_eq!(hydrated.to_string(), value.to_string());
                    let written = serde_json::to_string(&dictionary.hydrated(&compact)).expect("writes");
                    prop_assert_eq!(&written, &value.to_string());
                    let copied = json_writer::to_vec(&dictionary.hydrated(&compact)).expect("writes");
                    prop_assert_eq!(copied, written.into_bytes());
                    prop_assert_eq!(dictionary.compact_typed(&value).ok(), Some(json_writer::to_vec(&compact).unwrap()));
                    prop_assert_eq!(hydrated, value);
                }
            }
        }
    }

    #[test]
    fn a_typed_result_compacts_as_its_json_value_does() {
        use crate::scoring::{Model, Profile, reference_programs};
        let model = Model::current();
        let results: Vec<_> = reference_programs()
            .iter()
            .map(|(_, profile)| profile)
            .chain([&Profile::default()])
            .map(|profile| model.assess(profile))
            .collect();
        let values: Vec<Value> = results.iter().map(|result| serde_json::to_value(result).unwrap()).collect();
        // Learnt from all but the first, so the first has members that differ from its templates.
        let dictionary = Dictionary::learn(&values[1..], &json!([]));
        // The second pass compares the model's citation lists by what the first remembered.
        for _pass in 0..2 {
            for (result, value) in results.iter().zip(&values) {
                let typed =
                    dictionary.compact_typed(result).expect("the typed path handles every result shape");
                let generic = dictionary.compact(value).expect("no result has the reserved field");
                assert_eq!(typed, json_writer::to_vec(&generic).unwrap());
                // Read back as a `GET` writes it: the template members' bytes copied.
                let hydrated = json_writer::to_vec(&dictionary.hydrated(&generic)).unwrap();
                assert_eq!(hydrated, serde_json::to_vec(value).unwrap());
            }
        }
        let (same, different) = dictionary.compared_lists.remembered();
        assert!(same > 0 && different > 0, "{same} lists remembered identical, {different} different");
    }

    #[test]
    fn an_unknown_string_reference_is_an_error_not_a_panic() {
        assert!(matches!(
            dictionary().hydrate(&json!({"x": "\u{1}999999"})),
            Err(CodecError::UnknownString(_))
        ));
        let compact = json!({"x": ["\u{1}999999"]});
        let error = serde_json::to_string(&dictionary().hydrated(&compact)).unwrap_err();
        assert!(error.to_string().contains("999999"), "{error}");
    }
}
