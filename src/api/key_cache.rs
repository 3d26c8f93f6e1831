//! Keys verified recently, so that an authenticated request takes one pool connection (for its
//! work) instead of two.
//!
//! Under a flood every request used to wait in the pool's queue twice, once to authenticate and
//! once for its work (issue 20, finding 3). A cache is the smaller change: one pool connection per
//! request would have meant threading the authentication's connection through every handler and
//! query. A cache must not delay revocation, so:
//! - PostgreSQL announces every change to a key (`NOTIFY api_key_changed`, migration 0007), and a
//!   dedicated connection listening for it drops the key from the cache at once; a revocation
//!   through this service also drops it before the revocation is answered;
//! - while that connection is down, the cache is empty and unused (every request is verified in
//!   the database), and it starts empty again once the connection is back, so no announcement
//!   missed meanwhile can leave a revoked key cached;
//! - a lookup that raced with a change (read before, cached after) is not cached: every change
//!   moves a generation counter, and an entry is only stored if the counter has not moved since
//!   its lookup began.
//!
//! An entry holds the hash of the secret that was verified, so only that exact key hits: a wrong
//! secret for a cached id is looked up in the database like an unknown id. Entries live at most
//! [`TIME_TO_LIVE`], and at most [`CAPACITY`] are kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::{PresentedKey, Scopes};
use crate::persistence::OrganisationId;

/// How long a verified key is served from the cache before it is verified again.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(60);
/// Keys cached at most; more are verified in the database every time.
pub const CAPACITY: usize = 10_000;

/// A verified key, as authentication needs it.
#[derive(Clone, Debug)]
pub struct VerifiedKey {
    pub organisation: OrganisationId,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

struct Entry {
    secret_hash: [u8; 32],
    key: VerifiedKey,
    cached_at: Instant,
}

/// Where a lookup began: an entry is stored only if no key changed since.
#[derive(Clone, Copy, Debug)]
pub struct Generation(u64);

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<Uuid, Entry>>,
    generation: AtomicU64,
    armed: AtomicBool,
}

impl KeyCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key `presented` names, if it was verified recently with this very secret and has not
    /// expired since.
    pub fn get(&self, presented: &PresentedKey) -> Option<VerifiedKey> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries();
        let entry = entries.get(&presented.id)?;
        let fresh = entry.cached_at.elapsed() < TIME_TO_LIVE;
        let unexpired = entry.key.expires_at.is_none_or(|expires_at| expires_at > Utc::now());
        (fresh && unexpired && presented.verify(Some(&entry.secret_hash))).then(|| entry.key.clone())
    }

    /// Taken before a database lookup, for [`KeyCache::insert`].
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// Caches a key just verified in a lookup that began at `since`.
    pub fn insert(&self, since: Generation, presented: &PresentedKey, key: VerifiedKey) {
        if !self.armed.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries();
        // Checked under the lock that `forget` and `reset` also take, so no change slips between.
        if self.generation.load(Ordering::Acquire) != since.0 {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.cached_at.elapsed() < TIME_TO_LIVE);
            if entries.len() >= CAPACITY {
                return;
            }
        }
        entries.insert(
            presented.id,
            Entry { secret_hash: *presented.secret_hash(), key, cached_at: Instant::now() },
        );
    }

    /// A key changed (revoked, above all): it is verified in the database next time.
    pub fn forget(&self, id: Uuid) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&id);
    }

    /// Empties the cache and starts (`true`) or stops (`false`) using it: changes are announced
    /// again, or may be missed from now on.
    pub fn reset(&self, armed: bool) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        self.armed.store(armed, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::generate_key;

    fn verified() -> VerifiedKey {
        VerifiedKey { organisation: OrganisationId(Uuid::now_v7()), scopes: Scopes::all(), expires_at: None }
    }

    fn presented() -> PresentedKey {
        PresentedKey::parse(&generate_key().unwrap().token).unwrap()
    }

    #[test]
    fn only_the_verified_secret_hits_and_only_while_armed() {
        let cache = KeyCache::new();
        let key = presented();
        cache.insert(cache.generation(), &key, verified());
        assert!(cache.get(&key).is_none(), "not armed: nothing is cached");

        cache.reset(true);
        cache.insert(cache.generation(), &key, verified());
        assert!(cache.get(&key).is_some());
        let token = format!("mscr_{}_{}", key.id.simple(), "A".repeat(43));
        assert!(cache.get(&PresentedKey::parse(&token).unwrap()).is_none(), "another secret, same id");

        cache.reset(false);
        assert!(cache.get(&key).is_none(), "disarmed: emptied");
    }

    #[test]
    fn a_change_during_a_lookup_keeps_its_result_out() {
        let cache = KeyCache::new();
        cache.reset(true);
        let key = presented();
        let since = cache.generation();
        cache.forget(key.id);
        cache.insert(since, &key, verified());
        assert!(cache.get(&key).is_none());

        cache.insert(cache.generation(), &key, verified());
        cache.forget(key.id);
        assert!(cache.get(&key).is_none(), "forgotten");
    }

    #[test]
    fn an_expired_key_is_not_served() {
        let cache = KeyCache::new();
        cache.reset(true);
        let key = presented();
        let expired =
            VerifiedKey { expires_at: Some(Utc::now() - chrono::Duration::seconds(1)), ..verified() };
        cache.insert(cache.generation(), &key, expired);
        assert!(cache.get(&key).is_none());
    }
}
