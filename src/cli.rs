//! The command line: `msc-readiness` serves; `msc-readiness keys create` makes an organisation's
//! first API key (admins make the rest over the API).

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
