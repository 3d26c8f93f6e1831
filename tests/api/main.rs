//! One integration-test binary (one link step) for everything that runs over HTTP or a real
//! PostgreSQL server.

mod access;
mod actionable_errors;
mod assessments;
mod charts;
mod compact_storage;
mod dashboard;
mod embedded_database;
mod exports;
mod health;
mod helpers;
mod hostile;
mod jobs;
mod openapi;
mod problems;
mod profiles;
mod programs;
mod reliability;
mod review;
mod scale_out;
mod stats;
mod unknown_barriers;
