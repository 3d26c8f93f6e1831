//! The arithmetic of research §9.4-9.6, in whole tenths of a point and permille so that results
//! are exact and reproducible: factor values → barrier scores with bounds, coverage and
//! confidence → caps and bonuses → the overall index.

use super::document::{BonusCode, CapCode, Hostility};
use super::factors::{
    Barrier, CarrierLevel, Context, FACTOR_COUNT, FactorCode, Grade, PotencyLevel, PreconditioningLevel,
    Reading, evaluate,
};
use super::facts::{Facts, Field, mask};
use super::input_types::{Scale, Set};
use super::model::Model;
use super::profile::{Mechanism, PivotalResult, RegulatoryStatus};

/// Route fit at or below which the route cannot reach the target (research §9.3 RT cap).
const ROUTE_CANNOT_REACH_MAX_FIT: u16 = 100;

/// A factor's contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FactorResult {
    pub reading: Reading,
    pub critical: bool,
    /// Value in the point estimate, permille; `None` when left out (not applicable, or a
    /// non-critical factor of which nothing is known).
    pub point: Option<u16>,
    /// Lowest and highest value the unknowns allow, permille.
    pub low: u16,
    pub high: u16,
}

impl FactorResult {
    /// Placeholder for a factor not yet scored.
    const PENDING: Self =
        Self { reading: Reading::NotApplicable, critical: false, point: None, low: 0, high: 0 };

    fn of(factor: FactorCode, reading: Reading, critical: bool, ctx: &Context) -> Self {
        let value =
            |grade: Option<Grade>, fallback: u16| grade.map_or(fallback, |grade| ctx.value(factor, grade));
        match reading {
            Reading::NotApplicable => Self { reading, critical, ..Self::PENDING },
            Reading::Known(grade) => {
                let v = ctx.value(factor, grade);
                Self { reading, critical, point: Some(v), low: v, high: v }
            }
            Reading::Unknown { worst, best } => {
                let low = value(worst, 0);
                Self {
                    reading,
                    critical,
                    // A critical unknown is its worst case in every number (research §9.5).
                    // A partly known factor enters the point estimate at the worst its
                    // unknown part allows, so that improving the known part never drops it
                    // out of the estimate; a wholly unknown one is left out.
                    point: (critical || worst.is_some()).then_some(low),
                    low,
                    high: if critical { low } else { value(best, 1000) },
                }
            }
        }
    }

    pub fn applicable(&self) -> bool {
        self.reading != Reading::NotApplicable
    }

    pub fn known(&self) -> bool {
        matches!(self.reading, Reading::Known(_))
    }
}

/// One barrier's numbers. Scores are tenths of a point (0-1000); shares are permille.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BarrierResult {
    /// Something is known (or critical), so the point estimate exists.
    pub assessed: bool,
    /// Σ weight over the factors in the point estimate.
    pub denominator: u32,
    /// The point estimate from the factors alone.
    pub from_factors: u16,
    /// Bonus points added to the point estimate.
    pub bonus: u16,
    pub caps: Set<CapCode>,
    pub score: u16,
    pub pessimistic: u16,
    pub optimistic: u16,
    pub coverage: u16,
    pub confidence: u16,
}

/// Why an assessment is unclear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnclearReason {
    LowConfidence,
    HeavyBarrierLowCoverage(Barrier),
    BarrierUnassessed(Barrier),
}

/// The overall numbers every re-scoring needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OverallResult {
    pub index: u16,
    pub limiting: Barrier,
}

/// The rest of the overall numbers, for the explained assessment only.
#[derive(Debug, Clone)]
pub(crate) struct OverallDetails {
    pub arithmetic: u16,
    pub pessimistic: u16,
    pub optimistic: u16,
    pub coverage: u16,
    pub confidence: u16,
    pub unclear: Vec<UnclearReason>,
}

/// Every number of an assessment.
pub(crate) struct Scores<'m> {
    /// The facts scored.
    pub facts: Facts,
    pub ctx: Context<'m>,
    pub hostility: Hostility,
    /// The mechanisms came from the indication profile, not the program.
    pub mechanisms_defaulted: bool,
    pub factors: [FactorResult; FACTOR_COUNT],
    /// Every cap that applies, whichever barrier it limits.
    pub caps: Set<CapCode>,
    pub barriers: [BarrierResult; 7],
    pub overall: OverallResult,
}

/// Facts that set the context every factor is read in; a change to them re-scores everything.
const CONTEXT: u128 = mask(&[
    Field::indication,
    Field::pfirrmann_grade,
    Field::kellgren_lawrence_grade,
    Field::rutherford_category,
    Field::days_since_onset,
    Field::mechanisms,
]);

/// Facts read by barrier aggregation rather than by factors.
const AGGREGATION: u128 = mask(&[
    Field::designations,
    Field::cell_source_evidence,
    Field::manufacturing_evidence,
    Field::quality_evidence,
    Field::formulation_evidence,
    Field::delivery_evidence,
    Field::nonclinical_evidence,
    Field::clinical_evidence,
    Field::regulatory_evidence,
]);

/// Rounds a non-negative quotient half up.
pub(crate) fn round_div(numerator: u64, denominator: u64) -> u64 {
    (numerator + denominator / 2).checked_div(denominator).unwrap_or(0)
}

fn narrow(value: u64) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// The context the factors read the program in.
pub(crate) fn context<'m>(model: &'m Model, facts: &Facts) -> (Context<'m>, Hostility, bool) {
    let profile = model.profile_for(facts.indication);
    let hostility = profile
        .severity_stratifier
        .and_then(|stratifier| stratifier.milder(stratifier.measured(facts)?))
        .unwrap_or(profile.hostility);
    let given = facts.mechanisms.filter(|mechanisms| !mechanisms.is_empty());
    let mechanisms: Set<Mechanism> = given.unwrap_or(profile.default_mechanisms);
    let route_fit = match (&profile.chronic_route_fit, facts.days_since_onset) {
        (Some((from_day, chronic)), Some(days)) if days >= *from_day => chronic,
        (Some(_), Some(_)) | (None, _) => &profile.route_fit,
        (Some(_), None) => &profile.route_fit_onset_unknown,
    };
    let ctx = Context {
        model,
        profile,
        route_fit,
        severe: hostility == Hostility::Severe,
        mechanisms,
        moa_markers: model.markers_of(mechanisms),
        fitting_sources: model.sources_fitting(mechanisms),
    };
    (ctx, hostility, given.is_none())
}

impl<'m> Scores<'m> {
    /// Scores the facts.
    pub fn compute(model: &'m Model, facts: &Facts) -> Self {
        let (ctx, hostility, mechanisms_defaulted) = context(model, facts);
        let mut factors = [FactorResult::PENDING; FACTOR_COUNT];
        for (i, factor) in FactorCode::ALL.iter().enumerate() {
            let reading = evaluate(*factor, facts, &ctx, &factors[..i]);
            factors[i] = FactorResult::of(*factor, reading, ctx.is_critical(*factor, facts), &ctx);
        }
        let caps = triggered_caps(facts, &ctx, &factors);
        let barriers: [BarrierResult; 7] =
            std::array::from_fn(|b| barrier_result(Barrier::ALL[b], model, facts, &factors, caps));
        let overall = overall(&ctx, &barriers);
        Self { facts: *facts, ctx, hostility, mechanisms_defaulted, factors, caps, barriers, overall }
    }

    /// Scores `after`, a change of these facts, re-reading only the factors whose facts changed
    /// (and RG4, which reads other factors) and re-aggregating only the barriers they touch. The
    /// result equals `Scores::compute(model, after)`; mitigations re-score this way because a
    /// weak program has dozens of them.
    pub fn rescore(&self, after: &Facts) -> Self {
        let changed = self.facts.differing(after);
        if changed & CONTEXT != 0 {
            return Self::compute(self.ctx.model, after);
        }
        let ctx = self.ctx;
        let mut factors = self.factors;
        let mut touched = [changed & AGGREGATION != 0; 7];
        for (i, factor) in FactorCode::ALL.iter().enumerate() {
            if factor.reads() & changed == 0 && *factor != FactorCode::Rg4 {
                continue;
            }
            let reading = evaluate(*factor, after, &ctx, &factors[..i]);
            let result = FactorResult::of(*factor, reading, ctx.is_critical(*factor, after), &ctx);
            if result != factors[i] {
                factors[i] = result;
                touched[factor.barrier().index()] = true;
            }
        }
        let caps = triggered_caps(after, &ctx, &factors);
        let mut barriers = self.barriers;
        for barrier in Barrier::ALL {
            if touched[barrier.index()] || caps != self.caps {
                barriers[barrier.index()] = barrier_result(*barrier, ctx.model, after, &factors, caps);
            }
        }
        Self {
            facts: *after,
            ctx,
            hostility: self.hostility,
            mechanisms_defaulted: self.mechanisms_defaulted,
            factors,
            caps,
            overall: overall(&ctx, &barriers),
            barriers,
        }
    }

    pub fn factor(&self, factor: FactorCode) -> &FactorResult {
        &self.factors[factor.index()]
    }

    pub fn barrier(&self, barrier: Barrier) -> &BarrierResult {
        &self.barriers[barrier.index()]
    }
}

/// The grade a cap judges a factor by: its known grade, or the worst its unknowns allow.
fn judged_grade(result: &FactorResult) -> Option<Grade> {
    match result.reading {
        Reading::Known(grade) => Some(grade),
        Reading::Unknown { worst, .. } => worst,
        Reading::NotApplicable => None,
    }
}

fn is_level<S: Scale>(grade: Option<Grade>, levels: &[S]) -> bool {
    match grade {
        // No grade at all is the bottom of the scale.
        None => true,
        Some(Grade::Level(position)) => levels.iter().any(|level| level.position() == position),
        Some(Grade::Fraction { .. }) => false,
    }
}

fn triggered_caps(facts: &Facts, ctx: &Context, factors: &[FactorResult; FACTOR_COUNT]) -> Set<CapCode> {
    let result = |factor: FactorCode| &factors[factor.index()];
    let mut caps = Set::EMPTY;
    if ctx.severe
        && is_level(judged_grade(result(FactorCode::Sv1)), &[PreconditioningLevel::None])
        && is_level(judged_grade(result(FactorCode::Sv2)), &[CarrierLevel::None])
    {
        caps.insert(CapCode::SurvivalUnmitigatedHostileMicroenvironment);
    }
    if result(FactorCode::Rt1).low <= ROUTE_CANNOT_REACH_MAX_FIT {
        caps.insert(CapCode::RetentionRouteCannotReachTarget);
    }
    if is_level(judged_grade(result(FactorCode::Va4)), &[PotencyLevel::None, PotencyLevel::IdentityOnly]) {
        caps.insert(CapCode::VariabilityNoMoaLinkedPotencyAssay);
    }
    if facts.pivotal_result == Some(PivotalResult::FailedPrimaryEndpoint)
        || facts.regulatory_status == Some(RegulatoryStatus::Withdrawn)
    {
        caps.insert(CapCode::RegulatoryPivotalFailureOrWithdrawal);
    }
    caps
}

/// Bonus tenths for the point estimate / pessimistic bound and for the optimistic bound.
fn bonus(bonus: BonusCode, model: &Model, facts: &Facts) -> (u16, u16) {
    let points = model.bonus(bonus).1.tenths;
    match bonus {
        BonusCode::RegulatoryDesignation => match facts.designations {
            Some(held) if !held.is_empty() => (points, points),
            Some(_) => (0, 0),
            None => (0, points),
        },
    }
}

fn barrier_result(
    barrier: Barrier,
    model: &Model,
    facts: &Facts,
    factors: &[FactorResult; FACTOR_COUNT],
    caps: Set<CapCode>,
) -> BarrierResult {
    let (mut numerator, mut denominator) = (0u64, 0u64);
    let (mut low, mut high, mut applicable) = (0u64, 0u64, 0u64);
    let (mut known, mut confident) = (0u64, 0u64);
    for factor in barrier.factors() {
        let result = &factors[factor.index()];
        if !result.applicable() {
            continue;
        }
        let weight = u64::from(model.factor(*factor).weight);
        applicable += weight;
        low += weight * u64::from(result.low);
        high += weight * u64::from(result.high);
        if let Some(point) = result.point {
            numerator += weight * u64::from(point);
            denominator += weight;
        }
        if result.known() {
            known += weight;
            let level = factor.section().evidence_level(facts);
            confident += weight * u64::from(model.evidence_weight(level));
        }
    }
    let assessed = denominator > 0;
    let from_factors = narrow(round_div(numerator, denominator));
    let (mut bonus_point, mut bonus_best) = (0u16, 0u16);
    for code in BonusCode::ALL {
        if model.bonus(*code).0.barrier == barrier {
            let (point, best) = bonus(*code, model, facts);
            bonus_point += point;
            bonus_best += best;
        }
    }
    let bonus_point = if assessed { bonus_point } else { 0 };
    let mut score = (from_factors + bonus_point).min(1000);
    let mut pessimistic = (narrow(round_div(low, applicable)) + bonus_point).min(1000);
    let mut optimistic = (narrow(round_div(high, applicable)) + bonus_best).min(1000);
    let mut barrier_caps = Set::EMPTY;
    for code in CapCode::ALL {
        let (definition, cited) = model.cap(*code);
        if definition.barrier == barrier && caps.contains(*code) {
            barrier_caps.insert(*code);
            let limit = cited.tenths;
            score = score.min(limit);
            pessimistic = pessimistic.min(limit);
            optimistic = optimistic.min(limit);
        }
    }
    BarrierResult {
        assessed,
        denominator: u32::try_from(denominator).unwrap_or(u32::MAX),
        from_factors,
        bonus: (from_factors + bonus_point).min(1000) - from_factors,
        caps: barrier_caps,
        score,
        pessimistic,
        optimistic,
        coverage: narrow(round_div(1000 * known, applicable)),
        confidence: narrow(round_div(confident, applicable)),
    }
}

/// Weighted geometric mean of scores in tenths, each floored at one point (research §9.4),
/// over the assessed barriers.
fn geometric_mean(ctx: &Context, barriers: &[BarrierResult; 7], number: fn(&BarrierResult) -> u16) -> u16 {
    let (mut total, mut log_sum) = (0u32, 0.0f64);
    for barrier in Barrier::ALL {
        let result = &barriers[barrier.index()];
        if result.assessed {
            let weight = ctx.profile.weights[barrier.index()];
            total += weight;
            log_sum += f64::from(weight) * ctx.model.ln_points(number(result));
        }
    }
    if total == 0 {
        return 0;
    }
    ((log_sum / f64::from(total)).exp() * 10.0).round() as u16
}

fn overall(ctx: &Context, barriers: &[BarrierResult; 7]) -> OverallResult {
    OverallResult {
        index: geometric_mean(ctx, barriers, |b| b.score),
        // The lowest assessed score; the earlier barrier on ties.
        limiting: Barrier::ALL
            .iter()
            .copied()
            .filter(|b| barriers[b.index()].assessed)
            .min_by_key(|b| barriers[b.index()].score)
            .unwrap_or(Barrier::Survival),
    }
}

impl Scores<'_> {
    /// The overall numbers beyond the index.
    pub fn overall_details(&self) -> OverallDetails {
        let thresholds = &self.ctx.model.definition().thresholds;
        let weight = |barrier: Barrier| u64::from(self.ctx.profile.weights[barrier.index()]);
        let barriers = &self.barriers;
        let share = |number: fn(&BarrierResult) -> u16| {
            let sum: u64 =
                Barrier::ALL.iter().map(|b| weight(*b) * u64::from(number(&barriers[b.index()]))).sum();
            narrow(round_div(sum, 100))
        };
        let (mut weighted, mut total) = (0u64, 0u64);
        for barrier in Barrier::ALL.iter().filter(|b| barriers[b.index()].assessed) {
            weighted += weight(*barrier) * u64::from(barriers[barrier.index()].score);
            total += weight(*barrier);
        }
        let confidence = share(|b| b.confidence);
        let mut unclear = Vec::new();
        if f64::from(confidence) < thresholds.unclear_below_confidence * 1000.0 {
            unclear.push(UnclearReason::LowConfidence);
        }
        for barrier in Barrier::ALL {
            let result = &barriers[barrier.index()];
            if !result.assessed {
                unclear.push(UnclearReason::BarrierUnassessed(*barrier));
            } else if weight(*barrier) >= u64::from(thresholds.heavy_barrier_weight)
                && f64::from(result.coverage) < thresholds.heavy_barrier_min_coverage * 1000.0
            {
                unclear.push(UnclearReason::HeavyBarrierLowCoverage(*barrier));
            }
        }
        OverallDetails {
            arithmetic: narrow(round_div(weighted, total)),
            pessimistic: geometric_mean(&self.ctx, barriers, |b| b.pessimistic),
            optimistic: geometric_mean(&self.ctx, barriers, |b| b.optimistic),
            coverage: share(|b| b.coverage),
            confidence,
            unclear,
        }
    }
}
