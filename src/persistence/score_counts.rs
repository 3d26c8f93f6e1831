//! The rollup of the assessments' scores (migration `0004_score_rollup.sql`): per organisation,
//! selection (latest or all), grouping and score, how many assessments have each of the 1,001
//! possible scores. Writers only queue changes (a trigger on `assessments`); [`fold`] adds the queue
//! into the rollup in the background, and [`read`] adds whatever is still queued, so a read sees
//! every committed write.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use super::stats::{METRICS, Selection};
use super::{OrganisationId, PersistenceError, RowScope, settle, with_connection, with_snapshot};

/// The advisory lock of whoever changes `score_counts` (also taken by `rebuild_score_counts()`).
const ROLLUP_LOCK: i64 = 7_214_001;
/// Possible scores: 0.0 to 100.0 in tenths.
pub const SCORE_VALUES: usize = 1001;

/// The whole organisation's counts, as a rollup dimension.
pub const WHOLE_ORGANISATION: &str = "";

/// A part of the rollup: in one selection, the groups of one dimension ([`WHOLE_ORGANISATION`] or
/// a column), or only the group with the given value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    pub selection: Selection,
    pub dimension: &'static str,
    pub group: Option<String>,
}

/// Counts per group (`""` for an unknown value) and per metric in [`METRICS`] order, each indexed
/// by the score in tenths.
pub type GroupCounts = BTreeMap<String, Vec<Vec<i64>>>;

/// One assessment entering (+1) or leaving (-1) a selection.
#[derive(Debug, sqlx::FromRow)]
struct Change {
    organisation_id: Uuid,
    selection: String,
    delta: i16,
    indication: Option<String>,
    stage: Option<String>,
    tissue_source: Option<String>,
    route: Option<String>,
    readiness_level: Option<i16>,
    model_version: String,
    limiting_barrier: String,
    overall_index: f64,
    survival: Option<f64>,
    retention: Option<f64>,
    variability: Option<f64>,
    scalability: Option<f64>,
    safety: Option<f64>,
    outcomes: Option<f64>,
    regulatory: Option<f64>,
}

const CHANGE_COLUMNS: &str = "organisation_id, selection, delta, indication, stage, tissue_source, route, readiness_level,
    model_version, limiting_barrier, overall_index, survival, retention, variability, scalability, safety, outcomes,
    regulatory";

impl Change {
    /// The change's group in `dimension` (`""` when unknown, and for the whole organisation).
    fn group(&self, dimension: &str) -> Cow<'_, str> {
        fn known(value: &Option<String>) -> Cow<'_, str> {
            Cow::Borrowed(value.as_deref().unwrap_or_default())
        }
        match dimension {
            "indication" => known(&self.indication),
            "stage" => known(&self.stage),
            "tissue_source" => known(&self.tissue_source),
            "route" => known(&self.route),
            "readiness_level" => {
                self.readiness_level.map_or(Cow::Borrowed(""), |level| level.to_string().into())
            }
            "model_version" => Cow::Borrowed(&self.model_version),
            "limiting_barrier" => Cow::Borrowed(&self.limiting_barrier),
            _ => Cow::Borrowed(""),
        }
    }

    /// The scores in [`METRICS`] order, as indexes into the counts; `None` for a barrier with
    /// nothing known, which its metric does not count.
    fn buckets(&self) -> [Option<usize>; METRICS.len()] {
        [
            Some(self.overall_index),
            self.survival,
            self.retention,
            self.variability,
            self.scalability,
            self.safety,
            self.outcomes,
            self.regulatory,
        ]
        .map(|score| score.map(bucket))
    }

    /// Adds this change to `counts` (one group's counts per metric).
    fn apply(&self, counts: &mut [Vec<i64>]) {
        for (metric, index) in self.buckets().into_iter().enumerate() {
            if let Some(index) = index {
                counts[metric][index] += i64::from(self.delta);
            }
        }
    }
}

/// Every dimension the rollup keeps.
const DIMENSIONS: [&str; 8] = [
    WHOLE_ORGANISATION,
    "indication",
    "stage",
    "tissue_source",
    "route",
    "readiness_level",
    "model_version",
    "limiting_barrier",
];

fn bucket(score: f64) -> usize {
    ((score * 10.0).round().max(0.0) as usize).min(SCORE_VALUES - 1)
}

fn empty_counts() -> Vec<Vec<i64>> {
    vec![vec![0; SCORE_VALUES]; METRICS.len()]
}

/// The counts of `slice`: folded rows plus queued changes, read in one snapshot so that a change
/// being folded meanwhile is counted exactly once.
pub async fn read(
    pool: &PgPool,
    organisation: OrganisationId,
    slice: &Slice,
) -> Result<GroupCounts, PersistenceError> {
    let (rows, queued) = with_snapshot(pool, RowScope::Organisation(organisation), async |transaction| {
        let rows: Vec<(String, String, Vec<i32>)> = sqlx::query_as(
            "SELECT grp, metric, counts FROM score_counts
             WHERE organisation_id = $1 AND selection = $2 AND dimension = $3 AND ($4::text IS NULL OR grp = $4)",
        )
        .bind(organisation.0)
        .bind(slice.selection.as_str())
        .bind(slice.dimension)
        .bind(slice.group.as_deref())
        .fetch_all(&mut *transaction)
        .await?;
        let queued: Vec<Change> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANGE_COLUMNS} FROM score_count_changes WHERE organisation_id = $1 AND selection = $2"
        )))
        .bind(organisation.0)
        .bind(slice.selection.as_str())
        .fetch_all(&mut *transaction)
        .await?;
        Ok((rows, queued))
    })
    .await?;

    let mut groups = GroupCounts::new();
    for (group, metric, counts) in rows {
        let Some(index) = METRICS.iter().position(|known| known.as_str() == metric) else {
            continue;
        };
        let target = &mut groups.entry(group).or_insert_with(empty_counts)[index];
        for (total, count) in target.iter_mut().zip(counts) {
            *total += i64::from(count);
        }
    }
    for change in queued {
        let group = change.group(slice.dimension);
        if slice.group.as_ref().is_none_or(|wanted| *wanted == group) {
            change.apply(groups.entry(group.into_owned()).or_insert_with(empty_counts));
        }
    }
    Ok(groups)
}

/// Organisation, selection, dimension, group, metric.
type RollupKey = (Uuid, String, &'static str, String, &'static str);

/// Organisation, selection, dimension, group: the rollup rows of every metric of one group.
type GroupKey<'a> = (Uuid, &'a str, &'static str, Cow<'a, str>);

/// The changes to one group's counts, per metric in [`METRICS`] order, and which metrics a change
/// counted in (a metric no change counted in has no row to touch).
struct GroupDeltas {
    counts: Vec<i64>,
    touched: [bool; METRICS.len()],
}

impl GroupDeltas {
    fn new() -> Self {
        Self { counts: vec![0; METRICS.len() * SCORE_VALUES], touched: [false; METRICS.len()] }
    }

    fn add(&mut self, metric: usize, index: usize, delta: i16) {
        self.counts[metric * SCORE_VALUES + index] += i64::from(delta);
        self.touched[metric] = true;
    }

    fn touched(&self) -> impl Iterator<Item = (&super::stats::Metric, &[i64])> {
        METRICS
            .iter()
            .zip(self.counts.chunks_exact(SCORE_VALUES))
            .zip(self.touched)
            .filter_map(|(counts, touched)| touched.then_some(counts))
    }
}

/// Changes folded per transaction: bounds the memory and the lock time of the fold after a bulk
/// load (1,000,000 queued changes would be some 300 MB at once).
const FOLD_BATCH: usize = 10_000;

/// Adds the queued changes into the rollup and removes them from the queue, a batch per
/// transaction; returns how many were folded. Another instance folding at the same time is waited
/// for.
pub async fn fold(pool: &PgPool) -> Result<usize, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        let mut folded = 0;
        loop {
            let batch = fold_batch(connection).await?;
            folded += batch;
            if batch < FOLD_BATCH {
                break;
            }
        }
        // VACUUM cannot run inside the transaction each lease is behind a transaction pooler;
        // autovacuum clears the queue there.
        if folded > 0 && !super::transaction_pooling() {
            // Every read scans the queue: its deleted rows are cleared now, not at autovacuum's
            // next round up to a minute later (measured: 100,000 dead rows made a read take 12 ms,
            // not 0.05).
            sqlx::query("VACUUM score_count_changes").execute(&mut *connection).await?;
        }
        Ok(folded)
    })
    .await
}

/// Folds up to [`FOLD_BATCH`] queued changes in one transaction; returns how many.
async fn fold_batch(connection: &mut PgConnection) -> Result<usize, PersistenceError> {
    let mut transaction = connection.begin().await?;
    let folded = fold_queued(&mut transaction).await;
    // Ended on every path, an empty queue and a failure included: until then the rollup's lock
    // stays held.
    settle(transaction, folded).await
}

/// The work of [`fold_batch`], inside its transaction.
async fn fold_queued(transaction: &mut PgConnection) -> Result<usize, PersistenceError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ROLLUP_LOCK).execute(&mut *transaction).await?;
    let changes: Vec<Change> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "DELETE FROM score_count_changes
             WHERE id IN (SELECT id FROM score_count_changes ORDER BY id LIMIT {FOLD_BATCH})
             RETURNING {CHANGE_COLUMNS}"
    )))
    .fetch_all(&mut *transaction)
    .await?;
    if changes.is_empty() {
        return Ok(0);
    }

    // Summed per group first, with keys borrowed from the changes: a key per change, dimension
    // and metric, with its strings copied and hashed with SipHash, was the fold's whole cost and
    // a tenth of the service's CPU during an import.
    let mut by_group: HashMap<GroupKey<'_>, GroupDeltas, foldhash::fast::RandomState> = HashMap::default();
    for change in &changes {
        let buckets = change.buckets();
        for dimension in DIMENSIONS {
            let key = (change.organisation_id, change.selection.as_str(), dimension, change.group(dimension));
            let deltas = by_group.entry(key).or_insert_with(GroupDeltas::new);
            for (metric, index) in buckets.iter().enumerate() {
                if let Some(index) = index {
                    deltas.add(metric, *index, change.delta);
                }
            }
        }
    }
    let mut deltas: HashMap<RollupKey, &[i64]> = HashMap::new();
    for ((organisation, selection, dimension, group), group_deltas) in &by_group {
        for (metric, counts) in group_deltas.touched() {
            let key = (
                *organisation,
                (*selection).to_owned(),
                *dimension,
                group.clone().into_owned(),
                metric.as_str(),
            );
            deltas.insert(key, counts);
        }
    }
    let keys: Vec<&RollupKey> = deltas.keys().collect();
    let (organisations, selections, dimensions, groups, metrics) = key_columns(&keys);
    let stored: Vec<(Uuid, String, String, String, String, Vec<i32>)> = sqlx::query_as(
        "SELECT organisation_id, selection, dimension, grp, metric, counts FROM score_counts
             WHERE (organisation_id, selection, dimension, grp, metric)
                IN (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]))",
    )
    .bind(&organisations)
    .bind(&selections)
    .bind(&dimensions)
    .bind(&groups)
    .bind(&metrics)
    .fetch_all(&mut *transaction)
    .await?;
    let mut totals: HashMap<(Uuid, String, String, String, String), Vec<i32>> = stored
        .into_iter()
        .map(|(organisation, selection, dimension, group, metric, counts)| {
            ((organisation, selection, dimension, group, metric), counts)
        })
        .collect();

    // Rows that still count something are written whole; rows that count nothing are removed,
    // so a group nobody is in has no row.
    let (mut kept, mut flat, mut emptied) = (Vec::new(), Vec::new(), Vec::new());
    for key in keys {
        let delta = deltas[key];
        let stored_key = (key.0, key.1.clone(), key.2.to_owned(), key.3.clone(), key.4.to_owned());
        let total: Vec<i32> = match totals.remove(&stored_key) {
            Some(counts) => counts.iter().zip(delta).map(|(&count, &change)| add(count, change)).collect(),
            None => delta.iter().map(|&change| add(0, change)).collect(),
        };
        if total.iter().all(|&count| count == 0) {
            emptied.push(key);
        } else {
            flat.extend(total);
            kept.push(key);
        }
    }
    let (organisations, selections, dimensions, groups, metrics) = key_columns(&kept);
    sqlx::query(
            "INSERT INTO score_counts (organisation_id, selection, dimension, grp, metric, counts)
             SELECT k.organisation_id, k.selection, k.dimension, k.grp, k.metric,
                    ($6::integer[])[(k.n::integer - 1) * 1001 + 1 : k.n::integer * 1001]
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
                  WITH ORDINALITY k(organisation_id, selection, dimension, grp, metric, n)
             ON CONFLICT (organisation_id, selection, dimension, grp, metric) DO UPDATE SET counts = excluded.counts",
        )
        .bind(&organisations)
        .bind(&selections)
        .bind(&dimensions)
        .bind(&groups)
        .bind(&metrics)
        .bind(&flat)
        .execute(&mut *transaction)
        .await?;
    let (organisations, selections, dimensions, groups, metrics) = key_columns(&emptied);
    sqlx::query(
        "DELETE FROM score_counts WHERE (organisation_id, selection, dimension, grp, metric)
                IN (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]))",
    )
    .bind(&organisations)
    .bind(&selections)
    .bind(&dimensions)
    .bind(&groups)
    .bind(&metrics)
    .execute(&mut *transaction)
    .await?;
    Ok(changes.len())
}

/// A count after a change; never negative (a change leaving a selection follows the one entering it).
fn add(count: i32, change: i64) -> i32 {
    i32::try_from((i64::from(count) + change).max(0)).unwrap_or(i32::MAX)
}

type KeyColumns = (Vec<Uuid>, Vec<String>, Vec<&'static str>, Vec<String>, Vec<&'static str>);

fn key_columns(keys: &[&RollupKey]) -> KeyColumns {
    (
        keys.iter().map(|key| key.0).collect(),
        keys.iter().map(|key| key.1.clone()).collect(),
        keys.iter().map(|key| key.2).collect(),
        keys.iter().map(|key| key.3.clone()).collect(),
        keys.iter().map(|key| key.4).collect(),
    )
}
