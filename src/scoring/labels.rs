//! A readable label for every value of the enums a person sees in results, lists and exports, so
//! that the dashboard, the report and the exports never show a wire name such as `phase1_2`.
//!
//! Each value's description is its doc comment; the label is either the description's first
//! phrase (for values whose description names them, `A Phase 1/2 trial.` → `Phase 1/2 trial`) or
//! the wire name in words (for plain words such as `caution`, whose description explains them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::document::{Effort, EvidenceRole, Maturity, Severity, VerificationStatus, WarningCode};
use super::factors::Barrier;
use super::profile::{DevelopmentStage, Indication, Route, TissueSource};
use super::readiness::Stream;

/// One enum value with its label and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValueLabel {
    /// The value as the API writes it.
    #[schema(example = "phase1_2")]
    pub value: String,
    /// A short readable label.
    #[schema(example = "Phase 1/2 trial")]
    pub label: String,
    /// What the value means.
    #[schema(example = "A Phase 1/2 trial.")]
    pub description: String,
}

/// The schema name of each labelled enum in the OpenAPI document, by the field that carries it.
pub const SCHEMA_NAMES: [(&str, &str); 13] = [
    ("indication", "Indication"),
    ("stage", "DevelopmentStage"),
    ("tissue_source", "TissueSource"),
    ("route", "Route"),
    ("barrier", "Barrier"),
    ("band", "Band"),
    ("severity", "Severity"),
    ("warning", "WarningCode"),
    ("verification_status", "VerificationStatus"),
    ("evidence_role", "EvidenceRole"),
    ("maturity", "Maturity"),
    ("effort", "Effort"),
    ("stream", "Stream"),
];

/// How a label is made from a value.
#[derive(Clone, Copy)]
enum LabelFrom {
    /// The first phrase of the description.
    Description,
    /// The wire name in words.
    WireName,
}

/// Each value's wire name with its description.
type Described = &'static [(&'static str, &'static str)];

/// The bands of a score (`Band` is not a categorical input, so it is described here).
const BANDS: Described = &[
    ("critical", "Below 25: a barrier that blocks translation."),
    ("weak", "25 to below 50."),
    ("moderate", "50 to below 75."),
    ("strong", "75 and above."),
    ("unknown", "Nothing is known about the barrier."),
];

/// The labels of every enum, keyed by the field name the API uses for it.
pub fn all() -> BTreeMap<String, Vec<ValueLabel>> {
    use LabelFrom::{Description, WireName};
    let tables: [(&str, Described, LabelFrom); 13] = [
        ("indication", Indication::DESCRIBED, Description),
        ("stage", DevelopmentStage::DESCRIBED, Description),
        ("tissue_source", TissueSource::DESCRIBED, Description),
        ("route", Route::DESCRIBED, Description),
        ("barrier", Barrier::DESCRIBED, WireName),
        ("band", BANDS, WireName),
        ("severity", Severity::DESCRIBED, WireName),
        ("warning", WarningCode::DESCRIBED, Description),
        ("verification_status", VerificationStatus::DESCRIBED, WireName),
        ("evidence_role", EvidenceRole::DESCRIBED, WireName),
        ("maturity", Maturity::DESCRIBED, WireName),
        ("effort", Effort::DESCRIBED, WireName),
        ("stream", Stream::DESCRIBED, Description),
    ];
    tables
        .into_iter()
        .map(|(field, values, from)| {
            let labels = values
                .iter()
                .map(|(wire, description)| {
                    // Backticks mark code in the doc comments; a reader sees plain text.
                    let description =
                        description.split_whitespace().collect::<Vec<_>>().join(" ").replace('`', "");
                    let label = match from {
                        Description => first_phrase(&description),
                        WireName => in_words(wire),
                    };
                    ValueLabel { value: (*wire).to_owned(), label, description }
                })
                .collect();
            (field.to_owned(), labels)
        })
        .collect()
}

/// `Intravenous infusion.` → `Intravenous infusion`; `A Phase 3 (pivotal) trial.` → `Phase 3
/// trial`... up to the first full stop, colon, semicolon or parenthesis, without a leading article.
fn first_phrase(description: &str) -> String {
    let end = [". ", ";", ":", " (", " ["]
        .iter()
        .filter_map(|stop| description.find(stop))
        .min()
        .unwrap_or(description.len());
    let phrase = description[..end].trim().trim_end_matches('.');
    let phrase = phrase.strip_prefix("A ").or_else(|| phrase.strip_prefix("An ")).unwrap_or(phrase);
    capitalised(phrase)
}

/// `established_preclinical` → `Established preclinical`.
fn in_words(wire: &str) -> String {
    capitalised(&wire.replace('_', " "))
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    characters.next().map_or_else(String::new, |first| first.to_uppercase().chain(characters).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label_of(field: &str, value: &str) -> String {
        let labels = all();
        let found = labels[field].iter().find(|label| label.value == value);
        found.map(|label| label.label.clone()).unwrap_or_default()
    }

    #[test]
    fn labels_read_as_words_not_wire_names() {
        assert_eq!(label_of("stage", "phase1_2"), "Phase 1/2 trial");
        assert_eq!(label_of("indication", "als"), "Amyotrophic lateral sclerosis");
        assert_eq!(label_of("indication", "gvhd_acute"), "Acute graft-versus-host disease");
        assert_eq!(label_of("verification_status", "seed_asserted"), "Seed asserted");
        assert_eq!(label_of("band", "critical"), "Critical");
        assert_eq!(label_of("stream", "cmc"), "CMC / manufacturing");
    }

    #[test]
    fn every_value_of_every_enum_has_a_label_and_a_description() {
        for (field, values) in all() {
            assert!(!values.is_empty(), "{field}");
            for value in values {
                assert!(!value.label.is_empty() && !value.label.contains('_'), "{field}.{}", value.value);
                assert!(!value.description.is_empty(), "{field}.{}", value.value);
                assert!(!value.description.contains('`'), "{field}.{}: no code marks", value.value);
            }
        }
        assert_eq!(all()["indication"].len(), Indication::ALL.len());
        let mut fields: Vec<&str> = SCHEMA_NAMES.iter().map(|(field, _)| *field).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            all().keys().map(String::as_str).collect::<Vec<_>>(),
            "every labelled enum has its schema"
        );
        for (wire, _) in BANDS {
            let band = serde_json::from_value::<crate::scoring::Band>(serde_json::json!(wire));
            assert!(band.is_ok(), "{wire} is a band");
        }
    }
}
