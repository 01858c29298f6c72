//! The command line: `serve`, `migrate`, and the admin commands (accounts,
//! users, inboxes, teams, capacity, passwords, inbox keys).
//! Admin commands print exactly one JSON object: the created ids, or what
//! was listed (never a password or a stored key).

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, DatabaseArgs};

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "A real-time team-inbox server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<Config>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage inboxes.
    #[command(subcommand)]
    Inbox(InboxCommand),
    /// Manage teams (the agents an inbox routes to).
    #[command(subcommand)]
    Team(TeamCommand),
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and its owner.
    Create(AccountCreate),
    /// List every account.
    List(DatabaseOnly),
}

/// A command that takes nothing but the database.
#[derive(Debug, Args)]
pub struct DatabaseOnly {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A command about one account.
#[derive(Debug, Args)]
pub struct OfAccount {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct AccountCreate {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub owner_email: String,
    #[arg(long)]
    pub owner_name: String,
    #[arg(long, env = "SWITCHBOARD_OWNER_PASSWORD", hide_env_values = true)]
    pub owner_password: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user in an account.
    Create(UserCreate),
    /// Set how many conversations an agent is auto-assigned at once.
    SetCapacity(UserSetCapacity),
    /// List the users of an account.
    List(OfAccount),
    /// Give a user a new password and end their login sessions.
    ResetPassword(UserResetPassword),
}

#[derive(Debug, Args)]
pub struct UserResetPassword {
    /// The user id.
    #[arg(long)]
    pub user: uuid::Uuid,
    /// The new password; left out, the first line of standard input.
    #[arg(long, env = "SWITCHBOARD_USER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct UserSetCapacity {
    /// The user id.
    #[arg(long)]
    pub user: uuid::Uuid,
    /// 0: never auto-assigned.
    #[arg(long)]
    pub capacity: u32,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team with its members.
    Create(TeamCreate),
}

#[derive(Debug, Args)]
pub struct TeamCreate {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    #[arg(long)]
    pub name: String,
    /// A member's user id (repeat for each member).
    #[arg(long = "member")]
    pub members: Vec<uuid::Uuid>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct UserCreate {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    #[arg(long, env = "SWITCHBOARD_USER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// owner, admin, operator or viewer.
    #[arg(long, default_value = "operator")]
    pub role: String,
    /// The most conversations auto-assigned at once (0: never).
    #[arg(long, default_value_t = 5)]
    pub capacity: u32,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Create an inbox; prints its API key for `POST /v1/inbound` (shown once).
    Create(InboxCreate),
    /// Route an inbox to a team, or to every agent of the account.
    SetTeam(InboxSetTeam),
    /// List the inboxes of an account (without their keys).
    List(OfAccount),
    /// Give an inbox a new API key, printed once; the old one stops working.
    RotateKey(InboxRotateKey),
}

#[derive(Debug, Args)]
pub struct InboxRotateKey {
    /// The inbox id.
    #[arg(long)]
    pub inbox: uuid::Uuid,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct InboxSetTeam {
    /// The inbox id.
    #[arg(long)]
    pub inbox: uuid::Uuid,
    /// The team id; leave out to route to every agent of the account.
    #[arg(long)]
    pub team: Option<uuid::Uuid>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct InboxCreate {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    #[arg(long)]
    pub name: String,
    /// sms, whatsapp, instagram, messenger or webchat.
    #[arg(long, default_value = "sms")]
    pub channel: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
