//! The command line: `msc-readiness` serves; `msc-readiness keys create` makes an organisation's
//! first API key (admins make the rest over the API); `msc-readiness import FILE` imports a
//! portfolio file with progress bars.

use chrono::{DateTime, Duration, Utc};
use clap::{Args, Parser, Subcommand};
use sqlx::postgres::PgConnectOptions;

use crate::access::{self, Scopes};
use crate::persistence::access::{self as store, KeyRecord, NewKey};
use crate::persistence::{self, Actor, OrganisationId, PersistenceError, PoolSettings};

/// Translational-readiness scoring of MSC therapy programs. Without a command, serves the API
/// (configured by environment variables; see README).
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Import a portfolio file (NDJSON or CSV, as `POST /v1/imports` takes) for an organisation,
    /// with progress bars: the file is staged in the database, then worked in batches by this
    /// command and by any running instance of the service. Talks to the database directly, as
    /// `keys create` does. Exits with status 1 when a line failed.
    Import(ImportArgs),
    /// Score the back-test cases (real programs at dated decision points) and print the report,
    /// `docs/validation.md`, on standard output. Run it from the repository.
    Backtest(BacktestArgs),
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The folder of case files.
    #[arg(long, default_value = crate::validation::CASES_DIR)]
    pub cases: std::path::PathBuf,
    /// The hand-written discussion appended to the report.
    #[arg(long, default_value = crate::validation::DISCUSSION)]
    pub discussion: std::path::PathBuf,
}

/// Writes the back-test report of the current model to standard output.
pub fn backtest(args: &BacktestArgs) -> Result<(), String> {
    let cases = crate::validation::load_cases(&args.cases)?;
    let discussion = std::fs::read_to_string(&args.discussion)
        .map_err(|error| format!("{}: {error}", args.discussion.display()))?;
    print!("{}", crate::validation::report(crate::scoring::Model::current(), &cases, &discussion));
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key, and its organisation if it does not exist yet. Prints the key (shown
    /// once, stored only as a hash) on standard output and what it is on standard error.
    Create(CreateKeyArgs),
}

#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// The organisation the key belongs to (created if new). Use `default` for data stored
    /// before API keys existed.
    #[arg(long)]
    pub organisation: String,
    /// What the key is for.
    #[arg(long, default_value = "first admin key")]
    pub name: String,
    /// Comma-separated scopes: read, write, admin.
    #[arg(long, default_value = "read,write,admin", value_parser = Scopes::parse_list)]
    pub scopes: Scopes,
    /// Days until the key expires; without it the key does not expire.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
}

/// A key made on the command line.
pub struct CreatedKey {
    pub organisation: OrganisationId,
    pub record: KeyRecord,
    /// The secret, to be shown once.
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Randomness(#[from] access::RandomnessUnavailable),
    #[error("cannot store the key: {0}")]
    Persistence(#[from] PersistenceError),
}

impl CreateKeyArgs {
    fn expires_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expires_in_days.map(|days| now + Duration::days(i64::from(days)))
    }
}

/// Creates the organisation (if new) and a key for it in the database `database` names,
/// migrating it first so that this works before the service has ever started.
pub async fn create_key(
    database: PgConnectOptions,
    args: &CreateKeyArgs,
) -> Result<CreatedKey, CreateKeyError> {
    let organisation_name = args.organisation.trim();
    if organisation_name.is_empty() || organisation_name.len() > 200 {
        return Err(CreateKeyError::Invalid("--organisation must be 1-200 characters"));
    }
    if args.name.trim().is_empty() || args.name.chars().count() > 200 {
        return Err(CreateKeyError::Invalid("--name must be 1-200 characters"));
    }
    let pool = persistence::pool(
        database,
        PoolSettings { max_connections: 1, acquire_timeout: std::time::Duration::from_secs(10) },
    );
    persistence::migrate(&pool).await?;
    let organisation = store::ensure_organisation(&pool, organisation_name).await?;
    let generated = access::generate_key()?;
    let actor = Actor { organisation, key_id: None, request_id: None };
    let key = NewKey {
        generated: &generated,
        name: args.name.trim(),
        scopes: &args.scopes,
        expires_at: args.expires_at(Utc::now()),
    };
    // The operator's command is not capped: it is how an organisation at its cap gets an admin key.
    let record = store::create_key(&pool, &actor, key, None).await?;
    pool.close().await;
    Ok(CreatedKey { organisation, record, token: generated.token })
}

/// The format of an import file.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FormatArg {
    Ndjson,
    Csv,
}

/// How an import treats invalid lines.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum ModeArg {
    /// Store every valid line, report the invalid ones.
    #[default]
    BestEffort,
    /// Store nothing unless every line is valid.
    AllOrNothing,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: NDJSON (one submission per line) or CSV (a header row, then one per record).
    pub file: std::path::PathBuf,
    /// The organisation the assessments belong to; it must exist (`keys create` makes one).
    #[arg(long)]
    pub organisation: String,
    /// The file's format; by default from its extension (`.csv`: CSV; otherwise NDJSON).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    #[arg(long, value_enum, default_value_t)]
    pub mode: ModeArg,
    /// Lines per batch (each batch one transaction).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub batch_size: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no organisation named {0:?} (create it and its first key with `keys create`)")]
    UnknownOrganisation(String),
    #[error("{}: {source}", .path.display())]
    File { path: std::path::PathBuf, source: std::io::Error },
    #[error("{0}")]
    Staging(#[from] crate::jobs::staging::StageError),
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
    #[error("the staging task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What an import did: its job as it ended, and its first errors.
pub struct ImportOutcome {
    pub job: crate::persistence::jobs::JobRow,
    pub first_errors: Vec<crate::persistence::jobs::ErrorRow>,
}

/// Errors printed after an import; the rest are in `GET /v1/jobs/{id}/errors`.
const ERRORS_SHOWN: u32 = 20;

/// Imports `args.file` for its organisation: stages it (a progress bar of the bytes read), then
/// works batches until its job has ended (a progress bar of the lines processed), sharing the
/// work with any running instance of the service. Bars are drawn on standard error when it is a
/// terminal. A line may be `line_bytes` long (the service's `BODY_LIMIT_BYTES`).
pub async fn import(
    database: PgConnectOptions,
    args: &ImportArgs,
    line_bytes: usize,
) -> Result<ImportOutcome, ImportError> {
    use crate::jobs::staging::{ImportFormat, ImportMode, Staging};
    use crate::persistence::jobs as job_store;
    use indicatif::{ProgressBar, ProgressStyle};

    let pool = persistence::pool(
        database,
        PoolSettings { max_connections: 4, acquire_timeout: std::time::Duration::from_secs(10) },
    );
    persistence::migrate(&pool).await?;
    let organisation = store::organisation_named(&pool, args.organisation.trim())
        .await?
        .ok_or_else(|| ImportError::UnknownOrganisation(args.organisation.trim().to_owned()))?;
    let actor = Actor { organisation, key_id: None, request_id: None };
    let format = match args.format {
        Some(FormatArg::Csv) => ImportFormat::Csv,
        Some(FormatArg::Ndjson) => ImportFormat::Ndjson,
        None if args.file.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("csv")) => {
            ImportFormat::Csv
        }
        None => ImportFormat::Ndjson,
    };
    let mode = match args.mode {
        ModeArg::BestEffort => ImportMode::BestEffort,
        ModeArg::AllOrNothing => ImportMode::AllOrNothing,
    };
    let file_error = |source| ImportError::File { path: args.file.clone(), source };
    let file = std::fs::File::open(&args.file).map_err(file_error)?;
    let length = file.metadata().map_err(file_error)?.len();

    let job =
        job_store::open_upload(&pool, &actor, &serde_json::json!({"format": format, "mode": mode})).await?;
    let staging_bar = ProgressBar::new(length).with_style(
        ProgressStyle::with_template("staging   [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let reader = staging_bar.wrap_read(file);
    let staged = {
        let pool = pool.clone();
        let runtime = tokio::runtime::Handle::current();
        // A command has no request deadline; a write that stalls this long has failed.
        let stall = std::time::Duration::from_secs(60);
        let group_lines = usize::try_from(args.batch_size).unwrap_or(usize::MAX);
        tokio::task::spawn_blocking(move || {
            Staging { runtime: &runtime, pool: &pool, job, line_bytes, stall, group_lines }
                .stage(reader, format)
        })
        .await?
    };
    if let Err(error) = staged {
        job_store::discard_upload(&pool, job).await?;
        return Err(error.into());
    }
    staging_bar.finish();
    let mut row = job_store::finish_upload(&pool, &actor, job).await?;

    let bar = ProgressBar::new(u64::try_from(row.total).unwrap_or(0)).with_style(
        ProgressStyle::with_template("importing [{bar:40}] {pos}/{len} lines {per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let worker = crate::jobs::Worker::new(pool.clone(), args.batch_size);
    while row.state.is_active() {
        bar.set_position(u64::try_from(row.processed).unwrap_or(0));
        if worker.run_batch().await?.is_none() {
            // The remaining batches are held by instances of the service: wait for them.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        row = job_store::fetch(&pool, organisation, job)
            .await?
            .ok_or(PersistenceError::Encoding(format!("job {job} vanished while it ran")))?;
    }
    bar.set_position(u64::try_from(row.processed).unwrap_or(0));
    bar.finish();
    let first_errors =
        job_store::errors(&pool, organisation, job, None, ERRORS_SHOWN).await?.unwrap_or_default();
    pool.close().await;
    Ok(ImportOutcome { job: row, first_errors })
}
