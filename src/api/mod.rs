//! The HTTP layer: handlers translate HTTP to domain and persistence calls and back.

pub mod health;
pub mod metrics;
pub mod observability;
pub mod openapi;
pub mod problem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route. Only `.service(...)` registrations reach the OpenAPI spec.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics);
}
