//! The input schema: unknown names and impossible values are rejected with the field path,
//! unknown is distinct from "no", and wire names are the same everywhere.

use serde_json::json;

use super::profile;
use crate::scoring::profile::*;
use crate::scoring::{ProfileErrors, REFERENCE_PROGRAMS, parse_profile};

/// The one error of a profile with one invalid field.
fn rejection(json: &str) -> ProfileError {
    let ProfileErrors(errors) = parse_profile(json.as_bytes()).expect_err("profile is rejected");
    let [error] = <[ProfileError; 1]>::try_from(errors).unwrap_or_else(|errors| panic!("{json}: {errors:?}"));
    error
}

#[test]
fn every_reference_program_parses() {
    for (name, json) in REFERENCE_PROGRAMS {
        assert!(parse_profile(json.as_bytes()).is_ok(), "{name}");
    }
    assert!(REFERENCE_PROGRAMS.len() >= 8);
}

#[test]
fn unknown_field_names_are_rejected_with_their_path() {
    for (json, field) in [
        (r#"{"programme": {}}"#, "programme"),
        (r#"{"delivery": {"rout": "intravenous"}}"#, "delivery.rout"),
        (
            r#"{"quality": {"potency_assays": [{"analyte": "ido"}, {"analite": "ido"}]}}"#,
            "quality.potency_assays[1].analite",
        ),
        (
            r#"{"manufacturing": {"genetic_modification": {"type": "lentiviral"}}}"#,
            "manufacturing.genetic_modification.type",
        ),
    ] {
        let error = rejection(json);
        assert_eq!(error.field, field, "{json}");
        assert!(error.message.contains("unknown field"), "{}", error.message);
    }
}

#[test]
fn out_of_range_numbers_are_rejected_with_their_path_unit_and_range() {
    for (json, field, message) in [
        (
            r#"{"quality": {"viability_at_release_pct": 130}}"#,
            "quality.viability_at_release_pct",
            "expected a percentage (0 to 100), got 130",
        ),
        (
            r#"{"quality": {"release_criteria": {"viability_min_pct": -1}}}"#,
            "quality.release_criteria.viability_min_pct",
            "expected a percentage (0 to 100), got -1",
        ),
        (
            r#"{"delivery": {"dose_cells": -5}}"#,
            "delivery.dose_cells",
            "expected a number of cells (1 to 1e13), got -5",
        ),
        (
            r#"{"delivery": {"n_doses": 0}}"#,
            "delivery.n_doses",
            "expected a whole number of doses (1 to 1e6), got 0",
        ),
        (
            r#"{"manufacturing": {"passage_at_release": 2.5}}"#,
            "manufacturing.passage_at_release",
            "expected a whole number of passages (0 to 100), got 2.5",
        ),
        (
            r#"{"program": {"indication_detail": {"pfirrmann_grade": 6}}}"#,
            "program.indication_detail.pfirrmann_grade",
            "expected a Pfirrmann grade (whole number 1 to 5), got 6",
        ),
        (
            r#"{"cell_source": {"donor_age_years": 150}}"#,
            "cell_source.donor_age_years",
            "expected a number of years (0 to 120), got 150",
        ),
        (
            r#"{"clinical": {"ltfu_safety_years": -0.5}}"#,
            "clinical.ltfu_safety_years",
            "expected a number of years (0 to 50), got -0.5",
        ),
        (
            r#"{"manufacturing": {"estimated_cogs_per_dose_usd": -1}}"#,
            "manufacturing.estimated_cogs_per_dose_usd",
            "expected an amount in USD (0 to 1e9), got -1",
        ),
    ] {
        let error = rejection(json);
        assert_eq!(error.field, field, "{json}");
        assert_eq!(error.message, message, "{json}");
    }
}

#[test]
fn unknown_values_and_unsupported_versions_are_rejected_naming_the_allowed_ones() {
    let error = rejection(r#"{"delivery": {"route": "oral"}}"#);
    assert_eq!(error.field, "delivery.route");
    assert!(error.message.contains("`intradiscal`"), "{}", error.message);

    let error = rejection(r#"{"profile_version": "3"}"#);
    assert_eq!(error.field, "profile_version");
    assert_eq!(error.message, "unknown value `3`; allowed: `1`, `2`");

    let error = rejection(r#"{"manufacturing": {"preconditioning": ["hypoxia", "cold"]}}"#);
    assert_eq!(error.field, "manufacturing.preconditioning[1]");
}

#[test]
fn malformed_documents_are_rejected_at_the_root_without_panicking() {
    for json in ["", "nope", "{} x", "[]", "{\"program\": 3}", "\u{0}"] {
        let error = rejection(json);
        assert!(!error.message.is_empty());
        assert!(error.to_string().contains(&error.message));
    }
    assert_eq!(rejection("{} x").field, "");
}

#[test]
fn free_text_is_bounded_and_free_of_control_characters() {
    assert_eq!(rejection(r#"{"program": {"name": ""}}"#).field, "program.name");
    assert_eq!(rejection(r#"{"program": {"name": "a\u0000b"}}"#).field, "program.name");
    let long = "x".repeat(201);
    assert_eq!(rejection(&format!(r#"{{"program": {{"name": "{long}"}}}}"#)).field, "program.name");
}

#[test]
fn omitted_and_null_mean_unknown_and_an_empty_list_means_none() {
    let empty = profile(json!({}));
    assert_eq!(empty, Profile::default());
    let nulls = profile(json!({"program": null, "delivery": {"route": null, "carrier": null}}));
    assert_eq!(nulls.delivery.as_ref().and_then(|d| d.route), None);
    assert_eq!(nulls.program, None);
    let none_done = profile(json!({"manufacturing": {"preconditioning": []}}));
    assert_eq!(none_done.manufacturing.and_then(|m| m.preconditioning), Some(Vec::new()));
}

#[test]
fn the_summary_holds_the_wire_names() {
    let summary = profile(json!({
        "program": {"indication": "intervertebral_disc_degeneration", "stage": "phase1_2"},
        "cell_source": {"tissue_source": "umbilical_cord"},
        "delivery": {"route": "intra_articular"}
    }))
    .summary();
    assert_eq!(
        summary,
        ProfileSummary {
            indication: Some("intervertebral_disc_degeneration"),
            stage: Some("phase1_2"),
            tissue_source: Some("umbilical_cord"),
            route: Some("intra_articular"),
        }
    );
    assert_eq!(Profile::default().summary(), ProfileSummary::default());
}

/// Every categorical input serialises to its `as_str` name, and that name is snake_case.
#[test]
fn wire_names_agree_with_serde_and_are_snake_case() {
    fn check<T: serde::Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
        for value in all {
            let wire = name(*value);
            assert_eq!(serde_json::to_string(value).expect("serialises"), format!("\"{wire}\""));
            assert!(wire.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{wire}");
        }
    }
    check(Indication::ALL, Indication::as_str);
    check(Mechanism::ALL, Mechanism::as_str);
    check(ProductClass::ALL, ProductClass::as_str);
    check(DevelopmentStage::ALL, DevelopmentStage::as_str);
    check(TissueSource::ALL, TissueSource::as_str);
    check(DonorType::ALL, DonorType::as_str);
    check(CellBank::ALL, CellBank::as_str);
    check(HlaMatching::ALL, HlaMatching::as_str);
    check(CultureMedia::ALL, CultureMedia::as_str);
    check(CultureFormat::ALL, CultureFormat::as_str);
    check(CultureOxygen::ALL, CultureOxygen::as_str);
    check(Substrate::ALL, Substrate::as_str);
    check(Preconditioning::ALL, Preconditioning::as_str);
    check(ModificationKind::ALL, ModificationKind::as_str);
    check(GeneTarget::ALL, GeneTarget::as_str);
    check(SafetySwitch::ALL, SafetySwitch::as_str);
    check(GmpStatus::ALL, GmpStatus::as_str);
    check(AutomationLevel::ALL, AutomationLevel::as_str);
    check(PotencyAnalyte::ALL, PotencyAnalyte::as_str);
    check(AssayStage::ALL, AssayStage::as_str);
    check(Presentation::ALL, Presentation::as_str);
    check(Route::ALL, Route::as_str);
    check(Carrier::ALL, Carrier::as_str);
    check(RetentionAdjunct::ALL, RetentionAdjunct::as_str);
    check(DoseRationale::ALL, DoseRationale::as_str);
    check(ProcedureSafetyMeasure::ALL, ProcedureSafetyMeasure::as_str);
    check(DiseaseRelevance::ALL, DiseaseRelevance::as_str);
    check(SurvivalEvidence::ALL, SurvivalEvidence::as_str);
    check(BiodistributionEvidence::ALL, BiodistributionEvidence::as_str);
    check(GeneticStabilityTest::ALL, GeneticStabilityTest::as_str);
    check(TumorigenicityStudy::ALL, TumorigenicityStudy::as_str);
    check(TrialPhase::ALL, TrialPhase::as_str);
    check(Prom::ALL, Prom::as_str);
    check(StructuralEndpoint::ALL, StructuralEndpoint::as_str);
    check(ControlArm::ALL, ControlArm::as_str);
    check(Blinding::ALL, Blinding::as_str);
    check(PatientSelection::ALL, PatientSelection::as_str);
    check(ImmunogenicityMonitoring::ALL, ImmunogenicityMonitoring::as_str);
    check(PivotalResult::ALL, PivotalResult::as_str);
    check(Regulator::ALL, Regulator::as_str);
    check(ClassificationStatus::ALL, ClassificationStatus::as_str);
    check(RegulatoryInteraction::ALL, RegulatoryInteraction::as_str);
    check(RegulatoryStatus::ALL, RegulatoryStatus::as_str);
    check(Designation::ALL, Designation::as_str);
    check(CmcDocumentation::ALL, CmcDocumentation::as_str);
    check(EvidenceLevel::ALL, EvidenceLevel::as_str);
    check(crate::scoring::Barrier::ALL, crate::scoring::Barrier::as_str);
}

#[test]
fn a_profile_round_trips_through_json() {
    for (_, json) in REFERENCE_PROGRAMS {
        let parsed = parse_profile(json.as_bytes()).expect("parses");
        let again = serde_json::to_vec(&parsed).expect("serialises");
        assert_eq!(parse_profile(&again).expect("parses again"), parsed);
    }
}
