//! The admin commands. Each prints exactly one JSON object on stdout.

use serde_json::json;
use switchboard_core::model::{NewAccount, NewInbox, NewUser};
use switchboard_core::{AccountId, Role};

use crate::auth::{self, INBOX_KEY_PREFIX};
use crate::cli::{
    AccountCreate, InboxCreate, InboxSetTeam, TeamCreate, UserCreate, UserSetCapacity,
};
use crate::startup::open_store;

/// The channels an inbox can be.
pub const CHANNELS: [&str; 5] = ["sms", "whatsapp", "instagram", "messenger", "webchat"];

pub async fn account_create(args: AccountCreate) -> anyhow::Result<()> {
    let name = non_empty("name", &args.name)?;
    let owner_name = non_empty("owner name", &args.owner_name)?;
    let email = email(&args.owner_email)?;
    let hash = auth::hash_password(args.owner_password).await?;
    let store = open_store(&args.database).await?;
    let (account, owner) = store
        .create_account(NewAccount {
            name,
            owner_email: &email,
            owner_name,
            owner_password_hash: &hash,
        })
        .await?;
    print(json!({"account_id": account.id, "owner_id": owner.id}));
    Ok(())
}

pub async fn user_create(args: UserCreate) -> anyhow::Result<()> {
    let name = non_empty("name", &args.name)?;
    let email = email(&args.email)?;
    let role = Role::parse(&args.role.to_lowercase()).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown role {:?}: use owner, admin, operator or viewer",
            args.role
        )
    })?;
    if role == Role::Owner {
        anyhow::bail!("an account has exactly one owner, created with the account");
    }
    let hash = auth::hash_password(args.password).await?;
    let store = open_store(&args.database).await?;
    let user = store
        .create_user(NewUser {
            account_id: AccountId::from(args.account),
            email: &email,
            name,
            password_hash: &hash,
            role,
            capacity: args.capacity,
        })
        .await?;
    print(json!({"user_id": user.id, "account_id": user.account_id, "role": role.as_str()}));
    Ok(())
}

pub async fn inbox_create(args: InboxCreate) -> anyhow::Result<()> {
    let name = non_empty("name", &args.name)?;
    let channel = args.channel.trim().to_lowercase();
    if !CHANNELS.contains(&channel.as_str()) {
        anyhow::bail!(
            "unknown channel {channel:?}: use one of {}",
            CHANNELS.join(", ")
        );
    }
    let key = auth::new_secret(INBOX_KEY_PREFIX);
    let store = open_store(&args.database).await?;
    let inbox = store
        .create_inbox(NewInbox {
            account_id: AccountId::from(args.account),
            name,
            channel: &channel,
            key_hash: &auth::secret_hash(&key),
        })
        .await?;
    print(json!({"inbox_id": inbox.id, "account_id": inbox.account_id, "api_key": key}));
    Ok(())
}

pub async fn user_set_capacity(args: UserSetCapacity) -> anyhow::Result<()> {
    let store = open_store(&args.database).await?;
    let user = switchboard_core::UserId::from(args.user);
    store
        .agent(user)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no agent {}", args.user))?;
    store.set_capacity(user, args.capacity).await?;
    print(json!({"user_id": args.user, "capacity": args.capacity}));
    Ok(())
}

pub async fn team_create(args: TeamCreate) -> anyhow::Result<()> {
    let name = non_empty("name", &args.name)?;
    let store = open_store(&args.database).await?;
    let members: Vec<switchboard_core::UserId> = args.members.iter().map(|m| (*m).into()).collect();
    let team = store
        .create_team(AccountId::from(args.account), name, &members)
        .await?;
    print(json!({"team_id": team.id, "account_id": team.account_id, "members": team.members}));
    Ok(())
}

pub async fn inbox_set_team(args: InboxSetTeam) -> anyhow::Result<()> {
    let store = open_store(&args.database).await?;
    store
        .set_inbox_team(args.inbox.into(), args.team.map(Into::into))
        .await?;
    print(json!({"inbox_id": args.inbox, "team_id": args.team}));
    Ok(())
}

fn non_empty<'a>(what: &str, value: &'a str) -> anyhow::Result<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        anyhow::bail!("{what} must not be empty");
    }
    Ok(value)
}

fn email(value: &str) -> anyhow::Result<String> {
    let value = value.trim().to_lowercase();
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !value.contains(' ') =>
        {
            Ok(value)
        }
        _ => anyhow::bail!("{value:?} is not an email address"),
    }
}

#[allow(clippy::print_stdout)]
fn print(value: serde_json::Value) {
    println!("{value}");
}
