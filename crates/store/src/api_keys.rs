//! API keys' storage (docs/MODULES.md, "API keys"): a key with its grants,
//! found by the hash of its secret while it is live, revoked at once, its
//! last use recorded at most once a minute. Written once for both
//! backends; who may make or revoke a key is the application's decision.

use std::collections::HashMap;
use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::access::{Grant, RoleId};
use switchboard_core::api_keys::{ApiKey, NewApiKey};
use switchboard_core::ids::{AccountId, ApiKeyId};

use crate::rows::Columns;
use crate::statement::{Statements, Value, id, inserted};

const KEY_BY_HASH: &str = "SELECT id, account_id, name, prefix, created_by, created_at, \
     last_used_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL";
const KEYS_OF_ACCOUNT: &str = "SELECT id, account_id, name, prefix, created_by, created_at, \
     last_used_at FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL \
     ORDER BY created_at, id";
const GRANTS_OF_KEY: &str =
    "SELECT api_key_id, role, group_id FROM api_key_grants WHERE api_key_id = $1";
const GRANTS_OF_ACCOUNT: &str = "SELECT kg.api_key_id, kg.role, kg.group_id \
     FROM api_key_grants kg JOIN api_keys k ON k.id = kg.api_key_id \
     WHERE k.account_id = $1 AND k.revoked_at IS NULL";
/// `$1` key, `$2` role, `$3` group, `$4` the key's account: only a group
/// of that account.
const GRANT_INSERT: &str = "INSERT INTO api_key_grants (api_key_id, role, group_id) \
     SELECT $1, $2, g.id FROM groups g WHERE g.id = $3 AND g.account_id = $4";

/// A new key and its grants, in the caller's transaction; `NotFound` when
/// a grant's group is not the key's account's.
pub(crate) async fn create_api_key<T: Statements>(
    tx: &mut T,
    new: &NewApiKey,
) -> Result<ApiKey, StoreError> {
    let key_uuid = new.id.as_uuid();
    let params = [
        Value::Clock,
        key_uuid.into(),
        new.account_id.into(),
        new.name.as_str().into(),
        new.prefix.as_str().into(),
        new.key_hash.as_slice().into(),
        new.created_by.into(),
    ];
    let mut key = inserted(tx.one(T::SQL.api_key_insert, &params, key_row).await?)?;
    let mut grants = new.grants.clone();
    grants.sort();
    grants.dedup();
    for grant in &grants {
        let role = grant.role.to_string();
        let params = [
            key_uuid.into(),
            role.as_str().into(),
            grant.group.into(),
            new.account_id.into(),
        ];
        if tx.execute(GRANT_INSERT, &params).await? == 0 {
            return Err(StoreError::NotFound);
        }
    }
    key.grants = grants;
    Ok(key)
}

/// The account's live keys with their grants, oldest first.
pub(crate) async fn api_keys_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<ApiKey>, StoreError> {
    let mut keys = tx.all(KEYS_OF_ACCOUNT, &[account.into()], key_row).await?;
    let mut grants: HashMap<ApiKeyId, Vec<Grant>> = HashMap::new();
    for (key, grant) in api_key_grants(tx, account).await? {
        grants.entry(key).or_default().push(grant);
    }
    for key in &mut keys {
        key.grants = grants.remove(&key.id).unwrap_or_default();
    }
    Ok(keys)
}

/// The live key of this secret hash, with its grants.
pub(crate) async fn api_key_by_hash<T: Statements>(
    tx: &mut T,
    key_hash: &[u8],
) -> Result<Option<ApiKey>, StoreError> {
    let Some(mut key) = tx.one(KEY_BY_HASH, &[key_hash.into()], key_row).await? else {
        return Ok(None);
    };
    key.grants = grants_of_key(tx, key.id).await?;
    Ok(Some(key))
}

/// Revokes a live key of the account; `NotFound` for any other.
pub(crate) async fn revoke_api_key<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: ApiKeyId,
) -> Result<ApiKey, StoreError> {
    let params = [Value::Clock, id.as_uuid().into(), account.into()];
    let mut key = tx
        .one(T::SQL.api_key_revoke, &params, key_row)
        .await?
        .ok_or(StoreError::NotFound)?;
    key.grants = grants_of_key(tx, key.id).await?;
    Ok(key)
}

/// Records a use now, unless one was recorded within `every`.
pub(crate) async fn touch_api_key<T: Statements>(
    tx: &mut T,
    id: ApiKeyId,
    every: Duration,
) -> Result<(), StoreError> {
    let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    let params = [Value::Clock, every.into(), id.as_uuid().into()];
    tx.execute(T::SQL.api_key_touch, &params).await.map(drop)
}

/// Every grant of the account's live keys, sorted.
pub(crate) async fn api_key_grants<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<(ApiKeyId, Grant)>, StoreError> {
    let mut grants = tx
        .all(GRANTS_OF_ACCOUNT, &[account.into()], key_grant)
        .await?;
    grants.sort();
    Ok(grants)
}

async fn grants_of_key<T: Statements>(tx: &mut T, key: ApiKeyId) -> Result<Vec<Grant>, StoreError> {
    let mut grants: Vec<Grant> = tx
        .all(GRANTS_OF_KEY, &[key.as_uuid().into()], key_grant)
        .await?
        .into_iter()
        .map(|(_, grant)| grant)
        .collect();
    grants.sort();
    Ok(grants)
}

fn key_row(row: &dyn Columns) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        name: row.text("name")?,
        prefix: row.text("prefix")?,
        grants: Vec::new(),
        created_at: row.time("created_at")?,
        created_by: row.opt_uuid("created_by")?.map(Into::into),
        last_used_at: row.opt_time("last_used_at")?,
    })
}

fn key_grant(row: &dyn Columns) -> Result<(ApiKeyId, Grant), StoreError> {
    let role = RoleId::parse(&row.text("role")?)
        .map_err(|e| StoreError::Internal(format!("stored role: {e}")))?;
    Ok((
        id(row, "api_key_id")?,
        Grant::new(role, id(row, "group_id")?),
    ))
}
