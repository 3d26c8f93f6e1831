//! The model as data: everything a model version decides (weights, value maps, caps, evidence,
//! mitigations, indication profiles) in one document. It is read from the files of
//! `model_data/`, validated into a [`super::Model`], and served as is so that every number can be
//! traced.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::factors::{Barrier, Criticality, FactorCode};
use super::input_types::categorical;
use super::profile::{
    Carrier, Indication, Mechanism, PotencyAnalyte, Profile, Prom, Regulator, Route, StructuralEndpoint,
    TissueSource, TrialPhase,
};
use super::readiness::ReadinessDefinition;

/// The whole scoring model of one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelDocument {
    /// Model version (semantic versioning); every assessment records it.
    #[schema(example = "1.1.0")]
    pub version: String,
    /// What the model is, in a sentence.
    pub description: String,
    /// Thresholds for bands, weak factors and the `unclear` flag.
    pub thresholds: Thresholds,
    /// Confidence weight of each input evidence level (research §9.6).
    pub evidence_weights: EvidenceWeights,
    /// Numeric constants taken from the seeds and external calibration.
    pub constants: Constants,
    /// Versions of the model, newest first.
    pub changelog: Vec<ChangelogEntry>,
    /// How this version agrees with what happened to real MSC programs: the back-test summary
    /// (full report: `docs/validation.md`).
    pub validation: ValidationSummary,
    /// The seven barriers with their evidence.
    pub barriers: Vec<BarrierDefinition>,
    /// Every factor with its weight, value map and evidence.
    pub factors: Vec<FactorDefinition>,
    /// Hard caps on barrier scores.
    pub caps: Vec<CapDefinition>,
    /// Bonus points on barrier scores.
    pub bonuses: Vec<BonusDefinition>,
    /// Mechanisms of action with their potency markers and fitting tissue sources.
    pub mechanisms: Vec<MechanismDefinition>,
    /// Indication profiles: barrier weights, route fit, hostility, outcome sets.
    pub indication_profiles: Vec<IndicationProfileDefinition>,
    /// What each group of regulators expects (factor RG4).
    pub region_checklists: Vec<RegionChecklist>,
    /// The mitigation catalogue.
    pub mitigations: Vec<MitigationDefinition>,
    /// Consistency warnings.
    pub warnings: Vec<WarningDefinition>,
    /// MSC-TRL gates, regression rules, consistency checks and MRL-lite (research §10).
    pub readiness: ReadinessDefinition,
    /// The evidence registry: seed claims with their citation as written and verification
    /// status, and external calibration facts with their source.
    pub evidence: Vec<Evidence>,
    /// A readable label and a description for every value of the enums shown in results, lists
    /// and exports, keyed by the field that carries them (`indication`, `stage`, `band`,
    /// `verification_status`, ...). Derived from the model's types when the document is served;
    /// the model's files leave it out.
    #[serde(default)]
    pub labels: BTreeMap<String, Vec<super::labels::ValueLabel>>,
}

/// The back-test of a model version against real programs, each scored as it stood at a dated
/// decision point (just before a pivotal readout or a regulatory decision). A test keeps these
/// figures equal to what `msc-readiness backtest` computes from `validation/cases/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationSummary {
    /// Where the full report is, with every case, its sources, level and index.
    #[schema(example = "docs/validation.md")]
    pub report: String,
    /// Real decision points scored.
    pub cases: u32,
    /// Programs approved by the decision.
    pub approved: u32,
    /// Of those, how many the model puts at MSC-TRL 8 or more.
    pub approved_at_level_8_or_more: u32,
    /// Programs whose profile states a failed pivotal trial.
    pub failed_pivotal: u32,
    /// Of those, how many the model puts at MSC-TRL 7 or less.
    pub failed_pivotal_at_level_7_or_less: u32,
    /// Programs in clinical trials.
    pub in_clinical_trials: u32,
    /// Of those, how many the model puts above MSC-TRL 0.
    pub in_clinical_trials_above_level_0: u32,
    /// Same-stage pairs of a program that went on and one that did not.
    pub same_stage_pairs: u32,
    /// Share (0-1) of those pairs in which the one that went on has the higher index.
    pub same_stage_pairs_ordered_right: f64,
    /// AUC (0-1) of the index for success against failure over all cases.
    pub auc: f64,
    /// Lowest and highest AUC over the weight draws.
    pub auc_over_weight_draws: [f64; 2],
    /// Weight draws of the robustness analysis.
    pub weight_draws: u32,
    /// Each weight is multiplied by a factor drawn uniformly from 1 ± this.
    pub weight_spread: f64,
}

/// Thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Scores from here up are `weak` rather than `critical`.
    pub band_weak_from: f64,
    /// Scores from here up are `moderate`.
    pub band_moderate_from: f64,
    /// Scores from here up are `strong`.
    pub band_strong_from: f64,
    /// Factors valued below this (0-1) are weak and get mitigations.
    pub weak_factor_value: f64,
    /// The overall assessment is `unclear` below this confidence (0-1).
    pub unclear_below_confidence: f64,
    /// Barriers weighted at least this much (percent)...
    pub heavy_barrier_weight: u32,
    /// ...make the assessment `unclear` when their coverage is below this (0-1).
    pub heavy_barrier_min_coverage: f64,
}

/// Confidence weight (0-1) of each evidence level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceWeights {
    /// Stated without documents.
    pub claimed: f64,
    /// Backed by documents.
    pub documented: f64,
    /// Independently verified.
    pub independently_verified: f64,
    /// When the section gives no evidence level.
    pub omitted: f64,
}

/// Numeric constants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Constants {
    /// Cells one 2D flask batch yields (MF-01: about 10^8).
    pub flask_batch_capacity_cells: f64,
    /// Media price per litre, USD (MF-04: $500-1,000; the midpoint).
    pub media_usd_per_litre: f64,
    /// Cost multiplier of a cryopreserved cold chain (MF-06: +30 %).
    pub cold_chain_cost_multiplier: f64,
    /// Intradiscal injection volume of the clinical precedent, mL (rexlemestrocel-L).
    pub intradiscal_volume_precedent_ml: f64,
}

/// One model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangelogEntry {
    /// The version.
    pub version: String,
    /// Release date, ISO 8601.
    pub date: String,
    /// What changed and why.
    pub changes: Vec<String>,
}

/// A barrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BarrierDefinition {
    /// The barrier.
    pub barrier: Barrier,
    /// Display name.
    pub name: String,
    /// What it covers.
    pub description: String,
    /// Evidence that it is a barrier.
    pub evidence: Vec<EvidenceLink>,
}

/// A factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorDefinition {
    /// Research §9.3 code.
    pub code: FactorCode,
    /// The barrier it belongs to.
    pub barrier: Barrier,
    /// Display name.
    pub name: String,
    /// Weight within the barrier; a barrier's weights sum to 100.
    pub weight: u32,
    /// When an unknown counts as worst case.
    pub critical: Criticality,
    /// Why the factor matters, in one sentence.
    pub rationale: String,
    /// The rationale in the words of one indication profile (by profile id), where the general
    /// one would speak of another indication.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rationale_by_profile: BTreeMap<String, String>,
    /// Value (0-1) and meaning of each level. Empty for route fit (values come from the
    /// indication profile) and checklists (value = share of items met).
    #[serde(default)]
    pub levels: Vec<LevelDefinition>,
    /// Checklist items, for checklist factors.
    #[serde(default)]
    pub checklist: Vec<ChecklistItemDefinition>,
    /// Evidence for the factor and its value map.
    pub evidence: Vec<EvidenceLink>,
}

/// One level of a factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelDefinition {
    /// Level key.
    pub key: String,
    /// Value, 0 (worst) to 1 (best).
    pub value: f64,
    /// What the level means.
    pub label: String,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItemDefinition {
    /// Item key.
    pub key: String,
    /// What the item requires.
    pub label: String,
}

categorical! {
    /// A hard cap on a barrier score.
    pub enum CapCode {
        /// Severe microenvironment with neither preconditioning nor a protective carrier.
        SurvivalUnmitigatedHostileMicroenvironment => "survival_unmitigated_hostile_microenvironment",
        /// The route cannot reach the target.
        RetentionRouteCannotReachTarget => "retention_route_cannot_reach_target",
        /// No mechanism-linked potency assay.
        VariabilityNoMoaLinkedPotencyAssay => "variability_no_moa_linked_potency_assay",
        /// The pivotal trial failed or the authorisation was withdrawn.
        RegulatoryPivotalFailureOrWithdrawal => "regulatory_pivotal_failure_or_withdrawal",
    }
}

/// A cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapDefinition {
    /// The cap.
    pub cap: CapCode,
    /// The barrier it caps.
    pub barrier: Barrier,
    /// Highest score the barrier can have while the cap applies.
    pub limit: f64,
    /// When it applies and why.
    pub reason: String,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

categorical! {
    /// A bonus on a barrier score.
    pub enum BonusCode {
        /// An expedited-programme designation.
        RegulatoryDesignation => "regulatory_designation",
    }
}

/// A bonus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BonusDefinition {
    /// The bonus.
    pub bonus: BonusCode,
    /// The barrier it raises.
    pub barrier: Barrier,
    /// Points added (the score stays at most 100).
    pub points: f64,
    /// When it applies and why.
    pub reason: String,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

/// A mechanism of action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MechanismDefinition {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// Potency analytes that measure it (an assay of one of these is MoA-linked).
    pub potency_markers: Vec<PotencyAnalyte>,
    /// Tissue sources the seeds tie to it (factor VA2).
    pub fitting_sources: Vec<TissueSource>,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

categorical! {
    /// How hostile the target microenvironment is to injected cells.
    pub enum Hostility {
        /// Low (systemic immunomodulation: hit-and-run paracrine action).
        Low => "low",
        /// Moderate (joint, fistula, CNS).
        Moderate => "moderate",
        /// High (disc Pfirrmann I-II, limb ischaemia).
        High => "high",
        /// Severe (disc Pfirrmann III or worse, ischaemic myocardium): preconditioning and a
        /// protective carrier become critical and survival is capped without them.
        Severe => "severe",
    }
}

categorical! {
    /// How far an indication profile is worked out.
    pub enum ProfileMaturity {
        /// Fully worked: sourced hostility with its severity stratifier, a cited fit for every
        /// route, standard endpoints with MCIDs, indication-specific procedure risks and a
        /// reference program (issue 15).
        Worked => "worked",
        /// Some of that is missing; `maturity_note` says what.
        Draft => "draft",
    }
}

/// A severity stratifier the literature grades (issue 15): on the milder side of a threshold the
/// microenvironment is milder than the profile's hostility, which applies to the rest and
/// whenever the program does not state the measure (unknown is read at its worst).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "measure", rename_all = "snake_case", deny_unknown_fields)]
pub enum SeverityStratifier {
    /// Disc: Pfirrmann grades below `milder_below` are milder.
    PfirrmannGrade {
        /// The first grade the profile's hostility applies to.
        milder_below: u32,
        /// Hostility below it.
        hostility: Hostility,
    },
    /// Knee osteoarthritis: Kellgren-Lawrence grades below `milder_below` are milder.
    KellgrenLawrenceGrade {
        /// The first grade the profile's hostility applies to.
        milder_below: u32,
        /// Hostility below it.
        hostility: Hostility,
    },
    /// Limb ischaemia: Rutherford categories below `milder_below` are milder.
    RutherfordCategory {
        /// The first category the profile's hostility applies to.
        milder_below: u32,
        /// Hostility below it.
        hostility: Hostility,
    },
    /// Infarct, stroke, spinal cord injury: dosing from `milder_from` days after onset is milder.
    DaysSinceOnset {
        /// The first day after onset that is milder.
        milder_from: u32,
        /// Hostility from then on.
        hostility: Hostility,
    },
}

impl SeverityStratifier {
    /// The input key of the measure.
    pub const fn measure(self) -> &'static str {
        match self {
            Self::PfirrmannGrade { .. } => "pfirrmann_grade",
            Self::KellgrenLawrenceGrade { .. } => "kellgren_lawrence_grade",
            Self::RutherfordCategory { .. } => "rutherford_category",
            Self::DaysSinceOnset { .. } => "days_since_onset",
        }
    }

    /// The program's value of the measure, if it states it.
    pub(crate) fn measured(self, facts: &super::facts::Facts) -> Option<u32> {
        match self {
            Self::PfirrmannGrade { .. } => facts.pfirrmann_grade,
            Self::KellgrenLawrenceGrade { .. } => facts.kellgren_lawrence_grade,
            Self::RutherfordCategory { .. } => facts.rutherford_category,
            Self::DaysSinceOnset { .. } => facts.days_since_onset,
        }
    }

    /// The milder hostility, when the value lies on the milder side of the threshold.
    pub const fn milder(self, value: u32) -> Option<Hostility> {
        match self {
            Self::PfirrmannGrade { milder_below, hostility }
            | Self::KellgrenLawrenceGrade { milder_below, hostility }
            | Self::RutherfordCategory { milder_below, hostility }
                if value < milder_below =>
            {
                Some(hostility)
            }
            Self::DaysSinceOnset { milder_from, hostility } if value >= milder_from => Some(hostility),
            _ => None,
        }
    }

    /// The threshold in words, for the assessment's modifier.
    pub fn threshold(self) -> String {
        match self {
            Self::PfirrmannGrade { milder_below, .. }
            | Self::KellgrenLawrenceGrade { milder_below, .. }
            | Self::RutherfordCategory { milder_below, .. } => format!("values below {milder_below}"),
            Self::DaysSinceOnset { milder_from, .. } => format!("dosing from day {milder_from}"),
        }
    }

    /// Whether the threshold lies inside the measure's range (so both strata can occur).
    pub const fn within_range(self) -> bool {
        match self {
            Self::PfirrmannGrade { milder_below, .. } => milder_below >= 2 && milder_below <= 5,
            Self::KellgrenLawrenceGrade { milder_below, .. } => milder_below >= 1 && milder_below <= 4,
            Self::RutherfordCategory { milder_below, .. } => milder_below >= 1 && milder_below <= 6,
            Self::DaysSinceOnset { milder_from, .. } => milder_from >= 1 && milder_from <= 36500,
        }
    }
}

/// Barrier weights of an indication profile, in percent; they sum to 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BarrierWeights {
    /// Survival.
    pub survival: u32,
    /// Retention.
    pub retention: u32,
    /// Variability.
    pub variability: u32,
    /// Scalability.
    pub scalability: u32,
    /// Safety.
    pub safety: u32,
    /// Outcomes.
    pub outcomes: u32,
    /// Regulatory.
    pub regulatory: u32,
}

impl BarrierWeights {
    /// The weight of one barrier.
    pub fn of(&self, barrier: Barrier) -> u32 {
        match barrier {
            Barrier::Survival => self.survival,
            Barrier::Retention => self.retention,
            Barrier::Variability => self.variability,
            Barrier::Scalability => self.scalability,
            Barrier::Safety => self.safety,
            Barrier::Outcomes => self.outcomes,
            Barrier::Regulatory => self.regulatory,
        }
    }
}

/// An indication profile (research §9.9-9.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicationProfileDefinition {
    /// Profile id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// How far it is worked out.
    pub maturity: ProfileMaturity,
    /// The profile this one was split from (issue 15), for the reader: nothing is inherited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_from: Option<String>,
    /// Indications scored with this profile.
    pub indications: Vec<Indication>,
    /// Barrier weights.
    pub barrier_weights: BarrierWeights,
    /// Microenvironment hostility.
    pub hostility: Hostility,
    /// Why that hostility, with the sources, and the severity strata the literature has.
    pub hostility_rationale: String,
    /// The severity stratifier the literature grades, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_stratifier: Option<SeverityStratifier>,
    /// The target tissue is hypoxic, so hypoxic preconditioning matches it (SV1).
    pub target_tissue_hypoxic: bool,
    /// The target is a local tissue: systemic delivery cannot place cells there.
    pub local_target: bool,
    /// A lethal orphan setting where external controls are accepted (OM3).
    pub orphan_lethal: bool,
    /// Months of efficacy follow-up the indication's standard asks for before a marketing
    /// decision, where it differs from the level-8 durability gate's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability_months: Option<f64>,
    /// Structural endpoints are meaningful (OM2); otherwise OM2 is not applicable.
    pub structural_endpoint_relevant: bool,
    /// Mechanisms assumed when the program gives none.
    pub default_mechanisms: Vec<Mechanism>,
    /// A carrier with a clinical precedent in this indication (SV2).
    #[serde(default)]
    pub carrier_precedent: Option<Carrier>,
    /// Route fit (0-1) of every route, each with its reason and evidence (RT1).
    pub route_fit: BTreeMap<Route, RouteFit>,
    /// Where the literature rates routes differently once the disease is chronic, the route fit
    /// from a day after onset on; `route_fit` then holds the earlier phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chronic_route_fit: Option<ChronicRouteFit>,
    /// The standard outcome set: every group must be covered by at least one measure (OM1).
    /// Empty: two validated measures count as a full set.
    #[serde(default)]
    pub standard_proms: Vec<Vec<Prom>>,
    /// The standard outcome set in words.
    pub outcome_set: String,
    /// The quantitative structural endpoints OM2's mitigation proposes; empty exactly when
    /// structural endpoints are not relevant.
    #[serde(default)]
    pub structural_endpoints: Vec<StructuralEndpoint>,
    /// The potency marker the potency mitigations propose: a marker of one of the default
    /// mechanisms.
    pub potency_marker: PotencyMarkerChoice,
    /// The minimal clinically important differences (or the accepted responder thresholds) of
    /// the standard endpoints, with their sources.
    pub mcid: String,
    /// Programs scored under this profile that document it: a back-test case
    /// (`validation/cases/…`) or a reference program (`src/scoring/reference_programs/…`).
    pub reference_programs: Vec<String>,
    /// What the profile still lacks to be worked, or, for the generic profile, its limits; shown
    /// with every assessment that uses the profile. Absent exactly when the profile is worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maturity_note: Option<String>,
    /// Evidence for the profile's choices.
    pub evidence: Vec<EvidenceLink>,
}

/// Route fit in the chronic phase of an indication. A program that does not state the days
/// since onset is read at the lower of the two fits of its route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChronicRouteFit {
    /// The first day after onset the chronic fits apply.
    pub from_day: u32,
    /// Why the chronic phase starts then.
    pub reason: String,
    /// Route fit (0-1) of every route in the chronic phase, each with its reason and evidence.
    pub routes: BTreeMap<Route, RouteFit>,
}

/// The potency marker an indication's potency mitigations propose, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PotencyMarkerChoice {
    /// The analyte.
    pub analyte: PotencyAnalyte,
    /// Why this marker for this indication.
    pub reason: String,
}

/// How well one route reaches an indication's target, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteFit {
    /// Fit, 0-1.
    pub fit: f64,
    /// Why: retention or biodistribution data, clinical precedent, an approved product's route,
    /// or the anatomy.
    pub reason: String,
    /// Evidence the reason rests on; empty where the anatomy alone decides.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// What one group of regulators expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionChecklist {
    /// Checklist id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Regulators it applies to; empty for the common core.
    pub regulators: Vec<Regulator>,
    /// The common core: what every regulator asks, checked whenever any regulator is targeted
    /// (the other checklists hold only the regional differences).
    #[serde(default)]
    pub common: bool,
    /// Items.
    pub items: Vec<RegionItem>,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

/// A region checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionItem {
    /// Item key.
    pub key: String,
    /// What the regulator expects.
    pub label: String,
    /// How the item is checked.
    pub requirement: Requirement,
}

/// How a region item is checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Requirement {
    /// Another factor reaches a value (a not-applicable factor meets it).
    FactorAtLeast {
        /// The factor.
        factor: FactorCode,
        /// Minimum value, 0-1.
        min_value: f64,
    },
    /// A clinical phase is completed.
    CompletedPhaseAtLeast {
        /// The phase.
        phase: TrialPhase,
    },
}

categorical! {
    /// How mature a mitigation is.
    pub enum Maturity {
        /// Research stage.
        Research => "research",
        /// Emerging technology or vendor claim.
        Emerging => "emerging",
        /// Shown in preclinical studies.
        Preclinical => "preclinical",
        /// Established preclinically.
        EstablishedPreclinical => "established_preclinical",
        /// Used clinically.
        Clinical => "clinical",
        /// Established practice.
        Established => "established",
    }
}

categorical! {
    /// How much work a mitigation takes.
    pub enum Effort {
        /// Low.
        Low => "low",
        /// Medium.
        Medium => "medium",
        /// High.
        High => "high",
    }
}

/// A mitigation in the catalogue (research §3.10, §9.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MitigationDefinition {
    /// Mitigation id.
    pub id: String,
    /// The weak factor it addresses.
    pub factor: FactorCode,
    /// What to do.
    pub action: String,
    /// Maturity.
    pub maturity: Maturity,
    /// Effort.
    pub effort: Effort,
    /// A trade-off to weigh, if any.
    #[serde(default)]
    pub tradeoff: Option<String>,
    /// The profile change the model re-scores to compute the gain (lists are added to).
    #[serde(default)]
    pub change: Option<Profile>,
    /// A prerequisite: offered only once the program's MSC-TRL is at least this level (no
    /// pivotal-design agreement before first-in-human data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_level: Option<u8>,
    /// A prerequisite: offered only while no clinical trial has been authorised (a change of
    /// tissue source after first-in-human makes a new product, EXT-CMC-COMPARABILITY).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_before_first_in_human: bool,
    /// The change per indication profile id, where it depends on the indication and no profile
    /// field says it; the mitigation is offered only for the profiles listed (or derived).
    #[serde(default)]
    pub change_by_profile: BTreeMap<String, Profile>,
    /// The change read from each indication profile's own data, so a profile states it once;
    /// a `change_by_profile` row for a profile takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_from_profile: Option<ProfileDerivedChange>,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

categorical! {
    /// A mitigation's change that each indication profile's own data decides.
    pub enum ProfileDerivedChange {
        /// The route with the profile's highest route fit.
        BestRoute => "best_route",
        /// The first measure of every group of the profile's standard outcome set.
        StandardOutcomeSet => "standard_outcome_set",
        /// An exploratory quantitative assay of the profile's potency marker.
        ExploratoryPotencyAssay => "exploratory_potency_assay",
        /// A validated lot-release assay of the profile's potency marker.
        LotReleasePotencyAssay => "lot_release_potency_assay",
        /// The profile's structural endpoints.
        StructuralEndpoints => "structural_endpoints",
    }
}

categorical! {
    /// A consistency warning.
    pub enum WarningCode {
        /// Systemic delivery for a local target.
        SystemicRouteForLocalTarget => "systemic_route_for_local_target",
        /// A late-stage program without a mechanism-linked potency assay.
        LateStageWithoutMoaLinkedPotency => "late_stage_without_moa_linked_potency",
        /// Allogeneic repeat dosing without immunogenicity monitoring.
        AllogeneicRepeatDosingUnmonitored => "allogeneic_repeat_dosing_unmonitored",
        /// Viability below the 70 % release criterion.
        ViabilityBelowReleaseCriterion => "viability_below_release_criterion",
        /// Intradiscal volume above the clinical precedent.
        IntradiscalVolumeAbovePrecedent => "intradiscal_volume_above_precedent",
        /// A product class the model is not calibrated for.
        ProductClassOutsideCalibration => "product_class_outside_calibration",
        /// Indication unknown: generic profile used.
        IndicationUnknown => "indication_unknown",
        /// MSC-TRL 7 or higher with unresolved variability (a late program whose lots still vary).
        LateLevelWithUnresolvedVariability => "late_level_with_unresolved_variability",
        /// MSC-TRL 6 or higher with an outcomes score too low to support approval.
        TrialDesignUnlikelyToSupportApproval => "trial_design_unlikely_to_support_approval",
        /// MRL-lite below what the MSC-TRL calls for.
        ManufacturingReadinessBehindLevel => "manufacturing_readiness_behind_level",
    }
}

categorical! {
    /// How serious a warning is.
    pub enum Severity {
        /// Worth checking.
        Caution => "caution",
        /// Likely to block translation.
        Serious => "serious",
    }
}

/// A consistency warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningDefinition {
    /// The warning.
    pub warning: WarningCode,
    /// Severity.
    pub severity: Severity,
    /// Message shown.
    pub message: String,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

categorical! {
    /// How an evidence entry bears on what cites it.
    pub enum EvidenceRole {
        /// Supports it.
        Supports => "supports",
        /// Calibrates a threshold or value.
        Calibrates => "calibrates",
        /// A caveat: a claim that is outdated, wrong or unverified, shown so that it is not
        /// mistaken for support. Never counts as support.
        Caveat => "caveat",
    }
}

/// A reference from a model element to the evidence registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceLink {
    /// Claim id in the registry.
    pub claim: String,
    /// Role.
    pub role: EvidenceRole,
}

categorical! {
    /// Verification status of a claim (research §4 and its flags).
    pub enum VerificationStatus {
        /// A seed claim that an outside source, attached as `confirmed_by`, confirms (✅ with a
        /// reference in research.md).
        ExternallyConfirmed => "externally_confirmed",
        /// A seed claim no attached outside source confirms: research.md marks it – or ✅ without
        /// naming a source.
        SeedAsserted => "seed_asserted",
        /// A seed claim or number that could not be checked, e.g. a vendor claim (❓); or an
        /// outside claim the research names a source for but could not confirm from it
        /// (UNCONFIRMED in the indication research): it carries `external_source` and no seed.
        Unverifiable => "unverifiable",
        /// A seed claim that has been overtaken by events (⚠️).
        Outdated => "outdated",
        /// A seed claim contradicted or mis-attributed (⚠️).
        Contradicted => "contradicted",
        /// An external calibration fact, not from the seeds.
        ExternalSource => "external_source",
    }
}

impl VerificationStatus {
    /// Whether a claim with this status may support anything.
    pub const fn may_support(self) -> bool {
        !matches!(self, Self::Outdated | Self::Contradicted)
    }
}

/// An evidence registry entry. Seed claims carry the seed file, a verbatim quote and the
/// citation exactly as the seed wrote it, and, when `externally_confirmed`, the outside source that
/// confirms them; external facts carry their source as research.md lists it. Either kind may carry
/// the URL, DOI, PubMed ids or registry id of its outside source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Claim id (research §3 ids for seed claims, `EXT-…` for external facts).
    #[schema(example = "RT-01")]
    pub id: String,
    /// The claim, condensed.
    pub claim: String,
    /// Verification status.
    pub verification_status: VerificationStatus,
    /// Why that status, when not simply confirmed.
    #[serde(default)]
    pub verification_note: Option<String>,
    /// Seed file the claim comes from.
    #[serde(default)]
    pub seed_file: Option<String>,
    /// Section of the seed, as the seed numbers it.
    #[serde(default)]
    pub locator: Option<String>,
    /// A verbatim excerpt of the seed.
    #[serde(default)]
    pub quote: Option<String>,
    /// The citation exactly as the seed wrote it; absent where the seed cites nothing.
    #[serde(default)]
    #[schema(example = "Burdick et al., 2016")]
    pub citation: Option<String>,
    /// For external facts: the source as research.md lists it.
    #[serde(default)]
    pub external_source: Option<String>,
    /// For an `externally_confirmed` seed claim: the outside source that confirms it, exactly as
    /// research.md (or `sources/external.md`) gives it. Required for that status.
    #[serde(default)]
    #[schema(example = "trials.co/NCT00366145")]
    pub confirmed_by: Option<String>,
    /// A URL of the outside source (`external_source` or `confirmed_by`).
    #[serde(default)]
    pub url: Option<String>,
    /// DOI of the outside source, where the research gives one.
    #[serde(default)]
    #[schema(example = "10.1186/s13287-020-01696-6")]
    pub doi: Option<String>,
    /// PubMed id of the outside source, where the research gives one.
    #[serde(default)]
    pub pmid: Option<String>,
    /// PubMed Central id of the outside source, where the research gives one.
    #[serde(default)]
    #[schema(example = "PMC7294366")]
    pub pmcid: Option<String>,
    /// Trial registry or regulatory docket id of the outside source (NCT…, EudraCT, FDA docket),
    /// where the research gives one.
    #[serde(default)]
    #[schema(example = "NCT00366145")]
    pub registry_id: Option<String>,
}
