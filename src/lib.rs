//! Translational-readiness scoring of MSC therapy programs.
//!
//! Layers, each knowing only the ones below it: `api` (HTTP) → `persistence` (all SQL) and the
//! pure modules `scoring` (the model), `charts` (SVG rendering) and `access` (API key scopes and
//! verification): no HTTP, no SQL, no async. `dashboard` is the static page served beside the
//! API. `startup` wires them together; `cli` is the command line.

pub mod access;
pub mod api;
pub mod charts;
pub mod cli;
pub mod comparison;
pub mod configuration;
pub mod dashboard;
pub mod embedded_postgres;
pub mod jobs;
pub mod json_writer;
pub mod persistence;
pub mod scoring;
pub mod startup;
pub mod statistics;
pub mod telemetry;
pub mod validation;
