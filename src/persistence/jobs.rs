//! Jobs: their rows, their items and errors, the claims of batches by workers, and what a
//! re-score job's report reads. See `migrations/0008_jobs.sql` for how claims work, and 0014 and
//! 0016 for how a claim takes a program's items together.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgPool, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use super::access::{self, AuditAction};
use super::assessments::{Filters, push_filters};
use super::{Actor, OrganisationId, PersistenceError, RowScope, settle, with_connection};
use crate::jobs::{JobKind, JobState};

/// A job as its organisation sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: JobKind,
    #[sqlx(try_from = "String")]
    pub state: JobState,
    pub parameters: serde_json::Value,
    pub total: i64,
    pub processed: i64,
    pub created: i64,
    pub skipped: i64,
    pub failed: i64,
    pub failure: Option<String>,
    pub error_count: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

const JOB_COLUMNS: &str = "id, kind, state, parameters, total, processed, created, skipped, failed, failure,
    (SELECT count(*) FROM job_errors WHERE job_errors.job_id = jobs.id) AS error_count,
    created_at, started_at, finished_at, updated_at";

/// One field error of a line or item.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemError {
    pub position: i64,
    pub source_id: Option<Uuid>,
    pub field: String,
    pub message: String,
}

/// A line of an import, staged: its position (line number), the line as a JSON document, and its
/// claim group (migration 0016).
#[derive(Debug, Clone)]
pub struct StagedLine {
    pub position: i64,
    pub input: String,
    /// The position of the first line of its group: the lines naming its program, claimed
    /// together; `None` for a line claimed alone.
    pub group_head: Option<i64>,
    /// On the first line of a program's second group and after: the first line of the group
    /// before, which must be done before this group is claimed.
    pub group_after: Option<i64>,
}

/// A stored error with its place in the job's error list.
#[derive(Debug, sqlx::FromRow)]
pub struct ErrorRow {
    pub id: i64,
    #[sqlx(flatten)]
    pub error: ItemError,
}

/// Creates an import job that is receiving its upload: nobody sees it and no worker takes it
/// until [`finish_upload`].
pub async fn open_upload(
    pool: &PgPool,
    actor: &Actor,
    parameters: &serde_json::Value,
) -> Result<Uuid, PersistenceError> {
    let id = Uuid::now_v7();
    with_connection(pool, RowScope::Organisation(actor.organisation), async |connection| {
        sqlx::query(
            "INSERT INTO jobs (id, organisation_id, kind, state, parameters, created_by, request_id)
             VALUES ($1, $2, 'import', 'receiving', $3, $4, $5)",
        )
        .bind(id)
        .bind(actor.organisation.0)
        .bind(parameters)
        .bind(actor.key_id)
        .bind(actor.request_id.as_deref())
        .execute(connection)
        .await?;
        Ok(id)
    })
    .await
}

/// Stages lines of an upload and the errors of lines that could not be staged (too long, not
/// UTF-8, a malformed CSV record), which are done at once. A group's first line is staged with a
/// `group_size` of 1 and its others with 0: [`finish_upload`] counts the groups.
pub async fn stage(
    pool: &PgPool,
    job: Uuid,
    lines: &[StagedLine],
    errors: &[ItemError],
    failed_lines: i64,
) -> Result<(), PersistenceError> {
    let positions: Vec<i64> = lines.iter().map(|line| line.position).collect();
    let inputs: Vec<&str> = lines.iter().map(|line| line.input.as_str()).collect();
    let heads: Vec<Option<i64>> = lines.iter().map(|line| line.group_head).collect();
    let afters: Vec<Option<i64>> = lines.iter().map(|line| line.group_after).collect();
    with_connection(pool, RowScope::Service, async |connection| {
        let mut transaction = connection.begin().await?;
        if !lines.is_empty() {
            sqlx::query(
                "INSERT INTO job_items (job_id, position, input, group_head, group_after, group_size)
                 SELECT $1, position, input, group_head, group_after,
                   CASE WHEN group_head IS NULL OR group_head = position THEN 1 ELSE 0 END
                 FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
                   AS line(position, input, group_head, group_after)",
            )
            .bind(job)
            .bind(&positions)
            .bind(&inputs)
            .bind(&heads)
            .bind(&afters)
            .execute(&mut *transaction)
            .await?;
        }
        insert_errors(&mut transaction, job, errors).await?;
        sqlx::query(
            "UPDATE jobs SET total = total + $2, processed = processed + $3, failed = failed + $3, updated_at = now()
             WHERE id = $1",
        )
        .bind(job)
        .bind(i64::try_from(lines.len()).unwrap_or(i64::MAX) + failed_lines)
        .bind(failed_lines)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    })
    .await
}

async fn insert_errors(
    connection: &mut sqlx::PgConnection,
    job: Uuid,
    errors: &[ItemError],
) -> Result<(), PersistenceError> {
    if errors.is_empty() {
        return Ok(());
    }
    let positions: Vec<i64> = errors.iter().map(|error| error.position).collect();
    let sources: Vec<Option<Uuid>> = errors.iter().map(|error| error.source_id).collect();
    // A line can name a field with NUL in it (a key of its JSON), which PostgreSQL text cannot
    // hold: it is stored as the escape a JSON reader would show.
    let storable = |text: &str| text.replace('\0', "\\u0000");
    let fields: Vec<String> = errors.iter().map(|error| storable(&error.field)).collect();
    let messages: Vec<String> = errors.iter().map(|error| storable(&error.message)).collect();
    sqlx::query(
        "INSERT INTO job_errors (job_id, position, source_id, field, message)
         SELECT $1, position, source_id, field, message
         FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY
           AS error(position, source_id, field, message, ordinal)
         ORDER BY ordinal",
    )
    .bind(job)
    .bind(&positions)
    .bind(&sources)
    .bind(&fields)
    .bind(&messages)
    .execute(connection)
    .await?;
    Ok(())
}

/// The upload is complete: the job is queued for the workers and its start audited, in one
/// transaction, before the client hears of it.
pub async fn finish_upload(pool: &PgPool, actor: &Actor, job: Uuid) -> Result<JobRow, PersistenceError> {
    with_connection(pool, RowScope::Organisation(actor.organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        // Each group's first line gets the group's size (a group of one line has it already).
        sqlx::query(
            "UPDATE job_items SET group_size = grouped.lines
             FROM (SELECT group_head, count(*) AS lines FROM job_items
                   WHERE job_id = $1 AND group_head IS NOT NULL AND NOT done
                   GROUP BY group_head HAVING count(*) > 1) grouped
             WHERE job_items.job_id = $1 AND job_items.position = grouped.group_head",
        )
        .bind(job)
        .execute(&mut *transaction)
        .await?;
        // A file of nothing but blank or unreadable lines has nothing left to do; an all_or_nothing
        // import with an unreadable line stores nothing.
        sqlx::query(
            "UPDATE jobs SET
               state = CASE WHEN parameters->>'mode' = 'all_or_nothing' AND failed > 0 THEN 'failed'
                            WHEN processed >= total THEN 'succeeded' ELSE 'queued' END,
               failure = CASE WHEN parameters->>'mode' = 'all_or_nothing' AND failed > 0 THEN
                 failed || ' line(s) could not be read: nothing was stored (mode all_or_nothing)' END,
               finished_at = CASE WHEN (parameters->>'mode' = 'all_or_nothing' AND failed > 0) OR processed >= total
                             THEN now() END,
               updated_at = now()
             WHERE id = $1",
        )
        .bind(job)
        .execute(&mut *transaction)
        .await?;
        access::record(&mut transaction, actor, AuditAction::JobStarted, job).await?;
        let row = fetch_in(&mut transaction, actor.organisation, job).await?;
        if row.as_ref().is_some_and(|row| !row.state.is_active()) {
            access::record(&mut transaction, actor, AuditAction::JobFinished, job).await?;
        }
        transaction.commit().await?;
        row.ok_or_else(|| PersistenceError::Encoding(format!("job {job} vanished while it was created")))
    })
    .await
}

/// Ends an upload whose file cannot be read as lines (a CSV header row naming an unknown column):
/// the job is kept, failed, with the reason as its `failure` and as the error of line 1.
pub async fn fail_upload(
    pool: &PgPool,
    actor: &Actor,
    job: Uuid,
    field: &str,
    reason: &str,
) -> Result<JobRow, PersistenceError> {
    with_connection(pool, RowScope::Organisation(actor.organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        let error =
            ItemError { position: 1, source_id: None, field: field.to_owned(), message: reason.to_owned() };
        insert_errors(&mut transaction, job, &[error]).await?;
        sqlx::query(
            "UPDATE jobs SET state = 'failed', failure = $2, total = 1, processed = 1, failed = 1,
               started_at = now(), finished_at = now(), updated_at = now()
             WHERE id = $1",
        )
        .bind(job)
        .bind(reason.replace('\0', "\\u0000"))
        .execute(&mut *transaction)
        .await?;
        access::record(&mut transaction, actor, AuditAction::JobStarted, job).await?;
        access::record(&mut transaction, actor, AuditAction::JobFinished, job).await?;
        let row = fetch_in(&mut transaction, actor.organisation, job).await?;
        transaction.commit().await?;
        row.ok_or_else(|| PersistenceError::Encoding(format!("job {job} vanished while it was created")))
    })
    .await
}

/// Forgets an upload that did not complete (the client went away, a line could not be read).
pub async fn discard_upload(pool: &PgPool, job: Uuid) -> Result<(), PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND state = 'receiving'")
            .bind(job)
            .execute(connection)
            .await?;
        Ok(())
    })
    .await
}

/// Forgets uploads that stopped arriving an hour ago or more: their instance died while receiving
/// them, and their client never got an answer.
pub async fn discard_abandoned_uploads(pool: &PgPool) -> Result<u64, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        let deleted = sqlx::query(
            "DELETE FROM jobs WHERE state = 'receiving' AND updated_at < now() - interval '1 hour'",
        )
        .execute(connection)
        .await?;
        Ok(deleted.rows_affected())
    })
    .await
}

/// Creates a re-score job over the organisation's assessments that `filters` select and the
/// current model (`model_version`) did not score: program by program, each program's in the order
/// of its history, a group claimed whole (migration 0014), so that its re-scores are stored in
/// that order and the newest original's is the program's latest. Its items are written by the
/// same statement that selects them, so the job's selection is fixed when it is answered.
pub async fn create_rescore(
    pool: &PgPool,
    actor: &Actor,
    filters: &Filters,
    model_version: &str,
    parameters: &serde_json::Value,
) -> Result<JobRow, PersistenceError> {
    let id = Uuid::now_v7();
    let organisation = actor.organisation;
    let mut items = QueryBuilder::<Postgres>::new(
        "INSERT INTO job_items (job_id, position, source_id, group_size) SELECT ",
    );
    items.push_bind(id).push(
        ", row_number() OVER (ORDER BY program_id, created_at, id), id,
           CASE WHEN program_id IS NULL THEN 1
                WHEN row_number() OVER (PARTITION BY program_id ORDER BY created_at, id) = 1
                  THEN count(*) OVER (PARTITION BY program_id)
                ELSE 0 END
         FROM assessments WHERE organisation_id = ",
    );
    items.push_bind(organisation.0);
    push_filters(&mut items, filters);
    items.push(" AND model_version <> ").push_bind(model_version.to_owned());
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        sqlx::query(
            "INSERT INTO jobs (id, organisation_id, kind, state, parameters, created_by, request_id)
             VALUES ($1, $2, 'rescore', 'queued', $3, $4, $5)",
        )
        .bind(id)
        .bind(organisation.0)
        .bind(parameters)
        .bind(actor.key_id)
        .bind(actor.request_id.as_deref())
        .execute(&mut *transaction)
        .await?;
        let selected = items.build().execute(&mut *transaction).await?.rows_affected();
        let selected = i64::try_from(selected).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE jobs SET total = $2,
               state = CASE WHEN $2 = 0 THEN 'succeeded' ELSE state END,
               finished_at = CASE WHEN $2 = 0 THEN now() END
             WHERE id = $1",
        )
        .bind(id)
        .bind(selected)
        .execute(&mut *transaction)
        .await?;
        access::record(&mut transaction, actor, AuditAction::JobStarted, id).await?;
        if selected == 0 {
            access::record(&mut transaction, actor, AuditAction::JobFinished, id).await?;
        }
        let row = fetch_in(&mut transaction, organisation, id).await?;
        transaction.commit().await?;
        row.ok_or_else(|| PersistenceError::Encoding(format!("job {id} vanished while it was created")))
    })
    .await
}

async fn fetch_in(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<JobRow>, PersistenceError> {
    let query = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND organisation_id = $2 AND state <> 'receiving'"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(query))
        .bind(id)
        .bind(organisation.0)
        .fetch_optional(connection)
        .await?)
}

/// One job of the organisation (not an upload still arriving).
pub async fn fetch(
    pool: &PgPool,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<JobRow>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        fetch_in(connection, organisation, id).await
    })
    .await
}

/// The organisation's jobs, newest first, a keyset page at a time (`before`: the last id seen).
pub async fn list(
    pool: &PgPool,
    organisation: OrganisationId,
    active_only: bool,
    before: Option<Uuid>,
    limit: u32,
) -> Result<Vec<JobRow>, PersistenceError> {
    let states = if active_only {
        "('queued', 'running')"
    } else {
        "('queued', 'running', 'succeeded', 'failed', 'cancelled')"
    };
    let query = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE organisation_id = $1 AND state IN {states}
           AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(organisation.0)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(connection)
            .await?)
    })
    .await
}

/// A page of a job's errors in the order they were found (`after`: the last error id seen); `None`
/// when the organisation has no such job.
pub async fn errors(
    pool: &PgPool,
    organisation: OrganisationId,
    job: Uuid,
    after: Option<i64>,
    limit: u32,
) -> Result<Option<Vec<ErrorRow>>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        if fetch_in(connection, organisation, job).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query_as(
            "SELECT id, position, source_id, field, message FROM job_errors
             WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(job)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(connection)
        .await?;
        Ok(Some(rows))
    })
    .await
}

/// What a cancellation did.
pub enum Cancellation {
    Cancelled(JobRow),
    /// The job had already ended, in this state.
    AlreadyEnded(JobState),
    NotFound,
}

/// Cancels a queued or running job: no worker claims its items from now on; a batch being worked
/// when it is cancelled still completes (its transaction holds its claim), and the job's counts
/// say what was done.
pub async fn cancel(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<Cancellation, PersistenceError> {
    with_connection(pool, RowScope::Organisation(actor.organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        let cancellation = async {
            let state: Option<String> = sqlx::query_scalar(
                "SELECT state FROM jobs WHERE id = $1 AND organisation_id = $2 AND state <> 'receiving' FOR UPDATE",
            )
            .bind(id)
            .bind(actor.organisation.0)
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(state) = state else { return Ok(Cancellation::NotFound) };
            let state = JobState::try_from(state).map_err(PersistenceError::Encoding)?;
            if !state.is_active() {
                return Ok(Cancellation::AlreadyEnded(state));
            }
            sqlx::query("UPDATE jobs SET state = 'cancelled', finished_at = now(), updated_at = now() WHERE id = $1")
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            access::record(&mut transaction, actor, AuditAction::JobCancelled, id).await?;
            let row = fetch_in(&mut transaction, actor.organisation, id).await?;
            Ok(row.map_or(Cancellation::NotFound, Cancellation::Cancelled))
        }
        .await;
        // Ended explicitly on every path (a job already ended included): the job's row lock must
        // not outlive the request.
        settle(transaction, cancellation).await
    })
    .await
}

/// A job a worker took a batch of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub organisation_id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: JobKind,
    pub parameters: serde_json::Value,
    pub created_by: Option<Uuid>,
    pub request_id: Option<String>,
    /// Runs of the whole job (an all_or_nothing import) that failed other than for want of the
    /// database (migration 0015); read by `claim_whole` only.
    #[sqlx(default)]
    pub failed_attempts: i32,
}

impl ClaimedJob {
    /// The scope of the job's work: its organisation's.
    pub fn scope(&self) -> RowScope {
        RowScope::Organisation(OrganisationId(self.organisation_id))
    }

    /// The job's creator, as whom the worker stores and audits its work.
    pub fn actor(&self) -> Actor {
        Actor {
            organisation: OrganisationId(self.organisation_id),
            key_id: self.created_by,
            request_id: self.request_id.clone(),
        }
    }
}

/// A pending item of a claimed batch.
#[derive(Debug, sqlx::FromRow)]
pub struct Item {
    pub position: i64,
    pub input: Option<String>,
    pub source_id: Option<Uuid>,
    /// Attempts at its batch that failed other than for want of the database (migration 0013).
    pub failed_attempts: i32,
}

/// A batch claimed by a worker: its items stay locked by `transaction` until the batch is
/// completed (committed) or dropped (rolled back, and so given back).
pub struct Batch {
    pub transaction: Transaction<'static, Postgres>,
    pub job: ClaimedJob,
    pub items: Vec<Item>,
    claimed_at: DateTime<Utc>,
}

/// Claims up to `size` pending items of the oldest active job that has unclaimed ones, in order; a
/// re-scored program's items all together, so a batch that ends in one holds more (migration
/// 0014). `None` when there is no work.
pub async fn claim(pool: &PgPool, size: u32) -> Result<Option<Batch>, PersistenceError> {
    // Jobs of every organisation; each job's work in its own organisation's scope.
    let jobs: Vec<ClaimedJob> = with_connection(pool, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(
            sqlx::query_as(
                "SELECT id, organisation_id, kind, parameters, created_by, request_id FROM jobs
             WHERE state IN ('queued', 'running') AND parameters->>'mode' IS DISTINCT FROM 'all_or_nothing'
             ORDER BY id LIMIT 100",
            )
            .fetch_all(connection)
            .await?,
        )
    })
    .await?;
    for job in jobs {
        let mut transaction = super::begin(pool, job.scope()).await?;
        let items: Vec<Item> =
            sqlx::query_as("SELECT position, input, source_id, failed_attempts FROM claim_job_items($1, $2)")
                .bind(job.id)
                .bind(i64::from(size))
                .fetch_all(&mut *transaction)
                .await?;
        if !items.is_empty() {
            return Ok(Some(Batch { transaction, job, items, claimed_at: Utc::now() }));
        }
    }
    Ok(None)
}

/// What a batch did with one item.
pub struct ItemOutcome {
    pub position: i64,
    /// The assessment stored from it (or, for a line already imported, the one that was).
    pub result_id: Option<Uuid>,
}

/// The counts of a completed batch: each of its items was created, skipped or failed.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchCounts {
    pub created: i64,
    pub skipped: i64,
    pub failed: i64,
}

impl BatchCounts {
    fn items(self) -> i64 {
        self.created + self.skipped + self.failed
    }
}

impl std::ops::AddAssign for BatchCounts {
    fn add_assign(&mut self, other: Self) {
        self.created += other.created;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }
}

/// Where a job stands after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub state: JobState,
    pub processed: i64,
    pub total: i64,
}

impl Batch {
    pub fn connection(&mut self) -> &mut sqlx::PgConnection {
        &mut self.transaction
    }

    /// A savepoint for work on the batch: rolled back alone, it leaves the batch claimed, so that
    /// a failure can be counted on its items ([`Batch::count_failed_attempt`]) before they are
    /// given back.
    pub async fn attempt(&mut self) -> Result<Transaction<'_, Postgres>, PersistenceError> {
        Ok(Connection::begin(&mut *self.transaction).await?)
    }

    /// Commits the batch, its items recorded ([`record_items`]) and its assessments stored: the
    /// job's counters (the job ended and audited when this was its last work).
    pub async fn complete(mut self, counts: BatchCounts) -> Result<Progress, PersistenceError> {
        // Only now, so that the job's row is locked only from here to the commit: batches of one
        // job on several workers take turns only for this.
        let processed = counts.items();
        let (state, processed, total): (String, i64, i64) = sqlx::query_as(
            "UPDATE jobs SET processed = processed + $2, created = created + $3, skipped = skipped + $4,
               failed = failed + $5, updated_at = now(), started_at = coalesce(started_at, $6),
               state = CASE WHEN state NOT IN ('queued', 'running') THEN state
                            WHEN processed + $2 >= total THEN 'succeeded' ELSE 'running' END,
               finished_at = CASE WHEN state IN ('queued', 'running') AND processed + $2 >= total THEN now()
                                  ELSE finished_at END
             WHERE id = $1
             RETURNING state, processed, total",
        )
        .bind(self.job.id)
        .bind(processed)
        .bind(counts.created)
        .bind(counts.skipped)
        .bind(counts.failed)
        .bind(self.claimed_at)
        .fetch_one(&mut *self.transaction)
        .await?;
        let state = JobState::try_from(state).map_err(PersistenceError::Encoding)?;
        let finished_now = state == JobState::Succeeded && processed - counts.items() < total;
        if finished_now {
            access::record(&mut self.transaction, &self.job.actor(), AuditAction::JobFinished, self.job.id)
                .await?;
        }
        self.transaction.commit().await?;
        Ok(Progress { state, processed, total })
    }

    /// Gives the batch back after an attempt at it failed (rolled back to [`Batch::attempt`]),
    /// counting the failure on each item at `positions`; returns the most failures an item has.
    pub async fn count_failed_attempt(mut self, positions: &[i64]) -> Result<i32, PersistenceError> {
        let failed_attempts: Option<i32> = sqlx::query_scalar(
            "WITH counted AS (
               UPDATE job_items SET failed_attempts = failed_attempts + 1
               WHERE job_id = $1 AND position = ANY($2) RETURNING failed_attempts)
             SELECT max(failed_attempts) FROM counted",
        )
        .bind(self.job.id)
        .bind(positions)
        .fetch_one(&mut *self.transaction)
        .await?;
        self.transaction.commit().await?;
        Ok(failed_attempts.unwrap_or(0))
    }
}

/// Records items of a batch as done, each with the assessment stored from it, and their errors,
/// in the batch's transaction (or a savepoint of it).
pub async fn record_items(
    connection: &mut sqlx::PgConnection,
    job: Uuid,
    outcomes: &[ItemOutcome],
    errors: &[ItemError],
) -> Result<(), PersistenceError> {
    mark_done(connection, job, outcomes).await?;
    insert_errors(connection, job, errors).await
}

async fn mark_done(
    connection: &mut sqlx::PgConnection,
    job: Uuid,
    outcomes: &[ItemOutcome],
) -> Result<(), PersistenceError> {
    let positions: Vec<i64> = outcomes.iter().map(|outcome| outcome.position).collect();
    let results: Vec<Option<Uuid>> = outcomes.iter().map(|outcome| outcome.result_id).collect();
    sqlx::query(
        "UPDATE job_items SET done = true, input = NULL, result_id = outcome.result_id
         FROM unnest($2::bigint[], $3::uuid[]) AS outcome(position, result_id)
         WHERE job_items.job_id = $1 AND job_items.position = outcome.position",
    )
    .bind(job)
    .bind(&positions)
    .bind(&results)
    .execute(connection)
    .await?;
    Ok(())
}

/// An all_or_nothing import taken whole by one worker: every batch of it is stored in
/// `transaction`, which commits only if no line failed. An advisory lock held by the transaction
/// keeps other workers off it; a crash rolls everything back and the next worker starts again.
pub struct WholeJob {
    pub transaction: Transaction<'static, Postgres>,
    pub job: ClaimedJob,
    /// For progress and errors, written beside the transaction so that they show while it runs.
    pool: PgPool,
    claimed_at: DateTime<Utc>,
    last_position: i64,
}

/// Takes the oldest active all_or_nothing import no other worker has, resetting what an earlier,
/// interrupted run of it recorded.
pub async fn claim_whole(pool: &PgPool) -> Result<Option<WholeJob>, PersistenceError> {
    let jobs: Vec<ClaimedJob> = with_connection(pool, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(sqlx::query_as(
            "SELECT id, organisation_id, kind, parameters, created_by, request_id, failed_attempts FROM jobs
             WHERE state IN ('queued', 'running') AND parameters->>'mode' = 'all_or_nothing' ORDER BY id LIMIT 100",
        )
        .fetch_all(connection)
        .await?)
    })
    .await?;
    for job in jobs {
        let mut transaction = super::begin(pool, job.scope()).await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(17, hashtext($1::text))")
            .bind(job.id)
            .fetch_one(&mut *transaction)
            .await?;
        if !locked {
            continue;
        }
        with_connection(pool, job.scope(), async |connection| {
            sqlx::query("DELETE FROM job_errors WHERE job_id = $1")
                .bind(job.id)
                .execute(&mut *connection)
                .await?;
            sqlx::query("UPDATE jobs SET processed = 0, failed = 0, updated_at = now() WHERE id = $1")
                .bind(job.id)
                .execute(&mut *connection)
                .await?;
            Ok::<_, PersistenceError>(())
        })
        .await?;
        return Ok(Some(WholeJob {
            transaction,
            job,
            pool: pool.clone(),
            claimed_at: Utc::now(),
            last_position: 0,
        }));
    }
    Ok(None)
}

impl WholeJob {
    pub fn connection(&mut self) -> &mut sqlx::PgConnection {
        &mut self.transaction
    }

    /// The next `size` items, in order; empty at the end.
    pub async fn next_items(&mut self, size: u32) -> Result<Vec<Item>, PersistenceError> {
        let items: Vec<Item> = sqlx::query_as(
            "SELECT position, input, source_id, failed_attempts FROM job_items
             WHERE job_id = $1 AND NOT done AND position > $2 ORDER BY position LIMIT $3",
        )
        .bind(self.job.id)
        .bind(self.last_position)
        .bind(i64::from(size))
        .fetch_all(&mut *self.transaction)
        .await?;
        if let Some(last) = items.last() {
            self.last_position = last.position;
        }
        Ok(items)
    }

    /// Records a batch's items as done in the transaction, and its errors and the progress beside
    /// it; returns whether the job is still active (not cancelled).
    pub async fn record(
        &mut self,
        outcomes: &[ItemOutcome],
        errors: &[ItemError],
        failed: i64,
    ) -> Result<bool, PersistenceError> {
        mark_done(&mut self.transaction, self.job.id, outcomes).await?;
        // Beside the job's transaction, so that progress and errors show while it runs.
        let (job, claimed_at, processed) =
            (self.job.id, self.claimed_at, i64::try_from(outcomes.len()).unwrap_or(i64::MAX));
        let state: String = with_connection(&self.pool, self.job.scope(), async |side| {
            insert_errors(&mut *side, job, errors).await?;
            Ok::<_, PersistenceError>(
                sqlx::query_scalar(
                    "UPDATE jobs SET processed = processed + $2, failed = failed + $3, updated_at = now(),
                       started_at = coalesce(started_at, $4), state = CASE WHEN state = 'queued' THEN 'running' ELSE state END
                     WHERE id = $1 RETURNING state",
                )
                .bind(job)
                .bind(processed)
                .bind(failed)
                .bind(claimed_at)
                .fetch_one(&mut *side)
                .await?,
            )
        })
        .await?;
        Ok(JobState::try_from(state).map_err(PersistenceError::Encoding)?.is_active())
    }

    /// Ends the job: with no failed line, commits everything it stored; otherwise rolls it all back
    /// and fails the job. A cancelled job is only rolled back.
    pub async fn finish(self, counts: BatchCounts) -> Result<Progress, PersistenceError> {
        let Self { mut transaction, job, pool, .. } = self;
        if counts.failed == 0 {
            let (state, processed, total): (String, i64, i64) = sqlx::query_as(
                "UPDATE jobs SET created = $2, skipped = $3, updated_at = now(), finished_at = now(),
                   state = CASE WHEN state IN ('queued', 'running') THEN 'succeeded' ELSE state END
                 WHERE id = $1 RETURNING state, processed, total",
            )
            .bind(job.id)
            .bind(counts.created)
            .bind(counts.skipped)
            .fetch_one(&mut *transaction)
            .await?;
            let state = JobState::try_from(state).map_err(PersistenceError::Encoding)?;
            if state == JobState::Succeeded {
                access::record(&mut transaction, &job.actor(), AuditAction::JobFinished, job.id).await?;
                transaction.commit().await?;
            } else {
                transaction.rollback().await?;
            }
            return Ok(Progress { state, processed, total });
        }
        transaction.rollback().await?;
        let failure =
            format!("{} line(s) are invalid: nothing was stored (mode all_or_nothing)", counts.failed);
        end_failed(&pool, &job, &failure).await
    }

    /// Ends the job as failed, nothing stored, without running it again: its runs failed
    /// [`ClaimedJob::failed_attempts`] times for a reason of their own.
    pub async fn give_up(self, failure: &str) -> Result<Progress, PersistenceError> {
        let Self { transaction, job, pool, .. } = self;
        transaction.rollback().await?;
        end_failed(&pool, &job, failure).await
    }
}

/// Counts a failed run of a whole job (its transaction already rolled back); returns how many
/// runs of it have failed.
pub async fn count_failed_run(pool: &PgPool, job: &ClaimedJob) -> Result<i32, PersistenceError> {
    with_connection(pool, job.scope(), async |connection| {
        Ok(sqlx::query_scalar(
            "UPDATE jobs SET failed_attempts = failed_attempts + 1, updated_at = now() WHERE id = $1
             RETURNING failed_attempts",
        )
        .bind(job.id)
        .fetch_one(connection)
        .await?)
    })
    .await
}

/// Fails an active whole job with `failure` (a cancelled one stays cancelled), audits its end and
/// drops its staged lines.
async fn end_failed(pool: &PgPool, job: &ClaimedJob, failure: &str) -> Result<Progress, PersistenceError> {
    let mut transaction = super::begin(pool, job.scope()).await?;
    let (state, processed, total): (String, i64, i64) = sqlx::query_as(
        "UPDATE jobs SET updated_at = now(), finished_at = coalesce(finished_at, now()),
               failure = CASE WHEN state IN ('queued', 'running') THEN $2 ELSE failure END,
               state = CASE WHEN state IN ('queued', 'running') THEN 'failed' ELSE state END
             WHERE id = $1 RETURNING state, processed, total",
    )
    .bind(job.id)
    .bind(failure)
    .fetch_one(&mut *transaction)
    .await?;
    let state = JobState::try_from(state).map_err(PersistenceError::Encoding)?;
    if state == JobState::Failed {
        access::record(&mut transaction, &job.actor(), AuditAction::JobFinished, job.id).await?;
    }
    // Nothing of it will be stored: its staged lines are no longer needed.
    sqlx::query("DELETE FROM job_items WHERE job_id = $1").bind(job.id).execute(&mut *transaction).await?;
    transaction.commit().await?;
    Ok(Progress { state, processed, total })
}

/// Programs named by key in an import, created on first use (each creation audited as
/// `program.created`, as through the API); returns (key, id) for every key.
pub async fn programs_by_key(
    connection: &mut sqlx::PgConnection,
    actor: &Actor,
    keys: &[(String, String)],
) -> Result<Vec<(String, Uuid)>, PersistenceError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (names, ids): (Vec<(&str, &str)>, Vec<Uuid>) =
        keys.iter().map(|(key, name)| ((key.as_str(), name.as_str()), Uuid::now_v7())).unzip();
    let (key_column, name_column): (Vec<&str>, Vec<&str>) = names.into_iter().unzip();
    let created: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO programs (id, organisation_id, key, name)
         SELECT id, $1, key, name FROM unnest($2::uuid[], $3::text[], $4::text[]) AS program(id, key, name)
         ORDER BY key
         ON CONFLICT (organisation_id, key) DO NOTHING
         RETURNING id",
    )
    .bind(actor.organisation.0)
    .bind(&ids)
    .bind(&key_column)
    .bind(&name_column)
    .fetch_all(&mut *connection)
    .await?;
    for id in created {
        access::record(connection, actor, AuditAction::ProgramCreated, id).await?;
    }
    Ok(sqlx::query_as("SELECT key, id FROM programs WHERE organisation_id = $1 AND key = ANY($2)")
        .bind(actor.organisation.0)
        .bind(&key_column)
        .fetch_all(&mut *connection)
        .await?)
}

/// Which of `ids` are programs of the organisation.
pub async fn existing_programs(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, PersistenceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT id FROM programs WHERE organisation_id = $1 AND id = ANY($2)")
        .bind(organisation.0)
        .bind(ids)
        .fetch_all(connection)
        .await?)
}

/// An import line's key and the digest of its content.
pub struct LineKey<'a> {
    pub key: &'a str,
    /// The SHA-256 digest of the line's JSON, as parsed.
    pub digest: &'a [u8; 32],
    /// The assessment the line will be stored as if the key is new.
    pub assessment_id: Uuid,
}

/// What became of a line's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClaim {
    /// New: the line is to be stored.
    New,
    /// Imported before with the same content, as this assessment (none if since deleted).
    AlreadyImported(Option<Uuid>),
    /// Imported before with other content.
    Reused,
}

/// Records the keys of a batch's lines (distinct keys), each as new or already seen; a key is
/// taken by the first line that brings it, for good.
pub async fn claim_keys(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    job: Uuid,
    keys: &[LineKey<'_>],
) -> Result<Vec<KeyClaim>, PersistenceError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = keys.iter().map(|key| key.key).collect();
    let hashes: Vec<&[u8]> = keys.iter().map(|key| key.digest.as_slice()).collect();
    let ids: Vec<Uuid> = keys.iter().map(|key| key.assessment_id).collect();
    let new: Vec<String> = sqlx::query_scalar(
        "INSERT INTO import_keys (organisation_id, key, content_hash, assessment_id, job_id)
         SELECT $1, key, content_hash, assessment_id, $5
         FROM unnest($2::text[], $3::bytea[], $4::uuid[]) AS line(key, content_hash, assessment_id)
         ORDER BY key
         ON CONFLICT (organisation_id, key) DO NOTHING
         RETURNING key",
    )
    .bind(organisation.0)
    .bind(&names)
    .bind(&hashes)
    .bind(&ids)
    .bind(job)
    .fetch_all(&mut *connection)
    .await?;
    let earlier: Vec<(String, Vec<u8>, Option<Uuid>)> = sqlx::query_as(
        "SELECT key, content_hash, assessment_id FROM import_keys WHERE organisation_id = $1 AND key = ANY($2)",
    )
    .bind(organisation.0)
    .bind(&names)
    .fetch_all(&mut *connection)
    .await?;
    let new: HashSet<&str> = new.iter().map(String::as_str).collect();
    let earlier: HashMap<&str, (&[u8], Option<Uuid>)> = earlier
        .iter()
        .map(|(name, stored, assessment)| (name.as_str(), (stored.as_slice(), *assessment)))
        .collect();
    Ok(keys
        .iter()
        .map(|key| {
            if new.contains(key.key) {
                return KeyClaim::New;
            }
            match earlier.get(key.key) {
                Some((stored, assessment)) if *stored == key.digest.as_slice() => {
                    KeyClaim::AlreadyImported(*assessment)
                }
                _ => KeyClaim::Reused,
            }
        })
        .collect())
}

/// A stored assessment a re-score reads.
#[derive(Debug)]
pub struct Source {
    pub id: Uuid,
    pub program_id: Option<Uuid>,
    pub profile: serde_json::Value,
}

/// The profiles of the organisation's assessments among `ids` (those since deleted are absent),
/// whichever form each was stored in.
pub async fn sources(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    ids: &[Uuid],
) -> Result<Vec<Source>, PersistenceError> {
    super::assessments::stored_profiles(connection, organisation, ids).await
}

/// One re-scored assessment beside its original, as the upgrade report reads them.
#[derive(Debug, sqlx::FromRow)]
pub struct RescorePair {
    pub original_id: Uuid,
    pub rescored_id: Uuid,
    pub program_id: Option<Uuid>,
    pub program_key: Option<String>,
    pub from_model_version: String,
    pub to_model_version: String,
    pub from_overall: f64,
    pub to_overall: f64,
    pub from_level: Option<i16>,
    pub to_level: Option<i16>,
    pub from_limiting_barrier: String,
    pub to_limiting_barrier: String,
    /// In the order of `Barrier::ALL`.
    pub from_scores: Vec<Option<f64>>,
    pub to_scores: Vec<Option<f64>>,
}

/// Every pair a re-score job stored, in the order of its items; `None` when the organisation has
/// no such job. The pairs are summary columns only (a few hundred bytes each).
pub async fn rescore_pairs(
    pool: &PgPool,
    organisation: OrganisationId,
    job: Uuid,
) -> Result<Vec<RescorePair>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok(sqlx::query_as(
            "SELECT o.id AS original_id, r.id AS rescored_id, r.program_id,
               (SELECT key FROM programs p WHERE p.id = r.program_id AND p.organisation_id = r.organisation_id) AS program_key,
               o.model_version AS from_model_version, r.model_version AS to_model_version,
               o.overall_index AS from_overall, r.overall_index AS to_overall,
               o.readiness_level AS from_level, r.readiness_level AS to_level,
               o.limiting_barrier AS from_limiting_barrier, r.limiting_barrier AS to_limiting_barrier,
               ARRAY[o.survival, o.retention, o.variability, o.scalability, o.safety, o.outcomes, o.regulatory] AS from_scores,
               ARRAY[r.survival, r.retention, r.variability, r.scalability, r.safety, r.outcomes, r.regulatory] AS to_scores
             FROM job_items i
             JOIN assessments o ON o.id = i.source_id AND o.organisation_id = $2
             JOIN assessments r ON r.id = i.result_id AND r.organisation_id = $2
             WHERE i.job_id = $1 AND i.done
             ORDER BY i.position",
        )
        .bind(job)
        .bind(organisation.0)
        .fetch_all(connection)
        .await?)
    })
    .await
}
