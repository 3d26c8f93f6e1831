//! A plain program (no harness) comparing zstd settings for the stored documents (issue 16,
//! sixteenth round): for each compression level from 1 to 5, with the prepared dictionary's
//! tables copied into the context (zstd's default for a document over its strategy's cutoff) or
//! attached (what `packing` asks for), the size and time of packing:
//! - the 27 back-test cases' documents (real programs, outside the dictionary): what a user stores;
//! - the reference programs' documents, which the dictionary is made of: what `bench/load.sh` posts.
//!
//! `cargo bench --bench packing_levels`; figures in BENCHMARKS.md. Timings are of a tight loop,
//! with the dictionary's tables hot in the caches: in the service, between requests, the copy costs
//! more than here (see BENCHMARKS.md).

use std::hint::black_box;
use std::time::Instant;

use msc_readiness::persistence::model_versions;
use msc_readiness::persistence::packing::{PackedDocument, Packing};
use msc_readiness::scoring::{Model, parse_profile};
use serde_json::Value;
use zstd::dict::EncoderDictionary;
use zstd::zstd_safe::{CParameter, DictAttachPref};

const ROUNDS: usize = 200;

fn main() {
    let model = Model::current();
    let dictionary = model_versions::learn(model, &serde_json::to_value(model.document()).unwrap());
    let samples = model_versions::packing_samples(model, &dictionary).unwrap();
    let packing_dictionary = Packing::dictionary_of(&samples).unwrap();
    let reference: Vec<Vec<u8>> = samples.iter().map(|sample| serde_json::to_vec(sample).unwrap()).collect();
    let mut cases = Vec::new();
    for entry in std::fs::read_dir("validation/cases").unwrap() {
        let case: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let profile = case["profile"].clone();
        let result = model.assess(&parse_profile(profile.to_string().as_bytes()).unwrap());
        let compact = serde_json::from_slice(&dictionary.compact_json(&result).unwrap().unwrap()).unwrap();
        cases.push(
            serde_json::to_vec(&PackedDocument { profile, compact: Some(compact), whole: None }).unwrap(),
        );
    }
    let average = |documents: &[Vec<u8>]| documents.iter().map(Vec::len).sum::<usize>() / documents.len();
    println!(
        "dictionary {} B; back-test cases: {} documents of {} B of JSON on average ({} over 16 KB); reference programs: {} of {} B",
        packing_dictionary.len(),
        cases.len(),
        average(&cases),
        cases.iter().filter(|document| document.len() > 16 << 10).count(),
        reference.len(),
        average(&reference),
    );
    println!("| level | dictionary | back-test case, packed | µs a case | reference program, packed |");
    println!("|---|---|---|---|---|");
    for level in 1..=5 {
        for attach in [false, true] {
            let encoder = EncoderDictionary::copy(&packing_dictionary, level);
            let mut compressor = zstd::bulk::Compressor::new(level).unwrap();
            compressor.include_checksum(true).unwrap();
            if attach {
                compressor.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach)).unwrap();
            }
            compressor.set_prepared_dictionary(&encoder).unwrap();
            let mut packed = |documents: &[Vec<u8>]| {
                documents.iter().map(|document| compressor.compress(document).unwrap().len()).sum::<usize>()
                    / documents.len()
            };
            let (case_bytes, reference_bytes) = (packed(&cases), packed(&reference));
            let start = Instant::now();
            for _ in 0..ROUNDS {
                for document in &cases {
                    black_box(compressor.compress(black_box(document)).unwrap());
                }
            }
            let micros = start.elapsed().as_secs_f64() * 1e6 / (ROUNDS * cases.len()) as f64;
            let mode = if attach { "attached" } else { "copied" };
            println!("| {level} | {mode} | {case_bytes} B | {micros:.1} | {reference_bytes} B |");
        }
    }
}
