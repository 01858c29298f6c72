//! The command line: `serve`, `migrate`, and the admin commands (accounts,
//! users and their grants, groups, custom roles, inboxes, teams, capacity,
//! passwords, inbox keys).
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
    /// Manage groups (the tree inboxes and grants sit in).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage custom roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Invite people to an account by email; a running server sends the
    /// mail. Prints each invitation, with its link when no SMTP server is
    /// configured.
    Invite(Invite),
    // API keys (docs/MODULES.md).
    /// Manage API keys (integrations acting on the REST API with their own
    /// grants).
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Debug, Args)]
pub struct Invite {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    /// An address to invite (repeat for several).
    #[arg(long = "email", required = true)]
    pub emails: Vec<String>,
    /// A role the new user will hold: a built-in role's id or a custom
    /// role's id or name. Repeat for several; left out, `operator`.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// The group every `--role` is granted at; left out, the root group.
    #[arg(long)]
    pub group: Option<uuid::Uuid>,
    /// The server's listen address, for links when `SWITCHBOARD_PUBLIC_URL`
    /// is not set.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub mail: crate::mail::MailArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct AccountSetPlan {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    /// Active users plus pending invitations allowed at once.
    #[arg(
        long,
        required_unless_present = "unlimited",
        conflicts_with = "unlimited"
    )]
    pub seats: Option<u32>,
    /// No cap.
    #[arg(long)]
    pub unlimited: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group under another (the account's root group by default).
    Create(GroupCreate),
    /// List the groups of an account.
    List(OfAccount),
}

#[derive(Debug, Args)]
pub struct GroupCreate {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    #[arg(long)]
    pub name: String,
    /// The parent group's id; left out, the root group.
    #[arg(long)]
    pub parent: Option<uuid::Uuid>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Define a custom role from permissions of the catalogue.
    Create(RoleCreate),
    /// List the roles of an account: the built-in ones, then its own.
    List(OfAccount),
}

#[derive(Debug, Args)]
pub struct RoleCreate {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    #[arg(long)]
    pub name: String,
    /// A permission id, e.g. `conversations.view` (repeat for each).
    #[arg(long = "permission", required = true)]
    pub permissions: Vec<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and its owner.
    Create(AccountCreate),
    /// List every account.
    List(DatabaseOnly),
    /// Set an account's seat cap (`--seats N`) or lift it (`--unlimited`).
    SetPlan(AccountSetPlan),
    /// Hand an account's ownership to another active user of it (the owner
    /// becomes an administrator).
    TransferOwnership(AccountTransferOwnership),
}

#[derive(Debug, Args)]
pub struct AccountTransferOwnership {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    /// The new owner's user id.
    #[arg(long)]
    pub user: uuid::Uuid,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A command about one user.
#[derive(Debug, Args)]
pub struct OfUser {
    /// The user id.
    #[arg(long)]
    pub user: uuid::Uuid,
    #[command(flatten)]
    pub database: DatabaseArgs,
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
    /// Grant a user a role at a group (their other grants stay).
    Grant(UserGrant),
    /// Take a role at a group from a user (their other grants stay).
    Revoke(UserGrant),
    /// Deactivate a user: sessions ended, roles released, conversations
    /// reassigned; they cannot sign in until reactivated.
    Deactivate(OfUser),
    /// Make a deactivated user active again.
    Reactivate(OfUser),
    /// Remove a user (their messages keep their name; their email is free).
    Remove(OfUser),
}

#[derive(Debug, Args)]
pub struct UserGrant {
    /// The user id.
    #[arg(long)]
    pub user: uuid::Uuid,
    /// A built-in role's id (`operator`), or a custom role's id or name.
    #[arg(long)]
    pub role: String,
    /// The group's id; left out, the account's root group.
    #[arg(long)]
    pub group: Option<uuid::Uuid>,
    #[command(flatten)]
    pub database: DatabaseArgs,
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
    /// A role to grant: a built-in role's id (`operator`, `viewer`,
    /// `administrator` or `admin`, `sales`, ...), or a custom role's id or
    /// name. Repeat for several; left out, `operator`.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// The group every `--role` is granted at; left out, the root group.
    #[arg(long)]
    pub group: Option<uuid::Uuid>,
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
    /// The group the inbox sits in; left out, the root group.
    #[arg(long)]
    pub group: Option<uuid::Uuid>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

// API keys (docs/MODULES.md).
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make an API key; prints it once (only its hash is stored).
    Create(ApiKeyCreate),
    /// List the live API keys of an account (never their secrets).
    List(OfAccount),
    /// Revoke an API key: it is refused at once on every node.
    Revoke(ApiKeyRevoke),
}

#[derive(Debug, Args)]
pub struct ApiKeyCreate {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    /// A name people recognise it by (the integration's).
    #[arg(long)]
    pub name: String,
    /// A grant, `<role>@<group id>` or `<role>@root`: a built-in role's id,
    /// or a custom role's id or name. Repeat for several.
    #[arg(long = "grant", required = true)]
    pub grants: Vec<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct ApiKeyRevoke {
    /// The account id.
    #[arg(long)]
    pub account: uuid::Uuid,
    /// The key's id.
    #[arg(long)]
    pub key: uuid::Uuid,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
