//! A request whose head (request line and header fields) is over [`HEAD_LIMIT`] is refused with
//! `431` before anything reads it.
//!
//! actix-http refuses an oversized head only while the head is still incomplete in its buffer
//! (at 128 KB): a 200 KB head that arrives whole in one read is parsed and served, so the same
//! request was answered `431` or, without a key, `401`, depending on how the kernel delivered it
//! (seen once in 1,000 by `tests/faults/hostile.sh`). Counting the head here gives one answer.

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::problem::ApiError;

/// The largest head accepted, in bytes: well under actix-http's 128 KB, so a head between the two
/// always reaches this check whole; far above any head a client of this API sends (a key, a
/// content type, an idempotency key, a few kilobytes of proxy and tracing fields).
pub const HEAD_LIMIT: usize = 64 * 1024;

/// The head's size as sent: `METHOD target HTTP/x.y\r\n`, then `name: value\r\n` for each field.
fn head_size(request: &ServiceRequest) -> usize {
    let target = request.uri().path_and_query().map_or(1, |target| target.as_str().len());
    let request_line = request.method().as_str().len() + target + 12;
    request
        .headers()
        .iter()
        .fold(request_line, |size, (name, value)| size + name.as_str().len() + value.len() + 4)
}

/// Answers `431` to a request whose head is over [`HEAD_LIMIT`].
pub async fn refuse_oversized_heads(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if head_size(&request) > HEAD_LIMIT {
        let response = ApiError::HeadTooLarge { limit: HEAD_LIMIT }.error_response();
        return Ok(request.into_response(response).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}
