//! Headers that make every response safer to handle in a browser.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;

/// For our own pages: scripts, styles and everything else only from this origin.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Swagger UI (vendored) sets some styles inline; scripts still come only from this origin.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Adds `X-Content-Type-Options`, `X-Frame-Options`, `Referrer-Policy`, a restrictive
/// `Content-Security-Policy` on HTML, `Cache-Control: no-store` unless a handler chose caching
/// (responses carry a sponsor's confidential data), and removes any `Server` banner.
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_docs = request.path().starts_with("/docs");
    let mut response = next.call(request).await?;
    insert(response.headers_mut(), is_docs);
    Ok(response)
}

/// The headers [`security_headers`] adds, for responses built outside the middleware chain (a
/// request past its deadline becomes its response in actix itself).
pub fn insert(headers: &mut HeaderMap, is_docs: bool) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let is_html =
        headers.get(header::CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if is_html {
        let policy = if is_docs { DOCS_POLICY } else { PAGE_POLICY };
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    if !is_docs && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.remove(header::SERVER);
}
