//! MSC-TRL readiness levels: every level reachable by a minimal profile and lost without any one
//! of its mandatory gates, unknown never passes a gate, regression events lower the level,
//! streams move independently, MRL-lite and its cross-check, and the reference programs land on
//! the levels `docs/scoring-model.md` documents.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{generator, reference};
use crate::scoring::document::WarningCode;
use crate::scoring::engine::Scores;
use crate::scoring::facts::Facts;
use crate::scoring::readiness::{self, MAX_LEVEL};
use crate::scoring::{
    Assessment, Barrier, GateState, GateTest, ItemState, LevelState, Model, Profile, Readiness,
    RegressionEvent, Stream, parse_profile,
};

fn assess(profile: &Profile) -> Assessment {
    Model::current().assess(profile)
}

/// The readiness alone, without the mitigation re-scoring of a full assessment.
fn readiness_of(profile: &Profile) -> Readiness {
    let model = Model::current();
    let facts = Facts::from_profile(profile);
    let scores = Scores::compute(model, &facts);
    readiness::assess(model, &facts, &scores)
}

/// What each level adds to the one below it: the least a program needs to pass the level's
/// mandatory and supporting gates (GVHD, where every conditional gate is vacuous).
fn level_additions(level: u8) -> Value {
    match level {
        1 => json!({"program": {"indication": "gvhd_acute", "intended_mechanism": ["immunomodulation"]}}),
        2 => json!({
            "program": {"product_class": "culture_expanded_msc", "stage": "phase1"},
            "cell_source": {"tissue_source": "bone_marrow", "donor_type": "autologous"},
            "delivery": {"route": "intravenous"}
        }),
        3 => json!({"quality": {"isct_identity_testing": true}, "nonclinical": {"animal_models": [{}]}}),
        4 => json!({
            "quality": {"potency_assays": [{"analyte": "ido", "quantitative": true, "stage": "exploratory"}]},
            "nonclinical": {
                "animal_models": [{"disease_relevance": "high", "route_matches_clinical": true}],
                "tumorigenicity_study": "in_vitro_soft_agar",
                "survival_evidence": "in_vitro_disease_mimetic"
            },
            "delivery": {"dose_rationale": "dose_ranging_preclinical"}
        }),
        5 => json!({
            "manufacturing": {"culture_media": "human_platelet_lysate", "automation_level": "partially_closed"},
            "quality": {"release_criteria": {
                "viability_min_pct": 70, "sterility": true, "endotoxin": true, "mycoplasma": true, "identity": true
            }},
            "nonclinical": {
                "glp_tox_biodistribution": true,
                "genetic_stability_tests": ["karyotype"],
                "tumorigenicity_study": "in_vivo_immunodeficient_short",
                "animal_models": [{"disease_relevance": "high", "route_matches_clinical": true, "large_animal": true}]
            },
            "regulatory": {"interactions": ["interact"]}
        }),
        6 => json!({
            "manufacturing": {"gmp_status": "gmp_clinical_lots"},
            "regulatory": {"status": "ind_cta_open"},
            "clinical": {"completed_phase": "phase1", "ltfu_safety_years": 2, "proms": ["orr_day28"]},
            "quality": {"potency_assays": [{"analyte": "ido", "quantitative": true, "stage": "qualified"}]}
        }),
        7 => json!({
            "clinical": {"completed_phase": "phase2", "control_arm": "placebo_or_sham", "patient_selection": "clinical_criteria"},
            "manufacturing": {
                "lot_consistency": {"lots_characterised": 3},
                "culture_format": "microcarrier_bioreactor",
                "estimated_cogs_per_dose_usd": 10000
            },
            "formulation": {"stability_data": true},
            "regulatory": {"interactions": ["interact", "end_of_phase2"]}
        }),
        8 => json!({
            "clinical": {"completed_phase": "phase3", "pivotal_result": "met_primary_endpoint", "blinding": "double_blind"},
            "manufacturing": {"gmp_status": "gmp_process_validated_ppq"},
            "quality": {"potency_assays": [{
                "analyte": "ido", "quantitative": true, "stage": "validated",
                "used_for_lot_release": true, "acceptance_criterion": "IDO activity above a prespecified minimum"
            }]},
            "regulatory": {"status": "marketing_application_submitted", "conditional_approval": "none", "target_regulators": ["fda"]}
        }),
        9 => json!({
            "clinical": {"pharmacovigilance": true},
            "regulatory": {"status": "approved", "market_access_plan": true}
        }),
        _ => unreachable!("levels are 1-9"),
    }
}

/// Merges `change` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, change: &Value) {
    match (base, change) {
        (Value::Object(base), Value::Object(change)) => {
            for (key, value) in change {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, change) => *base = change.clone(),
    }
}

/// The minimal profile of a level: the additions of every level up to it.
fn minimal_json(level: u8) -> Value {
    let mut json = json!({});
    for added in 1..=level {
        merge(&mut json, &level_additions(added));
    }
    json
}

fn parse(json: &Value) -> Profile {
    parse_profile(json.to_string().as_bytes()).expect("test profile parses")
}

fn with(level: u8, change: Value) -> Profile {
    let mut json = minimal_json(level);
    merge(&mut json, &change);
    parse(&json)
}

/// The profile paths a gate check reads; clearing them makes its inputs unknown.
fn inputs(test: &GateTest) -> Vec<&'static str> {
    use GateTest::*;
    match test {
        IndicationStated | HostileTargetMitigated | QuantitativeStructuralEndpointIfRelevant => {
            vec!["program.indication"]
        }
        DurabilityIfLocalTarget { .. } => vec!["program.indication"],
        MechanismStated | MechanismFitsIndication => vec!["program.intended_mechanism"],
        CellSourceAndDonorChosen => vec!["cell_source.tissue_source", "cell_source.donor_type"],
        ProductProfileDrafted => vec!["program.product_class", "program.stage"],
        RouteChosen => vec!["delivery.route"],
        IsctIdentityTesting => vec!["quality.isct_identity_testing"],
        InVitroProofOfConcept => vec!["nonclinical.animal_models", "nonclinical.survival_evidence"],
        AnimalEfficacyModel | RelevantModelWithClinicalRoute | LargeOrAgedModel => {
            vec!["nonclinical.animal_models"]
        }
        MoaLinkedPotencyAssay { .. } | PotencyAssayQualified => vec!["quality.potency_assays"],
        InitialSafetyStudy => vec!["nonclinical.tumorigenicity_study", "nonclinical.glp_tox_biodistribution"],
        FactorAtLeast { factors, .. } => {
            factors.iter().flat_map(|factor| factor.inputs().iter().copied()).collect()
        }
        ScaleAppropriateFormat { .. } => {
            let mut paths = crate::scoring::FactorCode::Mf1.inputs().to_vec();
            paths.push("manufacturing.gmp_status");
            paths
        }
        GmpCompatibleProcess | ProcessInputsFixed | QualifiedMediaSupply => {
            vec!["manufacturing.culture_media"]
        }
        DraftReleaseSpecification | ReleaseTestingStarted => vec!["quality.release_criteria"],
        GlpToxicology => vec!["nonclinical.glp_tox_biodistribution"],
        GeneticStabilityTested => vec!["nonclinical.genetic_stability_tests"],
        EarlyRegulatorInteraction => vec!["regulatory.interactions", "regulatory.classification_status"],
        InVivoTumorigenicity => vec!["nonclinical.tumorigenicity_study"],
        GmpStatusAtLeast { .. } => vec!["manufacturing.gmp_status"],
        IndCtaOpen | MarketingApplicationSubmitted | FullMarketingApproval => vec!["regulatory.status"],
        CompletedPhaseAtLeast { .. } => vec!["clinical.completed_phase"],
        LongTermFollowUpPlanned => vec!["clinical.ltfu_safety_years"],
        ImmunogenicityMonitoredIfAllogeneic => vec!["cell_source.donor_type"],
        ValidatedOutcomeMeasure => vec!["clinical.proms"],
        ControlledTrialWithStandardEndpoint => vec!["clinical.control_arm"],
        LotsCharacterisedAtLeast { .. } => vec!["manufacturing.lot_consistency"],
        StabilityData => vec!["formulation.stability_data"],
        PivotalDesignAgreed => vec!["regulatory.interactions"],
        PatientStratification => vec!["clinical.patient_selection"],
        CostPerDoseEstimated => {
            vec!["manufacturing.estimated_cogs_per_dose_usd", "manufacturing.media_liters_per_dose"]
        }
        PivotalTrialCompleted => vec!["clinical.pivotal_result"],
        PostMarketingSafety => vec!["clinical.pharmacovigilance"],
        ConfirmatoryObligationsMet => vec!["regulatory.conditional_approval"],
        MarketAccessPlan => vec!["regulatory.market_access_plan"],
        TissueSourceStated => vec!["cell_source.tissue_source"],
        AutomationAtLeast { .. } => vec!["manufacturing.automation_level"],
    }
}

/// Removes a dotted path from a JSON profile (nothing when it is absent).
fn remove(json: &mut Value, path: &str) {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let mut node = json;
    for part in parent.split('.').filter(|part| !part.is_empty()) {
        match node.get_mut(part) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(object) = node.as_object_mut() {
        object.remove(key);
    }
}

fn gate_state(readiness: &Readiness, code: &str) -> GateState {
    readiness
        .levels
        .iter()
        .flat_map(|level| &level.gates)
        .find(|gate| gate.code == code)
        .map(|gate| gate.state)
        .expect("gate exists")
}

fn streams(readiness: &Readiness) -> [u8; 5] {
    let s = readiness.streams;
    [s.clinical, s.cmc, s.potency_tools, s.nonclinical, s.regulatory]
}

#[test]
fn each_level_is_reached_by_a_minimal_profile_and_lost_without_any_one_mandatory_gate() {
    let gates = &Model::current().document().readiness.gates;
    for level in 1..=MAX_LEVEL {
        let json = minimal_json(level);
        let reached = readiness_of(&parse(&json));
        assert_eq!(reached.msc_trl, level, "minimal profile of level {level}: {:#?}", reached.levels);
        let mandatory: Vec<_> = gates.iter().filter(|gate| gate.level == level && gate.mandatory).collect();
        assert!(!mandatory.is_empty());
        for gate in mandatory {
            let mut without = json.clone();
            for path in inputs(&gate.test) {
                remove(&mut without, path);
            }
            let lost = readiness_of(&parse(&without));
            assert_ne!(gate_state(&lost, &gate.code), GateState::Met, "{}", gate.code);
            // A gate a regulatory milestone of this profile covers stays credited, as implied.
            if gate_state(&lost, &gate.code).as_str().starts_with("implied_by_") {
                continue;
            }
            assert!(lost.msc_trl < level, "level {level} survives without {}", gate.code);
        }
    }
}

#[test]
fn a_level_is_approaching_when_enough_of_its_mandatory_gates_are_met() {
    // Level 7 minus one of its six mandatory gates: 5/6 met, above the 65 % share.
    let almost = readiness_of(&with(7, json!({"regulatory": {"interactions": ["interact"]}})));
    assert_eq!((almost.msc_trl, almost.approaching), (6, Some(7)));
    assert_eq!(almost.levels[6].status, LevelState::Approaching);
    let roadmap: Vec<&str> = almost.roadmap.iter().map(|item| item.gate.as_str()).collect();
    assert_eq!(roadmap, ["l7_pivotal_design_agreed"]);
    let step = &almost.roadmap[0];
    assert_eq!(step.mitigation.as_ref().map(|m| m.code.as_str()), Some("pivotal_design_agreement"));
    assert!(!step.evidence.is_empty());

    // Level 6 alone: level 7 has one of six mandatory gates met, far from approaching.
    let early = readiness_of(&parse(&minimal_json(6)));
    assert_eq!((early.msc_trl, early.approaching), (6, None));
    assert!(early.roadmap.iter().all(|item| item.level == 7));
    assert!(early.levels[..6].iter().all(|level| level.status == LevelState::Met));
    assert!(early.levels[6..].iter().all(|level| level.status == LevelState::Unmet));
}

#[test]
fn supporting_gates_need_the_complete_share_of_their_weight() {
    // Level 4's supporting weight is 2 + 2 + 1: losing the weight-1 gate keeps 80 %, losing a
    // weight-2 gate leaves 60 %.
    let disc = json!({
        "program": {"indication": "intervertebral_disc_degeneration", "intended_mechanism": ["immunomodulation"]},
        "manufacturing": {"preconditioning": [], "culture_oxygen": "normoxic_21pct"},
        "delivery": {"carrier": "none_saline"}
    });
    let unmitigated = readiness_of(&with(4, disc.clone()));
    assert_eq!(gate_state(&unmitigated, "l4_hostile_target_mitigated"), GateState::Unmet);
    assert_eq!(unmitigated.msc_trl, 4);
    let mut no_dose = minimal_json(4);
    remove(&mut no_dose, "delivery.dose_rationale");
    let no_dose = readiness_of(&parse(&no_dose));
    assert_eq!(no_dose.msc_trl, 3);
    assert!(no_dose.levels[3].mandatory_met_share == 1.0 && no_dose.levels[3].supporting_met_share == 0.6);
}

#[test]
fn regression_events_lower_the_level_and_say_why() {
    let approved = readiness_of(&parse(&minimal_json(9)));
    assert_eq!(approved.msc_trl, 9);
    assert!(approved.regression_events.is_empty());
    let cases = [
        (
            json!({"clinical": {"pivotal_result": "failed_primary_endpoint"}}),
            RegressionEvent::PivotalFailure,
            Stream::Clinical,
        ),
        (
            json!({"regulatory": {"status": "withdrawn"}}),
            RegressionEvent::AuthorisationWithdrawn,
            Stream::Regulatory,
        ),
        (
            json!({"regulatory": {"status": "withdrawn", "conditional_approval": "not_converted"}}),
            RegressionEvent::ConditionalApprovalNotConverted,
            Stream::Regulatory,
        ),
    ];
    for (change, event, stream) in cases {
        let regressed = readiness_of(&with(9, change));
        assert_eq!(regressed.msc_trl, 7, "{}", event.as_str());
        assert_eq!(regressed.streams.of(stream), 7, "{}", event.as_str());
        assert_eq!(regressed.approaching, None, "a regression holds the level");
        let applied: Vec<_> =
            regressed.regression_events.iter().map(|e| (e.event, e.stream, e.capped_at)).collect();
        assert_eq!(applied, [(event, stream, 7)]);
        assert!(
            !regressed.regression_events[0].reason.is_empty()
                && !regressed.regression_events[0].evidence.is_empty()
        );
    }
    // An event caps, it does not raise: a level-4 program with a failed pivotal stays at 4.
    let early = readiness_of(&with(4, json!({"clinical": {"pivotal_result": "failed_primary_endpoint"}})));
    assert_eq!(early.msc_trl, 4);
    assert_eq!(early.approaching, Some(5).filter(|_| early.levels[4].mandatory_met_share >= 0.65));
}

#[test]
fn each_stream_moves_only_with_its_own_inputs() {
    let full = readiness_of(&parse(&minimal_json(9)));
    assert_eq!(streams(&full), [9; 5]);
    // Regulatory milestones credit the gates of other streams (an approval covers what it
    // entailed; a completed trial needed an authorisation), so the other streams are changed on a
    // base without any milestone, and compared with that base.
    let mut bare = minimal_json(9);
    merge(&mut bare, &json!({"regulatory": {"status": "none"}, "clinical": {"completed_phase": "none"}}));
    let base = readiness_of(&parse(&bare));
    let changes = [
        (Stream::Cmc, json!({"manufacturing": {"gmp_status": "gmp_in_development"}})),
        (Stream::PotencyTools, json!({"quality": {"potency_assays": []}})),
        (Stream::Nonclinical, json!({"nonclinical": {"glp_tox_biodistribution": false}})),
    ];
    for (changed, change) in changes {
        let mut json = bare.clone();
        merge(&mut json, &change);
        let after = readiness_of(&parse(&json));
        for stream in Stream::ALL {
            let level = after.streams.of(*stream);
            if stream == &changed {
                assert!(level < base.streams.of(*stream), "{} did not move", stream.as_str());
            } else {
                assert_eq!(
                    level,
                    base.streams.of(*stream),
                    "changing {} moved {}",
                    changed.as_str(),
                    stream.as_str()
                );
            }
        }
    }
    // No milestone credits the pivotal trial, and the regulatory stream is its own milestones.
    for (changed, change) in [
        (Stream::Clinical, json!({"clinical": {"completed_phase": "phase1_2"}})),
        (Stream::Regulatory, json!({"regulatory": {"status": "none"}})),
    ] {
        let after = readiness_of(&with(9, change));
        for stream in Stream::ALL {
            let level = after.streams.of(*stream);
            if *stream == changed {
                assert!(level < 9, "{} did not move", stream.as_str());
            } else {
                assert_eq!(level, 9, "changing {} moved {}", changed.as_str(), stream.as_str());
            }
        }
        assert!(after.msc_trl < 9);
    }
}

#[test]
fn mrl_lite_is_consecutive_and_cross_checked_against_the_level() {
    let approved = assess(&parse(&minimal_json(9)));
    let mrl = &approved.readiness.mrl_lite;
    // PPQ but not commercial: MRL-lite 8 under MSC-TRL 9.
    assert_eq!((mrl.level, mrl.expected_at_least), (8, Some(9)));
    let warned = |a: &Assessment| {
        a.warnings.iter().any(|w| w.warning == WarningCode::ManufacturingReadinessBehindLevel)
    };
    assert!(warned(&approved));

    let commercial = assess(&with(
        9,
        json!({"manufacturing": {"gmp_status": "commercial", "automation_level": "closed_automated_with_inline_analytics"}}),
    ));
    assert_eq!(commercial.readiness.mrl_lite.level, 10);
    assert!(!warned(&commercial));

    // Below MSC-TRL 6 there is no expectation, whatever MRL-lite is.
    let early = assess(&parse(&minimal_json(5)));
    assert_eq!(early.readiness.mrl_lite.expected_at_least, None);
    assert!(!warned(&early));
    // A gap at MRL-lite 4 stops the count, whatever lies above.
    let gap = readiness_of(&with(9, json!({"quality": {"release_criteria": {"sterility": false}}})));
    assert!(gap.mrl_lite.level < 5);
}

#[test]
fn level_and_score_warnings_follow_the_model_checks() {
    let checks = Model::current().document().readiness.score_checks;
    let mut profiles: Vec<Profile> = (1..=MAX_LEVEL).map(|level| parse(&minimal_json(level))).collect();
    profiles.extend(crate::scoring::reference_programs().into_iter().map(|(_, profile)| profile));
    let mut raised = 0;
    for profile in &profiles {
        let assessment = assess(profile);
        for check in &checks {
            let barrier = &assessment.barriers[check.barrier.index()];
            let expected = assessment.readiness.msc_trl >= check.min_level
                && barrier.score.is_some_and(|score| score < check.below);
            let warned = assessment.warnings.iter().any(|w| w.warning == check.warning);
            assert_eq!(warned, expected, "{}", check.warning.as_str());
            raised += usize::from(warned);
        }
    }
    assert!(raised > 0, "no profile exercises a level/score warning");
    // The research pattern: variability below 50 at MSC-TRL 7 or more.
    assert!(
        checks.iter().any(|check| check.barrier == Barrier::Variability
            && check.min_level == 7
            && check.below == 50.0)
    );
}

/// A program with its MSC-TRL, approaching level, streams (clinical, cmc, potency tools,
/// nonclinical, regulatory) and regression events.
type Landing = (&'static str, u8, Option<u8>, [u8; 5], &'static [RegressionEvent]);

/// The reference programs land on the levels docs/scoring-model.md gives, for the reasons it gives.
#[test]
fn reference_programs_land_on_their_documented_levels() {
    let expected: [Landing; 11] = [
        ("disc_early_academic", 3, None, [5, 4, 3, 3, 5], &[]),
        ("disc_mature_allogeneic", 7, None, [7, 7, 9, 9, 7], &[]),
        ("disc_early_intravenous_unknowns", 2, None, [5, 4, 2, 3, 5], &[]),
        ("disc_preclinical_startup", 0, None, [5, 4, 1, 0, 5], &[]),
        ("gvhd_approved_pediatric", 9, None, [9, 9, 9, 9, 9], &[]),
        (
            "crohns_fistula_failed_confirmatory",
            7,
            None,
            [7, 9, 9, 9, 7],
            &[RegressionEvent::PivotalFailure, RegressionEvent::AuthorisationWithdrawn],
        ),
        ("als_failed_pivotal", 7, None, [7, 9, 9, 9, 8], &[RegressionEvent::PivotalFailure]),
        ("heart_failure_autologous_neutral", 5, Some(6), [7, 6, 6, 9, 6], &[RegressionEvent::PivotalFailure]),
        ("knee_oa_allogeneic_phase2", 5, Some(6), [6, 6, 6, 9, 6], &[]),
        ("stroke_mapc_intravenous", 5, Some(6), [5, 6, 6, 9, 7], &[]),
        ("ards_umbilical_cord_phase2", 6, None, [6, 6, 7, 9, 6], &[]),
    ];
    // Every landing is computed before any is compared, so a failure shows them all.
    let landed: Vec<_> = expected
        .iter()
        .map(|(name, ..)| {
            let readiness = readiness_of(&reference(name));
            let got: Vec<RegressionEvent> = readiness.regression_events.iter().map(|e| e.event).collect();
            (*name, readiness.msc_trl, readiness.approaching, streams(&readiness), got)
        })
        .collect();
    for ((name, msc_trl, approaching, stream_levels, events), got) in expected.iter().zip(&landed) {
        assert_eq!(
            (got.1, got.2, got.3, got.4.as_slice()),
            (*msc_trl, *approaching, *stream_levels, *events),
            "{name}; all landings: {landed:?}"
        );
    }
}

#[test]
fn the_roadmap_lists_the_unmet_gates_of_the_next_level_with_their_mitigations() {
    // Research §11 program A: level 3; level 4 waits on a mechanism-linked potency assay first.
    let a = readiness_of(&reference("disc_early_academic"));
    assert_eq!(a.msc_trl, 3);
    assert!(a.roadmap.iter().all(|item| item.level == 4 && item.state != ItemState::Met));
    let potency =
        a.roadmap.iter().find(|item| item.gate == "l4_candidate_moa_potency_assay").expect("on the roadmap");
    assert_eq!(potency.stream, Stream::PotencyTools);
    assert!(potency.mandatory);
    assert_eq!(potency.mitigation.as_ref().map(|m| m.code.as_str()), Some("develop_moa_potency_assay"));
    // Mandatory gates come first.
    let first_supporting = a.roadmap.iter().position(|item| !item.mandatory).unwrap_or(a.roadmap.len());
    assert!(a.roadmap[first_supporting..].iter().all(|item| !item.mandatory));
    // At the top there is nothing left to do.
    assert!(readiness_of(&reference("gvhd_approved_pediatric")).roadmap.is_empty());
}

#[test]
fn the_readiness_json_has_the_agreed_shape() {
    let json =
        serde_json::to_value(assess(&reference("heart_failure_autologous_neutral"))).expect("serialises");
    let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
    let overall = keys.iter().position(|key| *key == "overall").expect("overall");
    assert_eq!(keys[overall + 1], "readiness");
    let readiness = &json["readiness"];
    assert_eq!(readiness["msc_trl"], 5);
    assert_eq!(readiness["approaching"], 6);
    for stream in ["clinical", "cmc", "potency_tools", "nonclinical", "regulatory"] {
        assert!(readiness["streams"][stream].is_u64(), "{stream}");
    }
    let levels = readiness["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 9);
    assert_eq!(levels[5]["status"], "approaching");
    for key in ["code", "stream", "mandatory", "weight", "state", "text", "weakly_grounded"] {
        assert!(!levels[5]["gates"][0][key].is_null(), "gate {key}");
    }
    // The gates a completed trial's authorisation credits say so, with the milestone.
    let credited = &levels[3]["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|gate| gate["code"] == "l4_candidate_moa_potency_assay")
        .expect("gate")
        .clone();
    assert_eq!(credited["state"], "implied_by_trial_authorisation");
    assert_eq!(credited["implied_by"]["milestone"], "trial_authorisation");
    let step = &readiness["roadmap"][0];
    for key in ["gate", "level", "stream", "text", "evidence"] {
        assert!(!step[key].is_null(), "roadmap {key}");
    }
    assert_eq!(step["mitigation"]["code"], "develop_moa_potency_assay");
    assert!(step["mitigation"]["title"].is_string());
    assert_eq!(readiness["regression_events"][0]["event"], "pivotal_failure");
    for key in ["stream", "capped_at", "reason"] {
        assert!(!readiness["regression_events"][0][key].is_null(), "event {key}");
    }
    assert!(readiness["mrl_lite"]["level"].is_u64());
    assert!(readiness["mrl_lite"]["criteria"].as_array().is_some_and(|criteria| !criteria.is_empty()));
}

/// Results stored before gates carried `weakly_grounded` still read back, as not flagged.
#[test]
fn stored_gate_statuses_without_the_weakly_grounded_flag_still_read() {
    let mut json =
        serde_json::to_value(assess(&reference("heart_failure_autologous_neutral"))).expect("serialises");
    let mut removed = 0;
    for level in json["readiness"]["levels"].as_array_mut().expect("levels") {
        for gate in level["gates"].as_array_mut().expect("gates") {
            removed += usize::from(gate.as_object_mut().expect("gate").remove("weakly_grounded").is_some());
        }
    }
    assert!(removed > 0);
    let read: Assessment = serde_json::from_value(json).expect("an older result still reads");
    assert!(read.readiness.levels.iter().flat_map(|level| &level.gates).all(|gate| !gate.weakly_grounded));
}

#[test]
fn the_model_document_exports_the_gates() {
    let json = serde_json::to_value(Model::current().document()).expect("serialises");
    let gates = json["readiness"]["gates"].as_array().expect("gates");
    assert!(gates.len() >= 27);
    assert_eq!(json["readiness"]["complete_share"], 0.8);
    assert_eq!(json["readiness"]["approaching_share"], 0.65);
    assert!(gates.iter().all(|gate| gate["test"]["kind"].is_string() && gate["text"].is_string()));
    assert_eq!(json["readiness"]["mrl"]["levels"].as_array().map(Vec::len), Some(10));
}

#[test]
fn the_loader_rejects_gates_naming_unknown_mitigations_or_evidence() {
    use crate::scoring::model::MODEL_TOML;
    use crate::scoring::{Model as M, ModelError};
    let broken = |from: &str, to: &str| {
        assert!(MODEL_TOML.contains(from), "{from}");
        match M::from_toml(&MODEL_TOML.replacen(from, to, 1)) {
            Err(ModelError::Invalid(problems)) => problems.join("; "),
            other => panic!("{from} -> {to} loaded: {other:?}"),
        }
    };
    assert!(
        broken(r#"mitigation = "develop_moa_potency_assay""#, r#"mitigation = "no_such_mitigation""#)
            .contains("unknown mitigation no_such_mitigation")
    );
    assert!(
        broken(
            r#"evidence = [{ claim = "VA-02", role = "supports" }]"#,
            r#"evidence = [{ claim = "XX-99", role = "supports" }]"#
        )
        .contains("unknown evidence XX-99")
    );
    assert!(broken("complete_share = 0.8", "complete_share = 0.5").contains("readiness shares"));
    assert!(
        broken(
            r#"code = "l9_market_access_plan"
level = 9"#,
            r#"code = "l9_market_access_plan"
level = 10"#
        )
        .contains("level 1-9")
    );
}

/// A profile with one JSON path removed.
fn without(profile: &Profile, path: &str) -> Profile {
    let mut json = serde_json::to_value(profile).expect("serialises");
    remove(&mut json, path);
    parse(&json)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn leaving_a_gate_input_unknown_never_raises_the_level_or_a_stream(values in prop::collection::vec(any::<u32>(), 160)) {
        let profile = generator::profile(&values);
        let before = readiness_of(&profile);
        let model = Model::current().document();
        let mut paths: Vec<&str> = model.readiness.gates.iter().map(|gate| &gate.test)
            .chain(model.readiness.mrl.levels.iter().flat_map(|level| level.criteria.iter().map(|c| &c.test)))
            .flat_map(inputs)
            .collect();
        paths.sort_unstable();
        paths.dedup();
        for path in paths {
            {
                let after = readiness_of(&without(&profile, path));
                prop_assert!(after.msc_trl <= before.msc_trl, "{path} raised MSC-TRL");
                prop_assert!(after.mrl_lite.level <= before.mrl_lite.level, "{path} raised MRL-lite");
                for stream in Stream::ALL {
                    prop_assert!(after.streams.of(*stream) <= before.streams.of(*stream), "{path} raised {}", stream.as_str());
                }
            }
        }
    }

    #[test]
    fn the_level_never_exceeds_a_stream_nor_a_regression_cap(values in prop::collection::vec(any::<u32>(), 160)) {
        let readiness = readiness_of(&generator::profile(&values));
        prop_assert!(readiness.msc_trl <= readiness.gated_level);
        for stream in Stream::ALL {
            prop_assert!(readiness.msc_trl <= readiness.streams.of(*stream));
        }
        for event in &readiness.regression_events {
            prop_assert!(readiness.msc_trl <= event.capped_at);
        }
        prop_assert!(readiness.levels.iter().all(|level| (level.status == LevelState::Met) == (level.level <= readiness.msc_trl)));
    }
}

/// docs/scoring-model.md shows every gate, regression event and MRL-lite criterion, and the
/// reference-program levels the model computes now.
#[test]
fn the_documentation_shows_the_readiness_model_as_computed() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/scoring-model.md");
    let doc = std::fs::read_to_string(&path).expect("docs/scoring-model.md exists");
    let readiness = Model::current().document().readiness;
    let mut names: Vec<String> = readiness
        .gates
        .iter()
        .map(|gate| format!("| `{}` | {} |", gate.code, gate.stream.as_str()))
        .collect();
    names.extend(readiness.regression_events.iter().map(|rule| format!("| `{}` |", rule.event.as_str())));
    names.extend(
        readiness.mrl.levels.iter().flat_map(|level| level.criteria.iter().map(|c| format!("`{}`", c.code))),
    );
    for name in names {
        assert!(doc.contains(&name), "docs/scoring-model.md does not mention {name}");
    }
    let mut missing = Vec::new();
    for (name, profile) in crate::scoring::reference_programs() {
        let r = readiness_of(&profile);
        let s = r.streams;
        let row = format!(
            "| `{name}` | {} | {} | {} / {} / {} / {} / {} | {} |",
            r.msc_trl,
            r.approaching.map_or("–".to_owned(), |level| level.to_string()),
            s.clinical,
            s.cmc,
            s.potency_tools,
            s.nonclinical,
            s.regulatory,
            r.mrl_lite.level
        );
        if !doc.contains(&row) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "docs/scoring-model.md lacks:\n{}", missing.join("\n"));
}
