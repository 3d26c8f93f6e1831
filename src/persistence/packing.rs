//! The stored form of an assessment's profile and result: one zstd frame, compressed against a
//! dictionary of its model version.
//!
//! A compact result (see `result_codec`) still repeats what every assessment of a program type
//! says (inputs read, levels, states) and the profile repeats the field names and values of every
//! profile; both compress well against examples of themselves. zstd with a raw-content dictionary
//! (the reference programs' own profiles and compact results, stored once per model version in
//! `packing_dictionaries`) takes the validation cases (real programs, none in the dictionary) from
//! about 7 KB (lz4 jsonb) to about 2.3 KB, for ~110 µs per row to write and ~6 µs to read.

use std::cell::RefCell;
use std::io;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::{CParameter, DictAttachPref};

/// Measured on the 27 validation cases' documents (15 KB of JSON each on average) against their
/// version's dictionary: level 3 packs them to 2,614 B in 52 µs, level 5 to 2,291 B in 112 µs,
/// level 9 to 2,199 B in 263 µs. Level 3: in the service, level 5's match finder was the largest
/// single cost of a write (11 % of its CPU under load, profiled with perf); level 3 took the
/// service's CPU per write down ~5 % for ~320 B more a row. A table of the 27 cases takes 4,403 B a
/// row in all (indexes and TOAST included, `bench/load.sh`), inside the 5 KB a row allowed; one of
/// the larger profiles (8.4 KB as received) alone takes 5,674 B (BENCHMARKS.md, issue 16, 13th round).
/// Not level 1 or 2 (`cargo bench --bench packing_levels`, 16th round): their smaller tables lose
/// the long matches into the dictionary, so a document close to a reference program's packs to
/// about 250 B instead of 37 B, for 2-15 % less time.
const LEVEL: i32 = 3;

/// A packed document never unpacks to more than this: a result is under 200 KB, so a frame that
/// claims more is corrupt, not data.
const MAX_UNPACKED_BYTES: usize = 8 << 20;

/// Why a packed document cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PackingError {
    #[error("zstd: {0}")]
    Compression(#[from] io::Error),
    #[error("packed document: {0}")]
    Document(#[from] serde_json::Error),
    #[error("packed document: {0}")]
    Writing(#[from] crate::json_writer::WriteError),
}

/// What one row packs: the profile as received, and the result compact or, when the dictionary of
/// its version cannot round-trip it, whole.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct PackedDocument {
    pub profile: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<Value>,
}

/// A [`PackedDocument`] to pack, borrowed, its compact result already written as JSON (the
/// compaction writes it so): packing needs no copy of the profile and no tree of the result.
#[derive(Clone, Copy)]
pub struct DocumentToPack<'a> {
    pub profile: &'a Value,
    pub compact: Option<&'a [u8]>,
    pub whole: Option<&'a Value>,
}

impl DocumentToPack<'_> {
    /// The document's JSON: the bytes serde_json writes for the [`PackedDocument`] it stands for
    /// (its members in declaration order, an absent one left out).
    fn to_json(self) -> Result<Vec<u8>, PackingError> {
        let mut json = Vec::with_capacity(4096 + self.compact.map_or(0, <[u8]>::len));
        json.extend_from_slice(b"{\"profile\":");
        crate::json_writer::write(&mut json, self.profile)?;
        if let Some(compact) = self.compact {
            json.extend_from_slice(b",\"compact\":");
            json.extend_from_slice(compact);
        }
        if let Some(whole) = self.whole {
            json.extend_from_slice(b",\"whole\":");
            crate::json_writer::write(&mut json, whole)?;
        }
        json.push(b'}');
        Ok(json)
    }
}

/// The prepared dictionaries of one model version. They live as long as the process: the service
/// prepares each version's once and keeps it (`model_versions`), and living that long lets every
/// thread keep one compression and one decompression context for all of them (below).
pub struct Packing {
    encoder: &'static EncoderDictionary<'static>,
    decoder: &'static DecoderDictionary<'static>,
}

thread_local! {
    /// A zstd context is ~1 MB of tables to allocate (and for the kernel to zero) and set up:
    /// making one per row was 3-4 % of a write's CPU (perf of the import worker: `ZSTD_createCCtx`,
    /// `clear_page_erms`). Each thread keeps one of each and points it at the row's dictionary.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

impl Packing {
    /// Prepares `dictionary` (raw content: any bytes) for packing and unpacking, for the rest of
    /// the process (see above: the service does so once per model version).
    pub fn new(dictionary: &[u8]) -> Self {
        Self {
            encoder: Box::leak(Box::new(EncoderDictionary::copy(dictionary, LEVEL))),
            decoder: Box::leak(Box::new(DecoderDictionary::copy(dictionary))),
        }
    }

    /// The dictionary to store for a model version: the documents of its samples (the reference
    /// programs), one after the other.
    pub fn dictionary_of(samples: &[PackedDocument]) -> Result<Vec<u8>, PackingError> {
        let mut dictionary = Vec::new();
        for sample in samples {
            serde_json::to_writer(&mut dictionary, sample)?;
        }
        Ok(dictionary)
    }

    pub fn pack(&self, document: DocumentToPack<'_>) -> Result<Vec<u8>, PackingError> {
        self.compress(&document.to_json()?)
    }

    /// Packs a document held whole (a sample, a test's).
    pub fn pack_document(&self, document: &PackedDocument) -> Result<Vec<u8>, PackingError> {
        self.compress(&crate::json_writer::to_vec(document)?)
    }

    fn compress(&self, json: &[u8]) -> Result<Vec<u8>, PackingError> {
        COMPRESSOR.with_borrow_mut(|compressor| {
            let compressor = match compressor {
                Some(compressor) => compressor,
                None => {
                    let mut fresh = zstd::bulk::Compressor::new(LEVEL)?;
                    // Four bytes a row buy the certainty that a stored document reads back as written.
                    fresh.include_checksum(true)?;
                    // Refer to the prepared dictionary's tables instead of copying them (768 KiB at
                    // this level) into the context for each document over 16 KB, as zstd does by
                    // default: the copy was 7 % of the service's CPU on a write of a real program.
                    fresh.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))?;
                    compressor.insert(fresh)
                }
            };
            compressor.set_prepared_dictionary(self.encoder)?;
            Ok(compressor.compress(json)?)
        })
    }

    pub fn unpack(&self, packed: &[u8]) -> Result<PackedDocument, PackingError> {
        Ok(serde_json::from_slice(&self.unpack_json(packed)?)?)
    }

    /// The profile of a packed document alone: a re-score reads nothing else, and parsing the
    /// result too cost more than the profile.
    pub fn unpack_profile(&self, packed: &[u8]) -> Result<Value, PackingError> {
        #[derive(Deserialize)]
        struct ProfileOnly {
            profile: Value,
        }
        let document: ProfileOnly = serde_json::from_slice(&self.unpack_json(packed)?)?;
        Ok(document.profile)
    }

    fn unpack_json(&self, packed: &[u8]) -> Result<Vec<u8>, PackingError> {
        DECOMPRESSOR.with_borrow_mut(|decompressor| {
            let decompressor = match decompressor {
                Some(decompressor) => decompressor,
                None => decompressor.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.set_prepared_dictionary(self.decoder)?;
            Ok(decompressor.decompress(packed, MAX_UNPACKED_BYTES)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(score: f64) -> PackedDocument {
        PackedDocument {
            profile: json!({"profile_version": "2", "program": {"indication": "intervertebral_disc_degeneration"}}),
            compact: Some(
                json!({"overall": {"readiness_index": score}, "barriers": [{"barrier": "survival"}]}),
            ),
            whole: None,
        }
    }

    #[test]
    fn a_packed_document_unpacks_to_itself_and_is_smaller_with_its_dictionary() {
        let dictionary = Packing::dictionary_of(&[document(40.0), document(60.0)]).unwrap();
        let packing = Packing::new(&dictionary);
        let original = document(52.5);
        let packed = packing.pack_document(&original).unwrap();
        assert_eq!(packing.unpack(&packed).unwrap(), original);
        assert_eq!(packing.unpack_profile(&packed).unwrap(), original.profile);
        let without = Packing::new(b"").pack_document(&original).unwrap();
        assert!(
            packed.len() < without.len(),
            "{} bytes with the dictionary, {} without",
            packed.len(),
            without.len()
        );
    }

    #[test]
    fn a_document_with_its_result_written_packs_the_bytes_of_the_whole_document() {
        let whole = document(52.5);
        let compact = crate::json_writer::to_vec(whole.compact.as_ref().unwrap()).unwrap();
        let borrowed = DocumentToPack { profile: &whole.profile, compact: Some(&compact), whole: None };
        assert_eq!(borrowed.to_json().unwrap(), serde_json::to_vec(&whole).unwrap());
        let stored_whole = PackedDocument { compact: None, whole: whole.compact.clone(), ..whole };
        let borrowed = DocumentToPack {
            profile: &stored_whole.profile,
            compact: None,
            whole: stored_whole.whole.as_ref(),
        };
        assert_eq!(borrowed.to_json().unwrap(), serde_json::to_vec(&stored_whole).unwrap());
    }

    #[test]
    fn corrupt_or_foreign_bytes_are_an_error_not_a_panic() {
        let packing = Packing::new(&Packing::dictionary_of(&[document(40.0)]).unwrap());
        assert!(packing.unpack(b"not zstd").is_err());
        let mut packed = packing.pack_document(&document(1.0)).unwrap();
        let middle = packed.len() / 2;
        packed[middle] ^= 0xff;
        packed.truncate(packed.len() - 1);
        assert!(packing.unpack(&packed).is_err());
        let other = Packing::new(b"another dictionary entirely, with other content in it");
        assert!(other.unpack(&packing.pack_document(&document(1.0)).unwrap()).is_err());
    }
}
