//! The model-upgrade report of a re-score job: what moved between each original and its
//! re-scored copy. Pure: the pairs come from `persistence::jobs::rescore_pairs`, and the factors
//! behind the largest moves from `comparison::compare`.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::comparison::{BarrierComparison, FactorComparison};
use crate::persistence::jobs::RescorePair;
use crate::scoring::Barrier;

/// The largest movers listed per barrier.
pub const MOVERS_PER_BARRIER: usize = 5;

/// A change smaller than this is none: scores are kept in tenths.
const UNCHANGED: f64 = 0.05;

/// Edges of the bins of the change distribution, in points.
const BIN_EDGES: [f64; 8] = [-20.0, -10.0, -5.0, -UNCHANGED, UNCHANGED, 5.0, 10.0, 20.0];

/// What a model upgrade changed in the assessments a re-score job re-scored.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpgradeReport {
    pub job_id: Uuid,
    /// The model versions of the originals.
    pub from_model_versions: Vec<String>,
    /// The model version of the re-scored copies.
    pub to_model_version: Option<String>,
    /// Pairs of original and re-scored assessment in the report.
    pub rescored: usize,
    /// The assessments whose readiness level or limiting barrier changed, in the job's order.
    pub changed: Vec<ChangedAssessment>,
    /// For each barrier, the largest moves of its score (up to 5, largest first), with the
    /// factors behind each.
    pub movers: Vec<BarrierMovers>,
    /// How the overall index and each barrier's score moved.
    pub distribution: Vec<ChangeDistribution>,
}

/// The program and the two assessments of a pair.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PairIds {
    pub program_id: Option<Uuid>,
    pub program_key: Option<String>,
    /// The assessment re-scored (untouched).
    pub original_id: Uuid,
    /// The new assessment, linked to the original by `rescored_from`.
    pub rescored_id: Uuid,
}

/// An assessment whose readiness level or limiting barrier changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangedAssessment {
    #[serde(flatten)]
    pub ids: PairIds,
    /// MSC-TRL level before and after (0: not yet at level 1).
    pub from_level: i16,
    pub to_level: i16,
    pub from_limiting_barrier: String,
    pub to_limiting_barrier: String,
    pub overall_from: f64,
    pub overall_to: f64,
}

/// The largest moves of one barrier's score.
#[derive(Debug, Serialize, ToSchema)]
pub struct BarrierMovers {
    pub barrier: Barrier,
    pub movers: Vec<Mover>,
}

/// One large move and the factors behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mover {
    #[serde(flatten)]
    pub ids: PairIds,
    pub from: f64,
    pub to: f64,
    /// `to - from`, rounded to one decimal.
    pub change: f64,
    /// The barrier's factors whose points changed, largest change first; `caused_by` is empty
    /// when only the model changed (weights, value maps), as in a re-score it usually is.
    pub factors: Vec<FactorComparison>,
    /// Caps applied under one model and not the other.
    pub cap_changes: Vec<String>,
}

/// How one score moved across the pairs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeDistribution {
    /// `overall`, or a barrier.
    pub score: String,
    pub increased: usize,
    pub unchanged: usize,
    pub decreased: usize,
    /// Pairs with nothing known about the barrier on either side: no score, so no change.
    pub unknown: usize,
    /// Mean change over the pairs with a change to count; null without any.
    pub mean_change: Option<f64>,
    /// Counts of the changes by size; a bound is null where the bin is open.
    pub bins: Vec<ChangeBin>,
}

/// Changes from `min` (inclusive) to `max` (exclusive), in points.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeBin {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub count: usize,
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

impl PairIds {
    fn of(pair: &RescorePair) -> Self {
        Self {
            program_id: pair.program_id,
            program_key: pair.program_key.clone(),
            original_id: pair.original_id,
            rescored_id: pair.rescored_id,
        }
    }
}

/// The change of a barrier's score in a pair; `None` when either side is unknown.
fn barrier_change(pair: &RescorePair, barrier: Barrier) -> Option<(f64, f64)> {
    let index = barrier.index();
    pair.from_scores.get(index).copied().flatten().zip(pair.to_scores.get(index).copied().flatten())
}

/// The movers of each barrier as (barrier, index of the pair), largest first; their factors are
/// read from the full results afterwards.
pub fn largest_movers(pairs: &[RescorePair]) -> Vec<(Barrier, Vec<usize>)> {
    Barrier::ALL
        .iter()
        .map(|&barrier| {
            let mut moved: Vec<(usize, f64)> = pairs
                .iter()
                .enumerate()
                .filter_map(|(index, pair)| {
                    let (from, to) = barrier_change(pair, barrier)?;
                    ((to - from).abs() >= UNCHANGED).then_some((index, to - from))
                })
                .collect();
            // Largest move first; among equal moves, the job's order.
            moved.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
            (barrier, moved.into_iter().take(MOVERS_PER_BARRIER).map(|(index, _)| index).collect())
        })
        .collect()
}

/// The report of `pairs`; `comparisons` gives the barrier comparison of a mover (by barrier and
/// pair index), when its full results could be read.
pub fn report(
    job_id: Uuid,
    pairs: &[RescorePair],
    mut comparison: impl FnMut(Barrier, usize) -> Option<BarrierComparison>,
) -> UpgradeReport {
    let mut from_model_versions: Vec<String> =
        pairs.iter().map(|pair| pair.from_model_version.clone()).collect();
    from_model_versions.sort();
    from_model_versions.dedup();
    let changed = pairs
        .iter()
        .filter(|pair| {
            pair.from_level != pair.to_level || pair.from_limiting_barrier != pair.to_limiting_barrier
        })
        .map(|pair| ChangedAssessment {
            ids: PairIds::of(pair),
            from_level: pair.from_level.unwrap_or(0),
            to_level: pair.to_level.unwrap_or(0),
            from_limiting_barrier: pair.from_limiting_barrier.clone(),
            to_limiting_barrier: pair.to_limiting_barrier.clone(),
            overall_from: pair.from_overall,
            overall_to: pair.to_overall,
        })
        .collect();
    let movers = largest_movers(pairs)
        .into_iter()
        .map(|(barrier, indices)| BarrierMovers {
            barrier,
            movers: indices
                .into_iter()
                .filter_map(|index| {
                    let pair = &pairs[index];
                    let (from, to) = barrier_change(pair, barrier)?;
                    let compared = comparison(barrier, index);
                    let (factors, cap_changes) =
                        compared.map(|compared| (compared.factors, compared.cap_changes)).unwrap_or_default();
                    Some(Mover {
                        ids: PairIds::of(pair),
                        from,
                        to,
                        change: round(to - from),
                        factors,
                        cap_changes,
                    })
                })
                .collect(),
        })
        .collect();
    let overall =
        distribution("overall", pairs.iter().map(|pair| Some((pair.from_overall, pair.to_overall))));
    let distribution = std::iter::once(overall)
        .chain(Barrier::ALL.iter().map(|&barrier| {
            distribution(barrier.as_str(), pairs.iter().map(|pair| barrier_change(pair, barrier)))
        }))
        .collect();
    UpgradeReport {
        job_id,
        from_model_versions,
        to_model_version: pairs.first().map(|pair| pair.to_model_version.clone()),
        rescored: pairs.len(),
        changed,
        movers,
        distribution,
    }
}

fn distribution(score: &str, changes: impl Iterator<Item = Option<(f64, f64)>>) -> ChangeDistribution {
    let mut bins: Vec<ChangeBin> = std::iter::once(None)
        .chain(BIN_EDGES.iter().copied().map(Some))
        .zip(BIN_EDGES.iter().copied().map(Some).chain(std::iter::once(None)))
        .map(|(min, max)| ChangeBin { min, max, count: 0 })
        .collect();
    let (mut increased, mut unchanged, mut decreased, mut unknown) = (0, 0, 0, 0);
    let mut sum = 0.0;
    for change in changes {
        let Some((from, to)) = change else {
            unknown += 1;
            continue;
        };
        let change = to - from;
        sum += change;
        if change >= UNCHANGED {
            increased += 1;
        } else if change <= -UNCHANGED {
            decreased += 1;
        } else {
            unchanged += 1;
        }
        let bin = BIN_EDGES.iter().take_while(|&&edge| change >= edge).count();
        bins[bin].count += 1;
    }
    let counted = increased + unchanged + decreased;
    ChangeDistribution {
        score: score.to_owned(),
        increased,
        unchanged,
        decreased,
        unknown,
        mean_change: (counted > 0).then(|| round(sum / counted as f64)),
        bins,
    }
}

/// The CSV columns of the report, in their documented order: one row per changed assessment
/// (`section` = `changed`), per mover (`mover`) and per bin of the distribution (`distribution`).
pub const CSV_COLUMNS: [&str; 15] = [
    "section",
    "score",
    "program_id",
    "program_key",
    "original_id",
    "rescored_id",
    "from",
    "to",
    "change",
    "from_level",
    "to_level",
    "from_limiting_barrier",
    "to_limiting_barrier",
    "factors",
    "count",
];

/// The report as CSV rows (without the header), cells in [`CSV_COLUMNS`] order.
pub fn csv_rows(report: &UpgradeReport) -> Vec<Vec<String>> {
    let text = |value: Option<String>| value.unwrap_or_default();
    let id = |value: Option<Uuid>| value.map(|id| id.to_string()).unwrap_or_default();
    let mut rows = Vec::new();
    for changed in &report.changed {
        rows.push(vec![
            "changed".into(),
            "overall".into(),
            id(changed.ids.program_id),
            text(changed.ids.program_key.clone()),
            changed.ids.original_id.to_string(),
            changed.ids.rescored_id.to_string(),
            changed.overall_from.to_string(),
            changed.overall_to.to_string(),
            round(changed.overall_to - changed.overall_from).to_string(),
            changed.from_level.to_string(),
            changed.to_level.to_string(),
            changed.from_limiting_barrier.clone(),
            changed.to_limiting_barrier.clone(),
            String::new(),
            String::new(),
        ]);
    }
    for barrier in &report.movers {
        for mover in &barrier.movers {
            let factors = mover
                .factors
                .iter()
                .map(|factor| format!("{} {:+}", factor.factor.as_str(), factor.points.change))
                .collect::<Vec<_>>()
                .join("; ");
            rows.push(vec![
                "mover".into(),
                barrier.barrier.as_str().into(),
                id(mover.ids.program_id),
                text(mover.ids.program_key.clone()),
                mover.ids.original_id.to_string(),
                mover.ids.rescored_id.to_string(),
                mover.from.to_string(),
                mover.to.to_string(),
                mover.change.to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                factors,
                String::new(),
            ]);
        }
    }
    for distribution in &report.distribution {
        for bin in &distribution.bins {
            let bound = |value: Option<f64>| value.map(|value| value.to_string()).unwrap_or_default();
            let mut row = vec![String::new(); CSV_COLUMNS.len()];
            row[0] = "distribution".into();
            row[1] = distribution.score.clone();
            row[6] = bound(bin.min);
            row[7] = bound(bin.max);
            row[14] = bin.count.to_string();
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(original: u128, from: [Option<f64>; 7], to: [Option<f64>; 7]) -> RescorePair {
        RescorePair {
            original_id: Uuid::from_u128(original),
            rescored_id: Uuid::from_u128(original + 1000),
            program_id: None,
            program_key: None,
            from_model_version: "1.0.0".into(),
            to_model_version: "2.0.0".into(),
            from_overall: 50.0,
            to_overall: 50.0,
            from_level: Some(3),
            to_level: Some(3),
            from_limiting_barrier: "survival".into(),
            to_limiting_barrier: "survival".into(),
            from_scores: from.to_vec(),
            to_scores: to.to_vec(),
        }
    }

    #[test]
    fn movers_are_the_largest_changes_of_each_barrier_and_unknown_scores_do_not_move() {
        let same = [Some(50.0); 7];
        let mut up = same;
        up[0] = Some(62.5);
        let mut down = same;
        down[0] = Some(40.0);
        let mut unknown = same;
        unknown[0] = None;
        let pairs = vec![pair(1, same, up), pair(2, same, same), pair(3, same, down), pair(4, same, unknown)];
        let movers = largest_movers(&pairs);
        assert_eq!(movers[0], (Barrier::Survival, vec![0, 2]));
        assert!(movers[1].1.is_empty());

        let report = report(Uuid::nil(), &pairs, |_, _| None);
        let survival = &report.distribution[1];
        assert_eq!(
            (survival.increased, survival.unchanged, survival.decreased, survival.unknown),
            (1, 1, 1, 1)
        );
        assert_eq!(survival.mean_change, Some(0.8));
        let counts: Vec<usize> = survival.bins.iter().map(|bin| bin.count).collect();
        assert_eq!(counts, [0, 0, 1, 0, 1, 0, 0, 1, 0]);
        assert_eq!(report.movers[0].movers[0].change, 12.5);
    }
}
