//! Reads a request body straight into its type, without a JSON value in between, for a body that
//! is not kept. The value, the second read from it and the walk comparing them cost a sixth of
//! the CPU of `POST /v1/score` (issue 16's eleventh round).
//!
//! The answer must be the one the checked path (`json_body::parse`) gives a valid body, and a body
//! that path refuses must not pass here. Three things it refuses that serde alone lets through:
//! - a key repeated in one object: every request type refuses unknown fields and holds no map, so
//!   serde's derived code refuses a repeated field itself;
//! - NUL characters, which can only be written `\u0000`: a body with that text anywhere is left to
//!   the checked path;
//! - an array where an object is expected, which serde reads as a struct (fields by position):
//!   the reader below wraps serde_json's at every level and lets a struct be read from an object
//!   only.
//!
//! Anything this reader refuses is read again by the checked path, which names the field.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

/// `T` read from `body`, or `None` when the body is not a valid `T` or may hold what only the
/// checked path reports.
pub fn read<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    if body.split(|&byte| byte == b'\\').skip(1).any(|after| after.starts_with(b"u0000")) {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = T::deserialize(Strict(&mut deserializer)).ok()?;
    deserializer.end().ok()?;
    Some(value)
}

/// A deserializer whose structs are read from objects only, at every level below it.
struct Strict<D>(D);

/// A visitor seeing, at every level below it, values of [`Strict`] deserializers; with
/// `object_only`, it refuses a sequence (it reads a struct).
struct Wrap<V> {
    visitor: V,
    object_only: bool,
}

impl<V> Wrap<V> {
    fn any(visitor: V) -> Self {
        Self { visitor, object_only: false }
    }

    fn object(visitor: V) -> Self {
        Self { visitor, object_only: true }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($argument:ident: $type:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($argument: $type,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($argument,)* Wrap::any(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(), deserialize_u32(),
        deserialize_u64(), deserialize_u128(), deserialize_f32(), deserialize_f64(), deserialize_char(),
        deserialize_str(), deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(), deserialize_tuple(length: usize),
        deserialize_tuple_struct(name: &'static str, length: usize), deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]), deserialize_identifier(),
        deserialize_ignored_any(),
    );

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Wrap::object(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident: $type:ty),* $(,)?) => {$(
        fn $method<E: de::Error>(self, value: $type) -> Result<V::Value, E> {
            self.visitor.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    forward_visit!(
        visit_bool: bool, visit_i8: i8, visit_i16: i16, visit_i32: i32, visit_i64: i64, visit_i128: i128,
        visit_u8: u8, visit_u16: u16, visit_u32: u32, visit_u64: u64, visit_u128: u128, visit_f32: f32,
        visit_f64: f64, visit_char: char, visit_str: &str, visit_borrowed_str: &'de str, visit_string: String,
        visit_bytes: &[u8], visit_borrowed_bytes: &'de [u8], visit_byte_buf: Vec<u8>,
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Strict(deserializer))
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, sequence: A) -> Result<V::Value, A::Error> {
        if self.object_only {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        self.visitor.visit_seq(Strict(sequence))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Strict(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(Strict(data))
    }
}

/// A seed deserializing from a [`Strict`] deserializer.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self::Variant), A::Error> {
        self.0.variant_seed(Seed(seed)).map(|(value, variant)| (value, Strict(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, length: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(length, Wrap::any(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap::object(visitor))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::read;
    use crate::api::assessments::ScoreRequest;
    use crate::api::shape_check::tests::with_an_object_as_a_list;
    use crate::api::{duplicate_keys, json_body};
    use crate::scoring::{Profile, REFERENCE_PROGRAMS, REFERENCE_PROGRAMS_V1};

    /// The profile the checked path reads from `body`, if it takes it: a value without repeated
    /// keys, every field valid, no array read as an object.
    fn checked(body: &[u8]) -> Option<Profile> {
        let read = duplicate_keys::read(body).ok()?;
        if read.repeated_key.is_some() {
            return None;
        }
        let parsed: ScoreRequest = json_body::validate(&read.value, body).ok()?;
        match json_body::array_read_as_object("profile", &read.value["profile"], &parsed.profile) {
            Some(_) => None,
            None => Some(parsed.profile),
        }
    }

    fn direct(body: &[u8]) -> Option<Profile> {
        read::<ScoreRequest>(body).map(|request| request.profile)
    }

    /// Every profile at hand: the reference programs in both versions and the back-test's cases.
    fn profiles() -> Vec<(String, Value)> {
        let mut found: Vec<(String, Value)> = REFERENCE_PROGRAMS
            .iter()
            .chain(REFERENCE_PROGRAMS_V1)
            .map(|(name, json)| ((*name).to_owned(), serde_json::from_str(json).unwrap()))
            .collect();
        let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("validation/cases");
        for entry in std::fs::read_dir(cases).unwrap() {
            let path = entry.unwrap().path();
            let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            found.push((path.display().to_string(), case["profile"].clone()));
        }
        found
    }

    #[test]
    fn every_valid_profile_reads_as_the_checked_path_reads_it() {
        let profiles = profiles();
        assert!(profiles.len() > 40, "{} profiles", profiles.len());
        for (name, profile) in profiles {
            let body = json!({"profile": profile}).to_string();
            let expected = checked(body.as_bytes());
            assert!(expected.is_some(), "{name} is valid");
            assert_eq!(direct(body.as_bytes()), expected, "{name}");
        }
    }

    #[test]
    fn an_array_where_an_object_is_expected_is_left_to_the_checked_path() {
        let (_, json) =
            REFERENCE_PROGRAMS.iter().find(|(name, _)| *name == "disc_mature_allogeneic").unwrap();
        let base: Value = serde_json::from_str(json).unwrap();
        let cases = with_an_object_as_a_list(&base);
        let mut refused = 0;
        for (path, case) in &cases {
            let body = json!({"profile": case}).to_string();
            let expected = checked(body.as_bytes());
            refused += usize::from(expected.is_none());
            assert_eq!(direct(body.as_bytes()), expected, "{path:?}");
        }
        assert!(refused > 10, "only {refused} of {} cases refused", cases.len());
        let lot_consistency = br#"{"profile": {"manufacturing": {"lot_consistency": [null, null]}}}"#;
        assert_eq!(checked(lot_consistency), None, "serde alone would read it");
        assert_eq!(direct(lot_consistency), None);
    }

    #[test]
    fn what_the_checked_path_refuses_and_serde_alone_takes_is_refused() {
        for body in [
            r#"{"profile": {"program": {"stage": "phase3", "stage": "preclinical"}}}"#,
            r#"{"profile": {}, "profile": {}}"#,
            r#"{"profile": {"program": {"name": "Disc\u0000"}}}"#,
            r#"{"profile": {}} trailing"#,
            r#"{"profile": {}, "unknown": 1}"#,
        ] {
            assert_eq!(checked(body.as_bytes()), None, "{body}");
            assert_eq!(direct(body.as_bytes()), None, "{body}");
        }
        // An escaped backslash before the letters "u0000" is no NUL, but the text is enough to be
        // left to the checked path, which takes it.
        let body = r#"{"profile": {"program": {"name": "C:\\u0000"}}}"#;
        assert!(checked(body.as_bytes()).is_some());
        assert_eq!(direct(body.as_bytes()), None);
    }
}
