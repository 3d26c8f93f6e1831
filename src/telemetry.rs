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

/// Installs the global subscriber. A second call (several tests in one process) is a no-op.
pub fn init(format: LogFormat, filter: &str, output: LogOutput) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
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
