//! API keys for integrations (docs/MODULES.md, "API keys"): made, listed
//! and revoked by those holding `developers.manage` account-wide, and
//! recognized on every request by the hash of their secret.
//!
//! A key acts with exactly its grants: they sit in the access book under
//! the key's id, so every check of the policy applies to a key as to a
//! user. A key never holds more than its maker holds: each of its grants
//! is of a role whose every permission the maker holds at its group (the
//! rule against escalation of `PUT /v1/users/{id}/grants`, without the
//! `users.manage` that managing a person needs), and a key cannot make
//! keys: a leaked key must not be able to outlive its own revocation. A
//! key is no person: it has no login session, no console, no password or
//! second factor, and is assigned nothing (`App::person_credential`).
//!
//! Each request looks the key up in the store (live ones only), so a
//! revoked key is refused at once on every node; its last use is written
//! at most once a minute.

use chrono::Utc;
use serde_json::json;
use switchboard_core::access::{Grant, Permission, Refusal, RoleId, check_key_grants};
use switchboard_core::api_keys::{self, ApiKey, LAST_USED_EVERY, NewApiKey};
use switchboard_core::audit::AuditAction;
use switchboard_core::ids::ApiKeyId;
use switchboard_core::input::Name;
use switchboard_core::{AccountId, Principal, Resource};

use super::access::{grants_detail, refused};
use super::{App, AppError, Caller};
use crate::auth;

/// API keys start with this, so that logs, people and the server can tell
/// them from login tokens (`sbs_`) and inbox keys (`sbk_`).
pub const API_KEY_PREFIX: &str = "sba_";

const MISSING: &str = "no such api key";

/// A key just made, with its secret: shown here and never again.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

impl App {
    /// Makes a key holding `grants` (at least one): `developers.manage`
    /// account-wide, and each grant one the caller could give a user. An
    /// unknown role or group is not found; `owner` is never granted.
    pub async fn create_api_key(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        name: Name,
        grants: Vec<Grant>,
    ) -> Result<CreatedApiKey, AppError> {
        if matches!(caller, Caller::User(who) if who.is_api_key()) {
            return Err(AppError::forbidden(
                "an api key cannot make api keys: a person makes them",
            ));
        }
        self.check_developers(caller, account).await?;
        let mut grants = grants;
        grants.sort();
        grants.dedup();
        if grants.is_empty() {
            return Err(AppError::BadRequest(
                "an api key needs at least one grant".into(),
            ));
        }
        let access = self.access_of(account).await?;
        for grant in &grants {
            if grant.role == RoleId::OWNER {
                return Err(refused(Refusal::OwnershipNotGranted));
            }
            if access.access.roles.permissions(grant.role).is_none() {
                return Err(refused(Refusal::UnknownRole(grant.role)));
            }
            if !access.access.groups.contains(grant.group) {
                return Err(refused(Refusal::UnknownGroup(grant.group)));
            }
        }
        let created_by = match caller {
            Caller::User(who) => {
                check_key_grants(&access.access, access.grants(who.id()), &grants)
                    .map_err(refused)?;
                Some(who.id())
            }
            Caller::CommandLine => None,
        };
        let secret = auth::new_secret(API_KEY_PREFIX);
        let new = NewApiKey {
            id: ApiKeyId::new(),
            account_id: account,
            name,
            prefix: api_keys::shown_prefix(&secret),
            key_hash: auth::secret_hash(&secret),
            grants,
            created_by,
        };
        let key = self.store.create_api_key(&new).await?;
        self.access_changed(account).await?;
        tracing::info!(%account, api_key = %key.id, "api key made");
        let detail = key_detail(&key);
        self.audit(caller, account, AuditAction::ApiKeyCreated, None, detail)
            .await;
        Ok(CreatedApiKey { key, secret })
    }

    /// The account's live keys, oldest first (never their secrets):
    /// `developers.manage` account-wide.
    pub async fn api_keys(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Vec<ApiKey>, AppError> {
        self.check_developers(caller, account).await?;
        Ok(self.store.api_keys_of(account).await?)
    }

    /// Revokes a key at once, on every node: `developers.manage`
    /// account-wide. Another account's key, an unknown or an already
    /// revoked one is not found.
    pub async fn revoke_api_key(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        id: ApiKeyId,
    ) -> Result<ApiKey, AppError> {
        self.check_developers(caller, account).await?;
        let key = match self.store.revoke_api_key(account, id).await {
            Err(switchboard_core::StoreError::NotFound) => Err(AppError::NotFound(MISSING)),
            other => other.map_err(AppError::from),
        }?;
        self.access_changed(account).await?;
        tracing::info!(%account, api_key = %key.id, "api key revoked");
        let detail = key_detail(&key);
        self.audit(caller, account, AuditAction::ApiKeyRevoked, None, detail)
            .await;
        Ok(key)
    }

    /// Who a request's credential is: an API key acting, or the user of a
    /// login session (see [`App::authenticate`]).
    pub async fn authenticate_principal(
        &self,
        credential: Option<&str>,
    ) -> Result<Principal, AppError> {
        match credential {
            Some(secret) if secret.starts_with(API_KEY_PREFIX) => {
                self.authenticate_api_key(secret).await
            }
            other => Ok(self.authenticate(other).await?.user.principal()),
        }
    }

    /// Refuses an API key where only a person may act (their own sessions,
    /// password, second factor, agent state; signing out): 403.
    pub fn person_credential(&self, credential: Option<&str>) -> Result<(), AppError> {
        match credential {
            Some(secret) if secret.starts_with(API_KEY_PREFIX) => Err(AppError::forbidden(
                "api keys cannot do this: it is for a signed-in person only",
            )),
            _ => Ok(()),
        }
    }

    /// The key of `secret`, if it is live; its use recorded when due.
    async fn authenticate_api_key(&self, secret: &str) -> Result<Principal, AppError> {
        let key = self
            .store
            .api_key_by_hash(&auth::secret_hash(secret))
            .await?
            .ok_or(AppError::Unauthorized("invalid or revoked api key"))?;
        // Every check of this request asks the account's access: loaded
        // here once, kept current from then on. A key this node's book
        // does not know yet was made behind its back (at the command
        // line): the access is read again now rather than at the next
        // stamp check, so a new key never starts with no rights.
        let access = self.access.now(key.account_id).await?;
        if access.grants(api_keys::acting_id(key.id)).is_empty() {
            self.access_changed(key.account_id).await?;
        }
        if api_keys::use_is_due(key.last_used_at, Utc::now()) {
            let every = LAST_USED_EVERY.to_std().unwrap_or_default();
            if let Err(error) = self.store.touch_api_key(key.id, every).await {
                tracing::warn!(%error, api_key = %key.id, "the use of an api key was not recorded");
            }
        }
        Ok(Principal::api_key(key.id, &key.name, key.account_id))
    }

    /// `developers.manage` at the account's root (another account is not
    /// found).
    async fn check_developers(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<(), AppError> {
        if !caller.sees(account) {
            return Err(AppError::NotFound("no such account"));
        }
        let resource = Resource::Account(account);
        self.check(
            caller,
            Permission::DevelopersManage,
            resource,
            "no such account",
        )
        .await
    }
}

/// A key as an audit entry tells it (never its secret).
fn key_detail(key: &ApiKey) -> serde_json::Value {
    json!({
        "api_key_id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "grants": grants_detail(&key.grants),
    })
}
