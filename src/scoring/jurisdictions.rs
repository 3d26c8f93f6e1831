//! Profile version 2's regulatory history (`regulatory.jurisdictions[]`): per regulator, the
//! events in date order, its meetings and its designations. The service derives each regulator's
//! current status and the program's furthest status from them, and the milestones whose
//! requirements the readiness gates credit (trial authorisation, marketing application, approval).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input_types::{Label, Set, categorical};
use super::profile::{
    ConditionalApprovalOutcome, Designation, Regulator, RegulatoryInteraction, RegulatoryStatus, Source,
};

categorical! {
    /// An event in one regulator's history of the program.
    pub enum RegulatoryEventKind {
        /// A clinical trial authorised: IND in effect, CTA approved or equivalent.
        TrialAuthorised => "trial_authorised",
        /// Clinical hold.
        ClinicalHold => "clinical_hold",
        /// Clinical hold lifted.
        ClinicalHoldLifted => "clinical_hold_lifted",
        /// Marketing application (BLA, MAA, J-NDA, NDS, ...) submitted.
        ApplicationSubmitted => "application_submitted",
        /// The regulator refused to file (review) the application.
        RefusedToFile => "refused_to_file",
        /// A complete response letter, refusal or negative opinion: the application was not
        /// approved as submitted.
        CompleteResponse => "complete_response",
        /// The sponsor withdrew the application before a decision.
        ApplicationWithdrawn => "application_withdrawn",
        /// Conditional or time-limited approval (EU CMA, Japan's conditional and time-limited
        /// approval, Health Canada NOC/c, Korea's conditional approval).
        ConditionalApproval => "conditional_approval",
        /// Full (standard or accelerated) approval, or conversion of a conditional approval.
        FullApproval => "full_approval",
        /// Conversion of a conditional approval to full approval refused.
        ConversionRefused => "conversion_refused",
        /// A time-limited approval expired.
        ApprovalLapsed => "approval_lapsed",
        /// The approval withdrawn, suspended or revoked (by the regulator or at the holder's request).
        ApprovalWithdrawn => "approval_withdrawn",
    }
}

categorical! {
    /// The route of a marketing application or approval.
    pub enum ApprovalPathway {
        /// Standard approval.
        Standard => "standard",
        /// FDA accelerated approval on a surrogate endpoint.
        Accelerated => "accelerated",
        /// Conditional or time-limited approval on presumed efficacy (EU CMA, Japan's PMD Act
        /// conditional and time-limited approval, Canada's NOC/c, Korea's conditional approval).
        ConditionalOrTimeLimited => "conditional_or_time_limited",
        /// Approval under exceptional circumstances.
        ExceptionalCircumstances => "exceptional_circumstances",
    }
}

categorical! {
    /// What a complete response letter, refusal to file or refusal was about.
    pub enum DeficiencyReason {
        /// Potency assay or other product-quality attribute linked to clinical activity.
        CmcPotency => "cmc_potency",
        /// Other CMC (manufacturing, facilities, comparability).
        CmcOther => "cmc_other",
        /// Efficacy evidence.
        Efficacy => "efficacy",
        /// Safety.
        Safety => "safety",
        /// Anything else.
        Other => "other",
    }
}

/// One event in a regulator's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegulatoryEvent {
    /// What happened.
    pub event: RegulatoryEventKind,
    /// When (YYYY-MM-DD).
    #[schema(example = "2024-12-18")]
    pub date: Option<NaiveDate>,
    /// For applications and approvals: the route.
    pub pathway: Option<ApprovalPathway>,
    /// For conditional or time-limited approvals: when the approval expires.
    pub expires: Option<NaiveDate>,
    /// For conditional approvals: the obligations (confirmatory trial, post-marketing study).
    pub obligations: Option<Label>,
    /// For complete responses and refusals: what they were about.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub reasons: Option<Vec<DeficiencyReason>>,
    /// Anything else worth keeping, shown back and never scored.
    pub note: Option<Label>,
    /// Where this event is recorded.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// A meeting with the regulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegulatoryMeeting {
    /// The kind of meeting.
    pub kind: RegulatoryInteraction,
    /// When.
    pub date: Option<NaiveDate>,
    /// Where the meeting is recorded.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// A designation granted by the regulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignationGrant {
    /// The designation.
    pub kind: Designation,
    /// When it was granted.
    pub date: Option<NaiveDate>,
    /// The population it covers.
    #[schema(example = "paediatric steroid-refractory acute GVHD")]
    pub population: Option<Label>,
    /// Where the grant is recorded.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// One regulator's history of the program.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    /// The regulator; omitted when not stated (profiles converted from version 1).
    pub regulator: Option<Regulator>,
    /// The regulator's name, for `other`.
    pub regulator_name: Option<Label>,
    /// The events that change the program's status with this regulator, in date order; an empty
    /// list means none, omitted means unknown. A stated history is read as complete.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<50, _, _>")]
    #[schema(max_items = 50)]
    pub events: Option<Vec<RegulatoryEvent>>,
    /// Meetings held; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<50, _, _>")]
    #[schema(max_items = 50)]
    pub meetings: Option<Vec<RegulatoryMeeting>>,
    /// Designations granted; an empty list means none.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub designations: Option<Vec<DesignationGrant>>,
    /// Where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

/// A regulatory milestone: who reached it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Milestone {
    pub regulator: Option<Regulator>,
    pub date: Option<NaiveDate>,
    pub pathway: Option<ApprovalPathway>,
    /// For an application: the regulator refused to file it, or a later complete response cited
    /// CMC, so its dossier cannot stand for what it should contain.
    pub dossier_deficient: bool,
}

/// One regulator's history read.
#[derive(Debug, Clone, Copy, PartialEq)]
struct JurisdictionState {
    status: RegulatoryStatus,
    conditional: ConditionalApprovalOutcome,
    authorisation: Option<Milestone>,
    application: Option<Milestone>,
    approval: Option<Milestone>,
    deficiencies: Set<DeficiencyReason>,
}

fn read(regulator: Option<Regulator>, events: &[RegulatoryEvent]) -> JurisdictionState {
    use RegulatoryEventKind as E;
    let milestone = |event: &RegulatoryEvent| Milestone {
        regulator,
        date: event.date,
        // A conditional approval is on the conditional route whatever the event says.
        pathway: if event.event == E::ConditionalApproval {
            Some(ApprovalPathway::ConditionalOrTimeLimited)
        } else {
            event.pathway
        },
        dossier_deficient: false,
    };
    let mut state = JurisdictionState {
        status: RegulatoryStatus::None,
        conditional: ConditionalApprovalOutcome::None,
        authorisation: None,
        application: None,
        approval: None,
        deficiencies: Set::EMPTY,
    };
    let (mut authorised, mut hold, mut pending, mut lost) = (false, false, false, false);
    let mut held: Option<E> = None;
    for event in events {
        match event.event {
            E::TrialAuthorised | E::ClinicalHoldLifted => {
                authorised = true;
                hold = false;
                state.authorisation.get_or_insert(milestone(event));
            }
            E::ClinicalHold => hold = true,
            E::ApplicationSubmitted => {
                pending = true;
                state.application = Some(milestone(event));
            }
            E::RefusedToFile | E::CompleteResponse => {
                pending = false;
                let reasons: Set<DeficiencyReason> = event.reasons.iter().flatten().copied().collect();
                state.deficiencies = state.deficiencies.union(reasons);
                if let Some(application) = &mut state.application {
                    application.dossier_deficient |= event.event == E::RefusedToFile
                        || reasons.contains_any(&[DeficiencyReason::CmcPotency, DeficiencyReason::CmcOther]);
                }
            }
            E::ApplicationWithdrawn => pending = false,
            E::ConditionalApproval | E::FullApproval => {
                if event.event == E::FullApproval {
                    if state.conditional == ConditionalApprovalOutcome::Pending {
                        state.conditional = ConditionalApprovalOutcome::Converted;
                    }
                } else {
                    state.conditional = ConditionalApprovalOutcome::Pending;
                }
                held = Some(event.event);
                pending = false;
                lost = false;
                state.approval.get_or_insert(milestone(event));
            }
            E::ConversionRefused | E::ApprovalLapsed | E::ApprovalWithdrawn => {
                if state.conditional == ConditionalApprovalOutcome::Pending
                    && event.event != E::ApprovalWithdrawn
                {
                    state.conditional = ConditionalApprovalOutcome::NotConverted;
                }
                if event.event == E::ConversionRefused {
                    state.conditional = ConditionalApprovalOutcome::NotConverted;
                }
                held = None;
                lost = true;
            }
        }
    }
    state.status = match held {
        Some(E::FullApproval) => RegulatoryStatus::Approved,
        Some(_) => RegulatoryStatus::ConditionalApproval,
        None if lost => RegulatoryStatus::Withdrawn,
        None if pending => RegulatoryStatus::MarketingApplicationSubmitted,
        None if hold => RegulatoryStatus::ClinicalHold,
        None if authorised || state.application.is_some() => RegulatoryStatus::IndCtaOpen,
        None => RegulatoryStatus::None,
    };
    state
}

/// How far a status is along the road to patients, for the program's furthest status.
const fn rank(status: RegulatoryStatus) -> u8 {
    match status {
        RegulatoryStatus::None => 0,
        RegulatoryStatus::ClinicalHold => 1,
        RegulatoryStatus::IndCtaOpen => 2,
        RegulatoryStatus::MarketingApplicationSubmitted => 3,
        RegulatoryStatus::Withdrawn => 4,
        RegulatoryStatus::ConditionalApproval => 5,
        RegulatoryStatus::Approved => 6,
    }
}

/// What the model reads from the jurisdictions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct RegulatoryFacts {
    pub target_regulators: Option<Set<Regulator>>,
    pub interactions: Option<Set<RegulatoryInteraction>>,
    pub designations: Option<Set<Designation>>,
    pub status: Option<RegulatoryStatus>,
    pub conditional_approval: Option<ConditionalApprovalOutcome>,
    pub trial_authorisation: Option<Milestone>,
    pub application: Option<Milestone>,
    pub approval: Option<Milestone>,
    pub deficiencies: Option<Set<DeficiencyReason>>,
}

fn earliest(a: Option<Milestone>, b: Option<Milestone>) -> Option<Milestone> {
    match (a, b) {
        (Some(a), Some(b)) => {
            Some(if b.date.is_some() && (a.date.is_none() || b.date < a.date) { b } else { a })
        }
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<Milestone>, b: Option<Milestone>) -> Option<Milestone> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.date >= a.date { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The union of the stated sets; unknown when none is stated.
fn union_of<T: super::input_types::Member>(sets: Vec<Option<Set<T>>>) -> Option<Set<T>> {
    sets.into_iter().flatten().reduce(Set::union)
}

/// Reads the jurisdictions: each regulator's status, the furthest of them, and the milestones.
pub(crate) fn regulatory_facts(jurisdictions: &[Jurisdiction]) -> RegulatoryFacts {
    let stated: Set<Regulator> = jurisdictions.iter().filter_map(|j| j.regulator).collect();
    let only_unstated = stated.is_empty() && !jurisdictions.is_empty();
    let meetings: Vec<Option<Set<RegulatoryInteraction>>> = jurisdictions
        .iter()
        .map(|j| j.meetings.as_ref().map(|list| list.iter().map(|m| m.kind).collect()))
        .collect();
    let designations: Vec<Option<Set<Designation>>> = jurisdictions
        .iter()
        .map(|j| j.designations.as_ref().map(|list| list.iter().map(|d| d.kind).collect()))
        .collect();
    let mut facts = RegulatoryFacts {
        target_regulators: (!only_unstated).then_some(stated),
        interactions: union_of(meetings),
        designations: union_of(designations),
        ..RegulatoryFacts::default()
    };
    let mut any_unknown = false;
    let mut deficiencies = Set::EMPTY;
    for jurisdiction in jurisdictions {
        let Some(events) = &jurisdiction.events else {
            any_unknown = true;
            continue;
        };
        let state = read(jurisdiction.regulator, events);
        if facts.status.is_none_or(|furthest| rank(state.status) > rank(furthest)) {
            facts.status = Some(state.status);
            facts.conditional_approval = Some(state.conditional);
        }
        facts.trial_authorisation = earliest(facts.trial_authorisation, state.authorisation);
        facts.application = latest(facts.application, state.application);
        facts.approval = earliest(facts.approval, state.approval);
        deficiencies = deficiencies.union(state.deficiencies);
    }
    // A regulator whose history is unknown adds nothing: the furthest known status is a lower
    // bound, and the gates never credit more than it.
    facts.deficiencies = (!any_unknown || !deficiencies.is_empty()).then_some(deficiencies);
    facts
}
