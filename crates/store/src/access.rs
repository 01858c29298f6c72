//! The access model's storage (docs/ACCESS.md): an account's groups and
//! custom roles, a user's grants. Statements written once for both
//! backends over [`Statements`]; the rules on them (one root, no cycles,
//! what a grant adds up to) are the core's `access` module.

use std::collections::BTreeSet;

use switchboard_core::StoreError;
use switchboard_core::access::{
    AccountAccess, CustomRole, Grant, GroupError, GroupTree, Permission, PermissionSet, RoleBook,
    RoleId,
};
use switchboard_core::ids::{AccountId, CustomRoleId, GroupId, InboxId, UserId};
use switchboard_core::input::Name;
use switchboard_core::model::{Group, Inbox};

use crate::error::conflict_as;
use crate::pending::{invitations_naming_group, invitations_naming_role};
use crate::rows::{self, Columns};
use crate::sql;
use crate::statement::{Statements, Value, id};

const GROUPS_OF_ACCOUNT: &str = "SELECT id, parent_id FROM groups WHERE account_id = $1";
const CUSTOM_ROLES_OF_ACCOUNT: &str =
    "SELECT id, name, permissions FROM custom_roles WHERE account_id = $1";
const GRANTS_OF_USER: &str = "SELECT role, group_id FROM grants WHERE user_id = $1";
const GRANTS_OF_ACCOUNT: &str = "SELECT g.user_id, g.role, g.group_id FROM grants g \
     JOIN users u ON u.id = g.user_id WHERE u.account_id = $1";
const GROUPS: &str = "SELECT id, account_id, name, parent_id FROM groups \
     WHERE account_id = $1 ORDER BY created_at, id";
/// Takes the account row's lock (a write of nothing): the access writes
/// that check the tree, the roles or the grants before changing them run
/// one at a time per account on Postgres (SQLite's writer is one already).
const LOCK_ACCOUNT: &str = "UPDATE accounts SET name = name WHERE id = $1";
const USER_ACCOUNT: &str = "SELECT account_id FROM users WHERE id = $1";
const GROUP_RENAME: &str = "UPDATE groups SET name = $3 WHERE id = $1 AND account_id = $2 \
     RETURNING id, account_id, name, parent_id";
const GROUP_MOVE: &str = "UPDATE groups SET parent_id = $2 WHERE id = $1 \
     RETURNING id, account_id, name, parent_id";
const GROUP_USE: &str = "SELECT \
     (SELECT count(*) FROM inboxes WHERE group_id = $1) AS inboxes, \
     (SELECT count(*) FROM grants WHERE group_id = $1) + (SELECT count(*) FROM api_key_grants kg \
         JOIN api_keys k ON k.id = kg.api_key_id \
         WHERE kg.group_id = $1 AND k.revoked_at IS NULL) AS grants, \
     (SELECT count(*) FROM templates WHERE group_id = $1) AS templates";
const GROUP_DELETE: &str = "DELETE FROM groups WHERE id = $1";
const GRANTS_DELETE: &str = "DELETE FROM grants WHERE user_id = $1 AND role <> 'owner'";
const GRANT_INSERT: &str = "INSERT INTO grants (user_id, role, group_id) VALUES ($1, $2, $3)";
const CUSTOM_ROLE_UPDATE: &str = "UPDATE custom_roles SET name = $3, permissions = $4 \
     WHERE id = $1 AND account_id = $2";
/// A live API key's grant counts as a user's.
const ROLE_GRANTED: &str = "SELECT (SELECT count(*) FROM grants WHERE role = $1) + \
     (SELECT count(*) FROM api_key_grants kg JOIN api_keys k ON k.id = kg.api_key_id \
      WHERE kg.role = $1 AND k.revoked_at IS NULL) AS n";
const CUSTOM_ROLE_DELETE: &str = "DELETE FROM custom_roles WHERE id = $1 AND account_id = $2";
/// Inbox `$1` into group `$2` of the inbox's own account.
const INBOX_GROUP: &str = "UPDATE inboxes SET group_id = $2 WHERE id = $1 AND EXISTS \
     (SELECT 1 FROM groups g WHERE g.id = $2 AND g.account_id = inboxes.account_id) \
     RETURNING id, account_id, name, channel, group_id, created_at";

/// The account's group tree and role book; `NotFound` for an account
/// without groups (an unknown one).
pub(crate) async fn account_access<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<AccountAccess, StoreError> {
    let rows = tx
        .all(GROUPS_OF_ACCOUNT, &[account.into()], |row| {
            Ok((
                id::<GroupId>(row, "id")?,
                row.opt_uuid("parent_id")?.map(GroupId::from),
            ))
        })
        .await?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    let groups = GroupTree::from_rows(rows)
        .map_err(|err| StoreError::Internal(format!("account {account}: {err}")))?;
    let roles = tx
        .all(CUSTOM_ROLES_OF_ACCOUNT, &[account.into()], custom_role)
        .await?;
    Ok(AccountAccess::new(groups, RoleBook::new(roles)))
}

/// The user's grants, in order (none for an unknown user).
pub(crate) async fn grants_of<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<Vec<Grant>, StoreError> {
    let mut grants = tx.all(GRANTS_OF_USER, &[user.into()], grant).await?;
    grants.sort();
    Ok(grants)
}

/// Every grant of the account's users, sorted by user then grant.
pub(crate) async fn account_grants<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<(UserId, Grant)>, StoreError> {
    let mut grants = tx
        .all(GRANTS_OF_ACCOUNT, &[account.into()], |row| {
            Ok((id::<UserId>(row, "user_id")?, grant(row)?))
        })
        .await?;
    grants.sort();
    Ok(grants)
}

/// The account's groups with their names, oldest first.
pub(crate) async fn groups_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<Group>, StoreError> {
    tx.all(GROUPS, &[account.into()], group).await
}

/// A new group under `parent`; `NotFound` when `parent` is not a group
/// of the account.
pub(crate) async fn create_group<T: Statements>(
    tx: &mut T,
    account: AccountId,
    name: &Name,
    parent: GroupId,
) -> Result<Group, StoreError> {
    let params = [
        Value::Clock,
        GroupId::new().into(),
        name.as_str().into(),
        parent.into(),
        account.into(),
    ];
    let created = tx.one(T::SQL.group_insert, &params, group).await?;
    created.ok_or(StoreError::NotFound)
}

pub(crate) async fn rename_group<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: GroupId,
    name: &Name,
) -> Result<Group, StoreError> {
    let params = [id.into(), account.into(), name.as_str().into()];
    let renamed = tx.one(GROUP_RENAME, &params, group).await?;
    renamed.ok_or(StoreError::NotFound)
}

/// Moves the group under `parent`, in the caller's transaction; never the
/// root, never under its own subtree (`Conflict`).
pub(crate) async fn move_group<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: GroupId,
    parent: GroupId,
) -> Result<Group, StoreError> {
    let access = locked_access(tx, account).await?;
    access.groups.check_move(id, parent).map_err(refused)?;
    let moved = tx
        .one(GROUP_MOVE, &[id.into(), parent.into()], group)
        .await?;
    moved.ok_or(StoreError::NotFound)
}

/// Deletes an empty group (no subgroups, inboxes, templates or grants,
/// and named by no pending invitation's grants; else `Conflict`), in the
/// caller's transaction.
pub(crate) async fn delete_group<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: GroupId,
) -> Result<(), StoreError> {
    let mut tree = locked_access(tx, account).await?.groups;
    tree.remove(id).map_err(refused)?;
    let used = tx
        .one(GROUP_USE, &[id.into()], |row| {
            Ok((
                row.int("inboxes")?,
                row.int("grants")?,
                row.int("templates")?,
            ))
        })
        .await?;
    // An invitation's grants are its user's grants to be: they count.
    let invited = invitations_naming_group(tx, account, id).await?;
    match used {
        Some((0, 0, 0)) if invited > 0 => Err(StoreError::Conflict(
            "a pending invitation grants a role in the group: revoke it first".into(),
        )),
        Some((0, 0, 0)) => tx.execute(GROUP_DELETE, &[id.into()]).await.map(drop),
        Some((0, 0, _)) => Err(StoreError::Conflict("the group still has templates".into())),
        Some((0, _, _)) => Err(StoreError::Conflict("the group still has grants".into())),
        _ => Err(StoreError::Conflict("the group still has inboxes".into())),
    }
}

/// Replaces the user's grants, in the caller's transaction; `NotFound`
/// for an unknown user, or a group or custom role not of their account.
pub(crate) async fn set_grants<T: Statements>(
    tx: &mut T,
    user: UserId,
    grants: &[Grant],
) -> Result<(), StoreError> {
    let account = tx
        .one(USER_ACCOUNT, &[user.into()], |row| id(row, "account_id"))
        .await?
        .ok_or(StoreError::NotFound)?;
    let access = locked_access(tx, account).await?;
    let known =
        |g: &Grant| access.groups.contains(g.group) && access.roles.permissions(g.role).is_some();
    if !grants.iter().all(known) {
        return Err(StoreError::NotFound);
    }
    // Ownership only changes holder, by a transfer (migration 0009): the
    // owner grant stays as it is, and is never given here.
    let owner = |g: &Grant| g.role == RoleId::OWNER;
    let owns = tx
        .all(GRANTS_OF_USER, &[user.into()], grant)
        .await?
        .iter()
        .any(owner);
    if owns != grants.iter().any(owner) {
        return Err(StoreError::Conflict(
            "ownership is only transferred, never granted or taken away".into(),
        ));
    }
    tx.execute(GRANTS_DELETE, &[user.into()]).await?;
    for grant in grants.iter().filter(|g| !owner(g)).collect::<BTreeSet<_>>() {
        let role = grant.role.to_string();
        let params = [user.into(), role.as_str().into(), grant.group.into()];
        tx.execute(GRANT_INSERT, &params).await?;
    }
    Ok(())
}

pub(crate) async fn create_custom_role<T: Statements>(
    tx: &mut T,
    account: AccountId,
    role: &CustomRole,
) -> Result<CustomRoleId, StoreError> {
    let id = CustomRoleId::new();
    let permissions = permission_ids(role.permissions);
    let params = [
        Value::Clock,
        id.into(),
        account.into(),
        role.name.as_str().into(),
        permissions.as_str().into(),
    ];
    tx.execute(T::SQL.custom_role_insert, &params)
        .await
        .map_err(conflict_as("role name already in use"))?;
    Ok(id)
}

/// Replaces the custom role's name and permissions.
pub(crate) async fn edit_custom_role<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: CustomRoleId,
    role: &CustomRole,
) -> Result<(), StoreError> {
    let permissions = permission_ids(role.permissions);
    let params = [
        id.into(),
        account.into(),
        role.name.as_str().into(),
        permissions.as_str().into(),
    ];
    let changed = tx
        .execute(CUSTOM_ROLE_UPDATE, &params)
        .await
        .map_err(conflict_as("role name already in use"))?;
    found(changed)
}

/// Deletes a custom role nobody holds and no pending invitation would
/// give (else `Conflict`), in the caller's transaction.
pub(crate) async fn delete_custom_role<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: CustomRoleId,
) -> Result<(), StoreError> {
    lock_account(tx, account).await?;
    let text = RoleId::Custom(id).to_string();
    let granted = tx
        .one(ROLE_GRANTED, &[text.as_str().into()], |row| row.int("n"))
        .await?;
    if granted.unwrap_or(0) > 0 {
        return Err(StoreError::Conflict("the role is still granted".into()));
    }
    if invitations_naming_role(tx, account, RoleId::Custom(id)).await? > 0 {
        return Err(StoreError::Conflict(
            "a pending invitation grants the role: revoke it first".into(),
        ));
    }
    found(
        tx.execute(CUSTOM_ROLE_DELETE, &[id.into(), account.into()])
            .await?,
    )
}

/// Puts the inbox in a group of its account, in the caller's transaction;
/// `NotFound` for an unknown inbox or a group of another account.
pub(crate) async fn set_inbox_group<T: Statements>(
    tx: &mut T,
    inbox: InboxId,
    group: GroupId,
) -> Result<Inbox, StoreError> {
    let account = tx
        .one(sql::INBOX_ACCOUNT, &[inbox.into()], |row| {
            id(row, "account_id")
        })
        .await?
        .ok_or(StoreError::NotFound)?;
    lock_account(tx, account).await?;
    let moved = tx
        .one(INBOX_GROUP, &[inbox.into(), group.into()], rows::inbox)
        .await?;
    moved.ok_or(StoreError::NotFound)
}

pub(crate) async fn lock_account<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<(), StoreError> {
    found(tx.execute(LOCK_ACCOUNT, &[account.into()]).await?)
}

/// The account's access, read under its lock.
async fn locked_access<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<AccountAccess, StoreError> {
    lock_account(tx, account).await?;
    account_access(tx, account).await
}

/// A write that changed no row named something that does not exist.
fn found(changed: u64) -> Result<(), StoreError> {
    match changed {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// What the tree refused: an unknown group is not found, the rest a
/// conflict with the rule's words.
fn refused(err: GroupError) -> StoreError {
    match err {
        GroupError::UnknownGroup(_) => StoreError::NotFound,
        other => StoreError::Conflict(other.to_string()),
    }
}

/// How a custom role's permissions are stored: their ids, separated by
/// spaces.
fn permission_ids(permissions: PermissionSet) -> String {
    let ids: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
    ids.join(" ")
}

fn group(row: &dyn Columns) -> Result<Group, StoreError> {
    Ok(Group {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        name: row.text("name")?,
        parent_id: row.opt_uuid("parent_id")?.map(GroupId::from),
    })
}

fn grant(row: &dyn Columns) -> Result<Grant, StoreError> {
    let role = RoleId::parse(&row.text("role")?).map_err(stored("role"))?;
    Ok(Grant::new(role, id(row, "group_id")?))
}

fn custom_role(row: &dyn Columns) -> Result<(CustomRoleId, CustomRole), StoreError> {
    let name = Name::parse("name", &row.text("name")?).map_err(stored("name"))?;
    let permissions = row.text("permissions")?;
    let permissions =
        PermissionSet::parse(permissions.split_whitespace()).map_err(stored("permissions"))?;
    Ok((id(row, "id")?, CustomRole { name, permissions }))
}

/// A stored value the code no longer reads is the store's failure.
fn stored<E: std::fmt::Display>(column: &'static str) -> impl Fn(E) -> StoreError {
    move |err| StoreError::Internal(format!("stored {column}: {err}"))
}
