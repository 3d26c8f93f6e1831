//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use super::assessments::{Order, SortBy, View};

/// Top-level metadata of the API; paths and schemas are collected from the registered handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "MSC Translational Readiness API",
        description = "Scores a mesenchymal stem/stromal cell (MSC) therapy program against the barriers that keep such \
therapies from reaching patients (cell survival, retention, source and manufacturing variability, scalability, safety, \
outcome measures, regulatory readiness), explains every point of the score with the evidence behind it, and stores each \
assessment for comparison, trend tracking and dashboards. Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    // Query-parameter enums are referenced by `IntoParams` but not collected from it.
    components(schemas(SortBy, Order, View)),
    tags(
        (name = "assessments", description = "Score program profiles, store, list, compare and re-score assessments"),
        (name = "programs", description = "Programs and their assessment histories"),
        (name = "model", description = "The scoring model and its evidence registry"),
        (name = "operations", description = "Health, readiness and metrics for operators"),
    )
)]
struct ApiDoc;

/// The complete OpenAPI document of the service, as served at `/openapi.json`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut spec) =
        App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(super::configure).split_for_parts();
    document_service_failures(&mut spec);
    spec
}

/// Adds the failures any operation can meet to every operation that does not document them
/// itself, so that no handler has to repeat them: `504` past the request deadline, and `503`
/// when the database is unavailable (all but the two operations that never touch it).
fn document_service_failures(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{Content, Object, Ref, RefOr, ResponseBuilder, Type};

    let failure = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(Object::with_type(Type::Integer)))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .build()
    };
    let unavailable = failure(
        "The database is unavailable (down, refusing connections, or every connection busy for longer \
than the acquire timeout); retry after `Retry-After` seconds, with the same Idempotency-Key for a POST",
    );
    let deadline = failure(
        "The request did not complete within the request deadline; its work was cancelled. Retry after \
`Retry-After` seconds, with the same Idempotency-Key for a POST",
    );
    for (path, item) in &mut spec.paths.paths {
        let touches_database = !matches!(path.as_str(), "/healthz" | "/metrics");
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            if touches_database {
                responses.entry("503".into()).or_insert_with(|| RefOr::T(unavailable.clone()));
            }
            responses.entry("504".into()).or_insert_with(|| RefOr::T(deadline.clone()));
        }
    }
}
