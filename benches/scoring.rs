//! Scoring throughput: complete assessments (factors, bounds, caps, overall index, warnings and
//! mitigations ranked by counterfactual re-scoring) of fully specified disc profiles.
//!
//! Run with `cargo bench --bench scoring`; the figures are recorded in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use msc_readiness::scoring::{Model, Profile, reference_programs};

fn reference(name: &str) -> Profile {
    reference_programs()
        .into_iter()
        .find(|(reference, _)| *reference == name)
        .map(|(_, profile)| profile)
        .expect("the reference program exists")
}

fn assessments(c: &mut Criterion) {
    let model = Model::current();
    let mut group = c.benchmark_group("assess");
    group.throughput(Throughput::Elements(1));
    // The mature program: every input given, few weak factors.
    let mature = reference("disc_mature_allogeneic");
    group.bench_function("disc_mature_allogeneic", |b| b.iter(|| model.assess(black_box(&mature))));
    // The early program: many weak factors, so many counterfactual re-scorings.
    let early = reference("disc_early_academic");
    group.bench_function("disc_early_academic", |b| b.iter(|| model.assess(black_box(&early))));
    group.finish();
}

criterion_group!(benches, assessments);
criterion_main!(benches);
