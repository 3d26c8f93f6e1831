//! Aggregates of the stored assessments for dashboards, in flat JSON (arrays of objects with
//! scalar fields) that Grafana's JSON/Infinity data sources and spreadsheets read as tables.

use crate::persistence::replica::ReadPools;
use actix_web::{HttpRequest, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::filters::{FilterParameters, parse_query};
use super::problem::{ApiError, Problem};
use crate::persistence::stats::{self as store, Dimension, GroupDistributions, Interval, Selection};
use crate::scoring::Barrier;
use crate::statistics::{BIN_WIDTH, bin_starts, to_tenth};

/// Which assessments are counted.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentSelection {
    /// Each program once, through its latest assessment (by creation time); an assessment without
    /// a program counts as a program of its own. The default.
    #[default]
    Latest,
    /// Every stored assessment, so a program re-scored ten times counts ten times.
    All,
}

impl From<Option<AssessmentSelection>> for Selection {
    fn from(selection: Option<AssessmentSelection>) -> Self {
        match selection.unwrap_or_default() {
            AssessmentSelection::Latest => Self::Latest,
            AssessmentSelection::All => Self::All,
        }
    }
}

/// Options of the summary and the limiting-barrier counts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParameters {
    /// `latest` (default): each program's latest assessment; `all`: every assessment.
    pub assessments: Option<AssessmentSelection>,
}

/// What to group by.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Indication,
    TissueSource,
    Route,
    /// Development stage.
    Stage,
    /// MSC-TRL readiness level.
    ReadinessLevel,
    ModelVersion,
}

impl From<GroupBy> for Dimension {
    fn from(by: GroupBy) -> Self {
        match by {
            GroupBy::Indication => Self::Indication,
            GroupBy::TissueSource => Self::TissueSource,
            GroupBy::Route => Self::Route,
            GroupBy::Stage => Self::Stage,
            GroupBy::ReadinessLevel => Self::ReadinessLevel,
            GroupBy::ModelVersion => Self::ModelVersion,
        }
    }
}

/// Options of the grouped statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupedParameters {
    /// The column to group by: `indication`, `tissue_source`, `route`, `stage`, `readiness_level`
    /// or `model_version`.
    pub by: GroupBy,
    /// `latest` (default): each program's latest assessment; `all`: every assessment.
    pub assessments: Option<AssessmentSelection>,
}

/// Length of a time-series period.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeInterval {
    /// ISO weeks, from Monday 00:00 UTC.
    Week,
    /// Calendar months, from the 1st 00:00 UTC. The default.
    #[default]
    Month,
}

/// Options of the time series.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeseriesParameters {
    /// `month` (default) or `week`.
    pub interval: Option<TimeInterval>,
    /// `latest` (default): each program once per period, through its last assessment in the
    /// period; `all`: every assessment.
    pub assessments: Option<AssessmentSelection>,
}

/// Statistics of one score: `overall_index` or a barrier.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricStatistics {
    /// `overall_index`, `survival`, `retention`, `variability`, `scalability`, `safety`,
    /// `outcomes` or `regulatory`.
    pub metric: String,
    /// Assessments counted: for a barrier, those with a score (something known about the barrier).
    /// An assessment with nothing known about a barrier (score null) is left out of that barrier's
    /// statistics, never counted as 0, so a barrier's count can be below the overall index's.
    pub count: u64,
    /// The statistics below are null when nothing was counted; the mean and quartiles are rounded
    /// to one decimal, as scores are.
    pub mean: Option<f64>,
    /// Quartiles by linear interpolation (PostgreSQL `percentile_cont`, spreadsheet `QUARTILE.INC`).
    pub median: Option<f64>,
    pub q1: Option<f64>,
    pub q3: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One 10-point histogram bin of one score: `from` <= score < `to` (the last bin includes 100).
#[derive(Debug, Serialize, ToSchema)]
pub struct HistogramBin {
    pub metric: String,
    pub from: f64,
    pub to: f64,
    pub count: u64,
}

/// Distribution of the overall index and of each barrier over the counted assessments.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "statistics": [
        {"metric": "overall_index", "count": 3, "mean": 41.5, "median": 38.2, "q1": 30.1, "q3": 51.9, "min": 22.0, "max": 65.6},
        {"metric": "survival", "count": 3, "mean": 35.0, "median": 35.0, "q1": 30.0, "q3": 40.0, "min": 25.0, "max": 45.0}
    ],
    "histogram": [
        {"metric": "overall_index", "from": 20.0, "to": 30.0, "count": 1},
        {"metric": "overall_index", "from": 30.0, "to": 40.0, "count": 1}
    ]
}))]
pub struct SummaryStatistics {
    /// One row per score: the overall index, then the seven barriers.
    pub statistics: Vec<MetricStatistics>,
    /// Ten bins per score, in the same order.
    pub histogram: Vec<HistogramBin>,
}

/// Statistics of one score within one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupMetricStatistics {
    /// The group's value of the `by` column; null for assessments where it is unknown.
    pub group: Option<String>,
    #[serde(flatten)]
    pub statistics: MetricStatistics,
}

/// One histogram bin of one score within one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupHistogramBin {
    pub group: Option<String>,
    #[serde(flatten)]
    pub bin: HistogramBin,
}

/// The summary statistics per group.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "statistics": [
        {"group": "intervertebral_disc_degeneration", "metric": "overall_index", "count": 2, "mean": 40.0, "median": 40.0, "q1": 35.0, "q3": 45.0, "min": 30.0, "max": 50.0},
        {"group": "gvhd_acute", "metric": "overall_index", "count": 1, "mean": 65.6, "median": 65.6, "q1": 65.6, "q3": 65.6, "min": 65.6, "max": 65.6}
    ],
    "histogram": [
        {"group": "intervertebral_disc_degeneration", "metric": "overall_index", "from": 30.0, "to": 40.0, "count": 1},
        {"group": "gvhd_acute", "metric": "overall_index", "from": 60.0, "to": 70.0, "count": 1}
    ]
}))]
pub struct GroupedStatistics {
    /// One row per group and score; groups with nothing counted are absent, the unknown group last.
    pub statistics: Vec<GroupMetricStatistics>,
    /// Ten bins per group and score.
    pub histogram: Vec<GroupHistogramBin>,
}

/// How often a barrier is the limiting one.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"barrier": "survival", "count": 12, "share": 0.4}))]
pub struct LimitingBarrierCount {
    pub barrier: Barrier,
    /// Counted assessments this barrier limits.
    pub count: u64,
    /// `count` divided by all counted assessments (0 when none).
    pub share: f64,
}

/// Mean scores of one period.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "period_start": "2026-11-01T00:00:00Z", "count": 4, "overall_index": 44.2, "survival": 38.0,
    "retention": 41.5, "variability": 52.3, "scalability": 47.0, "safety": 70.1, "outcomes": 35.9, "regulatory": 40.2
}))]
pub struct PeriodMeans {
    /// Start of the period (UTC).
    pub period_start: DateTime<Utc>,
    /// Assessments counted in the period. Each barrier's mean is over those with a score for it
    /// (unknown scores left out); null when none has one.
    pub count: u64,
    pub overall_index: Option<f64>,
    pub survival: Option<f64>,
    pub retention: Option<f64>,
    pub variability: Option<f64>,
    pub scalability: Option<f64>,
    pub safety: Option<f64>,
    pub outcomes: Option<f64>,
    pub regulatory: Option<f64>,
}

fn flatten(groups: Vec<GroupDistributions>) -> Vec<(Option<String>, MetricStatistics, Vec<HistogramBin>)> {
    let mut rows = Vec::new();
    for group in groups {
        for (metric, distribution) in group.distributions {
            let bins = bin_starts()
                .zip(distribution.histogram)
                .map(|(from, count)| HistogramBin {
                    metric: metric.as_str().to_owned(),
                    from,
                    to: from + BIN_WIDTH,
                    count,
                })
                .collect();
            let statistics = MetricStatistics {
                metric: metric.as_str().to_owned(),
                count: distribution.count,
                mean: distribution.mean,
                median: distribution.median,
                q1: distribution.q1,
                q3: distribution.q3,
                min: distribution.min,
                max: distribution.max,
            };
            rows.push((group.group.clone(), statistics, bins));
        }
    }
    rows
}

const STATS_ERRORS: &str = "Unknown parameter, or invalid value (the parameter is named)";

/// Summary statistics
///
/// Count, mean, median, quartiles, extremes and a 10-point histogram of the overall readiness
/// index and of each barrier, over the assessments the filters select (the list's filters). By
/// default each program counts once, through its latest assessment; `assessments=all` counts every
/// assessment.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "statistics",
    params(FilterParameters, StatsParameters),
    responses(
        (status = 200, description = "The statistics", body = SummaryStatistics),
        (status = 400, description = STATS_ERRORS, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/summary")]
pub async fn summary(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<web::Json<SummaryStatistics>, ApiError> {
    let (filters, parameters) = parse_query::<StatsParameters>(&request)?;
    let selection = Selection::from(parameters.assessments);
    let filters = filters.into_filters()?;
    let groups = reads
        .read(async |pool| store::distributions(pool, caller.organisation, &filters, selection, None).await)
        .await?;
    let (statistics, histogram) = flatten(groups)
        .into_iter()
        .map(|(_, statistics, bins)| (statistics, bins))
        .unzip::<_, _, Vec<_>, Vec<Vec<_>>>();
    Ok(web::Json(SummaryStatistics { statistics, histogram: histogram.into_iter().flatten().collect() }))
}

/// Statistics per group
///
/// The summary statistics for each value of `by`: indication, tissue source, route, development
/// stage, readiness level or model version.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "statistics",
    params(FilterParameters, GroupedParameters),
    responses(
        (status = 200, description = "The statistics per group", body = GroupedStatistics),
        (status = 400, description = STATS_ERRORS, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/grouped")]
pub async fn grouped(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<web::Json<GroupedStatistics>, ApiError> {
    let (filters, parameters) = parse_query::<GroupedParameters>(&request)?;
    let selection = Selection::from(parameters.assessments);
    let by = Some(Dimension::from(parameters.by));
    let filters = filters.into_filters()?;
    let groups = reads
        .read(async |pool| store::distributions(pool, caller.organisation, &filters, selection, by).await)
        .await?;
    let mut result = GroupedStatistics { statistics: Vec::new(), histogram: Vec::new() };
    for (group, statistics, bins) in flatten(groups) {
        // MSC-TRL 0 (no level reached) is stored as no level; it is a level like the others here.
        let group = match parameters.by {
            GroupBy::ReadinessLevel => group.or_else(|| Some("0".to_owned())),
            _ => group,
        };
        result.statistics.push(GroupMetricStatistics { group: group.clone(), statistics });
        result.histogram.extend(bins.into_iter().map(|bin| GroupHistogramBin { group: group.clone(), bin }));
    }
    Ok(web::Json(result))
}

/// How often each barrier is the limiting one
///
/// One row per barrier, in model order, including barriers that limit none of the counted
/// assessments.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "statistics",
    params(FilterParameters, StatsParameters),
    responses(
        (status = 200, description = "Counts per barrier", body = Vec<LimitingBarrierCount>),
        (status = 400, description = STATS_ERRORS, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/limiting-barriers")]
pub async fn limiting_barriers(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<web::Json<Vec<LimitingBarrierCount>>, ApiError> {
    let (filters, parameters) = parse_query::<StatsParameters>(&request)?;
    let selection = Selection::from(parameters.assessments);
    let filters = filters.into_filters()?;
    let counts = reads
        .read(async |pool| store::limiting_barriers(pool, caller.organisation, &filters, selection).await)
        .await?;
    let count_of = |barrier: Barrier| {
        counts
            .iter()
            .find(|(name, _)| name == barrier.as_str())
            .map_or(0, |&(_, count)| u64::try_from(count).unwrap_or(0))
    };
    let total: u64 = Barrier::ALL.iter().map(|&barrier| count_of(barrier)).sum();
    Ok(web::Json(
        Barrier::ALL
            .iter()
            .map(|&barrier| {
                let count = count_of(barrier);
                let share = if total == 0 { 0.0 } else { count as f64 / total as f64 };
                LimitingBarrierCount { barrier, count, share }
            })
            .collect(),
    ))
}

/// Mean scores over time
///
/// One row per week or month that has assessments, oldest first: how many were counted and the
/// mean overall index and mean of each barrier. By default a program counts once per period,
/// through its last assessment in that period.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "statistics",
    params(FilterParameters, TimeseriesParameters),
    responses(
        (status = 200, description = "One row per period", body = Vec<PeriodMeans>),
        (status = 400, description = STATS_ERRORS, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/timeseries")]
pub async fn timeseries(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<web::Json<Vec<PeriodMeans>>, ApiError> {
    let (filters, parameters) = parse_query::<TimeseriesParameters>(&request)?;
    let selection = Selection::from(parameters.assessments);
    let interval = match parameters.interval.unwrap_or_default() {
        TimeInterval::Week => Interval::Week,
        TimeInterval::Month => Interval::Month,
    };
    let filters = filters.into_filters()?;
    let periods = reads
        .read(async |pool| store::timeseries(pool, caller.organisation, &filters, selection, interval).await)
        .await?;
    Ok(web::Json(
        periods
            .into_iter()
            .map(|period| PeriodMeans {
                period_start: period.period_start,
                count: u64::try_from(period.count).unwrap_or(0),
                overall_index: period.overall_index.map(to_tenth),
                survival: period.survival.map(to_tenth),
                retention: period.retention.map(to_tenth),
                variability: period.variability.map(to_tenth),
                scalability: period.scalability.map(to_tenth),
                safety: period.safety.map(to_tenth),
                outcomes: period.outcomes.map(to_tenth),
                regulatory: period.regulatory.map(to_tenth),
            })
            .collect(),
    ))
}
