//! Tests of the scoring model: model data and evidence, profile parsing, scoring behaviour on
//! hand-made and reference programs, and properties over generated profiles.

mod conversion;
mod generator;
mod model_data;
mod openapi;
mod parse_errors;
mod parsing;
mod properties;
mod readiness;
mod scoring;

use super::{Assessment, Barrier, BarrierAssessment, Profile, parse_profile, reference_programs};

/// Parses a JSON profile, panicking with the error when it is invalid.
fn profile(json: serde_json::Value) -> Profile {
    parse_profile(json.to_string().as_bytes()).expect("test profile parses")
}

/// A reference program by name.
fn reference(name: &str) -> Profile {
    reference_programs()
        .into_iter()
        .find(|(reference, _)| *reference == name)
        .map(|(_, profile)| profile)
        .expect("reference program exists")
}

/// One barrier of an assessment.
fn barrier(assessment: &Assessment, barrier: Barrier) -> &BarrierAssessment {
    &assessment.barriers[barrier.index()]
}

/// A one-decimal number as whole tenths.
fn tenths(value: f64) -> i64 {
    (value * 10.0).round() as i64
}
