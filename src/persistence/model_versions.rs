//! Model versions: each version's model document and result dictionary, stored once by the first
//! service that runs the version and never changed afterwards (a trigger refuses it).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use sqlx::PgPool;

use super::packing::{PackedDocument, Packing};
use super::result_codec::Dictionary;
use super::{PersistenceError, RowScope, with_connection};
use crate::scoring::{Model, Profile, REFERENCE_PROGRAMS, parse_profile, reference_programs};

/// Dictionaries already read, by model version. A stored dictionary never changes, so a version's
/// entry stays right for as long as the process runs.
static DICTIONARIES: LazyLock<RwLock<HashMap<String, Arc<Dictionary>>>> = LazyLock::new(Default::default);

/// Packing dictionaries already read and prepared, by model version; immutable like the above.
static PACKINGS: LazyLock<RwLock<HashMap<String, Arc<Packing>>>> = LazyLock::new(Default::default);

/// Stores the current model version's document and dictionary unless the version is stored
/// already, and reads back the stored dictionary, which the writers compact against: an earlier
/// build of the same version may have learnt a different one, and every result of the version
/// must hydrate with what the table holds.
pub async fn register_current(pool: &PgPool) -> Result<(), PersistenceError> {
    let model = Model::current();
    let version = model.version();
    let mut document = serde_json::to_value(model.document())
        .map_err(|error| PersistenceError::Encoding(error.to_string()))?;
    // The labels are presentation, written from the code's enum documentation rather than the
    // model data, so they can change within a version; the stored document of a version is the
    // model alone and never changes.
    if let Some(fields) = document.as_object_mut() {
        fields.remove("labels");
    }
    let dictionary = learn(model, &document);
    with_connection(pool, RowScope::Service, async |connection| {
        register_on(connection, model, version, &document, &dictionary).await
    })
    .await
}

async fn register_on(
    connection: &mut sqlx::PgConnection,
    model: &Model,
    version: &str,
    document: &serde_json::Value,
    dictionary: &Dictionary,
) -> Result<(), PersistenceError> {
    sqlx::query(
        "INSERT INTO model_versions (version, document, dictionary) VALUES ($1, $2, $3)
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(version)
    .bind(document)
    .bind(dictionary.to_json())
    .execute(&mut *connection)
    .await?;
    let dictionary = dictionary_of(connection, version)
        .await?
        .ok_or_else(|| PersistenceError::Encoding(format!("model version {version} was not stored")))?;
    let packing = Packing::dictionary_of(&packing_samples(model, &dictionary)?)
        .map_err(|error| PersistenceError::Encoding(error.to_string()))?;
    sqlx::query(
        "INSERT INTO packing_dictionaries (model_version, dictionary) VALUES ($1, $2)
         ON CONFLICT (model_version) DO NOTHING",
    )
    .bind(version)
    .bind(packing)
    .execute(&mut *connection)
    .await?;
    packing_of(connection, version).await?;
    Ok(())
}

/// The prepared packing dictionary of a model version; `None` when the version has none (its rows
/// are stored unpacked).
pub(super) async fn packing_of(
    connection: &mut sqlx::PgConnection,
    version: &str,
) -> Result<Option<Arc<Packing>>, PersistenceError> {
    if let Some(packing) = cached(&PACKINGS, version) {
        return Ok(Some(packing));
    }
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT dictionary FROM packing_dictionaries WHERE model_version = $1")
            .bind(version)
            .fetch_optional(connection)
            .await?;
    Ok(stored.map(|stored| remember(&PACKINGS, version, Packing::new(&stored))))
}

/// The dictionaries of `version` when this process has read both.
pub(super) fn cached_encoding(version: &str) -> Option<(Arc<Dictionary>, Arc<Packing>)> {
    Some((cached(&DICTIONARIES, version)?, cached(&PACKINGS, version)?))
}

/// A version's entry of a cache of immutable per-version data.
fn cached<T>(cache: &RwLock<HashMap<String, Arc<T>>>, version: &str) -> Option<Arc<T>> {
    cache.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(version).cloned()
}

fn remember<T>(cache: &RwLock<HashMap<String, Arc<T>>>, version: &str, value: T) -> Arc<T> {
    let value = Arc::new(value);
    cache.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(version.to_owned(), value.clone());
    value
}

/// What the packing dictionary of a model is made of: each reference program's profile as written
/// and its result compacted against the version's stored dictionary, packed as rows pack them.
///
/// Each compact result is also hydrated and compared, byte for byte, with the result: writers
/// store a compact form without reading it back (`Dictionary::compact` says why it reads back
/// the same), and this proves it once for each dictionary before any write, on the results the
/// dictionary was learnt for. A failure is a defect of the codec: the service does not start.
/// (Public for `benches/packing_levels.rs`, which packs against the same dictionary.)
pub fn packing_samples(
    model: &Model,
    dictionary: &Dictionary,
) -> Result<Vec<PackedDocument>, PersistenceError> {
    let mut samples = Vec::with_capacity(REFERENCE_PROGRAMS.len());
    for (name, json) in REFERENCE_PROGRAMS {
        let (Ok(profile), Ok(parsed)) = (serde_json::from_str(json), parse_profile(json.as_bytes())) else {
            continue;
        };
        let encoding = |error: &dyn std::fmt::Display| PersistenceError::Encoding(error.to_string());
        let result = serde_json::to_value(model.assess(&parsed)).map_err(|error| encoding(&error))?;
        let compact = dictionary.compact(&result);
        if let Some(compact) = &compact {
            let hydrated = dictionary.hydrate(compact).map_err(|error| encoding(&error))?;
            let bytes =
                |value: &serde_json::Value| serde_json::to_vec(value).map_err(|error| encoding(&error));
            if bytes(&hydrated)? != bytes(&result)? {
                return Err(PersistenceError::Encoding(format!(
                    "the compact result of reference program {name} does not read back as written under model version {}",
                    model.version()
                )));
            }
        }
        let whole = compact.is_none().then_some(result);
        samples.push(PackedDocument { profile, compact, whole });
    }
    Ok(samples)
}

/// The dictionary of a model version; `None` when the version has none (its results are all
/// stored whole).
pub(super) async fn dictionary_of(
    connection: &mut sqlx::PgConnection,
    version: &str,
) -> Result<Option<Arc<Dictionary>>, PersistenceError> {
    if let Some(dictionary) = cached(&DICTIONARIES, version) {
        return Ok(Some(dictionary));
    }
    let stored: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT dictionary FROM model_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(connection)
            .await?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let dictionary =
        Dictionary::from_json(&stored).map_err(|error| PersistenceError::Encoding(error.to_string()))?;
    Ok(Some(remember(&DICTIONARIES, version, dictionary)))
}

/// The result dictionary of `model`, learnt from its reference programs' results (and an empty
/// profile's), which show which field values are the same from one assessment to the next, and
/// from the texts of its `document`: what the service stores for a version it runs first, and
/// what the benchmarks compact against.
pub fn learn(model: &Model, document: &serde_json::Value) -> Dictionary {
    let samples: Vec<serde_json::Value> = reference_programs()
        .iter()
        .map(|(_, profile)| profile)
        .chain([&Profile::default()])
        .filter_map(|profile| serde_json::to_value(model.assess(profile)).ok())
        .collect();
    Dictionary::learn(&samples, document)
}

/// A claim of the evidence registry of a stored model version, as that version served it: `None`
/// when no such version is stored, `Some(None)` when the version has no such claim.
pub async fn evidence_claim(
    pool: &PgPool,
    version: &str,
    claim_id: &str,
) -> Result<Option<Option<serde_json::Value>>, PersistenceError> {
    // Model versions are shared by every organisation.
    let claim: Option<(Option<serde_json::Value>,)> = with_connection(pool, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(sqlx::query_as(
            "SELECT (SELECT claim FROM jsonb_array_elements(document -> 'evidence') claim WHERE claim ->> 'id' = $2)
             FROM model_versions WHERE version = $1",
        )
        .bind(version)
        .bind(claim_id)
        .fetch_optional(connection)
        .await?)
    })
    .await?;
    Ok(claim.map(|(claim,)| claim))
}
