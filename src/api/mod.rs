//! The HTTP layer: handlers translate HTTP to domain and persistence calls and back.

pub mod admission;
pub mod assessments;
pub mod auth_throttle;
pub mod caller;
pub mod charts;
pub mod content_coding;
pub mod deadline;
pub mod direct_read;
pub mod duplicate_keys;
pub mod evidence_form;
pub mod exports;
pub mod filters;
pub mod forwarded;
pub mod head_size;
pub mod health;
pub mod jobs;
pub mod json_body;
pub mod key_cache;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod observability;
pub mod openapi;
pub mod problem;
pub mod problem_pages;
pub mod profiles;
pub mod programs;
pub mod report;
pub mod routing;
pub mod security_headers;
mod shape_check;
pub mod stats;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route. Only `.service(...)` registrations reach the OpenAPI spec,
/// and each scope prefix is registered once (actix routes into the first matching scope only).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(problem_pages::problem_page)
        .service(
            scope("/v1")
                .service(assessments::score)
                .service(profiles::trial_from_registry)
                .service(charts::assessment_chart)
                .service(charts::program_trend)
                .service(assessments::create_assessment)
                .service(assessments::list_assessments)
                .service(assessments::get_assessment)
                .service(assessments::delete_assessment)
                .service(assessments::rescore_assessment)
                .service(assessments::compare_assessments)
                .service(report::assessment_report)
                .service(programs::create_program)
                .service(programs::list_programs)
                .service(programs::get_program)
                .service(programs::program_history)
                .service(model::get_model)
                .service(model::get_evidence)
                .service(model::get_evidence_claim)
                .service(keys::create_key)
                .service(keys::list_keys)
                .service(keys::get_key)
                .service(keys::revoke_key)
                .service(keys::audit_trail)
                .service(stats::summary)
                .service(stats::grouped)
                .service(stats::limiting_barriers)
                .service(stats::timeseries)
                .service(exports::export_csv)
                .service(exports::export_ndjson)
                .service(jobs::create_import)
                .service(jobs::create_rescore_job)
                .service(jobs::rescore_report)
                .service(jobs::list_jobs)
                .service(jobs::get_job)
                .service(jobs::job_errors)
                .service(jobs::cancel_job),
        );
}
