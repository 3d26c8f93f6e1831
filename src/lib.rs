//! Translational-readiness scoring of MSC therapy programs.
//!
//! Layers, each knowing only the ones below it: `api` (HTTP) → `persistence` (all SQL) and
//! `scoring` (the pure model: no HTTP, no SQL, no async). `startup` wires them together.

pub mod api;
pub mod comparison;
pub mod configuration;
pub mod embedded_postgres;
pub mod persistence;
pub mod scoring;
pub mod startup;
pub mod statistics;
pub mod telemetry;
