//! Every error of a JSON document at once, in plain words.
//!
//! serde stops at the first error. [`deserialize_all`] records it, takes the offending value out
//! of a working copy of the document and tries again, until the document parses, nothing more can
//! be learnt, or [`MAX_ERRORS`] are found. Each error keeps the full path of its field in the
//! document as sent: array indices are those of the original, not of the shrunken copy, and a
//! missing field is named in full (`profile.program.indication`), not by the object that lacks
//! it. serde's wording (`invalid type: string "x", expected f64`) is rewritten in plain words
//! (`expected a number, got the text "x"`). Pure: no I/O, no HTTP.
//!
//! Limit: serde reports one missing field of an object at a time, and the object cannot be read
//! without it, so a second missing field of the same object is found only once the first is sent.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Most errors reported for one document; past it the client has enough to fix first.
pub const MAX_ERRORS: usize = 50;

/// Attempts per document: each removes one value, so a document is never read more often than
/// this however it is built.
const MAX_ATTEMPTS: usize = 4 * MAX_ERRORS;

/// Longest piece of client text quoted back in a message, in characters.
const QUOTE_MAX_CHARS: usize = 40;

/// One invalid field of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    /// Path of the field, e.g. `delivery.route` or `quality.potency_assays[1].stage`; empty for
    /// the document as a whole.
    pub field: String,
    /// What is wrong, in plain words, naming what is expected.
    pub message: String,
}

/// One step of a path: a key of an object or an index of an array.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

type Path = Vec<Step>;

/// Deserialises `document` as `T`, or returns every error found (at least one; at most
/// [`MAX_ERRORS`]), in the order serde met them.
pub fn deserialize_all<T: DeserializeOwned>(document: &Value) -> Result<T, Vec<InvalidField>> {
    // The common case, a valid document, costs one read and no copy.
    if let Ok(parsed) = T::deserialize(document) {
        return Ok(parsed);
    }
    let mut working = document.clone();
    // Original paths of the values taken out of `working`, to map its indices back.
    let mut removed: HashSet<Path> = HashSet::new();
    let mut found: Vec<(Path, InvalidField)> = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..MAX_ATTEMPTS {
        let error = match serde_path_to_error::deserialize::<_, T>(&working) {
            Ok(parsed) if found.is_empty() => return Ok(parsed),
            Ok(_) => break,
            Err(error) => error,
        };
        let message = error.inner().to_string();
        let Some(at) = known_path(error.path()) else {
            // A path serde could not follow: report it as far as it is known, and stop.
            let field = error.path().to_string();
            let field = if field == "." { String::new() } else { field };
            found.push((Vec::new(), InvalidField { field, message: plain_words(&message, None, None) }));
            break;
        };
        let original = to_original(&at, &removed);
        if !seen.insert((original.clone(), message.clone())) {
            break; // taking the value out changed nothing: no progress
        }
        let missing = missing_field(&message);
        let (field, plain) = match missing {
            Some(name) => {
                let mut full = original.clone();
                full.push(Step::Key(name.to_owned()));
                (full, "this field is required".to_owned())
            }
            None => {
                let key = match original.last() {
                    Some(Step::Key(key)) => Some(key.as_str()),
                    _ => None,
                };
                (original.clone(), plain_words(&message, lookup(document, &original), key))
            }
        };
        if is_array_read_as_object(&message) {
            // serde reads an array where an object belongs as the object's fields by position, so
            // the errors found inside it so far are about positions nobody meant as fields.
            found.retain(|(path, _)| !path.starts_with(&field));
        }
        // A required field taken out because it was invalid is missing now: already reported.
        let already = missing.is_some() && found.iter().any(|(path, _)| path.starts_with(&field));
        if !already {
            let rendered = render(&field);
            found.push((field, InvalidField { field: rendered, message: plain }));
            if found.len() >= MAX_ERRORS {
                break;
            }
        }
        // A missing field cannot be supplied, so the object lacking it goes; its other fields
        // were all valid (serde checks for missing fields after reading every present one).
        if at.is_empty() || !remove(&mut working, &at) {
            break;
        }
        removed.insert(original);
    }
    Err(found.into_iter().map(|(_, error)| error).collect())
}

/// Whether serde failed to read an array as an object: too few or too many items for its fields.
fn is_array_read_as_object(message: &str) -> bool {
    message
        .strip_prefix("invalid length ")
        .and_then(|rest| rest.split_once(", expected "))
        .is_some_and(|(_, expected)| expected.starts_with("struct ") || expected == "fewer elements in array")
}

/// Orders `errors` as their fields appear in `json` (the document they were found in); a missing
/// field goes where the object lacking it ends. serde meets fields in key order, not as sent.
pub fn sort_in_document_order(errors: &mut [InvalidField], json: &[u8]) {
    let mut paths = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    if (PathRecorder { path: String::new(), paths: &mut paths }).deserialize(&mut deserializer).is_err() {
        return; // not JSON: nothing to order by
    }
    let position = |field: &str| -> (usize, usize) {
        if field.is_empty() {
            return (0, 0);
        }
        if let Some(index) = paths.iter().position(|path| path == field) {
            return (index + 1, 0);
        }
        // Absent from the document: after the last field of its nearest present ancestor.
        let mut ancestor = field;
        while let Some(cut) = ancestor.rfind(['.', '[']) {
            ancestor = &ancestor[..cut];
            let inside = |path: &&String| {
                ancestor.is_empty()
                    || path.as_str() == ancestor
                    || path.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with(['.', '[']))
            };
            if let Some(last) = paths.iter().rposition(|path| inside(&path)) {
                return (last + 1, 1);
            }
        }
        (paths.len(), 1)
    };
    errors.sort_by_cached_key(|error| position(&error.field));
}

/// Records the path of every value of a JSON document, in the order written.
struct PathRecorder<'a> {
    path: String,
    paths: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for PathRecorder<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PathRecorder<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let path = format!("{}[{index}]", self.path);
            self.paths.push(path.clone());
            if items.next_element_seed(PathRecorder { path, paths: &mut *self.paths })?.is_none() {
                self.paths.pop();
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        while let Some(key) = fields.next_key::<String>()? {
            let path = if self.path.is_empty() { key } else { format!("{}.{key}", self.path) };
            self.paths.push(path.clone());
            fields.next_value_seed(PathRecorder { path, paths: &mut *self.paths })?;
        }
        Ok(())
    }
}

/// The path serde reported, or `None` when part of it is unknown.
fn known_path(path: &serde_path_to_error::Path) -> Option<Path> {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// Maps a path in the working copy to the same value's path in the original document.
fn to_original(working: &[Step], removed: &HashSet<Path>) -> Path {
    let mut original = Vec::with_capacity(working.len());
    for step in working {
        match step {
            Step::Key(key) => original.push(Step::Key(key.clone())),
            Step::Index(wanted) => {
                let (mut index, mut kept) = (0, 0);
                loop {
                    original.push(Step::Index(index));
                    let gone = removed.contains(&original);
                    original.pop();
                    if !gone {
                        if kept == *wanted {
                            break;
                        }
                        kept += 1;
                    }
                    index += 1;
                }
                original.push(Step::Index(index));
            }
        }
    }
    original
}

fn render(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Step::Index(index) => {
                let _ = write!(text, "[{index}]");
            }
        }
    }
    text
}

fn lookup<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get(key),
        Step::Index(index) => value.get(index),
    })
}

/// Takes the value at `path` (not the root) out of `document`; false if there is none.
fn remove(document: &mut Value, path: &[Step]) -> bool {
    let Some((last, parent)) = path.split_last() else { return false };
    let mut value = document;
    for step in parent {
        let next = match step {
            Step::Key(key) => value.get_mut(key),
            Step::Index(index) => value.get_mut(index),
        };
        match next {
            Some(next) => value = next,
            None => return false,
        }
    }
    match (last, value) {
        (Step::Key(key), Value::Object(fields)) => fields.remove(key).is_some(),
        (Step::Index(index), Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// The name in serde's "missing field `name`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Rewrites serde's wording of one error in plain words. `value` is the offending value, when
/// known; `key` is the name of the field when it is an object member.
fn plain_words(message: &str, value: Option<&Value>, key: Option<&str>) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = key.map_or_else(|| rest.split('`').next().unwrap_or_default().to_owned(), str::to_owned);
        let allowed = allowed_names(message);
        if allowed.is_empty() {
            return format!("unknown field {}; this object has no fields", quote_name(&name));
        }
        return match closest(&name, &allowed) {
            Some(near) => format!("unknown field {} (did you mean `{near}`?)", quote_name(&name)),
            None => format!("unknown field {}; allowed: {}", quote_name(&name), list(&allowed)),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let name = match value {
            Some(Value::String(text)) => text.clone(),
            _ => rest.split('`').next().unwrap_or_default().to_owned(),
        };
        let allowed = allowed_names(message);
        if allowed.is_empty() {
            return format!("unknown value {}", quote_name(&name));
        }
        let hint =
            closest(&name, &allowed).map(|near| format!(" (did you mean `{near}`?)")).unwrap_or_default();
        return format!("unknown value {}{hint}; allowed: {}", quote_name(&name), list(&allowed));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(cut) = rest.rfind(", expected ")
        {
            let got = value.map_or_else(|| plain_unexpected(&rest[..cut]), describe);
            return format!("expected {}, got {got}", plain_expected(&rest[cut + ", expected ".len()..]));
        }
    }
    if is_array_read_as_object(message) {
        return "expected an object, got a list".to_owned();
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((length, expected)) = rest.split_once(", expected ")
    {
        let got = match value {
            Some(Value::Array(items)) => format!("a list of {} items", items.len()),
            Some(other) => describe(other),
            None => format!("{length} items"),
        };
        return format!("expected {}, got {got}", plain_expected(expected));
    }
    if message.starts_with("UUID parsing failed") {
        return match value {
            Some(value) => format!("expected an id (a UUID), got {}", describe(value)),
            None => "expected an id (a UUID)".to_owned(),
        };
    }
    if let Some(reason) = date_error(message) {
        return match value {
            Some(Value::String(text)) => format!("{} {reason}", quote(text)),
            _ => format!("not a valid date: {message}"),
        };
    }
    message.to_owned()
}

/// A parse error of a value given as text (a query parameter), in plain words: `text` is the
/// value as sent. Query parameters are read with `FromStr`, whose errors name no value.
pub fn plain_words_for_text(message: &str, text: &str) -> String {
    let got = quote(text);
    let expected = match message {
        "invalid float literal" => "a number",
        "invalid digit found in string"
        | "cannot parse integer from empty string"
        | "number too large to fit in target type"
        | "number too small to fit in target type" => "a whole number",
        "provided string was not `true` or `false`" => "true or false",
        _ if date_error(message).is_some() => "a date and time (RFC 3339, such as 2026-11-01T00:00:00Z)",
        _ => return plain_words(message, Some(&Value::String(text.to_owned())), None),
    };
    format!("expected {expected}, got {got}")
}

/// chrono's parse errors (its serde impls pass them on as they are), in plain words.
fn date_error(message: &str) -> Option<&'static str> {
    match message {
        "input is out of range" => Some("is not a date in the calendar (a day, month or year out of range)"),
        "no possible date and time matching input" | "input is not enough for unique date and time" => {
            Some("is not a complete, possible date")
        }
        "input contains invalid characters" | "premature end of input" | "trailing input" => {
            Some("is not a date written as YYYY-MM-DD")
        }
        _ => None,
    }
}

/// What serde says it expected, in plain words; our own types already say it plainly.
fn plain_expected(expected: &str) -> String {
    let plain = match expected {
        "f32" | "f64" => "a number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
            "a whole number"
        }
        "a string" | "a borrowed string" | "string" => "text",
        "a boolean" => "true or false",
        "a character" | "char" => "a single character",
        "a sequence" => "a list",
        "a map" | "map" => "an object",
        "unit" => "null",
        "string or map" => "one of the allowed values",
        "a formatted date string" => "a date (YYYY-MM-DD)",
        "a formatted date and time string" | "an RFC 3339 formatted date and time string" => {
            "a date and time (RFC 3339)"
        }
        other if other.starts_with("struct ") => "an object",
        other if other.starts_with("enum ") => "one of the allowed values",
        other if other.starts_with("tuple") || other.starts_with("a sequence") => "a list",
        other if other.starts_with("a formatted UUID") || other.starts_with("a UUID") => "an id (a UUID)",
        other => return other.to_owned(),
    };
    plain.to_owned()
}

/// A value as the client sent it, in words.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the text {}", quote(text)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// serde's description of an unexpected value, in words, when the value itself is not at hand.
fn plain_unexpected(unexpected: &str) -> String {
    let between_ticks = |text: &str| text.trim_start_matches('`').trim_end_matches('`').to_owned();
    if let Some(number) =
        unexpected.strip_prefix("integer ").or_else(|| unexpected.strip_prefix("floating point "))
    {
        format!("the number {}", between_ticks(number))
    } else if let Some(flag) = unexpected.strip_prefix("boolean ") {
        between_ticks(flag)
    } else if let Some(text) = unexpected.strip_prefix("string ") {
        format!("the text {text}")
    } else {
        match unexpected {
            "null" | "unit value" => "null".to_owned(),
            "sequence" => "a list".to_owned(),
            "map" => "an object".to_owned(),
            other => other.to_owned(),
        }
    }
}

/// Client text in double quotes, escaped, and cut to [`QUOTE_MAX_CHARS`].
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() <= QUOTE_MAX_CHARS {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{:?}", format!("{cut}…"))
    }
}

/// A client-chosen name in backticks, cut to [`QUOTE_MAX_CHARS`], with control characters escaped.
fn quote_name(name: &str) -> String {
    let quoted = quote(name);
    format!("`{}`", &quoted[1..quoted.len() - 1])
}

/// The names serde lists after "expected" (`a`, `a` or `b`, one of `a`, `b`, `c`).
fn allowed_names(message: &str) -> Vec<String> {
    let Some(cut) = message.rfind("`, expected ") else { return Vec::new() };
    message[cut + 1..].split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

fn list(names: &[String]) -> String {
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// The allowed name `name` is most likely a misspelling of, if any is close enough.
fn closest<'a>(name: &str, allowed: &'a [String]) -> Option<&'a str> {
    let length = name.chars().count();
    // A one-value list or a name of one or two characters: the list says it all.
    if allowed.len() < 2 || length < 3 {
        return None;
    }
    let budget = (length / 3).clamp(1, 3);
    let mut near: Vec<(usize, &String)> = allowed
        .iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= budget)
        .collect();
    near.sort_by_key(|(distance, _)| *distance);
    match near.as_slice() {
        // Two equally close names (`phase_2`: `phase2` or `phase1_2`?): no guess.
        [(best, _), (second, _), ..] if best == second => None,
        [(_, candidate), ..] => Some(candidate.as_str()),
        [] => None,
    }
}

/// Levenshtein distance between two short names, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
