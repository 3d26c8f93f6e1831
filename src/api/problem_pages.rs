//! The pages the `type` of every problem document points to: `/problems/{name}` explains, for a
//! person reading an error, what the problem means and what to do about it.

use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};

use super::problem::ApiError;

/// One kind of problem: the last segment of its `type`, its title, status and explanation.
#[derive(Clone, Copy)]
pub struct ProblemKind {
    pub name: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub meaning: &'static str,
    pub remedy: &'static str,
}

/// Every problem `type` the service's own handlers return (`/problems/http-{status}`, for errors
/// from the HTTP layer, is read by [`http_status_kind`]).
pub const PROBLEM_KINDS: &[ProblemKind] = &[
    ProblemKind {
        name: "not-found",
        title: "Not found",
        status: 404,
        meaning: "Nothing exists at this address for your organisation: the id is unknown, was deleted, \
or belongs to another organisation.",
        remedy: "Check the id (ids are UUIDs) and the path against the API documentation at /docs/.",
    },
    ProblemKind {
        name: "bad-request",
        title: "Bad request",
        status: 400,
        meaning: "The request could not be read: the body is not well-formed JSON, or a header is malformed.",
        remedy: "Read `detail`, which names what could not be read and where; send well-formed JSON.",
    },
    ProblemKind {
        name: "invalid-parameter",
        title: "Invalid query parameter",
        status: 400,
        meaning: "A query parameter is unknown, missing although required, or its value is not of the \
expected kind or range. `errors[0].field` names the parameter and `errors[0].message` the reason.",
        remedy: "Fix or remove the named parameter; the accepted parameters and their values are listed \
for every operation in the API documentation at /docs/.",
    },
    ProblemKind {
        name: "validation-error",
        title: "Invalid request",
        status: 422,
        meaning: "The body is JSON but not a valid request. `errors` lists every invalid field (up to \
50), each with its full path (such as `profile.quality.potency_assays[1].stage`) and the reason in \
plain words: what is expected, with the unit and range of a number or the allowed values.",
        remedy: "Correct each listed field and send the request again. A field that is not known can \
be left out or sent as null: unknown is never read as no.",
    },
    ProblemKind {
        name: "unauthenticated",
        title: "Authentication required",
        status: 401,
        meaning: "The request carries no API key, or the key is invalid, expired or revoked. \
`WWW-Authenticate` says which.",
        remedy: "Send `Authorization: Bearer <API key>`. An administrator of your organisation creates \
keys with `POST /v1/keys`; the first comes from `msc-readiness keys create`.",
    },
    ProblemKind {
        name: "insufficient-scope",
        title: "Insufficient scope",
        status: 403,
        meaning: "The API key is valid but lacks the scope (`read`, `write` or `admin`) this operation needs.",
        remedy: "Use a key with the scope named in `detail`, or ask an administrator for one.",
    },
    ProblemKind {
        name: "rate-limited",
        title: "Too many requests",
        status: 429,
        meaning: "This API key, or your organisation's keys together, sent more requests than the \
rate limit allows (one limit per key and one per organisation).",
        remedy: "Wait the number of seconds in `Retry-After`, then retry.",
    },
    ProblemKind {
        name: "authentication-throttled",
        title: "Too many failed authentications",
        status: 429,
        meaning: "Too many requests from your address, or for this key id, failed authentication in \
the last minute; until the budget refills, requests from the address (or with a wrong secret for \
the key id) are refused before any key is looked up.",
        remedy: "Check the API key you send (`Authorization: Bearer <key>`), wait the number of \
seconds in `Retry-After`, then retry. Behind a shared proxy, ask the operator about \
`AUTH_FAILURES_PER_MINUTE_PER_ADDRESS`.",
    },
    ProblemKind {
        name: "method-not-allowed",
        title: "Method not allowed",
        status: 405,
        meaning: "The path exists, but not with this HTTP method.",
        remedy: "Use one of the methods listed in the `Allow` header.",
    },
    ProblemKind {
        name: "conflict",
        title: "Conflict",
        status: 409,
        meaning: "The request conflicts with what is stored, such as a program key that is already taken.",
        remedy: "Read `detail`; choose another value or work with the existing resource.",
    },
    ProblemKind {
        name: "idempotency-key-in-flight",
        title: "Request in progress",
        status: 409,
        meaning: "A request with this Idempotency-Key is still being processed.",
        remedy: "Retry after `Retry-After` seconds with the same key and body: you will get the first \
request's answer, and nothing is stored twice.",
    },
    ProblemKind {
        name: "idempotency-key-reused",
        title: "Idempotency-Key reused",
        status: 422,
        meaning: "This Idempotency-Key was already used with a different request body.",
        remedy: "Use a new key for a new request; reuse a key only to retry the very same request.",
    },
    ProblemKind {
        name: "payload-too-large",
        title: "Request body too large",
        status: 413,
        meaning: "The request body is larger than the service accepts. `detail` states the limit in bytes.",
        remedy: "Send a smaller body. The operator sets the limit with the `BODY_LIMIT_BYTES` setting.",
    },
    ProblemKind {
        name: "header-fields-too-large",
        title: "Request header fields too large",
        status: 431,
        meaning: "The request line and header fields together are larger than the service accepts \
(64 KB). `detail` states the limit in bytes.",
        remedy: "Send fewer or shorter header fields.",
    },
    ProblemKind {
        name: "unsupported-media-type",
        title: "Unsupported media type",
        status: 415,
        meaning: "The body is not declared as JSON.",
        remedy: "Send the body with `Content-Type: application/json`.",
    },
    ProblemKind {
        name: "unsupported-content-encoding",
        title: "Unsupported content coding",
        status: 415,
        meaning: "The body was sent compressed (`Content-Encoding` gzip, br, zstd, ...). Bodies are \
read as sent, so that a small compressed body cannot expand past the size limit.",
        remedy: "Send the body uncompressed.",
    },
    ProblemKind {
        name: "service-unavailable",
        title: "Service unavailable",
        status: 503,
        meaning: "The database is unavailable or every connection to it is busy. Nothing was stored.",
        remedy: "Retry after `Retry-After` seconds (a POST with the same Idempotency-Key). If it \
persists, tell the operator.",
    },
    ProblemKind {
        name: "storage-full",
        title: "Database disk full",
        status: 503,
        meaning: "The database refused the write because its disk is full. Nothing was stored; \
everything acknowledged before is kept.",
        remedy: "Retry after `Retry-After` seconds (a POST with the same Idempotency-Key); tell the \
operator, who must free or add disk space (`/readyz` reports it too).",
    },
    ProblemKind {
        name: "overloaded",
        title: "Overloaded",
        status: 503,
        meaning: "The service is serving as many requests as it can at once. Nothing was stored.",
        remedy: "Retry after `Retry-After` seconds.",
    },
    ProblemKind {
        name: "deadline-exceeded",
        title: "Request deadline exceeded",
        status: 504,
        meaning: "The request did not complete within the service's request deadline; its work was cancelled.",
        remedy: "Retry after `Retry-After` seconds (a POST with the same Idempotency-Key). If it \
persists, tell the operator.",
    },
    ProblemKind {
        name: "internal-error",
        title: "Internal error",
        status: 500,
        meaning: "The service failed in a way it did not expect. The details are in its log, never in \
the answer.",
        remedy: "Retry later; if it persists, tell the operator the `x-request-id` of the response.",
    },
];

/// A page for the problems the HTTP layer answers itself (`/problems/http-404`, ...).
fn http_status_kind(name: &str) -> Option<ProblemKind> {
    let status = name.strip_prefix("http-")?.parse::<u16>().ok()?;
    let code = actix_web::http::StatusCode::from_u16(status).ok()?;
    if !(code.is_client_error() || code.is_server_error()) {
        return None;
    }
    let title = code.canonical_reason().unwrap_or("Error");
    Some(ProblemKind {
        name: "http",
        title,
        status,
        meaning: "The HTTP layer answered the request before any operation of the API read it: the \
request line, its headers or its body could not be accepted as sent. `detail` says what was wrong.",
        remedy: if code.is_server_error() {
            "Retry later; if it persists, tell the operator the `x-request-id` of the response."
        } else {
            "Correct the request as `detail` says and send it again."
        },
    })
}

/// What a kind of problem means
///
/// The page a problem document's `type` (`/problems/{name}`) points to: what the problem means and
/// what to do about it, for a person reading the error. Needs no API key.
#[utoipa::path(
    tag = "problems",
    params(("name" = String, Path, description = "The last segment of a problem's `type`, such as `validation-error` or `http-413`", example = "validation-error")),
    responses(
        (status = 200, description = "The explanation, as an HTML page", body = String, content_type = "text/html"),
        (status = 404, description = "No such kind of problem", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/problems/{name}")]
pub async fn problem_page(request: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let listed = PROBLEM_KINDS.iter().find(|kind| kind.name == name.as_str());
    let kind = match listed {
        Some(kind) => *kind,
        None => match http_status_kind(&name) {
            Some(kind) => kind,
            None => return ApiError::NotFound(format!("no resource at {}", request.path())).error_response(),
        },
    };
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(render(&name, &kind))
}

fn render(name: &str, kind: &ProblemKind) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    let code = |text: &str| {
        // Backticks in the explanations mark names to type as they are.
        escape(text)
            .split('`')
            .enumerate()
            .map(
                |(index, part)| if index % 2 == 1 { format!("<code>{part}</code>") } else { part.to_owned() },
            )
            .collect::<String>()
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} ({status})</title>\n<link rel=\"stylesheet\" href=\"/dashboard/report.css\">\n</head>\n<body>\n\
<main class=\"problem-page\">\n<h1>{title}</h1>\n<p class=\"meta\">Problem type <code>/problems/{name}</code> · HTTP status {status}</p>\n\
<h2>What it means</h2>\n<p>{meaning}</p>\n<h2>What to do</h2>\n<p>{remedy}</p>\n\
<p class=\"meta\">Every error of this service is an RFC 9457 problem document (<code>application/problem+json</code>) \
with <code>type</code>, <code>title</code>, <code>status</code>, <code>detail</code> and, for invalid input, \
<code>errors</code>. The API documentation is at <a href=\"/docs/\">/docs/</a>.</p>\n</main>\n</body>\n</html>\n",
        title = escape(kind.title),
        status = kind.status,
        name = escape(name),
        meaning = code(kind.meaning),
        remedy = code(kind.remedy),
    )
}
