//! Per-request context: a request id, a tracing span, an access log line, and problem
//! documents for the error responses actix produces on its own.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use tracing::Instrument;

use super::problem::{ApiError, BodyLimit, PROBLEM_CONTENT_TYPE, Problem};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for the audit trail.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Accepts a caller's request id when it is short and printable (so it can be correlated across
/// services); otherwise generates a time-ordered one.
fn request_id(request: &ServiceRequest) -> String {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Wraps every request in a span carrying its id, logs one access line when it completes, and
/// returns the id in `x-request-id`.
pub async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = request_id(&request);
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let method = request.method().to_string();
    let span = tracing::info_span!("request", request_id = %request_id);
    let started = Instant::now();
    let outcome = next.call(request).instrument(span.clone()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut response = match outcome {
        Ok(response) => response,
        Err(error) => {
            // Errors that reach here (the request deadline) become their response in actix itself,
            // with the id and security headers the error carries (`deadline::PastDeadline`).
            let status = error.as_response_error().status_code().as_u16();
            span.in_scope(|| tracing::info!(%method, status, latency_ms, "request completed"));
            return Err(error);
        }
    };
    let route = response.request().match_pattern().unwrap_or_else(|| "(unmatched)".to_owned());
    let status = response.status().as_u16();
    span.in_scope(|| tracing::info!(%method, %route, status, latency_ms, "request completed"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Turns any error response that is not yet a problem document (actix's own routing, method and
/// extractor errors, the Swagger UI's) into one, keeping its status and headers such as `Allow`.
pub fn ensure_problem_document<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let status = response.status();
    // A body over the limit, found while reading it: the same problem as one declared too long.
    if status == StatusCode::PAYLOAD_TOO_LARGE
        && let Some(limit) = response.request().app_data::<web::Data<BodyLimit>>()
    {
        let replacement = ApiError::PayloadTooLarge { limit: limit.0 }.error_response();
        let (request, _) = response.into_parts();
        return Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(request, replacement).map_into_right_body(),
        ));
    }
    let detail = response
        .response()
        .error()
        .map(ToString::to_string)
        .filter(|detail| !detail.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let problem = Problem {
        problem_type: format!("/problems/http-{}", status.as_u16()),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: if status.is_server_error() { "internal error".to_owned() } else { detail },
        errors: Vec::new(),
    };
    let mut replacement = HttpResponse::build(status);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement.append_header((name.clone(), value.clone()));
        }
    }
    replacement.content_type(PROBLEM_CONTENT_TYPE);
    let replacement: HttpResponse<BoxBody> = replacement.json(problem);
    let (request, _) = response.into_parts();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(request, replacement).map_into_right_body()))
}
