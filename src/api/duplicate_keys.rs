//! Reads a JSON body into a value, noting a key that appears twice in one object. serde_json keeps
//! the last value of a repeated key without a word, so `{"stage": "phase3", "stage":
//! "preclinical"}` would be scored as whatever came last, and what a reviewer reads in the stored
//! body may not be what was scored (issue 20, finding 11). RFC 8259 says names should be unique; a
//! body breaking that is refused.
//!
//! One pass builds the value and watches for repeats: a second walk over the body cost a tenth of
//! the CPU of `POST /v1/score` (issue 16's profile). The path of a value is kept as a stack of
//! steps and written out only for the repeated key.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::problem::FieldError;

/// What reading a body found: its value, and the path of the first key repeated in one of its
/// objects (as in problem documents, e.g. `profile.program.name`), if one is.
pub struct Read {
    pub value: Value,
    pub repeated_key: Option<String>,
}

/// Reads `body` as JSON; the error is serde_json's for a body that is not JSON (malformed JSON is
/// reported as such even where a key repeats before the fault).
pub fn read(body: &[u8]) -> Result<Read, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut reader = Reader { path: Vec::new(), repeated: None };
    let value = reader.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Read { value, repeated_key: reader.repeated })
}

/// The error of a repeated key at `field`.
pub fn repeated_key_error(field: String) -> FieldError {
    FieldError { field, message: "this key appears more than once in its object; send each key once".into() }
}

/// One step of a path into a JSON document: an object's member or an array's item.
pub enum Step<Key> {
    Key(Key),
    Index(usize),
}

impl<Key: AsRef<str>> Step<Key> {
    /// Appends the step to `path` as problem documents name fields
    /// (`profile.quality.potency_assays[1].stage`).
    pub fn write_to(&self, path: &mut String) {
        match self {
            Self::Key(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name.as_ref());
            }
            Self::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
}

struct Reader {
    path: Vec<Step<String>>,
    repeated: Option<String>,
}

impl Reader {
    fn path_to(&self, key: &str) -> String {
        let mut path = String::new();
        for step in self.path.iter().chain([&Step::Key(key.to_owned())]) {
            step.write_to(&mut path);
        }
        path
    }
}

impl<'de> DeserializeSeed<'de> for &mut Reader {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Reader {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so every number serde_json reads is finite.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::with_capacity(items.size_hint().unwrap_or(0));
        loop {
            self.path.push(Step::Index(values.len()));
            let item = items.next_element_seed(&mut *self);
            self.path.pop();
            match item? {
                Some(value) => values.push(value),
                None => return Ok(Value::Array(values)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = members.next_key::<String>()? {
            // The key is on the path while its value is read, then taken back for the object.
            self.path.push(Step::Key(key));
            let value = members.next_value_seed(&mut *self);
            let Some(Step::Key(key)) = self.path.pop() else {
                return Err(de::Error::custom("the reader lost its place in the body"));
            };
            let value = value?;
            if object.contains_key(&key) && self.repeated.is_none() {
                self.repeated = Some(self.path_to(&key));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::{Read, read};

    fn repeated(body: &[u8]) -> Option<String> {
        read(body).expect("valid JSON").repeated_key
    }

    #[test]
    fn the_first_repeated_key_is_named_by_its_path() {
        assert_eq!(repeated(br#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#), None);
        assert_eq!(repeated(br#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            repeated(br#"{"profile": {"quality": {"potency_assays": [{}, {"stage": "x", "stage": "y"}]}}}"#)
                .as_deref(),
            Some("profile.quality.potency_assays[1].stage")
        );
        assert_eq!(repeated(br#"[{"x": 1}, {"x": 1}]"#), None, "the same key in two objects");
        assert_eq!(repeated(br#"{"\u0061": 1, "a": 2}"#).as_deref(), Some("a"), "compared decoded");
    }

    #[test]
    fn the_value_read_is_serde_jsons() {
        let body =
            br#"{"b": [1, -2, 3.5, 1e300, "x\u00e9", null, true, {"c": {}}], "a": 18446744073709551615}"#;
        let Read { value, repeated_key } = read(body).unwrap();
        assert_eq!(repeated_key, None);
        assert_eq!(value, serde_json::from_slice::<serde_json::Value>(body).unwrap());
    }

    #[test]
    fn malformed_json_is_an_error_even_after_a_repeated_key() {
        assert!(read(br#"{"a": 1, "a": 2, "b": }"#).is_err());
        assert!(read(br#"{"a": 1} trailing"#).is_err());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(read(deep.as_bytes()).is_err(), "nesting beyond serde_json's limit");
    }
}
