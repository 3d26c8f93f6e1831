//! Profile version 2's clinical trials (`clinical.trials[]`): each trial as a registry or paper
//! states it, and the program-level facts the model reads from the list (last completed phase,
//! the design of the most advanced efficacy trial, the pivotal result, the efficacy evidence).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input_types::{Label, bounded_count, bounded_real, categorical};
use super::profile::{Blinding, ControlArm, Months, PivotalResult, Prom, Regulator, Source, TrialPhase};

bounded_count!(
    /// A number of trial participants, 1 to 1,000,000.
    Participants, 1..=1000000, "participants"
);
bounded_real!(
    /// A p-value, 0 to 1.
    PValue, 0.0..=1.0, "(p-value)"
);

categorical! {
    /// The phase of one trial, as its registry record gives it.
    pub enum Phase {
        /// Phase 1.
        Phase1 => "phase1",
        /// Phase 1/2.
        Phase12 => "phase1_2",
        /// Phase 2.
        Phase2 => "phase2",
        /// Phase 2/3 (a seamless design; counts as Phase 3 once completed).
        Phase23 => "phase2_3",
        /// Phase 3.
        Phase3 => "phase3",
        /// Phase 4 (post-marketing).
        Phase4 => "phase4",
    }
}

impl Phase {
    /// The completed-phase scale of profile version 1: a Phase 2/3 or a Phase 4 trial has done
    /// what a Phase 3 does.
    pub const fn completed_phase(self) -> TrialPhase {
        match self {
            Self::Phase1 => TrialPhase::Phase1,
            Self::Phase12 => TrialPhase::Phase12,
            Self::Phase2 => TrialPhase::Phase2,
            Self::Phase23 | Self::Phase3 | Self::Phase4 => TrialPhase::Phase3,
        }
    }
}

categorical! {
    /// Where a trial stands.
    pub enum TrialStatus {
        /// Planned, not yet enrolling.
        Planned => "planned",
        /// Enrolling or treating.
        Ongoing => "ongoing",
        /// Completed as planned.
        Completed => "completed",
        /// Stopped early (futility, safety or the sponsor's decision).
        Terminated => "terminated",
        /// Withdrawn before enrolling anyone.
        Withdrawn => "withdrawn",
    }
}

categorical! {
    /// What a trial showed on its primary endpoint.
    pub enum TrialResult {
        /// Not yet known.
        Pending => "pending",
        /// The primary endpoint was not met.
        NotMet => "not_met",
        /// The primary endpoint was not met as prespecified, but a co-primary endpoint, a key
        /// secondary endpoint or a prespecified subgroup showed benefit.
        Mixed => "mixed",
        /// The primary endpoint was met.
        Met => "met",
    }
}

/// The primary endpoint of a trial.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrimaryEndpoint {
    /// The measure, where it is one the model knows.
    pub measure: Option<Prom>,
    /// The endpoint as the registry words it.
    #[schema(example = "Overall response at day 28")]
    pub description: Option<Label>,
    /// When it is measured, months after treatment.
    pub time_frame_months: Option<Months>,
    /// Whether a responder definition or minimal clinically important difference was prespecified.
    pub responder_definition_prespecified: Option<bool>,
    /// Whether it is the standard primary endpoint of the indication.
    pub indication_standard: Option<bool>,
}

/// The effect on the primary endpoint, where public.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialEffect {
    /// The effect as published, e.g. "50 % vs 34 % combined remission".
    #[schema(example = "50 % vs 34 % combined remission at week 24")]
    pub description: Option<Label>,
    /// The p-value of the primary comparison.
    pub p_value: Option<PValue>,
    /// Whether the difference against control reaches the minimal clinically important difference.
    pub clinically_meaningful: Option<bool>,
}

/// One clinical trial.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    /// Registry identifier (NCT, EudraCT/CTIS, jRCT, CRIS, ...).
    #[schema(example = "NCT01541579")]
    pub registry_id: Option<Label>,
    /// Short title or acronym.
    #[schema(example = "ADMIRE-CD")]
    pub title: Option<Label>,
    /// Phase.
    pub phase: Option<Phase>,
    /// Where the trial stands.
    pub status: Option<TrialStatus>,
    /// Whether a marketing application rests (or is to rest) on this trial.
    pub pivotal: Option<bool>,
    /// Whether allocation is randomised.
    pub randomised: Option<bool>,
    /// Control arm.
    pub control: Option<ControlArm>,
    /// Blinding.
    pub blinding: Option<Blinding>,
    /// Planned number of participants.
    pub planned_participants: Option<Participants>,
    /// Number of participants enrolled.
    pub enrolled_participants: Option<Participants>,
    /// Whether the sample size is powered for the primary endpoint.
    pub powered_for_primary_endpoint: Option<bool>,
    /// Primary endpoint.
    pub primary_endpoint: Option<PrimaryEndpoint>,
    /// What the trial showed on its primary endpoint.
    pub result: Option<TrialResult>,
    /// The effect, where public.
    pub effect: Option<TrialEffect>,
    /// Efficacy follow-up, months.
    pub efficacy_follow_up_months: Option<Months>,
    /// Regulators of the countries where the trial runs.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub regulators: Option<Vec<Regulator>>,
    /// Where these facts come from.
    #[serde(default, deserialize_with = "super::list_limits::at_most::<20, _, _>")]
    #[schema(max_items = 20)]
    pub sources: Option<Vec<Source>>,
}

categorical! {
    /// The strength of the controlled efficacy evidence (factor OM7), weakest to strongest.
    pub enum EfficacyEvidence {
        /// The pivotal or confirmatory trial missed its primary endpoint.
        PivotalFailed => "pivotal_failed",
        /// The most informative trial missed its primary endpoint.
        NotMet => "not_met",
        /// Benefit only on a co-primary or secondary endpoint or in a subgroup.
        Mixed => "mixed",
        /// No efficacy result yet.
        NoResultYet => "no_result_yet",
        /// The primary endpoint was met without a concurrent randomised control.
        UncontrolledPositive => "uncontrolled_positive",
        /// One randomised controlled trial met its primary endpoint.
        ControlledPositive => "controlled_positive",
        /// The primary endpoint was met in two randomised controlled trials, or in one whose
        /// effect is clinically meaningful.
        ControlledPositiveReplicated => "controlled_positive_replicated",
    }
}

/// What the model reads from the list of trials.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct TrialFacts {
    pub completed_phase: Option<TrialPhase>,
    pub control_arm: Option<ControlArm>,
    pub blinding: Option<Blinding>,
    pub sample_size_powered: Option<bool>,
    pub mcid_prespecified: Option<bool>,
    pub efficacy_follow_up_months: Option<f64>,
    pub pivotal_result: Option<PivotalResult>,
    pub efficacy: Option<EfficacyReading>,
}

/// Whether a trial's comparison is randomised against a concurrent control.
fn randomised_controlled(trial: &Trial) -> Option<bool> {
    let concurrent = trial.control.map(|control| {
        matches!(
            control,
            ControlArm::StandardOfCare | ControlArm::ActiveComparator | ControlArm::PlaceboOrSham
        )
    })?;
    if !concurrent {
        return Some(false);
    }
    trial.randomised
}

fn finished(trial: &Trial) -> bool {
    matches!(trial.status, Some(TrialStatus::Completed | TrialStatus::Terminated))
}

/// Reads the list of trials.
pub(crate) fn trial_facts(trials: &[Trial]) -> TrialFacts {
    // The design of the most advanced efficacy trial: pivotal trials first, then by phase, later
    // entries first; each field from the first trial that states it.
    let mut order: Vec<(usize, &Trial)> = trials.iter().enumerate().collect();
    order.sort_by_key(|(index, trial)| {
        (
            std::cmp::Reverse(trial.pivotal == Some(true)),
            std::cmp::Reverse(trial.phase),
            std::cmp::Reverse(*index),
        )
    });
    TrialFacts {
        completed_phase: completed_phase(trials),
        control_arm: order.iter().find_map(|(_, trial)| trial.control),
        blinding: order.iter().find_map(|(_, trial)| trial.blinding),
        sample_size_powered: order.iter().find_map(|(_, trial)| trial.powered_for_primary_endpoint),
        mcid_prespecified: order.iter().find_map(|(_, trial)| {
            trial.primary_endpoint.as_ref().and_then(|e| e.responder_definition_prespecified)
        }),
        efficacy_follow_up_months: order
            .iter()
            .find_map(|(_, trial)| trial.efficacy_follow_up_months.map(Months::get)),
        pivotal_result: pivotal_result(trials),
        efficacy: efficacy(trials),
    }
}

/// The last completed phase: the highest phase among finished trials; unknown when a trial whose
/// status or phase is unknown could have raised it.
fn completed_phase(trials: &[Trial]) -> Option<TrialPhase> {
    let known = trials
        .iter()
        .filter(|trial| finished(trial))
        .filter_map(|trial| trial.phase.map(Phase::completed_phase))
        .max()
        .unwrap_or(TrialPhase::None);
    if known == TrialPhase::Phase3 {
        return Some(known);
    }
    let could_be_higher = trials.iter().any(|trial| {
        trial.status.is_none() || (finished(trial) && trial.phase.is_none_or(|p| p.completed_phase() > known))
    });
    (!could_be_higher).then_some(known)
}

/// The pivotal result: a failed pivotal trial outweighs a positive one; unknown unless a trial
/// is flagged pivotal or every trial is known not to be.
fn pivotal_result(trials: &[Trial]) -> Option<PivotalResult> {
    let pivotal: Vec<&Trial> = trials.iter().filter(|trial| trial.pivotal == Some(true)).collect();
    if pivotal.is_empty() {
        return trials.iter().all(|trial| trial.pivotal == Some(false)).then_some(PivotalResult::NotStarted);
    }
    let any = |test: &dyn Fn(&Trial) -> bool| pivotal.iter().any(|trial| test(trial));
    if any(&|t| matches!(t.result, Some(TrialResult::NotMet | TrialResult::Mixed))) {
        Some(PivotalResult::FailedPrimaryEndpoint)
    } else if any(&|t| t.result == Some(TrialResult::Met)) {
        Some(PivotalResult::MetPrimaryEndpoint)
    } else if any(&|t| t.status == Some(TrialStatus::Ongoing) || t.result == Some(TrialResult::Pending)) {
        Some(PivotalResult::Ongoing)
    } else if any(&|t| t.status == Some(TrialStatus::Planned)) {
        Some(PivotalResult::NotStarted)
    } else {
        None
    }
}

/// The strength of the efficacy evidence as far as the trials tell it: the level, and whether it
/// is certain or only the worst case of results the profile does not state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EfficacyReading {
    pub level: EfficacyEvidence,
    pub certain: bool,
}

/// The strength of the efficacy evidence (OM8): what the trials showed on their primary
/// endpoints, apart from how they were designed. Phase 1 trials test safety and are not read.
/// A pivotal or Phase 3 trial that missed its primary endpoint is decisive: with no positive
/// decisive trial it sets the level to `pivotal_failed` whatever came before (the failed-Phase-3
/// evidence OM8 cites in model_data/factors.toml); beside a positive decisive trial the evidence
/// conflicts and reads `mixed`. A finished trial whose result is not stated could be a failure: the reading
/// is then uncertain, with the failure it could be as its worst case, unless a positive result
/// already known makes the unstated one unable to lower it.
fn efficacy(trials: &[Trial]) -> Option<EfficacyReading> {
    use EfficacyEvidence as E;
    let decisive = |trial: &Trial| {
        trial.pivotal == Some(true)
            || trial.phase.is_some_and(|phase| phase.completed_phase() == TrialPhase::Phase3)
    };
    let (mut best, mut controlled_positive, mut meaningful) = (E::NoResultYet, 0, false);
    let (mut positive_decisive, mut failed_decisive) = (false, false);
    let (mut unknown_decisive, mut unknown_other) = (false, false);
    for trial in trials.iter().filter(|trial| trial.phase != Some(Phase::Phase1)) {
        let evidence = match trial.result {
            Some(TrialResult::Met) => {
                positive_decisive |= decisive(trial);
                // An unstated control reads as none: unknown never beats the worst honest answer.
                if randomised_controlled(trial) == Some(true) {
                    controlled_positive += 1;
                    meaningful |= trial.effect.as_ref().and_then(|e| e.clinically_meaningful) == Some(true);
                    E::ControlledPositive
                } else {
                    E::UncontrolledPositive
                }
            }
            Some(TrialResult::Mixed) => {
                failed_decisive |= decisive(trial);
                E::Mixed
            }
            Some(TrialResult::NotMet) => {
                failed_decisive |= decisive(trial);
                E::NotMet
            }
            Some(TrialResult::Pending) => E::NoResultYet,
            None if matches!(
                trial.status,
                Some(TrialStatus::Planned | TrialStatus::Ongoing | TrialStatus::Withdrawn)
            ) =>
            {
                E::NoResultYet
            }
            None => {
                // A trial not known to be non-pivotal could be the pivotal one.
                if decisive(trial) || trial.pivotal.is_none() {
                    unknown_decisive = true;
                } else {
                    unknown_other = true;
                }
                E::NoResultYet
            }
        };
        best = best.max(evidence);
    }
    if controlled_positive >= 2 || (controlled_positive == 1 && meaningful) {
        best = E::ControlledPositiveReplicated;
    }
    let certain = |level| Some(EfficacyReading { level, certain: true });
    if failed_decisive {
        return certain(if positive_decisive { E::Mixed } else { E::PivotalFailed });
    }
    if unknown_decisive {
        let worst = if positive_decisive { E::Mixed } else { E::PivotalFailed };
        return Some(EfficacyReading { level: worst.min(best), certain: false });
    }
    if unknown_other && best < E::UncontrolledPositive {
        return Some(EfficacyReading { level: E::NotMet, certain: false });
    }
    certain(best)
}
