//! Who is calling: the organisation every query of the request is scoped to.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::persistence::OrganisationId;

/// The caller of a request. Until API keys exist, every caller acts for the default organisation;
/// handlers take a `Caller` so that authentication plugs in here alone.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub organisation: OrganisationId,
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(_request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(Self { organisation: OrganisationId::DEFAULT }))
    }
}
