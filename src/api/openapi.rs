//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use super::assessments::{Order, SortBy, View};
use super::stats::{AssessmentSelection, GroupBy, TimeInterval};

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
    components(schemas(SortBy, Order, View, AssessmentSelection, GroupBy, TimeInterval)),
    tags(
        (name = "assessments", description = "Score program profiles, store, list, compare and re-score assessments"),
        (name = "programs", description = "Programs and their assessment histories"),
        (name = "statistics", description = "Aggregates of the stored assessments for dashboards, as flat JSON tables"),
        (name = "exports", description = "The assessment list as streamed CSV or NDJSON files"),
        (name = "model", description = "The scoring model and its evidence registry"),
        (name = "operations", description = "Health, readiness and metrics for operators"),
    )
)]
struct ApiDoc;

/// The complete OpenAPI document of the service, as served at `/openapi.json`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, spec) =
        App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(super::configure).split_for_parts();
    spec
}
