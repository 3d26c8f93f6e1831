//! Access control without I/O: API key scopes, the format of a key, and its verification.
//!
//! A key reads `mscr_<key id>_<secret>`: the id (32 hex digits) finds the stored key, and the
//! secret (32 random bytes, base64url) is checked against its stored SHA-256 hash in constant
//! time. A fast hash is enough because the secret is random and 256 bits long; a password hash
//! would only slow down every request.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use utoipa::ToSchema;
use uuid::Uuid;

const PREFIX: &str = "mscr_";
const SECRET_BYTES: usize = 32;
/// What an unknown key id's secret is compared against; never accepted, whatever it equals.
const ABSENT_KEY_HASH: [u8; 32] = [0; 32];

/// What a key may do. Scopes are independent: a key has each one it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read assessments, programs, the model, aggregates and exports; score without storing.
    Read,
    /// Submit, re-score and delete assessments; create programs.
    Write,
    /// Manage the organisation's API keys and read its audit trail.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A non-empty set of scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Option<Self> {
        let set: BTreeSet<Scope> = scopes.into_iter().collect();
        (!set.is_empty()).then_some(Self(set))
    }

    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Parses a comma-separated list such as `read,write`.
    pub fn parse_list(text: &str) -> Result<Self, String> {
        let scopes = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                Scope::parse(part)
                    .ok_or_else(|| format!("unknown scope `{part}`, expected read, write or admin"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(scopes).ok_or_else(|| "at least one scope is needed".to_owned())
    }
}

/// A freshly generated key: the token is shown to its owner once; only the hash is stored.
pub struct GeneratedKey {
    pub id: Uuid,
    pub token: String,
    pub secret_hash: [u8; 32],
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("GeneratedKey").field("id", &self.id).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomnessUnavailable(String);

/// Generates a new key from the operating system's random number generator.
pub fn generate_key() -> Result<GeneratedKey, RandomnessUnavailable> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|error| RandomnessUnavailable(error.to_string()))?;
    let id = Uuid::now_v7();
    let token = format!("{PREFIX}{}_{}", id.simple(), URL_SAFE_NO_PAD.encode(secret));
    Ok(GeneratedKey { id, token, secret_hash: Sha256::digest(secret).into() })
}

/// A key as presented by a caller, parsed but not yet verified.
pub struct PresentedKey {
    pub id: Uuid,
    secret_hash: [u8; 32],
}

impl PresentedKey {
    /// Parses a presented token; `None` when it cannot be one of ours.
    pub fn parse(token: &str) -> Option<Self> {
        let rest = token.strip_prefix(PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        if id.len() != 32 {
            return None;
        }
        let id = Uuid::try_parse(id).ok()?;
        let secret = URL_SAFE_NO_PAD.decode(secret).ok().filter(|bytes| bytes.len() == SECRET_BYTES)?;
        Some(Self { id, secret_hash: Sha256::digest(&secret).into() })
    }

    /// The SHA-256 hash of the presented secret, as it is stored for a key.
    pub fn secret_hash(&self) -> &[u8; 32] {
        &self.secret_hash
    }

    /// Whether the secret matches the stored hash of the key with the presented id (`None`: no
    /// such key), compared in constant time. An unknown id is compared against a stand-in hash,
    /// so that it takes the same work as a wrong secret and timing does not tell them apart.
    pub fn verify(&self, stored_hash: Option<&[u8]>) -> bool {
        let found = Choice::from(u8::from(stored_hash.is_some()));
        let stored_hash = stored_hash.unwrap_or(&ABSENT_KEY_HASH);
        let equal = if stored_hash.len() == self.secret_hash.len() {
            self.secret_hash.ct_eq(stored_hash)
        } else {
            Choice::from(0)
        };
        bool::from(found & equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_verifies_and_a_changed_one_does_not() {
        let key = generate_key().unwrap();
        let presented = PresentedKey::parse(&key.token).unwrap();
        assert_eq!(presented.id, key.id);
        assert!(presented.verify(Some(&key.secret_hash)));
        assert!(!presented.verify(None), "an unknown id never verifies");

        let mut tampered = key.token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        // The last character of 43 base64 digits carries only 4 bits; changing it may still
        // decode to another secret, which must not verify.
        if let Some(tampered) = PresentedKey::parse(&tampered) {
            assert!(!tampered.verify(Some(&key.secret_hash)));
        }
    }

    #[test]
    fn two_keys_differ() {
        let (a, b) = (generate_key().unwrap(), generate_key().unwrap());
        assert_ne!(a.token, b.token);
        assert_ne!(a.secret_hash, b.secret_hash);
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for token in ["", "mscr_", "mscr_abc_def", "Bearer x", "mscr_0190_AAAA", "other_0000"] {
            assert!(PresentedKey::parse(token).is_none(), "{token}");
        }
    }

    #[test]
    fn scope_lists_parse() {
        assert_eq!(
            Scopes::parse_list("read, write").unwrap(),
            Scopes::new([Scope::Read, Scope::Write]).unwrap()
        );
        assert!(Scopes::parse_list("").is_err());
        assert!(Scopes::parse_list("read,delete").is_err());
    }
}
