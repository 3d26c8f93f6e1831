//! Throttling of failed authentication, per client address and per presented key id.
//!
//! Invalid keys used to be answered at 3,500-19,600 401/s, each an index lookup, while a
//! legitimate client's p99 went from 5 to 193 ms (issue 20, finding 8). Each failure now takes a
//! token from two GCRA buckets (governor, as the per-key rate limit): one for the client address
//! (an IPv6 address counts by its /64, which one host usually holds whole), one for the key id
//! the token names. When the address's bucket is empty, the address is blocked until the next
//! token: its requests get 429 before any database work, except those carrying a key verified
//! recently (see `key_cache`), so a client sharing the address keeps working. When a key id's
//! bucket is empty, failed attempts with that id get 429 and a warning names it; the key's real
//! secret still authenticates, so guessing at an id cannot lock its holder out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use super::problem::{ApiError, ThrottledBy};
use crate::configuration::FailureBudget;
use crate::telemetry::Throttle;

/// Blocked addresses remembered at most; past it a failing address is still answered 429 on its
/// failures, only not before its database lookup. Bounds the memory an address spray can take.
const MAX_BLOCKED_ADDRESSES: usize = 100_000;

static ADDRESS_LOG: Throttle = Throttle::new();
static KEY_LOG: Throttle = Throttle::new();

/// A client as the throttle counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientAddress {
    V4(u32),
    /// The first 64 bits: the network of one host or site.
    V6Network(u64),
}

impl From<IpAddr> for ClientAddress {
    fn from(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6Network((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

pub struct AuthThrottle {
    by_address: Option<DefaultKeyedRateLimiter<ClientAddress>>,
    by_key: Option<DefaultKeyedRateLimiter<Uuid>>,
    blocked_until: Mutex<HashMap<ClientAddress, Instant>>,
}

impl AuthThrottle {
    pub fn new(budget: FailureBudget) -> Self {
        Self {
            by_address: budget.per_address.map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            by_key: budget.per_key.map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<ClientAddress, Instant>> {
        self.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(429)` while `address` is blocked: checked before any database work.
    pub fn admit(&self, address: Option<ClientAddress>) -> Result<(), ApiError> {
        let Some(address) = address else { return Ok(()) };
        let now = Instant::now();
        let mut blocked = self.blocked();
        match blocked.get(&address) {
            Some(&until) if until > now => {
                Err(ApiError::AuthenticationThrottled { by: ThrottledBy::Address, retry_after: until - now })
            }
            Some(_) => {
                blocked.remove(&address);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed authentication and turns its 401 into a 429 once the address or the key
    /// id has used its budget.
    pub fn failed(
        &self,
        address: Option<ClientAddress>,
        key_id: Option<Uuid>,
        unauthenticated: ApiError,
    ) -> ApiError {
        if let (Some(limiter), Some(address)) = (&self.by_address, address)
            && let Err(not_until) = limiter.check_key(&address)
        {
            let retry_after = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked();
            if blocked.len() < MAX_BLOCKED_ADDRESSES {
                blocked.insert(address, Instant::now() + retry_after);
            }
            drop(blocked);
            if let Some(suppressed) = ADDRESS_LOG.admit() {
                tracing::warn!(?address, suppressed, "failed authentications throttled for a client address");
            }
            return ApiError::AuthenticationThrottled { by: ThrottledBy::Address, retry_after };
        }
        if let (Some(limiter), Some(key_id)) = (&self.by_key, key_id)
            && let Err(not_until) = limiter.check_key(&key_id)
        {
            if let Some(suppressed) = KEY_LOG.admit() {
                tracing::warn!(%key_id, suppressed, "failed authentications throttled for a key id");
            }
            let retry_after = not_until.wait_time_from(DefaultClock::default().now());
            return ApiError::AuthenticationThrottled { by: ThrottledBy::Key, retry_after };
        }
        unauthenticated
    }

    /// Forgets full buckets and lapsed blocks, so the state stays as small as the set of clients
    /// failing right now.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.by_address {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.by_key {
            limiter.retain_recent();
        }
        let now = Instant::now();
        self.blocked().retain(|_, until| *until > now);
    }
}

/// How often [`AuthThrottle::forget_idle`] runs: a sprayed key id's bucket is full again within
/// seconds, so its entry can go.
pub const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn unauthenticated() -> ApiError {
        ApiError::Unauthenticated { reason: "invalid API key" }
    }

    #[test]
    fn an_address_is_blocked_after_its_budget_and_other_addresses_are_not() {
        let throttle = AuthThrottle::new(FailureBudget { per_address: NonZeroU32::new(3), per_key: None });
        let attacker = Some(ClientAddress::from("192.0.2.7".parse::<IpAddr>().unwrap()));
        let bystander = Some(ClientAddress::from("192.0.2.8".parse::<IpAddr>().unwrap()));
        for _ in 0..3 {
            assert!(throttle.admit(attacker).is_ok());
            assert!(matches!(
                throttle.failed(attacker, None, unauthenticated()),
                ApiError::Unauthenticated { .. }
            ));
        }
        assert!(matches!(
            throttle.failed(attacker, None, unauthenticated()),
            ApiError::AuthenticationThrottled { by: ThrottledBy::Address, .. }
        ));
        assert!(matches!(throttle.admit(attacker), Err(ApiError::AuthenticationThrottled { .. })));
        assert!(throttle.admit(bystander).is_ok());
    }

    #[test]
    fn a_key_id_is_throttled_on_failures_only() {
        let throttle = AuthThrottle::new(FailureBudget { per_address: None, per_key: NonZeroU32::new(2) });
        let key = Some(Uuid::now_v7());
        let other = Some(Uuid::now_v7());
        for _ in 0..2 {
            assert!(matches!(
                throttle.failed(None, key, unauthenticated()),
                ApiError::Unauthenticated { .. }
            ));
        }
        assert!(matches!(
            throttle.failed(None, key, unauthenticated()),
            ApiError::AuthenticationThrottled { by: ThrottledBy::Key, .. }
        ));
        assert!(matches!(throttle.failed(None, other, unauthenticated()), ApiError::Unauthenticated { .. }));
    }

    #[test]
    fn an_ipv6_host_counts_by_its_network() {
        let first = ClientAddress::from("2001:db8:1:2::1".parse::<IpAddr>().unwrap());
        let same_network = ClientAddress::from("2001:db8:1:2:ffff::9".parse::<IpAddr>().unwrap());
        let other_network = ClientAddress::from("2001:db8:1:3::1".parse::<IpAddr>().unwrap());
        assert_eq!(first, same_network);
        assert_ne!(first, other_network);
        assert_eq!(
            ClientAddress::from("::ffff:192.0.2.7".parse::<IpAddr>().unwrap()),
            ClientAddress::from("192.0.2.7".parse::<IpAddr>().unwrap())
        );
    }
}
