//! Pending invitations as other writes see them: a user, a group or a
//! custom role that a pending, unexpired invitation would give or name is
//! kept from `user create` and from deletion. A leaf of the store: the
//! access and account writes ask it, and it asks none of them back.

use switchboard_core::StoreError;
use switchboard_core::access::RoleId;
use switchboard_core::ids::{AccountId, GroupId};

use crate::statement::{Statements, Value};

/// Refuses a new user of the account (`user create`) whose address has a
/// pending, unexpired invitation there: it is revoked first, or accepted.
pub(crate) async fn check_no_pending_invitation<T: Statements>(
    tx: &mut T,
    account: AccountId,
    email: &str,
) -> Result<(), StoreError> {
    let params = [Value::Clock, account.into(), email.into()];
    match count(tx, T::SQL.invitations_pending_to, &params).await? {
        0 => Ok(()),
        _ => Err(StoreError::Conflict(format!(
            "{email} has a pending invitation: revoke it first, or let it be accepted"
        ))),
    }
}

/// How many pending, unexpired invitations of the account would grant
/// something at `group`.
pub(crate) async fn invitations_naming_group<T: Statements>(
    tx: &mut T,
    account: AccountId,
    group: GroupId,
) -> Result<i64, StoreError> {
    invitations_naming(tx, account, &format!("%@{group} %")).await
}

/// How many pending, unexpired invitations of the account would grant
/// `role`.
pub(crate) async fn invitations_naming_role<T: Statements>(
    tx: &mut T,
    account: AccountId,
    role: RoleId,
) -> Result<i64, StoreError> {
    invitations_naming(tx, account, &format!("% {role}@%")).await
}

/// `pattern` over the grants as `invitations::grants_text` writes them, with a space
/// before and after.
async fn invitations_naming<T: Statements>(
    tx: &mut T,
    account: AccountId,
    pattern: &str,
) -> Result<i64, StoreError> {
    let params = [Value::Clock, account.into(), pattern.into()];
    count(tx, T::SQL.invitations_naming, &params).await
}

async fn count<T: Statements>(
    tx: &mut T,
    sql: &'static str,
    params: &[Value<'_>],
) -> Result<i64, StoreError> {
    Ok(tx.one(sql, params, |row| row.int("n")).await?.unwrap_or(0))
}
