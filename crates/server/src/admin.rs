//! The command-line adapter of the application: each admin command parses
//! its arguments into the application's inputs, runs one use case as the
//! operator, and prints exactly one JSON object on stdout. A refusal is the
//! use case's error, printed by `main` as `error: <message>`.

use serde_json::json;
use switchboard_core::input::{Capacity, Channel, Email, InputError, Name};
use switchboard_core::{AccountId, Role, TeamId, UserId};

use crate::app::{App, AppError, Caller, NewAccountInput};
use crate::cli::{
    AccountCreate, InboxCreate, InboxSetTeam, TeamCreate, UserCreate, UserSetCapacity,
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
