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
//! Hydration is the exact inverse whatever the dictionary holds (a poor template only costs bytes),
//! and the writer checks it on every result before storing the compact form, so a stored result
//! reads back as the same JSON value, hence the same bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

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
/// (the writer's round-trip check would catch one and store the result whole).
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
}

/// The templates and shared strings of one model version.
#[derive(Debug, Default, PartialEq)]
pub struct Dictionary {
    templates: HashMap<String, Map<String, Value>>,
    strings: Vec<String>,
    string_ids: HashMap<String, usize>,
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
        Self { templates, strings, string_ids }
    }

    /// The dictionary as stored: `{"templates": {key: object}, "strings": [string]}`.
    pub fn to_json(&self) -> Value {
        let templates: Map<String, Value> = self
            .templates
            .iter()
            .map(|(key, template)| (key.clone(), Value::Object(template.clone())))
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

    /// The compact form of a result, or `None` when it would not hydrate back to the same value
    /// (then the result is stored whole).
    pub fn compact(&self, result: &Value) -> Option<Value> {
        let compact = self.encode(result, &mut String::new());
        (self.hydrate(&compact).ok().as_ref() == Some(result)).then_some(compact)
    }

    /// The result a compact form was made from.
    pub fn hydrate(&self, compact: &Value) -> Result<Value, CodecError> {
        self.decode(compact, &mut String::new())
    }

    fn encode(&self, value: &Value, path: &mut String) -> Value {
        match value {
            Value::String(text) => Value::String(self.encode_string(text)),
            Value::Array(items) => Value::Array(items.iter().map(|item| self.encode(item, path)).collect()),
            Value::Object(object) => {
                let (key, identifier) = template_key(path, object);
                let template = self.templates.get(&key);
                let mut compact = Map::new();
                for (field, value) in object {
                    let same = template.and_then(|template| template.get(field)) == Some(value);
                    if !same || Some(field.as_str()) == identifier {
                        compact.insert(field.clone(), self.encode_field(value, path, field));
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
        }
    }

    fn encode_field(&self, value: &Value, path: &mut String, field: &str) -> Value {
        let length = path.len();
        push_segment(path, field);
        let encoded = self.encode(value, path);
        path.truncate(length);
        encoded
    }

    fn encode_string(&self, text: &str) -> String {
        match self.string_ids.get(text) {
            Some(index) => format!("{REFERENCE}{index}"),
            None if text.starts_with(REFERENCE) => format!("{REFERENCE}{text}"),
            None => text.to_owned(),
        }
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
                let (key, _) = template_key(path, &object);
                if let Some(template) = self.templates.get(&key) {
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

    #[test]
    fn an_unknown_string_reference_is_an_error_not_a_panic() {
        assert!(matches!(
            dictionary().hydrate(&json!({"x": "\u{1}999999"})),
            Err(CodecError::UnknownString(_))
        ));
    }
}
