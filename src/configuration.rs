//! Service settings, read once from environment variables (12-factor).
//!
//! Every variable has a default so that the service starts with no configuration at all;
//! an invalid value stops the start with one line naming the variable.

use std::env;
use std::fmt::Display;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

/// Where the service's PostgreSQL comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseSource {
    /// An external server named by `DATABASE_URL`.
    Url(String),
    /// A private server started from the PostgreSQL programs installed on this machine.
    Embedded(EmbeddedDatabaseSettings),
}

/// Settings of the embedded (zero-configuration) PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedDatabaseSettings {
    /// The cluster's data directory; created on first start and reused afterwards.
    pub data_dir: PathBuf,
    /// When set, the only directory searched for `initdb`, `pg_ctl` and `postgres`.
    pub bin_dir: Option<PathBuf>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, one line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            _ => Err("expected `human` or `json`"),
        }
    }
}

/// What stands between the service and PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabasePooler {
    /// Nothing, or a pooler in session mode: each connection keeps its server session.
    None,
    /// A pooler in transaction mode (PgBouncer `pool_mode = transaction`): the server connection
    /// may change between transactions.
    Transaction,
}

impl FromStr for DatabasePooler {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "none" => Ok(Self::None),
            "transaction" => Ok(Self::Transaction),
            _ => Err("expected `none` or `transaction`"),
        }
    }
}

/// Where rate-limit buckets are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitStore {
    /// In the process: each instance limits on its own (one instance, the default).
    Memory,
    /// In PostgreSQL: every instance on one database shares each limit, at one round trip per
    /// request.
    Postgres,
}

impl FromStr for RateLimitStore {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "memory" => Ok(Self::Memory),
            "postgres" => Ok(Self::Postgres),
            _ => Err("expected `memory` or `postgres`"),
        }
    }
}

/// All settings of the service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database: DatabaseSource,
    /// A pooler in transaction mode in front of `DATABASE_URL` (`DATABASE_POOLER`).
    pub database_pooler: DatabasePooler,
    /// The database itself, not through the pooler, for migrations (session advisory lock) and
    /// key-change announcements (`LISTEN`), which a transaction pooler cannot carry
    /// (`DATABASE_DIRECT_URL`); `DATABASE_URL` when unset.
    pub database_direct_url: Option<String>,
    /// A streaming replica for reads that may lag (`DATABASE_READ_URL`); none by default.
    pub database_read_url: Option<String>,
    /// How far behind the primary the replica may be and still serve reads.
    pub replica_max_lag: Duration,
    pub database_pool_size: u32,
    /// How long a request waits for a free database connection before it gets a 503.
    pub database_acquire_timeout: Duration,
    pub body_limit_bytes: usize,
    pub log_format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `msc_readiness=debug,info`.
    pub log_level: String,
    /// Bound on draining in-flight requests after SIGINT/SIGTERM.
    pub shutdown_timeout: Duration,
    /// Longest a request may take; past it the caller gets a 504 and the request's work is cancelled.
    pub request_timeout: Duration,
    /// Requests per API key; `None` when `RATE_LIMIT_PER_SECOND=0` turns limiting off.
    pub rate_limit: Option<RateLimit>,
    /// Requests per organisation, all its keys together; `None` when
    /// `RATE_LIMIT_ORGANISATION_PER_SECOND=0` turns it off.
    pub organisation_rate_limit: Option<RateLimit>,
    /// Where the buckets of both limits are kept: `memory` (per instance) or `postgres` (shared by
    /// every instance on the database).
    pub rate_limit_store: RateLimitStore,
    /// Keys an organisation may hold at once (not revoked, not expired), made through the API.
    pub max_keys_per_organisation: u32,
    /// Failed authentications allowed per client address and per key id before 429.
    pub auth_failures: FailureBudget,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client address
    /// for that count (`TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: Vec<IpNet>,
    /// Requests under `/v1` served at once; more wait (see `admission_wait`), then get 503.
    pub max_requests_in_flight: usize,
    /// How long a request waits for one of `max_requests_in_flight` before it gets 503 "overloaded".
    pub admission_wait: Duration,
    /// The bearer token that opens `/metrics`; metrics are off without one.
    pub metrics_token: Option<String>,
    /// How often queued score changes are folded into the statistics rollup; `None` when
    /// `STATS_FOLD_INTERVAL_MS=0` leaves them queued (statistics stay exact, only slower).
    pub stats_fold_interval: Option<Duration>,
    /// Items (import lines, assessments to re-score) a job worker takes per batch, each batch one
    /// transaction.
    pub job_batch_size: u32,
    /// How often an idle job worker looks for work (jobs submitted to this instance wake it at
    /// once); `None` when `JOB_POLL_INTERVAL_MS=0`: this instance works no jobs.
    pub job_poll_interval: Option<Duration>,
    /// Job workers of this instance: with two, one batch is scored while another is written.
    pub job_workers: u32,
}

/// A sustained rate and a burst allowance, per API key or per organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// Failed authentications allowed per minute (also the burst), per client address and per key
/// id; `None` turns that count off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureBudget {
    pub per_address: Option<NonZeroU32>,
    pub per_key: Option<NonZeroU32>,
}

/// An invalid configuration value, named by its environment variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = Reader { lookup: &lookup };
        let database = match lookup("DATABASE_URL").filter(|url| !url.is_empty()) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseSource::Url(url)
            }
            Some(url) => {
                return Err(ConfigError {
                    variable: "DATABASE_URL",
                    value: redact_url(&url),
                    reason: "expected a URL starting with postgres:// or postgresql://".into(),
                });
            }
            None => DatabaseSource::Embedded(EmbeddedDatabaseSettings {
                data_dir: read.parsed(
                    "EMBEDDED_DB_DIR",
                    PathBuf::from("data/postgres"),
                    "a directory path",
                )?,
                bin_dir: lookup("POSTGRES_BIN_DIR").filter(|dir| !dir.is_empty()).map(PathBuf::from),
            }),
        };
        let log_level: String = read.parsed("LOG_LEVEL", "info".to_owned(), "a tracing filter")?;
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&log_level) {
            return Err(ConfigError {
                variable: "LOG_LEVEL",
                value: log_level,
                reason: format!(
                    "expected a level (error, warn, info, debug, trace) or a tracing filter directive: {error}"
                ),
            });
        }
        Ok(Self {
            host: read.parsed("HOST", "127.0.0.1".to_owned(), "a host name or IP address")?,
            port: read.parsed("PORT", 8080, "a port number 0-65535")?,
            database,
            database_pooler: read.parsed(
                "DATABASE_POOLER",
                DatabasePooler::None,
                "`none` or `transaction`",
            )?,
            database_direct_url: optional_url(&lookup, "DATABASE_DIRECT_URL")?,
            database_read_url: optional_url(&lookup, "DATABASE_READ_URL")?,
            replica_max_lag: Duration::from_millis(read.bounded(
                "REPLICA_MAX_LAG_MS",
                2000,
                0..=3_600_000,
            )?),
            database_pool_size: read.bounded("DATABASE_POOL_SIZE", 8, 1..=1000)?,
            database_acquire_timeout: Duration::from_millis(read.bounded(
                "DATABASE_ACQUIRE_TIMEOUT_MS",
                1000,
                1..=600_000,
            )?),
            body_limit_bytes: read.bounded("BODY_LIMIT_BYTES", 65_536, 1..=1_073_741_824)?,
            log_format: read.parsed("LOG_FORMAT", LogFormat::Human, "`human` or `json`")?,
            log_level,
            shutdown_timeout: Duration::from_secs(read.bounded("SHUTDOWN_TIMEOUT_SECS", 10, 0..=3600)?),
            rate_limit: rate_limit(&read, "RATE_LIMIT_PER_SECOND", 50, "RATE_LIMIT_BURST", 100)?,
            organisation_rate_limit: rate_limit(
                &read,
                "RATE_LIMIT_ORGANISATION_PER_SECOND",
                200,
                "RATE_LIMIT_ORGANISATION_BURST",
                400,
            )?,
            rate_limit_store: read.parsed(
                "RATE_LIMIT_STORE",
                RateLimitStore::Memory,
                "`memory` or `postgres`",
            )?,
            max_keys_per_organisation: read.bounded("MAX_KEYS_PER_ORGANISATION", 100, 1..=100_000)?,
            auth_failures: FailureBudget {
                per_address: NonZeroU32::new(read.bounded(
                    "AUTH_FAILURES_PER_MINUTE_PER_ADDRESS",
                    60,
                    0..=1_000_000,
                )?),
                per_key: NonZeroU32::new(read.bounded(
                    "AUTH_FAILURES_PER_MINUTE_PER_KEY",
                    20,
                    0..=1_000_000,
                )?),
            },
            trusted_proxies: trusted_proxies(lookup("TRUSTED_PROXIES"))?,
            max_requests_in_flight: read.bounded("MAX_REQUESTS_IN_FLIGHT", 32, 1..=100_000)?,
            admission_wait: Duration::from_millis(read.bounded("ADMISSION_WAIT_MS", 1000, 0..=60_000)?),
            metrics_token: metrics_token(lookup("METRICS_TOKEN"))?,
            request_timeout: Duration::from_millis(read.bounded("REQUEST_TIMEOUT_MS", 2000, 1..=600_000)?),
            stats_fold_interval: Some(read.bounded("STATS_FOLD_INTERVAL_MS", 1000, 0..=3_600_000)?)
                .filter(|&milliseconds| milliseconds > 0)
                .map(Duration::from_millis),
            job_batch_size: read.bounded("JOB_BATCH_SIZE", 500, 1..=5_000)?,
            job_poll_interval: Some(read.bounded("JOB_POLL_INTERVAL_MS", 1000, 0..=3_600_000)?)
                .filter(|&milliseconds| milliseconds > 0)
                .map(Duration::from_millis),
            job_workers: read.bounded("JOB_WORKERS", 2, 1..=16)?,
        })
    }
}

fn rate_limit<F: Fn(&str) -> Option<String>>(
    read: &Reader<'_, F>,
    per_second_variable: &'static str,
    default_per_second: u32,
    burst_variable: &'static str,
    default_burst: u32,
) -> Result<Option<RateLimit>, ConfigError> {
    let per_second: u32 = read.bounded(per_second_variable, default_per_second, 0..=1_000_000)?;
    let burst: u32 = read.bounded(burst_variable, default_burst, 1..=1_000_000)?;
    Ok(NonZeroU32::new(per_second)
        .zip(NonZeroU32::new(burst))
        .map(|(per_second, burst)| RateLimit { per_second, burst }))
}

/// A comma-separated list of addresses (`10.0.0.5`) or networks (`172.16.0.0/12`).
fn trusted_proxies(value: Option<String>) -> Result<Vec<IpNet>, ConfigError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                ConfigError {
                    variable: "TRUSTED_PROXIES",
                    value: entry.to_owned(),
                    reason: "expected IP addresses or networks (CIDR), separated by commas".into(),
                }
            })
        })
        .collect()
}

/// An optional PostgreSQL URL setting.
fn optional_url(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<String>, ConfigError> {
    match lookup(variable).filter(|url| !url.is_empty()) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Some(url)),
        Some(url) => Err(ConfigError {
            variable,
            value: redact_url(&url),
            reason: "expected a URL starting with postgres:// or postgresql://".into(),
        }),
        None => Ok(None),
    }
}

fn metrics_token(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value.filter(|token| !token.is_empty()) {
        None => Ok(None),
        Some(token) if token.len() >= 16 && token.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(token)),
        Some(_) => Err(ConfigError {
            variable: "METRICS_TOKEN",
            value: "(not shown)".into(),
            reason: "expected at least 16 printable ASCII characters without spaces".into(),
        }),
    }
}

struct Reader<'a, F: Fn(&str) -> Option<String>> {
    lookup: &'a F,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn parsed<T: FromStr>(&self, variable: &'static str, default: T, expected: &str) -> Result<T, ConfigError>
    where
        T::Err: Display,
    {
        match (self.lookup)(variable).filter(|value| !value.is_empty()) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|error: T::Err| ConfigError {
                variable,
                reason: format!("expected {expected} ({error})"),
                value,
            }),
        }
    }

    fn bounded<T>(
        &self,
        variable: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
        T::Err: Display,
    {
        let expected = format!("an integer from {} to {}", range.start(), range.end());
        let value = self.parsed(variable, default, &expected)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError { variable, value: value.to_string(), reason: format!("expected {expected}") })
        }
    }
}

/// Hides the password of a database URL before it is printed.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let settings = settings(&[]).expect("defaults are valid");
        assert_eq!(settings.host, "127.0.0.1");
        assert_eq!(settings.port, 8080);
        assert_eq!(settings.body_limit_bytes, 65_536);
        assert_eq!(settings.request_timeout, Duration::from_secs(2));
        assert_eq!(
            settings.database,
            DatabaseSource::Embedded(EmbeddedDatabaseSettings {
                data_dir: PathBuf::from("data/postgres"),
                bin_dir: None
            })
        );
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        let error = settings(&[("PORT", "eighty")]).expect_err("not a port");
        assert_eq!(error.variable, "PORT");
        assert!(error.to_string().starts_with("invalid configuration: PORT=\"eighty\""), "{error}");

        let error = settings(&[("DATABASE_POOL_SIZE", "0")]).expect_err("pool of zero");
        assert_eq!(error.variable, "DATABASE_POOL_SIZE");

        let error = settings(&[("LOG_FORMAT", "xml")]).expect_err("unknown format");
        assert_eq!(error.variable, "LOG_FORMAT");

        let error = settings(&[("LOG_LEVEL", "info,[[[")]).expect_err("bad filter");
        assert_eq!(error.variable, "LOG_LEVEL");
    }

    #[test]
    fn a_database_url_password_is_never_echoed() {
        let error = settings(&[("DATABASE_URL", "mysql://app:secret@db/x")]).expect_err("not postgres");
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn database_url_selects_the_external_server() {
        let settings = settings(&[("DATABASE_URL", "postgres://localhost/x")]).expect("valid");
        assert_eq!(settings.database, DatabaseSource::Url("postgres://localhost/x".into()));
    }
}
