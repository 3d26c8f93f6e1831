//! The CPU a stored result costs before it reaches the database: the typed result written as a
//! JSON value and compacted against its model version's dictionary (as writes did before), or
//! compacted from the typed result directly (as they do now), packed with its profile; and the
//! way back that `GET /v1/assessments/{id}` takes (hydrated into a value, as reads did before, and
//! written hydrated directly, as they do now).
//!
//! Run with `cargo bench --bench encoding`; the figures are recorded in BENCHMARKS.md (issue 16).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use msc_readiness::json_writer;
use msc_readiness::persistence::model_versions;
use msc_readiness::persistence::packing::{PackedDocument, Packing};
use msc_readiness::scoring::{Model, REFERENCE_PROGRAMS, reference_programs};
use serde_json::Value;

/// The mature disc reference program: the body `bench/load.sh` posts.
const PROGRAM: &str = "disc_mature_allogeneic";

fn encoding(c: &mut Criterion) {
    let model = Model::current();
    let dictionary = model_versions::learn(model, &serde_json::to_value(model.document()).unwrap());
    let (_, json) = REFERENCE_PROGRAMS.iter().find(|(name, _)| *name == PROGRAM).unwrap();
    let profile: Value = serde_json::from_str(json).unwrap();
    let (_, typed_profile) = reference_programs().into_iter().find(|(name, _)| *name == PROGRAM).unwrap();
    let result = model.assess(&typed_profile);
    let value = serde_json::to_value(&result).unwrap();
    let compact = dictionary.compact(&value).unwrap();
    let packing = Packing::new(
        &Packing::dictionary_of(&[PackedDocument {
            profile: profile.clone(),
            compact: Some(compact.clone()),
            whole: None,
        }])
        .unwrap(),
    );
    let document = PackedDocument { profile, compact: Some(compact.clone()), whole: None };
    let packed = packing.pack_document(&document).unwrap();

    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("to_value", |b| b.iter(|| serde_json::to_value(black_box(&result)).unwrap()));
    group.bench_function("compact", |b| b.iter(|| dictionary.compact(black_box(&value))));
    group.bench_function("compact_json", |b| b.iter(|| dictionary.compact_json(black_box(&result)).unwrap()));
    group.bench_function("pack", |b| b.iter(|| packing.pack_document(black_box(&document)).unwrap()));
    group.bench_function("unpack_hydrate", |b| {
        b.iter(|| dictionary.hydrate(black_box(&packing.unpack(&packed).unwrap().compact.unwrap())).unwrap())
    });
    group.bench_function("unpack", |b| b.iter(|| packing.unpack(black_box(&packed)).unwrap()));
    group.bench_function("unpack_write_hydrated", |b| {
        b.iter(|| {
            let compact = packing.unpack(black_box(&packed)).unwrap().compact.unwrap();
            json_writer::to_vec(&dictionary.hydrated(&compact)).unwrap()
        })
    });
    group.bench_function("write_value", |b| b.iter(|| serde_json::to_vec(black_box(&value)).unwrap()));
    // The body of `POST /v1/score`: the typed result written by serde_json, and by the service's
    // own writer (the same bytes, escaped a word at a time).
    group.bench_function("write_result_serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&result)).unwrap())
    });
    group.bench_function("write_result", |b| b.iter(|| json_writer::to_vec(black_box(&result)).unwrap()));
    group.finish();
}

criterion_group!(benches, encoding);
criterion_main!(benches);
