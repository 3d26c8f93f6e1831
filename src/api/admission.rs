//! Admission control: at most `MAX_REQUESTS_IN_FLIGHT` API requests are served at once; more wait
//! up to `ADMISSION_WAIT_MS` in arrival order, then get `503` "overloaded" with `Retry-After`.
//!
//! Without a bound, a flood of connections put every request in the database pool's queue at
//! once: each waited there twice (authentication, then its work), most past the acquire timeout,
//! and at 1,500 connections 97.6 % of writes failed with a 503 that blamed the database (issue 20,
//! finding 3). A request refused here costs no database connection, no authentication and no body
//! read, and the answer says what happened. Waiting briefly, rather than refusing at once, keeps
//! a flood's clients from retrying in a tight loop that would take the cores from the admitted
//! requests. Liveness, readiness, metrics and the static pages are not API requests and are always
//! answered.

use std::sync::Arc;
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tokio::sync::Semaphore;

use super::problem::ApiError;

/// The permits for requests in flight, shared by all workers.
#[derive(Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
    wait: Duration,
}

impl Admission {
    pub fn new(limit: usize, wait: Duration) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit)), limit, wait }
    }
}

/// Serves the request when a permit is free within the wait, else answers 503 "overloaded".
pub async fn admit(
    admission: Admission,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !request.path().starts_with("/v1/") {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let permit = match admission.permits.clone().try_acquire_owned() {
        Ok(permit) => Ok(Ok(permit)),
        Err(_) => tokio::time::timeout(admission.wait, admission.permits.clone().acquire_owned()).await,
    };
    match permit {
        Ok(Ok(_permit)) => Ok(next.call(request).await?.map_into_left_body()),
        _ => {
            let response = ApiError::Overloaded { in_flight: admission.limit }.error_response();
            Ok(request.into_response(response).map_into_right_body())
        }
    }
}
