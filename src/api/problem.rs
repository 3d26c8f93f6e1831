//! The HTTP error type: every failure leaves the service as an RFC 9457
//! `application/problem+json` document.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use super::problem_pages::PROBLEM_KINDS;
use crate::access::Scope;
use crate::persistence::PersistenceError;
use crate::scoring::parse_errors::MAX_ERRORS;
use crate::telemetry::Throttle;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The protection space named in `WWW-Authenticate` challenges.
const REALM: &str = "msc-readiness";

/// Whole seconds to wait, rounded up and at least 1, as `Retry-After` needs.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The largest request body accepted, in bytes (`BODY_LIMIT_BYTES`), for the 413 to state it.
pub struct BodyLimit(pub usize);

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-error",
    "title": "Invalid request",
    "status": 422,
    "detail": "The request has 3 invalid fields: profile.manufacturing.cells_per_lot, profile.quality.viability_at_release_pct, profile.formulation.presentation.",
    "errors": [
        {"field": "profile.manufacturing.cells_per_lot", "message": "expected a number of cells (1 to 1e13), got the text \"20 million\""},
        {"field": "profile.quality.viability_at_release_pct", "message": "expected a percentage (0 to 100), got 130"},
        {"field": "profile.formulation.presentation", "message": "unknown value `frozen`; allowed: `fresh`, `cryopreserved`, `lyophilized`"}
    ]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, usable by clients to branch on.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for a human reader.
    pub detail: String,
    /// The offending fields, for validation failures: every invalid field of the request (up to
    /// 50), in the order they are written, each with the reason in plain words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Full path of the field in the request, e.g. `profile.delivery.route` or
    /// `profile.quality.potency_assays[1].stage`, also for a missing field; empty for the body as
    /// a whole.
    #[schema(example = "profile.formulation.presentation")]
    pub field: String,
    /// Why the value was rejected, in plain words: what is expected (with the unit and range of a
    /// number, or the allowed values) and what was sent.
    #[schema(example = "unknown value `frozen`; allowed: `fresh`, `cryopreserved`, `lyophilized`")]
    pub message: String,
}

/// Every error a handler can return; mapped to a status and problem document in one place.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter that is unknown or whose value is invalid.
    #[error("{parameter}: {message}")]
    InvalidParameter { parameter: String, message: String },
    #[error("{detail}")]
    Validation { detail: String, errors: Vec<FieldError> },
    #[error("this endpoint needs an API key: send `Authorization: Bearer <API key>`")]
    MissingCredentials,
    #[error("{reason}")]
    Unauthenticated { reason: &'static str },
    #[error("this API key lacks the `{required}` scope this endpoint needs")]
    Forbidden { required: Scope },
    #[error("too many requests {by}; retry after {} s", retry_after_secs(*.retry_after))]
    TooManyRequests { by: RateLimited, retry_after: Duration },
    /// Too many failed authentications from the client's address or with the key id presented.
    #[error("too many failed authentications {by}; retry after {} s", retry_after_secs(*.retry_after))]
    AuthenticationThrottled { by: ThrottledBy, retry_after: Duration },
    #[error("{method} is not allowed here; allowed: {}", allow_header(.allowed))]
    MethodNotAllowed { method: actix_web::http::Method, allowed: Vec<actix_web::http::Method> },
    #[error("{0}")]
    Conflict(String),
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyKeyInFlight,
    #[error(
        "this Idempotency-Key was already used with a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused,
    #[error(
        "the request body is larger than the limit of {limit} bytes (the service's BODY_LIMIT_BYTES setting): send a smaller body"
    )]
    PayloadTooLarge { limit: usize },
    #[error(
        "the request line and header fields are larger than the limit of {limit} bytes: send fewer or shorter header fields"
    )]
    HeadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request body sent with a content coding (gzip, br, zstd, ...). Bodies are small and read
    /// as sent; decompressing them would let a few kilobytes expand past the body limit in memory.
    #[error(
        "request bodies are accepted without a content coding only (Content-Encoding `{0}` is not accepted): send the body uncompressed"
    )]
    UnsupportedContentEncoding(String),
    #[error("the database is unavailable; retry later")]
    Unavailable(#[source] PersistenceError),
    /// The database server's disk is full: reads work, writes fail.
    #[error(
        "the database server's disk is full: changes cannot be stored until the operator frees space; retry later"
    )]
    StorageFull,
    /// More requests than the service serves at once, for longer than a request waits to start.
    #[error("the service is overloaded ({in_flight} requests in progress); retry after 1 s")]
    Overloaded { in_flight: usize },
    #[error("the request did not complete within {} ms; retry later", .0.as_millis())]
    DeadlineExceeded(std::time::Duration),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Whose request rate was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimited {
    Key,
    /// All the organisation's keys together.
    Organisation,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Key => "with this API key",
            Self::Organisation => "from this organisation (all its API keys together)",
        })
    }
}

/// What a failed-authentication throttle counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottledBy {
    Address,
    Key,
}

impl std::fmt::Display for ThrottledBy {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Address => "from this client address",
            Self::Key => "with this API key id",
        })
    }
}

impl From<PersistenceError> for ApiError {
    fn from(error: PersistenceError) -> Self {
        match error {
            PersistenceError::Unavailable(_) if error.is_storage_full() => Self::StorageFull,
            PersistenceError::Unavailable(_) => Self::Unavailable(error),
            PersistenceError::KeyLimitReached { .. } => Self::Conflict(error.to_string()),
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// The warnings that can repeat for every request (`suppressed` counts those left out).
static UNAVAILABLE_LOG: Throttle = Throttle::new();
static OVERLOADED_LOG: Throttle = Throttle::new();
static STORAGE_FULL_LOG: Throttle = Throttle::new();
static DEADLINE_LOG: Throttle = Throttle::new();

/// Fields named in a validation problem's `detail`; all of them are in `errors`.
const FIELDS_NAMED_IN_DETAIL: usize = 5;

impl ApiError {
    /// A 422 naming every invalid field: `detail` counts them (`The request has 3 invalid fields:
    /// a, b, c.`) and `errors` lists each with its reason.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let count = errors.len();
        let mut names = errors
            .iter()
            .take(FIELDS_NAMED_IN_DETAIL)
            .map(|error| if error.field.is_empty() { "the body as a whole" } else { error.field.as_str() })
            .collect::<Vec<_>>()
            .join(", ");
        if count > FIELDS_NAMED_IN_DETAIL {
            names = format!("{names}, and {} more", count - FIELDS_NAMED_IN_DETAIL);
        }
        // The collector stops at its limit: there may be more than it found.
        let at_least = if count >= MAX_ERRORS { "at least " } else { "" };
        let plural = if count == 1 { "" } else { "s" };
        let detail = format!("The request has {at_least}{count} invalid field{plural}: {names}.");
        Self::Validation { detail, errors }
    }

    /// The last segment of the problem's `type`: a kind listed in [`PROBLEM_KINDS`], which the
    /// `type` URI's page explains.
    fn kind_name(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not-found",
            Self::BadRequest(_) => "bad-request",
            Self::InvalidParameter { .. } => "invalid-parameter",
            Self::Validation { .. } => "validation-error",
            Self::MissingCredentials | Self::Unauthenticated { .. } => "unauthenticated",
            Self::Forbidden { .. } => "insufficient-scope",
            Self::TooManyRequests { .. } => "rate-limited",
            Self::AuthenticationThrottled { .. } => "authentication-throttled",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::IdempotencyKeyInFlight => "idempotency-key-in-flight",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::HeadTooLarge { .. } => "header-fields-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::UnsupportedContentEncoding(_) => "unsupported-content-encoding",
            Self::Unavailable(_) => "service-unavailable",
            Self::StorageFull => "storage-full",
            Self::Overloaded { .. } => "overloaded",
            Self::DeadlineExceeded(_) => "deadline-exceeded",
            Self::Internal(_) => "internal-error",
        }
    }

    /// The problem document; internal details are logged, never sent.
    pub fn problem(&self) -> Problem {
        let name = self.kind_name();
        let title = PROBLEM_KINDS.iter().find(|kind| kind.name == name).map_or("Error", |kind| kind.title);
        let errors = match self {
            Self::Validation { errors, .. } => errors.clone(),
            Self::InvalidParameter { parameter, message } => {
                vec![FieldError { field: parameter.clone(), message: message.clone() }]
            }
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("/problems/{name}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) | Self::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MissingCredentials | Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } | Self::AuthenticationThrottled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::IdempotencyKeyInFlight => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType(_) | Self::UnsupportedContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Unavailable(_) | Self::StorageFull | Self::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::DeadlineExceeded(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(source) => tracing::error!(error = %source, "internal error"),
            // These repeat for every request while the cause lasts: at most a line a second each.
            Self::Unavailable(source) => {
                if let Some(suppressed) = UNAVAILABLE_LOG.admit() {
                    tracing::warn!(error = %source, suppressed, "database unavailable");
                }
            }
            Self::StorageFull => {
                if let Some(suppressed) = STORAGE_FULL_LOG.admit() {
                    tracing::error!(suppressed, "the database server's disk is full: writes are refused");
                }
            }
            Self::Overloaded { in_flight } => {
                if let Some(suppressed) = OVERLOADED_LOG.admit() {
                    tracing::warn!(in_flight, suppressed, "overloaded: request refused");
                }
            }
            Self::DeadlineExceeded(deadline) => {
                if let Some(suppressed) = DEADLINE_LOG.admit() {
                    tracing::warn!(
                        deadline_ms = deadline.as_millis(),
                        suppressed,
                        "request deadline exceeded"
                    );
                }
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE)));
        match self {
            Self::Unavailable(_)
            | Self::StorageFull
            | Self::Overloaded { .. }
            | Self::IdempotencyKeyInFlight
            | Self::DeadlineExceeded(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Self::TooManyRequests { retry_after, .. } | Self::AuthenticationThrottled { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(*retry_after)));
            }
            // RFC 6750 §3: the challenge tells the client which scheme and what went wrong.
            Self::MissingCredentials => {
                response.insert_header((header::WWW_AUTHENTICATE, format!("Bearer realm=\"{REALM}\"")));
            }
            Self::Unauthenticated { reason } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{reason}\""
                    ),
                ));
            }
            Self::Forbidden { required } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{required}\""),
                ));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                response.insert_header((header::ALLOW, allow_header(allowed)));
            }
            // RFC 9110 §15.5.16: a 415 for a content coding names the codings accepted.
            Self::UnsupportedContentEncoding(_) => {
                response.insert_header((header::ACCEPT_ENCODING, HeaderValue::from_static("identity")));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

fn allow_header(methods: &[actix_web::http::Method]) -> String {
    methods.iter().map(actix_web::http::Method::as_str).collect::<Vec<_>>().join(", ")
}

/// Maps actix's JSON body errors (for `web::Json` extractors) to problem documents.
pub fn json_error(error: actix_web::error::JsonPayloadError, _request: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    let api_error = match error {
        JsonPayloadError::OverflowKnownLength { limit, .. } | JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ),
        JsonPayloadError::Deserialize(error) if error.is_data() => ApiError::Validation {
            detail: "the request body does not match the expected schema".into(),
            errors: vec![FieldError { field: String::new(), message: error.to_string() }],
        },
        JsonPayloadError::Deserialize(error) => ApiError::BadRequest(format!("malformed JSON: {error}")),
        other => ApiError::BadRequest(format!("unreadable request body: {other}")),
    };
    api_error.into()
}

/// Maps actix's query-string errors to problem documents.
pub fn query_error(error: actix_web::error::QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("invalid query string: {error}")).into()
}

/// Maps actix's path-segment errors (e.g. an id that is not a UUID) to 404: no such resource.
pub fn path_error(_error: actix_web::error::PathError, request: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("no resource at {}", request.path())).into()
}
