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
use actix_web::middleware::Next;

use super::problem::ApiError;

/// Fails the request with `504` (a problem document) when the rest of the service has not answered
/// within `limit`. It fails with an error rather than a response because building a response needs
/// the `HttpRequest`, and holding a copy of it while the request is routed is not allowed.
pub async fn enforce(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(response) => response,
        Err(_elapsed) => Err(ApiError::DeadlineExceeded(limit).into()),
    }
}
