//! Two-factor authentication and login throttling (docs/PEOPLE.md): a
//! user's TOTP enrolment (its secret sealed by the server, the last step
//! accepted, the backup codes' hashes), whether an account requires it,
//! and the login attempts counted per key (reserved before their secret
//! is checked). Written once for both backends.

use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, UserId};
use switchboard_core::two_factor::{LoginFailures, Reservation, ThrottlePolicy, TwoFactorRecord};
use uuid::Uuid;

use crate::rows::Columns;
use crate::statement::{Statements, Value};

const TWO_FACTOR_OF: &str = "SELECT secret, confirmed_at IS NOT NULL AS confirmed, last_step \
     FROM two_factor WHERE user_id = $1";
const USER_EXISTS: &str = "SELECT 1 AS found FROM users WHERE id = $1";
const TWO_FACTOR_DELETE: &str = "DELETE FROM two_factor WHERE user_id = $1";
const BACKUP_CODES_DELETE: &str = "DELETE FROM two_factor_backup_codes WHERE user_id = $1";
const BACKUP_CODE_INSERT: &str =
    "INSERT INTO two_factor_backup_codes (user_id, code_hash) VALUES ($1, $2)";
/// The compare-and-set of replay protection: one row changes only for a
/// step later than the last accepted one, so of concurrent claims of one
/// step exactly one changes it.
const CLAIM_STEP: &str = "UPDATE two_factor SET last_step = $2 \
     WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)";
const USE_BACKUP_CODE: &str =
    "DELETE FROM two_factor_backup_codes WHERE user_id = $1 AND code_hash = $2";
const REQUIRED: &str = "SELECT require_2fa FROM accounts WHERE id = $1";
const SET_REQUIRED: &str =
    "UPDATE accounts SET require_2fa = $2 WHERE id = $1 AND require_2fa <> $2";
const MUST_ENROLL: &str = "SELECT (a.require_2fa AND NOT EXISTS \
        (SELECT 1 FROM two_factor t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)) \
        AS must \
     FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id = $1";
const CLEAR_FAILURES: &str = "DELETE FROM login_failures WHERE key = $1";
const RELEASE_ATTEMPT: &str = "DELETE FROM login_failures WHERE attempt = $1";

pub(crate) async fn two_factor<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<Option<TwoFactorRecord>, StoreError> {
    tx.one(TWO_FACTOR_OF, &[user.into()], |row| {
        Ok(TwoFactorRecord {
            sealed_secret: row.text("secret")?,
            confirmed: row.flag("confirmed")?,
            last_step: row.opt_int("last_step")?,
        })
    })
    .await
}

/// A pending setup for a known user, unless 2FA is on (`Conflict`).
pub(crate) async fn begin_two_factor<T: Statements>(
    tx: &mut T,
    user: UserId,
    sealed_secret: &str,
) -> Result<(), StoreError> {
    let found = tx.one(USER_EXISTS, &[user.into()], |_| Ok(())).await?;
    found.ok_or(StoreError::NotFound)?;
    let params = [Value::Clock, user.into(), sealed_secret.into()];
    match tx.execute(T::SQL.two_factor_begin, &params).await? {
        0 => Err(StoreError::Conflict(
            "two-factor authentication is already on; turn it off first".into(),
        )),
        _ => Ok(()),
    }
}

/// The pending setup turned on with its backup codes, in the caller's
/// transaction; false when there was no such pending setup.
pub(crate) async fn confirm_two_factor<T: Statements>(
    tx: &mut T,
    user: UserId,
    sealed_secret: &str,
    step: i64,
    backup_code_hashes: &[[u8; 32]],
) -> Result<bool, StoreError> {
    let params = [Value::Clock, user.into(), sealed_secret.into(), step.into()];
    if tx.execute(T::SQL.two_factor_confirm, &params).await? == 0 {
        return Ok(false);
    }
    tx.execute(BACKUP_CODES_DELETE, &[user.into()]).await?;
    for hash in backup_code_hashes {
        tx.execute(BACKUP_CODE_INSERT, &[user.into(), hash[..].into()])
            .await?;
    }
    Ok(true)
}

/// The enrolment and its backup codes gone, in the caller's transaction.
pub(crate) async fn disable_two_factor<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<bool, StoreError> {
    tx.execute(BACKUP_CODES_DELETE, &[user.into()]).await?;
    Ok(tx.execute(TWO_FACTOR_DELETE, &[user.into()]).await? > 0)
}

pub(crate) async fn claim_totp_step<T: Statements>(
    tx: &mut T,
    user: UserId,
    step: i64,
) -> Result<bool, StoreError> {
    Ok(tx.execute(CLAIM_STEP, &[user.into(), step.into()]).await? == 1)
}

pub(crate) async fn use_backup_code<T: Statements>(
    tx: &mut T,
    user: UserId,
    code_hash: &[u8; 32],
) -> Result<bool, StoreError> {
    let params = [user.into(), code_hash[..].into()];
    Ok(tx.execute(USE_BACKUP_CODE, &params).await? == 1)
}

pub(crate) async fn two_factor_required<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<bool, StoreError> {
    let required = tx
        .one(REQUIRED, &[account.into()], |row| row.flag("require_2fa"))
        .await?;
    required.ok_or(StoreError::NotFound)
}

pub(crate) async fn set_two_factor_required<T: Statements>(
    tx: &mut T,
    account: AccountId,
    required: bool,
) -> Result<bool, StoreError> {
    let changed = tx
        .execute(SET_REQUIRED, &[account.into(), required.into()])
        .await?;
    if changed == 0 {
        // unchanged, or no such account
        two_factor_required(tx, account).await?;
    }
    Ok(changed > 0)
}

pub(crate) async fn must_enroll_two_factor<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<bool, StoreError> {
    let must = tx
        .one(MUST_ENROLL, &[user.into()], |row| row.flag("must"))
        .await?;
    Ok(must.unwrap_or(false))
}

/// Login attempt `attempt` counted under each key, unless a key has
/// reached the limit (then nothing is counted), in the caller's
/// transaction: each key's lock taken first, in one order for every
/// attempt (so that two never wait for each other), then its attempts
/// within the window counted, then this one recorded.
pub(crate) async fn reserve_login_attempt<T: Statements>(
    tx: &mut T,
    attempt: Uuid,
    keys: &[String],
    policy: ThrottlePolicy,
) -> Result<Reservation, StoreError> {
    let mut ordered: Vec<&str> = keys.iter().map(String::as_str).collect();
    ordered.sort_unstable();
    ordered.dedup();
    for key in &ordered {
        let params = [Value::Clock, (*key).into()];
        tx.one(T::SQL.login_key_lock, &params, |_| Ok(())).await?;
    }
    let counted = login_failures(tx, &ordered, policy.window).await?;
    if let Some(wait) = policy.wait(&counted) {
        return Ok(Reservation::Refused { wait });
    }
    for key in &ordered {
        let params = [Value::Clock, (*key).into(), attempt.into()];
        tx.execute(T::SQL.login_attempt_insert, &params).await?;
    }
    let params = [Value::Clock, window_millis(policy.window).into()];
    tx.execute(T::SQL.login_failures_prune, &params).await?;
    Ok(Reservation::Reserved)
}

/// Each key's attempts within the window (keys without any left out).
async fn login_failures<T: Statements>(
    tx: &mut T,
    keys: &[&str],
    window: Duration,
) -> Result<Vec<LoginFailures>, StoreError> {
    let mut counted = Vec::with_capacity(keys.len());
    for key in keys {
        let params = [Value::Clock, window_millis(window).into(), (*key).into()];
        let row = tx
            .one(T::SQL.login_failures_count, &params, failures_row)
            .await?;
        counted.extend(row);
    }
    Ok(counted)
}

pub(crate) async fn release_login_attempt<T: Statements>(
    tx: &mut T,
    attempt: Uuid,
) -> Result<(), StoreError> {
    tx.execute(RELEASE_ATTEMPT, &[attempt.into()])
        .await
        .map(drop)
}

pub(crate) async fn clear_login_failures<T: Statements>(
    tx: &mut T,
    key: &str,
) -> Result<(), StoreError> {
    tx.execute(CLEAR_FAILURES, &[key.into()]).await.map(drop)
}

fn window_millis(window: Duration) -> i64 {
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

fn failures_row(row: &dyn Columns) -> Result<LoginFailures, StoreError> {
    Ok(LoginFailures {
        key: row.text("key")?,
        count: u32::try_from(row.int("failures")?).unwrap_or(u32::MAX),
        oldest: row.time("oldest")?,
        now: row.time("now")?,
    })
}
