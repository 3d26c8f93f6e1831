//! Liveness, readiness and metrics for operators and orchestrators.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use prometheus::{Encoder, TextEncoder};
use serde::Serialize;
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::problem::{ApiError, Problem};
use crate::persistence;

/// How long `/readyz` waits for the database before reporting it unreachable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Health status.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `alive` for `/healthz`, `ready` for `/readyz`.
    #[schema(example = "ready")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving HTTP.
///
/// Does not touch the database, so an orchestrator never restarts the service for a database outage.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "alive" })
}

/// How long after a write refused for lack of disk space `/readyz` still reports the disk full.
const STORAGE_FULL_WINDOW: Duration = Duration::from_secs(30);

/// Readiness: the database answers within one second, and has not refused a write for lack of
/// disk space in the last 30 seconds.
///
/// A full disk leaves reads working, so the check that the database answers is not enough: the
/// service remembers the last write the database refused for lack of space.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve requests", body = Health),
        (status = 503, description = "The database is unreachable (`/problems/service-unavailable`), or its disk is full (`/problems/storage-full`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
#[get("/readyz")]
pub async fn readyz(pool: web::Data<PgPool>) -> Result<web::Json<Health>, ApiError> {
    persistence::ping(&pool, READINESS_TIMEOUT).await?;
    if persistence::storage_full_within(STORAGE_FULL_WINDOW) {
        return Err(ApiError::StorageFull);
    }
    Ok(web::Json(Health { status: "ready" }))
}

/// The operators' token for `/metrics`, from `METRICS_TOKEN`. Metrics span every organisation, so
/// no organisation's API key opens them.
pub struct MetricsToken(pub String);

impl MetricsToken {
    fn verify(&self, request: &HttpRequest) -> Result<(), ApiError> {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::MissingCredentials)?
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated { reason: "invalid metrics token" })?;
        if bool::from(presented.as_bytes().ct_eq(self.0.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::Unauthenticated { reason: "invalid metrics token" })
        }
    }
}

/// Prometheus metrics: requests by route and status, latency histogram, database pool use.
///
/// Needs the operators' `METRICS_TOKEN` as a bearer token; without that setting, metrics are off
/// and every request gets 401.
#[utoipa::path(
    tag = "operations",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    request: HttpRequest,
    token: Option<web::Data<MetricsToken>>,
    registry: web::Data<prometheus::Registry>,
) -> Result<HttpResponse, ApiError> {
    // No token opens metrics that are off: 401, as for a wrong token, with the reason.
    let token = token.ok_or(ApiError::Unauthenticated {
        reason: "metrics are off; the operator enables them by setting METRICS_TOKEN",
    })?;
    token.verify(&request)?;
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    encoder.encode(&registry.gather(), &mut body).map_err(|error| ApiError::Internal(Box::new(error)))?;
    Ok(HttpResponse::Ok().content_type(encoder.format_type()).body(body))
}
