//! MSC-TRL readiness levels (research §10): what a program has *evidenced*, gated rather than
//! averaged. Gates are model data (`model_data/readiness.toml`); each names a [`GateTest`] that
//! this module implements on the normalised facts. An unknown input never passes a gate.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::assessment::{EvidenceCitation, ItemState};
use super::document::{EvidenceLink, Hostility, WarningCode};
use super::engine::Scores;
use super::factors::{Barrier, FactorCode, Reading};
use super::facts::{Facts, PotencyTiers};
use super::input_types::{Set, categorical};
use super::jurisdictions::{ApprovalPathway, Milestone};
use super::model::Model;
use super::profile::*;
use super::shared::{Shared, Text};

/// The highest MSC-TRL.
pub const MAX_LEVEL: u8 = 9;
/// The highest MRL-lite level.
pub const MAX_MRL_LEVEL: u8 = 10;

categorical! {
    /// An evidence stream a gate belongs to (research §10.2 gate types).
    pub enum Stream {
        /// Clinical trials and follow-up [C].
        Clinical => "clinical",
        /// CMC / manufacturing [M].
        Cmc => "cmc",
        /// Potency assays and other product-development tools [P].
        PotencyTools => "potency_tools",
        /// Nonclinical studies [N].
        Nonclinical => "nonclinical",
        /// Regulatory milestones [R].
        Regulatory => "regulatory",
    }
}

categorical! {
    /// An event that lowers the level (research §10.2 regression rules).
    pub enum RegressionEvent {
        /// The pivotal trial failed its primary endpoint.
        PivotalFailure => "pivotal_failure",
        /// The marketing authorisation was withdrawn.
        AuthorisationWithdrawn => "authorisation_withdrawn",
        /// A conditional approval was not converted to full approval.
        ConditionalApprovalNotConverted => "conditional_approval_not_converted",
    }
}

categorical! {
    /// The least mature tier a potency assay must reach.
    pub enum PotencyTier {
        /// Quantitative, exploratory or better.
        Exploratory => "exploratory",
        /// Qualified (or validated) or better.
        Qualified => "qualified",
        /// Validated lot-release test with an acceptance criterion.
        LotRelease => "lot_release",
    }
}

categorical! {
    /// A gate's state. A gate is credited when it is met by its own check or implied by a
    /// regulatory milestone.
    pub enum GateState {
        /// Met by the profile's own answers.
        Met => "met",
        /// Credited because a regulator approved the product (conditionally or fully): an
        /// approval covers every requirement up to the marketing decision (biomedical TRL 8-9,
        /// EXT-BIOMEDICAL-TRL).
        ImpliedByApproval => "implied_by_approval",
        /// Credited because a marketing application was submitted, not refused for filing and not
        /// answered with a complete response citing CMC: the dossier (ICH M4 CTD modules 3-5)
        /// contains what levels 1-8 ask for but the pivotal result (biomedical TRL 8, BLA/NDA).
        ImpliedByApplication => "implied_by_application",
        /// Credited because a regulator authorised a clinical trial (IND/CTA): first-in-human
        /// needs what levels 1-5 ask for (biomedical TRL 5-6: GLP safety, GMP-compatible
        /// manufacturing, characterisation, regulatory submission).
        ImpliedByTrialAuthorisation => "implied_by_trial_authorisation",
        /// Not met.
        Unmet => "unmet",
        /// Unknown, which is not met.
        Unknown => "unknown",
    }
}

categorical! {
    /// A regulatory milestone whose requirements the gates credit.
    pub enum MilestoneKind {
        /// A clinical trial authorised (IND/CTA), or a trial completed, which needed one.
        TrialAuthorisation => "trial_authorisation",
        /// A marketing application submitted.
        MarketingApplication => "marketing_application",
        /// A conditional or full marketing approval.
        Approval => "approval",
    }
}

/// The highest level whose gates a trial authorisation credits (biomedical TRL 6 starts with the
/// IND and Phase 1, so levels 1-5 are behind it: EXT-BIOMEDICAL-TRL).
pub const TRIAL_AUTHORISATION_COVERS: u8 = 5;
/// The highest level whose gates a marketing application credits (but the pivotal-trial gate):
/// biomedical TRL 8 is the pivotal trial, consistency lots and the BLA (EXT-BIOMEDICAL-TRL), and
/// once an application rests on the pivotal evidence, its design and durability are the
/// regulator's to judge (OM3, OM4, OM7 and OM8 score them). An application the regulator refused
/// to file, or answered with a complete response citing CMC, credits nothing.
pub const APPLICATION_COVERS: u8 = 8;
/// The highest level whose gates an approval credits: approval is biomedical TRL 9's entry
/// (EXT-BIOMEDICAL-TRL), so everything up to the marketing decision is behind it.
pub const APPROVAL_COVERS: u8 = 8;

/// The milestone that credits a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImpliedBy {
    /// The milestone.
    pub milestone: MilestoneKind,
    /// The regulator, when the profile names it.
    pub regulator: Option<Regulator>,
    /// When, if the profile dates it.
    pub date: Option<NaiveDate>,
}

impl ImpliedBy {
    fn state(self) -> GateState {
        match self.milestone {
            MilestoneKind::Approval => GateState::ImpliedByApproval,
            MilestoneKind::MarketingApplication => GateState::ImpliedByApplication,
            MilestoneKind::TrialAuthorisation => GateState::ImpliedByTrialAuthorisation,
        }
    }
}

fn implied(kind: MilestoneKind, milestone: Milestone) -> ImpliedBy {
    ImpliedBy { milestone: kind, regulator: milestone.regulator, date: milestone.date }
}

/// The milestone, if any, that credits a gate of `level`: the furthest one covering it. No milestone credits the pivotal-trial gate: whether the pivotal trial succeeded is the
/// fact a regression event reads, so an unknown result must not pass where a failure is capped.
fn credit(facts: &Facts, level: u8, test: &GateTest) -> Option<ImpliedBy> {
    if *test == GateTest::PivotalTrialCompleted {
        return None;
    }
    if let Some(approval) = facts.approval.filter(|_| level <= APPROVAL_COVERS) {
        return Some(implied(MilestoneKind::Approval, approval));
    }
    if let Some(application) = facts.standing_application().filter(|_| level <= APPLICATION_COVERS) {
        return Some(implied(MilestoneKind::MarketingApplication, application));
    }
    facts
        .trial_authorised()
        .filter(|_| level <= TRIAL_AUTHORISATION_COVERS)
        .map(|trial| implied(MilestoneKind::TrialAuthorisation, trial))
}

categorical! {
    /// Where a level stands.
    pub enum LevelState {
        /// Reached: this level and every level below it are met.
        Met => "met",
        /// The next level, with at least the approaching share of its mandatory gates met.
        Approaching => "approaching",
        /// Not reached.
        Unmet => "unmet",
    }
}

/// The check a gate (or MRL-lite criterion) applies to the inputs. The data chooses the check;
/// the code implements it. Each check is `unknown` when the inputs it needs are unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GateTest {
    /// `program.indication` is stated.
    IndicationStated,
    /// `program.intended_mechanism` names at least one mechanism.
    MechanismStated,
    /// `cell_source.tissue_source` and `cell_source.donor_type` are stated.
    CellSourceAndDonorChosen,
    /// A stated mechanism is one of the indication profile's mechanisms.
    MechanismFitsIndication,
    /// `program.product_class` and `program.stage` are stated.
    ProductProfileDrafted,
    /// `delivery.route` is stated.
    RouteChosen,
    /// `quality.isct_identity_testing` is true.
    IsctIdentityTesting,
    /// An animal efficacy model, or survival shown at least in vitro under disease-mimetic conditions.
    InVitroProofOfConcept,
    /// At least one animal efficacy model.
    AnimalEfficacyModel,
    /// A highly disease-relevant animal model using the clinical route.
    RelevantModelWithClinicalRoute,
    /// A quantitative potency assay of a marker of a stated mechanism, at least at `tier`.
    MoaLinkedPotencyAssay {
        /// The least mature tier that passes.
        tier: PotencyTier,
    },
    /// A tumorigenicity study (soft agar at least) or GLP toxicology.
    InitialSafetyStudy,
    /// Any of `factors` reaches `min_value` (a factor that does not apply passes).
    FactorAtLeast {
        /// The factors; one reaching the value suffices.
        factors: Vec<FactorCode>,
        /// Minimum value, 0-1.
        min_value: f64,
    },
    /// MF1 (culture format versus scale) reaches `min_value`, or the process is validated (PPQ) or commercial.
    ScaleAppropriateFormat {
        /// Minimum MF1 value, 0-1.
        min_value: f64,
    },
    /// For a high or severe hostility, preconditioning, physioxic culture or a carrier; otherwise met.
    HostileTargetMitigated,
    /// Xeno-free medium (FBS only with released GMP lots) in a closed or closable format.
    GmpCompatibleProcess,
    /// Release specification with viability of at least 70 %, sterility, endotoxin, mycoplasma, identity.
    DraftReleaseSpecification,
    /// `nonclinical.glp_tox_biodistribution` is true.
    GlpToxicology,
    /// At least one genetic-stability test.
    GeneticStabilityTested,
    /// A regulator interaction or a formal classification.
    EarlyRegulatorInteraction,
    /// An in vivo tumorigenicity study in immunodeficient animals.
    InVivoTumorigenicity,
    /// A large-animal or aged/comorbid efficacy model.
    LargeOrAgedModel,
    /// `manufacturing.gmp_status` at least `status`.
    GmpStatusAtLeast {
        /// The least mature status that passes.
        status: GmpStatus,
    },
    /// An IND/CTA open, or a later regulatory status.
    IndCtaOpen,
    /// `clinical.completed_phase` at least `phase`.
    CompletedPhaseAtLeast {
        /// The earliest phase that passes.
        phase: TrialPhase,
    },
    /// Long-term safety follow-up of more than zero years planned.
    LongTermFollowUpPlanned,
    /// A quantitative potency assay (any analyte) qualified or validated.
    PotencyAssayQualified,
    /// Autologous, or allogeneic with immunogenicity monitoring.
    ImmunogenicityMonitoredIfAllogeneic,
    /// At least one validated outcome measure.
    ValidatedOutcomeMeasure,
    /// An accepted control arm and an indication-standard outcome measure.
    ControlledTrialWithStandardEndpoint,
    /// `manufacturing.lot_consistency.lots_characterised` at least `lots`.
    LotsCharacterisedAtLeast {
        /// The fewest lots that pass.
        lots: u32,
    },
    /// `formulation.stability_data` is true.
    StabilityData,
    /// An end-of-Phase-2 meeting, SPA or protocol assistance.
    PivotalDesignAgreed,
    /// Where structural endpoints are meaningful, a quantitative one; otherwise met.
    QuantitativeStructuralEndpointIfRelevant,
    /// Patients selected by clinical criteria or biomarkers.
    PatientStratification,
    /// A cost of goods or media-use estimate per dose.
    CostPerDoseEstimated,
    /// A completed Phase 3 with a known result, controlled and blinded as the indication requires.
    PivotalTrialCompleted,
    /// A marketing application submitted or a later status, with the conditional-approval outcome stated.
    MarketingApplicationSubmitted,
    /// For a local target, efficacy follow-up of at least `months`; otherwise met.
    DurabilityIfLocalTarget {
        /// Minimum follow-up, months.
        months: f64,
    },
    /// `regulatory.status` is `approved`.
    FullMarketingApproval,
    /// Long-term follow-up and pharmacovigilance in place.
    PostMarketingSafety,
    /// No conditional approval pending or lapsed.
    ConfirmatoryObligationsMet,
    /// `regulatory.market_access_plan` is true.
    MarketAccessPlan,
    /// `cell_source.tissue_source` is stated.
    TissueSourceStated,
    /// Tissue source, culture medium and culture format are stated.
    ProcessInputsFixed,
    /// At least one release test in the specification.
    ReleaseTestingStarted,
    /// Human platelet lysate or a defined serum-free medium.
    QualifiedMediaSupply,
    /// `manufacturing.automation_level` at least `level`.
    AutomationAtLeast {
        /// The least automated level that passes.
        level: AutomationLevel,
    },
}

/// The readiness part of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadinessDefinition {
    /// A level is met when its mandatory gates are all met and at least this share (0-1) of its
    /// supporting-gate weight is.
    pub complete_share: f64,
    /// The next level is approaching when at least this share (0-1) of its mandatory-gate weight is met.
    pub approaching_share: f64,
    /// Evidence for the evaluation rules.
    pub evidence: Vec<EvidenceLink>,
    /// Names of levels 1-9.
    pub levels: Vec<ReadinessLevelDefinition>,
    /// The gates.
    pub gates: Vec<GateDefinition>,
    /// Events that cap a stream and the level.
    pub regression_events: Vec<RegressionDefinition>,
    /// Warnings raised when the level and a barrier score disagree.
    pub score_checks: Vec<ScoreCheck>,
    /// MRL-lite.
    pub mrl: MrlDefinition,
}

/// An MSC-TRL level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadinessLevelDefinition {
    /// The level, 1-9.
    pub level: u8,
    /// Name (anchor wording).
    pub name: String,
}

/// A gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateDefinition {
    /// Gate code.
    #[schema(example = "l4_candidate_moa_potency_assay")]
    pub code: String,
    /// The level it belongs to, 1-9.
    pub level: u8,
    /// Its stream.
    pub stream: Stream,
    /// Mandatory (all must pass) or supporting (a share of the weight must pass).
    pub mandatory: bool,
    /// Weight within the level's mandatory or supporting gates.
    pub weight: u32,
    /// What the gate requires.
    pub text: String,
    /// The check applied to the inputs.
    pub test: GateTest,
    /// The catalogue mitigation that closes the gate, if any.
    #[serde(default)]
    pub mitigation: Option<String>,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

/// A regression rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegressionDefinition {
    /// The event.
    pub event: RegressionEvent,
    /// The stream it caps.
    pub stream: Stream,
    /// The highest level the stream and the MSC-TRL keep.
    pub capped_at: u8,
    /// Why.
    pub reason: String,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
}

/// A consistency check between the level and a barrier score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreCheck {
    /// The warning raised.
    pub warning: WarningCode,
    /// From this MSC-TRL up...
    pub min_level: u8,
    /// ...this barrier...
    pub barrier: Barrier,
    /// ...must score at least this (0-100).
    pub below: f64,
}

/// MRL-lite, cell-therapy manufacturing readiness 1-10 (research §10.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MrlDefinition {
    /// From this MSC-TRL up, MRL-lite is expected to be at least the MSC-TRL.
    pub expected_from_level: u8,
    /// Evidence.
    pub evidence: Vec<EvidenceLink>,
    /// Levels 1-10.
    pub levels: Vec<MrlLevelDefinition>,
}

/// An MRL-lite level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MrlLevelDefinition {
    /// The level, 1-10.
    pub level: u8,
    /// Name.
    pub name: String,
    /// Criteria; all must be met.
    pub criteria: Vec<MrlCriterionDefinition>,
}

/// An MRL-lite criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MrlCriterionDefinition {
    /// Criterion code.
    pub code: String,
    /// What it requires.
    pub text: String,
    /// The check applied to the inputs.
    pub test: GateTest,
}

/// Per-stream levels: each the highest level up to which every mandatory gate of the stream is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamLevels {
    /// Clinical.
    #[schema(example = 6)]
    pub clinical: u8,
    /// CMC / manufacturing.
    pub cmc: u8,
    /// Potency assays and product-development tools.
    #[schema(example = 3)]
    pub potency_tools: u8,
    /// Nonclinical.
    pub nonclinical: u8,
    /// Regulatory.
    pub regulatory: u8,
}

impl StreamLevels {
    /// The level of one stream.
    pub fn of(&self, stream: Stream) -> u8 {
        match stream {
            Stream::Clinical => self.clinical,
            Stream::Cmc => self.cmc,
            Stream::PotencyTools => self.potency_tools,
            Stream::Nonclinical => self.nonclinical,
            Stream::Regulatory => self.regulatory,
        }
    }

    fn from_fn(level: impl Fn(Stream) -> u8) -> Self {
        Self {
            clinical: level(Stream::Clinical),
            cmc: level(Stream::Cmc),
            potency_tools: level(Stream::PotencyTools),
            nonclinical: level(Stream::Nonclinical),
            regulatory: level(Stream::Regulatory),
        }
    }
}

/// A gate's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateStatus {
    /// Gate code.
    #[schema(value_type = String, example = "l4_candidate_moa_potency_assay")]
    pub code: Text,
    /// Its stream.
    pub stream: Stream,
    /// Mandatory or supporting.
    pub mandatory: bool,
    /// Weight.
    pub weight: u32,
    /// Met by the profile's own answers, implied by a regulatory milestone (credited as met), unmet,
    /// or unknown (which is not met).
    pub state: GateState,
    /// For an implied gate: the milestone that credits it.
    pub implied_by: Option<ImpliedBy>,
    /// What the gate requires.
    #[schema(value_type = String)]
    pub text: Text,
    /// The gate is supported only by seed claims no outside source confirms (`seed_asserted` or
    /// `unverifiable`): the model's reason for asking it is weaker. It does not change the state.
    /// Results stored before gates carried the flag read back as `false`.
    #[serde(default)]
    pub weakly_grounded: bool,
}

/// One level's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LevelStatus {
    /// The level, 1-9.
    #[schema(example = 4)]
    pub level: u8,
    /// Name.
    #[schema(value_type = String)]
    pub name: Text,
    /// `met` up to the MSC-TRL, `approaching` for the next level when it is, otherwise `unmet`.
    pub status: LevelState,
    /// The level's own gates pass (all mandatory, enough supporting), whatever the levels below
    /// and any regression event.
    pub gates_met: bool,
    /// Share (0-1) of mandatory-gate weight met.
    pub mandatory_met_share: f64,
    /// Share (0-1) of supporting-gate weight met; 1 when the level has none.
    pub supporting_met_share: f64,
    /// The gates.
    pub gates: Vec<GateStatus>,
}

/// The catalogue mitigation that closes a gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateMitigation {
    /// Mitigation id in the catalogue.
    #[schema(value_type = String, example = "develop_moa_potency_assay")]
    pub code: Text,
    /// What to do.
    #[schema(value_type = String)]
    pub title: Text,
    /// The factor it improves.
    pub factor: FactorCode,
}

/// An unmet gate of the next level: a step on the roadmap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoadmapItem {
    /// Gate code.
    #[schema(value_type = String, example = "l4_candidate_moa_potency_assay")]
    pub gate: Text,
    /// Its level.
    pub level: u8,
    /// Its stream.
    pub stream: Stream,
    /// Mandatory or supporting.
    pub mandatory: bool,
    /// Unmet or unknown.
    pub state: ItemState,
    /// What the gate requires.
    #[schema(value_type = String)]
    pub text: Text,
    /// The catalogue mitigation that closes it, if any.
    pub mitigation: Option<GateMitigation>,
    /// Evidence.
    #[schema(value_type = Vec<super::assessment::EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
}

/// A regression event that applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegressionApplied {
    /// The event.
    pub event: RegressionEvent,
    /// The stream it caps.
    pub stream: Stream,
    /// The highest level the stream and the MSC-TRL keep.
    #[schema(example = 7)]
    pub capped_at: u8,
    /// Why.
    #[schema(value_type = String)]
    pub reason: Text,
    /// The profile fields that triggered it.
    #[schema(value_type = Vec<String>)]
    pub fields: Vec<Text>,
    /// Evidence.
    #[schema(value_type = Vec<super::assessment::EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
}

/// An MRL-lite criterion's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MrlCriterionStatus {
    /// Its MRL-lite level.
    pub level: u8,
    /// Criterion code.
    #[schema(value_type = String, example = "m6_gmp_clinical_lots")]
    pub code: Text,
    /// What it requires.
    #[schema(value_type = String)]
    pub text: Text,
    /// Met, unmet or unknown.
    pub state: ItemState,
}

/// Manufacturing readiness, MRL-lite 1-10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MrlLite {
    /// The highest level with every criterion of it and of every level below met; 0 when level 1 is not.
    #[schema(example = 6)]
    pub level: u8,
    /// The MRL-lite the MSC-TRL calls for (research §10.3 cross-check), when it calls for one.
    pub expected_at_least: Option<u8>,
    /// Every criterion, by level.
    pub criteria: Vec<MrlCriterionStatus>,
}

/// The readiness level of a program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// MSC-TRL 0-9: the highest level L with every level 1..L met, lowered by regression events
    /// (0 = level 1 not met).
    #[schema(example = 3)]
    pub msc_trl: u8,
    /// The next level when at least the approaching share of its mandatory gates is met (and no
    /// regression event holds the level).
    #[schema(example = 4)]
    pub approaching: Option<u8>,
    /// The level from the gates alone, before regression events.
    pub gated_level: u8,
    /// Per-stream levels.
    pub streams: StreamLevels,
    /// Levels 1-9 with their gates.
    pub levels: Vec<LevelStatus>,
    /// The unmet gates of the next level, mandatory first.
    pub roadmap: Vec<RoadmapItem>,
    /// Regression events that apply.
    pub regression_events: Vec<RegressionApplied>,
    /// Manufacturing readiness.
    pub mrl_lite: MrlLite,
}

/// A gate ready for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct CompiledGate {
    pub code: Text,
    pub level: u8,
    pub stream: Stream,
    pub mandatory: bool,
    pub weight: u32,
    pub text: Text,
    pub test: GateTest,
    pub mitigation: Option<GateMitigation>,
    pub citations: Shared<EvidenceCitation>,
    /// The gate's only support is claims no outside source confirms.
    pub weakly_grounded: bool,
}

/// A regression rule ready for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRegression {
    pub event: RegressionEvent,
    pub stream: Stream,
    pub capped_at: u8,
    pub reason: Text,
    pub citations: Shared<EvidenceCitation>,
}

/// An MRL-lite criterion ready for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCriterion {
    pub level: u8,
    pub code: Text,
    pub text: Text,
    pub test: GateTest,
}

/// The readiness model ready for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct CompiledReadiness {
    /// Permille.
    pub complete_share: u32,
    /// Permille.
    pub approaching_share: u32,
    /// Names of levels 1-9, in order.
    pub level_names: Vec<Text>,
    /// Gates ordered by level, mandatory first, then model order.
    pub gates: Vec<CompiledGate>,
    pub regressions: Vec<CompiledRegression>,
    pub mrl_expected_from: u8,
    /// Criteria ordered by level.
    pub mrl_criteria: Vec<CompiledCriterion>,
}

/// Met when every input is met; unmet when one is unmet; otherwise unknown.
fn all(checks: &[Option<bool>]) -> Option<bool> {
    if checks.contains(&Some(false)) {
        Some(false)
    } else if checks.contains(&None) {
        None
    } else {
        Some(true)
    }
}

/// Met when one input is met; unmet when every input is unmet; otherwise unknown.
fn any(checks: &[Option<bool>]) -> Option<bool> {
    if checks.contains(&Some(true)) {
        Some(true)
    } else if checks.contains(&None) {
        None
    } else {
        Some(false)
    }
}

fn stated<T>(value: Option<T>) -> Option<bool> {
    value.map(|_| true)
}

fn at_least(tiers: PotencyTiers, tier: PotencyTier) -> Set<PotencyAnalyte> {
    let lot_release = tiers.lot_release.union(tiers.clinically_anchored);
    match tier {
        PotencyTier::Exploratory => tiers.exploratory.union(tiers.qualified).union(lot_release),
        PotencyTier::Qualified => tiers.qualified.union(lot_release),
        PotencyTier::LotRelease => lot_release,
    }
}

/// Whether the program's marketing application or approval is on a conditional or time-limited
/// pathway.
fn on_conditional_pathway(f: &Facts) -> bool {
    let conditional = |milestone: Option<Milestone>| {
        milestone
            .is_some_and(|milestone| milestone.pathway == Some(ApprovalPathway::ConditionalOrTimeLimited))
    };
    conditional(f.marketing_application) || conditional(f.approval)
}

/// Whether the control arm is one the indication accepts. Blinding, when required, is asked of
/// concurrent controls only, since an external control cannot be blinded.
fn accepted_control(f: &Facts, model: &Model, require_blinding: bool) -> Option<bool> {
    // A conditional or time-limited pathway rests on presumed efficacy from an exploratory trial
    // (PMD Act art. 23-26, EXT-PMDA-CONDITIONAL), so no concurrent control is asked for there.
    if on_conditional_pathway(f) {
        return Some(true);
    }
    match f.control_arm? {
        // Research §9.3 OM3: external controls are accepted in lethal orphan settings only; a
        // single-arm trial there is read against the natural history, as an external control is
        // (the approval evidence OM3 and the level-7/8 control gates cite in model_data).
        ControlArm::NoneSingleArm | ControlArm::HistoricalExternal => {
            f.indication.map(|i| model.profile_for(Some(i)).orphan_lethal)
        }
        ControlArm::StandardOfCare | ControlArm::ActiveComparator | ControlArm::PlaceboOrSham => {
            if require_blinding {
                f.blinding.map(|blinding| blinding >= Blinding::AssessorBlinded)
            } else {
                Some(true)
            }
        }
    }
}

/// Whether a factor reaches a value (0-1); a factor that does not apply reaches it, and an unknown
/// one is unknown unless even its best case falls short.
fn factor_reaches(scores: &Scores, factor: FactorCode, min_value: f64) -> Option<bool> {
    let min = (min_value * 1000.0).round() as u16;
    let result = scores.factor(factor);
    match result.reading {
        Reading::NotApplicable => Some(true),
        Reading::Known(_) => Some(result.low >= min),
        Reading::Unknown { .. } => (result.high < min).then_some(false),
    }
}

impl GateTest {
    /// Whether the program passes: `None` when that depends on unknown inputs.
    pub(crate) fn check(&self, model: &Model, f: &Facts, scores: &Scores) -> Option<bool> {
        let profile = f.indication.map(|indication| model.profile_for(Some(indication)));
        match self {
            Self::IndicationStated => stated(f.indication),
            Self::MechanismStated => f.mechanisms.map(|mechanisms| !mechanisms.is_empty()),
            Self::CellSourceAndDonorChosen => all(&[stated(f.tissue_source), stated(f.donor_type)]),
            Self::MechanismFitsIndication => {
                let (profile, mechanisms) = (profile?, f.mechanisms?);
                // The generic profile's mechanisms are placeholders for indications the model has
                // no profile for, so any stated mechanism fits them.
                let generic = profile.index == model.profile_for(None).index;
                Some(mechanisms.intersects(profile.default_mechanisms) || (generic && !mechanisms.is_empty()))
            }
            Self::ProductProfileDrafted => all(&[stated(f.product_class), stated(f.stage)]),
            Self::RouteChosen => stated(f.route),
            Self::IsctIdentityTesting => f.isct_identity_testing,
            Self::InVitroProofOfConcept => any(&[
                f.animal_models.map(|models| models.any),
                f.survival_evidence.map(|evidence| evidence >= SurvivalEvidence::InVitroDiseaseMimetic),
            ]),
            Self::AnimalEfficacyModel => f.animal_models.map(|models| models.any),
            Self::RelevantModelWithClinicalRoute => f.animal_models.map(|models| models.relevant),
            Self::MoaLinkedPotencyAssay { tier } => match (f.potency, f.mechanisms) {
                (Some(tiers), _) if tiers.all().is_empty() => Some(false),
                // The link must be to a stated mechanism: the indication's defaults, which the
                // scores fall back on, are not evidence of a hypothesis.
                (Some(tiers), Some(mechanisms)) => {
                    let least = match tier {
                        PotencyTier::Exploratory => 0,
                        PotencyTier::Qualified => 1,
                        PotencyTier::LotRelease => 2,
                    };
                    Some(tiers.linked_at_least(least, model.markers_of(mechanisms)))
                }
                _ => None,
            },
            Self::InitialSafetyStudy => any(&[
                f.tumorigenicity_study.map(|study| study >= TumorigenicityStudy::InVitroSoftAgar),
                f.glp_tox_biodistribution,
            ]),
            Self::FactorAtLeast { factors, min_value } => {
                let mut unknown = false;
                for factor in factors {
                    match factor_reaches(scores, *factor, *min_value) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                (!unknown).then_some(false)
            }
            Self::ScaleAppropriateFormat { min_value } => any(&[
                factor_reaches(scores, FactorCode::Mf1, *min_value),
                // A process validated at commercial scale has shown that its format suffices.
                f.gmp_status.map(|status| status >= GmpStatus::GmpProcessValidatedPpq),
            ]),
            Self::HostileTargetMitigated => {
                profile?;
                if scores.hostility < Hostility::High {
                    return Some(true);
                }
                any(&[
                    f.preconditioning.map(|steps| !steps.is_empty()),
                    f.culture_oxygen.map(|oxygen| oxygen == CultureOxygen::Physioxic25pct),
                    f.carrier.map(|carrier| carrier != Carrier::NoneSaline),
                ])
            }
            Self::GmpCompatibleProcess => {
                let media = match f.culture_media {
                    None => None,
                    // FBS is acceptable when a regulator has accepted lots made with it.
                    Some(CultureMedia::Fbs) => {
                        f.gmp_status.map(|status| status >= GmpStatus::GmpClinicalLots)
                    }
                    Some(_) => Some(true),
                };
                let closed = any(&[
                    f.automation.map(|automation| automation >= AutomationLevel::PartiallyClosed),
                    f.culture_format.map(|format| {
                        matches!(
                            format,
                            CultureFormat::MicrocarrierBioreactor
                                | CultureFormat::HollowFiberOrFixedBedClosed
                                | CultureFormat::ClosedAutomatedSystem
                        )
                    }),
                ]);
                all(&[media, closed])
            }
            // A specification a regulator accepted, details not public, is one.
            Self::DraftReleaseSpecification => any(&[
                all(&[
                    f.release_viability_min_pct.map(|pct| pct >= super::factors::RELEASE_VIABILITY_MIN_PCT),
                    f.release_sterility,
                    f.release_endotoxin,
                    f.release_mycoplasma,
                    f.release_identity,
                ]),
                f.release_specification_accepted.filter(|accepted| *accepted),
            ]),
            // A nonclinical package a regulator accepted includes GLP toxicology (21 CFR 58).
            Self::GlpToxicology => {
                any(&[f.glp_tox_biodistribution, f.nonclinical_package_accepted.filter(|accepted| *accepted)])
            }
            Self::GeneticStabilityTested => f.genetic_stability_tests.map(|tests| !tests.is_empty()),
            Self::EarlyRegulatorInteraction => any(&[
                f.regulatory_interactions.map(|interactions| !interactions.is_empty()),
                f.classification_status.map(|status| status == ClassificationStatus::FormalRecommendation),
            ]),
            Self::InVivoTumorigenicity => {
                f.tumorigenicity_study.map(|study| study >= TumorigenicityStudy::InVivoImmunodeficientShort)
            }
            Self::LargeOrAgedModel => f.animal_models.map(|models| models.large_or_aged),
            Self::GmpStatusAtLeast { status } => f.gmp_status.map(|gmp| gmp >= *status),
            Self::IndCtaOpen => f
                .regulatory_status
                .map(|status| !matches!(status, RegulatoryStatus::None | RegulatoryStatus::ClinicalHold)),
            Self::CompletedPhaseAtLeast { phase } => f.completed_phase.map(|done| done >= *phase),
            Self::LongTermFollowUpPlanned => f.ltfu_safety_years.map(|years| years > 0.0),
            Self::PotencyAssayQualified => {
                f.potency.map(|tiers| !at_least(tiers, PotencyTier::Qualified).is_empty())
            }
            Self::ImmunogenicityMonitoredIfAllogeneic => match f.donor_type? {
                DonorType::Autologous => Some(true),
                _ => f.immunogenicity_monitoring.map(|monitoring| !monitoring.is_empty()),
            },
            Self::ValidatedOutcomeMeasure => {
                f.proms.map(|proms| proms.len() > u32::from(proms.contains(Prom::OtherNonValidated)))
            }
            Self::ControlledTrialWithStandardEndpoint => {
                let endpoint = match (f.proms, profile) {
                    (Some(proms), _) if proms.is_empty() => Some(false),
                    (Some(proms), Some(profile)) if profile.standard_proms.is_empty() => {
                        Some(proms.len() > u32::from(proms.contains(Prom::OtherNonValidated)))
                    }
                    (Some(proms), Some(profile)) => {
                        Some(profile.standard_proms.iter().any(|group| proms.intersects(*group)))
                    }
                    _ => None,
                };
                all(&[accepted_control(f, model, false), endpoint])
            }
            Self::LotsCharacterisedAtLeast { lots } => f.lots_characterised.map(|done| done >= *lots),
            Self::StabilityData => f.stability_data,
            Self::PivotalDesignAgreed => f.regulatory_interactions.map(|interactions| {
                interactions.contains_any(&[
                    RegulatoryInteraction::EndOfPhase2,
                    RegulatoryInteraction::SpaOrProtocolAssistance,
                ])
            }),
            Self::QuantitativeStructuralEndpointIfRelevant => {
                if !profile?.structural_endpoint_relevant {
                    return Some(true);
                }
                f.structural_endpoints.map(|endpoints| {
                    let qualitative = u32::from(endpoints.contains(StructuralEndpoint::Pfirrmann))
                        + u32::from(endpoints.contains(StructuralEndpoint::Modic));
                    endpoints.len() > qualitative
                })
            }
            Self::PatientStratification => {
                f.patient_selection.map(|selection| selection >= PatientSelection::ClinicalCriteria)
            }
            Self::CostPerDoseEstimated => {
                any(&[stated(f.cogs_per_dose_usd), stated(f.media_liters_per_dose)])
            }
            // The trial an application rests on may be a Phase 2 or 2/3 (several MSC approvals),
            // or any exploratory trial on a conditional pathway; it must have reported.
            Self::PivotalTrialCompleted => all(&[
                any(&[
                    f.completed_phase.map(|done| done >= TrialPhase::Phase2),
                    Some(on_conditional_pathway(f)),
                ]),
                f.pivotal_result.map(|result| {
                    matches!(result, PivotalResult::MetPrimaryEndpoint | PivotalResult::FailedPrimaryEndpoint)
                }),
                // Once a marketing application rests on the trial, judging its design is the
                // regulator's: the level records the milestone (biomedical TRL 8: pivotal trial
                // and BLA, EXT-BIOMEDICAL-TRL), while OM3, OM4 and OM8 score the design and what
                // it showed.
                any(&[accepted_control(f, model, true), Some(f.marketing_application.is_some())]),
            ]),
            Self::MarketingApplicationSubmitted => match f.regulatory_status? {
                // The conditional-approval outcome must be known too: otherwise leaving it out
                // could lift a level that a lapsed conditional approval caps.
                RegulatoryStatus::MarketingApplicationSubmitted
                | RegulatoryStatus::ConditionalApproval
                | RegulatoryStatus::Approved
                | RegulatoryStatus::Withdrawn => stated(f.conditional_approval),
                _ => Some(false),
            },
            Self::DurabilityIfLocalTarget { months } => {
                let profile = profile?;
                if !profile.local_target {
                    return Some(true);
                }
                let months = profile.durability_months.unwrap_or(*months);
                f.efficacy_follow_up_months.map(|follow_up| follow_up >= months)
            }
            Self::FullMarketingApproval => {
                f.regulatory_status.map(|status| status == RegulatoryStatus::Approved)
            }
            Self::PostMarketingSafety => {
                all(&[f.ltfu_safety_years.map(|years| years > 0.0), f.pharmacovigilance])
            }
            Self::ConfirmatoryObligationsMet => f.conditional_approval.map(|outcome| {
                matches!(outcome, ConditionalApprovalOutcome::None | ConditionalApprovalOutcome::Converted)
            }),
            Self::MarketAccessPlan => f.market_access_plan,
            Self::TissueSourceStated => stated(f.tissue_source),
            Self::ProcessInputsFixed => {
                all(&[stated(f.tissue_source), stated(f.culture_media), stated(f.culture_format)])
            }
            Self::ReleaseTestingStarted => any(&[
                f.release_sterility,
                f.release_endotoxin,
                f.release_mycoplasma,
                f.release_identity,
                f.release_karyotype,
                f.release_potency,
            ]),
            Self::QualifiedMediaSupply => f.culture_media.map(|media| {
                matches!(media, CultureMedia::HumanPlateletLysate | CultureMedia::SerumFreeXenoFreeDefined)
            }),
            Self::AutomationAtLeast { level } => f.automation.map(|automation| automation >= *level),
        }
    }
}

impl RegressionEvent {
    /// Whether the event applies, and the profile fields that say so.
    fn triggered(self, f: &Facts) -> Option<&'static [&'static str]> {
        match self {
            Self::PivotalFailure => (f.pivotal_result == Some(PivotalResult::FailedPrimaryEndpoint))
                .then_some(&["clinical.pivotal_result"]),
            // An approval that ended because it was not converted is that event, not this one.
            Self::AuthorisationWithdrawn => (f.regulatory_status == Some(RegulatoryStatus::Withdrawn)
                && f.conditional_approval != Some(ConditionalApprovalOutcome::NotConverted))
            .then_some(&["regulatory.status"]),
            Self::ConditionalApprovalNotConverted => (f.conditional_approval
                == Some(ConditionalApprovalOutcome::NotConverted))
            .then_some(&["regulatory.conditional_approval"]),
        }
    }
}

fn state(met: Option<bool>) -> ItemState {
    match met {
        Some(true) => ItemState::Met,
        Some(false) => ItemState::Unmet,
        None => ItemState::Unknown,
    }
}

fn share(met: u32, total: u32) -> f64 {
    (1000 * met + total / 2).checked_div(total).map_or(1.0, |permille| f64::from(permille) / 1000.0)
}

/// Weights of one level's gates.
#[derive(Default, Clone, Copy)]
struct Tally {
    mandatory: u32,
    mandatory_met: u32,
    supporting: u32,
    supporting_met: u32,
}

impl Tally {
    fn met(self, readiness: &CompiledReadiness) -> bool {
        self.mandatory_met == self.mandatory
            && 1000 * self.supporting_met >= readiness.complete_share * self.supporting
    }

    fn approaching(self, readiness: &CompiledReadiness) -> bool {
        1000 * self.mandatory_met >= readiness.approaching_share * self.mandatory
    }
}

/// Evaluates the readiness level of scored facts.
pub(crate) fn assess(model: &Model, facts: &Facts, scores: &Scores) -> Readiness {
    let readiness = model.readiness();
    let states: Vec<(ItemState, Option<ImpliedBy>)> = readiness
        .gates
        .iter()
        .map(|gate| {
            let own = state(gate.test.check(model, facts, scores));
            let implied = (own != ItemState::Met).then(|| credit(facts, gate.level, &gate.test)).flatten();
            (own, implied)
        })
        .collect();
    let credited =
        |(own, implied): (ItemState, Option<ImpliedBy>)| own == ItemState::Met || implied.is_some();
    let gates = || readiness.gates.iter().zip(states.iter().copied());

    let mut tallies = [Tally::default(); MAX_LEVEL as usize];
    for (gate, state) in gates() {
        let tally = &mut tallies[usize::from(gate.level - 1)];
        let met = if credited(state) { gate.weight } else { 0 };
        if gate.mandatory {
            tally.mandatory += gate.weight;
            tally.mandatory_met += met;
        } else {
            tally.supporting += gate.weight;
            tally.supporting_met += met;
        }
    }
    let consecutive =
        |met: &dyn Fn(u8) -> bool| (1..=MAX_LEVEL).take_while(|level| met(*level)).count() as u8;
    let gated_level = consecutive(&|level| tallies[usize::from(level - 1)].met(readiness));

    let regression_events: Vec<RegressionApplied> = readiness
        .regressions
        .iter()
        .filter_map(|rule| {
            rule.event.triggered(facts).map(|fields| RegressionApplied {
                event: rule.event,
                stream: rule.stream,
                capped_at: rule.capped_at,
                reason: rule.reason.clone(),
                fields: fields.iter().map(|field| Text::literal(field)).collect(),
                evidence: rule.citations.clone(),
            })
        })
        .collect();
    let cap = |stream: Option<Stream>| {
        regression_events
            .iter()
            .filter(|event| stream.is_none_or(|stream| event.stream == stream))
            .map(|event| event.capped_at)
            .min()
            .unwrap_or(MAX_LEVEL)
    };
    let streams = StreamLevels::from_fn(|stream| {
        let level = consecutive(&|level| {
            gates().all(|(gate, state)| {
                gate.level != level || gate.stream != stream || !gate.mandatory || credited(state)
            })
        });
        level.min(cap(Some(stream)))
    });
    let msc_trl = gated_level.min(cap(None));
    let held = regression_events.iter().any(|event| event.capped_at <= msc_trl);
    let next = msc_trl + 1;
    let approaching =
        (next <= MAX_LEVEL && !held && tallies[usize::from(next - 1)].approaching(readiness)).then_some(next);

    let levels = (1..=MAX_LEVEL)
        .map(|level| {
            let tally = tallies[usize::from(level - 1)];
            LevelStatus {
                level,
                name: readiness.level_names[usize::from(level - 1)].clone(),
                status: if level <= msc_trl {
                    LevelState::Met
                } else if Some(level) == approaching {
                    LevelState::Approaching
                } else {
                    LevelState::Unmet
                },
                gates_met: tally.met(readiness),
                mandatory_met_share: share(tally.mandatory_met, tally.mandatory),
                supporting_met_share: share(tally.supporting_met, tally.supporting),
                gates: gates()
                    .filter(|(gate, _)| gate.level == level)
                    .map(|(gate, (own, implied))| GateStatus {
                        code: gate.code.clone(),
                        stream: gate.stream,
                        mandatory: gate.mandatory,
                        weight: gate.weight,
                        state: match (own, implied) {
                            (ItemState::Met, _) => GateState::Met,
                            (_, Some(implied)) => implied.state(),
                            (ItemState::Unmet, None) => GateState::Unmet,
                            (ItemState::Unknown, None) => GateState::Unknown,
                        },
                        implied_by: implied,
                        text: gate.text.clone(),
                        weakly_grounded: gate.weakly_grounded,
                    })
                    .collect(),
            }
        })
        .collect();
    let roadmap = gates()
        .filter(|(gate, state)| gate.level == next && !credited(*state))
        .map(|(gate, (state, _))| RoadmapItem {
            gate: gate.code.clone(),
            level: gate.level,
            stream: gate.stream,
            mandatory: gate.mandatory,
            state,
            text: gate.text.clone(),
            mitigation: gate.mitigation.clone(),
            evidence: gate.citations.clone(),
        })
        .collect();

    Readiness {
        msc_trl,
        approaching,
        gated_level,
        streams,
        levels,
        roadmap,
        regression_events,
        mrl_lite: mrl_lite(model, facts, scores, msc_trl),
    }
}

fn mrl_lite(model: &Model, facts: &Facts, scores: &Scores, msc_trl: u8) -> MrlLite {
    let readiness = model.readiness();
    let criteria: Vec<MrlCriterionStatus> = readiness
        .mrl_criteria
        .iter()
        .map(|criterion| MrlCriterionStatus {
            level: criterion.level,
            code: criterion.code.clone(),
            text: criterion.text.clone(),
            state: state(criterion.test.check(model, facts, scores)),
        })
        .collect();
    let level = (1..=MAX_MRL_LEVEL)
        .take_while(|level| {
            criteria.iter().all(|criterion| criterion.level != *level || criterion.state == ItemState::Met)
        })
        .count() as u8;
    MrlLite {
        level,
        expected_at_least: (msc_trl >= readiness.mrl_expected_from).then_some(msc_trl),
        criteria,
    }
}

/// The readiness warnings: level against barrier scores, and MRL-lite against MSC-TRL.
pub(crate) fn warnings(
    model: &Model,
    scores: &Scores,
    readiness: &Readiness,
) -> Vec<(WarningCode, &'static [&'static str])> {
    let mut raised: Vec<(WarningCode, &'static [&'static str])> = Vec::new();
    for check in &model.definition().readiness.score_checks {
        let barrier = scores.barrier(check.barrier);
        if readiness.msc_trl >= check.min_level
            && barrier.assessed
            && f64::from(barrier.score) < check.below * 10.0
        {
            let fields: &'static [&'static str] = match check.barrier {
                Barrier::Survival => &["readiness.msc_trl", "barriers.survival.score"],
                Barrier::Retention => &["readiness.msc_trl", "barriers.retention.score"],
                Barrier::Variability => &["readiness.msc_trl", "barriers.variability.score"],
                Barrier::Scalability => &["readiness.msc_trl", "barriers.scalability.score"],
                Barrier::Safety => &["readiness.msc_trl", "barriers.safety.score"],
                Barrier::Outcomes => &["readiness.msc_trl", "barriers.outcomes.score"],
                Barrier::Regulatory => &["readiness.msc_trl", "barriers.regulatory.score"],
            };
            raised.push((check.warning, fields));
        }
    }
    if readiness.mrl_lite.expected_at_least.is_some_and(|expected| readiness.mrl_lite.level < expected) {
        raised.push((
            WarningCode::ManufacturingReadinessBehindLevel,
            &["readiness.msc_trl", "readiness.mrl_lite.level"],
        ));
    }
    raised
}
