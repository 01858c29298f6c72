//! The access model's storage (DESIGN §6.3): an account's groups and
//! custom roles, a user's grants. Statements written once for both
//! backends over [`Statements`]; the rules on them (one root, no cycles,
//! what a grant adds up to) are the core's `access` module.

use switchboard_core::StoreError;
use switchboard_core::access::PermissionSet;
use switchboard_core::access::{AccountAccess, CustomRole, Grant, GroupTree, RoleBook, RoleId};
use switchboard_core::ids::{AccountId, CustomRoleId, GroupId, UserId};
use switchboard_core::input::Name;

use crate::rows::Columns;
use crate::statement::{Statements, id};

const GROUPS_OF_ACCOUNT: &str = "SELECT id, parent_id FROM groups WHERE account_id = $1";
const CUSTOM_ROLES_OF_ACCOUNT: &str =
    "SELECT id, name, permissions FROM custom_roles WHERE account_id = $1";
const GRANTS_OF_USER: &str = "SELECT role, group_id FROM grants WHERE user_id = $1";

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
