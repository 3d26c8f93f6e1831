//! The scoring model itself, for anyone who wants to check how a score is built.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;

use super::caller::Caller;
use super::problem::{ApiError, Problem};
use crate::persistence::model_versions;
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

/// Which model version's registry a claim is read from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimParameters {
    /// The model version whose registry to read (an assessment's `model_version`), as that version
    /// served it; default: the current version.
    #[param(example = "2.1.0", pattern = r"^[^\u0000]*$")]
    pub model_version: Option<String>,
}

/// One claim of the evidence registry
///
/// Resolves a `claim_id` that an assessment cites (or, with `evidence=ids`, an item of its
/// evidence lists) to its registry entry: the claim, the citation exactly as the source wrote it,
/// where it comes from and its verification status. Give the assessment's `model_version` to
/// read the registry it was scored against.
#[utoipa::path(
    security(("api_key" = ["read"])),
    tag = "model",
    params(("id" = String, Path, description = "Claim id, as an assessment's `evidence[].claim_id` names it", example = "RT-01"), ClaimParameters),
    responses(
        (status = 200, description = "The registry entry", body = Evidence),
        (status = 400, description = "Invalid or unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No claim with this id in the model version, or no such model version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/model/evidence/{id}")]
pub async fn get_evidence_claim(
    _caller: Caller,
    id: web::Path<String>,
    parameters: web::Query<ClaimParameters>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let current = Model::current();
    let no_claim = |version: &str| ApiError::NotFound(format!("no claim {id} in model version {version}"));
    let version = super::filters::text_filter("model_version", parameters.into_inner().model_version)?;
    match version.as_deref() {
        None => {}
        Some(version) if version == current.version() => {}
        Some(version) => {
            // Another version's registry as it served it: its stored model document.
            return match model_versions::evidence_claim(&pool, version, &id).await? {
                None => Err(ApiError::NotFound(format!("no model version {version} is stored"))),
                Some(None) => Err(no_claim(version)),
                Some(Some(claim)) => Ok(HttpResponse::Ok().json(claim)),
            };
        }
    }
    let claim =
        current.evidence().iter().find(|claim| claim.id == *id).ok_or_else(|| no_claim(current.version()))?;
    Ok(HttpResponse::Ok().json(claim))
}
