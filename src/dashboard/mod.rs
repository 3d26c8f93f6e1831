//! The dashboard: a static page (HTML, one ES module, one stylesheet) compiled into the binary
//! and served at `/dashboard/`, with `/` redirecting to it. It talks only to the documented API,
//! so it is not part of the OpenAPI document.
//!
//! The page must work under a strict Content-Security-Policy (`script-src 'self'`,
//! `style-src 'self'`): no inline scripts or styles, no `style=` attributes, no `eval`.

use std::sync::LazyLock;

use actix_web::http::header::{self, CacheControl, CacheDirective, EntityTag};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use sha2::{Digest, Sha256};

use crate::api::problem::ApiError;

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    etag: LazyLock<EntityTag>,
}

macro_rules! asset {
    ($path:literal, $file:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_str!($file),
            etag: LazyLock::new(|| etag(include_str!($file))),
        }
    };
}

static ASSETS: [Asset; 5] = [
    asset!("", "index.html", "text/html; charset=utf-8"),
    asset!("app.js", "app.js", "text/javascript; charset=utf-8"),
    asset!("app.css", "app.css", "text/css; charset=utf-8"),
    // The stylesheet of the printable report and the problem pages, which the API serves.
    asset!("report.css", "report.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "favicon.svg", "image/svg+xml"),
];

/// A strong validator from the content, so a new binary's assets are never taken from cache.
fn etag(body: &str) -> EntityTag {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(12).map(|byte| format!("{byte:02x}")).collect();
    EntityTag::new_strong(hex)
}

/// Registers the page's routes: `/` and `/dashboard` redirect to `/dashboard/`.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::redirect("/", "/dashboard/"))
        .service(web::redirect("/dashboard", "/dashboard/"))
        // Browsers ask for it on every page; without it each page logs a 404 in the console.
        .service(web::redirect("/favicon.ico", "/dashboard/favicon.svg"))
        .route("/dashboard/{file:.*}", web::get().to(serve));
}

async fn serve(request: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == file.as_str()) else {
        return ApiError::NotFound(format!("no resource at {}", request.path())).error_response();
    };
    let etag = &*asset.etag;
    // The names carry no version, so every use revalidates; an unchanged file costs a 304.
    let cache = CacheControl(vec![CacheDirective::NoCache]);
    let unchanged =
        request.headers().get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()).is_some_and(
            |value| value.split(',').any(|tag| tag.trim() == etag.to_string() || tag.trim() == "*"),
        );
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header(cache)
            .insert_header(header::ETag(etag.clone()))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(cache)
        .insert_header(header::ETag(etag.clone()))
        .body(asset.body)
}
