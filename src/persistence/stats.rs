//! Aggregates of stored assessments for dashboards: score distributions (overall and grouped),
//! how often each barrier is the limiting one, and time series of mean scores.
//!
//! Every query takes the list's [`Filters`] and a [`Selection`]: by default each program counts
//! once, through its latest assessment (the `latest` flag, kept by every insert and delete).
//! Views filtered by at most one column, and grouped by nothing or by that column, are read from
//! the rollup of [`score_counts`](super::score_counts), whose size does not grow with the number of
//! assessments; every other view scans the assessments.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::assessments::{Filters, push_filters};
use super::score_counts::{self, GroupCounts, Slice, WHOLE_ORGANISATION};
use super::{OrganisationId, PersistenceError, RowScope, with_connection};
use crate::scoring::Barrier;
use crate::statistics::Distribution;

/// Which assessments are counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Each program's latest assessment (by creation time); an assessment without a program is a
    /// program of its own.
    #[default]
    Latest,
    /// Every stored assessment.
    All,
}

/// A score the statistics describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    OverallIndex,
    Barrier(Barrier),
}

/// The overall index, then the seven barriers in model order.
pub const METRICS: [Metric; 8] = [
    Metric::OverallIndex,
    Metric::Barrier(Barrier::Survival),
    Metric::Barrier(Barrier::Retention),
    Metric::Barrier(Barrier::Variability),
    Metric::Barrier(Barrier::Scalability),
    Metric::Barrier(Barrier::Safety),
    Metric::Barrier(Barrier::Outcomes),
    Metric::Barrier(Barrier::Regulatory),
];

impl Selection {
    /// The selection's name in the rollup.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latest => "latest",
            Self::All => "all",
        }
    }
}

impl Metric {
    /// The metric's name, which is also its column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OverallIndex => "overall_index",
            Self::Barrier(barrier) => barrier.as_str(),
        }
    }
}

/// A column assessments can be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Indication,
    TissueSource,
    Route,
    Stage,
    ReadinessLevel,
    ModelVersion,
}

impl Dimension {
    pub(super) fn column(self) -> &'static str {
        match self {
            Self::Indication => "indication",
            Self::TissueSource => "tissue_source",
            Self::Route => "route",
            Self::Stage => "stage",
            Self::ReadinessLevel => "readiness_level",
            Self::ModelVersion => "model_version",
        }
    }
}

/// Length of a time-series period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// ISO weeks, starting Monday 00:00 UTC.
    Week,
    /// Calendar months, starting on the 1st 00:00 UTC.
    Month,
}

/// The score distributions of one group (or of everything counted, for the summary).
#[derive(Debug)]
pub struct GroupDistributions {
    /// The group's value of the grouping column; absent when the value is unknown.
    pub group: Option<String>,
    /// One distribution per metric, in [`METRICS`] order.
    pub distributions: Vec<(Metric, Distribution)>,
}

fn scope(
    query: &mut QueryBuilder<Postgres>,
    organisation: OrganisationId,
    filters: &Filters,
    selection: Selection,
) {
    query.push(" FROM assessments WHERE organisation_id = ").push_bind(organisation.0);
    if selection == Selection::Latest {
        query.push(" AND latest");
    }
    push_filters(query, filters);
}

/// The distribution of every metric, over everything counted (`by` absent: exactly one group) or
/// per value of `by` (groups with nothing counted are absent; unknown values last).
pub async fn distributions(
    pool: &PgPool,
    organisation: OrganisationId,
    filters: &Filters,
    selection: Selection,
    by: Option<Dimension>,
) -> Result<Vec<GroupDistributions>, PersistenceError> {
    if let Some(slice) = rollup_slice(filters, selection, by.map(Dimension::column)) {
        let counts = score_counts::read(pool, organisation, &slice).await?;
        return Ok(rollup_distributions(counts, by.is_some()));
    }
    let columns = METRICS.map(Metric::as_str);
    let group = by.map_or_else(|| "NULL::text".to_owned(), |by| format!("{}::text", by.column()));
    let mut query = QueryBuilder::<Postgres>::new(format!(
        "SELECT {group} AS grp, {}, count(*) AS n",
        columns.join(", ")
    ));
    scope(&mut query, organisation, filters, selection);
    // One grouping set per metric: a single scan counts each distinct value of every score.
    let prefix = by.map_or_else(String::new, |by| format!("{}, ", by.column()));
    let sets: Vec<String> = columns.iter().map(|column| format!("({prefix}{column})")).collect();
    query.push(format!(" GROUP BY GROUPING SETS ({})", sets.join(", ")));

    let rows = with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok::<_, PersistenceError>(query.build().fetch_all(connection).await?)
    })
    .await?;
    let mut counts: BTreeMap<Option<String>, Vec<Vec<(f64, u64)>>> = BTreeMap::new();
    if by.is_none() {
        counts.insert(None, vec![Vec::new(); METRICS.len()]);
    }
    for row in rows {
        let group: Option<String> = row.try_get("grp")?;
        let n: i64 = row.try_get("n")?;
        let per_metric = counts.entry(group).or_insert_with(|| vec![Vec::new(); METRICS.len()]);
        // In each grouping set only its own metric column is non-null, except in the set's group of
        // unknown scores (a barrier with nothing known is NULL), where every metric is NULL: those
        // rows are not counted in any metric.
        for (index, column) in columns.iter().enumerate() {
            if let Some(value) = row.try_get::<Option<f64>, _>(*column)? {
                per_metric[index].push((value, u64::try_from(n).unwrap_or(0)));
            }
        }
    }
    let mut groups: Vec<GroupDistributions> = counts
        .into_iter()
        .map(|(group, per_metric)| GroupDistributions {
            group,
            distributions: METRICS
                .into_iter()
                .zip(per_metric.into_iter().map(Distribution::from_counts))
                .collect(),
        })
        .collect();
    if by.is_some() {
        groups.sort_by_key(|group| group.group.is_none());
    }
    Ok(groups)
}

/// The part of the rollup that answers a view, if one does: filtered by nothing or by one column's
/// value, grouped by nothing or by `by`; when filtered and grouped, only by the same column.
fn rollup_slice(filters: &Filters, selection: Selection, by: Option<&'static str>) -> Option<Slice> {
    let Filters {
        program_id,
        indication,
        stage,
        tissue_source,
        route,
        model_version,
        created_from,
        created_before,
        min_overall,
        max_overall,
        barrier_ranges,
        limiting_barrier,
        readiness_level,
        latest_only,
    } = filters;
    let unsupported = program_id.is_some()
        || (*latest_only && selection == Selection::All)
        || created_from.is_some()
        || created_before.is_some()
        || min_overall.is_some()
        || max_overall.is_some()
        || !barrier_ranges.is_empty();
    if unsupported {
        return None;
    }
    let equalities: Vec<(&'static str, String)> = [
        ("indication", indication.map(str::to_owned)),
        ("stage", stage.map(str::to_owned)),
        ("tissue_source", tissue_source.map(str::to_owned)),
        ("route", route.map(str::to_owned)),
        ("model_version", model_version.clone()),
        ("limiting_barrier", limiting_barrier.map(|barrier| barrier.as_str().to_owned())),
        // Level 0 is stored as NULL, the rollup's unknown group ("").
        (
            "readiness_level",
            readiness_level.map(|level| if level == 0 { String::new() } else { level.to_string() }),
        ),
    ]
    .into_iter()
    .filter_map(|(column, value)| Some((column, value?)))
    .collect();
    match (equalities.as_slice(), by) {
        ([], by) => Some(Slice { selection, dimension: by.unwrap_or(WHOLE_ORGANISATION), group: None }),
        ([(column, value)], by) if by.is_none_or(|by| by == *column) => {
            Some(Slice { selection, dimension: column, group: Some(value.clone()) })
        }
        _ => None,
    }
}

/// The distributions of rollup counts: one group when `grouped` is false (everything counted),
/// else one per group with anything counted, unknown values last.
fn rollup_distributions(counts: GroupCounts, grouped: bool) -> Vec<GroupDistributions> {
    let distribution = |counts: &[i64]| {
        Distribution::from_counts(
            counts
                .iter()
                .enumerate()
                .filter(|&(_, &count)| count > 0)
                .map(|(tenths, &count)| (tenths as f64 / 10.0, count.unsigned_abs()))
                .collect(),
        )
    };
    let to_group = |group: Option<String>, per_metric: Option<&Vec<Vec<i64>>>| GroupDistributions {
        group,
        distributions: METRICS
            .into_iter()
            .enumerate()
            .map(|(index, metric)| {
                (metric, per_metric.map_or_else(|| distribution(&[]), |counts| distribution(&counts[index])))
            })
            .collect(),
    };
    if !grouped {
        // Filtered by one group or not, the summary is one group: everything counted.
        let total = counts.values().next();
        return vec![to_group(None, total)];
    }
    let mut groups: Vec<GroupDistributions> = counts
        .iter()
        .filter(|(_, per_metric)| per_metric[0].iter().any(|&count| count > 0))
        .map(|(group, per_metric)| to_group((!group.is_empty()).then(|| group.clone()), Some(per_metric)))
        .collect();
    groups.sort_by_key(|group| group.group.is_none());
    groups
}

/// How many counted assessments each barrier limits (barriers limiting none are absent).
pub async fn limiting_barriers(
    pool: &PgPool,
    organisation: OrganisationId,
    filters: &Filters,
    selection: Selection,
) -> Result<Vec<(String, i64)>, PersistenceError> {
    if let Some(slice) = rollup_slice(filters, selection, Some("limiting_barrier")) {
        let counts = score_counts::read(pool, organisation, &slice).await?;
        // Every counted assessment has an overall index: its counts are the group's size.
        return Ok(counts
            .into_iter()
            .map(|(barrier, per_metric)| (barrier, per_metric[0].iter().sum::<i64>()))
            .filter(|&(_, count)| count > 0)
            .collect());
    }
    let mut query = QueryBuilder::<Postgres>::new("SELECT limiting_barrier, count(*)");
    scope(&mut query, organisation, filters, selection);
    query.push(" GROUP BY limiting_barrier");
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok(query.build_query_as().fetch_all(connection).await?)
    })
    .await
}

/// One period of a time series: how many assessments were counted and the mean of each metric.
#[derive(Debug, sqlx::FromRow)]
pub struct Period {
    pub period_start: DateTime<Utc>,
    pub count: i64,
    pub overall_index: Option<f64>,
    pub survival: Option<f64>,
    pub retention: Option<f64>,
    pub variability: Option<f64>,
    pub scalability: Option<f64>,
    pub safety: Option<f64>,
    pub outcomes: Option<f64>,
    pub regulatory: Option<f64>,
}

/// Mean scores per period, oldest first; periods without assessments are absent. With
/// [`Selection::Latest`], a program counts once per period, through its last assessment in it.
pub async fn timeseries(
    pool: &PgPool,
    organisation: OrganisationId,
    filters: &Filters,
    selection: Selection,
    interval: Interval,
) -> Result<Vec<Period>, PersistenceError> {
    let unit = match interval {
        Interval::Week => "week",
        Interval::Month => "month",
    };
    let period = format!("date_trunc('{unit}', created_at, 'UTC')");
    let columns = METRICS.map(Metric::as_str);
    let means: Vec<String> = columns.iter().map(|column| format!("avg({column}) AS {column}")).collect();
    let distinct = match selection {
        Selection::Latest => format!("DISTINCT ON (coalesce(program_id, id), {period}) "),
        Selection::All => String::new(),
    };
    let mut query = QueryBuilder::<Postgres>::new(format!(
        "SELECT period_start, count(*) AS count, {} FROM (SELECT {distinct}{period} AS period_start, {}",
        means.join(", "),
        columns.join(", ")
    ));
    // Not the `latest` flag: the latest of each program is taken per period instead.
    scope(&mut query, organisation, filters, Selection::All);
    if selection == Selection::Latest {
        query.push(format!(" ORDER BY coalesce(program_id, id), {period}, created_at DESC, id DESC"));
    }
    query.push(") counted GROUP BY period_start ORDER BY period_start");
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok(query.build_query_as().fetch_all(connection).await?)
    })
    .await
}
