//! The API key commands (docs/MODULES.md, "API keys"): `api-key create`,
//! `api-key list`, `api-key revoke`. Each is one use case run as the
//! operator; a running server learns of the change from the account's
//! access stamp, and a revoked key is refused at once since every request
//! looks its key up.

use serde_json::json;
use switchboard_core::access::Grant;
use switchboard_core::api_keys::ApiKey;
use switchboard_core::input::Name;
use switchboard_core::{AccountId, GroupId};

use super::{failed, grants_json, offline, print, refused, role_named};
use crate::app::{App, Caller};
use crate::cli::{ApiKeyCreate, ApiKeyRevoke, OfAccount};

pub async fn create(args: ApiKeyCreate) -> anyhow::Result<()> {
    let name = Name::parse("name", &args.name).map_err(refused)?;
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let mut grants = Vec::new();
    for text in &args.grants {
        grants.push(grant_named(&app, account, text).await?);
    }
    let created = app
        .create_api_key(Caller::CommandLine, account, name, grants)
        .await
        .map_err(failed)?;
    let mut printed = key_json(&created.key);
    printed["key"] = json!(created.secret);
    print(printed);
    Ok(())
}

pub async fn list(args: OfAccount) -> anyhow::Result<()> {
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let keys = app
        .api_keys(Caller::CommandLine, account)
        .await
        .map_err(failed)?;
    let keys: Vec<_> = keys.iter().map(key_json).collect();
    print(json!({"account_id": account, "api_keys": keys}));
    Ok(())
}

pub async fn revoke(args: ApiKeyRevoke) -> anyhow::Result<()> {
    let account = AccountId::from(args.account);
    let app = offline(&args.database).await?;
    let key = app
        .revoke_api_key(Caller::CommandLine, account, args.key.into())
        .await
        .map_err(failed)?;
    print(json!({"api_key_id": key.id, "account_id": account, "revoked": true}));
    Ok(())
}

/// `<role>@<group id>` or `<role>@root`.
async fn grant_named(app: &App, account: AccountId, text: &str) -> anyhow::Result<Grant> {
    let (role, group) = text
        .rsplit_once('@')
        .ok_or_else(|| anyhow::anyhow!("a grant is <role>@<group id> or <role>@root: {text:?}"))?;
    let group = match group.trim() {
        "root" => app.root_group(account).await.map_err(failed)?,
        id => GroupId::from(
            id.parse::<uuid::Uuid>()
                .map_err(|_| anyhow::anyhow!("{id:?} is neither a group id nor root"))?,
        ),
    };
    Ok(Grant::new(role_named(app, account, role).await?, group))
}

/// A key as the commands print it (never its secret).
fn key_json(key: &ApiKey) -> serde_json::Value {
    json!({
        "api_key_id": key.id,
        "account_id": key.account_id,
        "name": key.name,
        "prefix": key.prefix,
        "grants": grants_json(&key.grants),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
    })
}
