//! Bulk work as jobs: imports of a portfolio and re-scores of it under the current model.
//!
//! A job is stored in PostgreSQL with its items (`persistence::jobs`). Every instance of the
//! service runs a [`Worker`]: it claims a batch of pending items of any organisation's job, does
//! the batch (lines read and scored, assessments stored with one multi-row insert, errors and
//! counts written) and commits it as one transaction. A crash gives the batch back; a batch that
//! fails by itself a few times is done item by item, and an item that still fails is reported (see
//! [`process`]); a cancelled job gets no further batches. This module orchestrates: the lines are
//! read by [`lines`], scored by `scoring`, stored by `persistence`.

pub mod lines;
pub mod report;
pub mod staging;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::{Notify, watch};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::problem::FieldError;
use crate::persistence::PersistenceError;
use crate::persistence::assessments::{self as assessment_store, EncodedAssessment, NewAssessment};
use crate::persistence::jobs::{
    self as store, Batch, BatchCounts, ClaimedJob, Item, ItemError, ItemOutcome, KeyClaim, LineKey, Progress,
    WholeJob,
};
use crate::scoring::{Model, Profile, parse_profile};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Stores the submissions of a file (`POST /v1/imports`).
    Import,
    /// Re-scores stored assessments under the current model (`POST /v1/rescore-jobs`).
    Rescore,
}

impl TryFrom<String> for JobKind {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "import" => Ok(Self::Import),
            "rescore" => Ok(Self::Rescore),
            other => Err(format!("unknown job kind {other}")),
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted; no batch done yet.
    Queued,
    /// At least one batch done, more to do.
    Running,
    /// Every item done (items with errors included: see `failed` and the errors).
    Succeeded,
    /// Ended without storing anything (an `all_or_nothing` import with invalid lines).
    Failed,
    /// Cancelled; what was done before stays done.
    Cancelled,
}

impl JobState {
    /// Whether workers still take its items.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

impl TryFrom<String> for JobState {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(format!("unknown job state {other}")),
        }
    }
}

/// Wakes the workers of this instance when a job arrives, so that it does not wait for the next
/// poll; jobs from other instances are found by polling.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn notify(&self) {
        self.0.notify_waiters();
    }
}

/// Takes batches of any organisation's jobs and does them.
#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    batch_size: u32,
}

impl Worker {
    pub fn new(pool: PgPool, batch_size: u32) -> Self {
        Self { pool, batch_size }
    }

    /// Claims and does one batch (or a whole all_or_nothing import); `None` when no job has
    /// unclaimed work.
    pub async fn run_batch(&self) -> Result<Option<Progress>, PersistenceError> {
        if let Some(batch) = self.claim().await? {
            return Ok(Some(process(batch).await?));
        }
        let Some(whole) = store::claim_whole(&self.pool).await? else {
            return Ok(None);
        };
        if whole.job.failed_attempts >= ATTEMPTS_AS_A_BATCH {
            return Ok(Some(whole.give_up(&whole_not_processed()).await?));
        }
        let job = whole.job.clone();
        match import_whole(whole, self.batch_size).await {
            Ok(progress) => Ok(Some(progress)),
            Err(error) if error.is_transient() => Err(error),
            Err(error) => {
                let failed_attempts = store::count_failed_run(&self.pool, &job).await?;
                tracing::warn!(job = %job.id, failed_attempts, %error,
                    "an all_or_nothing import failed; it is tried again");
                Err(error)
            }
        }
    }

    /// Claims a batch without doing it: a test holds it, as a worker busy with it (or one that
    /// died with it, when it is dropped), while others work.
    pub async fn claim(&self) -> Result<Option<Batch>, PersistenceError> {
        store::claim(&self.pool, self.batch_size).await
    }

    /// Does batches until no job has unclaimed work; returns how many.
    pub async fn run_until_idle(&self) -> Result<u64, PersistenceError> {
        let mut batches = 0;
        while self.run_batch().await?.is_some() {
            batches += 1;
        }
        Ok(batches)
    }

    /// Works until `stop` turns true: batches back to back while there is work, then a wait of
    /// `poll` (or until `wake`). A batch under way when `stop` comes is finished first, so
    /// stopping loses no work (a batch cut short would only be rolled back and redone).
    pub async fn run(self, poll: Duration, wake: Wake, mut stop: watch::Receiver<bool>) {
        let mut failing = false;
        while !*stop.borrow() {
            let idle = match self.run_batch().await {
                Ok(Some(_)) => {
                    failing = false;
                    false
                }
                Ok(None) => true,
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "a job batch failed; it is retried");
                    }
                    failing = true;
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = wake.0.notified() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Attempts at a batch that may fail, other than for want of the database, before its items are
/// done one at a time. More than one, so that a rare failure that is not the items' own does not
/// cost the batch its speed; few, so that a poison item holds up its job for only a few polls.
const ATTEMPTS_AS_A_BATCH: i32 = 3;

/// Does a claimed batch and commits it. An attempt that fails for a reason of its own (not a lost
/// connection, not a database down: those fail every attempt alike and are only retried) is
/// counted on its items; after [`ATTEMPTS_AS_A_BATCH`] such failures the batch is done one item at
/// a time, and an item that still fails alone is reported as failed instead of being retried.
pub async fn process(mut batch: Batch) -> Result<Progress, PersistenceError> {
    let items = std::mem::take(&mut batch.items);
    if items.iter().any(|item| item.failed_attempts >= ATTEMPTS_AS_A_BATCH) {
        return process_one_by_one(batch, items).await;
    }
    let job = batch.job.clone();
    let positions: Vec<i64> = items.iter().map(|item| item.position).collect();
    let mut attempt = batch.attempt().await?;
    match do_items(&mut attempt, &job, items).await {
        Ok(counts) => {
            attempt.commit().await?;
            batch.complete(counts).await
        }
        Err(error) if error.is_transient() => Err(error),
        Err(error) => {
            attempt.rollback().await?;
            let failed_attempts = batch.count_failed_attempt(&positions).await?;
            tracing::warn!(job = %job.id, first_position = positions.first(), failed_attempts, %error,
                "a batch of a job failed; it is tried again");
            Err(error)
        }
    }
}

/// Does a batch item by item, each in a savepoint of its own: every item that can be done is, and
/// one that fails alone, for a reason of its own, is recorded as failed, not stored.
async fn process_one_by_one(mut batch: Batch, items: Vec<Item>) -> Result<Progress, PersistenceError> {
    let job = batch.job.clone();
    let mut counts = BatchCounts::default();
    for item in items {
        let (position, source_id) = (item.position, item.source_id);
        let mut attempt = batch.attempt().await?;
        match do_items(&mut attempt, &job, vec![item]).await {
            Ok(done) => {
                attempt.commit().await?;
                counts += done;
            }
            Err(error) if error.is_transient() => return Err(error),
            Err(error) => {
                attempt.rollback().await?;
                tracing::error!(job = %job.id, position, %error, "a job's item failed alone; it is reported as failed");
                let mut tally = Tally::default();
                tally.fail(position, source_id, vec![not_processed()]);
                store::record_items(batch.connection(), job.id, &tally.outcomes, &tally.errors).await?;
                counts += tally.counts;
            }
        }
    }
    batch.complete(counts).await
}

fn not_processed() -> FieldError {
    FieldError {
        field: String::new(),
        message: format!(
            "could not be processed because of an internal error, and was not stored (its batch failed \
             {ATTEMPTS_AS_A_BATCH} times, then it failed alone); the service's log has the error"
        ),
    }
}

fn whole_not_processed() -> String {
    format!(
        "the import could not be processed because of an internal error (it failed {ATTEMPTS_AS_A_BATCH} \
         times): nothing was stored (mode all_or_nothing); the service's log has the error"
    )
}

/// Does `items` in `connection`'s transaction and records them as done.
async fn do_items(
    connection: &mut sqlx::PgConnection,
    job: &ClaimedJob,
    items: Vec<Item>,
) -> Result<BatchCounts, PersistenceError> {
    let tally = match job.kind {
        JobKind::Import => import_items(connection, job, items).await?,
        JobKind::Rescore => rescore_items(connection, job, items).await?,
    };
    store::record_items(connection, job.id, &tally.outcomes, &tally.errors).await?;
    Ok(tally.counts)
}

/// What to store for a line that passed every check.
struct Accepted {
    position: i64,
    id: Uuid,
    program_id: Option<Uuid>,
    parsed: lines::ParsedLine,
}

/// What a batch did with its items, as it goes.
#[derive(Default)]
struct Tally {
    outcomes: Vec<ItemOutcome>,
    errors: Vec<ItemError>,
    counts: BatchCounts,
}

impl Tally {
    fn fail(&mut self, position: i64, source_id: Option<Uuid>, found: Vec<FieldError>) {
        self.errors.extend(found.into_iter().map(|error| ItemError {
            position,
            source_id,
            field: error.field,
            message: error.message,
        }));
        self.outcomes.push(ItemOutcome { position, result_id: None });
        self.counts.failed += 1;
    }

    fn skip(&mut self, position: i64, result_id: Option<Uuid>) {
        self.outcomes.push(ItemOutcome { position, result_id });
        self.counts.skipped += 1;
    }

    fn store(&mut self, position: i64, result_id: Uuid) {
        self.outcomes.push(ItemOutcome { position, result_id: Some(result_id) });
        self.counts.created += 1;
    }
}

fn reused_key() -> Vec<FieldError> {
    vec![FieldError {
        field: "idempotency_key".into(),
        message: "this key was already imported with other content; use a new key for a new submission"
            .into(),
    }]
}

/// Does an all_or_nothing import in one transaction, batch by batch: it commits only if every
/// line was stored or skipped, and otherwise fails the job with every bad line reported.
async fn import_whole(mut whole: WholeJob, batch_size: u32) -> Result<Progress, PersistenceError> {
    let job = whole.job.clone();
    let mut counts = BatchCounts::default();
    loop {
        let items = whole.next_items(batch_size).await?;
        if items.is_empty() {
            break;
        }
        let tally = import_items(whole.connection(), &job, items).await?;
        counts += tally.counts;
        if !whole.record(&tally.outcomes, &tally.errors, tally.counts.failed).await? {
            break;
        }
    }
    whole.finish(counts).await
}

/// Reads, checks and stores `items` of an import in `connection`'s transaction.
async fn import_items(
    connection: &mut sqlx::PgConnection,
    job: &ClaimedJob,
    items: Vec<Item>,
) -> Result<Tally, PersistenceError> {
    let actor = job.actor();
    let organisation = actor.organisation;
    let now = Utc::now();
    let mut tally = Tally::default();
    let mut parsed = Vec::new();
    for item in items {
        match lines::parse_line(item.input.as_deref().unwrap_or_default(), now) {
            Ok(line) => parsed.push((item.position, line)),
            Err(found) => tally.fail(item.position, None, found),
        }
    }

    // Programs: by key, created on first use; by id, checked to be the organisation's.
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut ids: Vec<Uuid> = Vec::new();
    for (_, line) in &parsed {
        if let Some(key) = &line.line.program {
            let key = key.as_str().to_owned();
            if !keys.iter().any(|(known, _)| *known == key) {
                let name = line
                    .line
                    .program_name
                    .as_ref()
                    .map_or_else(|| key.clone(), |name| name.as_str().to_owned());
                keys.push((key, name));
            }
        }
        ids.extend(line.line.program_id);
    }
    ids.sort_unstable();
    ids.dedup();
    let by_key: HashMap<String, Uuid> =
        store::programs_by_key(connection, &actor, &keys).await?.into_iter().collect();
    let existing = store::existing_programs(connection, organisation, &ids).await?;

    // Keys: the first line of the batch with a key stands for it; a later one is the same line
    // again (same content) or the key reused.
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut accepted_keys: HashMap<String, usize> = HashMap::new();
    let mut repeated: Vec<(i64, usize, bool)> = Vec::new();
    for (position, line) in parsed {
        let program_id = match (&line.line.program, line.line.program_id) {
            (Some(key), _) => by_key.get(key.as_str()).copied(),
            (None, Some(id)) if existing.contains(&id) => Some(id),
            (None, Some(id)) => {
                let message = format!("no program {id} in your organisation");
                tally.fail(position, None, vec![FieldError { field: "program_id".into(), message }]);
                continue;
            }
            (None, None) => None,
        };
        match accepted_keys.get(&line.key) {
            Some(&first) => repeated.push((position, first, accepted[first].parsed.digest == line.digest)),
            None => {
                accepted_keys.insert(line.key.clone(), accepted.len());
                accepted.push(Accepted { position, id: Uuid::now_v7(), program_id, parsed: line });
            }
        }
    }
    let line_keys: Vec<LineKey<'_>> = accepted
        .iter()
        .map(|line| LineKey { key: &line.parsed.key, digest: &line.parsed.digest, assessment_id: line.id })
        .collect();
    let claims = store::claim_keys(connection, organisation, job.id, &line_keys).await?;

    for (line, claim) in accepted.iter().zip(&claims) {
        match claim {
            KeyClaim::New => tally.store(line.position, line.id),
            KeyClaim::AlreadyImported(id) => tally.skip(line.position, *id),
            KeyClaim::Reused => tally.fail(line.position, None, reused_key()),
        }
    }
    for (position, first, same_content) in repeated {
        match claims[first] {
            KeyClaim::New if same_content => tally.skip(position, Some(accepted[first].id)),
            KeyClaim::AlreadyImported(id) if same_content => tally.skip(position, id),
            _ => tally.fail(position, None, reused_key()),
        }
    }
    let work = accepted
        .into_iter()
        .zip(claims)
        .filter(|(_, claim)| *claim == KeyClaim::New)
        .map(|(line, _)| ToScore {
            id: line.id,
            program_id: line.program_id,
            rescored_from: None,
            assessed_at: line.parsed.line.assessed_at,
            profile: line.parsed.line.profile,
            profile_json: line.parsed.profile_json,
        })
        .collect();
    store_scored(connection, organisation, work).await?;
    Ok(tally)
}

/// A profile to score and store as a new assessment.
struct ToScore {
    id: Uuid,
    program_id: Option<Uuid>,
    rescored_from: Option<Uuid>,
    assessed_at: Option<DateTime<Utc>>,
    profile: Profile,
    profile_json: serde_json::Value,
}

/// Scores `work` under the current model and stores it with one insert. Scoring and encoding (most
/// of the work: a result is tens of kilobytes of JSON to compact) run off the async runtime, on
/// every core, each core a share of the batch, on the runtime's blocking threads: they outlive the
/// batch, so each keeps its allocator's pages warm instead of a new thread faulting in (and the
/// kernel zeroing) fresh memory for every batch.
async fn store_scored(
    connection: &mut sqlx::PgConnection,
    organisation: crate::persistence::OrganisationId,
    mut work: Vec<ToScore>,
) -> Result<(), PersistenceError> {
    if work.is_empty() {
        return Ok(());
    }
    let model = Model::current();
    let encoding = assessment_store::encoding(connection, model.version()).await?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let share = work.len().div_ceil(cores);
    let total = work.len();
    let mut shares = Vec::with_capacity(cores);
    while !work.is_empty() {
        let rest = work.split_off(share.min(work.len()));
        let part = std::mem::replace(&mut work, rest);
        let encoding = encoding.clone();
        shares.push(tokio::task::spawn_blocking(move || score_and_encode(model, &part, &encoding)));
    }
    let mut encoded = Vec::with_capacity(total);
    for share in shares {
        let part = share
            .await
            .map_err(|error| PersistenceError::Encoding(format!("scoring a batch failed: {error}")))??;
        encoded.extend(part);
    }
    assessment_store::insert_batch(connection, organisation, &encoded).await
}

fn score_and_encode(
    model: &Model,
    part: &[ToScore],
    encoding: &assessment_store::Encoding,
) -> Result<Vec<EncodedAssessment>, PersistenceError> {
    part.iter()
        .map(|item| {
            let result = model.assess(&item.profile);
            let assessment = NewAssessment {
                program_id: item.program_id,
                rescored_from: item.rescored_from,
                profile_json: &item.profile_json,
                profile: &item.profile,
                result: &result,
            };
            EncodedAssessment::encode(item.id, &assessment, item.assessed_at, encoding)
                .map(EncodedAssessment::without_returned)
        })
        .collect()
}

/// Re-scores `items` under the current model in `connection`'s transaction.
async fn rescore_items(
    connection: &mut sqlx::PgConnection,
    job: &ClaimedJob,
    items: Vec<Item>,
) -> Result<Tally, PersistenceError> {
    let organisation = job.actor().organisation;
    let ids: Vec<Uuid> = items.iter().filter_map(|item| item.source_id).collect();
    let mut sources: HashMap<Uuid, store::Source> = store::sources(connection, organisation, &ids)
        .await?
        .into_iter()
        .map(|source| (source.id, source))
        .collect();
    let version = Model::current().version();
    let mut tally = Tally::default();
    let mut work = Vec::new();
    for item in &items {
        let Some(source) = item.source_id.and_then(|id| sources.remove(&id)) else {
            // Deleted since the job was created: nothing left to re-score.
            tally.skip(item.position, None);
            continue;
        };
        match parse_profile(source.profile.to_string().as_bytes()) {
            Ok(profile) => {
                let id = Uuid::now_v7();
                tally.store(item.position, id);
                work.push(ToScore {
                    id,
                    program_id: source.program_id,
                    rescored_from: Some(source.id),
                    assessed_at: None,
                    profile,
                    profile_json: source.profile,
                });
            }
            Err(found) => {
                let found = found
                    .0
                    .into_iter()
                    .map(|error| FieldError {
                        field: if error.field.is_empty() {
                            "profile".into()
                        } else {
                            format!("profile.{}", error.field)
                        },
                        message: format!(
                            "the stored profile is not valid under model version {version}: {}",
                            error.message
                        ),
                    })
                    .collect();
                tally.fail(item.position, Some(source.id), found);
            }
        }
    }
    store_scored(connection, organisation, work).await?;
    Ok(tally)
}
