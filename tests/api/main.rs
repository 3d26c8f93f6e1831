//! One integration-test binary (one link step) for everything that runs over HTTP or a real
//! PostgreSQL server.

mod assessments;
mod embedded_database;
mod health;
mod helpers;
mod openapi;
mod problems;
mod programs;
mod reliability;
