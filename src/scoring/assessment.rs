//! The assessment: every number of the engine, explained line by line, with mitigations ranked by
//! counterfactual re-scoring and consistency warnings.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::document::{
    BonusCode, CapCode, Effort, EvidenceRole, Hostility, Maturity, ProfileMaturity, Severity,
    VerificationStatus, WarningCode,
};
use super::engine::{BarrierResult, FactorResult, Scores, UnclearReason};
use super::factors::{
    Barrier, FactorCode, Grade, PotencyLevel, RELEASE_ITEMS, Reading, ScaleKind, region_requirements,
    release_items,
};
use super::facts::Facts;
use super::input_types::{Member, Scale, Set};
use super::model::Model;
use super::profile::*;
use super::readiness::{self, Readiness};
use super::shared::{Shared, Text};

/// A readiness band, in words (higher scores are better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Below 25: a barrier that blocks translation.
    Critical,
    /// 25 to below 50.
    Weak,
    /// 50 to below 75.
    Moderate,
    /// 75 and above.
    Strong,
    /// Nothing is known about the barrier.
    Unknown,
}

/// Whether a factor's input is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorState {
    /// Known.
    Known,
    /// Unknown (counted as worst case if the factor is critical, otherwise left out of the score
    /// and reflected in the bounds and coverage).
    Unknown,
    /// Does not apply to this program; left out without lowering coverage.
    NotApplicable,
}

/// A checklist item's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Met.
    Met,
    /// Not met.
    Unmet,
    /// Unknown.
    Unknown,
}

/// A reference to the evidence registry, as shown next to a score. Written in full, or as its claim
/// id alone inside [`with_citations_as_claim_ids`].
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
pub struct EvidenceCitation {
    /// Claim id in the registry (`GET` the model document for the full entry).
    #[schema(value_type = String, example = "RT-01")]
    pub claim_id: Text,
    /// The citation exactly as the seed wrote it, or the source of an external fact; absent
    /// where the seed cites nothing.
    #[schema(value_type = Option<String>, example = "Burdick et al., 2016")]
    pub citation: Option<Text>,
    /// Verification status of the claim.
    pub verification_status: VerificationStatus,
    /// How the claim bears on the score.
    pub role: EvidenceRole,
}

thread_local! {
    static CITATIONS_AS_CLAIM_IDS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `write` (a serialisation, which runs on this thread from start to end) with every
/// [`EvidenceCitation`] written as its claim id alone: the short form of a result, written directly
/// rather than by rewriting the full form afterwards, which cost more than it saved.
pub fn with_citations_as_claim_ids<T>(write: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CITATIONS_AS_CLAIM_IDS.set(self.0);
        }
    }
    let _restore = Restore(CITATIONS_AS_CLAIM_IDS.replace(true));
    write()
}

/// Whether citations are being written as their claim ids (see [`with_citations_as_claim_ids`]).
pub(crate) fn citations_as_claim_ids() -> bool {
    CITATIONS_AS_CLAIM_IDS.get()
}

impl Serialize for EvidenceCitation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        if CITATIONS_AS_CLAIM_IDS.get() {
            return serializer.serialize_str(&self.claim_id);
        }
        let mut citation = serializer.serialize_struct("EvidenceCitation", 4)?;
        citation.serialize_field("claim_id", &self.claim_id)?;
        citation.serialize_field("citation", &self.citation)?;
        citation.serialize_field("verification_status", &self.verification_status)?;
        citation.serialize_field("role", &self.role)?;
        citation.end()
    }
}

/// One item of an evidence list as the API writes it: the citation in full, or only its claim id
/// when the request asks for `evidence=ids`. Only the OpenAPI document uses this type: the model
/// writes citations in full.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EvidenceItem {
    Citation(EvidenceCitation),
    /// The claim id alone (`evidence=ids`).
    #[schema(example = "RT-01")]
    ClaimId(String),
}

/// The indication profile an assessment used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IndicationProfileUsed {
    /// Profile id.
    #[schema(value_type = String, example = "intervertebral_disc")]
    pub id: Text,
    /// Display name.
    #[schema(value_type = String)]
    pub name: Text,
    /// How far the profile is worked out.
    pub maturity: ProfileMaturity,
    /// For a profile that is not worked: what it lacks, or (generic profile) its limits.
    #[schema(value_type = Option<String>)]
    pub maturity_note: Option<Text>,
}

/// A context modifier the model applied (like CVSS environmental metrics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Modifier {
    /// What was set.
    #[schema(value_type = String, example = "hostility")]
    pub modifier: Text,
    /// The value used.
    #[schema(value_type = String, example = "severe")]
    pub value: Text,
    /// Why.
    #[schema(value_type = String)]
    pub reason: Text,
}

/// The overall result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Overall {
    /// Readiness index, 0-100: the barrier-weighted geometric mean of the assessed barrier
    /// scores (each floored at 1), so one weak barrier cannot be averaged away. Higher is better.
    #[schema(example = 62.4)]
    pub readiness_index: f64,
    /// Barrier-weighted arithmetic mean, for comparison.
    pub arithmetic_mean: f64,
    /// The index with every unknown at its worst.
    pub pessimistic: f64,
    /// The index with every non-critical unknown at its best.
    pub optimistic: f64,
    /// The assessed barrier with the lowest score.
    pub limiting_barrier: Barrier,
    /// Barrier-weighted share of factor weight that is known, 0-1.
    pub coverage: f64,
    /// Barrier-weighted confidence, 0-1: coverage times the evidence level of the answers.
    pub confidence: f64,
    /// Too little is known to read the index as more than a sketch.
    pub unclear: bool,
    /// Why it is unclear.
    #[schema(value_type = Vec<String>)]
    pub unclear_reasons: Vec<Text>,
    /// Band of the readiness index.
    pub band: Band,
}

/// A factor's line in a barrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FactorAssessment {
    /// Factor code.
    pub factor: FactorCode,
    /// Factor name.
    #[schema(value_type = String)]
    pub name: Text,
    /// Whether the input is known.
    pub state: FactorState,
    /// An unknown counts as worst case.
    pub critical: bool,
    /// The inputs read, as `path = value` (or `unknown`).
    pub input: String,
    /// The level reached, when known.
    #[schema(value_type = Option<String>)]
    pub level: Option<Text>,
    /// Value used in the score, 0-1: the known value, or 0/worst case for a critical unknown;
    /// absent when left out.
    pub value: Option<f64>,
    /// For unknown factors: the lowest and highest value the known part allows.
    pub possible_range: Option<[f64; 2]>,
    /// Weight within the barrier.
    pub weight: u32,
    /// Points earned; the points of all lines of a barrier add up to its score.
    pub points: f64,
    /// Evidence.
    #[schema(value_type = Vec<EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
    /// Why the factor matters.
    #[schema(value_type = String)]
    pub rationale: Text,
    /// The factor is supported only by seed claims no outside source confirms (`seed_asserted` or
    /// `unverifiable`): the model's reason for the factor is weaker. It does not change the score.
    pub weakly_grounded: bool,
    /// Checklist factors: each item's status.
    pub checklist: Vec<ChecklistItemStatus>,
}

/// A checklist item's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChecklistItemStatus {
    /// Item key (`region.item` for region requirements).
    #[schema(value_type = String)]
    pub item: Text,
    /// What it requires.
    #[schema(value_type = String)]
    pub label: Text,
    /// Status.
    pub state: ItemState,
}

/// A cap that limited a barrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CapApplied {
    /// The cap.
    pub cap: CapCode,
    /// The highest score allowed.
    pub limit: f64,
    /// Points the cap removed (zero or negative); a line of the barrier's sum.
    pub points: f64,
    /// Why.
    #[schema(value_type = String)]
    pub reason: Text,
    /// Evidence.
    #[schema(value_type = Vec<EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
    /// Supported only by claims no outside source confirms (`seed_asserted` or `unverifiable`),
    /// as for factors. Results stored before the flag existed read back with it `false`.
    #[serde(default)]
    pub weakly_grounded: bool,
}

/// A bonus that raised a barrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BonusApplied {
    /// The bonus.
    pub bonus: BonusCode,
    /// Points added; a line of the barrier's sum.
    pub points: f64,
    /// Why.
    #[schema(value_type = String)]
    pub reason: Text,
    /// Evidence.
    #[schema(value_type = Vec<EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
    /// Supported only by claims no outside source confirms (`seed_asserted` or `unverifiable`),
    /// as for factors. Results stored before the flag existed read back with it `false`.
    #[serde(default)]
    pub weakly_grounded: bool,
}

/// One barrier's assessment. `score` = Σ factor points + Σ bonus points + Σ cap points, when
/// anything about the barrier is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BarrierAssessment {
    /// The barrier.
    pub barrier: Barrier,
    /// Weight in the overall index (0-1), from the indication profile.
    pub weight: f64,
    /// Score, 0-100 (higher is better): weighted mean of the known and critical factors, plus
    /// bonuses, then capped. Null exactly when nothing is known about the barrier (band `unknown`):
    /// there is no score to give, and a 0 would read as the worst score (the bounds still say how
    /// far the unknowns could go). Results stored earlier (model 1.1.0, early 2.0.0) hold 0 there
    /// and are read back as stored.
    #[schema(example = 55.5, required = true)]
    pub score: Option<f64>,
    /// Score with every unknown at its worst.
    pub pessimistic: f64,
    /// Score with every non-critical unknown at its best.
    pub optimistic: f64,
    /// Share of applicable factor weight that is known, 0-1.
    pub coverage: f64,
    /// Coverage times the evidence level of the known answers, 0-1.
    pub confidence: f64,
    /// Band.
    pub band: Band,
    /// Factor lines.
    pub factors: Vec<FactorAssessment>,
    /// Bonus lines.
    pub bonuses: Vec<BonusApplied>,
    /// Cap lines.
    pub caps: Vec<CapApplied>,
}

/// A change to a barrier score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BarrierChange {
    /// The barrier.
    pub barrier: Barrier,
    /// Score change in points; null when the barrier has no score on one side (nothing known
    /// about it before or after the mitigation): a barrier that becomes known did not rise from 0.
    #[schema(required = true)]
    pub change: Option<f64>,
}

/// A mitigation for a weak factor, with the gain the model computes for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Mitigation {
    /// Mitigation id.
    #[schema(value_type = String)]
    pub id: Text,
    /// The weak factor it addresses.
    pub factor: FactorCode,
    /// That factor's barrier.
    pub barrier: Barrier,
    /// What to do.
    #[schema(value_type = String)]
    pub action: Text,
    /// Maturity.
    pub maturity: Maturity,
    /// Effort.
    pub effort: Effort,
    /// Whether it closes a gate of the next readiness level (it is on the roadmap); such
    /// mitigations come first.
    pub on_roadmap: bool,
    /// Change of the readiness index when the profile is re-scored with the mitigation in place
    /// (negative when a trade-off outweighs the gain).
    pub readiness_gain: f64,
    /// The readiness index with the mitigation in place.
    pub readiness_index_after: f64,
    /// Every barrier whose score changes, including trade-offs.
    pub barrier_changes: Vec<BarrierChange>,
    /// A trade-off to weigh.
    #[schema(value_type = Option<String>)]
    pub tradeoff: Option<Text>,
    /// Evidence.
    #[schema(value_type = Vec<EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
    /// Supported only by claims no outside source confirms (`seed_asserted` or `unverifiable`),
    /// as for factors. Results stored before the flag existed read back with it `false`.
    #[serde(default)]
    pub weakly_grounded: bool,
}

/// A contradiction or red flag in the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    /// The warning.
    pub warning: WarningCode,
    /// Severity.
    pub severity: Severity,
    /// What is wrong.
    #[schema(value_type = String)]
    pub message: Text,
    /// The fields involved.
    #[schema(value_type = Vec<String>)]
    pub fields: Vec<Text>,
    /// Evidence.
    #[schema(value_type = Vec<EvidenceItem>)]
    pub evidence: Shared<EvidenceCitation>,
    /// Supported only by claims no outside source confirms (`seed_asserted` or `unverifiable`),
    /// as for factors. Results stored before the flag existed read back with it `false`.
    #[serde(default)]
    pub weakly_grounded: bool,
}

/// The assessment of a program profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    /// Version of the model that scored it.
    #[schema(example = "1.1.0")]
    pub model_version: String,
    /// The indication profile used.
    pub indication_profile: IndicationProfileUsed,
    /// Context modifiers applied.
    pub modifiers: Vec<Modifier>,
    /// Overall result.
    pub overall: Overall,
    /// MSC-TRL readiness level: what the program has evidenced, gated rather than averaged.
    pub readiness: Readiness,
    /// The seven barriers, in the standard order.
    pub barriers: Vec<BarrierAssessment>,
    /// Mitigations for weak factors, highest readiness gain first.
    pub mitigations: Vec<Mitigation>,
    /// Consistency warnings.
    pub warnings: Vec<Warning>,
}

fn points(tenths: i32) -> f64 {
    f64::from(tenths) / 10.0
}

fn share(permille: u16) -> f64 {
    f64::from(permille) / 1000.0
}

/// A barrier's band. A score resting on less than half of the barrier's weight (the heavy-barrier
/// coverage threshold) is at most `weak`: two known answers do not make a barrier strong.
fn barrier_band(model: &Model, result: &BarrierResult) -> Band {
    if !result.assessed {
        return Band::Unknown;
    }
    let scored = band(model, result.score);
    let half_known =
        f64::from(result.coverage) >= model.definition().thresholds.heavy_barrier_min_coverage * 1000.0;
    match scored {
        Band::Moderate | Band::Strong if !half_known => Band::Weak,
        scored => scored,
    }
}

fn band(model: &Model, tenths: u16) -> Band {
    let thresholds = &model.definition().thresholds;
    let score = f64::from(tenths) / 10.0;
    if score >= thresholds.band_strong_from {
        Band::Strong
    } else if score >= thresholds.band_moderate_from {
        Band::Moderate
    } else if score >= thresholds.band_weak_from {
        Band::Weak
    } else {
        Band::Critical
    }
}

/// Assesses a profile.
pub(crate) fn assess(model: &Model, profile: &Profile) -> Assessment {
    let facts = Facts::from_profile(profile);
    let scores = Scores::compute(model, &facts);
    let indication_profile = scores.ctx.profile;
    let details = scores.overall_details();
    let readiness = readiness::assess(model, &facts, &scores);
    let warnings = warnings(model, &facts, &scores, &readiness);
    let mitigations = mitigations(model, &facts, &scores, &readiness);
    Assessment {
        model_version: model.version().to_owned(),
        indication_profile: IndicationProfileUsed {
            id: indication_profile.id.clone(),
            name: indication_profile.name.clone(),
            maturity: indication_profile.maturity,
            maturity_note: indication_profile.maturity_note.clone(),
        },
        modifiers: modifiers(&facts, &scores),
        overall: Overall {
            readiness_index: points(scores.overall.index.into()),
            arithmetic_mean: points(details.arithmetic.into()),
            pessimistic: points(details.pessimistic.into()),
            optimistic: points(details.optimistic.into()),
            limiting_barrier: scores.overall.limiting,
            coverage: share(details.coverage),
            confidence: share(details.confidence),
            unclear: !details.unclear.is_empty(),
            unclear_reasons: details.unclear.iter().map(describe_unclear).collect(),
            band: band(model, scores.overall.index),
        },
        readiness,
        barriers: Barrier::ALL
            .iter()
            .map(|barrier| barrier_assessment(model, &facts, &scores, *barrier))
            .collect(),
        mitigations,
        warnings,
    }
}

fn describe_unclear(reason: &UnclearReason) -> Text {
    match reason {
        UnclearReason::LowConfidence => Text::literal("overall confidence is below the threshold"),
        UnclearReason::HeavyBarrierLowCoverage(barrier) => {
            Text::from(format!("less than the required share of {} is known", barrier.as_str()))
        }
        UnclearReason::BarrierUnassessed(barrier) => {
            Text::from(format!("nothing is known about {}", barrier.as_str()))
        }
    }
}

fn modifiers(facts: &Facts, scores: &Scores) -> Vec<Modifier> {
    let mut modifiers = Vec::with_capacity(3);
    let profile = scores.ctx.profile;
    if facts.indication.is_none() {
        modifiers.push(Modifier {
            modifier: Text::literal("indication_profile"),
            value: profile.id.clone(),
            reason: Text::literal(
                "indication unknown: the generic profile is used and route fit counts as worst case",
            ),
        });
    }
    let mut reason = match profile
        .severity_stratifier
        .map(|stratifier| (stratifier, stratifier.measured(facts)))
    {
        Some((stratifier, Some(value))) => format!(
            "{} {value}; {} are milder than the profile's {}",
            stratifier.measure(),
            stratifier.threshold(),
            profile.hostility.as_str()
        ),
        Some((stratifier, None)) => {
            format!("{} unknown: the profile's {} applies", stratifier.measure(), profile.hostility.as_str())
        }
        None => "indication profile".to_owned(),
    };
    if scores.hostility == Hostility::Severe {
        reason.push_str("; preconditioning and a protective carrier are critical");
    }
    modifiers.push(Modifier {
        modifier: Text::literal("hostility"),
        value: Text::literal(scores.hostility.as_str()),
        reason: Text::from(reason),
    });
    if scores.mechanisms_defaulted {
        modifiers.push(Modifier {
            modifier: Text::literal("intended_mechanism"),
            value: Text::from(join(scores.ctx.mechanisms.keys())),
            reason: Text::literal("not given: the indication profile's default mechanisms are used"),
        });
    }
    modifiers
}

fn join(keys: impl Iterator<Item = &'static str>) -> String {
    let mut joined = String::new();
    for (i, key) in keys.enumerate() {
        if i > 0 {
            joined.push_str(", ");
        }
        joined.push_str(key);
    }
    joined
}

/// Splits a barrier's factor total over its factors by largest remainder, so that the rounded
/// lines add up exactly.
fn allocate(weights_values: &[(u64, Option<u16>)], total: u16, denominator: u64) -> Vec<u16> {
    let exact: Vec<u64> =
        weights_values.iter().map(|(weight, value)| value.map_or(0, |v| weight * u64::from(v))).collect();
    let mut lines: Vec<u16> = exact
        .iter()
        .map(|e| u16::try_from(e.checked_div(denominator).unwrap_or(0)).unwrap_or(u16::MAX))
        .collect();
    let floor_sum: u16 = lines.iter().sum();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    let remainder = |i: usize| exact[i].checked_rem(denominator).unwrap_or(0);
    // Largest remainder first; ties go to the earlier factor, so the split is deterministic.
    order.sort_by(|a, b| remainder(*b).cmp(&remainder(*a)).then(a.cmp(b)));
    for i in order.into_iter().take(usize::from(total.saturating_sub(floor_sum))) {
        lines[i] += 1;
    }
    lines
}

fn barrier_assessment(model: &Model, facts: &Facts, scores: &Scores, barrier: Barrier) -> BarrierAssessment {
    let result: &BarrierResult = scores.barrier(barrier);
    let codes = barrier.factors();
    let lines = allocate(
        &codes
            .iter()
            .map(|f| (u64::from(model.factor(*f).weight), scores.factor(*f).point))
            .collect::<Vec<_>>(),
        result.from_factors,
        u64::from(result.denominator),
    );
    let factors = codes
        .iter()
        .zip(&lines)
        .map(|(code, line)| factor_assessment(model, facts, scores, *code, *line))
        .collect();
    let bonuses = BonusCode::ALL
        .iter()
        .filter(|code| model.bonus(**code).0.barrier == barrier && result.bonus > 0)
        .map(|code| {
            let (_, cited) = model.bonus(*code);
            BonusApplied {
                bonus: *code,
                points: points(result.bonus.into()),
                reason: cited.text.clone(),
                evidence: cited.citations.clone(),
                weakly_grounded: cited.weakly_grounded,
            }
        })
        .collect();
    let mut before_caps = i32::from(result.from_factors) + i32::from(result.bonus);
    let caps = CapCode::ALL
        .iter()
        .filter(|code| result.caps.contains(**code))
        .map(|code| {
            let (definition, cited) = model.cap(*code);
            let limit = i32::from(cited.tenths);
            let removed = (limit - before_caps).min(0);
            before_caps += removed;
            CapApplied {
                cap: *code,
                limit: definition.limit,
                points: points(removed),
                reason: cited.text.clone(),
                evidence: cited.citations.clone(),
                weakly_grounded: cited.weakly_grounded,
            }
        })
        .collect();
    BarrierAssessment {
        barrier,
        weight: f64::from(scores.ctx.profile.weights[barrier.index()]) / 100.0,
        score: result.assessed.then(|| points(result.score.into())),
        pessimistic: points(result.pessimistic.into()),
        optimistic: points(result.optimistic.into()),
        coverage: share(result.coverage),
        confidence: share(result.confidence),
        band: barrier_band(model, result),
        factors,
        bonuses,
        caps,
    }
}

fn factor_assessment(
    model: &Model,
    facts: &Facts,
    scores: &Scores,
    code: FactorCode,
    line: u16,
) -> FactorAssessment {
    let result: &FactorResult = scores.factor(code);
    let compiled = model.factor(code);
    let level = match result.reading {
        Reading::Known(Grade::Level(position)) => match code.scale() {
            ScaleKind::Levels(keys) => keys.get(usize::from(position)).copied(),
            ScaleKind::RouteFit => Route::KEYS.get(usize::from(position)).copied(),
            ScaleKind::Checklist(_) => None,
        },
        _ => None,
    };
    let mut input = String::with_capacity(96);
    for (i, path) in code.inputs().iter().enumerate() {
        if i > 0 {
            input.push_str("; ");
        }
        input.push_str(path);
        input.push_str(" = ");
        render_input(path, facts, &mut input);
    }
    FactorAssessment {
        factor: code,
        name: compiled.name.clone(),
        state: match result.reading {
            Reading::Known(_) => FactorState::Known,
            Reading::Unknown { .. } => FactorState::Unknown,
            Reading::NotApplicable => FactorState::NotApplicable,
        },
        critical: result.critical && result.applicable(),
        input,
        level: level.map(Text::literal),
        value: result.point.map(share),
        possible_range: matches!(result.reading, Reading::Unknown { .. })
            .then(|| [share(result.low), share(result.high)]),
        weight: compiled.weight,
        points: points(line.into()),
        evidence: compiled.citations.clone(),
        rationale: compiled.rationale[scores.ctx.profile.index].clone(),
        weakly_grounded: compiled.weakly_grounded,
        checklist: checklist(model, facts, scores, code),
    }
}

fn item_state(met: Option<bool>) -> ItemState {
    match met {
        Some(true) => ItemState::Met,
        Some(false) => ItemState::Unmet,
        None => ItemState::Unknown,
    }
}

fn checklist(model: &Model, facts: &Facts, scores: &Scores, code: FactorCode) -> Vec<ChecklistItemStatus> {
    match code {
        FactorCode::Va5 => RELEASE_ITEMS
            .iter()
            .zip(release_items(facts))
            .zip(&model.factor(code).checklist_labels)
            .map(|((key, met), label)| ChecklistItemStatus {
                item: Text::literal(key),
                label: label.clone(),
                state: item_state(met),
            })
            .collect(),
        FactorCode::Rg4 => {
            let mut items = Vec::new();
            region_requirements(facts, &scores.ctx, &scores.factors, |status| {
                let region = model.region(status.region);
                items.push(ChecklistItemStatus {
                    item: region.keys[status.item].clone(),
                    label: region.labels[status.item].clone(),
                    state: item_state(status.met),
                });
            });
            items
        }
        _ => Vec::new(),
    }
}

const UNKNOWN: &str = "unknown";

fn render<T: Member + Scale>(set: Option<Set<T>>, out: &mut String) {
    match set {
        None => out.push_str(UNKNOWN),
        Some(set) => {
            out.push('[');
            out.push_str(&join(set.keys()));
            out.push(']');
        }
    }
}

fn render_one<T: Scale>(value: Option<T>, out: &mut String) {
    out.push_str(value.map_or(UNKNOWN, |value| T::KEYS[usize::from(value.position())]));
}

fn render_value<T: std::fmt::Display>(value: Option<T>, out: &mut String) {
    match value {
        None => out.push_str(UNKNOWN),
        // Writing to a String cannot fail.
        Some(value) => {
            let _ = write!(out, "{value}");
        }
    }
}

/// Renders the input at a profile path for the factor lines; `false` for a path it does not know.
pub(crate) fn render_input(path: &str, f: &Facts, out: &mut String) -> bool {
    match path {
        "program.indication" => render_one(f.indication, out),
        "program.intended_mechanism" => render(f.mechanisms, out),
        "program.product_class" => render_one(f.product_class, out),
        "cell_source.tissue_source" => render_one(f.tissue_source, out),
        "cell_source.donor_type" => render_one(f.donor_type, out),
        "cell_source.donor_age_years" => render_value(f.donor_age_years, out),
        "cell_source.cell_bank" => render_one(f.cell_bank, out),
        "cell_source.hla_matching" => render_one(f.hla_matching, out),
        "cell_source.donor_eligibility" => render_one(f.donor_eligibility, out),
        "manufacturing.preconditioning" => render(f.preconditioning, out),
        "manufacturing.culture_oxygen" => render_one(f.culture_oxygen, out),
        "manufacturing.culture_media" => render_one(f.culture_media, out),
        "manufacturing.culture_format" => render_one(f.culture_format, out),
        "manufacturing.substrate" => render_one(f.substrate, out),
        "manufacturing.passage_at_release" => render_value(f.passage, out),
        "manufacturing.genetic_modification.targets" => render(f.gene_targets, out),
        "manufacturing.genetic_modification" => {
            out.push_str("kind ");
            render_one(f.modification_kind, out);
            out.push_str(", safety switch ");
            render_one(f.safety_switch, out);
            out.push_str(", off-target analysis ");
            render_value(f.off_target_analysis, out);
            out.push_str(", integration-site analysis ");
            render_value(f.integration_site_analysis, out);
        }
        "manufacturing.gmp_status" => render_one(f.gmp_status, out),
        "manufacturing.lot_consistency" => {
            render_value(f.lots_characterised, out);
            out.push_str(" lots, potency CV within limit ");
            render_value(f.potency_cv_within_limit, out);
        }
        "manufacturing.cells_per_lot" => render_value(f.cells_per_lot, out),
        "manufacturing.doses_per_lot" => render_value(f.doses_per_lot, out),
        "manufacturing.estimated_cogs_per_dose_usd" => render_value(f.cogs_per_dose_usd, out),
        "manufacturing.media_liters_per_dose" => render_value(f.media_liters_per_dose, out),
        "manufacturing.automation_level" => render_one(f.automation, out),
        "manufacturing.process_changes" => render_one(f.process_changes, out),
        "quality.post_thaw_viability_pct" => render_value(f.post_thaw_viability_pct, out),
        "quality.viability_at_release_pct" => render_value(f.viability_at_release_pct, out),
        "quality.isct_identity_testing" => render_value(f.isct_identity_testing, out),
        "quality.hemocompatibility" => render_one(f.hemocompatibility, out),
        "quality.potency_assays" => match f.potency {
            None => out.push_str(UNKNOWN),
            Some(tiers) => {
                out.push_str("lot-release ");
                render(Some(tiers.lot_release), out);
                out.push_str(", qualified ");
                render(Some(tiers.qualified), out);
                out.push_str(", exploratory ");
                render(Some(tiers.exploratory), out);
                out.push_str(", qualitative ");
                render(Some(tiers.qualitative), out);
            }
        },
        "quality.release_criteria" => {
            out.push_str("viability min % ");
            render_value(f.release_viability_min_pct, out);
            for (name, item) in [
                ("sterility", f.release_sterility),
                ("endotoxin", f.release_endotoxin),
                ("mycoplasma", f.release_mycoplasma),
                ("identity", f.release_identity),
                ("karyotype", f.release_karyotype),
                ("potency", f.release_potency),
            ] {
                out.push_str(", ");
                out.push_str(name);
                out.push(' ');
                render_value(item, out);
            }
        }
        "formulation.presentation" => render_one(f.presentation, out),
        "formulation.stability_data" => render_value(f.stability_data, out),
        "delivery.route" => render_one(f.route, out),
        "delivery.carrier" => render_one(f.carrier, out),
        "delivery.retention_adjuncts" => render(f.retention_adjuncts, out),
        "delivery.dose_cells" => render_value(f.dose_cells, out),
        "delivery.dose_rationale" => render_one(f.dose_rationale, out),
        "delivery.n_doses" => render_value(f.n_doses, out),
        "delivery.procedure_safety_measures" => render(f.procedure_safety_measures, out),
        "nonclinical.survival_evidence" => render_one(f.survival_evidence, out),
        "nonclinical.biodistribution_evidence" => render_one(f.biodistribution_evidence, out),
        "nonclinical.genetic_stability_tests" => render(f.genetic_stability_tests, out),
        "nonclinical.tumorigenicity_study" => render_one(f.tumorigenicity_study, out),
        "nonclinical.animal_models" => match f.animal_models {
            None => out.push_str(UNKNOWN),
            Some(models) => {
                let _ = write!(
                    out,
                    "any {}, disease-relevant with clinical route {}, large or aged {}",
                    models.any, models.relevant, models.large_or_aged
                );
            }
        },
        "nonclinical.glp_tox_biodistribution" => render_value(f.glp_tox_biodistribution, out),
        "clinical.ltfu_safety_years" => render_value(f.ltfu_safety_years, out),
        "clinical.immunogenicity_monitoring" => render(f.immunogenicity_monitoring, out),
        "clinical.proms" => render(f.proms, out),
        "clinical.structural_endpoints" => render(f.structural_endpoints, out),
        "clinical.control_arm" => render_one(f.control_arm, out),
        "clinical.blinding" => render_one(f.blinding, out),
        "clinical.mcid_prespecified" => render_value(f.mcid_prespecified, out),
        "clinical.sample_size_powered" => render_value(f.sample_size_powered, out),
        "clinical.patient_selection" => render_one(f.patient_selection, out),
        "clinical.efficacy_follow_up_months" => render_value(f.efficacy_follow_up_months, out),
        "clinical.trials" => render_one(f.efficacy.map(|reading| reading.level), out),
        "regulatory.classification_status" => render_one(f.classification_status, out),
        "regulatory.interactions" => render(f.regulatory_interactions, out),
        "regulatory.status" => render_one(f.regulatory_status, out),
        "regulatory.target_regulators" => render(f.target_regulators, out),
        "regulatory.cmc_documentation" => render_one(f.cmc_documentation, out),
        _ => return false,
    }
    true
}

/// The mitigations whose prerequisites hold, those that close a gate of the next readiness level
/// first (the roadmap), then by the index they would gain.
fn mitigations(model: &Model, facts: &Facts, scores: &Scores, readiness: &Readiness) -> Vec<Mitigation> {
    let weak_below = (model.definition().thresholds.weak_factor_value * 1000.0).round() as u16;
    let profile = scores.ctx.profile.index;
    let mut ranked: Vec<(i32, usize, Mitigation)> = Vec::new();
    for (position, mitigation) in model.mitigations().iter().enumerate() {
        if readiness.msc_trl < mitigation.requires_level
            || (mitigation.only_before_first_in_human && facts.trial_authorised().is_some())
        {
            continue;
        }
        // Weak factors get mitigations, and so does any factor whose mitigation closes a gate of
        // the next level.
        let on_roadmap = readiness
            .roadmap
            .iter()
            .any(|step| step.mitigation.as_ref().is_some_and(|m| m.code == mitigation.id));
        let before = scores.factor(mitigation.factor);
        let Some(value_before) = before.point.filter(|value| on_roadmap || *value < weak_below) else {
            continue;
        };
        let Some(change) = mitigation.change_by_profile[profile] else {
            continue;
        };
        let counterfactual = scores.rescore(&facts.overlay(&change));
        let after = counterfactual.factor(mitigation.factor);
        if after.point.unwrap_or(after.low) <= value_before {
            continue;
        }
        let gain = i32::from(counterfactual.overall.index) - i32::from(scores.overall.index);
        ranked.push((
            gain,
            position,
            Mitigation {
                id: mitigation.id.clone(),
                factor: mitigation.factor,
                barrier: mitigation.factor.barrier(),
                action: mitigation.action.clone(),
                maturity: mitigation.maturity,
                effort: mitigation.effort,
                on_roadmap,
                readiness_gain: points(gain),
                readiness_index_after: points(counterfactual.overall.index.into()),
                barrier_changes: Barrier::ALL
                    .iter()
                    .filter_map(|barrier| {
                        let (before, after) = (scores.barrier(*barrier), counterfactual.barrier(*barrier));
                        let change = i32::from(after.score) - i32::from(before.score);
                        match (before.assessed, after.assessed) {
                            (true, true) if change == 0 => None,
                            (true, true) => {
                                Some(BarrierChange { barrier: *barrier, change: Some(points(change)) })
                            }
                            (false, false) => None,
                            _ => Some(BarrierChange { barrier: *barrier, change: None }),
                        }
                    })
                    .collect(),
                tradeoff: mitigation.tradeoff.clone(),
                evidence: mitigation.citations.clone(),
                weakly_grounded: mitigation.weakly_grounded,
            },
        ));
    }
    // The roadmap first; then the highest gain; then less effort; then catalogue order.
    ranked.sort_by(|a, b| {
        b.2.on_roadmap
            .cmp(&a.2.on_roadmap)
            .then(b.0.cmp(&a.0))
            .then(a.2.effort.cmp(&b.2.effort))
            .then(a.1.cmp(&b.1))
    });
    ranked.into_iter().map(|(_, _, mitigation)| mitigation).collect()
}

fn warnings(model: &Model, facts: &Facts, scores: &Scores, readiness: &Readiness) -> Vec<Warning> {
    let mut raised: Vec<(WarningCode, &[&'static str])> = Vec::new();
    if facts.indication.is_none() {
        raised.push((WarningCode::IndicationUnknown, &["program.indication"]));
    }
    if facts.indication.is_some()
        && scores.ctx.profile.local_target
        && facts.route.is_some_and(Route::is_systemic)
    {
        raised.push((WarningCode::SystemicRouteForLocalTarget, &["delivery.route", "program.indication"]));
    }
    let late = facts.stage.is_some_and(|stage| stage >= DevelopmentStage::Phase3)
        || facts.completed_phase.is_some_and(|phase| phase >= TrialPhase::Phase2);
    let moa_linked = matches!(
        scores.factor(FactorCode::Va4).reading,
        Reading::Known(Grade::Level(position))
            if position >= PotencyLevel::MoaLinkedExploratory.position()
    );
    if late && !moa_linked {
        raised.push((
            WarningCode::LateStageWithoutMoaLinkedPotency,
            &["program.stage", "clinical.completed_phase", "quality.potency_assays"],
        ));
    }
    let allogeneic = facts.donor_type.is_some_and(|donor| donor != DonorType::Autologous);
    let monitored = facts.immunogenicity_monitoring.is_some_and(|monitoring| !monitoring.is_empty());
    if allogeneic && facts.n_doses.is_some_and(|doses| doses > 1) && !monitored {
        raised.push((
            WarningCode::AllogeneicRepeatDosingUnmonitored,
            &["cell_source.donor_type", "delivery.n_doses", "clinical.immunogenicity_monitoring"],
        ));
    }
    let below = |pct: Option<f64>| pct.is_some_and(|pct| pct < super::factors::RELEASE_VIABILITY_MIN_PCT);
    if below(facts.release_viability_min_pct)
        || below(facts.viability_at_release_pct)
        || below(facts.post_thaw_viability_pct)
    {
        raised.push((
            WarningCode::ViabilityBelowReleaseCriterion,
            &[
                "quality.release_criteria.viability_min_pct",
                "quality.viability_at_release_pct",
                "quality.post_thaw_viability_pct",
            ],
        ));
    }
    if facts.route == Some(Route::Intradiscal)
        && facts.injection_volume_ml.is_some_and(|ml| ml > model.constants().intradiscal_volume_precedent_ml)
    {
        raised.push((WarningCode::IntradiscalVolumeAbovePrecedent, &["delivery.injection_volume_ml"]));
    }
    if facts.product_class.is_some_and(|class| {
        !matches!(
            class,
            ProductClass::CultureExpandedMsc | ProductClass::GeneModifiedMsc | ProductClass::LineagePrimedMsc
        )
    }) {
        raised.push((WarningCode::ProductClassOutsideCalibration, &["program.product_class"]));
    }
    raised.extend(readiness::warnings(model, scores, readiness));
    raised
        .into_iter()
        .map(|(code, fields)| {
            let (definition, cited) = model.warning(code);
            Warning {
                warning: code,
                severity: definition.severity,
                message: cited.text.clone(),
                fields: fields.iter().map(|field| Text::literal(field)).collect(),
                evidence: cited.citations.clone(),
                weakly_grounded: cited.weakly_grounded,
            }
        })
        .collect()
}
