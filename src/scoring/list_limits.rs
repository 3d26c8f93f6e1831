//! Length limits for the lists of a profile.
//!
//! Each list field states its limit twice, side by side, and both must agree: for the OpenAPI
//! document (`#[schema(max_items = N)]`) and for reading (`#[serde(default, deserialize_with =
//! "at_most::<N, _, _>")]`). Without limits, 21,225 empty potency assays fitted in one 64 KB body
//! and took 44 ms to score against 3 ms for a real profile (issue 20, finding 6). A list over its
//! limit is refused while it is read, so the usual 422 names the field's full path.
//!
//! The limits are far above any real program (the largest list in the reference and back-test
//! programs has four items) and low enough that no profile within the body limit costs much more
//! to score than a real one.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, Error, IgnoredAny, SeqAccess, Visitor};

/// Reads an optional list of at most `N` items; a longer list is an error naming its length.
pub fn at_most<'de, const N: usize, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_option(OptionalList::<N, T>(PhantomData))
}

struct OptionalList<const N: usize, T>(PhantomData<T>);

impl<'de, const N: usize, T: Deserialize<'de>> Visitor<'de> for OptionalList<N, T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As serde's own lists say it, so type errors read as they always have.
        formatter.write_str("a sequence")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(List::<N, T>(PhantomData)).map(Some)
    }
}

struct List<const N: usize, T>(PhantomData<T>);

impl<'de, const N: usize, T: Deserialize<'de>> Visitor<'de> for List<N, T> {
    type Value = Vec<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0).min(N));
        while list.len() < N {
            match items.next_element()? {
                Some(item) => list.push(item),
                None => return Ok(list),
            }
        }
        // At the limit: count the rest without reading them, to say how long the list is.
        let mut length = N;
        while items.next_element::<IgnoredAny>()?.is_some() {
            length += 1;
        }
        if length > N {
            return Err(A::Error::custom(format!(
                "expected a list of at most {N} items, got a list of {length} items"
            )));
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "super::at_most::<2, _, _>")]
        items: Option<Vec<u8>>,
    }

    #[test]
    fn a_list_up_to_its_limit_is_read_and_a_longer_one_is_refused_with_its_length() {
        let read = |value| serde_json::from_value::<Holder>(value).map(|holder| holder.items);
        assert_eq!(read(json!({})).unwrap(), None);
        assert_eq!(read(json!({"items": null})).unwrap(), None);
        assert_eq!(read(json!({"items": []})).unwrap(), Some(vec![]));
        assert_eq!(read(json!({"items": [1, 2]})).unwrap(), Some(vec![1, 2]));
        let error = read(json!({"items": [1, 2, 3, 4, 5]})).unwrap_err().to_string();
        assert_eq!(error, "expected a list of at most 2 items, got a list of 5 items");
        let error = read(json!({"items": "x"})).unwrap_err().to_string();
        assert!(error.contains("expected a sequence"), "{error}");
    }
}
