//! Bulk work over HTTP: imports (`POST /v1/imports`), portfolio re-scores
//! (`POST /v1/rescore-jobs`) and their model-upgrade report, and the jobs that do them.
//!
//! An import's body is streamed: a blocking task reads it line by line (NDJSON) or record by
//! record (CSV) from a bounded channel and stages the lines in the database in batches, so an
//! import of any size is received in constant memory. The job is answered (202) only once every
//! line is staged and the job queued, in the database: a 202 means the work will be done.

use std::io::Read;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::{Caller, Write};
use super::filters::{parse_parameters, parse_query};
use super::problem::{ApiError, FieldError, Problem};
use crate::comparison;
use crate::jobs::report::{self, UpgradeReport};
use crate::jobs::staging::{ImportFormat, ImportMode, StageError, Staging};
use crate::jobs::{JobKind, JobState, Wake};
use crate::persistence::jobs::{self as store, Cancellation, JobRow};
use crate::persistence::{OrganisationId, PersistenceError, assessments as assessment_store};
use crate::scoring::{Assessment, Model};

/// What an import's upload may hold and how long it may stall.
#[derive(Clone, Copy, Debug)]
pub struct ImportLimits {
    /// Longest line (or CSV record), in bytes: the body limit of a single submission.
    pub line_bytes: usize,
    /// Longest wait for the next piece of the body, and for each database write.
    pub stall: Duration,
    /// Most lines of one program claimed together (`JOB_BATCH_SIZE`).
    pub group_lines: usize,
}

/// Parameters of an import.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParameters {
    /// `best_effort` (default): valid lines are stored, invalid ones reported; `all_or_nothing`:
    /// nothing is stored unless every line is valid.
    #[param(inline)]
    pub mode: Option<ImportMode>,
}

/// A job: what it does, where it stands, and how fast it goes.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019b0d6e-7c3e-7d2a-9b4c-5e6f708192a3", "kind": "import", "state": "running",
    "parameters": {"format": "ndjson", "mode": "best_effort"}, "total": 12000, "processed": 4500, "created": 4480,
    "skipped": 0, "failed": 20, "error_count": 23, "failure": null, "created_at": "2026-11-23T09:00:00Z",
    "started_at": "2026-11-23T09:00:01Z", "finished_at": null, "updated_at": "2026-11-23T09:00:04Z",
    "rate_per_second": 1500.0, "seconds_left": 5.0}))]
pub struct JobView {
    pub id: Uuid,
    pub kind: JobKind,
    pub state: JobState,
    /// What the job was asked: an import's `format` and `mode`; a re-score's `selection` and filters.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// Lines (an import: every non-blank line) or assessments (a re-score) to process.
    pub total: i64,
    /// Of `total`, those done: stored, skipped or failed.
    pub processed: i64,
    /// Assessments stored.
    pub created: i64,
    /// Lines already imported (the same line, or its `idempotency_key`, seen before), and
    /// assessments deleted before their re-score.
    pub skipped: i64,
    /// Lines or assessments with errors (see `GET /v1/jobs/{id}/errors`).
    pub failed: i64,
    /// Field errors recorded (a line can have several).
    pub error_count: i64,
    /// Why the job failed as a whole, when it did.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the first batch was taken.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Items processed per second since the job started (until it finished); null before.
    pub rate_per_second: Option<f64>,
    /// Estimated seconds until a queued or running job is done, at that rate; null when unknown
    /// or not running.
    pub seconds_left: Option<f64>,
}

impl JobView {
    fn new(row: JobRow, now: DateTime<Utc>) -> Self {
        let elapsed = row.started_at.map(|started| {
            let end = row.finished_at.unwrap_or(now);
            (end - started).num_milliseconds().max(1) as f64 / 1000.0
        });
        let rate = elapsed.filter(|_| row.processed > 0).map(|elapsed| row.processed as f64 / elapsed);
        let seconds_left = rate
            .filter(|rate| *rate > 0.0 && row.state.is_active())
            .map(|rate| ((row.total - row.processed).max(0) as f64 / rate * 10.0).round() / 10.0);
        Self {
            id: row.id,
            kind: row.kind,
            state: row.state,
            parameters: row.parameters,
            total: row.total,
            processed: row.processed,
            created: row.created,
            skipped: row.skipped,
            failed: row.failed,
            error_count: row.error_count,
            failure: row.failure,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            updated_at: row.updated_at,
            rate_per_second: rate.map(|rate| (rate * 10.0).round() / 10.0),
            seconds_left,
        }
    }
}

fn accepted(row: JobRow) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/v1/jobs/{}", row.id)))
        .json(JobView::new(row, Utc::now()))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no job {id}"))
}

/// Import a portfolio
///
/// Stores many submissions at once, as a job: the body is NDJSON (`Content-Type:
/// application/x-ndjson`; one JSON object per line, an `ImportLine`) or CSV (`text/csv`; a header
/// row, then one submission per record). CSV columns: `program`, `program_id`, `program_name`,
/// `assessed_at`, `idempotency_key`, and each profile input by its path, such as
/// `profile.program.indication` or `profile.manufacturing.cells_per_lot`; an empty cell is unknown;
/// a cell holding a JSON number, `true`, `false`, a list (`["a","b"]`) or an object is read as
/// that, any other as text. A header row with an unknown or repeated column, or without a profile
/// column, stores nothing: the job is answered as `failed`, its `failure` and its error (line 1)
/// naming the column.
///
/// The answer, `202` with the job, comes once every line is staged: from then on the lines are
/// validated (each as `POST /v1/assessments` would) and stored in batches by the service's
/// workers; follow `GET /v1/jobs/{id}`. A bad line never blocks the good ones (unless
/// `mode=all_or_nothing`): each is reported by line number, field path and reason in
/// `GET /v1/jobs/{id}/errors`. Programs named by `program` (a key) are created on first use. A
/// batch takes a program's lines together, up to the job batch size (`JOB_BATCH_SIZE`) of them,
/// and a program's next lines only once those are stored, so its lines without `assessed_at` take
/// their places in its history in file order, however many workers share the job (for a program
/// the file names one way throughout: by key, or by id). A line is imported once: the same line again, in this file or any later one, is skipped (by its
/// `idempotency_key`, or else by its content), so sending a file again stores nothing twice. Each
/// line may be as long as a request body (`BODY_LIMIT_BYTES`); the file as long as needed.
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "jobs",
    params(ImportParameters),
    request_body(description = "NDJSON: one `ImportLine` per line (blank lines are skipped). CSV: a header row, then one submission per record.",
        content(
            (String = "application/x-ndjson", example = json!("{\"program\": \"DISC-101\", \"assessed_at\": \"2024-03-31T00:00:00Z\", \"profile\": {\"program\": {\"indication\": \"intervertebral_disc_degeneration\", \"stage\": \"phase2\"}}}\n{\"program\": \"DISC-102\", \"profile\": {\"delivery\": {\"route\": \"intradiscal\"}}}\n")),
            (String = "text/csv", example = json!("program,assessed_at,profile.program.indication,profile.program.stage,profile.delivery.route\nDISC-101,2024-03-31T00:00:00Z,intervertebral_disc_degeneration,phase2,intradiscal\n")),
        )),
    responses(
        (status = 202, description = "Every line is staged and the job queued", body = JobView,
         headers(("Location" = String, description = "URL of the job"))),
        (status = 400, description = "Unknown or invalid query parameter, or an unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither NDJSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; send the file again (lines already imported are skipped)", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The body stalled for longer than the request timeout", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports")]
pub async fn create_import(
    caller: Caller<Write>,
    request: HttpRequest,
    mut payload: web::Payload,
    pool: web::Data<PgPool>,
    limits: web::Data<ImportLimits>,
    wake: web::Data<Wake>,
) -> Result<HttpResponse, ApiError> {
    let parameters: ImportParameters = parse_parameters(&request)?;
    let format = import_format(&request)?;
    let mode = parameters.mode.unwrap_or_default();
    let actor = caller.actor();
    let parameters = serde_json::json!({"format": format, "mode": mode});
    let job = bounded(limits.stall, store::open_upload(&pool, &actor, &parameters)).await?;
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    let staging = {
        let pool = pool.get_ref().clone();
        let limits = **limits;
        tokio::task::spawn_blocking(move || {
            let staging = Staging {
                runtime: &runtime,
                pool: &pool,
                job,
                line_bytes: limits.line_bytes,
                stall: limits.stall,
                group_lines: limits.group_lines,
            };
            staging.stage(ChannelReader { receiver, current: Bytes::new() }, format)
        })
    };
    let mut upload_error = None;
    loop {
        match tokio::time::timeout(limits.stall, payload.next()).await {
            Ok(Some(Ok(chunk))) => {
                // The staging task stopped (its error is read below): the rest is not needed.
                if sender.send(chunk).await.is_err() {
                    break;
                }
            }
            Ok(Some(Err(error))) => {
                upload_error = Some(ApiError::BadRequest(format!("the body could not be read: {error}")));
                break;
            }
            Ok(None) => break,
            Err(_elapsed) => {
                upload_error = Some(ApiError::DeadlineExceeded(limits.stall));
                break;
            }
        }
    }
    drop(sender);
    let staged = staging.await.map_err(|error| ApiError::Internal(Box::new(error)))?;
    // A file whose header row maps onto no lines was received all the same: its job fails at once,
    // naming the column, as a line's errors are named.
    let unreadable_file = match (upload_error, staged) {
        (Some(error), _) => Err(error),
        (None, Err(StageError::Persistence(error))) => Err(error.into()),
        (None, Err(StageError::Header(error))) => Ok(Some(error)),
        (None, Err(StageError::Unreadable(message))) => {
            Ok(Some(FieldError { field: String::new(), message }))
        }
        (None, Ok(())) => Ok(None),
    };
    let unreadable_file = match unreadable_file {
        Ok(unreadable_file) => unreadable_file,
        Err(failure) => {
            if let Err(error) = store::discard_upload(&pool, job).await {
                tracing::warn!(%error, %job, "an upload that failed could not be discarded; housekeeping will");
            }
            return Err(failure);
        }
    };
    if let Some(error) = unreadable_file {
        let reason = format!("the header row cannot be read: {}", error.message);
        let row =
            bounded(limits.stall, store::fail_upload(&pool, &actor, job, &error.field, &reason)).await?;
        return Ok(accepted(row));
    }
    let row = bounded(limits.stall, store::finish_upload(&pool, &actor, job)).await?;
    wake.notify();
    Ok(accepted(row))
}

/// Bounds a write of the upload by `limit`, as the request deadline bounds other requests.
async fn bounded<T>(
    limit: Duration,
    write: impl Future<Output = Result<T, PersistenceError>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(limit, write).await {
        Ok(result) => Ok(result?),
        Err(_elapsed) => Err(ApiError::DeadlineExceeded(limit)),
    }
}

fn import_format(request: &HttpRequest) -> Result<ImportFormat, ApiError> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|media_type| media_type.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media_type.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Ok(ImportFormat::Ndjson),
        "text/csv" => Ok(ImportFormat::Csv),
        _ => Err(ApiError::UnsupportedMediaType(
            "an import is NDJSON (Content-Type: application/x-ndjson) or CSV (Content-Type: text/csv)".into(),
        )),
    }
}

/// Pieces of a body waiting for the staging task at most: this bounds an upload's memory.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The body's pieces as a blocking reader: the staging task reads at its pace, and the handler
/// waits while [`CHUNKS_IN_FLIGHT`] pieces are unread.
struct ChannelReader {
    receiver: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let count = buffer.len().min(self.current.len());
        buffer[..count].copy_from_slice(&self.current[..count]);
        self.current = self.current.slice(count..);
        Ok(count)
    }
}

/// Which assessments a re-score job takes.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Each program's latest assessment (and those filed under no program): the portfolio as it
    /// stands (the default).
    #[default]
    Latest,
    /// Every assessment, histories included.
    All,
}

/// A re-score job's own parameter (the list's filters narrow it further).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RescoreParameters {
    /// `latest` (default): each program's latest assessment; `all`: every assessment.
    #[param(inline)]
    pub selection: Option<Selection>,
}

/// Re-score the portfolio under the current model
///
/// Creates a job that re-scores, under the current model version, the assessments selected:
/// each program's latest (`selection=latest`, the default) or all of them (`selection=all`),
/// narrowed by any filter of `GET /v1/assessments` (`indication`, `created_before`, ...;
/// `latest=true` is `selection=latest`). Assessments already scored by the current version are left out. Each result
/// is stored as a new assessment linked to the one it re-scored (`rescored_from`); the originals
/// are never rewritten. A re-score becomes its program's latest assessment only when the one it
/// re-scored still is: re-scoring older assessments never displaces the latest (one already on the
/// current model, or one submitted while the job runs). The selection is fixed when the job is
/// created. Follow the job at
/// `GET /v1/jobs/{id}`; once it has ended, `GET /v1/rescore-jobs/{id}/report` says what moved.
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "jobs",
    params(RescoreParameters, super::filters::FilterParameters),
    responses(
        (status = 202, description = "The job, queued (or already succeeded when nothing was selected)", body = JobView,
         headers(("Location" = String, description = "URL of the job"))),
        (status = 400, description = "Unknown or invalid query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/rescore-jobs")]
pub async fn create_rescore_job(
    caller: Caller<Write>,
    request: HttpRequest,
    pool: web::Data<PgPool>,
    wake: web::Data<Wake>,
) -> Result<HttpResponse, ApiError> {
    let (filter_parameters, parameters): (_, RescoreParameters) = parse_query(&request)?;
    let selection = parameters.selection.unwrap_or_default();
    // `latest=true`, the list's own way of asking for each program's latest, selects the same.
    let latest_only = matches!(selection, Selection::Latest) || filter_parameters.latest == Some(true);
    let mut filters = filter_parameters.into_filters()?;
    filters.latest_only = latest_only;
    let query: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(request.query_string().as_bytes())
            .filter(|(name, _)| name != "selection")
            .map(|(name, value)| (name.into_owned(), serde_json::Value::String(value.into_owned())))
            .collect();
    let recorded = serde_json::json!({"selection": selection, "filters": query});
    let model_version = Model::current().version();
    let row = store::create_rescore(&pool, &caller.actor(), &filters, model_version, &recorded).await?;
    wake.notify();
    Ok(accepted(row))
}

/// Paging of the job list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListParameters {
    /// `true`: only queued and running jobs.
    pub active: Option<bool>,
    /// Jobs per page, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (a job id): the page holds the jobs created before it.
    pub cursor: Option<Uuid>,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<Uuid>,
}

/// List the organisation's jobs
///
/// Newest first; `active=true` for the queued and running ones only (what the dashboard shows
/// with progress bars).
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "jobs",
    params(JobListParameters),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 400, description = "Unknown or invalid query parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jobs")]
pub async fn list_jobs(
    caller: Caller,
    request: HttpRequest,
    pool: web::Data<PgPool>,
) -> Result<web::Json<JobPage>, ApiError> {
    let parameters: JobListParameters = parse_parameters(&request)?;
    let limit = match parameters.limit {
        None => 20,
        Some(limit @ 1..=100) => limit,
        Some(limit) => {
            return Err(ApiError::InvalidParameter {
                parameter: "limit".into(),
                message: format!("must be between 1 and 100, not {limit}"),
            });
        }
    };
    let mut rows = store::list(
        &pool,
        caller.organisation,
        parameters.active.unwrap_or(false),
        parameters.cursor,
        limit + 1,
    )
    .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|row| row.id)
    } else {
        None
    };
    let now = Utc::now();
    Ok(web::Json(JobPage {
        items: rows.into_iter().map(|row| JobView::new(row, now)).collect(),
        next_cursor,
    }))
}

/// Get a job
///
/// State, progress (`processed` of `total`), what was stored, skipped and failed, the rate and
/// the estimated time left. Another organisation's job is not found (404).
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jobs/{id}")]
pub async fn get_job(
    caller: Caller,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<JobView>, ApiError> {
    let row = store::fetch(&pool, caller.organisation, *id).await?.ok_or_else(|| not_found(*id))?;
    Ok(web::Json(JobView::new(row, Utc::now())))
}

/// Paging of a job's errors.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ErrorListParameters {
    /// Errors per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(minimum = 0)]
    pub cursor: Option<i64>,
}

/// One invalid field of a line (an import) or an assessment (a re-score).
#[derive(Debug, Serialize, ToSchema)]
pub struct JobError {
    /// The line number in the file (CSV: the line its record starts on); for a re-score, the
    /// item's place in the job.
    pub line: i64,
    /// The assessment a re-score could not re-score.
    pub assessment_id: Option<Uuid>,
    /// The field's full path in the line (`profile.delivery.route`); empty for the line as a whole.
    pub field: String,
    /// Why, in plain words.
    pub message: String,
}

/// A page of a job's errors, in the order they were found.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobErrorPage {
    pub items: Vec<JobError>,
    /// Pass as `cursor` for the next page; null on the last page so far (a running job may add more).
    pub next_cursor: Option<i64>,
}

/// List a job's errors
///
/// Every invalid field of every bad line, with its line number, path and reason, in the order
/// found (batches run in parallel, so roughly in line order); the list grows while the job runs.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id"), ErrorListParameters),
    responses(
        (status = 200, description = "A page of errors", body = JobErrorPage),
        (status = 400, description = "Unknown or invalid query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jobs/{id}/errors")]
pub async fn job_errors(
    caller: Caller,
    request: HttpRequest,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<JobErrorPage>, ApiError> {
    let parameters: ErrorListParameters = parse_parameters(&request)?;
    let limit = match parameters.limit {
        None => 100,
        Some(limit @ 1..=500) => limit,
        Some(limit) => {
            return Err(ApiError::InvalidParameter {
                parameter: "limit".into(),
                message: format!("must be between 1 and 500, not {limit}"),
            });
        }
    };
    if let Some(cursor) = parameters.cursor.filter(|cursor| *cursor < 0) {
        return Err(ApiError::InvalidParameter {
            parameter: "cursor".into(),
            message: format!("must be 0 or more, not {cursor}"),
        });
    }
    let rows = store::errors(&pool, caller.organisation, *id, parameters.cursor, limit + 1)
        .await?
        .ok_or_else(|| not_found(*id))?;
    let next_cursor = (rows.len() > limit as usize).then(|| rows[limit as usize - 1].id);
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| JobError {
            line: row.error.position,
            assessment_id: row.error.source_id,
            field: row.error.field,
            message: row.error.message,
        })
        .collect();
    Ok(web::Json(JobErrorPage { items, next_cursor }))
}

/// Cancel a job
///
/// A queued or running job stops taking batches: a batch under way completes, and what was done
/// stays done (see the counts). `POST .../cancel` rather than `DELETE`: the job, its counts,
/// errors and report remain readable. Cancelling a job that has ended is a 409.
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job, cancelled", body = JobView),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job has already ended", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/jobs/{id}/cancel")]
pub async fn cancel_job(
    caller: Caller<Write>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<JobView>, ApiError> {
    match store::cancel(&pool, &caller.actor(), *id).await? {
        Cancellation::Cancelled(row) => Ok(web::Json(JobView::new(row, Utc::now()))),
        Cancellation::AlreadyEnded(state) => Err(ApiError::Conflict(format!(
            "job {id} has already ended ({}); only a queued or running job can be cancelled",
            serde_json::to_value(state)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default()
        ))),
        Cancellation::NotFound => Err(not_found(*id)),
    }
}

/// The format of a report.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

/// The format of the report; without it, the `Accept` header decides (`text/csv` for CSV).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParameters {
    /// `json` or `csv`; overrides `Accept`.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

const REPORT_DESCRIPTION: &str = "The report: JSON (`UpgradeReport`), or CSV: a header row, then one row per changed assessment (`section` `changed`: \
overall index before and after, level and limiting barrier before and after), per mover (`mover`: the \
barrier in `score`, its score before and after, the factors behind the change as `<code> <+/-points>` \
separated by `; `) and per bin of each score's distribution (`distribution`: the bin's bounds in `from` \
and `to`, empty where open, and its `count`). Columns: section, score, program_id, program_key, \
original_id, rescored_id, from, to, change, from_level, to_level, from_limiting_barrier, \
to_limiting_barrier, factors, count. RFC 4180 quoting.";

/// The model-upgrade report of a re-score job
///
/// What the re-score changed: the assessments whose readiness level or limiting barrier changed;
/// for each barrier the largest movers (up to 5) with the factors behind each change (from
/// comparing the two results factor by factor); and the distribution of the changes of the
/// overall index and each barrier. Ready once the job has ended (a cancelled job's report covers
/// what was re-scored). JSON, or CSV with `format=csv` or `Accept: text/csv`.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Re-score job id"), ReportParameters),
    responses(
        (status = 200, description = REPORT_DESCRIPTION, content(
            (UpgradeReport = "application/json"),
            (String = "text/csv", example = json!("section,score,program_id,program_key,original_id,rescored_id,from,to,change,from_level,to_level,from_limiting_barrier,to_limiting_barrier,factors,count\r\n")),
        )),
        (status = 400, description = "Unknown or invalid query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such re-score job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job has not ended yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/rescore-jobs/{id}/report")]
pub async fn rescore_report(
    caller: Caller,
    request: HttpRequest,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let parameters: ReportParameters = parse_parameters(&request)?;
    let wants_csv = match parameters.format {
        Some(format) => format == ReportFormat::Csv,
        None => request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.split(',').any(|item| item.trim().starts_with("text/csv"))),
    };
    let job = store::fetch(&pool, caller.organisation, *id)
        .await?
        .filter(|job| job.kind == JobKind::Rescore)
        .ok_or_else(|| not_found(*id))?;
    if job.state.is_active() {
        return Err(ApiError::Conflict(format!(
            "job {id} is still running ({} of {} done); the report is ready when it ends",
            job.processed, job.total
        )));
    }
    let upgrade = build_report(&pool, caller.organisation, job.id).await?;
    if !wants_csv {
        return Ok(HttpResponse::Ok().json(upgrade));
    }
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let internal = |error: csv::Error| ApiError::Internal(Box::new(error));
    writer.write_record(report::CSV_COLUMNS).map_err(internal)?;
    for row in report::csv_rows(&upgrade) {
        writer.write_record(row).map_err(internal)?;
    }
    let body = writer.into_inner().map_err(|error| ApiError::Internal(Box::new(error.into_error())))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8; header=present"),
        ))
        .body(body))
}

async fn build_report(
    pool: &PgPool,
    organisation: OrganisationId,
    job: Uuid,
) -> Result<UpgradeReport, ApiError> {
    let pairs = store::rescore_pairs(pool, organisation, job).await?;
    // The factors behind the largest moves: both results of each mover, compared.
    let mut comparisons = std::collections::HashMap::new();
    for (_, indices) in report::largest_movers(&pairs) {
        for index in indices {
            if comparisons.contains_key(&index) {
                continue;
            }
            let pair = &pairs[index];
            let from = assessment_store::fetch(pool, organisation, pair.original_id).await?;
            let to = assessment_store::fetch(pool, organisation, pair.rescored_id).await?;
            let compared = from.zip(to).and_then(|(from, to)| {
                let from_result =
                    serde_json::from_value::<Assessment>(from.result.into_value().ok()?).ok()?;
                let to_result = serde_json::from_value::<Assessment>(to.result.into_value().ok()?).ok()?;
                Some(comparison::compare(&from_result, &from.profile, &to_result, &to.profile))
            });
            comparisons.insert(index, compared);
        }
    }
    Ok(report::report(job, &pairs, |barrier, index| {
        let compared = comparisons.get_mut(&index)?.as_mut()?;
        let position = compared.barriers.iter().position(|line| line.barrier == barrier)?;
        Some(compared.barriers.swap_remove(position))
    }))
}
