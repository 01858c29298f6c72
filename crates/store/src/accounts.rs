//! Accounts, users, login sessions and inboxes: the `Store` port's
//! statements on them, written once for both backends over
//! [`Statements`]. Each backend's `Store` method runs one of these where
//! its kind of statement goes (Postgres: the pool, or a transaction when
//! it writes twice; SQLite: the reader pool, or the writer thread).

use chrono::{DateTime, Utc};
use switchboard_core::ids::{AccountId, GroupId, InboxId, UserId};
use switchboard_core::input::Name;
use switchboard_core::model::{Account, Inbox, NewAccount, NewInbox, NewUser, User};
use switchboard_core::{Role, StoreError};

use crate::access::lock_account;
use crate::error::conflict_as;
use crate::pending::check_no_pending_invitation;
use crate::rows;
use crate::seats::take_seats;
use crate::sql;
use crate::statement::{Statements, Value, id, inserted};

/// Any account at all (the first-run setup is open while there is none).
const ANY_ACCOUNT: &str = "SELECT 1 FROM accounts LIMIT 1";

/// The first account of the database, as `create_account` makes it, or
/// `None` when one exists. The lock holds back a concurrent first run
/// (another node's) until this transaction ends.
pub(crate) async fn create_first_account<T: Statements>(
    tx: &mut T,
    new: NewAccount<'_>,
) -> Result<Option<(Account, User)>, StoreError> {
    tx.one(T::SQL.first_run_lock, &[], |_| Ok(())).await?;
    if has_accounts(tx).await? {
        return Ok(None);
    }
    create_account(tx, new).await.map(Some)
}

/// Whether any account exists.
pub(crate) async fn has_accounts<T: Statements>(tx: &mut T) -> Result<bool, StoreError> {
    let any = tx.one(ANY_ACCOUNT, &[], |_| Ok(())).await?;
    Ok(any.is_some())
}

/// The account, its root group (named after it) and its owner, in the
/// caller's transaction.
pub(crate) async fn create_account<T: Statements>(
    tx: &mut T,
    new: NewAccount<'_>,
) -> Result<(Account, User), StoreError> {
    let owner = NewUser {
        account_id: AccountId::new(),
        email: new.owner_email,
        name: new.owner_name,
        password_hash: new.owner_password_hash,
        role: Role::Owner,
        capacity: 0,
    };
    let params = [Value::Clock, owner.account_id.into(), new.name.into()];
    let account = tx
        .one(T::SQL.account_insert, &params, rows::account)
        .await?;
    let root = [
        Value::Clock,
        GroupId::new().into(),
        owner.account_id.into(),
        new.name.into(),
    ];
    tx.execute(T::SQL.root_group_insert, &root).await?;
    Ok((inserted(account)?, create_user(tx, owner).await?))
}

/// The user and their one grant at the account's root, the built-in role
/// matching their role (users.role stays until the server reads grants),
/// in the caller's transaction.
pub(crate) async fn create_user<T: Statements>(
    tx: &mut T,
    new: NewUser<'_>,
) -> Result<User, StoreError> {
    // a user takes a seat of the account's plan (docs/PEOPLE.md, "Seats")
    lock_account(tx, new.account_id).await?;
    take_seats(tx, new.account_id, 1).await?;
    // stored lowercased: emails are unique case-insensitively
    let email = new.email.to_lowercase();
    // a pending invitation holds this address's seat and its grants: the
    // user is made by accepting it (whose own invitation is accepted by
    // now), or after revoking it
    check_no_pending_invitation(tx, new.account_id, &email).await?;
    let params = [
        Value::Clock,
        UserId::new().into(),
        new.account_id.into(),
        email.as_str().into(),
        new.name.into(),
        new.role.as_str().into(),
        i64::from(new.capacity).into(),
        new.password_hash.into(),
    ];
    let user = tx.one(T::SQL.user_insert, &params, rows::user).await;
    let user = inserted(user.map_err(conflict_as("email already in use"))?)?;
    let grant = [
        user.id.into(),
        new.role.builtin().as_str().into(),
        new.account_id.into(),
    ];
    match tx.execute(sql::ROOT_GRANT_INSERT, &grant).await? {
        1 => Ok(user),
        _ => Err(StoreError::NotFound),
    }
}

pub(crate) async fn create_inbox<T: Statements>(
    tx: &mut T,
    new: NewInbox<'_>,
) -> Result<Inbox, StoreError> {
    let params = [
        Value::Clock,
        InboxId::new().into(),
        new.account_id.into(),
        new.name.into(),
        new.channel.into(),
        new.key_hash.into(),
    ];
    let inbox = tx.one(T::SQL.inbox_insert, &params, rows::inbox).await;
    inbox
        .map_err(conflict_as("inbox key already in use"))?
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn user<T: Statements>(
    tx: &mut T,
    id: UserId,
) -> Result<Option<User>, StoreError> {
    tx.one(sql::USER_BY_ID, &[id.into()], rows::user).await
}

/// The user with this email (any case) and their password hash.
pub(crate) async fn user_by_email<T: Statements>(
    tx: &mut T,
    email: &str,
) -> Result<Option<(User, String)>, StoreError> {
    let email = email.to_lowercase();
    tx.one(sql::USER_BY_EMAIL, &[email.as_str().into()], |row| {
        Ok((rows::user(row)?, row.text("password_hash")?))
    })
    .await
}

pub(crate) async fn create_login_session<T: Statements>(
    tx: &mut T,
    token_hash: &[u8],
    user: UserId,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let params = [
        Value::Clock,
        token_hash.into(),
        user.into(),
        Value::Time(expires_at),
    ];
    tx.execute(T::SQL.login_session_insert, &params)
        .await
        .map(drop)
        .map_err(conflict_as("login session already exists"))
}

/// A login session made only while the user is active with password hash
/// `password_hash`; false when nothing was made.
pub(crate) async fn create_verified_login_session<T: Statements>(
    tx: &mut T,
    token_hash: &[u8],
    user: UserId,
    password_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let params = [
        Value::Clock,
        token_hash.into(),
        user.into(),
        Value::Time(expires_at),
        password_hash.into(),
    ];
    let made = tx
        .execute(T::SQL.login_session_insert_verified, &params)
        .await
        .map_err(conflict_as("login session already exists"))?;
    Ok(made > 0)
}

/// The user of a login session that has not expired.
pub(crate) async fn login_session_user<T: Statements>(
    tx: &mut T,
    token_hash: &[u8],
) -> Result<Option<User>, StoreError> {
    let params = [Value::Clock, token_hash.into()];
    tx.one(T::SQL.login_session_user, &params, rows::user).await
}

pub(crate) async fn delete_login_session<T: Statements>(
    tx: &mut T,
    token_hash: &[u8],
) -> Result<(), StoreError> {
    tx.execute(sql::LOGIN_SESSION_DELETE, &[token_hash.into()])
        .await
        .map(drop)
}

pub(crate) async fn inbox<T: Statements>(
    tx: &mut T,
    id: InboxId,
) -> Result<Option<Inbox>, StoreError> {
    tx.one(sql::INBOX_BY_ID, &[id.into()], rows::inbox).await
}

pub(crate) async fn inbox_by_key<T: Statements>(
    tx: &mut T,
    key_hash: &[u8],
) -> Result<Option<Inbox>, StoreError> {
    tx.one(sql::INBOX_BY_KEY, &[key_hash.into()], rows::inbox)
        .await
}

pub(crate) async fn accounts<T: Statements>(tx: &mut T) -> Result<Vec<Account>, StoreError> {
    tx.all(sql::ACCOUNTS, &[], rows::account).await
}

pub(crate) async fn account<T: Statements>(
    tx: &mut T,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    tx.one(sql::ACCOUNT_BY_ID, &[id.into()], rows::account)
        .await
}

pub(crate) async fn users_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<User>, StoreError> {
    tx.all(sql::USERS_OF_ACCOUNT, &[account.into()], rows::user)
        .await
}

pub(crate) async fn inboxes_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<Inbox>, StoreError> {
    tx.all(sql::INBOXES_OF_ACCOUNT, &[account.into()], rows::inbox)
        .await
}

/// The user with a new name; `NotFound` for an unknown user.
pub(crate) async fn rename_user<T: Statements>(
    tx: &mut T,
    user: UserId,
    name: &Name,
) -> Result<User, StoreError> {
    let params = [user.into(), name.as_str().into()];
    let renamed = tx.one(sql::RENAME_USER, &params, rows::user).await?;
    renamed.ok_or(StoreError::NotFound)
}

/// The inbox with a new name; `NotFound` for an unknown inbox.
pub(crate) async fn rename_inbox<T: Statements>(
    tx: &mut T,
    inbox: InboxId,
    name: &Name,
) -> Result<Inbox, StoreError> {
    let params = [inbox.into(), name.as_str().into()];
    let renamed = tx.one(sql::RENAME_INBOX, &params, rows::inbox).await?;
    renamed.ok_or(StoreError::NotFound)
}

/// Every account's access stamp.
pub(crate) async fn access_stamps<T: Statements>(
    tx: &mut T,
) -> Result<Vec<(AccountId, u64)>, StoreError> {
    tx.all(sql::ACCESS_STAMPS, &[], stamp_row).await
}

/// Whether any two-factor secret is stored.
pub(crate) async fn two_factor_secrets_exist<T: Statements>(
    tx: &mut T,
) -> Result<bool, StoreError> {
    let count = tx
        .one(sql::TWO_FACTOR_SECRETS_EXIST, &[], |row| row.int("n"))
        .await?;
    Ok(count.unwrap_or(0) > 0)
}

/// One account's access stamp; `NotFound` for an unknown account.
pub(crate) async fn access_stamp<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<u64, StoreError> {
    let row = tx
        .one(sql::ACCESS_STAMP, &[account.into()], stamp_row)
        .await?;
    Ok(row.ok_or(StoreError::NotFound)?.1)
}

fn stamp_row(row: &dyn rows::Columns) -> Result<(AccountId, u64), StoreError> {
    let stamp = row.int("access_stamp")?;
    Ok((id(row, "id")?, u64::try_from(stamp).unwrap_or_default()))
}

/// The new hash, and the user's login sessions ended: whoever signed in
/// with the old password is signed out (in the caller's transaction).
pub(crate) async fn set_password<T: Statements>(
    tx: &mut T,
    user: UserId,
    password_hash: &str,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(sql::SET_PASSWORD, &[user.into(), password_hash.into()])
        .await?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    tx.execute(sql::LOGIN_SESSIONS_OF_USER_DELETE, &[user.into()])
        .await
        .map(drop)
}

pub(crate) async fn set_inbox_key<T: Statements>(
    tx: &mut T,
    inbox: InboxId,
    key_hash: &[u8],
) -> Result<Inbox, StoreError> {
    let params = [inbox.into(), key_hash.into()];
    tx.one(sql::SET_INBOX_KEY, &params, rows::inbox)
        .await
        .map_err(conflict_as("inbox key already in use"))?
        .ok_or(StoreError::NotFound)
}
