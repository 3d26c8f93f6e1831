//! The scoring model itself, for anyone who wants to check how a score is built.

use actix_web::{get, web};

use super::caller::Caller;
use super::problem::{ApiError, Problem};
use crate::scoring::{Evidence, Model, ModelDocument};

/// The current scoring model
///
/// Barriers, factors, weights, value maps, caps, evidence with citations and verification status,
/// mitigations and indication profiles, with the model version and changelog.
#[utoipa::path(security(("api_key" = ["read"])), tag = "model", responses((status = 200, description = "The model document", body = ModelDocument)))]
#[get("/model")]
pub async fn get_model(_caller: Caller) -> web::Json<ModelDocument> {
    web::Json(Model::current().document())
}

/// The evidence registry
///
/// Every claim the model rests on: the citation exactly as the source wrote it, where it comes
/// from, and whether it was verified (claims found outdated or wrong are never used as support).
#[utoipa::path(security(("api_key" = ["read"])), tag = "model", responses((status = 200, description = "The evidence registry", body = Vec<Evidence>)))]
#[get("/model/evidence")]
pub async fn get_evidence(_caller: Caller) -> web::Json<Vec<Evidence>> {
    web::Json(Model::current().evidence().to_vec())
}

/// One claim of the evidence registry
///
/// Resolves a `claim_id` that an assessment cites to its registry entry: the claim, the citation
/// exactly as the source wrote it, where it comes from and its verification status.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "model",
    params(("id" = String, Path, description = "Claim id, as an assessment's `evidence[].claim_id` names it", example = "RT-01")),
    responses(
        (status = 200, description = "The registry entry", body = Evidence),
        (status = 404, description = "No claim with this id in the current model version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/model/evidence/{id}")]
pub async fn get_evidence_claim(
    _caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<Evidence>, ApiError> {
    Model::current().evidence().iter().find(|claim| claim.id == *id).cloned().map(web::Json).ok_or_else(
        || ApiError::NotFound(format!("no claim {id} in model version {}", Model::current().version())),
    )
}
