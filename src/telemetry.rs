//! Log output: `tracing` events rendered as human lines or JSON objects.

use tracing_subscriber::EnvFilter;

use crate::configuration::LogFormat;

/// Where log lines go: the service logs to stdout; a command whose result is its stdout (such as
/// `keys create`) logs to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogOutput {
    Stdout,
    Stderr,
}

/// actix-http logs at ERROR every connection it ends for a malformed request, an oversized head
/// or a timed-out one, after answering it 400, 431 or 408: one line per connection, which anyone
/// could make without a key (issue 20, finding 11). The client was answered and the operator has
/// nothing to do, so these stay out of the log unless the filter names actix_http itself.
const QUIET_HTTP_DISPATCHER: &str = "actix_http::h1::dispatcher=off";

/// The filter directives in effect for the operator's `filter`.
fn directives(filter: &str) -> String {
    if filter.contains("actix_http") {
        filter.to_owned()
    } else {
        format!("{filter},{QUIET_HTTP_DISPATCHER}")
    }
}

/// Installs the global subscriber. A second call (several tests in one process) is a no-op.
pub fn init(format: LogFormat, filter: &str, output: LogOutput) {
    let filter = EnvFilter::try_new(directives(filter)).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _already_installed = match (format, output) {
        (LogFormat::Human, LogOutput::Stdout) => builder.try_init(),
        (LogFormat::Human, LogOutput::Stderr) => builder.with_writer(std::io::stderr).try_init(),
        (LogFormat::Json, LogOutput::Stdout) => {
            builder.json().flatten_event(true).with_current_span(true).try_init()
        }
        (LogFormat::Json, LogOutput::Stderr) => {
            builder.json().flatten_event(true).with_current_span(true).with_writer(std::io::stderr).try_init()
        }
    };
}

/// At most one log line a second for an event that can repeat thousands of times a second under
/// attack or overload (a 503 per refused request), with the count of those left out since.
pub struct Throttle {
    /// Milliseconds since [`Throttle::epoch`] of the last line written, plus one (0: never).
    last_written: std::sync::atomic::AtomicU64,
    suppressed: std::sync::atomic::AtomicU64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

impl Throttle {
    const INTERVAL_MS: u64 = 1000;

    pub const fn new() -> Self {
        Self {
            last_written: std::sync::atomic::AtomicU64::new(0),
            suppressed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn epoch() -> std::time::Instant {
        static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        *EPOCH.get_or_init(std::time::Instant::now)
    }

    /// `Some(n)` when a line is due now, `n` being how many were left out since the last one;
    /// `None` when this one is to be left out.
    pub fn admit(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = u64::try_from(Self::epoch().elapsed().as_millis()).unwrap_or(u64::MAX) + 1;
        let last = self.last_written.load(Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= Self::INTERVAL_MS;
        if due && self.last_written.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
            Some(self.suppressed.swap(0, Relaxed))
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Throttle, directives};

    #[test]
    fn the_http_dispatchers_per_connection_errors_are_off_unless_asked_for() {
        assert_eq!(directives("info"), "info,actix_http::h1::dispatcher=off");
        assert_eq!(directives("warn,actix_http=debug"), "warn,actix_http=debug");
    }

    #[test]
    fn a_throttle_writes_the_first_line_then_counts_what_it_leaves_out() {
        let throttle = Throttle::new();
        assert_eq!(throttle.admit(), Some(0));
        for _ in 0..999 {
            assert_eq!(throttle.admit(), None);
        }
        assert_eq!(throttle.suppressed.load(std::sync::atomic::Ordering::Relaxed), 999);
    }
}
