//! API keys over HTTP (docs/MODULES.md, "API keys"): made, listed and
//! revoked; the secret is in the answer that makes a key, and never again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::access::{Grant, RoleId};
use switchboard_core::api_keys::ApiKey;
use switchboard_core::input::Name;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::GrantView;
use super::auth::CurrentUser;
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, Caller};
use crate::state::AppState;

/// A key as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key (`sba_` and a few more), so a
    /// person can tell which key is which.
    pub prefix: String,
    /// What the key may do: exactly these grants, as a user's.
    pub grants: Vec<GrantView>,
    pub created_at: DateTime<Utc>,
    /// The user who made it; null: an operator at the command line (or a
    /// user since removed).
    pub created_by: Option<Uuid>,
    /// When it was last used, to the minute; null: never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id.as_uuid(),
            name: key.name,
            prefix: key.prefix,
            grants: key.grants.iter().map(GrantView::from).collect(),
            created_at: key.created_at,
            created_by: key.created_by.map(|u| u.as_uuid()),
            last_used_at: key.last_used_at,
        }
    }
}

/// A key just made.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyView {
    #[serde(flatten)]
    pub record: ApiKeyView,
    /// Send as `Authorization: Bearer <key>`. Shown here once: only its
    /// hash is stored.
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApiKey {
    pub name: String,
    /// At least one; each one the caller could grant a user.
    pub grants: Vec<GrantView>,
}

/// Make an API key for an integration. Needs `developers.manage` at the
/// root group, and every grant must be one the caller could give a user
/// (`users.manage` there and every permission of the role: no escalation).
/// An API key cannot make keys.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api_keys", request_body = NewApiKey,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Made; the key is in the answer, once", body = CreatedApiKeyView),
        (status = 400, description = "Malformed, or no grant", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Without `developers.manage` at the root, a grant the caller could not give a user, or an API key asking", body = ErrorBody),
        (status = 404, description = "A role or group not of the account", body = ErrorBody),
    ))]
pub async fn create_api_key(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKeyView>), AppError> {
    let name = Name::parse("name", &body.name)?;
    let grants = body
        .grants
        .iter()
        .map(|g| {
            let role =
                RoleId::parse(&g.role).map_err(|error| AppError::BadRequest(error.to_string()))?;
            Ok(Grant::new(role, g.group_id.into()))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let created = state
        .app
        .create_api_key(Caller::User(&who), who.account_id(), name, grants)
        .await?;
    let view = CreatedApiKeyView {
        record: created.key.into(),
        key: created.secret,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// The account's API keys (never their secrets), oldest first. Needs
/// `developers.manage` at the root group.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api_keys",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<ApiKeyView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn api_keys(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<ApiKeyView>>, AppError> {
    let keys = state
        .app
        .api_keys(Caller::User(&who), who.account_id())
        .await?;
    Ok(Json(keys.into_iter().map(Into::into).collect()))
}

/// Revoke an API key: refused at once on every node. Needs
/// `developers.manage` at the root group.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api_keys",
    params(("id" = Uuid, Path, description = "the key")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such live key in the account", body = ErrorBody)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state
        .app
        .revoke_api_key(Caller::User(&who), who.account_id(), id.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
