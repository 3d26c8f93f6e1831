//! Who is calling: the API key of the request, authenticated, checked for the scope the handler
//! needs and rate-limited, in one place. A handler states the scope it needs in its signature
//! (`Caller<Write>`); `Caller` alone means `Caller<Read>`.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sqlx::PgPool;
use uuid::Uuid;

use super::auth_throttle::{AuthThrottle, ClientAddress};
use super::forwarded::TrustedProxies;
use super::key_cache::{KeyCache, VerifiedKey};
use super::observability::RequestId;
use super::problem::{ApiError, RateLimited};
use crate::access::{PresentedKey, Scope};
use crate::configuration::RateLimit;
use crate::persistence::rate_limits::{self, Bucket, BucketKind};
use crate::persistence::{Actor, OrganisationId, access};

/// The scope a handler requires, as a type.
pub trait RequiredScope {
    const SCOPE: Scope;
}

/// Reading: dashboards, lists, the model.
pub struct Read;
/// Changing the organisation's assessments and programs.
pub struct Write;
/// Managing keys and reading the audit trail.
pub struct Admin;

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}
impl RequiredScope for Write {
    const SCOPE: Scope = Scope::Write;
}
impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// An authenticated caller holding scope `S`. Every query of the request is scoped to its
/// organisation.
pub struct Caller<S: RequiredScope = Read> {
    pub organisation: OrganisationId,
    pub key_id: Uuid,
    request_id: Option<String>,
    scope: PhantomData<S>,
}

impl<S: RequiredScope> Caller<S> {
    /// The caller as the audit trail records it.
    pub fn actor(&self) -> Actor {
        Actor {
            organisation: self.organisation,
            key_id: Some(self.key_id),
            request_id: self.request_id.clone(),
        }
    }
}

impl<S: RequiredScope + 'static> FromRequest for Caller<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let authenticated = authenticate(&request).await?;
            if let Some(limiters) = request.app_data::<web::Data<RateLimiters>>() {
                limiters.check(authenticated.key_id, authenticated.organisation).await?;
            }
            if !authenticated.scopes_include(S::SCOPE) {
                return Err(ApiError::Forbidden { required: S::SCOPE });
            }
            Ok(Self {
                organisation: authenticated.organisation,
                key_id: authenticated.key_id,
                request_id: request.extensions().get::<RequestId>().map(|id| id.0.clone()),
                scope: PhantomData,
            })
        })
    }
}

struct Authenticated {
    organisation: OrganisationId,
    key_id: Uuid,
    scopes: crate::access::Scopes,
}

impl Authenticated {
    fn scopes_include(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}

/// Why a request is not authenticated; the text goes to the client, never the key.
fn unauthenticated(reason: &'static str) -> ApiError {
    ApiError::Unauthenticated { reason }
}

/// Authenticates the request's key: from the cache of recently verified keys, or else in the
/// database. Failures are counted by the failed-authentication throttle, which turns them into 429
/// once a client address or a key id has used its budget; an address over its budget is refused
/// before the key is looked up (a cached key still passes).
async fn authenticate(request: &HttpRequest) -> Result<Authenticated, ApiError> {
    let value = request.headers().get(header::AUTHORIZATION).ok_or(ApiError::MissingCredentials)?;
    let address = match request.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.client_address(request),
        None => request.peer_addr().map(|peer| peer.ip()),
    }
    .map(ClientAddress::from);
    let presented = presented_key(value);
    let cache = request.app_data::<web::Data<KeyCache>>();
    if let (Ok(presented), Some(cache)) = (&presented, cache)
        && let Some(key) = cache.get(presented)
    {
        return Ok(Authenticated {
            organisation: key.organisation,
            key_id: presented.id,
            scopes: key.scopes,
        });
    }
    let throttle = request.app_data::<web::Data<AuthThrottle>>();
    if let Some(throttle) = throttle {
        throttle.admit(address)?;
    }
    let key_id = presented.as_ref().ok().map(|presented| presented.id);
    let verified = match presented {
        Ok(presented) => verify(request, presented).await,
        Err(error) => Err(error),
    };
    match (verified, throttle) {
        (Err(error @ ApiError::Unauthenticated { .. }), Some(throttle)) => {
            Err(throttle.failed(address, key_id, error))
        }
        (verified, _) => verified,
    }
}

/// The key an `Authorization` header presents, parsed but not verified.
fn presented_key(value: &header::HeaderValue) -> Result<PresentedKey, ApiError> {
    let value = value.to_str().map_err(|_| unauthenticated("the Authorization header is not valid text"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <API key>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated("the Authorization header must be `Bearer <API key>`"));
    }
    PresentedKey::parse(token.trim()).ok_or_else(|| unauthenticated("invalid API key"))
}

/// Verifies the presented key against the stored one.
async fn verify(request: &HttpRequest, presented: PresentedKey) -> Result<Authenticated, ApiError> {
    let pool = request
        .app_data::<web::Data<PgPool>>()
        .ok_or_else(|| ApiError::Internal("no database pool configured".into()))?;
    let cache = request.app_data::<web::Data<KeyCache>>();
    let since = cache.map(|cache| cache.generation());
    let stored = access::credentials(pool, presented.id).await?;
    let secret_matches = presented.verify(stored.as_ref().map(|stored| stored.secret_hash.as_slice()));
    let stored = stored.filter(|_| secret_matches).ok_or_else(|| unauthenticated("invalid API key"))?;
    if stored.revoked_at.is_some() {
        return Err(unauthenticated("this API key has been revoked"));
    }
    if stored.expires_at.is_some_and(|expires_at| expires_at <= Utc::now()) {
        return Err(unauthenticated("this API key has expired"));
    }
    if let (Some(cache), Some(since)) = (cache, since) {
        let key = VerifiedKey {
            organisation: stored.organisation,
            scopes: stored.scopes.clone(),
            expires_at: stored.expires_at,
        };
        cache.insert(since, &presented, key);
    }
    Ok(Authenticated { organisation: stored.organisation, key_id: presented.id, scopes: stored.scopes })
}

/// Requests per API key and per organisation (all its keys together, so that more keys do not
/// buy more requests): token buckets (GCRA) refilled at a steady rate, with a burst allowance,
/// kept in the process or in PostgreSQL (shared by every instance on the database).
pub struct RateLimiters {
    per_key: Option<RateLimit>,
    per_organisation: Option<RateLimit>,
    store: BucketStore,
}

enum BucketStore {
    Memory {
        per_key: Option<DefaultKeyedRateLimiter<Uuid>>,
        per_organisation: Option<DefaultKeyedRateLimiter<Uuid>>,
    },
    Postgres(PgPool),
}

impl RateLimiters {
    pub fn new(per_key: Option<RateLimit>, per_organisation: Option<RateLimit>) -> Self {
        let limiter = |limit: RateLimit| {
            RateLimiter::keyed(Quota::per_second(limit.per_second).allow_burst(limit.burst))
        };
        let store = BucketStore::Memory {
            per_key: per_key.map(limiter),
            per_organisation: per_organisation.map(limiter),
        };
        Self { per_key, per_organisation, store }
    }

    /// The same limits, with their buckets in the database `pool` connects to.
    pub fn shared(per_key: Option<RateLimit>, per_organisation: Option<RateLimit>, pool: PgPool) -> Self {
        Self { per_key, per_organisation, store: BucketStore::Postgres(pool) }
    }

    async fn check(&self, key: Uuid, organisation: OrganisationId) -> Result<(), ApiError> {
        let too_many = |by, wait: Duration| ApiError::TooManyRequests {
            by,
            retry_after: wait.max(Duration::from_secs(1)),
        };
        match &self.store {
            BucketStore::Memory { per_key, per_organisation } => {
                let buckets = [
                    (per_key, key, RateLimited::Key),
                    (per_organisation, organisation.0, RateLimited::Organisation),
                ];
                for (limiter, id, by) in buckets {
                    if let Some(limiter) = limiter
                        && let Err(not_until) = limiter.check_key(&id)
                    {
                        return Err(too_many(by, not_until.wait_time_from(DefaultClock::default().now())));
                    }
                }
                Ok(())
            }
            BucketStore::Postgres(pool) => {
                let limited = [
                    (self.per_key, BucketKind::Key, key, RateLimited::Key),
                    (
                        self.per_organisation,
                        BucketKind::Organisation,
                        organisation.0,
                        RateLimited::Organisation,
                    ),
                ];
                let asked: Vec<_> = limited
                    .into_iter()
                    .filter_map(|(limit, kind, id, by)| Some((limit?, kind, id, by)))
                    .collect();
                if asked.is_empty() {
                    return Ok(());
                }
                let buckets: Vec<Bucket> = asked
                    .iter()
                    .map(|&(limit, kind, id, _)| {
                        let interval = Duration::from_secs(1) / limit.per_second.get();
                        Bucket { kind, id, interval, tolerance: interval * (limit.burst.get() - 1) }
                    })
                    .collect();
                match rate_limits::take_request(pool, &buckets).await? {
                    Some(refusal) => {
                        let by = asked.get(refusal.index).map_or(RateLimited::Key, |&(_, _, _, by)| by);
                        Err(too_many(by, refusal.retry_after))
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Forgets keys and organisations whose buckets are full again, so the state stays as small
    /// as the set of recently active ones.
    pub async fn forget_idle(&self) {
        match &self.store {
            BucketStore::Memory { per_key, per_organisation } => {
                for limiter in [per_key, per_organisation].into_iter().flatten() {
                    limiter.retain_recent();
                }
            }
            BucketStore::Postgres(pool) => {
                if let Err(error) = rate_limits::forget_full_buckets(pool).await {
                    tracing::warn!(%error, "could not forget full rate-limit buckets");
                }
            }
        }
    }
}
