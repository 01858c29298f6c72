//! `switchboard`: the server and its admin commands.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;
use switchboard_server::cli::{
    AccountCommand, Cli, Command, GroupCommand, InboxCommand, RoleCommand, TeamCommand, UserCommand,
};
// API keys (docs/MODULES.md).
use switchboard_server::cli::ApiKeyCommand;
use switchboard_server::config::LogFormat;
use switchboard_server::startup::{Application, shutdown_signal};
use switchboard_server::{admin, startup};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match &cli.command {
        Command::Serve(config) => config.log_format,
        _ => LogFormat::Text,
    };
    init_logging(format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(config) => {
            let app = Application::build(*config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate(database) => {
            startup::open_store(&database, startup::Holding::Shared).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Account(AccountCommand::Create(args)) => admin::account_create(args).await,
        Command::Account(AccountCommand::List(args)) => admin::account_list(args).await,
        Command::Account(AccountCommand::SetPlan(args)) => admin::account_set_plan(args).await,
        Command::Invite(args) => admin::invite(args).await,
        Command::Account(AccountCommand::TransferOwnership(args)) => {
            admin::lifecycle::transfer_ownership(args).await
        }
        Command::User(UserCommand::Deactivate(args)) => admin::lifecycle::deactivate(args).await,
        Command::User(UserCommand::Reactivate(args)) => admin::lifecycle::reactivate(args).await,
        Command::User(UserCommand::Remove(args)) => admin::lifecycle::remove(args).await,
        Command::User(UserCommand::Create(args)) => admin::user_create(args).await,
        Command::User(UserCommand::SetCapacity(args)) => admin::user_set_capacity(args).await,
        Command::User(UserCommand::List(args)) => admin::user_list(args).await,
        Command::User(UserCommand::ResetPassword(args)) => admin::user_reset_password(args).await,
        Command::Inbox(InboxCommand::Create(args)) => admin::inbox_create(args).await,
        Command::Inbox(InboxCommand::SetTeam(args)) => admin::inbox_set_team(args).await,
        Command::Inbox(InboxCommand::List(args)) => admin::inbox_list(args).await,
        Command::Inbox(InboxCommand::RotateKey(args)) => admin::inbox_rotate_key(args).await,
        Command::User(UserCommand::Grant(args)) => admin::user_grant(args).await,
        Command::User(UserCommand::Revoke(args)) => admin::user_revoke(args).await,
        Command::Team(TeamCommand::Create(args)) => admin::team_create(args).await,
        Command::Group(GroupCommand::Create(args)) => admin::group_create(args).await,
        Command::Group(GroupCommand::List(args)) => admin::group_list(args).await,
        Command::Role(RoleCommand::Create(args)) => admin::role_create(args).await,
        Command::Role(RoleCommand::List(args)) => admin::role_list(args).await,
        // API keys (docs/MODULES.md).
        Command::ApiKey(ApiKeyCommand::Create(args)) => admin::api_keys::create(args).await,
        Command::ApiKey(ApiKeyCommand::List(args)) => admin::api_keys::list(args).await,
        Command::ApiKey(ApiKeyCommand::Revoke(args)) => admin::api_keys::revoke(args).await,
    }
}

/// Logs go to stderr (stdout carries the admin commands' JSON); the level
/// comes from `SWITCHBOARD_LOG` (default `info`). Text logs are coloured
/// only on a terminal: in a file or a pipe the escape codes are noise.
fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
