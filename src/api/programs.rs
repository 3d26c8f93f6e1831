//! Programs: named development programs, and each program's assessment history (the trend a
//! dashboard plots).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::scoring::forbidden_characters;

use super::assessments::{AssessmentSummary, DEFAULT_PAGE_SIZE, cursor, page_size};
use super::caller::{Caller, Write};
use super::json_body;
use super::problem::{ApiError, Problem};
use crate::persistence::assessments::{self as assessment_store, SortKey};
use crate::persistence::programs::{self as store, CreateProgramError, ProgramRow};
use crate::persistence::replica::ReadPools;

/// A program's own short identifier: 1-64 letters, digits, `.`, `_` or `-`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "DISC-101", pattern = "^[A-Za-z0-9._-]{1,64}$")]
pub struct ProgramKey(String);

impl ProgramKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProgramKey {
    type Error = String;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        let valid = (1..=64).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if valid { Ok(Self(key)) } else { Err("must be 1-64 letters, digits, `.`, `_` or `-`".into()) }
    }
}

/// Free text of bounded length, without control characters.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let length = text.chars().count();
        if text.trim().is_empty() || length > MAX {
            Err(format!("must be 1-{MAX} characters, not blank"))
        } else if let Some(reason) = forbidden_characters(&text) {
            Err(reason.into())
        } else {
            Ok(Self(text))
        }
    }
}

/// A program to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "DISC-101", "name": "Allogeneic BM-MSC in HA carrier for discogenic back pain", "description": "Phase 2 program"}))]
pub struct NewProgram {
    /// Unique within the organisation.
    pub key: ProgramKey,
    /// Up to 200 characters, not blank, no control characters or bidirectional controls (Unicode categories Cc; U+202A-U+202E, U+2066-U+2069).
    #[schema(value_type = String, example = "Allogeneic BM-MSC in HA carrier for discogenic back pain",
             min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$")]
    pub name: Text<200>,
    /// Up to 2000 characters, not blank, no control characters or bidirectional controls.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$")]
    pub description: Option<Text<2000>>,
}

/// A program.
#[derive(Serialize, ToSchema)]
pub struct Program {
    pub id: Uuid,
    #[schema(example = "DISC-101")]
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Number of stored assessments of the program.
    pub assessment_count: i64,
    /// When the latest one was stored.
    pub latest_assessment_at: Option<DateTime<Utc>>,
}

impl From<ProgramRow> for Program {
    fn from(row: ProgramRow) -> Self {
        Self {
            id: row.id,
            key: row.key,
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            assessment_count: row.assessment_count,
            latest_assessment_at: row.latest_assessment_at,
        }
    }
}

/// Create a program
#[utoipa::path(
    security(("api_key" = ["write"])),
    tag = "programs",
    request_body(content = NewProgram, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Program, headers(("Location" = String, description = "URL of the program"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A program with this key exists", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: every one is named, with its path and the reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/programs")]
pub async fn create_program(
    caller: Caller<Write>,
    request: HttpRequest,
    body: web::Bytes,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let (new, _) = json_body::parse::<NewProgram>(&request, &body)?;
    let description = new.description.as_ref().map(|text| text.0.as_str());
    match store::create(&pool, &caller.actor(), &new.key.0, &new.name.0, description).await {
        Ok(row) => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/v1/programs/{}", row.id)))
            .json(Program::from(row))),
        Err(CreateProgramError::DuplicateKey) => {
            Err(ApiError::Conflict(format!("a program with key {} exists", new.key.0)))
        }
        Err(CreateProgramError::Persistence(error)) => Err(error.into()),
    }
}

/// Page parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParameters {
    /// Rows per page, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where the page starts: pass the `next_cursor` of the previous page. A cursor is a position,
    /// `<value>~<id>`: the creation time (seconds since 1970-01-01T00:00:00Z, microseconds: finer
    /// digits are ignored) and id of the last row seen; the page holds the rows after it. Every
    /// string of this form is a position: one beyond either end gives an empty or a full page.
    #[param(
        pattern = r"^-?[0-9]{1,15}(\.[0-9]{1,17})?~[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub cursor: Option<String>,
}

/// A page of programs.
#[derive(Serialize, ToSchema)]
pub struct ProgramPage {
    pub items: Vec<Program>,
    pub next_cursor: Option<String>,
}

/// List programs
///
/// Oldest first.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "programs",
    params(PageParameters),
    responses(
        (status = 200, description = "A page of programs", body = ProgramPage),
        (status = 400, description = "Invalid parameter or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programs")]
pub async fn list_programs(
    caller: Caller,
    parameters: web::Query<PageParameters>,
    reads: web::Data<ReadPools>,
) -> Result<web::Json<ProgramPage>, ApiError> {
    let limit = page_size(parameters.limit, DEFAULT_PAGE_SIZE)?;
    let after = cursor(parameters.cursor.as_deref(), SortKey::CreatedAt)?;
    let (rows, next) =
        reads.read(async |pool| store::list(pool, caller.organisation, limit, after.as_ref()).await).await?;
    Ok(web::Json(ProgramPage {
        items: rows.into_iter().map(Program::from).collect(),
        next_cursor: next.map(|cursor| cursor.encode()),
    }))
}

/// Get a program
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "programs",
    params(("id" = Uuid, Path, description = "Program id")),
    responses(
        (status = 200, description = "The program", body = Program),
        (status = 404, description = "No such program", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programs/{id}")]
pub async fn get_program(
    caller: Caller,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<Program>, ApiError> {
    let row = store::fetch(&pool, caller.organisation, *id).await?.ok_or_else(|| program_not_found(*id))?;
    Ok(web::Json(row.into()))
}

fn program_not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no program {id}"))
}

/// Changes of the scores since the program's previous assessment. A barrier's change is null
/// when nothing was known about it in either assessment: there is no score to subtract.
#[derive(Serialize, ToSchema)]
pub struct ScoreChanges {
    pub overall_index: f64,
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

/// One point of a program's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryPoint {
    #[serde(flatten)]
    pub assessment: AssessmentSummary,
    /// Change of each score since the previous assessment of the program; absent for the first.
    pub change: Option<ScoreChanges>,
}

/// A page of a program's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryPoint>,
    pub next_cursor: Option<String>,
}

/// A program's assessment history
///
/// The program's assessments in time order, each with the change of every score since the one
/// before: the trend a dashboard plots.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "programs",
    params(("id" = Uuid, Path, description = "Program id"), PageParameters),
    responses(
        (status = 200, description = "The history, oldest first", body = HistoryPage),
        (status = 400, description = "Invalid parameter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such program", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programs/{id}/assessments")]
pub async fn program_history(
    caller: Caller,
    id: web::Path<Uuid>,
    parameters: web::Query<PageParameters>,
    reads: web::Data<ReadPools>,
) -> Result<web::Json<HistoryPage>, ApiError> {
    let limit = page_size(parameters.limit, DEFAULT_PAGE_SIZE)?;
    let after = cursor(parameters.cursor.as_deref(), SortKey::CreatedAt)?;
    reads
        .find(async |pool| store::fetch(pool, caller.organisation, *id).await)
        .await?
        .ok_or_else(|| program_not_found(*id))?;
    let (rows, next) = reads
        .read(async |pool| {
            assessment_store::program_history(pool, caller.organisation, *id, limit, after.as_ref()).await
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let change = row.overall_change.map(|overall_index| ScoreChanges {
                overall_index,
                survival: row.survival_change,
                retention: row.retention_change,
                variability: row.variability_change,
                scalability: row.scalability_change,
                safety: row.safety_change,
                outcomes: row.outcomes_change,
                regulatory: row.regulatory_change,
            });
            HistoryPoint { assessment: row.assessment.into(), change }
        })
        .collect();
    Ok(web::Json(HistoryPage { items, next_cursor: next.map(|cursor| cursor.encode()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_keys_and_texts_carry_their_rules() {
        assert!(ProgramKey::try_from("DISC-101".to_owned()).is_ok());
        assert!(ProgramKey::try_from(String::new()).is_err());
        assert!(ProgramKey::try_from("has space".to_owned()).is_err());
        assert!(Text::<5>::try_from("12345".to_owned()).is_ok());
        assert!(Text::<5>::try_from("123456".to_owned()).is_err());
        assert!(Text::<5>::try_from("   ".to_owned()).is_err());
        assert!(Text::<5>::try_from("a\tb".to_owned()).is_err());
    }
}
