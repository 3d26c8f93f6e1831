//! Building blocks of the input schema: categorical enums whose wire names are written once,
//! bounded numbers that reject physically impossible values, short free-text labels, and
//! compact sets of categorical values.

use std::fmt;
use std::marker::PhantomData;

/// Declares a categorical input. Each wire name is written once and used by serde, the OpenAPI
/// schema and `as_str`, so the three can never disagree. Variants are declared worst to best
/// wherever the scale is ordinal, so the derived `Ord` follows readiness.
macro_rules! categorical {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident => $wire:tt, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, utoipa::ToSchema,
        )]
        pub enum $name {
            $( $(#[doc = $vdoc])* #[serde(rename = $wire)] $variant, )+
        }

        // By hand rather than derived, so that a value of the wrong type (`"route": 5`) is
        // answered with the allowed values, as an unknown one is.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct WireName;

                impl serde::de::Visitor<'_> for WireName {
                    type Value = $name;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        $crate::scoring::input_types::expect_one_of(
                            formatter,
                            <$name as $crate::scoring::input_types::Scale>::KEYS,
                        )
                    }

                    fn visit_str<E: serde::de::Error>(self, wire: &str) -> Result<$name, E> {
                        match wire {
                            $($wire => Ok($name::$variant),)+
                            _ => Err(E::unknown_variant(
                                wire,
                                <$name as $crate::scoring::input_types::Scale>::KEYS,
                            )),
                        }
                    }
                }

                deserializer.deserialize_str(WireName)
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Each wire name with the value's description (its doc comment), for labels.
            pub const DESCRIBED: &'static [(&'static str, &'static str)] =
                &[$(($wire, concat!($($vdoc),*))),+];

            /// The wire name, exactly as in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl $crate::scoring::input_types::Member for $name {
            fn bit(self) -> u64 {
                1 << (self as u32)
            }
        }

        impl $crate::scoring::input_types::Scale for $name {
            const KEYS: &'static [&'static str] = &[$($wire),+];

            fn position(self) -> u8 {
                self as u8
            }
        }
    };
}
pub(crate) use categorical;

/// An ordered set of named levels a factor can take; the model data gives each key its value.
pub trait Scale: Copy {
    /// The level keys, in declaration order.
    const KEYS: &'static [&'static str];

    /// This level's position in [`Scale::KEYS`].
    fn position(self) -> u8;
}

/// Declares the levels of a factor whose levels are not simply the values of one input.
macro_rules! scale {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name {
            $($variant,)+
        }

        impl $crate::scoring::input_types::Scale for $name {
            const KEYS: &'static [&'static str] = &[$($key),+];

            fn position(self) -> u8 {
                self as u8
            }
        }
    };
}
pub(crate) use scale;

/// A categorical value that can live in a [`Set`].
pub trait Member: Copy {
    /// The value's bit in a set.
    fn bit(self) -> u64;
}

/// A set of categorical values, stored as a bit mask so that normalised inputs stay `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Set<T> {
    bits: u64,
    member: PhantomData<T>,
}

impl<T: Member> Set<T> {
    /// The empty set.
    pub const EMPTY: Self = Self { bits: 0, member: PhantomData };

    /// Whether the set holds `value`.
    pub fn contains(self, value: T) -> bool {
        self.bits & value.bit() != 0
    }

    /// Whether the set holds any of `values`.
    pub fn contains_any(self, values: &[T]) -> bool {
        values.iter().any(|value| self.contains(*value))
    }

    /// Whether the set shares a member with `other`.
    pub fn intersects(self, other: Self) -> bool {
        self.bits & other.bits != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// Number of members.
    pub fn len(self) -> u32 {
        self.bits.count_ones()
    }

    /// Adds one value.
    pub fn insert(&mut self, value: T) {
        self.bits |= value.bit();
    }

    /// The union of both sets.
    pub fn union(self, other: Self) -> Self {
        Self { bits: self.bits | other.bits, member: PhantomData }
    }
}

impl<T: Member + Scale> Set<T> {
    /// The wire names of the members, in declaration order.
    pub fn keys(self) -> impl Iterator<Item = &'static str> {
        T::KEYS
            .iter()
            .enumerate()
            .filter(move |(position, _)| self.bits & (1 << position) != 0)
            .map(|(_, key)| *key)
    }
}

impl<T: Member> FromIterator<T> for Set<T> {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Self {
        let mut set = Self::EMPTY;
        for value in values {
            set.insert(value);
        }
        set
    }
}

impl<T> fmt::Debug for Set<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Set({:#b})", self.bits)
    }
}

/// Writes the expectation of a categorical input: its allowed wire names.
pub fn expect_one_of(formatter: &mut fmt::Formatter<'_>, keys: &[&str]) -> fmt::Result {
    match keys {
        [only] => write!(formatter, "`{only}`"),
        _ => {
            formatter.write_str("one of ")?;
            for (position, key) in keys.iter().enumerate() {
                if position > 0 {
                    formatter.write_str(", ")?;
                }
                write!(formatter, "`{key}`")?;
            }
            Ok(())
        }
    }
}

/// What a bounded number measures, for messages: its unit, range and whether it is whole.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    pub whole: bool,
}

impl Quantity {
    /// What is expected, in words: `a number of cells (1 to 1e13)`, `a percentage (0 to 100)`,
    /// `a whole number of doses (1 to 1e6)`, `a Pfirrmann grade (whole number 1 to 5)`.
    pub fn expected(self) -> String {
        let range = format!("{} to {}", plain_number(self.min), plain_number(self.max));
        let unit = self.unit;
        match (unit, self.whole) {
            ("%", _) => format!("a percentage ({range})"),
            ("USD", _) => format!("an amount in USD ({range})"),
            ("mL", _) => format!("a volume in mL ({range})"),
            _ if unit.starts_with('(') && unit.ends_with(')') => {
                let name = &unit[1..unit.len() - 1];
                let whole = if self.whole { "whole number " } else { "" };
                format!("a {name} ({whole}{range})")
            }
            (_, true) => format!("a whole number of {unit} ({range})"),
            (_, false) => format!("a number of {unit} ({range})"),
        }
    }

    /// The message for a number outside the range (or not whole, for a count).
    pub fn out_of_range(self, value: f64) -> String {
        format!("expected {}, got {}", self.expected(), plain_number(value))
    }
}

/// A number as a reader writes it: `130`, `2.5`, `1e13` (not `10000000000000`).
pub fn plain_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 || (magnitude > 0.0 && magnitude < 1e-3) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Reads a JSON number into a bounded type; any other JSON value is refused naming the quantity.
pub struct NumberVisitor<T> {
    pub quantity: Quantity,
    pub build: fn(f64) -> Result<T, String>,
}

impl<T> serde::de::Visitor<'_> for NumberVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.quantity.expected())
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<T, E> {
        (self.build)(value).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<T, E> {
        self.visit_f64(value as f64)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<T, E> {
        self.visit_f64(value as f64)
    }
}

/// Declares a real number with a physical range. Deserialising a value outside the range, or
/// a value that is not a number, fails with a message naming the quantity, its unit and range
/// (`expected a number of cells (1 to 1e13), got the text "20 million"`); the OpenAPI schema
/// carries the same bounds.
macro_rules! bounded_real {
    ($(#[$meta:meta])* $name:ident, $min:literal ..= $max:literal, $unit:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
        #[serde(into = "f64")]
        pub struct $name(f64);

        impl $name {
            /// The value in its unit.
            pub const fn get(self) -> f64 {
                self.0
            }

            const QUANTITY: $crate::scoring::input_types::Quantity =
                $crate::scoring::input_types::Quantity { unit: $unit, min: $min, max: $max, whole: false };
        }

        impl TryFrom<f64> for $name {
            type Error = String;

            fn try_from(value: f64) -> Result<Self, String> {
                if value.is_finite() && ($min..=$max).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(Self::QUANTITY.out_of_range(value))
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_f64($crate::scoring::input_types::NumberVisitor {
                    quantity: Self::QUANTITY,
                    build: Self::try_from,
                })
            }
        }

        impl From<$name> for f64 {
            fn from(value: $name) -> f64 {
                value.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Number)
                    .minimum(Some($min))
                    .maximum(Some($max))
                    .description(Some(concat!("A number from ", $min, " to ", $max, " ", $unit, ".")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use bounded_real;

/// Declares a whole number with a physical range, like [`bounded_real`].
macro_rules! bounded_count {
    ($(#[$meta:meta])* $name:ident, $min:literal ..= $max:literal, $unit:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
        #[serde(into = "u32")]
        pub struct $name(u32);

        impl $name {
            /// The count.
            pub const fn get(self) -> u32 {
                self.0
            }

            const QUANTITY: $crate::scoring::input_types::Quantity = $crate::scoring::input_types::Quantity {
                unit: $unit,
                min: $min as f64,
                max: $max as f64,
                whole: true,
            };
        }

        impl TryFrom<f64> for $name {
            type Error = String;

            // JSON numbers are read as f64 so that 2.5 is rejected with the range, not a type name.
            fn try_from(value: f64) -> Result<Self, String> {
                if value.fract() == 0.0 && ($min as f64..=$max as f64).contains(&value) {
                    Ok(Self(value as u32))
                } else {
                    Err(Self::QUANTITY.out_of_range(value))
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_f64($crate::scoring::input_types::NumberVisitor {
                    quantity: Self::QUANTITY,
                    build: Self::try_from,
                })
            }
        }

        impl From<$name> for u32 {
            fn from(value: $name) -> u32 {
                value.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .minimum(Some($min))
                    .maximum(Some($max))
                    .description(Some(concat!("A whole number from ", $min, " to ", $max, " ", $unit, ".")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use bounded_count;

/// Longest free-text label accepted.
const LABEL_MAX_CHARS: usize = 200;

/// The rules `Label` enforces, as a schema pattern: no control characters (Unicode category
/// Cc), no bidirectional controls, and at least one character that is not blank.
const LABEL_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$";

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069). They reorder
/// the text displayed after them, so a label holding one can read as something it is not (a
/// program name shown reversed, a file name with a false extension). They are format characters
/// (Unicode category Cf), which `char::is_control` does not catch.
pub fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why free text is refused for the characters it holds, if it is.
pub fn forbidden_characters(text: &str) -> Option<&'static str> {
    // Printable ASCII, nearly every text a profile holds, has neither; the checks below decode
    // every character twice (1.7 % of `POST /v1/score`'s CPU before this).
    if text.bytes().all(|byte| matches!(byte, b' '..=b'~')) {
        return None;
    }
    if text.chars().any(char::is_control) {
        Some("text must not contain control characters")
    } else if text.chars().any(is_bidi_control) {
        Some(
            "text must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069): they reorder how the text is displayed",
        )
    } else {
        None
    }
}

/// A short free-text label (1 to 200 characters, no control characters). Free text is shown
/// back to the user but never scored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Label {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > LABEL_MAX_CHARS {
            Err(format!(
                "text of {chars} characters is out of range: allowed 1 to {LABEL_MAX_CHARS} characters, not only blanks"
            ))
        } else if let Some(reason) = forbidden_characters(&text) {
            Err(reason.to_owned())
        } else {
            Ok(Self(text))
        }
    }
}

impl From<Label> for String {
    fn from(label: Label) -> String {
        label.0
    }
}

impl utoipa::PartialSchema for Label {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(LABEL_MAX_CHARS))
            .pattern(Some(LABEL_PATTERN))
            .description(Some(
                "Free text of 1 to 200 characters, not only blanks, without control characters or bidirectional controls (U+202A-U+202E, U+2066-U+2069); shown back, never scored.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Label {}
