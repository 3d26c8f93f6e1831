use std::process::ExitCode;

use clap::Parser;
use msc_readiness::cli::{Cli, Command, KeysCommand};
use msc_readiness::configuration::Settings;
use msc_readiness::startup::{self, Database};
use msc_readiness::telemetry::{self, LogOutput};

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
