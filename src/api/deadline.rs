//! The request deadline: no request takes longer than `REQUEST_TIMEOUT_MS`.
//!
//! Nothing else bounds a request's wall time when the database hangs (a stopped server, a network
//! black hole): the server-side `statement_timeout` cannot fire in a server that does not run, and
//! a pool acquire timeout does not cover a connection already acquired. Past the deadline the
//! handler's future is dropped, which cancels its database work; the persistence layer then closes
//! that connection instead of returning it to the pool (see `persistence::with_connection`).

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError};

use super::observability::{REQUEST_ID, RequestId};
use super::problem::ApiError;

/// The upload of an import, exempt from the whole-request deadline.
const IMPORT_PATH: &str = "/v1/imports";

/// Fails the request with `504` (a problem document) when the rest of the service has not answered
/// within `limit`. It fails with an error rather than a response because building a response needs
/// the `HttpRequest`, and holding a copy of it while the request is routed is not allowed; the
/// error carries what the response needs instead (the request id, for `x-request-id`).
pub async fn enforce(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // An import's body may take far longer than a request (a portfolio of a million lines); its
    // handler bounds each wait instead, the next piece of the body and each write, by `limit`.
    if request.method() == actix_web::http::Method::POST && request.path() == IMPORT_PATH {
        return next.call(request).await;
    }
    let request_id = request.extensions().get::<RequestId>().map(|id| id.0.clone());
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(response) => response,
        Err(_elapsed) => Err(PastDeadline { error: ApiError::DeadlineExceeded(limit), request_id }.into()),
    }
}

/// A request past its deadline, answered by actix itself outside the middleware chain: its
/// response gets the request id and the security headers here.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
struct PastDeadline {
    error: ApiError,
    request_id: Option<String>,
}

impl ResponseError for PastDeadline {
    fn status_code(&self) -> StatusCode {
        self.error.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.error.error_response();
        let headers = response.headers_mut();
        super::security_headers::insert(headers, false);
        if let Some(value) = self.request_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
            headers.insert(REQUEST_ID, value);
        }
        response
    }
}
