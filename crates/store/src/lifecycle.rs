//! Users' lifecycle, ownership and login sessions (docs/PEOPLE.md): the
//! `Store` port's statements for deactivating, reactivating and removing a
//! user (and revoking the invitations they sent), transferring ownership,
//! and listing and ending sessions, written once for both backends over
//! [`Statements`] (routing's [`RoutingTx`] where a change puts
//! conversations back through assignment).
//!
//! The few texts that differ by dialect (a token hash shown as hex, the
//! clock a session's expiry is judged by) come in pairs, picked by
//! [`Texts::of`].

use chrono::{DateTime, Utc};
use switchboard_core::Role;
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, UserId};
use switchboard_core::lifecycle::{LoginSession, TokenHash, UserEnded};
use switchboard_core::model::{AssignmentKind, Routed, User};
use uuid::Uuid;

use crate::invitations::revoke_invitations_by;
use crate::routing::{Placement, RoutingTx, Session};
use crate::rows::{self, Columns};
use crate::sql;
use crate::statement::{Statements, Value};

const USER_STATE: &str = "SELECT account_id, deactivated_at, removed_at FROM users WHERE id = $1";
const OWNER_GRANTS: &str = "SELECT count(*) AS n FROM grants WHERE user_id = $1 AND role = 'owner'";
/// Takes the account row's lock: ownership transfers (and the
/// deactivations that could make their target inactive) run one at a time
/// per account.
const LOCK_ACCOUNT: &str = "UPDATE accounts SET name = name WHERE id = $1";
const DEACTIVATE: &str =
    "UPDATE users SET deactivated_at = $2 WHERE id = $1 AND deactivated_at IS NULL";
const LOCKS_OF_USER_RELEASE: &str = "UPDATE conversations \
     SET lock_holder = NULL, lock_node = NULL, lock_until = NULL WHERE lock_holder = $1";
const CONSOLES_OF_USER_DELETE: &str = "DELETE FROM agent_sessions WHERE user_id = $1";
/// Deactivation changes what a user may do without touching a grant: the
/// stamp tells every node (a command-line change too) to read access again.
const ACCESS_STAMP_RAISE: &str =
    "UPDATE accounts SET access_stamp = access_stamp + 1 WHERE id = $1";
const ASSIGNED_OPEN: &str = "SELECT c.id, c.account_id, c.status, c.assignee_id, c.queue_key \
     FROM conversations c WHERE c.assignee_id = $1 AND c.status = 'open' \
     ORDER BY c.created_at, c.id";
const REMOVE: &str = "UPDATE users SET removed_at = $2, email = $3 WHERE id = $1";
const GRANTS_OF_USER_DELETE: &str = "DELETE FROM grants WHERE user_id = $1";
const TEAMS_OF_USER_DELETE: &str = "DELETE FROM team_members WHERE user_id = $1";
const REACTIVATE: &str = "UPDATE users SET deactivated_at = NULL \
     WHERE id = $1 AND removed_at IS NULL \
     RETURNING id, account_id, email, name, role, capacity, created_at, deactivated_at";
const TRANSFER_TARGET: &str = "SELECT deactivated_at FROM users \
     WHERE id = $1 AND account_id = $2 AND removed_at IS NULL";
/// The owner grant changes holder in one statement: the account is never
/// without its owner, nor with two (migration 0009).
const OWNER_MOVE: &str = "UPDATE grants SET user_id = $3 \
     WHERE role = 'owner' AND user_id = $2 \
       AND group_id = (SELECT id FROM groups WHERE account_id = $1 AND parent_id IS NULL)";
const ADMINISTRATOR_AT_ROOT: &str = "INSERT INTO grants (user_id, role, group_id) \
     SELECT $1, 'administrator', id FROM groups WHERE account_id = $2 AND parent_id IS NULL \
     ON CONFLICT DO NOTHING";
const ROLE_SET: &str = "UPDATE users SET role = $2 WHERE id = $1";
const OTHER_SESSIONS_DELETE: &str =
    "DELETE FROM login_sessions WHERE user_id = $1 AND token_hash <> $2";

/// The statements whose text differs by dialect.
struct Texts {
    /// `$2` the user: their sessions not expired at `$1`, oldest first.
    sessions_of: &'static str,
    /// `$1` the user, `$2` the session id: deleted, its hash returned.
    session_end: &'static str,
    /// `$2` a JSON array of token hashes in hex: those live at `$1`.
    live: &'static str,
}

const SQLITE: Texts = Texts {
    sessions_of: "SELECT id, lower(hex(token_hash)) AS token_hash, created_at, expires_at \
         FROM login_sessions WHERE user_id = $2 AND expires_at > $1 \
         ORDER BY created_at, id",
    session_end: "DELETE FROM login_sessions WHERE user_id = $1 AND id = $2 \
         RETURNING lower(hex(token_hash)) AS token_hash",
    live: "SELECT lower(hex(token_hash)) AS token_hash, expires_at FROM login_sessions \
         WHERE token_hash IN (SELECT unhex(value) FROM json_each($2)) AND expires_at > $1",
};

const POSTGRES: Texts = Texts {
    sessions_of: concat!(
        "SELECT id, encode(token_hash, 'hex') AS token_hash, created_at, expires_at \
         FROM login_sessions WHERE user_id = $2 AND expires_at > ",
        sql::now!(postgres),
        " ORDER BY created_at, id"
    ),
    session_end: "DELETE FROM login_sessions WHERE user_id = $1 AND id = $2 \
         RETURNING encode(token_hash, 'hex') AS token_hash",
    live: concat!(
        "SELECT encode(token_hash, 'hex') AS token_hash, expires_at FROM login_sessions \
         WHERE token_hash IN (SELECT decode(value, 'hex') \
                              FROM jsonb_array_elements_text($2::jsonb)) \
           AND expires_at > ",
        sql::now!(postgres)
    ),
};

impl Texts {
    /// The texts of `T`'s dialect.
    fn of<T: Statements>() -> &'static Texts {
        if T::SQL.login_session_user == sql::SQLITE.login_session_user {
            &SQLITE
        } else {
            &POSTGRES
        }
    }
}

/// What a lifecycle change needs to know of its user.
struct UserState {
    account: AccountId,
    deactivated: bool,
    removed: bool,
}

async fn user_state<T: Statements>(tx: &mut T, user: UserId) -> Result<UserState, StoreError> {
    let state = tx
        .one(USER_STATE, &[user.into()], |row| {
            Ok(UserState {
                account: row.uuid("account_id")?.into(),
                deactivated: row.opt_time("deactivated_at")?.is_some(),
                removed: row.opt_time("removed_at")?.is_some(),
            })
        })
        .await?;
    state.filter(|s| !s.removed).ok_or(StoreError::NotFound)
}

async fn refuse_owner<T: Statements>(tx: &mut T, user: UserId) -> Result<(), StoreError> {
    let held = tx
        .one(OWNER_GRANTS, &[user.into()], |row| row.int("n"))
        .await?;
    match held.unwrap_or(0) {
        0 => Ok(()),
        _ => Err(StoreError::Conflict(
            "the owner cannot be deactivated, removed or downgraded".into(),
        )),
    }
}

/// Deactivates `user` (see `Store::deactivate_user`), in the caller's
/// transaction.
pub(crate) async fn deactivate_user<T: RoutingTx>(
    tx: &mut T,
    user: UserId,
) -> Result<UserEnded, StoreError> {
    let account = user_state(tx, user).await?.account;
    let now = tx.lock(account).await?;
    tx.execute(LOCK_ACCOUNT, &[account.into()]).await?;
    refuse_owner(tx, user).await?;
    let revoked_invitations = revoke_invitations_by(tx, user).await?;
    let routed = end_everything(tx, account, user, now).await?;
    Ok(UserEnded {
        routed,
        revoked_invitations,
    })
}

/// The user inactive: no session, no role, no console, none of their
/// conversations, the account's stamp raised. Runs under the account's
/// routing lock, taken at `now`.
async fn end_everything<T: RoutingTx>(
    tx: &mut T,
    account: AccountId,
    user: UserId,
    now: i64,
) -> Result<Routed, StoreError> {
    tx.execute(DEACTIVATE, &[user.into(), Value::millis(now)?])
        .await?;
    tx.execute(sql::LOGIN_SESSIONS_OF_USER_DELETE, &[user.into()])
        .await?;
    tx.execute(LOCKS_OF_USER_RELEASE, &[user.into()]).await?;
    tx.execute(CONSOLES_OF_USER_DELETE, &[user.into()]).await?;
    tx.execute(ACCESS_STAMP_RAISE, &[account.into()]).await?;
    // read after the writes: the user is no agent any more
    let agents = tx.agents(account).await?;
    let mut session = Session::on(tx, account, now, agents);
    for mut row in session
        .tx
        .all(ASSIGNED_OPEN, &[user.into()], rows::route)
        .await?
    {
        session.place(&mut row, Placement::Queued).await?;
        session
            .log(row.id, AssignmentKind::Requeued, None, None)
            .await?;
    }
    session.serve().await?;
    session.finish().await
}

/// Removes `user` (see `Store::remove_user`), in the caller's transaction.
pub(crate) async fn remove_user<T: RoutingTx>(
    tx: &mut T,
    user: UserId,
) -> Result<UserEnded, StoreError> {
    let account = user_state(tx, user).await?.account;
    let now = tx.lock(account).await?;
    tx.execute(LOCK_ACCOUNT, &[account.into()]).await?;
    refuse_owner(tx, user).await?;
    let tombstone = tombstone(user);
    let params = [user.into(), Value::millis(now)?, tombstone.as_str().into()];
    tx.execute(REMOVE, &params).await?;
    tx.execute(GRANTS_OF_USER_DELETE, &[user.into()]).await?;
    tx.execute(TEAMS_OF_USER_DELETE, &[user.into()]).await?;
    let revoked_invitations = revoke_invitations_by(tx, user).await?;
    let routed = end_everything(tx, account, user, now).await?;
    Ok(UserEnded {
        routed,
        revoked_invitations,
    })
}

/// The address a removed user's row keeps: unique, never deliverable
/// (`.invalid`, RFC 2606), and not one anybody can sign in with.
fn tombstone(user: UserId) -> String {
    format!("removed-{}@removed.invalid", user.as_uuid().simple())
}

/// Reactivates `user`, in the caller's transaction: a deactivated user
/// takes a seat again (`SeatLimit` when the plan has none left).
pub(crate) async fn reactivate_user<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<User, StoreError> {
    let state = user_state(tx, user).await?;
    if state.deactivated {
        crate::access::lock_account(tx, state.account).await?;
        crate::seats::take_seats(tx, state.account, 1).await?;
    }
    let reactivated = tx
        .one(REACTIVATE, &[user.into()], rows::user)
        .await?
        .ok_or(StoreError::NotFound)?;
    if state.deactivated {
        tx.execute(ACCESS_STAMP_RAISE, &[state.account.into()])
            .await?;
    }
    Ok(reactivated)
}

/// Hands ownership from `from` to `to`, in the caller's transaction.
pub(crate) async fn transfer_ownership<T: Statements>(
    tx: &mut T,
    account: AccountId,
    from: UserId,
    to: UserId,
) -> Result<(), StoreError> {
    if tx.execute(LOCK_ACCOUNT, &[account.into()]).await? == 0 {
        return Err(StoreError::NotFound);
    }
    let target = tx
        .one(TRANSFER_TARGET, &[to.into(), account.into()], |row| {
            row.opt_time("deactivated_at")
        })
        .await?
        .ok_or(StoreError::NotFound)?;
    if target.is_some() {
        return Err(StoreError::Conflict(
            "a deactivated user cannot become the owner".into(),
        ));
    }
    if from == to {
        return Err(StoreError::Conflict(
            "this user is the owner already".into(),
        ));
    }
    let moved = tx
        .execute(OWNER_MOVE, &[account.into(), from.into(), to.into()])
        .await?;
    if moved != 1 {
        return Err(StoreError::Conflict("you are no longer the owner".into()));
    }
    tx.execute(ADMINISTRATOR_AT_ROOT, &[from.into(), account.into()])
        .await?;
    tx.execute(ROLE_SET, &[to.into(), Role::Owner.as_str().into()])
        .await?;
    tx.execute(ROLE_SET, &[from.into(), Role::Admin.as_str().into()])
        .await
        .map(drop)
}

/// The user's live sessions, oldest first.
pub(crate) async fn login_sessions_of<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<Vec<LoginSession>, StoreError> {
    let params = [Value::Clock, user.into()];
    tx.all(Texts::of::<T>().sessions_of, &params, |row| {
        Ok(LoginSession {
            id: row.uuid("id")?,
            token_hash: token_hash(row)?,
            created_at: row.time("created_at")?,
            expires_at: row.time("expires_at")?,
        })
    })
    .await
}

/// Deletes the user's session `id`; the hash it had.
pub(crate) async fn end_login_session<T: Statements>(
    tx: &mut T,
    user: UserId,
    id: Uuid,
) -> Result<Option<TokenHash>, StoreError> {
    tx.one(
        Texts::of::<T>().session_end,
        &[user.into(), id.into()],
        token_hash,
    )
    .await
}

/// The new password hash, and every other session of the user ended.
pub(crate) async fn change_password<T: Statements>(
    tx: &mut T,
    user: UserId,
    password_hash: &str,
    keep: &TokenHash,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(sql::SET_PASSWORD, &[user.into(), password_hash.into()])
        .await?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    tx.execute(OTHER_SESSIONS_DELETE, &[user.into(), keep[..].into()])
        .await
        .map(drop)
}

/// Of `token_hashes`, the live sessions' with their expiry.
pub(crate) async fn live_sessions<T: Statements>(
    tx: &mut T,
    token_hashes: &[TokenHash],
) -> Result<Vec<(TokenHash, DateTime<Utc>)>, StoreError> {
    if token_hashes.is_empty() {
        return Ok(Vec::new());
    }
    // hex digits need no escaping in a JSON string
    let quoted: Vec<String> = token_hashes
        .iter()
        .map(|hash| format!("\"{}\"", to_hex(hash)))
        .collect();
    let json = format!("[{}]", quoted.join(","));
    let params = [Value::Clock, json.as_str().into()];
    tx.all(Texts::of::<T>().live, &params, |row| {
        Ok((token_hash(row)?, row.time("expires_at")?))
    })
    .await
}

/// The `token_hash` column, read as lowercase hex.
fn token_hash(row: &dyn Columns) -> Result<TokenHash, StoreError> {
    from_hex(&row.text("token_hash")?)
        .ok_or_else(|| StoreError::Internal("a token hash that is not 32 bytes of hex".into()))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn from_hex(text: &str) -> Option<TokenHash> {
    let mut hash = [0; 32];
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    for (byte, pair) in hash.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hash_goes_to_hex_and_back() {
        let hash: TokenHash = std::array::from_fn(|i| (i * 37) as u8);
        let text = to_hex(&hash);
        assert_eq!(text.len(), 64);
        assert_eq!(from_hex(&text), Some(hash));
        assert_eq!(from_hex(&text[1..]), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
    }
}
