//! Assessments: score a program profile (and store it), read, list, compare, re-score, delete.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::{Caller, Write};
use super::evidence_form::{EvidenceForm, EvidenceParameter, ok_with_results, write_body};
use super::filters::{FilterParameters, parse_query};
use super::json_body;
use super::problem::{ApiError, Problem};
use crate::comparison::{self, Comparison};
use crate::persistence::OrganisationId;
use crate::persistence::assessments::{
    self as store, AssessmentRow, Cursor, Filters, IdempotencyKey, ListRequest, NewAssessment, SortKey,
    StoredAssessment, StoredResult, Submission, SubmissionError,
};
use crate::persistence::group_commit::GroupCommit;
use crate::persistence::replica::ReadPools;
use crate::scoring::{Assessment, Barrier, Model, Profile, parse_profile};

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const PREFER: HeaderName = HeaderName::from_static("prefer");
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// A program profile to score and store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = request_example)]
pub struct AssessmentSubmission {
    /// Adds the assessment to this program's history (create the program with `POST /v1/programs`).
    pub program_id: Option<Uuid>,
    /// The program profile. Every input may be omitted, meaning unknown.
    pub profile: Profile,
}

/// A program profile to score without storing (what-if).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = request_example)]
pub struct ScoreRequest {
    /// The program profile. Every input may be omitted, meaning unknown.
    pub profile: Profile,
}

/// The early academic disc program of the reference set in profile version 1, which stays
/// accepted: a realistic profile that works as sent.
fn example_profile() -> serde_json::Value {
    crate::scoring::REFERENCE_PROGRAMS_V1
        .iter()
        .find(|(name, _)| *name == "disc_early_academic")
        .and_then(|(_, json)| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// The worked request examples of both scoring endpoints, in profile version 2; they score as sent
/// (tests/api/openapi.rs). The two real records come from the back-test (validation/cases).
const EARLY_ACADEMIC: &str = include_str!("examples/early_academic.json");
const APPROVED_PRODUCT: &str = include_str!("examples/approved_product.json");
const AFTER_FAILED_PIVOTAL: &str = include_str!("examples/after_failed_pivotal.json");

fn worked_example(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap_or_default()
}

/// The example request of both scoring endpoints.
fn request_example() -> serde_json::Value {
    serde_json::json!({ "profile": example_profile() })
}

/// A stored assessment: the profile as submitted and the full explained result.
#[derive(Serialize, ToSchema)]
pub struct AssessmentRecord {
    /// Assessment id (UUIDv7, time-ordered).
    pub id: Uuid,
    /// The program whose history it belongs to, if any.
    pub program_id: Option<Uuid>,
    /// The assessment this one re-scored under a newer model version, if any.
    pub rescored_from: Option<Uuid>,
    /// The model version that produced the result; the result stays as that version computed it.
    pub model_version: String,
    pub created_at: DateTime<Utc>,
    /// The profile exactly as submitted (after validation).
    #[schema(value_type = Profile)]
    pub profile: serde_json::Value,
    /// The full result.
    #[schema(value_type = Assessment)]
    pub result: StoredResult,
}

impl From<StoredAssessment> for AssessmentRecord {
    fn from(stored: StoredAssessment) -> Self {
        Self {
            id: stored.id,
            program_id: stored.program_id,
            rescored_from: stored.rescored_from,
            model_version: stored.model_version,
            created_at: stored.created_at,
            profile: stored.profile,
            result: stored.result,
        }
    }
}

/// A stored assessment in full, or its summary (the row a list shows).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AssessmentView {
    Full(AssessmentRecord),
    Summary(Box<AssessmentSummary>),
}

/// How much of the stored assessment a response carries.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Ids, classification, overall index, level, the seven barrier scores: the list's row.
    Summary,
    /// The profile and the full explained result too (the default).
    #[default]
    Full,
}

/// Whether the request asks for `return=minimal` (RFC 7240 §4.2). Preferences are
/// comma-separated, possibly over several `Prefer` headers; names are case-insensitive and
/// parameters after `;` are ignored. A later `return` preference does not override an earlier one:
/// the RFC leaves duplicates to the server, and the first is the one honoured here.
fn prefers_minimal(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(PREFER)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|preference| {
            let token = preference.split(';').next().unwrap_or_default().trim();
            let (name, value) = token.split_once('=').unwrap_or((token, ""));
            name.trim().eq_ignore_ascii_case("return").then(|| value.trim().trim_matches('"').to_owned())
        })
        .is_some_and(|value| value.eq_ignore_ascii_case("minimal"))
}

/// The 201 of a write: the full record (its evidence in `evidence` form), or the summary when the
/// client prefers `return=minimal`.
fn created(
    request: &HttpRequest,
    stored: StoredAssessment,
    replayed: bool,
    evidence: EvidenceForm,
) -> Result<HttpResponse, ApiError> {
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/v1/assessments/{}", stored.id)));
    if replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, HeaderValue::from_static("true")));
    }
    if prefers_minimal(request) {
        response.insert_header((PREFERENCE_APPLIED, HeaderValue::from_static("return=minimal")));
        Ok(response.json(AssessmentSummary::from(stored.listed)))
    } else {
        let mut record = AssessmentRecord::from(stored);
        record.result = evidence.shape(record.result)?;
        Ok(response.content_type(header::ContentType::json()).body(write_body(&record)?))
    }
}

/// Score a profile without storing it
///
/// The same scoring as `POST /v1/assessments`, for what-if questions: nothing is stored.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "assessments",
    params(EvidenceParameter),
    request_body(content = ScoreRequest, content_type = "application/json", examples(
        ("early_academic_v1" = (summary = "Early academic program (profile version 1, still accepted)", description = "The same program in profile version 1, converted to version 2 before scoring.", value = json!(request_example()))),
        ("early_academic_v2" = (summary = "Early academic program (profile version 2)", description = "The early academic disc reference program (research §11, program A): an investigator-led Phase 1/2, research-grade process.", value = json!(worked_example(EARLY_ACADEMIC)))),
        ("approved_product_v2" = (summary = "Approved product (profile version 2, real record)", description = "An allogeneic bone-marrow MSC product for acute GVHD as approved in Japan on 2015-09-18 (its name is in program.name), from its public record with sources: two single-arm trials and the approval.", value = json!(worked_example(APPROVED_PRODUCT)))),
        ("after_failed_pivotal_v2" = (summary = "After a failed pivotal trial (profile version 2, real record)", description = "An autologous MSC product for ALS (its name is in program.name) at the FDA filing decision of November 2022, after its Phase 3 missed the primary endpoint, from its public record with sources.", value = json!(worked_example(AFTER_FAILED_PIVOTAL)))),
    )),
    responses(
        (status = 200, description = "The explained assessment", body = Assessment),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid profile: every invalid field is named, with its path and the reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/score")]
pub async fn score(
    _caller: Caller,
    request: HttpRequest,
    parameters: web::Query<EvidenceParameter>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let score_request = json_body::parse_not_kept(&request, &body, |parsed: &ScoreRequest, json| {
        json_body::reject_arrays_read_as_objects("profile", &json["profile"], &parsed.profile)
    })?;
    let assessment = Model::current().assess(&score_request.profile);
    let body = parameters.form().write(&assessment)?;
    Ok(HttpResponse::Ok().content_type(header::ContentType::json()).body(body))
}

/// Score a profile and store the assessment
///
/// Scores the profile under the current model version and stores the profile and the result.
/// Send an `Idempotency-Key` to make retries safe: a retry with the same key and the same body
/// returns the stored assessment (header `Idempotent-Replayed: true`) instead of storing another;
/// the same key with a different body is refused with 422; while the first request with a key is
/// still running, others get 409. Keys are remembered for 48 hours.
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "assessments",
    params(("Idempotency-Key" = Option<String>, Header, description = "Client-chosen unique key (1-255 printable ASCII characters) that makes retries safe",
            min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$"),
           ("Prefer" = Option<String>, Header, description = "`return=minimal` (RFC 7240): answer 201 with the summary of the stored assessment (the row a list shows) instead of the full record, and `Preference-Applied: return=minimal`; `return=representation` or no preference: the full record", example = "return=minimal"),
           EvidenceParameter),
    request_body(content = AssessmentSubmission, content_type = "application/json", examples(
        ("early_academic_v1" = (summary = "Early academic program (profile version 1, still accepted)", description = "The same program in profile version 1, converted to version 2 before scoring.", value = json!(request_example()))),
        ("early_academic_v2" = (summary = "Early academic program (profile version 2)", description = "The early academic disc reference program (research §11, program A): an investigator-led Phase 1/2, research-grade process.", value = json!(worked_example(EARLY_ACADEMIC)))),
        ("approved_product_v2" = (summary = "Approved product (profile version 2, real record)", description = "An allogeneic bone-marrow MSC product for acute GVHD as approved in Japan on 2015-09-18 (its name is in program.name), from its public record with sources: two single-arm trials and the approval.", value = json!(worked_example(APPROVED_PRODUCT)))),
        ("after_failed_pivotal_v2" = (summary = "After a failed pivotal trial (profile version 2, real record)", description = "An autologous MSC product for ALS (its name is in program.name) at the FDA filing decision of November 2022, after its Phase 3 missed the primary endpoint, from its public record with sources.", value = json!(worked_example(AFTER_FAILED_PIVOTAL)))),
    )),
    responses(
        (status = 201, description = "Stored (or replayed for a repeated Idempotency-Key): the full record, or its summary with `Prefer: return=minimal`", body = AssessmentView,
         headers(("Location" = String, description = "URL of the stored assessment"),
                 ("Preference-Applied" = String, description = "`return=minimal` when the summary was returned as the `Prefer` header asked"),
                 ("Idempotent-Replayed" = String, description = "`true` when this is the stored response of an earlier request with the same key")),
         // The operations a client follows with the new id (schemathesis's stateful phase too).
         links(
             ("GetAssessment" = (operation_id = "get_assessment", parameters(("id" = "$response.body#/id")))),
             ("AssessmentChart" = (operation_id = "assessment_chart", parameters(("id" = "$response.body#/id")))),
             ("RescoreAssessment" = (operation_id = "rescore_assessment", parameters(("id" = "$response.body#/id")))),
             ("DeleteAssessment" = (operation_id = "delete_assessment", parameters(("id" = "$response.body#/id")))),
         )),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with the same Idempotency-Key is in progress", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No program with this `program_id`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid profile (every invalid field is named, with its path and the reason), or Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry with the same Idempotency-Key", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/assessments")]
pub async fn create_assessment(
    caller: Caller<Write>,
    request: HttpRequest,
    parameters: web::Query<EvidenceParameter>,
    body: web::Bytes,
    groups: web::Data<GroupCommit>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request)?;
    let (submission, json) = json_body::parse::<AssessmentSubmission>(&request, &body)?;
    json_body::reject_arrays_read_as_objects("profile", &json["profile"], &submission.profile)?;
    let result = Model::current().assess(&submission.profile);
    let new = NewAssessment {
        program_id: submission.program_id,
        rescored_from: None,
        profile_json: &json["profile"],
        profile: &submission.profile,
        result: &result,
    };
    let idempotency = key.as_deref().map(|key| IdempotencyKey { key, request: &json });
    match store::submit(&groups, &caller.actor(), new, idempotency).await {
        Ok(Submission::Created(stored)) => created(&request, stored.scored(result), false, parameters.form()),
        Ok(Submission::Replayed(stored)) => created(&request, stored, true, parameters.form()),
        Err(SubmissionError::KeyInFlight) => Err(ApiError::IdempotencyKeyInFlight),
        Err(SubmissionError::KeyReused) => Err(ApiError::IdempotencyKeyReused),
        Err(SubmissionError::ReplayTargetDeleted) => Err(ApiError::Conflict(
            "the assessment created with this Idempotency-Key has since been deleted".into(),
        )),
        // A 404, as for any reference to a resource that does not exist: the request is well formed.
        Err(SubmissionError::ProgramNotFound) => Err(ApiError::NotFound(format!(
            "program_id: no program {}",
            submission.program_id.map(|id| id.to_string()).unwrap_or_default()
        ))),
        Err(SubmissionError::Persistence(error)) => Err(error.into()),
    }
}

fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()))
        .map(|key| Some(key.to_owned()))
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1-255 printable ASCII characters".into())
        })
}

/// What `GET /v1/assessments/{id}` returns.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GetParameters {
    /// `full` (default): the profile and the full explained result; `summary`: the row a list
    /// shows (scores and classification), without reading profile or result.
    pub detail: Option<Detail>,
    /// With `detail=full`: `full` (default) writes every citation in full; `ids` writes each as
    /// its claim id only, resolved with `GET /v1/model/evidence/{id}`.
    pub evidence: Option<EvidenceForm>,
}

/// Get one stored assessment
///
/// The stored result reads back exactly as it was first returned, under the model version that
/// produced it. `detail=summary` returns only what a list row shows.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id"), GetParameters),
    responses(
        (status = 200, description = "The assessment with its profile and full result (`detail=full`, the default), or its summary (`detail=summary`)", body = AssessmentView),
        (status = 400, description = "Invalid or unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assessment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assessments/{id}")]
pub async fn get_assessment(
    caller: Caller,
    id: web::Path<Uuid>,
    parameters: web::Query<GetParameters>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    match parameters.detail.unwrap_or_default() {
        Detail::Full => {
            let mut record = AssessmentRecord::from(find(&pool, caller.organisation, *id).await?);
            record.result = parameters.evidence.unwrap_or_default().shape(record.result)?;
            ok_with_results(&AssessmentView::Full(record))
        }
        Detail::Summary => {
            let listed =
                store::fetch_listed(&pool, caller.organisation, *id).await?.ok_or_else(|| not_found(*id))?;
            Ok(HttpResponse::Ok().json(AssessmentView::Summary(Box::new(listed.into()))))
        }
    }
}

async fn find(pool: &PgPool, organisation: OrganisationId, id: Uuid) -> Result<StoredAssessment, ApiError> {
    store::fetch(pool, organisation, id).await?.ok_or_else(|| not_found(id))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no assessment {id}"))
}

/// Delete an assessment
///
/// Removes the assessment (a sponsor may withdraw data). Assessments re-scored from it stay, with
/// `rescored_from` cleared.
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such assessment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/assessments/{id}")]
pub async fn delete_assessment(
    caller: Caller<Write>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    if store::delete(&pool, &caller.actor(), *id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found(*id))
    }
}

/// Re-score a stored assessment under the current model
///
/// Scores the stored profile under the current model version and stores the result as a new
/// assessment linked to the original (`rescored_from`). The original is never rewritten: a stored
/// score stays reproducible under the model version it names.
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment to re-score"),
           ("Prefer" = Option<String>, Header, description = "`return=minimal` (RFC 7240): answer 201 with the summary of the stored assessment (the row a list shows) instead of the full record, and `Preference-Applied: return=minimal`; `return=representation` or no preference: the full record", example = "return=minimal"),
           EvidenceParameter),
    responses(
        (status = 201, description = "The new assessment: the full record, or its summary with `Prefer: return=minimal`", body = AssessmentView,
         headers(("Location" = String, description = "URL of the new assessment"),
                 ("Preference-Applied" = String, description = "`return=minimal` when the summary was returned as the `Prefer` header asked")),
         links(("CompareWithOriginal" = (operation_id = "compare_assessments",
                parameters(("a" = "$request.path.id"), ("b" = "$response.body#/id")))))),
        (status = 400, description = "Invalid or unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assessment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stored profile is not valid under the current model version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/assessments/{id}/rescore")]
pub async fn rescore_assessment(
    caller: Caller<Write>,
    request: HttpRequest,
    id: web::Path<Uuid>,
    parameters: web::Query<EvidenceParameter>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let original = find(&pool, caller.organisation, *id).await?;
    let profile = parse_profile(original.profile.to_string().as_bytes()).map_err(|error| {
        ApiError::Conflict(format!(
            "the stored profile is not valid under model version {}: {error}",
            Model::current().version()
        ))
    })?;
    let result = Model::current().assess(&profile);
    let new = NewAssessment {
        program_id: original.program_id,
        rescored_from: Some(original.id),
        profile_json: &original.profile,
        profile: &profile,
        result: &result,
    };
    let stored = store::insert_rescored(&pool, &caller.actor(), new).await?;
    created(&request, stored.scored(result), false, parameters.form())
}

/// Compare two assessments
///
/// Barrier-by-barrier and factor-by-factor differences (`b` minus `a`), and for each changed factor
/// the changed inputs it reads: the likely cause.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "assessments",
    params(("a" = Uuid, Path, description = "The earlier (reference) assessment"), ("b" = Uuid, Path, description = "The assessment compared with it")),
    responses(
        (status = 200, description = "The differences", body = Comparison),
        (status = 404, description = "No such assessment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A stored result is of a model version this service cannot read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assessments/{a}/compare/{b}")]
pub async fn compare_assessments(
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<Comparison>, ApiError> {
    let (a, b) = path.into_inner();
    let mut from = find(&pool, caller.organisation, a).await?;
    let mut to = find(&pool, caller.organisation, b).await?;
    let result = |stored: &mut StoredAssessment| {
        let value = std::mem::take(&mut stored.result).into_value()?;
        serde_json::from_value::<Assessment>(value).map_err(|_| {
            ApiError::Conflict(format!(
                "assessment {} was scored by model version {}, whose results this service cannot compare; re-score it first",
                stored.id, stored.model_version
            ))
        })
    };
    let (from_result, to_result) = (result(&mut from)?, result(&mut to)?);
    Ok(web::Json(comparison::compare(&from_result, &from.profile, &to_result, &to.profile)))
}

/// Sort orders of the assessment list. Sorted by a barrier's score, the assessments with nothing
/// known about that barrier (score null) come last in both directions, by id.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Overall readiness index.
    OverallIndex,
    Survival,
    Retention,
    Variability,
    Scalability,
    Safety,
    Outcomes,
    Regulatory,
}

impl From<SortBy> for SortKey {
    fn from(sort: SortBy) -> Self {
        match sort {
            SortBy::CreatedAt => Self::CreatedAt,
            SortBy::OverallIndex => Self::OverallIndex,
            SortBy::Survival => Self::Barrier(Barrier::Survival),
            SortBy::Retention => Self::Barrier(Barrier::Retention),
            SortBy::Variability => Self::Barrier(Barrier::Variability),
            SortBy::Scalability => Self::Barrier(Barrier::Scalability),
            SortBy::Safety => Self::Barrier(Barrier::Safety),
            SortBy::Outcomes => Self::Barrier(Barrier::Outcomes),
            SortBy::Regulatory => Self::Barrier(Barrier::Regulatory),
        }
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    /// Newest / highest first (the default).
    #[default]
    Desc,
}

/// How much of each assessment a list returns.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Ids, classification, overall index, level, the seven barrier scores.
    #[default]
    Summary,
    /// The summary plus the profile and the full result; at most 50 rows a page.
    Full,
}

/// Order and page of the assessment list (its filters are [`FilterParameters`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParameters {
    /// Sort key (default `created_at`). By a barrier's score, unknown (null) scores come last in
    /// both directions.
    pub sort: Option<SortBy>,
    /// Sort direction (default `desc`).
    pub order: Option<Order>,
    /// Rows per page, 1-500 (default 50). A `view=full` page holds at most 50 rows whatever the
    /// limit (each carries a full result); its `next_cursor` continues where it stops.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where the page starts: pass the `next_cursor` of the previous page. A cursor is a position,
    /// `<value>~<id>`: the sort value and id of the last row seen; the page holds the rows after
    /// it in the requested sort and order. The value is a decimal: the score for a score sort; for
    /// `created_at`, the creation time in seconds since 1970-01-01T00:00:00Z (microseconds: finer
    /// digits are ignored). In a barrier sort the value may also be `null`: a position among the
    /// barriers' unknown scores, which come last (the `next_cursor` of a page ending there says
    /// so); in the other sorts, whose values are never null, `null` is past every row. Every
    /// other string of this form is a position: one beyond either end of the list gives an empty
    /// or a full page.
    #[param(
        pattern = r"^(-?[0-9]{1,15}(\.[0-9]{1,17})?|null)~[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub cursor: Option<String>,
    /// `summary` (default) or `full` (adds profile and result; much larger, at most 50 rows a page).
    pub view: Option<View>,
    /// With `view=full`: `full` (default) writes every citation in full; `ids` writes each as its
    /// claim id only, resolved with `GET /v1/model/evidence/{id}`.
    pub evidence: Option<EvidenceForm>,
}

/// The seven barrier scores, 0-100. A score is null when nothing is known about the barrier
/// (its band is `unknown`): no score, rather than a 0 that would read as the worst score.
#[derive(Serialize, ToSchema)]
pub struct BarrierScores {
    #[schema(required = true)]
    pub survival: Option<f64>,
    #[schema(required = true)]
    pub retention: Option<f64>,
    #[schema(required = true)]
    pub variability: Option<f64>,
    #[schema(required = true)]
    pub scalability: Option<f64>,
    #[schema(required = true)]
    pub safety: Option<f64>,
    #[schema(required = true)]
    pub outcomes: Option<f64>,
    #[schema(required = true)]
    pub regulatory: Option<f64>,
}

impl From<&AssessmentRow> for BarrierScores {
    fn from(row: &AssessmentRow) -> Self {
        Self {
            survival: row.survival,
            retention: row.retention,
            variability: row.variability,
            scalability: row.scalability,
            safety: row.safety,
            outcomes: row.outcomes,
            regulatory: row.regulatory,
        }
    }
}

/// One row of the assessment list.
#[derive(Serialize, ToSchema)]
pub struct AssessmentSummary {
    pub id: Uuid,
    pub program_id: Option<Uuid>,
    /// The program's own key (such as `DISC-101`); absent for an assessment filed under no program.
    pub program_key: Option<String>,
    /// The program's name; absent for an assessment filed under no program.
    pub program_name: Option<String>,
    pub rescored_from: Option<Uuid>,
    pub model_version: String,
    pub indication: Option<String>,
    pub stage: Option<String>,
    pub tissue_source: Option<String>,
    pub route: Option<String>,
    /// Overall readiness index, 0-100.
    pub overall_index: f64,
    /// MSC-TRL readiness level (1-9); absent when level 1 is not met (MSC-TRL 0).
    pub readiness_level: Option<i16>,
    pub limiting_barrier: String,
    pub scores: BarrierScores,
    pub created_at: DateTime<Utc>,
    /// With `view=full` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Profile>)]
    pub profile: Option<serde_json::Value>,
    /// With `view=full` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Assessment>)]
    pub result: Option<StoredResult>,
}

impl From<AssessmentRow> for AssessmentSummary {
    fn from(row: AssessmentRow) -> Self {
        let scores = BarrierScores::from(&row);
        Self {
            id: row.id,
            program_id: row.program_id,
            program_key: row.program_key,
            program_name: row.program_name,
            rescored_from: row.rescored_from,
            model_version: row.model_version,
            indication: row.indication,
            stage: row.stage,
            tissue_source: row.tissue_source,
            route: row.route,
            overall_index: row.overall_index,
            readiness_level: row.readiness_level,
            limiting_barrier: row.limiting_barrier,
            scores,
            created_at: row.created_at,
            profile: row.profile,
            result: row.result,
        }
    }
}

/// A page of assessments.
#[derive(Serialize, ToSchema)]
pub struct AssessmentPage {
    pub items: Vec<AssessmentSummary>,
    /// Pass as `cursor` (with the same sort and order) for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;
/// Most assessments a `view=full` page holds: each carries its profile and full result (tens of
/// kilobytes), so a page is built in memory within a few megabytes whatever `limit` asks.
pub const MAX_FULL_PAGE_SIZE: u32 = 50;

/// Checks a page size against its bounds (out of range is an error, never silently clamped).
pub fn page_size(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => Ok(limit),
        Some(limit) => Err(ApiError::InvalidParameter {
            parameter: "limit".into(),
            message: format!("must be between 1 and {MAX_PAGE_SIZE}, not {limit}"),
        }),
    }
}

/// Reads a `cursor` parameter for a list sorted by `sort`; one not of the documented form is a 400.
pub fn cursor(text: Option<&str>, sort: SortKey) -> Result<Option<Cursor>, ApiError> {
    text.map(|text| {
        Cursor::decode(text, sort).map_err(|error| ApiError::InvalidParameter {
            parameter: "cursor".into(),
            message: error.to_string(),
        })
    })
    .transpose()
}

impl ListParameters {
    fn into_request(self, filters: Filters) -> Result<ListRequest, ApiError> {
        let sort = SortKey::from(self.sort.unwrap_or_default());
        let descending = matches!(self.order.unwrap_or_default(), Order::Desc);
        let full = self.view.unwrap_or_default() == View::Full;
        let limit = page_size(self.limit, DEFAULT_PAGE_SIZE)?;
        Ok(ListRequest {
            filters,
            sort,
            descending,
            limit: if full { limit.min(MAX_FULL_PAGE_SIZE) } else { limit },
            after: cursor(self.cursor.as_deref(), sort)?,
            full,
        })
    }
}

/// List assessments
///
/// For dashboards: filter, sort, and page through the stored assessments with a cursor. Summary rows
/// by default; `view=full` adds each profile and full result. The page is compressed (brotli, zstd
/// or gzip) when the request's `Accept-Encoding` allows: a `view=full` page of 50 is about 4 MB of
/// JSON, mostly texts repeated from one result to the next.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "assessments",
    params(FilterParameters, ListParameters),
    responses(
        (status = 200, description = "A page of assessments", body = AssessmentPage),
        (status = 400, description = "Invalid parameter or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
// Compressed here only: the one response that is megabytes of repetitive JSON. Exports stream
// their own bodies, /metrics, the dashboard and every other route answer as before; request bodies
// stay refused when compressed (`content_coding`).
#[get("/assessments", wrap = "actix_web::middleware::Compress::default()")]
pub async fn list_assessments(
    caller: Caller,
    request: HttpRequest,
    reads: web::Data<ReadPools>,
) -> Result<HttpResponse, ApiError> {
    let (filters, parameters) = parse_query::<ListParameters>(&request)?;
    let evidence = parameters.evidence.unwrap_or_default();
    let request = parameters.into_request(filters.into_filters()?)?;
    let page = reads.read(async |pool| store::list(pool, caller.organisation, &request).await).await?;
    ok_with_results(&AssessmentPage {
        items: page
            .rows
            .into_iter()
            .map(|mut row| {
                row.result = row.result.map(|result| evidence.shape(result)).transpose()?;
                Ok(AssessmentSummary::from(row))
            })
            .collect::<Result<_, ApiError>>()?,
        next_cursor: page.next.map(|cursor| cursor.encode()),
    })
}
