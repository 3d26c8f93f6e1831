//! Scoring behaviour: the research §11 worked examples, reference orderings, line items, caps,
//! unknowns, mitigations and warnings.

use serde_json::json;

use super::{barrier, profile, reference, tenths};
use crate::scoring::document::{BonusCode, CapCode, WarningCode};
use crate::scoring::{
    Assessment, Band, Barrier, BarrierAssessment, FactorCode, FactorState, Model, Profile, reference_programs,
};

fn assess(profile: &Profile) -> Assessment {
    Model::current().assess(profile)
}

fn assess_reference(name: &str) -> Assessment {
    assess(&reference(name))
}

fn caps(assessment: &Assessment, of: Barrier) -> Vec<CapCode> {
    barrier(assessment, of).caps.iter().map(|cap| cap.cap).collect()
}

fn factor(assessment: &Assessment, code: FactorCode) -> &crate::scoring::FactorAssessment {
    barrier(assessment, code.barrier()).factors.iter().find(|line| line.factor == code).expect("factor line")
}

/// Research §11: A is the early autologous intradiscal program, B the mature allogeneic one,
/// C is A delivered IV with the potency assay, control, blinding and regulator contact unknown.
#[test]
fn the_research_worked_examples_reproduce_in_direction() {
    let a = assess_reference("disc_early_academic");
    let b = assess_reference("disc_mature_allogeneic");
    let c = assess_reference("disc_early_intravenous_unknowns");

    assert!(b.overall.readiness_index - a.overall.readiness_index >= 40.0);
    assert!(c.overall.readiness_index < a.overall.readiness_index);
    assert_eq!(a.overall.limiting_barrier, Barrier::Survival);
    // Research §11 limits B by scalability; since model 2.0 the result of B's completed Phase 2,
    // which the research does not state, is a critical unknown of OM8 (its worst case), so
    // outcomes limits B until the result is stated.
    assert_eq!(b.overall.limiting_barrier, Barrier::Outcomes);
    assert_eq!(c.overall.limiting_barrier, Barrier::Retention);
    assert_eq!(a.overall.band, Band::Weak);
    assert_eq!(b.overall.band, Band::Strong);

    assert!(caps(&a, Barrier::Survival).contains(&CapCode::SurvivalUnmitigatedHostileMicroenvironment));
    assert!(caps(&a, Barrier::Variability).contains(&CapCode::VariabilityNoMoaLinkedPotencyAssay));
    assert!(caps(&c, Barrier::Retention).contains(&CapCode::RetentionRouteCannotReachTarget));
    assert!(barrier(&c, Barrier::Retention).score.is_some_and(|score| score <= 30.0));

    // The research pitfall: leaving the potency, control and blinding questions unanswered must
    // not score better than A's honest answers.
    for of in [Barrier::Variability, Barrier::Outcomes] {
        let (c_score, a_score) = (barrier(&c, of).score, barrier(&a, of).score);
        assert!(c_score.is_some() && c_score <= a_score, "{}", of.as_str());
    }
    // Research §11 table: A's survival is 23.3 [21.0..31.0] with coverage 0.90.
    let survival = barrier(&a, Barrier::Survival);
    assert_eq!(
        (survival.score, survival.pessimistic, survival.optimistic, survival.coverage),
        (Some(23.3), 21.0, 31.0, 0.9)
    );
}

/// Expected orderings of the reference programs, each for a stated reason.
#[test]
fn reference_programs_follow_their_documented_orderings() {
    let index = |name: &str| assess_reference(name).overall.readiness_index;
    let higher_than = [
        // Everything of B is better than A.
        ("disc_mature_allogeneic", "disc_early_academic"),
        // Unknown critical answers never beat honest ones.
        ("disc_early_academic", "disc_early_intravenous_unknowns"),
        // A preclinical start-up with no trial, tests or GMP yet sits below a clinical program.
        ("disc_early_academic", "disc_preclinical_startup"),
        // An approved product beats a withdrawn one and a failed pivotal program.
        ("gvhd_approved_pediatric", "crohns_fistula_failed_confirmatory"),
        ("gvhd_approved_pediatric", "als_failed_pivotal"),
        // Issue 14: the approved product is not below any Phase 2 program (since model 2.0, an
        // unstated efficacy result of a completed trial counts at its worst).
        ("gvhd_approved_pediatric", "knee_oa_allogeneic_phase2"),
        ("gvhd_approved_pediatric", "ards_umbilical_cord_phase2"),
        // A banked allogeneic, controlled, blinded Phase 2 beats an autologous program whose
        // pivotal trial failed without a mechanism-linked potency assay.
        ("knee_oa_allogeneic_phase2", "heart_failure_autologous_neutral"),
        ("knee_oa_allogeneic_phase2", "disc_early_academic"),
        // A well-specified randomised program beats one that leaves most questions open.
        ("ards_umbilical_cord_phase2", "stroke_mapc_intravenous"),
    ];
    for (higher, lower) in higher_than {
        assert!(index(higher) > index(lower), "{higher} should score above {lower}");
    }
    for failed in
        ["crohns_fistula_failed_confirmatory", "als_failed_pivotal", "heart_failure_autologous_neutral"]
    {
        let assessment = assess_reference(failed);
        assert!(
            caps(&assessment, Barrier::Regulatory).contains(&CapCode::RegulatoryPivotalFailureOrWithdrawal)
        );
        assert!(
            barrier(&assessment, Barrier::Regulatory).score.is_some_and(|score| score <= 50.0),
            "{failed}"
        );
    }
    assert!(assess_reference("disc_preclinical_startup").overall.unclear);
    assert!(assess_reference("stroke_mapc_intravenous").overall.unclear);
    assert!(!assess_reference("disc_mature_allogeneic").overall.unclear);
}

#[test]
fn every_barrier_line_adds_up_to_its_score_in_the_reference_programs() {
    for (name, profile) in reference_programs() {
        let assessment = assess(&profile);
        assert_eq!(assessment.barriers.iter().map(|b| b.barrier).collect::<Vec<_>>(), Barrier::ALL);
        for line in &assessment.barriers {
            let sum: i64 = line.factors.iter().map(|f| tenths(f.points)).sum::<i64>()
                + line.bonuses.iter().map(|b| tenths(b.points)).sum::<i64>()
                + line.caps.iter().map(|c| tenths(c.points)).sum::<i64>();
            assert_eq!(sum, tenths(line.score.unwrap_or(0.0)), "{name} {}", line.barrier.as_str());
        }
    }
}

#[test]
fn a_cap_is_its_own_line_removing_the_excess() {
    // Strong survival factors, but a severe disc and neither preconditioning nor carrier.
    let assessment = assess(&profile(json!({
        "program": {"indication": "intervertebral_disc_degeneration", "indication_detail": {"pfirrmann_grade": 4}},
        "cell_source": {"donor_age_years": 25},
        "manufacturing": {"passage_at_release": 3, "preconditioning": []},
        "quality": {"viability_at_release_pct": 95},
        "formulation": {"presentation": "fresh"},
        "delivery": {"route": "intradiscal", "carrier": "none_saline"},
        "nonclinical": {"survival_evidence": "clinical_imaging"}
    })));
    let survival = barrier(&assessment, Barrier::Survival);
    let factors: f64 = survival.factors.iter().map(|f| f.points).sum();
    assert_eq!(tenths(factors), 560);
    assert_eq!(survival.caps.len(), 1);
    assert_eq!(survival.caps[0].limit, 40.0);
    assert_eq!(tenths(survival.caps[0].points), -160);
    assert_eq!(survival.score, Some(40.0));

    // Hypoxic preconditioning lifts the cap.
    let mitigated = assess(&profile(json!({
        "program": {"indication": "intervertebral_disc_degeneration", "indication_detail": {"pfirrmann_grade": 4}},
        "manufacturing": {"preconditioning": ["hypoxia"]},
        "delivery": {"route": "intradiscal", "carrier": "none_saline"}
    })));
    assert!(barrier(&mitigated, Barrier::Survival).caps.is_empty());
}

#[test]
fn a_milder_disc_grade_makes_survival_mitigations_non_critical() {
    let profile_with = |grade: u32| {
        profile(json!({
            "program": {"indication": "intervertebral_disc_degeneration", "indication_detail": {"pfirrmann_grade": grade}},
            "delivery": {"route": "intradiscal"}
        }))
    };
    let severe = assess(&profile_with(3));
    let milder = assess(&profile_with(2));
    assert!(factor(&severe, FactorCode::Sv1).critical);
    assert!(!factor(&milder, FactorCode::Sv1).critical);
    assert!(!caps(&severe, Barrier::Survival).is_empty());
    assert!(caps(&milder, Barrier::Survival).is_empty());
    let hostility =
        |a: &Assessment| a.modifiers.iter().find(|m| m.modifier == "hostility").map(|m| m.value.clone());
    assert_eq!(hostility(&severe).as_deref(), Some("severe"));
    assert_eq!(hostility(&milder).as_deref(), Some("high"));
}

#[test]
fn critical_unknowns_count_as_worst_case_and_other_unknowns_widen_the_bounds() {
    let base = json!({
        "program": {"indication": "gvhd_acute"},
        "cell_source": {"donor_type": "allogeneic_pooled", "tissue_source": "bone_marrow"},
        "manufacturing": {"culture_media": "human_platelet_lysate", "process_changes": "unchanged_since_clinical_lots",
                          "lot_consistency": {"lots_characterised": 3, "potency_cv_within_limit": true}},
        "quality": {"potency_assays": [], "isct_identity_testing": false,
                    "release_criteria": {"viability_min_pct": 70, "sterility": true, "endotoxin": true,
                                         "mycoplasma": true, "identity": true, "karyotype": true, "potency": true}}
    });
    let honest_none = assess(&profile(base.clone()));
    let mut unknown = base.clone();
    unknown["quality"].as_object_mut().expect("object").remove("potency_assays");
    let unknown = assess(&profile(unknown));
    let va4 = factor(&unknown, FactorCode::Va4);
    assert_eq!((va4.state, va4.critical, va4.value), (FactorState::Unknown, true, Some(0.0)));
    assert_eq!(
        barrier(&unknown, Barrier::Variability).score,
        barrier(&honest_none, Barrier::Variability).score
    );

    // A non-critical unknown (culture media) leaves the point estimate to the known factors
    // and shows in coverage and the bounds.
    let mut with_assay = base.clone();
    with_assay["quality"]["potency_assays"] =
        json!([{"analyte": "ido", "quantitative": true, "stage": "qualified"}]);
    let mut media_unknown = with_assay.clone();
    media_unknown["manufacturing"].as_object_mut().expect("object").remove("culture_media");
    let with_assay = assess(&profile(with_assay));
    let media_unknown = assess(&profile(media_unknown));
    let known = barrier(&with_assay, Barrier::Variability);
    let open = barrier(&media_unknown, Barrier::Variability);
    assert_eq!(factor(&media_unknown, FactorCode::Va3).value, None);
    assert_eq!(factor(&media_unknown, FactorCode::Va3).points, 0.0);
    assert!(open.coverage < known.coverage);
    assert!(open.pessimistic < open.optimistic);
    assert_eq!(known.pessimistic, known.optimistic);
}

#[test]
fn not_applicable_factors_are_left_out_without_lowering_coverage() {
    let assessment = assess(&profile(json!({
        "program": {"indication": "gvhd_acute", "product_class": "culture_expanded_msc"},
        "cell_source": {"donor_age_years": 30},
        "manufacturing": {"preconditioning": [], "passage_at_release": 4},
        "quality": {"viability_at_release_pct": 90},
        "formulation": {"presentation": "fresh"},
        "delivery": {"route": "intravenous", "carrier": "hyaluronic_acid"},
        "nonclinical": {"survival_evidence": "none"}
    })));
    assert_eq!(factor(&assessment, FactorCode::Sv2).state, FactorState::NotApplicable);
    assert_eq!(factor(&assessment, FactorCode::Sf6).state, FactorState::NotApplicable);
    assert_eq!(factor(&assessment, FactorCode::Om2).state, FactorState::NotApplicable);
    assert_eq!(barrier(&assessment, Barrier::Survival).coverage, 1.0);
}

#[test]
fn nothing_known_about_a_barrier_makes_it_unknown_and_the_assessment_unclear() {
    let assessment = assess(&profile(json!({"program": {"indication": "ibd"}})));
    let scalability = barrier(&assessment, Barrier::Scalability);
    // Nothing known: no score at all (null), never a 0 that reads as the worst score; the bounds
    // still span what the unknowns allow.
    assert_eq!((scalability.band, scalability.score, scalability.coverage), (Band::Unknown, None, 0.0));
    assert_eq!(scalability.optimistic, 100.0);
    let mut json = serde_json::to_value(scalability).expect("serialises");
    assert_eq!(json["score"], serde_json::Value::Null);
    // A result stored before this change says 0 there: it reads back as stored, not as null.
    json["score"] = json!(0.0);
    let stored: BarrierAssessment = serde_json::from_value(json.clone()).expect("deserialises");
    assert_eq!((stored.score, serde_json::to_value(&stored).expect("serialises")), (Some(0.0), json));
    assert!(assessment.overall.unclear);
    assert!(assessment.overall.unclear_reasons.iter().any(|r| r.contains("scalability")));
    // Barriers with critical factors are always assessed, at their worst case.
    assert_eq!(barrier(&assessment, Barrier::Outcomes).band, Band::Critical);
}

#[test]
fn a_designation_adds_a_bonus_line() {
    let with = |designations: serde_json::Value| {
        assess(&profile(json!({
            "program": {"indication": "gvhd_acute"},
            "regulatory": {"classification_status": "assumed", "designations": designations}
        })))
    };
    let plain = with(json!([]));
    let designated = with(json!(["orphan"]));
    let regulatory = barrier(&designated, Barrier::Regulatory);
    assert_eq!(regulatory.bonuses.len(), 1);
    assert_eq!(regulatory.bonuses[0].bonus, BonusCode::RegulatoryDesignation);
    let plain = barrier(&plain, Barrier::Regulatory).score.expect("assessed");
    assert_eq!(regulatory.score.expect("assessed") - plain, 5.0);
}

#[test]
fn every_factor_line_explains_itself() {
    let assessment = assess_reference("disc_mature_allogeneic");
    for line in assessment.barriers.iter().flat_map(|b| &b.factors) {
        assert!(!line.evidence.is_empty(), "{}", line.factor.as_str());
        assert!(!line.rationale.is_empty());
        assert!(line.input.contains(" = "), "{}", line.input);
    }
    let rt1 = factor(&assessment, FactorCode::Rt1);
    assert_eq!((rt1.level.as_deref(), rt1.value), (Some("intradiscal"), Some(0.7)));
    let burdick = rt1.evidence.iter().find(|e| e.claim_id == "RT-01").expect("RT-01 cited");
    assert_eq!(burdick.citation.as_deref(), Some("Burdick et al., 2016"));
    let va5 = factor(&assessment, FactorCode::Va5);
    assert_eq!(va5.checklist.len(), 7);
}

#[test]
fn mitigations_are_ranked_by_the_gain_the_model_computes() {
    let assessment = assess_reference("disc_early_academic");
    assert!(assessment.mitigations.len() >= 10);
    // The roadmap to the next level first, then by gain.
    assert!(
        assessment.mitigations.iter().any(|m| m.on_roadmap)
            && assessment.mitigations.iter().any(|m| !m.on_roadmap)
    );
    for pair in assessment.mitigations.windows(2) {
        assert!(pair[0].on_roadmap >= pair[1].on_roadmap);
        if pair[0].on_roadmap == pair[1].on_roadmap {
            assert!(pair[0].readiness_gain >= pair[1].readiness_gain);
        }
    }
    let roadmap: Vec<&str> = assessment
        .readiness
        .roadmap
        .iter()
        .filter_map(|step| step.mitigation.as_ref())
        .map(|m| m.code.as_str())
        .collect();
    for mitigation in &assessment.mitigations {
        assert_eq!(mitigation.on_roadmap, roadmap.contains(&mitigation.id.as_str()), "{}", mitigation.id);
    }
    // A prerequisite not met: no pivotal-design agreement before first-in-human data.
    assert!(assessment.readiness.msc_trl < 6);
    assert!(assessment.mitigations.iter().all(|m| m.id != "pivotal_design_agreement"));
    let top = assessment
        .mitigations
        .iter()
        .max_by(|a, b| a.readiness_gain.total_cmp(&b.readiness_gain))
        .expect("one");
    assert!(top.readiness_gain > 0.0);
    assert_eq!(
        tenths(top.readiness_index_after - assessment.overall.readiness_index),
        tenths(top.readiness_gain)
    );
    // Hypoxic preconditioning lifts the survival cap of the disc program.
    let hypoxia = assessment.mitigations.iter().find(|m| m.id == "hypoxic_preconditioning").expect("offered");
    assert!(hypoxia.barrier_changes.iter().any(|c| c.barrier == Barrier::Survival && c.change > Some(0.0)));
    // Only weak factors get mitigations, and the roadmap's.
    for mitigation in &assessment.mitigations {
        let line = factor(&assessment, mitigation.factor);
        assert!(mitigation.on_roadmap || line.value.is_some_and(|value| value < 0.75), "{}", mitigation.id);
    }
}

#[test]
fn genetic_homing_engineering_shows_its_safety_trade_off() {
    let assessment = assess_reference("gvhd_approved_pediatric");
    let cxcr4 = assessment
        .mitigations
        .iter()
        .find(|m| m.id == "cxcr4_homing_engineering")
        .expect("offered for weak retention enhancement");
    let change =
        |of: Barrier| cxcr4.barrier_changes.iter().find(|c| c.barrier == of).map_or(Some(0.0), |c| c.change);
    assert!(change(Barrier::Retention) > Some(0.0));
    assert!(change(Barrier::Safety).is_some_and(|change| change < 0.0));
    assert!(cxcr4.tradeoff.is_some());
}

/// A deliberately weak program for every route and indication: every catalogue entry must be
/// offered somewhere, so no mitigation is unreachable data.
#[test]
fn every_mitigation_in_the_catalogue_is_offered_for_some_weak_program() {
    use crate::scoring::profile::{Indication, Route};
    let mut offered = std::collections::BTreeSet::new();
    for indication in Indication::ALL {
        for route in Route::ALL {
            let weak = profile(json!({
                "program": {"indication": indication.as_str(), "indication_detail": {"pfirrmann_grade": 4},
                            "product_class": "gene_modified_msc"},
                "cell_source": {"tissue_source": "placenta", "donor_type": "allogeneic_single_donor",
                                "donor_age_years": 70, "cell_bank": "none", "hla_matching": "none",
                                "donor_eligibility": "not_determined"},
                "manufacturing": {"culture_media": "fbs", "culture_format": "2d_flask", "culture_oxygen": "normoxic_21pct",
                                  "passage_at_release": 15, "preconditioning": [],
                                  "genetic_modification": {"kind": "lentiviral", "targets": ["other"], "safety_switch": "none",
                                                           "integration_site_analysis": false, "off_target_analysis": false},
                                  "gmp_status": "research_grade", "lot_consistency": {"lots_characterised": 0},
                                  "cells_per_lot": 1e10, "estimated_cogs_per_dose_usd": 100000, "automation_level": "manual_open",
                                  "process_changes": "changed_comparability_not_shown"},
                "quality": {"isct_identity_testing": false, "potency_assays": [], "viability_at_release_pct": 50,
                            "hemocompatibility": "not_assessed",
                            "release_criteria": {"viability_min_pct": 50, "sterility": false, "endotoxin": false, "mycoplasma": false,
                                                 "identity": false, "karyotype": false, "potency": false}},
                "formulation": {"presentation": "fresh", "stability_data": false},
                "delivery": {"route": route.as_str(), "carrier": "none_saline", "retention_adjuncts": [], "n_doses": 3,
                             "dose_rationale": "none", "procedure_safety_measures": []},
                "nonclinical": {"animal_models": [], "survival_evidence": "none", "biodistribution_evidence": "none",
                                "genetic_stability_tests": [], "tumorigenicity_study": "none", "glp_tox_biodistribution": false},
                "clinical": {"completed_phase": "none", "proms": [], "structural_endpoints": [], "mcid_prespecified": false,
                             "sample_size_powered": false, "control_arm": "none_single_arm", "blinding": "open_label",
                             "patient_selection": "none", "efficacy_follow_up_months": 3, "ltfu_safety_years": 0,
                             "immunogenicity_monitoring": []},
                "regulatory": {"target_regulators": ["fda"], "classification_status": "not_sought", "interactions": [],
                               "status": "none", "designations": [], "cmc_documentation": "none"}
            }));
            offered.extend(assess(&weak).mitigations.into_iter().map(|m| m.id.to_string()));
        }
    }
    // Mitigations with a readiness prerequisite are offered to programs that meet it: the ARDS
    // program (MSC-TRL 6) without any regulator meeting.
    let (_, ards) = crate::scoring::REFERENCE_PROGRAMS_V1
        .iter()
        .find(|(name, _)| *name == "ards_umbilical_cord_phase2")
        .expect("reference");
    let mut ards: serde_json::Value = serde_json::from_str(ards).expect("JSON");
    ards["regulatory"]["interactions"] = json!([]);
    let ards = assess(&profile(ards));
    assert!(ards.readiness.msc_trl >= 6);
    offered.extend(ards.mitigations.into_iter().map(|m| m.id.to_string()));
    for mitigation in &Model::current().document().mitigations {
        assert!(offered.contains(&mitigation.id), "{} is never offered", mitigation.id);
    }
}

#[test]
fn consistency_warnings_flag_contradictions_and_red_flags() {
    let warnings = |json: serde_json::Value| -> Vec<WarningCode> {
        assess(&profile(json)).warnings.into_iter().map(|w| w.warning).collect()
    };
    assert!(
        warnings(json!({
            "program": {"indication": "intervertebral_disc_degeneration"},
            "delivery": {"route": "intravenous"}
        }))
        .contains(&WarningCode::SystemicRouteForLocalTarget)
    );
    assert!(
        !warnings(json!({
            "program": {"indication": "gvhd_acute"},
            "delivery": {"route": "intravenous"}
        }))
        .contains(&WarningCode::SystemicRouteForLocalTarget)
    );
    assert!(
        warnings(json!({
            "program": {"indication": "gvhd_acute", "stage": "phase3"},
            "quality": {"potency_assays": [{"analyte": "other", "quantitative": true, "stage": "validated"}]}
        }))
        .contains(&WarningCode::LateStageWithoutMoaLinkedPotency)
    );
    assert!(
        !warnings(json!({
            "program": {"indication": "gvhd_acute", "stage": "phase3"},
            "quality": {"potency_assays": [{"analyte": "ido", "quantitative": true, "stage": "qualified"}]}
        }))
        .contains(&WarningCode::LateStageWithoutMoaLinkedPotency)
    );
    assert!(
        warnings(json!({
            "cell_source": {"donor_type": "allogeneic_pooled"},
            "delivery": {"n_doses": 4},
            "clinical": {"immunogenicity_monitoring": []}
        }))
        .contains(&WarningCode::AllogeneicRepeatDosingUnmonitored)
    );
    assert!(
        warnings(json!({"quality": {"release_criteria": {"viability_min_pct": 60}}}))
            .contains(&WarningCode::ViabilityBelowReleaseCriterion)
    );
    assert!(
        warnings(json!({"delivery": {"route": "intradiscal", "injection_volume_ml": 3.5}}))
            .contains(&WarningCode::IntradiscalVolumeAbovePrecedent)
    );
    assert!(
        warnings(json!({"program": {"product_class": "msc_secretome_or_ev"}}))
            .contains(&WarningCode::ProductClassOutsideCalibration)
    );
    assert!(warnings(json!({})).contains(&WarningCode::IndicationUnknown));
    assert!(assess_reference("disc_mature_allogeneic").warnings.is_empty());
}

#[test]
fn assessments_are_deterministic_and_round_trip() {
    for (name, profile) in reference_programs() {
        let first = serde_json::to_vec(&assess(&profile)).expect("serialises");
        let reparsed =
            super::super::parse_profile(&serde_json::to_vec(&profile).expect("serialises")).expect("parses");
        let second = serde_json::to_vec(&assess(&reparsed)).expect("serialises");
        assert_eq!(first, second, "{name}");
        let back: Assessment = serde_json::from_slice(&first).expect("deserialises");
        assert_eq!(back, assess(&profile), "{name}");
        let fresh = Model::load().expect("loads").assess(&profile);
        assert_eq!(serde_json::to_vec(&fresh).expect("serialises"), first, "{name}");
    }
}

/// Issue 14: a barrier is never `strong` or `moderate` on less than half of its weight known.
#[test]
fn a_barrier_scored_from_a_few_answers_is_at_most_weak() {
    let sparse = assess(&profile(json!({
        "program": {"indication": "intervertebral_disc_degeneration"},
        "manufacturing": {"gmp_status": "commercial", "automation_level": "closed_automated_with_inline_analytics"}
    })));
    let scalability = barrier(&sparse, Barrier::Scalability);
    assert!(scalability.score >= Some(75.0), "a high score from two answers: {:?}", scalability.score);
    assert!(scalability.coverage < 0.5, "{}", scalability.coverage);
    assert_eq!(scalability.band, crate::scoring::Band::Weak);
    // With most of its weight known, the same barrier keeps its band.
    let full = assess_reference("disc_mature_allogeneic");
    let known = barrier(&full, Barrier::Scalability);
    assert!(known.coverage >= 0.5 && known.score >= Some(75.0));
    assert_eq!(known.band, crate::scoring::Band::Strong);
}

/// Issue 14: explanations are worded per indication; no disc text in a knee assessment.
#[test]
fn rationales_speak_of_the_program_s_own_indication() {
    let knee = assess_reference("knee_oa_allogeneic_phase2");
    let disc = assess_reference("disc_early_academic");
    for code in [FactorCode::Sf4, FactorCode::Sf7, FactorCode::Om7] {
        let knee_line = factor(&knee, code);
        assert!(
            !knee_line.rationale.to_lowercase().contains("disc"),
            "{}: {}",
            code.as_str(),
            knee_line.rationale.as_str()
        );
        assert!(factor(&disc, code).rationale.to_lowercase().contains("disc"), "{}", code.as_str());
    }
}

/// Issue 15: a systemic disease or an indication whose approved product is IV meets IV without
/// the retention cap, the "systemic route for a local target" warning or advice to leave IV; a
/// local target still raises both.
#[test]
fn iv_fits_systemic_targets_and_spinal_cord_injury_but_not_a_local_target() {
    let iv = |indication: &str| {
        assess(&profile(json!({
            "program": {"indication": indication},
            "delivery": {"route": "intravenous"}
        })))
    };
    for indication in ["rheumatoid_arthritis", "sle", "ibd", "spinal_cord_injury", "gvhd_acute", "ms"] {
        let assessment = iv(indication);
        assert!(caps(&assessment, Barrier::Retention).is_empty(), "{indication}: retention capped");
        assert!(
            !assessment.warnings.iter().any(|w| w.warning == WarningCode::SystemicRouteForLocalTarget),
            "{indication}: systemic-route warning"
        );
        assert!(
            !assessment.mitigations.iter().any(|m| m.factor == FactorCode::Rt1),
            "{indication}: advised to leave IV"
        );
    }
    let knee = iv("osteoarthritis_knee");
    assert_eq!(caps(&knee, Barrier::Retention), [CapCode::RetentionRouteCannotReachTarget]);
    assert!(knee.warnings.iter().any(|w| w.warning == WarningCode::SystemicRouteForLocalTarget));
    // Spinal cord injury: the approved product's route scores above intrathecal.
    let rt1 = |route: &str| {
        let assessment = assess(&profile(json!({
            "program": {"indication": "spinal_cord_injury"},
            "delivery": {"route": route}
        })));
        factor(&assessment, FactorCode::Rt1).value.expect("RT1 is scored")
    };
    assert!(rt1("intravenous") > rt1("intrathecal"));
}

/// Stroke routes are rated by phase (research B2): IV is the acute precedent, stereotactic
/// implantation the chronic one; a program that does not say when it doses is read at the lower.
#[test]
fn stroke_route_fit_follows_the_phase_and_an_unknown_phase_reads_at_the_lower_fit() {
    let rt1 = |route: &str, days: Option<u32>| {
        let detail = days.map_or(json!({}), |days| json!({"days_since_onset": days}));
        let assessment = assess(&profile(json!({
            "program": {"indication": "ischemic_stroke", "indication_detail": detail},
            "delivery": {"route": route}
        })));
        factor(&assessment, FactorCode::Rt1).value.expect("RT1 is known once the route is")
    };
    assert!(rt1("intravenous", Some(1)) > rt1("intravenous", Some(365)));
    assert!(rt1("intraparenchymal_cns", Some(365)) > rt1("intraparenchymal_cns", Some(1)));
    assert!(rt1("intraparenchymal_cns", Some(180)) > rt1("intraparenchymal_cns", Some(179)));
    for route in ["intravenous", "intraparenchymal_cns"] {
        let unknown = rt1(route, None);
        assert_eq!(unknown, rt1(route, Some(1)).min(rt1(route, Some(365))), "{route}");
    }
}
