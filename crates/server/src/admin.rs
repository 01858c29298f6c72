//! The command-line adapter of the application: each admin command parses
//! its arguments into the application's inputs, runs one use case as the
//! operator, and prints exactly one JSON object on stdout. A refusal is the
//! use case's error, printed by `main` as `error: <message>`.

use serde_json::json;
use switchboard_core::input::{Capacity, Channel, Email, InputError, Name};
use switchboard_core::{AccountId, Role, TeamId, UserId};

use crate::app::{App, AppError, Caller, NewAccountInput};
use crate::cli::{
    AccountCreate, DatabaseOnly, InboxCreate, InboxRotateKey, InboxSetTeam, OfAccount, TeamCreate,
    UserCreate, UserResetPassword, UserSetCapacity,
};
use crate::config::DatabaseArgs;
use crate::startup::{Holding, open_store};

pub async fn account_create(args: AccountCreate) -> anyhow::Result<()> {
    let input = NewAccountInput {
        name: Name::parse("name", &args.name).map_err(refused)?,
        owner_email: Email::parse(&args.owner_email).map_err(refused)?,
        owner_name: Name::parse("owner name", &args.owner_name).map_err(refused)?,
        owner_password: args.owner_password,
    };
    let app = offline(&args.database).await?;
    let (account, owner) = app.create_account(input).await.map_err(failed)?;
    print(json!({"account_id": account.id, "owner_id": owner.id}));
    Ok(())
}

pub async fn user_create(args: UserCreate) -> anyhow::Result<()> {
    let email = Email::parse(&args.email).map_err(refused)?;
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let role = Role::parse(&args.role.trim().to_lowercase()).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown role {:?}: use admin, operator or viewer",
            args.role
        )
    })?;
    let capacity = Capacity::parse(args.capacity).map_err(refused)?;
    let app = offline(&args.database).await?;
    let user = app
        .create_user(
            AccountId::from(args.account),
            email,
            name,
            args.password,
            role,
            capacity,
        )
        .await
        .map_err(failed)?;
    print(json!({"user_id": user.id, "account_id": user.account_id, "role": role.as_str()}));
    Ok(())
}

pub async fn inbox_create(args: InboxCreate) -> anyhow::Result<()> {
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let channel = Channel::parse(&args.channel).map_err(refused)?;
    let app = offline(&args.database).await?;
    let (inbox, key) = app
        .create_inbox(AccountId::from(args.account), name, channel)
        .await
        .map_err(failed)?;
    print(json!({"inbox_id": inbox.id, "account_id": inbox.account_id, "api_key": key}));
    Ok(())
}

pub async fn user_set_capacity(args: UserSetCapacity) -> anyhow::Result<()> {
    let capacity = Capacity::parse(args.capacity).map_err(refused)?;
    let app = offline(&args.database).await?;
    let agent = app
        .set_capacity(Caller::CommandLine, UserId::from(args.user), capacity)
        .await
        .map_err(failed)?;
    print(json!({"user_id": args.user, "capacity": agent.capacity}));
    Ok(())
}

pub async fn team_create(args: TeamCreate) -> anyhow::Result<()> {
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let members: Vec<UserId> = args.members.iter().map(|m| (*m).into()).collect();
    let app = offline(&args.database).await?;
    let team = app
        .create_team(
            Caller::CommandLine,
            AccountId::from(args.account),
            name,
            members,
        )
        .await
        .map_err(failed)?;
    print(json!({"team_id": team.id, "account_id": team.account_id, "members": team.members}));
    Ok(())
}

pub async fn inbox_set_team(args: InboxSetTeam) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    app.set_inbox_team(
        Caller::CommandLine,
        args.inbox.into(),
        args.team.map(TeamId::from),
    )
    .await
    .map_err(failed)?;
    print(json!({"inbox_id": args.inbox, "team_id": args.team}));
    Ok(())
}

pub async fn account_list(args: DatabaseOnly) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let accounts = app.accounts(Caller::CommandLine).await.map_err(failed)?;
    let accounts: Vec<_> = accounts
        .iter()
        .map(|a| json!({"account_id": a.id, "name": a.name, "created_at": a.created_at}))
        .collect();
    print(json!({ "accounts": accounts }));
    Ok(())
}

pub async fn user_list(args: OfAccount) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let account = AccountId::from(args.account);
    let users = app
        .users(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    let users: Vec<_> = users
        .iter()
        .map(|u| {
            json!({
                "user_id": u.id,
                "email": u.email,
                "name": u.name,
                "role": u.role.as_str(),
                "capacity": u.capacity,
                "created_at": u.created_at,
            })
        })
        .collect();
    print(json!({"account_id": account, "users": users}));
    Ok(())
}

pub async fn inbox_list(args: OfAccount) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let account = AccountId::from(args.account);
    let inboxes = app
        .inboxes(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    let inboxes: Vec<_> = inboxes
        .iter()
        .map(|i| {
            json!({
                "inbox_id": i.id,
                "name": i.name,
                "channel": i.channel,
                "created_at": i.created_at,
            })
        })
        .collect();
    print(json!({"account_id": account, "inboxes": inboxes}));
    Ok(())
}

pub async fn user_reset_password(args: UserResetPassword) -> anyhow::Result<()> {
    let password = match args.password {
        Some(password) => password,
        None => first_line_of_stdin()?,
    };
    let app = offline(&args.database).await?;
    let user = app
        .reset_password(Caller::CommandLine, UserId::from(args.user), password)
        .await
        .map_err(failed)?;
    print(json!({"user_id": user.id, "account_id": user.account_id, "sessions_ended": true}));
    Ok(())
}

pub async fn inbox_rotate_key(args: InboxRotateKey) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let (inbox, key) = app
        .rotate_inbox_key(Caller::CommandLine, args.inbox.into())
        .await
        .map_err(failed)?;
    print(json!({"inbox_id": inbox.id, "account_id": inbox.account_id, "api_key": key}));
    Ok(())
}

/// A password given on standard input (so it stays out of the process
/// list and the shell history): its first line, without the line ending.
fn first_line_of_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|error| anyhow::anyhow!("reading the password from standard input: {error}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The application of a command: the store the arguments name, no hub.
async fn offline(database: &DatabaseArgs) -> anyhow::Result<App> {
    let store = open_store(database, Holding::Shared).await?;
    Ok(App::offline(store, Default::default()))
}

fn refused(error: InputError) -> anyhow::Error {
    anyhow::Error::msg(error.to_string())
}

fn failed(error: AppError) -> anyhow::Error {
    anyhow::Error::msg(error.to_string())
}

#[allow(clippy::print_stdout)]
fn print(value: serde_json::Value) {
    println!("{value}");
}
