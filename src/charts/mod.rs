//! Server-side SVG charts: pure rendering from plain data to an SVG document (no HTTP, no SQL,
//! no async). Every chart is an accessible image (`role="img"` with a `<title>` and a `<desc>`
//! that says the numbers in words), uses the system font stack only, and escapes all text.
//!
//! - [`radar`]: one assessment's barrier scores with their pessimistic-optimistic band.
//! - [`trend`]: a program's overall index and barrier scores over its assessments.

mod radar;
mod svg;
mod trend;

pub use radar::{Radar, RadarAxis, radar};
pub use trend::{Trend, TrendSeries, trend};

#[cfg(test)]
mod tests;
