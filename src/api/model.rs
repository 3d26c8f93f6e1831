//! The scoring model itself, for anyone who wants to check how a score is built.

use actix_web::{get, web};

use super::caller::Caller;
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
