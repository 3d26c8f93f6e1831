//! Translational-readiness scoring of MSC therapy programs.
//!
//! Layers, each knowing only the ones below it: `api` (HTTP) → `persistence` (all SQL),
//! `scoring` (the pure model: no HTTP, no SQL, no async) and `charts` (pure SVG rendering).
//! `dashboard` is the static page served beside the API. `startup` wires them together.

pub mod api;
pub mod charts;
pub mod comparison;
pub mod configuration;
pub mod dashboard;
pub mod embedded_postgres;
pub mod persistence;
pub mod scoring;
pub mod startup;
pub mod telemetry;
