//! The command-line adapter of the application: each admin command parses
//! its arguments into the application's inputs, runs one use case as the
//! operator, and prints exactly one JSON object on stdout. A refusal is the
//! use case's error, printed by `main` as `error: <message>`.

use serde_json::json;
use switchboard_core::access::{BuiltinRole, Grant, Permission, PermissionSet, RoleId};
use switchboard_core::input::{Capacity, Channel, Email, InputError, Name};
use switchboard_core::{AccountId, GroupId, StoreError, TeamId, UserId};

use crate::app::{App, AppError, Caller, NewAccountInput, RoleEntry};
use crate::cli::{
    AccountCreate, AccountSetPlan, DatabaseOnly, GroupCreate, InboxCreate, InboxRotateKey,
    InboxSetTeam, Invite, OfAccount, RoleCreate, TeamCreate, UserCreate, UserGrant,
    UserResetPassword, UserSetCapacity,
};
use crate::config::DatabaseArgs;
use crate::startup::{Holding, open_store};

pub mod lifecycle;

// API keys (docs/MODULES.md).
pub mod api_keys;

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
    let capacity = Capacity::parse(args.capacity).map_err(refused)?;
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let group = group_or_root(&app, account, args.group).await?;
    let mut grants = Vec::new();
    for role in roles_or_operator(&args.roles) {
        grants.push(Grant::new(role_named(&app, account, role).await?, group));
    }
    let created = app
        .create_user_granted(
            Caller::CommandLine,
            account,
            email,
            name,
            args.password,
            grants,
            capacity,
        )
        .await
        .map_err(failed)?;
    let access = app.access().now(account).await.map_err(stored)?;
    print(json!({
        "user_id": created.user.id,
        "account_id": account,
        "role": access.role_hint(created.user.id),
        "grants": grants_json(&created.grants),
    }));
    Ok(())
}

/// The roles `user create` grants: those named, else `operator`.
fn roles_or_operator(named: &[String]) -> Vec<&str> {
    match named.is_empty() {
        true => vec!["operator"],
        false => named.iter().map(String::as_str).collect(),
    }
}

pub async fn user_grant(args: UserGrant) -> anyhow::Result<()> {
    change_grants(args, |grants, grant| {
        if !grants.contains(&grant) {
            grants.push(grant);
        }
        Ok(())
    })
    .await
}

pub async fn user_revoke(args: UserGrant) -> anyhow::Result<()> {
    change_grants(args, |grants, grant| {
        let held = grants.len();
        grants.retain(|g| *g != grant);
        match grants.len() < held {
            true => Ok(()),
            false => Err(anyhow::anyhow!(
                "the user does not hold {} at group {}",
                grant.role,
                grant.group
            )),
        }
    })
    .await
}

/// Adds or takes away one grant of a user, keeping the others; prints
/// the user's grants after.
async fn change_grants(
    args: UserGrant,
    change: impl FnOnce(&mut Vec<Grant>, Grant) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let user = app
        .store()
        .user(UserId::from(args.user))
        .await
        .map_err(stored)?
        .ok_or_else(|| anyhow::anyhow!("no such user"))?;
    let account = user.account_id;
    let group = group_or_root(&app, account, args.group).await?;
    let grant = Grant::new(role_named(&app, account, &args.role).await?, group);
    let mut grants = app
        .managed_user(Caller::CommandLine, account, user.id)
        .await
        .map_err(failed)?
        .grants;
    change(&mut grants, grant)?;
    let changed = app
        .set_grants(Caller::CommandLine, account, user.id, grants)
        .await
        .map_err(failed)?;
    print(json!({
        "user_id": user.id,
        "account_id": account,
        "grants": grants_json(&changed.grants),
    }));
    Ok(())
}

pub async fn group_create(args: GroupCreate) -> anyhow::Result<()> {
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let group = app
        .create_group(
            Caller::CommandLine,
            account,
            name,
            args.parent.map(GroupId::from),
        )
        .await
        .map_err(failed)?;
    print(json!({
        "group_id": group.id,
        "account_id": account,
        "name": group.name,
        "parent_id": group.parent_id,
    }));
    Ok(())
}

pub async fn group_list(args: OfAccount) -> anyhow::Result<()> {
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let groups = app
        .groups(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    let groups: Vec<_> = groups
        .iter()
        .map(|g| json!({"group_id": g.id, "name": g.name, "parent_id": g.parent_id}))
        .collect();
    print(json!({"account_id": account, "groups": groups}));
    Ok(())
}

pub async fn role_create(args: RoleCreate) -> anyhow::Result<()> {
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let mut permissions = PermissionSet::EMPTY;
    for id in &args.permissions {
        let permission = Permission::parse(id.trim()).map_err(|_| {
            anyhow::anyhow!("unknown permission {id:?}: `role list` shows the catalogue's")
        })?;
        permissions = permissions.union(PermissionSet::of(&[permission]));
    }
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let role = app
        .create_role(Caller::CommandLine, account, name, permissions)
        .await
        .map_err(failed)?;
    print(json!({"account_id": account, "role": role_json(&role)}));
    Ok(())
}

pub async fn role_list(args: OfAccount) -> anyhow::Result<()> {
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let roles = app
        .roles(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    let roles: Vec<_> = roles.iter().map(role_json).collect();
    print(json!({"account_id": account, "roles": roles}));
    Ok(())
}

fn role_json(role: &RoleEntry) -> serde_json::Value {
    let permissions: Vec<&str> = role.permissions.iter().map(Permission::as_str).collect();
    json!({
        "role_id": role.id.to_string(),
        "name": role.name,
        "builtin": role.is_builtin(),
        "permissions": permissions,
    })
}

fn grants_json(grants: &[Grant]) -> Vec<serde_json::Value> {
    grants
        .iter()
        .map(|g| json!({"role": g.role.to_string(), "group_id": g.group}))
        .collect()
}

/// A role by what an operator would type: a built-in role's id, a custom
/// role's id, or a custom role's name (any case).
async fn role_named(app: &App, account: AccountId, text: &str) -> anyhow::Result<RoleId> {
    let text = text.trim();
    if let Ok(role) = RoleId::parse(&text.to_lowercase()) {
        return Ok(role);
    }
    let roles = app
        .roles(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    roles
        .iter()
        .find(|r| !r.is_builtin() && r.name.eq_ignore_ascii_case(text))
        .map(|r| r.id)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown role {text:?}: use a built-in role ({}) or a custom role's id or name",
                builtin_ids()
            )
        })
}

fn builtin_ids() -> String {
    let ids: Vec<&str> = BuiltinRole::ALL
        .iter()
        .filter(|r| **r != BuiltinRole::Owner)
        .map(|r| r.as_str())
        .collect();
    ids.join(", ")
}

/// The group named, or the account's root group.
async fn group_or_root(
    app: &App,
    account: AccountId,
    group: Option<uuid::Uuid>,
) -> anyhow::Result<GroupId> {
    match group {
        Some(group) => Ok(GroupId::from(group)),
        None => app.root_group(account).await.map_err(failed),
    }
}

pub async fn inbox_create(args: InboxCreate) -> anyhow::Result<()> {
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let channel = Channel::parse(&args.channel).map_err(refused)?;
    let app = offline(&args.database).await?;
    let (inbox, key) = app
        .create_inbox_in(
            Caller::CommandLine,
            AccountId::from(args.account),
            name,
            channel,
            args.group.map(GroupId::from),
        )
        .await
        .map_err(failed)?;
    print(json!({
        "inbox_id": inbox.id,
        "account_id": inbox.account_id,
        "group_id": inbox.group_id,
        "api_key": key,
    }));
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
        .managed_users(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    let access = app.access().now(account).await.map_err(stored)?;
    let users: Vec<_> = users
        .iter()
        .map(|u| {
            json!({
                "user_id": u.user.id,
                "email": u.user.email,
                "name": u.user.name,
                "role": access.role_hint(u.user.id),
                "grants": grants_json(&u.grants),
                "capacity": u.user.capacity,
                "created_at": u.user.created_at,
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
                "group_id": i.group_id,
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
/// `invite`: queues the invitations' mails (a running server sends them);
/// prints each invitation, with its link when no SMTP server is
/// configured (the link is shown nowhere else).
pub async fn invite(args: Invite) -> anyhow::Result<()> {
    let emails = args
        .emails
        .iter()
        .map(|e| Email::parse(e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(refused)?;
    let account = AccountId::from(args.account);
    let settings = args.mail.invitations(&args.listen);
    let links_shown = settings.links_logged;
    let app = offline(&args.database).await?.with_invitations(settings);
    let group = group_or_root(&app, account, args.group).await?;
    let mut grants = Vec::new();
    for role in roles_or_operator(&args.roles) {
        grants.push(Grant::new(role_named(&app, account, role).await?, group));
    }
    let invited = app
        .invite(Caller::CommandLine, account, emails, grants)
        .await
        .map_err(failed)?;
    let invitations: Vec<_> = invited
        .invitations
        .iter()
        .zip(&invited.links)
        .map(|(invitation, link)| {
            let mut shown = json!({
                "invitation_id": invitation.id,
                "email": invitation.email,
                "expires_at": invitation.expires_at,
                "grants": grants_json(&invitation.grants),
            });
            if links_shown {
                shown["link"] = json!(link);
            }
            shown
        })
        .collect();
    print(json!({"account_id": account, "invitations": invitations}));
    Ok(())
}

/// `account set-plan`: the account's seat cap; prints it with the seats
/// in use.
pub async fn account_set_plan(args: AccountSetPlan) -> anyhow::Result<()> {
    let app = offline(&args.database).await?;
    let limit = if args.unlimited { None } else { args.seats };
    let plan = app
        .set_seat_limit(Caller::CommandLine, AccountId::from(args.account), limit)
        .await
        .map_err(failed)?;
    print(json!({
        "account_id": plan.account.id,
        "seat_limit": plan.seats.limit,
        "seats_used": plan.seats.used,
    }));
    Ok(())
}

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

fn stored(error: StoreError) -> anyhow::Error {
    failed(AppError::from(error))
}

#[allow(clippy::print_stdout)]
fn print(value: serde_json::Value) {
    println!("{value}");
}
