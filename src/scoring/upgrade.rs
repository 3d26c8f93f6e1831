//! Profile versions: which fields belong to which version, and the pure conversion of a version 1
//! profile to version 2, applied before scoring. Stored profiles stay exactly as submitted.
//!
//! Version 1 says one regulatory status and one trial design for the whole program. The
//! conversion writes them as version 2 would: the status, meetings and designations as the
//! history of one jurisdiction (the single target regulator, or a jurisdiction whose regulator is
//! not stated), and the clinical fields as the trial they describe, plus the pivotal trial when
//! `pivotal_result` says it is planned or running. Version 2 reads a stated history as complete,
//! so a version 1 status stated without `conditional_approval` reads as "no conditional approval";
//! and a `conditional_approval` outcome stated without any `status` has no history to end, so it
//! is dropped (the one thing version 1 could say that the conversion loses; a test lists the
//! self-contradictory combinations version 2 cannot state either).

use std::borrow::Cow;

use super::jurisdictions::{
    DesignationGrant, Jurisdiction, RegulatoryEvent, RegulatoryEventKind, RegulatoryMeeting,
};
use super::profile::*;
use super::trials::{Phase, PrimaryEndpoint, Trial, TrialResult, TrialStatus};

/// The profile in version 2: itself when it is version 2, else its conversion.
pub fn to_version2(profile: &Profile) -> Cow<'_, Profile> {
    if profile.profile_version == Some(ProfileVersion::V2) {
        return Cow::Borrowed(profile);
    }
    let mut upgraded = profile.clone();
    upgraded.profile_version = Some(ProfileVersion::V2);
    if let Some(clinical) = &mut upgraded.clinical {
        upgrade_clinical(clinical);
    }
    if let Some(regulatory) = &mut upgraded.regulatory {
        upgrade_regulatory(regulatory);
    }
    Cow::Owned(upgraded)
}

fn phase_of(completed: TrialPhase) -> Option<Phase> {
    match completed {
        TrialPhase::None => None,
        TrialPhase::Phase1 => Some(Phase::Phase1),
        TrialPhase::Phase12 => Some(Phase::Phase12),
        TrialPhase::Phase2 => Some(Phase::Phase2),
        TrialPhase::Phase3 => Some(Phase::Phase3),
    }
}

fn upgrade_clinical(clinical: &mut ClinicalSection) {
    let completed_phase = clinical.completed_phase.take();
    let mcid = clinical.mcid_prespecified.take();
    let powered = clinical.sample_size_powered.take();
    let control = clinical.control_arm.take();
    let blinding = clinical.blinding.take();
    let follow_up = clinical.efficacy_follow_up_months.take();
    let pivotal = clinical.pivotal_result.take();
    let stated = completed_phase.is_some()
        || mcid.is_some()
        || powered.is_some()
        || control.is_some()
        || blinding.is_some()
        || follow_up.is_some()
        || pivotal.is_some();
    if !stated {
        return;
    }
    // The trial version 1 describes: the most advanced completed or planned efficacy trial.
    let mut described = Trial {
        phase: completed_phase.and_then(phase_of),
        status: completed_phase.map(|phase| {
            if phase == TrialPhase::None { TrialStatus::Planned } else { TrialStatus::Completed }
        }),
        control,
        blinding,
        powered_for_primary_endpoint: powered,
        primary_endpoint: mcid.map(|mcid| PrimaryEndpoint {
            responder_definition_prespecified: Some(mcid),
            ..PrimaryEndpoint::default()
        }),
        efficacy_follow_up_months: follow_up,
        ..Trial::default()
    };
    let mut trials = Vec::new();
    match pivotal {
        // A reported pivotal result is the result of the trial described.
        Some(result @ (PivotalResult::MetPrimaryEndpoint | PivotalResult::FailedPrimaryEndpoint)) => {
            described.pivotal = Some(true);
            described.status = Some(TrialStatus::Completed);
            described.result = Some(if result == PivotalResult::MetPrimaryEndpoint {
                TrialResult::Met
            } else {
                TrialResult::NotMet
            });
            trials.push(described);
        }
        Some(result @ (PivotalResult::NotStarted | PivotalResult::Ongoing)) => {
            described.pivotal = Some(false);
            trials.push(described);
            trials.push(Trial {
                pivotal: Some(true),
                status: Some(if result == PivotalResult::Ongoing {
                    TrialStatus::Ongoing
                } else {
                    TrialStatus::Planned
                }),
                ..Trial::default()
            });
        }
        None => trials.push(described),
    }
    clinical.trials = Some(trials);
}

fn events_of(
    status: RegulatoryStatus,
    conditional: Option<ConditionalApprovalOutcome>,
) -> Vec<RegulatoryEvent> {
    use ConditionalApprovalOutcome as C;
    use RegulatoryEventKind as E;
    let kinds: &[E] = match (status, conditional) {
        (RegulatoryStatus::None, _) => &[],
        (RegulatoryStatus::IndCtaOpen, _) => &[E::TrialAuthorised],
        (RegulatoryStatus::ClinicalHold, _) => &[E::ClinicalHold],
        (RegulatoryStatus::MarketingApplicationSubmitted, _) => &[E::ApplicationSubmitted],
        (RegulatoryStatus::ConditionalApproval, _) => &[E::ConditionalApproval],
        (RegulatoryStatus::Approved, Some(C::Converted)) => &[E::ConditionalApproval, E::FullApproval],
        (RegulatoryStatus::Approved, _) => &[E::FullApproval],
        (RegulatoryStatus::Withdrawn, Some(C::NotConverted)) => {
            &[E::ConditionalApproval, E::ConversionRefused]
        }
        (RegulatoryStatus::Withdrawn, Some(C::Pending)) => &[E::ConditionalApproval, E::ApprovalWithdrawn],
        (RegulatoryStatus::Withdrawn, Some(C::Converted)) => {
            &[E::ConditionalApproval, E::FullApproval, E::ApprovalWithdrawn]
        }
        (RegulatoryStatus::Withdrawn, _) => &[E::FullApproval, E::ApprovalWithdrawn],
    };
    kinds
        .iter()
        .map(|&event| RegulatoryEvent {
            event,
            date: None,
            pathway: None,
            expires: None,
            obligations: None,
            reasons: None,
            note: None,
            sources: None,
        })
        .collect()
}

fn upgrade_regulatory(regulatory: &mut RegulatorySection) {
    let targets = regulatory.target_regulators.take();
    let interactions = regulatory.interactions.take();
    let status = regulatory.status.take();
    let designations = regulatory.designations.take();
    let conditional = regulatory.conditional_approval.take();
    if targets.is_none() && interactions.is_none() && status.is_none() && designations.is_none() {
        return;
    }
    let carrier = Jurisdiction {
        regulator: None,
        events: status.map(|status| events_of(status, conditional)),
        meetings: interactions.map(|kinds| {
            kinds.into_iter().map(|kind| RegulatoryMeeting { kind, date: None, sources: None }).collect()
        }),
        designations: designations.map(|kinds| {
            kinds
                .into_iter()
                .map(|kind| DesignationGrant { kind, date: None, population: None, sources: None })
                .collect()
        }),
        ..Jurisdiction::default()
    };
    let carries = carrier.events.is_some() || carrier.meetings.is_some() || carrier.designations.is_some();
    let mut jurisdictions: Vec<Jurisdiction> = targets
        .iter()
        .flatten()
        .map(|&regulator| Jurisdiction { regulator: Some(regulator), ..Jurisdiction::default() })
        .collect();
    match jurisdictions.as_mut_slice() {
        // One regulator targeted: the status is this regulator's.
        [only] if carries => *only = Jurisdiction { regulator: only.regulator, ..carrier },
        _ if carries => jurisdictions.push(carrier),
        _ => {}
    }
    regulatory.jurisdictions = Some(jurisdictions);
}

/// The fields one version has and the other does not, used in a profile of the other version.
pub fn version_errors(profile: &Profile) -> Vec<ProfileError> {
    let version2 = profile.profile_version == Some(ProfileVersion::V2);
    let mut errors = Vec::new();
    let mut check = |present: bool, field: &str, belongs_to_v2: bool, replacement: &str| {
        if present && belongs_to_v2 != version2 {
            errors.push(ProfileError {
                field: field.to_owned(),
                message: if belongs_to_v2 {
                    "this field is new in profile version 2: send \"profile_version\": \"2\"".to_owned()
                } else {
                    format!("profile version 2 replaces this field by `{replacement}`; send it there, or send \"profile_version\": \"1\"")
                },
            });
        }
    };
    if let Some(p) = &profile.program {
        check(p.sources.is_some(), "program.sources", true, "");
        check(
            p.indication_detail.and_then(|d| d.mixed_aetiology).is_some(),
            "program.indication_detail.mixed_aetiology",
            true,
            "",
        );
    }
    if let Some(c) = &profile.cell_source {
        check(c.sources.is_some(), "cell_source.sources", true, "");
    }
    if let Some(m) = &profile.manufacturing {
        check(
            m.manufacturing_failure_rate_pct.is_some(),
            "manufacturing.manufacturing_failure_rate_pct",
            true,
            "",
        );
        check(m.sources.is_some(), "manufacturing.sources", true, "");
    }
    if let Some(q) = &profile.quality {
        check(
            q.release_specification_accepted_by_regulator.is_some(),
            "quality.release_specification_accepted_by_regulator",
            true,
            "",
        );
        check(q.sources.is_some(), "quality.sources", true, "");
        for (index, assay) in q.potency_assays.iter().flatten().enumerate() {
            let field = |name: &str| format!("quality.potency_assays[{index}].{name}");
            check(assay.mechanism_linked.is_some(), &field("mechanism_linked"), true, "");
            check(
                assay.correlated_with_clinical_activity.is_some(),
                &field("correlated_with_clinical_activity"),
                true,
                "",
            );
            check(
                assay.bridges_clinical_and_commercial_lots.is_some(),
                &field("bridges_clinical_and_commercial_lots"),
                true,
                "",
            );
            check(assay.tested_after_thaw.is_some(), &field("tested_after_thaw"), true, "");
        }
    }
    if let Some(f) = &profile.formulation {
        check(f.shelf_life_days.is_some(), "formulation.shelf_life_days", true, "");
        check(f.sources.is_some(), "formulation.sources", true, "");
    }
    if let Some(d) = &profile.delivery {
        check(d.dose_cells_per_kg.is_some(), "delivery.dose_cells_per_kg", true, "");
        check(d.dose_cells_per_cm2.is_some(), "delivery.dose_cells_per_cm2", true, "");
        check(d.dosing_interval_days.is_some(), "delivery.dosing_interval_days", true, "");
        check(d.sources.is_some(), "delivery.sources", true, "");
    }
    if let Some(n) = &profile.nonclinical {
        check(
            n.package_accepted_by_regulator.is_some(),
            "nonclinical.package_accepted_by_regulator",
            true,
            "",
        );
        check(n.sources.is_some(), "nonclinical.sources", true, "");
    }
    if let Some(c) = &profile.clinical {
        check(c.trials.is_some(), "clinical.trials", true, "");
        check(c.long_term_follow_up_in_place.is_some(), "clinical.long_term_follow_up_in_place", true, "");
        check(c.sources.is_some(), "clinical.sources", true, "");
        let trials = "clinical.trials[]";
        check(
            c.completed_phase.is_some(),
            "clinical.completed_phase",
            false,
            &format!("{trials}.phase and .status"),
        );
        check(
            c.mcid_prespecified.is_some(),
            "clinical.mcid_prespecified",
            false,
            &format!("{trials}.primary_endpoint.responder_definition_prespecified"),
        );
        check(
            c.sample_size_powered.is_some(),
            "clinical.sample_size_powered",
            false,
            &format!("{trials}.powered_for_primary_endpoint"),
        );
        check(c.control_arm.is_some(), "clinical.control_arm", false, &format!("{trials}.control"));
        check(c.blinding.is_some(), "clinical.blinding", false, &format!("{trials}.blinding"));
        check(
            c.efficacy_follow_up_months.is_some(),
            "clinical.efficacy_follow_up_months",
            false,
            &format!("{trials}.efficacy_follow_up_months"),
        );
        check(
            c.pivotal_result.is_some(),
            "clinical.pivotal_result",
            false,
            &format!("{trials}.pivotal and .result"),
        );
    }
    if let Some(r) = &profile.regulatory {
        check(r.jurisdictions.is_some(), "regulatory.jurisdictions", true, "");
        check(r.sources.is_some(), "regulatory.sources", true, "");
        let jurisdictions = "regulatory.jurisdictions[]";
        check(
            r.target_regulators.is_some(),
            "regulatory.target_regulators",
            false,
            &format!("{jurisdictions}.regulator"),
        );
        check(
            r.interactions.is_some(),
            "regulatory.interactions",
            false,
            &format!("{jurisdictions}.meetings"),
        );
        check(r.status.is_some(), "regulatory.status", false, &format!("{jurisdictions}.events"));
        check(
            r.designations.is_some(),
            "regulatory.designations",
            false,
            &format!("{jurisdictions}.designations"),
        );
        check(
            r.conditional_approval.is_some(),
            "regulatory.conditional_approval",
            false,
            &format!("{jurisdictions}.events"),
        );
    }
    errors
}
