//! Output text and lists shared with the model instead of copied into every assessment: an
//! assessment repeats hundreds of model strings (names, rationales, citations), and copying them
//! cost more than the scoring itself. Both serialise exactly like `String` and `Vec`.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::assessment::citations_as_claim_ids;
use crate::json_writer::{self, MemberOrder, Prewritten};

/// An immutable string: a literal, or text shared with the model.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Text {
    /// Text from a literal, without allocating.
    pub const fn literal(text: &'static str) -> Self {
        Self(Repr::Static(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(text) => text,
            Repr::Shared(text) => text,
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self(Repr::Shared(text.into()))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self(Repr::Shared(text.into()))
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), formatter)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// An immutable list shared with the model. Its JSON (in each form a citation list can take, see
/// [`with_citations_as_claim_ids`](super::with_citations_as_claim_ids)) is written once and kept:
/// the same lists are in every assessment, and writing them again for each response was about a
/// third of writing a result (issue 16's fifth round).
pub struct Shared<T>(Arc<SharedList<T>>);

struct SharedList<T> {
    items: Box<[T]>,
    /// The JSON of `items` as `json_writer` writes it: full citations and claim ids, each with
    /// members as declared and in key order.
    written: [OnceLock<Box<[u8]>>; 4],
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(items: Vec<T>) -> Self {
        Self(Arc::new(SharedList { items: items.into(), written: Default::default() }))
    }
}

impl<T> Deref for Shared<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0.items
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.items == other.0.items
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0.items, formatter)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let form = usize::from(citations_as_claim_ids());
        let written = |order: MemberOrder| -> Result<&[u8], json_writer::WriteError> {
            let slot = &self.0.written[form * 2 + usize::from(order == MemberOrder::Key)];
            if let Some(json) = slot.get() {
                return Ok(json);
            }
            let json = match order {
                MemberOrder::Declared => json_writer::to_vec(&*self.0.items)?,
                MemberOrder::Key => json_writer::to_vec(&json_writer::KeyOrdered(&*self.0.items))?,
            };
            Ok(slot.get_or_init(|| json.into()))
        };
        Prewritten::new(&*self.0.items, written).serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(Self::from)
    }
}
