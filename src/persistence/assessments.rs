//! Stored assessments: submission (with idempotency), retrieval, keyset listing, history, deletion.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::access::{self, AuditAction};
use std::sync::Arc;

use super::group_commit::GroupCommit;
use super::model_versions::{dictionary_of, packing_of};
use super::packing::{DocumentToPack, Packing};
use super::result_codec::Dictionary;
use super::{Actor, OrganisationId, PersistenceError, RowScope, settle, with_connection};
use crate::json_writer;
use crate::scoring::{Assessment, Barrier, Profile};

/// How long an idempotency key is remembered (published: at least 24 hours).
pub const IDEMPOTENCY_RETENTION_HOURS: i32 = 48;

/// A scored profile ready to be stored.
pub struct NewAssessment<'a> {
    pub program_id: Option<Uuid>,
    pub rescored_from: Option<Uuid>,
    /// The profile as received (after validation): stored as is.
    pub profile_json: &'a serde_json::Value,
    pub profile: &'a Profile,
    pub result: &'a Assessment,
}

/// A stored assessment with its profile and full result.
#[derive(Debug)]
pub struct StoredAssessment {
    pub id: Uuid,
    pub program_id: Option<Uuid>,
    pub rescored_from: Option<Uuid>,
    pub model_version: String,
    pub profile: serde_json::Value,
    pub result: StoredResult,
    pub created_at: DateTime<Utc>,
    /// The assessment as a list shows it (without profile and result).
    pub listed: AssessmentRow,
}

/// A stored result as the API returns it: whole, or compact with the dictionary of its model
/// version, hydrated as it is written (a response needs no hydrated copy of it). A result just
/// written keeps its compact form as the JSON it was written as: a response that does not show it
/// (`Prefer: return=minimal`, a batch) never reads it.
///
/// A result its own request has just scored and stored is written from the typed result, with the
/// members of each object in key order ([`json_writer::KeyOrdered`]): the bytes its hydrated form
/// writes (a later `GET` of it), without hydrating.
#[derive(Debug)]
pub enum StoredResult {
    Whole(serde_json::Value),
    Compact { compact: serde_json::Value, dictionary: Arc<Dictionary> },
    CompactJson { json: Vec<u8>, dictionary: Arc<Dictionary> },
    Scored(Box<Assessment>),
}

impl Default for StoredResult {
    fn default() -> Self {
        Self::Whole(serde_json::Value::Null)
    }
}

impl StoredResult {
    /// The result as a JSON value, for a reader that works on it (a comparison, a chart, a report,
    /// a rewrite of its evidence).
    pub fn into_value(self) -> Result<serde_json::Value, PersistenceError> {
        let hydrate = |compact: &serde_json::Value, dictionary: &Dictionary| {
            dictionary.hydrate(compact).map_err(|error| PersistenceError::Encoding(error.to_string()))
        };
        match self {
            Self::Whole(value) => Ok(value),
            Self::Compact { compact, dictionary } => hydrate(&compact, &dictionary),
            Self::CompactJson { json, dictionary } => hydrate(&compact_value(&json)?, &dictionary),
            Self::Scored(result) => {
                serde_json::to_value(&result).map_err(|error| PersistenceError::Encoding(error.to_string()))
            }
        }
    }
}

/// The value of a compact result written by this process.
fn compact_value(json: &[u8]) -> Result<serde_json::Value, PersistenceError> {
    serde_json::from_slice(json).map_err(|error| PersistenceError::Encoding(error.to_string()))
}

impl serde::Serialize for StoredResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Whole(value) => value.serialize(serializer),
            Self::Compact { compact, dictionary } => dictionary.hydrated(compact).serialize(serializer),
            Self::CompactJson { json, dictionary } => {
                let compact = compact_value(json).map_err(serde::ser::Error::custom)?;
                dictionary.hydrated(&compact).serialize(serializer)
            }
            Self::Scored(result) => json_writer::KeyOrdered(&**result).serialize(serializer),
        }
    }
}

/// What a submission did.
pub enum Submission {
    /// Stored now.
    Created(StoredAssessment),
    /// An earlier request with the same idempotency key and the same content stored it.
    Replayed(StoredAssessment),
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    #[error("a request with this Idempotency-Key is still being processed")]
    KeyInFlight,
    #[error("this Idempotency-Key was already used with a different request")]
    KeyReused,
    #[error("the assessment created with this Idempotency-Key has since been deleted")]
    ReplayTargetDeleted,
    #[error("no program with this id")]
    ProgramNotFound,
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
}

impl From<sqlx::Error> for SubmissionError {
    fn from(error: sqlx::Error) -> Self {
        Self::Persistence(error.into())
    }
}

/// An idempotency key and the fingerprint of the request it came with.
pub struct IdempotencyKey<'a> {
    pub key: &'a str,
    pub request: &'a serde_json::Value,
}

impl IdempotencyKey<'_> {
    /// SHA-256 of the request as parsed; serde_json sorts object keys, so formatting and key
    /// order of the submitted JSON do not matter.
    fn fingerprint(&self) -> Vec<u8> {
        Sha256::digest(self.request.to_string().as_bytes()).to_vec()
    }

    /// The advisory-lock number that serialises requests carrying this key in this organisation.
    fn lock_number(&self, organisation: OrganisationId) -> i64 {
        let digest = Sha256::new()
            .chain_update(organisation.0.as_bytes())
            .chain_update(self.key.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }
}

/// The columns of an assessment's list row (a macro, so that other column lists can extend it
/// with `concat!`).
macro_rules! summary_columns {
    () => {
        "id, program_id,
    (SELECT key FROM programs WHERE programs.id = assessments.program_id
        AND programs.organisation_id = assessments.organisation_id) AS program_key,
    (SELECT name FROM programs WHERE programs.id = assessments.program_id
        AND programs.organisation_id = assessments.organisation_id) AS program_name,
    rescored_from, model_version, indication, stage, tissue_source, route,
    overall_index, readiness_level, limiting_barrier,
    survival, retention, variability, scalability, safety, outcomes, regulatory, created_at"
    };
}

/// The columns of a stored assessment: its list row with profile and result.
const STORED_COLUMNS: &str = concat!(summary_columns!(), ", profile, result, result_compact, packed");

impl StoredAssessment {
    /// This assessment just stored, with `result`, the result it was stored with, to answer with
    /// ([`StoredResult::Scored`]).
    pub fn scored(mut self, result: Assessment) -> Self {
        self.result = StoredResult::Scored(Box::new(result));
        self
    }

    async fn hydrate(
        mut listed: AssessmentRow,
        connection: &mut sqlx::PgConnection,
    ) -> Result<Self, PersistenceError> {
        open_stored_form(connection, &mut listed).await?;
        Ok(Self {
            id: listed.id,
            program_id: listed.program_id,
            rescored_from: listed.rescored_from,
            model_version: listed.model_version.clone(),
            profile: listed.profile.take().unwrap_or_default(),
            result: listed.result.take().unwrap_or_default(),
            created_at: listed.created_at,
            listed,
        })
    }
}

/// Sets a row's `profile` and full `result` from whichever form it was stored in: packed, or the
/// profile with the result whole or compact. The packed and compact forms are read with the
/// dictionaries of the model version that produced the row. A row selected without its documents
/// is left as it is.
async fn open_stored_form(
    connection: &mut sqlx::PgConnection,
    row: &mut AssessmentRow,
) -> Result<(), PersistenceError> {
    let encoding =
        |error: &dyn std::fmt::Display| PersistenceError::Encoding(format!("assessment {}: {error}", row.id));
    let compact = if let Some(packed) = row.packed.take() {
        let packing = packing_of(connection, &row.model_version).await?.ok_or_else(|| {
            encoding(&format!("no packing dictionary of model version {}", row.model_version))
        })?;
        let document = packing.unpack(&packed).map_err(|error| encoding(&error))?;
        row.profile = Some(document.profile);
        match (document.whole, document.compact) {
            (Some(whole), _) => {
                row.result = Some(StoredResult::Whole(whole));
                return Ok(());
            }
            (None, compact) => compact,
        }
    } else {
        match (row.result_whole.take(), row.result_compact.take()) {
            (Some(whole), _) => {
                row.result = Some(StoredResult::Whole(whole));
                return Ok(());
            }
            (None, None) => return Ok(()),
            (None, compact) => compact,
        }
    };
    let Some(compact) = compact else {
        return Err(encoding(&"a packed document without a result"));
    };
    let dictionary = dictionary_of(connection, &row.model_version)
        .await?
        .ok_or_else(|| encoding(&format!("no dictionary of model version {}", row.model_version)))?;
    row.result = Some(StoredResult::Compact { compact, dictionary });
    Ok(())
}

/// The profiles of the organisation's assessments among `ids`, as received, whichever form each
/// was stored in (those since deleted are absent).
pub(super) async fn stored_profiles(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    ids: &[Uuid],
) -> Result<Vec<super::jobs::Source>, PersistenceError> {
    #[derive(sqlx::FromRow)]
    struct StoredProfile {
        id: Uuid,
        program_id: Option<Uuid>,
        model_version: String,
        profile: Option<serde_json::Value>,
        packed: Option<Vec<u8>>,
    }
    let rows: Vec<StoredProfile> = sqlx::query_as(
        "SELECT id, program_id, model_version, profile, packed FROM assessments
         WHERE organisation_id = $1 AND id = ANY($2)",
    )
    .bind(organisation.0)
    .bind(ids)
    .fetch_all(&mut *connection)
    .await?;
    let mut sources = Vec::with_capacity(rows.len());
    for StoredProfile { id, program_id, model_version, profile, packed } in rows {
        let profile = match (profile, packed) {
            (Some(profile), _) => profile,
            (None, Some(packed)) => {
                let packing = packing_of(connection, &model_version).await?.ok_or_else(|| {
                    PersistenceError::Encoding(format!(
                        "assessment {id}: no packing dictionary of {model_version}"
                    ))
                })?;
                packing
                    .unpack_profile(&packed)
                    .map_err(|error| PersistenceError::Encoding(format!("assessment {id}: {error}")))?
            }
            (None, None) => {
                return Err(PersistenceError::Encoding(format!("assessment {id}: stored without a profile")));
            }
        };
        sources.push(super::jobs::Source { id, program_id, profile });
    }
    Ok(sources)
}

/// Stores an assessment. Without an idempotency key it joins a group commit ([`GroupCommit`]);
/// with one, it has a transaction of its own, in which a retry of the same request returns the
/// first stored assessment instead of storing another.
pub async fn submit(
    groups: &GroupCommit,
    actor: &Actor,
    assessment: NewAssessment<'_>,
    idempotency: Option<IdempotencyKey<'_>>,
) -> Result<Submission, SubmissionError> {
    let Some(idempotency) = idempotency else {
        return groups.submit(actor, &assessment).await.map(Submission::Created);
    };
    with_connection(groups.pool(), RowScope::Organisation(actor.organisation), async |connection| {
        let mut transaction = connection.begin().await.map_err(PersistenceError::from)?;
        // Ended whatever happens: a replay or a refusal must not keep the key's lock.
        let submitted = submit_in(&mut transaction, actor, assessment, idempotency).await;
        settle(transaction, submitted).await
    })
    .await
}

async fn submit_in(
    transaction: &mut sqlx::PgConnection,
    actor: &Actor,
    assessment: NewAssessment<'_>,
    idempotency: IdempotencyKey<'_>,
) -> Result<Submission, SubmissionError> {
    let organisation = actor.organisation;
    // Held until commit or rollback: a concurrent request with the same key learns at once that
    // the first is in flight, and a crash releases it.
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(idempotency.lock_number(organisation))
        .fetch_one(&mut *transaction)
        .await?;
    if !locked {
        return Err(SubmissionError::KeyInFlight);
    }
    let earlier: Option<(Vec<u8>, Option<Uuid>)> = sqlx::query_as(
        "SELECT request_hash, assessment_id FROM idempotency_keys
         WHERE organisation_id = $1 AND key = $2 AND created_at > now() - make_interval(hours => $3)",
    )
    .bind(organisation.0)
    .bind(idempotency.key)
    .bind(IDEMPOTENCY_RETENTION_HOURS)
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some((fingerprint, assessment_id)) = earlier {
        if fingerprint != idempotency.fingerprint() {
            return Err(SubmissionError::KeyReused);
        }
        let id = assessment_id.ok_or(SubmissionError::ReplayTargetDeleted)?;
        let stored = fetch_in(transaction, organisation, id).await?;
        return stored.map(Submission::Replayed).ok_or(SubmissionError::ReplayTargetDeleted);
    }
    if let Some(program_id) = assessment.program_id
        && !lock_program(transaction, organisation, program_id).await?
    {
        return Err(SubmissionError::ProgramNotFound);
    }

    let stored = insert(transaction, actor, AuditAction::AssessmentCreated, &assessment).await?;
    sqlx::query(
        "INSERT INTO idempotency_keys (organisation_id, key, request_hash, assessment_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (organisation_id, key) DO UPDATE
         SET request_hash = excluded.request_hash, assessment_id = excluded.assessment_id, created_at = now()",
    )
    .bind(organisation.0)
    .bind(idempotency.key)
    .bind(idempotency.fingerprint())
    .bind(stored.id)
    .execute(&mut *transaction)
    .await?;
    Ok(Submission::Created(stored))
}

/// Inserts the assessment and its audit event in one statement (one round trip; atomic on its
/// own, so a re-score without a program needs no transaction around it).
async fn insert(
    connection: &mut sqlx::PgConnection,
    actor: &Actor,
    action: AuditAction,
    assessment: &NewAssessment<'_>,
) -> Result<StoredAssessment, PersistenceError> {
    let organisation = actor.organisation;
    let encoding = encoding(connection, &assessment.result.model_version).await?;
    let encoded = EncodedAssessment::encode(Uuid::now_v7(), assessment, None, &encoding)?;
    let mut stored = insert_values(connection, organisation, &[(&encoded, actor, true)], action).await?;
    let Inserted { created_at, program } = stored
        .remove(&encoded.id)
        .ok_or_else(|| PersistenceError::Encoding(format!("assessment {} was not stored", encoded.id)))?;
    if let Some(program_id) = assessment.program_id {
        mark_latest(connection, organisation, program_id).await?;
    }
    Ok(encoded.into_stored(created_at, program, assessment.profile_json.clone()))
}

/// Stores a re-scored assessment (no idempotency key: each re-score is a new assessment).
pub async fn insert_rescored(
    pool: &PgPool,
    actor: &Actor,
    assessment: NewAssessment<'_>,
) -> Result<StoredAssessment, PersistenceError> {
    let organisation = actor.organisation;
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        let Some(program_id) = assessment.program_id else {
            return insert(connection, actor, AuditAction::AssessmentRescored, &assessment).await;
        };
        let mut transaction = connection.begin().await?;
        let stored = async {
            lock_program(&mut transaction, organisation, program_id).await?;
            insert(&mut transaction, actor, AuditAction::AssessmentRescored, &assessment).await
        }
        .await;
        // Rolled back at once on failure: the program's lock must not outlive the request.
        settle(transaction, stored).await
    })
    .await
}

/// An assessment of a batch (an import or a re-score job), encoded for storage: its result
/// compacted against its model version's dictionary, its columns copied out. Encoding is most of
/// the work of storing a result (a full result is tens of kilobytes of JSON), and it needs no
/// database, so a batch encodes its assessments on every core before one insert stores them. It
/// gets no audit event of its own: the job's start and end are audited and its items record what
/// each stored.
pub struct EncodedAssessment {
    id: Uuid,
    program_id: Option<Uuid>,
    rescored_from: Option<Uuid>,
    model_version: String,
    /// The stored form: `packed` alone, or (for a version without a packing dictionary) the
    /// profile with the result whole or compact.
    profile: Option<serde_json::Value>,
    result: Option<serde_json::Value>,
    result_compact: Option<serde_json::Value>,
    packed: Option<Vec<u8>>,
    /// The full result as the API returns it.
    returned: StoredResult,
    indication: Option<&'static str>,
    stage: Option<&'static str>,
    tissue_source: Option<&'static str>,
    route: Option<&'static str>,
    overall_index: f64,
    readiness_level: Option<i16>,
    limiting_barrier: &'static str,
    /// In the order of [`Barrier::ALL`].
    scores: [Option<f64>; 7],
    /// When the program was assessed, for a historical assessment; the database's time otherwise.
    assessed_at: Option<DateTime<Utc>>,
}

/// What the results of one model version are stored with: its result dictionary and its packing
/// dictionary, each read once per process. Cheap to clone and to share between threads.
#[derive(Clone)]
pub struct Encoding {
    dictionary: Option<Arc<Dictionary>>,
    packing: Option<Arc<Packing>>,
}

/// The encoding of model `version`, for [`EncodedAssessment::encode`].
pub async fn encoding(
    connection: &mut sqlx::PgConnection,
    version: &str,
) -> Result<Encoding, PersistenceError> {
    Ok(Encoding {
        dictionary: dictionary_of(connection, version).await?,
        packing: packing_of(connection, version).await?,
    })
}

/// The encoding of model `version` without a connection when this process has read it already
/// (always, after the first write of a version); otherwise read in the organisation's scope.
pub async fn encoding_of(
    pool: &PgPool,
    organisation: OrganisationId,
    version: &str,
) -> Result<Encoding, PersistenceError> {
    if let Some((dictionary, packing)) = super::model_versions::cached_encoding(version) {
        return Ok(Encoding { dictionary: Some(dictionary), packing: Some(packing) });
    }
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        encoding(connection, version).await
    })
    .await
}

impl EncodedAssessment {
    /// Encodes an assessment to store as `id`: the result compact against the version's
    /// dictionary (whole without one, or when the compact form would not read back the same),
    /// then packed with the profile when the version has a packing dictionary. Pure: no database.
    pub fn encode(
        id: Uuid,
        assessment: &NewAssessment<'_>,
        assessed_at: Option<DateTime<Utc>>,
        encoding: &Encoding,
    ) -> Result<Self, PersistenceError> {
        let result = assessment.result;
        let encoding_error = |error: &dyn std::fmt::Display| PersistenceError::Encoding(error.to_string());
        let compact = match &encoding.dictionary {
            Some(dictionary) => dictionary.compact_json(result).map_err(|error| encoding_error(&error))?,
            None => None,
        };
        // The JSON value of the result only when it is stored whole (no dictionary, or one the
        // compact form cannot use); a compact result is returned hydrated as it is written.
        let whole = match compact {
            Some(_) => None,
            None => Some(serde_json::to_value(result).map_err(|error| encoding_error(&error))?),
        };
        let (profile, result_whole, result_compact, packed) = match &encoding.packing {
            Some(packing) => {
                let document = DocumentToPack {
                    profile: assessment.profile_json,
                    compact: compact.as_deref(),
                    whole: whole.as_ref(),
                };
                let packed = packing.pack(document).map_err(|error| encoding_error(&error))?;
                (None, None, None, Some(packed))
            }
            None => {
                // A version without a packing dictionary (stored before packing): its column
                // holds the compact value, read back from the bytes just written.
                let compact_value = compact
                    .as_deref()
                    .map(serde_json::from_slice)
                    .transpose()
                    .map_err(|error| encoding_error(&error))?;
                (Some(assessment.profile_json.clone()), whole.clone(), compact_value, None)
            }
        };
        let returned = match (compact, whole, &encoding.dictionary) {
            (Some(json), _, Some(dictionary)) => {
                StoredResult::CompactJson { json, dictionary: dictionary.clone() }
            }
            (_, whole, _) => StoredResult::Whole(whole.unwrap_or_default()),
        };
        let summary = assessment.profile.summary();
        // NULL for a barrier with nothing known: no score, rather than a 0 that every list, export
        // and statistic would read as the worst score.
        let score = |barrier: Barrier| {
            result.barriers.iter().find(|line| line.barrier == barrier).and_then(|line| line.score)
        };
        let mut scores = [None; 7];
        for (slot, &barrier) in scores.iter_mut().zip(Barrier::ALL) {
            *slot = score(barrier);
        }
        Ok(Self {
            id,
            program_id: assessment.program_id,
            rescored_from: assessment.rescored_from,
            model_version: result.model_version.clone(),
            profile,
            result: result_whole,
            result_compact,
            packed,
            returned,
            indication: summary.indication,
            stage: summary.stage,
            tissue_source: summary.tissue_source,
            route: summary.route,
            overall_index: result.overall.readiness_index,
            readiness_level: (result.readiness.msc_trl > 0).then_some(i16::from(result.readiness.msc_trl)),
            limiting_barrier: result.overall.limiting_barrier.as_str(),
            scores,
            assessed_at,
        })
    }

    /// This assessment without the result as the API returns it, for a batch, which never answers
    /// with it: that value (its compact tree, or the whole result's) is freed now, on the thread
    /// that built it, rather than held until the whole batch is stored and freed by another.
    pub fn without_returned(mut self) -> Self {
        self.returned = StoredResult::default();
        self
    }

    /// The assessment as stored at `created_at` (the database's time), with its program's key and
    /// name, for the response to the request that stored it.
    fn into_stored(
        self,
        created_at: DateTime<Utc>,
        program: Option<(String, String)>,
        profile: serde_json::Value,
    ) -> StoredAssessment {
        let (program_key, program_name) = program.unzip();
        let listed = AssessmentRow {
            id: self.id,
            program_id: self.program_id,
            rescored_from: self.rescored_from,
            model_version: self.model_version.clone(),
            indication: self.indication.map(str::to_owned),
            stage: self.stage.map(str::to_owned),
            tissue_source: self.tissue_source.map(str::to_owned),
            route: self.route.map(str::to_owned),
            overall_index: self.overall_index,
            readiness_level: self.readiness_level,
            limiting_barrier: self.limiting_barrier.to_owned(),
            survival: self.scores[0],
            retention: self.scores[1],
            variability: self.scores[2],
            scalability: self.scores[3],
            safety: self.scores[4],
            outcomes: self.scores[5],
            regulatory: self.scores[6],
            created_at,
            program_key,
            program_name,
            profile: None,
            result: None,
            result_whole: None,
            result_compact: None,
            packed: None,
        };
        StoredAssessment {
            id: self.id,
            program_id: self.program_id,
            rescored_from: self.rescored_from,
            model_version: self.model_version,
            profile,
            result: self.returned,
            created_at,
            listed,
        }
    }
}

/// Stores `batch` with one multi-row insert, in the caller's transaction, and keeps each touched
/// program's `latest` flag right: the programs are locked first, in id order (so two batches
/// touching the same programs take turns instead of deadlocking), as single submissions lock them.
pub async fn insert_batch(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    batch: &[EncodedAssessment],
) -> Result<(), PersistenceError> {
    if batch.is_empty() {
        return Ok(());
    }
    let programs = programs_of(batch.iter());
    lock_programs(connection, organisation, &programs).await?;
    insert_rows(connection, organisation, batch).await?;
    unflag_superseded(connection, organisation, &programs).await
}

/// A submission of a group commit ([`super::group_commit`]): who made it and its encoded row.
pub struct GroupedSubmission {
    pub actor: Actor,
    pub encoded: EncodedAssessment,
}

/// What storing a group did with one of its submissions.
pub enum GroupedOutcome {
    /// Stored at this time (the database's), with its program's key and name.
    Stored { created_at: DateTime<Utc>, program: Option<(String, String)> },
    /// Its `program_id` names no program of the organisation: not stored.
    ProgramNotFound,
}

impl GroupedSubmission {
    /// The stored assessment a response shows, once the group's commit has stored it.
    pub fn into_stored(
        self,
        created_at: DateTime<Utc>,
        program: Option<(String, String)>,
        profile: serde_json::Value,
    ) -> StoredAssessment {
        self.encoded.into_stored(created_at, program, profile)
    }
}

/// Stores a group of one organisation's submissions (without idempotency keys), each with its
/// audit event, committed before this returns: a single statement when no submission names a
/// program; otherwise one transaction that locks the programs (in id order, as batches do), stores
/// the submissions whose program exists and moves each program's `latest` flag to its newest
/// assessment (the group's last of it). The outcomes are in the order of `group`.
pub async fn store_group(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    group: &[GroupedSubmission],
) -> Result<Vec<GroupedOutcome>, PersistenceError> {
    let programs = programs_of(group.iter().map(|submission| &submission.encoded));
    let rows = |found: &HashSet<Uuid>| -> Vec<(&EncodedAssessment, &Actor, bool)> {
        group
            .iter()
            .enumerate()
            .filter(|(_, submission)| {
                submission.encoded.program_id.is_none_or(|program| found.contains(&program))
            })
            .map(|(position, submission)| {
                let program = submission.encoded.program_id;
                // Rows are stamped in group order (the history trigger keeps it): a program's last
                // submission of the group is its newest assessment.
                let newest = program.is_none()
                    || !group[position + 1..].iter().any(|later| later.encoded.program_id == program);
                (&submission.encoded, &submission.actor, newest)
            })
            .collect()
    };
    let action = AuditAction::AssessmentCreated;
    let (found, stored) = if programs.is_empty() {
        let found = HashSet::new();
        let stored = insert_values(connection, organisation, &rows(&found), action).await?;
        (found, stored)
    } else {
        let mut transaction = connection.begin().await?;
        let stored = async {
            let found = lock_programs(&mut transaction, organisation, &programs).await?;
            let stored = insert_values(&mut transaction, organisation, &rows(&found), action).await?;
            let touched: Vec<Uuid> =
                programs.iter().copied().filter(|program| found.contains(program)).collect();
            unflag_superseded(&mut transaction, organisation, &touched).await?;
            Ok::<_, PersistenceError>((found, stored))
        }
        .await;
        // Rolled back at once on failure: the programs' locks must not outlive the group.
        settle(transaction, stored).await?
    };
    let mut stored = stored;
    group
        .iter()
        .map(|submission| {
            if submission.encoded.program_id.is_some_and(|program| !found.contains(&program)) {
                return Ok(GroupedOutcome::ProgramNotFound);
            }
            let Inserted { created_at, program } =
                stored.remove(&submission.encoded.id).ok_or_else(|| {
                    PersistenceError::Encoding(format!("assessment {} was not stored", submission.encoded.id))
                })?;
            Ok(GroupedOutcome::Stored { created_at, program })
        })
        .collect()
}

/// The programs `rows` belong to, each once, in id order (the order they are locked in).
fn programs_of<'a>(rows: impl Iterator<Item = &'a EncodedAssessment>) -> Vec<Uuid> {
    let mut programs: Vec<Uuid> = rows.filter_map(|row| row.program_id).collect();
    programs.sort_unstable();
    programs.dedup();
    programs
}

/// Locks those of `programs` (in id order) that the organisation has, until the end of the
/// transaction, and returns them.
async fn lock_programs(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    programs: &[Uuid],
) -> Result<HashSet<Uuid>, PersistenceError> {
    if programs.is_empty() {
        return Ok(HashSet::new());
    }
    let locked: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM programs WHERE organisation_id = $1 AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(organisation.0)
    .bind(programs)
    .fetch_all(&mut *connection)
    .await?;
    Ok(locked.into_iter().collect())
}

/// Inserts a job's `rows` with one statement, the programs they name locked by the caller. They get
/// no audit event of their own: the job is audited.
async fn insert_rows(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    rows: &[EncodedAssessment],
) -> Result<(), PersistenceError> {
    let column = |score: usize| rows.iter().map(|row| row.scores[score]).collect::<Vec<_>>();
    // One statement and one plan for the batch: each column travels as one array.
    sqlx::query(
        "INSERT INTO assessments (id, organisation_id, program_id, rescored_from, model_version, profile, result,
             result_compact, indication, stage, tissue_source, route, overall_index, readiness_level, limiting_barrier,
             survival, retention, variability, scalability, safety, outcomes, regulatory, created_at, packed, latest)
           SELECT id, $1, program_id, rescored_from, model_version, profile, result, result_compact, indication, stage,
             tissue_source, route, overall_index, readiness_level, limiting_barrier, survival, retention, variability,
             scalability, safety, outcomes, regulatory, coalesce(assessed_at, now()), packed,
             -- Each program's newest row of the batch comes flagged (rows stamped now() in batch order,
             -- the history trigger keeping that order); an assessment without a program always is.
             -- A re-score is flagged only when its original is the program's latest (read under the
             -- program's lock): re-scoring older assessments must not displace a latest assessment
             -- that is not in the job (already on the current model, or submitted since).
             program_id IS NULL OR (row_number() OVER (PARTITION BY program_id
               ORDER BY coalesce(assessed_at, now()) DESC, ordinal DESC) = 1
               AND (rescored_from IS NULL OR EXISTS (SELECT 1 FROM assessments original
                 WHERE original.organisation_id = $1 AND original.id = batch.rescored_from AND original.latest)))
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8::jsonb[], $9::text[],
             $10::text[], $11::text[], $12::text[], $13::float8[], $14::int2[], $15::text[], $16::float8[], $17::float8[],
             $18::float8[], $19::float8[], $20::float8[], $21::float8[], $22::float8[], $23::timestamptz[],
             $24::bytea[])
             WITH ORDINALITY AS batch(id, program_id, rescored_from, model_version, profile, result, result_compact,
               indication, stage, tissue_source, route, overall_index, readiness_level, limiting_barrier, survival,
               retention, variability, scalability, safety, outcomes, regulatory, assessed_at, packed, ordinal)
           ORDER BY ordinal",
    )
    .bind(organisation.0)
    .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.program_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.rescored_from).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.model_version.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.profile.as_ref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.result.as_ref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.result_compact.as_ref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.indication).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.stage).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.tissue_source).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.route).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.overall_index).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.readiness_level).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.limiting_barrier).collect::<Vec<_>>())
    .bind(column(0))
    .bind(column(1))
    .bind(column(2))
    .bind(column(3))
    .bind(column(4))
    .bind(column(5))
    .bind(column(6))
    .bind(rows.iter().map(|row| row.assessed_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.packed.as_deref()).collect::<Vec<_>>())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct InsertedRow {
    id: Uuid,
    created_at: DateTime<Utc>,
    key: Option<String>,
    name: Option<String>,
}

/// A row [`insert_values`] stored: its creation time (the database's) and its program's key and name.
struct Inserted {
    created_at: DateTime<Utc>,
    program: Option<(String, String)>,
}

/// Inserts `rows`, each with an audit event (`action`) naming the actor whose request it is and
/// with its program's `latest` flag as given, the programs they name locked by the caller. One
/// statement of literal rows: its text depends only on the number of rows, so that each size is
/// prepared once per connection and soon runs on a generic plan (the arrays of [`insert_rows`]
/// would be planned again at every execution, as each length changes the estimates: more than
/// storing a row or two costs). Returns each stored row by id.
async fn insert_values(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    rows: &[(&EncodedAssessment, &Actor, bool)],
    action: AuditAction,
) -> Result<HashMap<Uuid, Inserted>, PersistenceError> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = QueryBuilder::<Postgres>::new(
        "WITH inserted AS (
           INSERT INTO assessments (id, organisation_id, program_id, rescored_from, model_version, profile, result,
             result_compact, indication, stage, tissue_source, route, overall_index, readiness_level, limiting_barrier,
             survival, retention, variability, scalability, safety, outcomes, regulatory, packed, latest) ",
    );
    query.push_values(rows, |mut values, &(row, _, latest)| {
        values
            .push_bind(row.id)
            .push_bind(organisation.0)
            .push_bind(row.program_id)
            .push_bind(row.rescored_from)
            .push_bind(row.model_version.as_str())
            .push_bind(row.profile.as_ref())
            .push_bind(row.result.as_ref())
            .push_bind(row.result_compact.as_ref())
            .push_bind(row.indication)
            .push_bind(row.stage)
            .push_bind(row.tissue_source)
            .push_bind(row.route)
            .push_bind(row.overall_index)
            .push_bind(row.readiness_level)
            .push_bind(row.limiting_barrier);
        for score in row.scores {
            values.push_bind(score);
        }
        values.push_bind(row.packed.as_deref()).push_bind(latest);
    });
    query.push(
        " RETURNING id, program_id, created_at),
         audit AS (
           INSERT INTO audit_events (id, organisation_id, key_id, action, resource_type, resource_id, request_id) ",
    );
    query.push_values(rows, |mut values, &(row, actor, _)| {
        values
            .push_bind(Uuid::now_v7())
            .push_bind(organisation.0)
            .push_bind(actor.key_id)
            .push_bind(action.as_str())
            .push_bind(action.resource_type())
            .push_bind(row.id)
            .push_bind(actor.request_id.as_deref());
    });
    // Only the creation time and the program's key and name come back: echoing the result
    // through the database would cost a conversion and a parse per row.
    query.push(
        ")
         SELECT inserted.id, inserted.created_at, programs.key, programs.name
         FROM inserted LEFT JOIN programs ON programs.id = inserted.program_id AND programs.organisation_id = ",
    );
    query.push_bind(organisation.0);
    let stored: Vec<InsertedRow> = query.build_query_as().fetch_all(&mut *connection).await?;
    Ok(stored
        .into_iter()
        .map(|row| (row.id, Inserted { created_at: row.created_at, program: row.key.zip(row.name) }))
        .collect())
}

/// Each of `programs` (locked by the caller) has two rows flagged after an insert (its latest
/// before, and the insert's newest): the older loses the flag. Only rows whose flag changes are
/// written, so a batch rewrites one row per program, not every row it stored (a flag update cannot
/// be HOT: the flag is in the statistics' partial index).
async fn unflag_superseded(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    programs: &[Uuid],
) -> Result<(), PersistenceError> {
    if programs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE assessments SET latest = false
         FROM (SELECT DISTINCT ON (program_id) program_id, id FROM assessments
               WHERE organisation_id = $1 AND program_id = ANY($2) AND latest
               ORDER BY program_id, created_at DESC, id DESC) newest
         WHERE assessments.organisation_id = $1 AND assessments.program_id = newest.program_id
           AND assessments.latest AND assessments.id <> newest.id",
    )
    .bind(organisation.0)
    .bind(programs)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Locks a program of the organisation until the end of the transaction, so that writers of
/// its assessments take turns keeping its `latest` flag right; false when there is no such program.
async fn lock_program(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    program_id: Uuid,
) -> Result<bool, PersistenceError> {
    let locked: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM programs WHERE id = $1 AND organisation_id = $2 FOR NO KEY UPDATE",
    )
    .bind(program_id)
    .bind(organisation.0)
    .fetch_optional(connection)
    .await?;
    Ok(locked.is_some())
}

/// Flags the program's newest assessment (by creation time, then id) as its latest and clears
/// the flag on the one that had it. Run under [`lock_program`] after every insert and delete.
async fn mark_latest(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    program_id: Uuid,
) -> Result<(), PersistenceError> {
    sqlx::query(
        "UPDATE assessments SET latest = (assessments.id = newest.id)
         FROM (SELECT id FROM assessments WHERE organisation_id = $1 AND program_id = $2
               ORDER BY created_at DESC, id DESC LIMIT 1) newest
         WHERE organisation_id = $1 AND program_id = $2 AND (latest OR assessments.id = newest.id)",
    )
    .bind(organisation.0)
    .bind(program_id)
    .execute(connection)
    .await?;
    Ok(())
}

async fn fetch_in(
    connection: &mut sqlx::PgConnection,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<StoredAssessment>, PersistenceError> {
    let query = format!("SELECT {STORED_COLUMNS} FROM assessments WHERE id = $1 AND organisation_id = $2");
    let row: Option<AssessmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(query))
        .bind(id)
        .bind(organisation.0)
        .fetch_optional(&mut *connection)
        .await?;
    match row {
        Some(row) => Ok(Some(StoredAssessment::hydrate(row, connection).await?)),
        None => Ok(None),
    }
}

/// One stored assessment of the organisation.
pub async fn fetch(
    pool: &PgPool,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<StoredAssessment>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        fetch_in(connection, organisation, id).await
    })
    .await
}

/// One stored assessment of the organisation as a list shows it, without reading its profile and
/// result.
pub async fn fetch_listed(
    pool: &PgPool,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<AssessmentRow>, PersistenceError> {
    let query = format!(
        "SELECT {SUMMARY_COLUMNS}, NULL::jsonb AS profile, NULL::jsonb AS result,
         NULL::jsonb AS result_compact FROM assessments WHERE id = $1 AND organisation_id = $2"
    );
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(id)
            .bind(organisation.0)
            .fetch_optional(connection)
            .await?)
    })
    .await
}

/// Deletes an assessment; false when the organisation has none with this id. When it was its
/// program's latest, the program's previous assessment becomes the latest.
pub async fn delete(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<bool, PersistenceError> {
    let organisation = actor.organisation;
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        let outcome = async {
            let program: Option<Option<Uuid>> = sqlx::query_scalar(
                "SELECT program_id FROM assessments WHERE id = $1 AND organisation_id = $2",
            )
            .bind(id)
            .bind(organisation.0)
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(program) = program else {
                return Ok(false);
            };
            // The program first, the assessment second: the order inserts take them in, so no deadlock.
            if let Some(program_id) = program {
                lock_program(&mut transaction, organisation, program_id).await?;
            }
            let deleted = sqlx::query("DELETE FROM assessments WHERE id = $1 AND organisation_id = $2")
                .bind(id)
                .bind(organisation.0)
                .execute(&mut *transaction)
                .await?;
            if let Some(program_id) = program {
                mark_latest(&mut transaction, organisation, program_id).await?;
            }
            if deleted.rows_affected() == 1 {
                access::record(&mut transaction, actor, AuditAction::AssessmentDeleted, id).await?;
            }
            Ok(deleted.rows_affected() == 1)
        }
        .await;
        // Ended explicitly on every path: the program's lock must not outlive the request.
        settle(transaction, outcome).await
    })
    .await
}

/// Forgets idempotency keys past their retention.
pub async fn purge_expired_idempotency_keys(pool: &PgPool) -> Result<u64, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        let purged =
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)")
                .bind(IDEMPOTENCY_RETENTION_HOURS)
                .execute(connection)
                .await?;
        Ok(purged.rows_affected())
    })
    .await
}

/// The column a list is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    CreatedAt,
    OverallIndex,
    Barrier(Barrier),
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::OverallIndex => "overall_index",
            // Each barrier's score column is named by the barrier's code.
            Self::Barrier(barrier) => barrier.as_str(),
        }
    }
}

/// Filters of the assessment list; all optional, combined with AND.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub program_id: Option<Uuid>,
    pub indication: Option<&'static str>,
    pub stage: Option<&'static str>,
    pub tissue_source: Option<&'static str>,
    pub route: Option<&'static str>,
    pub model_version: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub min_overall: Option<f64>,
    pub max_overall: Option<f64>,
    /// Barriers with a minimum and/or maximum score.
    pub barrier_ranges: Vec<(Barrier, Option<f64>, Option<f64>)>,
    pub limiting_barrier: Option<Barrier>,
    pub readiness_level: Option<i16>,
    /// Only each program's latest assessment (and the assessments filed under no program).
    pub latest_only: bool,
}

/// A position in a list: just after the row with this sort value and id, in the list's order.
///
/// Written `<value>~<id>`: a decimal (no exponent, so never NaN or infinite), `~`, a hyphenated UUID,
/// the `pattern` of the `cursor` parameters in the OpenAPI document. The value is read in the unit of
/// the sort: a score, or a creation time in seconds since 1970-01-01T00:00:00Z. Every string of
/// that form is a position in every order, so a client can only ever get a page, never an error,
/// from a well-formed cursor; the `next_cursor` of a page writes the last row's exact value. In a
/// barrier sort the value may also be `null`: a position among the barrier's unknown scores,
/// which the list puts after every known score in both directions.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    value: CursorValue,
    id: Uuid,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CursorValue {
    Number(f64),
    Time(DateTime<Utc>),
    /// A barrier score that is unknown (NULL).
    Unknown,
}

/// PostgreSQL's earliest `timestamptz`, 4714-11-24 00:00:00 BC, in microseconds since 1970; a
/// time cursor before it is read as it (chrono's latest time, the upper clamp, is within range).
const EARLIEST_TIME_MICROS: i128 = -210_866_803_200_000_000;

/// A string that is not a cursor.
#[derive(Debug, thiserror::Error)]
#[error(
    "must be <value>~<id>, the next_cursor of a page (a decimal such as 63.4 or 1763776800.123456, then a UUID)"
)]
pub struct InvalidCursor;

impl Cursor {
    /// The position just after a row of a list in creation order.
    pub(super) fn created(created_at: DateTime<Utc>, id: Uuid) -> Self {
        Self { value: CursorValue::Time(created_at), id }
    }

    /// The creation time and id of a creation-order cursor.
    pub(super) fn created_position(&self) -> Option<(DateTime<Utc>, Uuid)> {
        match self.value {
            CursorValue::Time(created_at) => Some((created_at, self.id)),
            CursorValue::Number(_) | CursorValue::Unknown => None,
        }
    }

    pub fn encode(&self) -> String {
        match self.value {
            // Rust writes the shortest decimal that reads back as the same f64, never an exponent.
            CursorValue::Number(value) => format!("{value}~{}", self.id),
            CursorValue::Unknown => format!("null~{}", self.id),
            CursorValue::Time(time) => {
                let micros = time.timestamp_micros();
                let sign = if micros < 0 { "-" } else { "" };
                let micros = micros.unsigned_abs();
                format!("{sign}{}.{:06}~{}", micros / 1_000_000, micros % 1_000_000, self.id)
            }
        }
    }

    /// Reads a cursor for a list sorted by `sort`: the value as a time for `created_at`, else as a
    /// score. Accepts exactly the strings the `cursor` parameters' pattern matches:
    /// `^-?[0-9]{1,15}(\.[0-9]{1,17})?~<hyphenated UUID>$` (17 decimals: enough for any score to
    /// round-trip; scores are tenths), and `null~<hyphenated UUID>`: a position among the unknown
    /// scores of a barrier sort, which come last in both directions. The pattern cannot say which
    /// sort a cursor belongs to, so in the other sorts (NOT NULL columns) it is the same position,
    /// past every row: an empty page, not an error.
    pub fn decode(text: &str, sort: SortKey) -> Result<Self, InvalidCursor> {
        let (value, id) = text.split_once('~').ok_or(InvalidCursor)?;
        let id = hyphenated_uuid(id).ok_or(InvalidCursor)?;
        if value == "null" {
            return Ok(Self { value: CursorValue::Unknown, id });
        }
        let (negative, integer, fraction) = decimal(value).ok_or(InvalidCursor)?;
        let value = match sort {
            SortKey::CreatedAt => {
                // Microseconds, as PostgreSQL stores them; finer digits are dropped.
                let sub_second: String = fraction.chars().chain("000000".chars()).take(6).collect();
                let magnitude = integer.parse::<i128>().map_err(|_| InvalidCursor)? * 1_000_000
                    + sub_second.parse::<i128>().map_err(|_| InvalidCursor)?;
                let micros = if negative { -magnitude } else { magnitude };
                let latest = i128::from(DateTime::<Utc>::MAX_UTC.timestamp_micros());
                let clamped =
                    i64::try_from(micros.clamp(EARLIEST_TIME_MICROS, latest)).map_err(|_| InvalidCursor)?;
                CursorValue::Time(DateTime::from_timestamp_micros(clamped).ok_or(InvalidCursor)?)
            }
            SortKey::OverallIndex | SortKey::Barrier(_) => {
                CursorValue::Number(value.parse().map_err(|_| InvalidCursor)?)
            }
        };
        Ok(Self { value, id })
    }
}

/// `-?[0-9]{1,15}(\.[0-9]{1,17})?` as (negative, integer digits, fraction digits).
fn decimal(text: &str) -> Option<(bool, &str, &str)> {
    let digits =
        |part: &str, max: usize| (1..=max).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(unsigned) => (true, unsigned),
        None => (false, text),
    };
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) if digits(fraction, 17) => (integer, fraction),
        Some(_) => return None,
        None => (unsigned, ""),
    };
    digits(integer, 15).then_some((negative, integer, fraction))
}

/// Only the hyphenated form, in either case: `Uuid::try_parse` also takes other forms the
/// pattern does not allow.
fn hyphenated_uuid(text: &str) -> Option<Uuid> {
    let well_formed = text.len() == 36
        && text.bytes().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        });
    well_formed.then(|| Uuid::try_parse(text).ok()).flatten()
}

/// A list request.
pub struct ListRequest {
    pub filters: Filters,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: u32,
    pub after: Option<Cursor>,
    /// Include the profile and the full result (much more data per row).
    pub full: bool,
}

/// A summary row, plus the profile and result when asked for.
#[derive(Debug, sqlx::FromRow)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub program_id: Option<Uuid>,
    pub program_key: Option<String>,
    pub program_name: Option<String>,
    pub rescored_from: Option<Uuid>,
    pub model_version: String,
    pub indication: Option<String>,
    pub stage: Option<String>,
    pub tissue_source: Option<String>,
    pub route: Option<String>,
    pub overall_index: f64,
    pub readiness_level: Option<i16>,
    pub limiting_barrier: String,
    pub survival: Option<f64>,
    pub retention: Option<f64>,
    pub variability: Option<f64>,
    pub scalability: Option<f64>,
    pub safety: Option<f64>,
    pub outcomes: Option<f64>,
    pub regulatory: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub profile: Option<serde_json::Value>,
    /// The full result, from whichever form it was stored in.
    #[sqlx(skip)]
    pub result: Option<StoredResult>,
    /// The result as stored whole, until it is read as `result`.
    #[sqlx(default, rename = "result")]
    result_whole: Option<serde_json::Value>,
    /// The compact form of `result` as stored, until it is read as `result`.
    #[sqlx(default)]
    result_compact: Option<serde_json::Value>,
    /// The packed profile and result as stored, until the list unpacks them.
    #[sqlx(default)]
    packed: Option<Vec<u8>>,
}

impl AssessmentRow {
    /// The barrier's score; `None` when nothing is known about the barrier.
    pub fn score(&self, barrier: Barrier) -> Option<f64> {
        match barrier {
            Barrier::Survival => self.survival,
            Barrier::Retention => self.retention,
            Barrier::Variability => self.variability,
            Barrier::Scalability => self.scalability,
            Barrier::Safety => self.safety,
            Barrier::Outcomes => self.outcomes,
            Barrier::Regulatory => self.regulatory,
        }
    }

    fn cursor(&self, sort: SortKey) -> Cursor {
        let value = match sort {
            SortKey::CreatedAt => CursorValue::Time(self.created_at),
            SortKey::OverallIndex => CursorValue::Number(self.overall_index),
            SortKey::Barrier(barrier) => {
                self.score(barrier).map_or(CursorValue::Unknown, CursorValue::Number)
            }
        };
        Cursor { value, id: self.id }
    }
}

const SUMMARY_COLUMNS: &str = summary_columns!();

/// A page of the list and the cursor of the next one.
pub struct Page {
    pub rows: Vec<AssessmentRow>,
    pub next: Option<Cursor>,
}

/// Lists the organisation's assessments: filtered, sorted, one keyset page at a time, so every
/// page is an index range scan however deep it is.
pub async fn list(
    pool: &PgPool,
    organisation: OrganisationId,
    request: &ListRequest,
) -> Result<Page, PersistenceError> {
    let extra = if request.full {
        ", profile, result, result_compact, packed"
    } else {
        ", NULL::jsonb AS profile, NULL::jsonb AS result, NULL::jsonb AS result_compact, NULL::bytea AS packed"
    };
    let select = format!("SELECT {SUMMARY_COLUMNS}{extra} FROM assessments WHERE organisation_id = ");
    let column = request.sort.column();
    let (comparison, direction) = if request.descending { ("<", "DESC") } else { (">", "ASC") };
    let mut query = QueryBuilder::<Postgres>::new("");
    let limit = i64::from(request.limit) + 1;
    match request.sort {
        SortKey::CreatedAt | SortKey::OverallIndex => {
            query.push(&select).push_bind(organisation.0);
            push_filters(&mut query, &request.filters);
            if let Some(cursor) = &request.after {
                query.push(format!(" AND ({column}, id) {comparison} ("));
                match cursor.value {
                    CursorValue::Time(value) => query.push_bind(value),
                    CursorValue::Number(value) => query.push_bind(value),
                    // Unknown scores sort last and these columns are NOT NULL: a position past
                    // every row (a row comparison with NULL is never true).
                    CursorValue::Unknown => query.push("NULL"),
                };
                query.push(", ").push_bind(cursor.id).push(")");
            }
            query.push(format!(" ORDER BY {column} {direction}, id {direction} LIMIT ")).push_bind(limit);
        }
        SortKey::Barrier(_) => {
            // Unknown scores (NULL) last in both directions: a client paging for the best or the
            // worst sees the scored programs first. Two parts, each one range of the column's index
            // (a row comparison is never true for NULL): the known scores after the cursor, then
            // the unknown ones by id; a cursor among the unknown scores skips the first part.
            query.push("SELECT * FROM (");
            let known_after = match request.after.as_ref().map(|cursor| (cursor.value, cursor.id)) {
                Some((CursorValue::Unknown, _)) => None,
                Some((CursorValue::Number(value), id)) => Some(Some((value, id))),
                // A time is not decoded for a barrier sort; read as no cursor.
                Some((CursorValue::Time(_), _)) | None => Some(None),
            };
            if let Some(after) = known_after {
                query.push("(").push(&select).push_bind(organisation.0);
                push_filters(&mut query, &request.filters);
                query.push(format!(" AND {column} IS NOT NULL"));
                if let Some((value, id)) = after {
                    query.push(format!(" AND ({column}, id) {comparison} ("));
                    query.push_bind(value).push(", ").push_bind(id).push(")");
                }
                query.push(format!(" ORDER BY {column} {direction}, id {direction} LIMIT ")).push_bind(limit);
                query.push(") UNION ALL ");
            }
            query.push("(").push(&select).push_bind(organisation.0);
            push_filters(&mut query, &request.filters);
            query.push(format!(" AND {column} IS NULL"));
            if let Some(cursor) = request.after.as_ref().filter(|cursor| cursor.value == CursorValue::Unknown)
            {
                query.push(format!(" AND id {comparison} ")).push_bind(cursor.id);
            }
            query.push(format!(" ORDER BY id {direction} LIMIT ")).push_bind(limit);
            query.push(format!(")) page ORDER BY {column} {direction} NULLS LAST, id {direction} LIMIT "));
            query.push_bind(limit);
        }
    }

    let mut rows: Vec<AssessmentRow> =
        with_connection(pool, RowScope::Organisation(organisation), async |connection| {
            let mut rows: Vec<AssessmentRow> = query.build_query_as().fetch_all(&mut *connection).await?;
            for row in &mut rows {
                open_stored_form(connection, row).await?;
            }
            Ok::<_, PersistenceError>(rows)
        })
        .await?;
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| row.cursor(request.sort))
    } else {
        None
    };
    Ok(Page { rows, next })
}

pub(super) fn push_filters(query: &mut QueryBuilder<Postgres>, filters: &Filters) {
    if let Some(program_id) = filters.program_id {
        query.push(" AND program_id = ").push_bind(program_id);
    }
    for (column, value) in [
        ("indication", filters.indication),
        ("stage", filters.stage),
        ("tissue_source", filters.tissue_source),
        ("route", filters.route),
        ("limiting_barrier", filters.limiting_barrier.map(|barrier| barrier.as_str())),
    ] {
        if let Some(value) = value {
            query.push(format!(" AND {column} = ")).push_bind(value);
        }
    }
    if let Some(version) = &filters.model_version {
        query.push(" AND model_version = ").push_bind(version.clone());
    }
    if let Some(from) = filters.created_from {
        query.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(before) = filters.created_before {
        query.push(" AND created_at < ").push_bind(before);
    }
    if let Some(min) = filters.min_overall {
        query.push(" AND overall_index >= ").push_bind(min);
    }
    if let Some(max) = filters.max_overall {
        query.push(" AND overall_index <= ").push_bind(max);
    }
    for &(barrier, min, max) in &filters.barrier_ranges {
        let column = barrier.as_str();
        if let Some(min) = min {
            query.push(format!(" AND {column} >= ")).push_bind(min);
        }
        if let Some(max) = max {
            query.push(format!(" AND {column} <= ")).push_bind(max);
        }
    }
    if filters.latest_only {
        query.push(" AND latest");
    }
    // Level 0 is stored as NULL (no level reached).
    match filters.readiness_level {
        Some(0) => {
            query.push(" AND readiness_level IS NULL");
        }
        Some(level) => {
            query.push(" AND readiness_level = ").push_bind(level);
        }
        None => {}
    }
}

/// One point of a program's history: the assessment and the change of each score since the
/// previous assessment of the program (absent for the first).
#[derive(Debug, sqlx::FromRow)]
pub struct HistoryRow {
    #[sqlx(flatten)]
    pub assessment: AssessmentRow,
    pub overall_change: Option<f64>,
    pub survival_change: Option<f64>,
    pub retention_change: Option<f64>,
    pub variability_change: Option<f64>,
    pub scalability_change: Option<f64>,
    pub safety_change: Option<f64>,
    pub outcomes_change: Option<f64>,
    pub regulatory_change: Option<f64>,
}

/// A program's assessments in time order, with each score's change since the one before.
/// The changes are computed over the program's whole history, so they are right on every page.
pub async fn program_history(
    pool: &PgPool,
    organisation: OrganisationId,
    program_id: Uuid,
    limit: u32,
    after: Option<&Cursor>,
) -> Result<(Vec<HistoryRow>, Option<Cursor>), PersistenceError> {
    let mut query = QueryBuilder::<Postgres>::new(format!(
        "SELECT * FROM (
            SELECT {SUMMARY_COLUMNS}, NULL::jsonb AS profile, NULL::jsonb AS result,
                overall_index - lag(overall_index) OVER w AS overall_change,
                survival - lag(survival) OVER w AS survival_change,
                retention - lag(retention) OVER w AS retention_change,
                variability - lag(variability) OVER w AS variability_change,
                scalability - lag(scalability) OVER w AS scalability_change,
                safety - lag(safety) OVER w AS safety_change,
                outcomes - lag(outcomes) OVER w AS outcomes_change,
                regulatory - lag(regulatory) OVER w AS regulatory_change
            FROM assessments WHERE organisation_id = "
    ));
    query.push_bind(organisation.0).push(" AND program_id = ").push_bind(program_id);
    query.push(" WINDOW w AS (ORDER BY created_at, id)) history");
    if let Some((created_at, id)) = after.and_then(Cursor::created_position) {
        query.push(" WHERE (created_at, id) > (").push_bind(created_at).push(", ").push_bind(id).push(")");
    }
    query.push(" ORDER BY created_at, id LIMIT ").push_bind(i64::from(limit) + 1);
    let mut rows: Vec<HistoryRow> =
        with_connection(pool, RowScope::Organisation(organisation), async |connection| {
            Ok::<_, PersistenceError>(query.build_query_as().fetch_all(connection).await?)
        })
        .await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| row.assessment.cursor(SortKey::CreatedAt))
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0192f6a1-7c3e-7d2a-9b4c-5e6f708192a3";

    #[test]
    fn issued_cursors_read_back_as_the_same_position() {
        let id = Uuid::try_parse(ID).unwrap();
        for micros in [1_763_776_800_123_456, 0, -1, -86_400_000_001] {
            let cursor = Cursor::created(DateTime::from_timestamp_micros(micros).unwrap(), id);
            assert_eq!(Cursor::decode(&cursor.encode(), SortKey::CreatedAt).unwrap(), cursor);
        }
        for tenths in [0u16, 1, 634, 999, 1000] {
            let cursor = Cursor { value: CursorValue::Number(f64::from(tenths) / 10.0), id };
            assert_eq!(Cursor::decode(&cursor.encode(), SortKey::OverallIndex).unwrap(), cursor);
        }
        let unknown = Cursor { value: CursorValue::Unknown, id };
        assert_eq!(unknown.encode(), format!("null~{ID}"));
        let sort = SortKey::Barrier(Barrier::Scalability);
        assert_eq!(Cursor::decode(&unknown.encode(), sort).unwrap(), unknown);
        let time = Cursor::created(DateTime::from_timestamp_micros(1_763_776_800_000_042).unwrap(), id);
        assert_eq!(time.encode(), format!("1763776800.000042~{ID}"));
    }

    #[test]
    fn every_string_of_the_pattern_is_a_position_in_every_order_and_nothing_else_is() {
        for value in ["0", "-0", "63.4", "999999999999999.99999999999999999", "-999999999999999", "1.0000001"]
        {
            let text = format!("{value}~{}", ID.to_uppercase());
            for sort in [SortKey::CreatedAt, SortKey::OverallIndex, SortKey::Barrier(Barrier::Survival)] {
                assert!(Cursor::decode(&text, sort).is_ok(), "{text} {sort:?}");
            }
        }
        for text in [
            String::new(),
            ID.to_owned(),
            format!("~{ID}"),
            format!("1.~{ID}"),
            format!(".5~{ID}"),
            format!("+1~{ID}"),
            format!("1e3~{ID}"),
            format!("NaN~{ID}"),
            format!("inf~{ID}"),
            format!("1234567890123456~{ID}"),
            format!("1.123456789012345678~{ID}"),
            format!("1~{}", ID.replace('-', "")),
            format!("1~{{{ID}}}"),
            format!("1~{ID}~"),
            format!("1~{ID}\n"),
            format!(" 1~{ID}"),
        ] {
            assert!(Cursor::decode(&text, SortKey::CreatedAt).is_err(), "{text}");
            assert!(Cursor::decode(&text, SortKey::OverallIndex).is_err(), "{text}");
        }
        // `null` is the position among the unknown scores, which sort last: in every sort, since
        // the pattern cannot tie a cursor to one (past every row where the column is NOT NULL).
        let unknown = format!("null~{ID}");
        for sort in [SortKey::Barrier(Barrier::Survival), SortKey::CreatedAt, SortKey::OverallIndex] {
            assert!(matches!(Cursor::decode(&unknown, sort), Ok(Cursor { value: CursorValue::Unknown, .. })));
        }
        assert!(Cursor::decode(&format!("NULL~{ID}"), SortKey::Barrier(Barrier::Survival)).is_err());
    }

    #[test]
    fn times_beyond_what_postgresql_stores_are_clamped_to_its_range() {
        let early = Cursor::decode(&format!("-999999999999999~{ID}"), SortKey::CreatedAt).unwrap();
        let late = Cursor::decode(&format!("999999999999999~{ID}"), SortKey::CreatedAt).unwrap();
        let (early, _) = early.created_position().unwrap();
        let (late, _) = late.created_position().unwrap();
        assert_eq!(i128::from(early.timestamp_micros()), EARLIEST_TIME_MICROS);
        assert_eq!(late.timestamp_micros(), DateTime::<Utc>::MAX_UTC.timestamp_micros());
    }
}
