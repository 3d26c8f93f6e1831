//! Request bodies are read as sent: a `Content-Encoding` other than `identity` is refused with
//! `415` before a byte of the body is read.
//!
//! actix decompresses gzip, brotli and zstd request bodies on its own, and a compressed chunk is
//! expanded whole before the body limit sees it: 32 KB of zstd expanded to 1 GiB in memory per
//! request (issue 20, finding 2). The service's bodies are at most `BODY_LIMIT_BYTES` (64 KB by
//! default) of JSON, so compression saves a client little; refusing it is the one way to keep
//! memory bounded by the limit without a decoder of our own.

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;

use super::problem::ApiError;

/// The content coding a request declares, when it is one the service does not accept (any but
/// `identity`; several codings are refused as one).
fn refused_coding(request: &ServiceRequest) -> Option<String> {
    let codings: Vec<String> = request
        .headers()
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(',')
                .map(|coding| coding.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        .collect();
    // Named back to the client, so kept short whatever it sent.
    (!codings.is_empty()).then(|| codings.join(", ").chars().take(64).collect())
}

/// Answers `415` with `Accept-Encoding: identity` to a request with a compressed body.
pub async fn refuse_compressed_bodies(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match refused_coding(&request) {
        Some(coding) => {
            let response = ApiError::UnsupportedContentEncoding(coding).error_response();
            Ok(request.into_response(response).map_into_right_body())
        }
        None => Ok(next.call(request).await?.map_into_left_body()),
    }
}
