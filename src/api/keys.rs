//! The organisation's API keys and its audit trail, for its admins.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::{Admin, Caller};
use super::json_body;
use super::key_cache::KeyCache;
use super::problem::{ApiError, FieldError, Problem};
use super::programs::Text;
use crate::access::{self, Scope, Scopes};
use crate::persistence::access::{self as store, AuditEvent, KeyRecord, NewKey};

/// A key to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Grafana dashboard", "scopes": ["read"], "expires_in_days": 90}))]
pub struct NewApiKey {
    /// What the key is for: up to 200 characters, not blank, no control characters or bidirectional controls.
    #[schema(value_type = String, example = "Grafana dashboard", min_length = 1, max_length = 200,
             pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$")]
    pub name: Text<200>,
    /// At least one of `read`, `write`, `admin`.
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
    /// Days from now until the key stops working, 1-3650 (as `keys create --expires-in-days`).
    /// Absent: never. A lifetime rather than a date, so that no valid request makes a key that is
    /// expired at birth; the key's `expires_at` says when it ends.
    #[schema(value_type = Option<u16>, minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<ExpiryDays>,
}

/// A key's lifetime in days, 1-3650.
#[derive(Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
pub struct ExpiryDays(u16);

impl TryFrom<f64> for ExpiryDays {
    type Error = &'static str;

    /// Read as a JSON number: `90.0` is the integer 90 to JSON Schema, so it is accepted too.
    fn try_from(days: f64) -> Result<Self, Self::Error> {
        if days.fract() == 0.0 && (1.0..=3650.0).contains(&days) {
            Ok(Self(days as u16))
        } else {
            Err("must be a whole number of days, 1-3650")
        }
    }
}

impl ExpiryDays {
    fn after(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::days(i64::from(self.0))
    }
}

/// An API key as listed: never with its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    #[schema(example = "Grafana dashboard")]
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set once the key is revoked; it is refused from that moment.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The admin key that created it; absent for keys made with the `keys create` command.
    pub created_by: Option<Uuid>,
}

impl From<KeyRecord> for ApiKey {
    fn from(record: KeyRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            scopes: record.scopes.iter().collect(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            created_by: record.created_by,
        }
    }
}

/// A created key with its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret to send as `Authorization: Bearer <token>`. It is stored only as a hash and
    /// cannot be shown again.
    #[schema(example = "mscr_019a4f0c3b7e7c1a9d2e5f60718293a4_9hX2cYq0nR4k8t1VbZp3sLm6wQe7uA5dF2gJ0hK9iO")]
    pub token: String,
}

/// The organisation's keys.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKey>,
}

/// Keys an organisation may hold at once, from `MAX_KEYS_PER_ORGANISATION`.
pub struct KeyLimit(pub u32);

/// Create an API key
///
/// The response holds the key's secret; it is shown once and stored only as a hash. An
/// organisation holds at most `MAX_KEYS_PER_ORGANISATION` (default 100) keys that are neither
/// revoked nor expired; its requests share one rate limit however many keys it has.
#[utoipa::path(
    tag = "access",
    security(("api_key" = ["admin"])),
    request_body(content = NewApiKey, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the token is shown this once", body = CreatedApiKey,
            headers(("Location" = String, description = "URL of the key"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation holds as many active keys as it may; revoke one first", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: every one is named, with its path and the reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/keys")]
pub async fn create_key(
    caller: Caller<Admin>,
    request: HttpRequest,
    body: web::Bytes,
    pool: web::Data<PgPool>,
    limit: Option<web::Data<KeyLimit>>,
) -> Result<HttpResponse, ApiError> {
    let (new, _) = json_body::parse::<NewApiKey>(&request, &body)?;
    let scopes =
        Scopes::new(new.scopes.iter().copied()).ok_or_else(|| invalid("scopes", "at least one scope"))?;
    let generated = access::generate_key().map_err(|error| ApiError::Internal(Box::new(error)))?;
    let key = NewKey {
        generated: &generated,
        name: new.name.as_str(),
        scopes: &scopes,
        expires_at: new.expires_in_days.map(|days| days.after(Utc::now())),
    };
    let record = store::create_key(&pool, &caller.actor(), key, limit.map(|limit| limit.0)).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/keys/{}", record.id)))
        .json(CreatedApiKey { key: record.into(), token: generated.token }))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid_fields(vec![FieldError { field: field.into(), message: message.into() }])
}

/// List the organisation's API keys
#[utoipa::path(
    tag = "access",
    security(("api_key" = ["admin"])),
    responses((status = 200, description = "Every key of the organisation, newest first, without secrets", body = ApiKeyList))
)]
#[get("/keys")]
pub async fn list_keys(
    caller: Caller<Admin>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<ApiKeyList>, ApiError> {
    let keys = store::list_keys(&pool, caller.organisation).await?;
    Ok(web::Json(ApiKeyList { items: keys.into_iter().map(ApiKey::from).collect() }))
}

/// Get one API key
#[utoipa::path(
    tag = "access",
    security(("api_key" = ["admin"])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 200, description = "The key, without its secret", body = ApiKey),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/keys/{id}")]
pub async fn get_key(
    caller: Caller<Admin>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<ApiKey>, ApiError> {
    let key = store::fetch_key(&pool, caller.organisation, *id).await?.ok_or_else(|| key_not_found(*id))?;
    Ok(web::Json(key.into()))
}

fn key_not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no API key {id}"))
}

/// Revoke an API key
///
/// The key is refused from this moment on. It stays listed, with `revoked_at`. Revoking it again
/// changes nothing.
#[utoipa::path(
    tag = "access",
    security(("api_key" = ["admin"])),
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 200, description = "Revoked", body = ApiKey),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/keys/{id}")]
pub async fn revoke_key(
    caller: Caller<Admin>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
    cache: Option<web::Data<KeyCache>>,
) -> Result<web::Json<ApiKey>, ApiError> {
    let revoked = store::revoke_key(&pool, &caller.actor(), *id).await;
    // Also on failure: the revocation may have committed before the error.
    if let Some(cache) = cache {
        cache.forget(*id);
    }
    let key = revoked?.ok_or_else(|| key_not_found(*id))?;
    Ok(web::Json(key.into()))
}

/// Audit trail page parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParameters {
    /// Events per page, 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_before` of the previous page: events older than this one.
    pub before: Option<Uuid>,
}

/// One recorded change.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The API key that made the change; absent for the `keys create` command.
    pub key_id: Option<Uuid>,
    /// `assessment.created`, `assessment.rescored`, `assessment.deleted`, `program.created`,
    /// `key.created`, `key.revoked`, `job.started` (an import or re-score accepted), `job.finished`
    /// or `job.cancelled`. The assessments a job stores are the job's work, not events of their
    /// own: its items record each one (programs it creates are `program.created`).
    #[schema(example = "assessment.created")]
    pub action: String,
    /// `assessment`, `program`, `api_key` or `job`.
    #[schema(example = "assessment")]
    pub resource_type: String,
    pub resource_id: Uuid,
    /// The `x-request-id` of the request that made the change.
    pub request_id: Option<String>,
}

impl From<AuditEvent> for AuditEntry {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.id,
            occurred_at: event.occurred_at,
            key_id: event.key_id,
            action: event.action,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            request_id: event.request_id,
        }
    }
}

/// A page of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<Uuid>,
}

const DEFAULT_AUDIT_PAGE: u32 = 100;

/// Read the audit trail
///
/// Who (API key) did what (create, re-score, delete, key changes) to which resource, when, and
/// in which request; newest first. The trail is append-only.
#[utoipa::path(
    tag = "access",
    security(("api_key" = ["admin"])),
    params(AuditParameters),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit")]
pub async fn audit_trail(
    caller: Caller<Admin>,
    parameters: web::Query<AuditParameters>,
    pool: web::Data<PgPool>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let limit = parameters.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be between 1 and 500".into()));
    }
    let mut events =
        store::audit_events(&pool, caller.organisation, i64::from(limit) + 1, parameters.before).await?;
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_before = if has_more { events.last().map(|event| event.id) } else { None };
    Ok(web::Json(AuditPage { items: events.into_iter().map(AuditEntry::from).collect(), next_before }))
}
