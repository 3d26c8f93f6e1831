use std::process::ExitCode;

use clap::Parser;
use msc_readiness::cli::{Cli, Command, KeysCommand};
use msc_readiness::configuration::Settings;
use msc_readiness::startup::{self, Database};
use msc_readiness::telemetry::{self, LogOutput};

/// mimalloc instead of glibc's malloc: a stored result is built, compacted, packed and written
/// back as tens of thousands of small allocations (JSON values, strings, maps), the cost that
/// dominated the write path's profile; measured in BENCHMARKS.md (issue 16, third round).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let log_output = if cli.command.is_some() { LogOutput::Stderr } else { LogOutput::Stdout };
    telemetry::init(settings.log_format, &settings.log_level, log_output);
    let outcome = match cli.command {
        None => startup::serve(settings).await.map_err(|error| error.to_string()),
        Some(Command::Keys(KeysCommand::Create(args))) => create_key(&settings, &args).await,
        Some(Command::Backtest(args)) => msc_readiness::cli::backtest(&args),
        Some(Command::Import(args)) => import(&settings, &args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn create_key(settings: &Settings, args: &msc_readiness::cli::CreateKeyArgs) -> Result<(), String> {
    let database = Database::provide_for_command(settings).await.map_err(|error| error.to_string())?;
    let created = msc_readiness::cli::create_key(database.options.clone(), args).await;
    database.release().await.map_err(|error| error.to_string())?;
    let created = created.map_err(|error| error.to_string())?;
    let scopes: Vec<&str> = created.record.scopes.iter().map(|scope| scope.as_str()).collect();
    eprintln!(
        "Created API key {id} ({name}) for organisation {organisation:?} with scopes {scopes}{expiry}.\n\
         It is shown once, below, and stored only as a hash: keep it now.\n\
         Use it as `Authorization: Bearer <key>`, or in Swagger UI (/docs/) with the Authorize button.",
        id = created.record.id,
        name = created.record.name,
        organisation = args.organisation.trim(),
        scopes = scopes.join(", "),
        expiry = created.record.expires_at.map(|at| format!(", expiring {at}")).unwrap_or_default(),
    );
    println!("{}", created.token);
    Ok(())
}

/// Runs an import and prints what it did on standard error; an import with failed lines is an
/// error (status 1), so that a script notices.
async fn import(settings: &Settings, args: &msc_readiness::cli::ImportArgs) -> Result<(), String> {
    let database = Database::provide_for_command(settings).await.map_err(|error| error.to_string())?;
    let imported =
        msc_readiness::cli::import(database.options.clone(), args, settings.body_limit_bytes).await;
    database.release().await.map_err(|error| error.to_string())?;
    let outcome = imported.map_err(|error| error.to_string())?;
    let job = &outcome.job;
    eprintln!(
        "Import job {id}: {total} lines: {created} stored, {skipped} already imported, {failed} with errors.",
        id = job.id,
        total = job.total,
        created = job.created,
        skipped = job.skipped,
        failed = job.failed,
    );
    if let Some(failure) = &job.failure {
        eprintln!("{failure}");
    }
    for error in &outcome.first_errors {
        let field = if error.error.field.is_empty() { "(the line)" } else { error.error.field.as_str() };
        eprintln!("line {}: {field}: {}", error.error.position, error.error.message);
    }
    if job.error_count > i64::try_from(outcome.first_errors.len()).unwrap_or(i64::MAX) {
        eprintln!("... every error: GET /v1/jobs/{}/errors", job.id);
    }
    if job.failed > 0 { Err(format!("{} line(s) were not imported", job.failed)) } else { Ok(()) }
}
