//! Profile versions: the pure conversion of version 1's summary fields to version 2's trials and
//! jurisdictions, applied before scoring. Stored profiles stay exactly as submitted.
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

/// Whether a profile uses any of version 1's summary fields.
fn has_version1_fields(profile: &Profile) -> bool {
    let clinical = profile.clinical.as_ref().is_some_and(|c| {
        c.completed_phase.is_some()
            || c.mcid_prespecified.is_some()
            || c.sample_size_powered.is_some()
            || c.control_arm.is_some()
            || c.blinding.is_some()
            || c.efficacy_follow_up_months.is_some()
            || c.pivotal_result.is_some()
    });
    let regulatory = profile.regulatory.as_ref().is_some_and(|r| {
        r.target_regulators.is_some()
            || r.interactions.is_some()
            || r.status.is_some()
            || r.designations.is_some()
            || r.conditional_approval.is_some()
    });
    clinical || regulatory
}

/// The profile in version 2: itself when it has no version 1 summary field, else its conversion.
/// The summary fields are read in either version (a schema-valid body is never refused for its
/// version): they become the trial and the jurisdiction they describe, added to those listed.
pub fn to_version2(profile: &Profile) -> Cow<'_, Profile> {
    if profile.profile_version == Some(ProfileVersion::V2) && !has_version1_fields(profile) {
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
    clinical.trials.get_or_insert_with(Vec::new).extend(trials);
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
    regulatory.jurisdictions.get_or_insert_with(Vec::new).extend(jurisdictions);
}
