//! Profile version 1 converts to version 2 without losing anything version 1 could say: the facts
//! the model reads from the converted profile are the facts version 1 stated, field by field.

use proptest::prelude::*;

use super::super::facts::Facts;
use super::super::profile::*;
use super::super::upgrade::to_version2;
use super::{generator, reference_programs};

fn set_of<T: crate::scoring::input_types::Member>(
    values: &Option<Vec<T>>,
) -> Option<super::super::input_types::Set<T>> {
    values.as_ref().map(|values| values.iter().copied().collect())
}

/// The facts of the fields that version 2 moved into `clinical.trials` and
/// `regulatory.jurisdictions`, read straight from version 1: the oracle of the conversion.
fn moved_fields_read_directly(profile: &Profile) -> Facts {
    let mut facts = Facts::UNKNOWN;
    if let Some(c) = &profile.clinical {
        facts.completed_phase = c.completed_phase;
        facts.mcid_prespecified = c.mcid_prespecified;
        facts.sample_size_powered = c.sample_size_powered;
        facts.control_arm = c.control_arm;
        facts.blinding = c.blinding;
        facts.efficacy_follow_up_months = c.efficacy_follow_up_months.map(Months::get);
        facts.pivotal_result = c.pivotal_result;
    }
    if let Some(r) = &profile.regulatory {
        facts.target_regulators = set_of(&r.target_regulators);
        facts.regulatory_interactions = set_of(&r.interactions);
        facts.regulatory_status = r.status;
        facts.designations = set_of(&r.designations);
        // Version 2 reads a stated history as complete, so a stated status without a
        // conditional-approval outcome reads as the status implies: pending for a conditional
        // approval, otherwise none (documented in src/scoring/upgrade.rs).
        facts.conditional_approval = r.conditional_approval.or(r.status.map(|status| {
            if status == RegulatoryStatus::ConditionalApproval {
                ConditionalApprovalOutcome::Pending
            } else {
                ConditionalApprovalOutcome::None
            }
        }));
    }
    facts
}

/// Whether a version 1 profile says something version 1 itself contradicts, which no version 2
/// history can state: a conditional-approval outcome at odds with the status, a status without
/// the regulator list it belongs to being unknown, or a pivotal result at odds with the phase.
fn self_contradictory(profile: &Profile) -> bool {
    let regulatory = profile.regulatory.as_ref().is_some_and(|r| {
        let outcome_fits = match (r.status, r.conditional_approval) {
            (Some(RegulatoryStatus::ConditionalApproval), Some(ConditionalApprovalOutcome::None)) => false,
            (_, None | Some(ConditionalApprovalOutcome::None)) => true,
            (None, Some(_)) => false,
            (Some(status), Some(outcome)) => matches!(
                (status, outcome),
                (RegulatoryStatus::ConditionalApproval, ConditionalApprovalOutcome::Pending)
                    | (RegulatoryStatus::Approved, ConditionalApprovalOutcome::Converted)
                    | (RegulatoryStatus::Withdrawn, _)
            ),
        };
        let no_targets_but_history = r.target_regulators.as_ref().is_some_and(Vec::is_empty)
            && (r.status.is_some() || r.interactions.is_some() || r.designations.is_some());
        let status_none_but_outcome =
            r.status == Some(RegulatoryStatus::None) && r.conditional_approval.is_some();
        // Version 2 has no place for an outcome without the history it ends: the one loss of the
        // conversion, documented in src/scoring/upgrade.rs.
        let outcome_without_status = r.status.is_none() && r.conditional_approval.is_some();
        !outcome_fits || no_targets_but_history || status_none_but_outcome || outcome_without_status
    });
    let clinical = profile.clinical.as_ref().is_some_and(|c| {
        c.completed_phase == Some(TrialPhase::None)
            && matches!(
                c.pivotal_result,
                Some(PivotalResult::MetPrimaryEndpoint | PivotalResult::FailedPrimaryEndpoint)
            )
    });
    regulatory || clinical
}

fn assert_moved_fields_equal(name: &str, profile: &Profile) {
    let direct = moved_fields_read_directly(profile);
    let converted = Facts::from_profile(&to_version2(profile));
    let pairs = [
        (
            "completed_phase",
            format!("{:?}", direct.completed_phase),
            format!("{:?}", converted.completed_phase),
        ),
        (
            "mcid_prespecified",
            format!("{:?}", direct.mcid_prespecified),
            format!("{:?}", converted.mcid_prespecified),
        ),
        (
            "sample_size_powered",
            format!("{:?}", direct.sample_size_powered),
            format!("{:?}", converted.sample_size_powered),
        ),
        ("control_arm", format!("{:?}", direct.control_arm), format!("{:?}", converted.control_arm)),
        ("blinding", format!("{:?}", direct.blinding), format!("{:?}", converted.blinding)),
        (
            "efficacy_follow_up_months",
            format!("{:?}", direct.efficacy_follow_up_months),
            format!("{:?}", converted.efficacy_follow_up_months),
        ),
        ("pivotal_result", format!("{:?}", direct.pivotal_result), format!("{:?}", converted.pivotal_result)),
        (
            "target_regulators",
            format!("{:?}", direct.target_regulators),
            format!("{:?}", converted.target_regulators),
        ),
        (
            "interactions",
            format!("{:?}", direct.regulatory_interactions),
            format!("{:?}", converted.regulatory_interactions),
        ),
        ("status", format!("{:?}", direct.regulatory_status), format!("{:?}", converted.regulatory_status)),
        ("designations", format!("{:?}", direct.designations), format!("{:?}", converted.designations)),
        (
            "conditional_approval",
            format!("{:?}", direct.conditional_approval),
            format!("{:?}", converted.conditional_approval),
        ),
    ];
    for (field, direct, converted) in pairs {
        assert_eq!(direct, converted, "{name}: {field} changed in the conversion");
    }
}

#[test]
fn every_version_1_reference_program_converts_without_loss_and_scores_as_its_conversion() {
    for (name, json) in super::super::reference::REFERENCE_PROGRAMS_V1 {
        let profile = crate::scoring::parse_profile(json.as_bytes()).expect("version 1 reference parses");
        assert_ne!(profile.profile_version, Some(ProfileVersion::V2), "{name} is version 1");
        assert_moved_fields_equal(name, &profile);
        let converted = to_version2(&profile).into_owned();
        let model = crate::scoring::Model::current();
        assert_eq!(model.assess(&profile), model.assess(&converted), "{name}");
        // The version 2 reference program is the conversion, as sent.
        let (_, v2) = reference_programs().into_iter().find(|(n, _)| n == name).expect("version 2 reference");
        assert_eq!(model.assess(&v2), model.assess(&profile), "{name}: version 2 file scores as version 1");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_generated_version_1_profile_converts_without_loss(values in prop::collection::vec(any::<u32>(), 160)) {
        let profile = generator::profile(&values);
        prop_assume!(!self_contradictory(&profile));
        assert_moved_fields_equal("generated", &profile);
    }
}

#[test]
fn the_conversion_is_pure_and_leaves_version_2_alone() {
    let v1 = crate::scoring::parse_profile(
        br#"{"clinical": {"completed_phase": "phase2", "pivotal_result": "ongoing", "control_arm": "placebo_or_sham"},
             "regulatory": {"target_regulators": ["fda"], "status": "ind_cta_open", "interactions": ["pre_ind"]}}"#,
    )
    .expect("parses");
    let v2 = to_version2(&v1).into_owned();
    assert_eq!(v2.profile_version, Some(ProfileVersion::V2));
    let clinical = v2.clinical.as_ref().expect("clinical");
    assert_eq!(clinical.completed_phase, None, "version 1 fields are moved, not copied");
    let trials = clinical.trials.as_ref().expect("trials");
    assert_eq!(trials.len(), 2, "the described trial and the running pivotal trial");
    let jurisdictions = v2.regulatory.as_ref().and_then(|r| r.jurisdictions.as_ref()).expect("jurisdictions");
    assert_eq!(jurisdictions.len(), 1, "one targeted regulator carries the history");
    assert_eq!(jurisdictions[0].regulator, Some(Regulator::Fda));
    assert_eq!(to_version2(&v2).into_owned(), v2, "a version 2 profile is left as it is");
    assert_eq!(to_version2(&v1).into_owned(), v2, "the same input gives the same conversion");
}

/// A schema-valid body is never refused for its version: version 1's summary fields in a
/// version 2 profile are read, added to the trials and jurisdictions it lists.
#[test]
fn summary_fields_in_a_version_2_profile_are_read_not_refused() {
    let mixed = crate::scoring::parse_profile(
        br#"{"profile_version": "2",
             "clinical": {"trials": [{"phase": "phase1", "status": "completed"}], "control_arm": "placebo_or_sham"},
             "regulatory": {"jurisdictions": [{"regulator": "ema", "events": [{"event": "trial_authorised"}]}],
                            "status": "marketing_application_submitted"}}"#,
    )
    .expect("a mixed profile parses");
    let facts = Facts::from_profile(&mixed);
    assert_eq!(facts.control_arm, Some(ControlArm::PlaceboOrSham));
    // The trial the summary fields describe has no stated status, so it could be a later one.
    assert_eq!(facts.completed_phase, None);
    assert_eq!(facts.regulatory_status, Some(RegulatoryStatus::MarketingApplicationSubmitted));
    let converted = to_version2(&mixed).into_owned();
    assert_eq!(converted.clinical.as_ref().and_then(|c| c.trials.as_ref()).map(Vec::len), Some(2));
    assert_eq!(converted.regulatory.as_ref().and_then(|r| r.jurisdictions.as_ref()).map(Vec::len), Some(2));
}
