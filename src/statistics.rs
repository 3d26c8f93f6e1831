//! Descriptive statistics of a score distribution, computed from the count of each distinct value.
//!
//! The database hands over each distinct score with its count instead of the scores themselves:
//! scores are tenths of a point, so there are at most 1,001 distinct values however many
//! assessments are counted, and one hash aggregate replaces a sort per score. The mean, quartiles
//! and histogram follow exactly from the counts. Pure code: no I/O.

/// Width of a histogram bin, in points: the fixed 10-point bins.
pub const BIN_WIDTH: f64 = 10.0;
/// Number of bins covering 0-100; the last is closed, so a score of 100 falls in 90-100.
pub const BINS: usize = 10;

/// Count, mean, quartiles, extremes and histogram of a set of scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub count: u64,
    /// Absent when nothing was counted, like every statistic below.
    pub mean: Option<f64>,
    /// First quartile, median and third quartile by linear interpolation between the closest
    /// ranks (PostgreSQL `percentile_cont`, spreadsheet `QUARTILE.INC`, numpy's default).
    pub q1: Option<f64>,
    pub median: Option<f64>,
    pub q3: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Counts of the bins 0-10, 10-20, ..., 90-100.
    pub histogram: [u64; BINS],
}

impl Distribution {
    /// The distribution of the values counted in `counts` (distinct value, count; any order).
    pub fn from_counts(mut counts: Vec<(f64, u64)>) -> Self {
        counts.retain(|&(_, count)| count > 0);
        counts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count: u64 = counts.iter().map(|&(_, count)| count).sum();
        let mut histogram = [0; BINS];
        for &(value, n) in &counts {
            histogram[bin(value)] += n;
        }
        if count == 0 {
            return Self {
                count,
                mean: None,
                q1: None,
                median: None,
                q3: None,
                min: None,
                max: None,
                histogram,
            };
        }
        let sum: f64 = counts.iter().map(|&(value, n)| value * n as f64).sum();
        let quantile = |p: f64| Some(to_tenth(quantile(&counts, count, p)));
        Self {
            count,
            mean: Some(to_tenth(sum / count as f64)),
            q1: quantile(0.25),
            median: quantile(0.5),
            q3: quantile(0.75),
            min: counts.first().map(|&(value, _)| value),
            max: counts.last().map(|&(value, _)| value),
            histogram,
        }
    }
}

/// Rounded to one decimal, as scores are given: a mean of 70.48888888888888 is reported as 70.5.
pub fn to_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The lower bound of each bin, in order.
pub fn bin_starts() -> impl Iterator<Item = f64> {
    (0..BINS).map(|index| index as f64 * BIN_WIDTH)
}

fn bin(value: f64) -> usize {
    ((value / BIN_WIDTH).floor().max(0.0) as usize).min(BINS - 1)
}

/// The `p` quantile of `count` values given as sorted (value, count) pairs, `count` > 0.
fn quantile(sorted: &[(f64, u64)], count: u64, p: f64) -> f64 {
    let rank = p * (count - 1) as f64;
    let lower = rank.floor() as u64;
    let fraction = rank - lower as f64;
    let low = value_at(sorted, lower);
    if fraction == 0.0 {
        return low;
    }
    low + fraction * (value_at(sorted, lower + 1) - low)
}

/// The value at 0-based `rank` of the sorted values the counts stand for.
fn value_at(sorted: &[(f64, u64)], rank: u64) -> f64 {
    let mut seen = 0;
    for &(value, n) in sorted {
        seen += n;
        if rank < seen {
            return value;
        }
    }
    sorted.last().map_or(f64::NAN, |&(value, _)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(values: &[f64]) -> Vec<(f64, u64)> {
        values.iter().map(|&value| (value, 1)).collect()
    }

    #[test]
    fn quartiles_interpolate_between_ranks_like_percentile_cont() {
        // Hand-computed: sorted 10, 20, 30, 40; rank of q1 = 0.75 → 17.5, median 25, q3 32.5.
        let distribution = Distribution::from_counts(expand(&[40.0, 10.0, 30.0, 20.0]));
        assert_eq!(distribution.count, 4);
        assert_eq!(distribution.mean, Some(25.0));
        assert_eq!(distribution.q1, Some(17.5));
        assert_eq!(distribution.median, Some(25.0));
        assert_eq!(distribution.q3, Some(32.5));
        assert_eq!((distribution.min, distribution.max), (Some(10.0), Some(40.0)));
    }

    #[test]
    fn the_mean_and_quartiles_are_given_to_one_decimal() {
        // Mean 211.4 / 3 = 70.4666…; q1 at rank 0.5 between 70.1 and 70.6 = 70.35.
        let distribution = Distribution::from_counts(expand(&[70.1, 70.6, 70.7]));
        assert_eq!(distribution.mean, Some(70.5));
        assert_eq!(distribution.q1, Some(70.4));
    }

    #[test]
    fn counts_stand_for_repeated_values() {
        let counted = Distribution::from_counts(vec![(50.0, 3), (70.5, 2), (0.0, 0)]);
        let listed = Distribution::from_counts(expand(&[50.0, 50.0, 50.0, 70.5, 70.5]));
        assert_eq!(counted, listed);
        assert_eq!(counted.median, Some(50.0));
        assert_eq!(counted.q3, Some(70.5));
    }

    #[test]
    fn bins_are_ten_points_wide_and_the_last_holds_100() {
        let distribution = Distribution::from_counts(expand(&[0.0, 9.9, 10.0, 55.5, 90.0, 100.0]));
        assert_eq!(distribution.histogram, [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
    }

    #[test]
    fn nothing_counted_has_no_statistics() {
        let distribution = Distribution::from_counts(Vec::new());
        assert_eq!(distribution.count, 0);
        assert_eq!(distribution.median, None);
        assert_eq!(distribution.histogram, [0; BINS]);
    }
}
