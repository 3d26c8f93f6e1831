//! Finds a key that appears twice in one JSON object. serde_json keeps the last value of a
//! repeated key without a word, so `{"stage": "phase3", "stage": "preclinical"}` would be scored
//! as whatever came last, and what a reviewer reads in the stored body may not be what was scored
//! (issue 20, finding 11). RFC 8259 says names should be unique; a body breaking that is refused.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::problem::{ApiError, FieldError};

/// A 422 naming the first key repeated in an object of `body` (valid JSON), if there is one.
pub fn refuse_repeated_keys(body: &[u8]) -> Result<(), ApiError> {
    match first_repeated_key(body) {
        None => Ok(()),
        Some(field) => Err(ApiError::invalid_fields(vec![FieldError {
            field,
            message: "this key appears more than once in its object; send each key once".into(),
        }])),
    }
}

/// The path (as in problem documents, e.g. `profile.program.name`) of the first key repeated in
/// an object of `body`, which must be valid JSON.
pub fn first_repeated_key(body: &[u8]) -> Option<String> {
    let mut found = None;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    // The walk stops with an error at the first repeated key; other errors were ruled out by the
    // parse before this one.
    let _ = Walk { path: String::new(), found: &mut found }.deserialize(&mut deserializer);
    found
}

struct Walk<'a> {
    path: String,
    found: &'a mut Option<String>,
}

fn member(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        let Walk { path, found } = self;
        let mut index = 0;
        while items
            .next_element_seed(Walk { path: format!("{path}[{index}]"), found: &mut *found })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        let Walk { path, found } = self;
        let mut keys = HashSet::new();
        while let Some(key) = members.next_key::<String>()? {
            let key_path = member(&path, &key);
            if !keys.insert(key) {
                *found = Some(key_path);
                return Err(de::Error::custom("repeated key"));
            }
            members.next_value_seed(Walk { path: key_path, found: &mut *found })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_repeated_key;

    #[test]
    fn the_first_repeated_key_is_named_by_its_path() {
        assert_eq!(first_repeated_key(br#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#), None);
        assert_eq!(first_repeated_key(br#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            first_repeated_key(
                br#"{"profile": {"quality": {"potency_assays": [{}, {"stage": "x", "stage": "y"}]}}}"#
            )
            .as_deref(),
            Some("profile.quality.potency_assays[1].stage")
        );
        assert_eq!(first_repeated_key(br#"[{"x": 1}, {"x": 1}]"#), None, "the same key in two objects");
        assert_eq!(first_repeated_key(br#"{"\u0061": 1, "a": 2}"#).as_deref(), Some("a"), "compared decoded");
    }
}
