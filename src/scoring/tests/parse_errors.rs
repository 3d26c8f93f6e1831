//! The error collector: every invalid field of a document at once, each with its full path and a
//! reason in plain words.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::scoring::parse_errors::{InvalidField, MAX_ERRORS, deserialize_all, sort_in_document_order};
use crate::scoring::profile::{Indication, Profile};
use crate::scoring::{ProfileError, ProfileErrors, parse_profile};

/// A request wrapping a profile, as the scoring endpoints read it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreRequest {
    #[allow(dead_code)]
    profile: Profile,
}

/// A request with required fields at several depths, and a date.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Submission {
    profile: Section,
    count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Section {
    program: Program,
    as_of: Option<chrono::NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Program {
    indication: Indication,
    name: String,
}

/// Every error of `document`, as (field, message), in the order the fields are written.
fn errors_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> Vec<(String, String)> {
    let document: Value = serde_json::from_str(json).expect("test documents are JSON");
    let mut errors = deserialize_all::<T>(&document).expect_err("the document is rejected");
    sort_in_document_order(&mut errors, json.as_bytes());
    errors.into_iter().map(|InvalidField { field, message }| (field, message)).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(field, message)| ((*field).to_owned(), (*message).to_owned())).collect()
}

#[test]
fn three_wrong_fields_in_different_sections_are_three_errors_with_full_paths_in_document_order() {
    // Written out of alphabetical order: serde meets keys sorted, the client wrote them like this.
    let json = r#"{"profile": {
        "quality": {"viability_at_release_pct": 130},
        "manufacturing": {"cells_per_lot": "20 million"},
        "delivery": {"route": "intravenus"}
    }}"#;

    let errors = errors_of::<ScoreRequest>(json);

    assert_eq!(
        errors,
        pairs(&[
            ("profile.quality.viability_at_release_pct", "expected a percentage (0 to 100), got 130"),
            (
                "profile.manufacturing.cells_per_lot",
                r#"expected a number of cells (1 to 1e13), got the text "20 million""#
            ),
            (
                "profile.delivery.route",
                "unknown value `intravenus` (did you mean `intravenous`?); allowed: `intravenous`, \
                 `intra_arterial`, `intradiscal`, `intra_articular`, `intramyocardial`, \
                 `endomyocardial_catheter`, `intracoronary`, `intrathecal`, `intramuscular`, `intranasal`, \
                 `local_perilesional_injection`, `surgical_implantation_with_scaffold`, `inhaled_aerosol`, \
                 `intratracheal`, `intraparenchymal_cns`, `topical`",
            ),
        ])
    );
}

#[test]
fn a_missing_required_field_is_named_by_its_full_path() {
    let errors = errors_of::<Submission>(r#"{"profile": {"program": {"name": "Disc"}}, "count": 1}"#);

    assert_eq!(errors, pairs(&[("profile.program.indication", "this field is required")]));

    let errors =
        errors_of::<Submission>(r#"{"profile": {"program": {"indication": "als", "name": "Disc"}}}"#);
    assert_eq!(errors, pairs(&[("count", "this field is required")]));
}

#[test]
fn a_required_field_with_a_wrong_value_is_reported_once_and_the_rest_is_still_checked() {
    // Taking `indication` out leaves it missing, then `program`, then `profile`: none is reported
    // again, and `count`, after them in the document, is still read.
    let errors = errors_of::<Submission>(
        r#"{"profile": {"program": {"indication": 5, "name": "Disc"}, "as_of": "2025-02-30"}, "count": "many"}"#,
    );

    assert_eq!(
        errors,
        pairs(&[
            (
                "profile.program.indication",
                "expected one of `intervertebral_disc_degeneration`, `gvhd_acute`, `gvhd_chronic`, \
                 `crohns_perianal_fistula`, `osteoarthritis_knee`, `cartilage_defect`, `rheumatoid_arthritis`, \
                 `myocardial_infarction`, `heart_failure_ischemic`, `heart_failure_nonischemic`, \
                 `critical_limb_ischemia`, `ischemic_stroke`, `spinal_cord_injury`, `als`, `ms`, \
                 `ards_covid`, `copd`, `ipf`, `bronchopulmonary_dysplasia`, `sle`, `ibd`, `other`, got the number 5",
            ),
            (
                "profile.as_of",
                r#""2025-02-30" is not a date in the calendar (a day, month or year out of range)"#
            ),
            ("count", r#"expected a whole number, got the text "many""#),
        ])
    );
}

#[test]
fn serde_wording_is_rewritten_in_plain_words() {
    for (json, field, message) in [
        (
            r#"{"delivery": {"dose_cells": "20 million"}}"#,
            "delivery.dose_cells",
            r#"expected a number of cells (1 to 1e13), got the text "20 million""#,
        ),
        (
            r#"{"delivery": {"n_doses": true}}"#,
            "delivery.n_doses",
            "expected a whole number of doses (1 to 1e6), got true",
        ),
        (r#"{"program": {"name": 5}}"#, "program.name", "expected text, got the number 5"),
        (
            r#"{"quality": {"isct_identity_testing": "yes"}}"#,
            "quality.isct_identity_testing",
            r#"expected true or false, got the text "yes""#,
        ),
        (r#"{"program": ["Disc"]}"#, "program", "expected an object, got a list"),
        (r#"{"cell_source": [1, 2]}"#, "cell_source", "expected an object, got a list"),
        (r#"{"clinical": {"proms": "odi"}}"#, "clinical.proms", r#"expected a list, got the text "odi""#),
        (r#"{"clinical": {"proms": {"odi": true}}}"#, "clinical.proms", "expected a list, got an object"),
        (
            r#"{"delivery": {"route": 3}}"#,
            "delivery.route",
            "expected one of `intravenous`, `intra_arterial`, `intradiscal`, `intra_articular`, `intramyocardial`, `endomyocardial_catheter`, `intracoronary`, `intrathecal`, `intramuscular`, `intranasal`, `local_perilesional_injection`, `surgical_implantation_with_scaffold`, `inhaled_aerosol`, `intratracheal`, `intraparenchymal_cns`, `topical`, got the number 3",
        ),
        (
            r#"{"delivery": {"rout": "intradiscal"}}"#,
            "delivery.rout",
            "unknown field `rout` (did you mean `route`?)",
        ),
        (
            r#"{"program": {"stage": "phase_2"}}"#,
            "program.stage",
            "unknown value `phase_2`; allowed: `discovery`, `preclinical`, `phase1`, `phase1_2`, `phase2`, \
             `phase3`, `marketing_application`, `marketed`",
        ),
        (
            r#"{"formulation": {"shelf_life": 12}}"#,
            "formulation.shelf_life",
            "unknown field `shelf_life`; allowed: `presentation`, `stability_data`, `shelf_life_days`, `evidence_level`, `sources`",
        ),
        (
            r#"{"program": {"indication_detail": {"pfirrmann_grade": 6}}}"#,
            "program.indication_detail.pfirrmann_grade",
            "expected a Pfirrmann grade (whole number 1 to 5), got 6",
        ),
        (r#"{"profile_version": 1}"#, "profile_version", "expected one of `1`, `2`, got the number 1"),
        ("[]", "", "expected an object, got a list"),
    ] {
        let errors = errors_of::<Profile>(json);
        assert_eq!(errors, pairs(&[(field, message)]), "{json}");
    }

    let errors = errors_of::<Submission>(r#"{"profile": null, "count": 1}"#);
    assert_eq!(errors, pairs(&[("profile", "expected an object, got null")]));
    let errors = errors_of::<Submission>(
        r#"{"profile": {"program": {"indication": "als", "name": "x"}, "as_of": "1 March"}, "count": 1}"#,
    );
    assert_eq!(errors, pairs(&[("profile.as_of", r#""1 March" is not a date written as YYYY-MM-DD"#)]));
}

#[test]
fn errors_in_lists_keep_the_index_the_client_sent() {
    // Each invalid item is taken out before the next try; the indices stay those of the request.
    let errors = errors_of::<Profile>(
        r#"{"manufacturing": {"preconditioning": ["hypoxia", "cold", 3, "ifn_gamma", "heat"]},
            "quality": {"potency_assays": [{"analite": "ido"}, {"stage": "final"}, {"quantitative": 1}]}}"#,
    );

    let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "manufacturing.preconditioning[1]",
            "manufacturing.preconditioning[2]",
            "manufacturing.preconditioning[4]",
            "quality.potency_assays[0].analite",
            "quality.potency_assays[1].stage",
            "quality.potency_assays[2].quantitative",
        ]
    );
    assert!(errors[1].1.ends_with("got the number 3"), "{errors:?}");
    assert!(errors[2].1.starts_with("unknown value `heat`"), "{errors:?}");
}

#[test]
fn long_client_text_is_cut_when_quoted_back() {
    let long = "x".repeat(500);
    let errors = errors_of::<Profile>(&format!(r#"{{"delivery": {{"dose_cells": "{long}"}}}}"#));

    assert_eq!(errors.len(), 1);
    assert!(errors[0].1.ends_with(&format!("got the text \"{}…\"", "x".repeat(40))), "{errors:?}");
}

#[test]
fn at_most_the_limit_of_errors_is_reported() {
    let fields: serde_json::Map<String, Value> =
        (0..MAX_ERRORS + 20).map(|index| (format!("unknown_{index:03}"), json!(index))).collect();

    let errors = deserialize_all::<Profile>(&Value::Object(fields)).expect_err("rejected");

    assert_eq!(errors.len(), MAX_ERRORS);
}

#[test]
fn a_valid_document_parses_as_before() {
    let document =
        json!({"program": {"indication": "als"}, "manufacturing": {"preconditioning": ["hypoxia"]}});

    let profile = deserialize_all::<Profile>(&document).expect("valid");

    assert_eq!(profile.program.and_then(|program| program.indication), Some(Indication::Als));
}

#[test]
fn parse_profile_reports_every_error_in_document_order() {
    let json = br#"{"regulatory": {"status": "approved_ish"}, "delivery": {"dose_cells": "6 million"}, "cell_source": {"donor_age_years": 150}}"#;

    let ProfileErrors(errors) = parse_profile(json).expect_err("rejected");

    let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(fields, ["regulatory.status", "delivery.dose_cells", "cell_source.donor_age_years"]);
    let shown = ProfileErrors(errors.clone()).to_string();
    assert!(
        shown.starts_with("3 invalid fields: regulatory.status: unknown value `approved_ish`"),
        "{shown}"
    );
    assert_eq!(
        ProfileErrors(vec![ProfileError { field: String::new(), message: "m".into() }]).to_string(),
        "profile: m"
    );
}

#[test]
fn a_missing_field_is_ordered_where_its_object_ends() {
    let json = r#"{"count": "x", "profile": {"program": {"name": "Disc"}, "as_of": "soon"}}"#;

    let fields: Vec<String> = errors_of::<Submission>(json).into_iter().map(|(field, _)| field).collect();

    assert_eq!(fields, ["count", "profile.program.indication", "profile.as_of"]);
}
