//! Users' lifecycle, ownership and sessions over HTTP (docs/PEOPLE.md):
//! deactivate, reactivate and remove a user, hand ownership over, list and
//! end one's sessions, change one's password. Each handler parses, calls
//! one use case of `app::lifecycle`, and encodes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::Principal;
use switchboard_core::lifecycle::TokenHash;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::UserView;
use super::auth::{CurrentUser, PersonUser};
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, Caller, SessionEntry};
use crate::auth::secret_hash;
use crate::credentials;
use crate::state::AppState;

/// Deactivate a user: their sessions end and their live connections close
/// on every node, their active roles are released, their conversations go
/// back through assignment; they cannot sign in until reactivated. Needs
/// `users.manage` over the user; never the owner (409).
#[utoipa::path(post, path = "/v1/users/{id}/deactivate", tag = "people",
    params(("id" = Uuid, Path, description = "the user")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The user is the owner", body = ErrorBody)))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<UserView>, AppError> {
    let user = state
        .app
        .deactivate_user(Caller::User(&who), who.account_id(), id.into())
        .await?;
    Ok(Json(user.into()))
}

/// Reactivate a deactivated user: their grants count again; they sign in
/// anew (their old sessions stay ended). Needs `users.manage` over them;
/// they take a seat again (none left: 409 `seat_limit`).
#[utoipa::path(post, path = "/v1/users/{id}/reactivate", tag = "people",
    params(("id" = Uuid, Path, description = "the user")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reactivate_user(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<UserView>, AppError> {
    let user = state
        .app
        .reactivate_user(Caller::User(&who), who.account_id(), id.into())
        .await?;
    Ok(Json(user.into()))
}

/// Remove a user: deactivated as by `deactivate`, their grants deleted,
/// gone from every listing, their email free for a new user; the messages
/// they wrote keep their name. Needs `users.manage` over the user; never
/// the owner (409).
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "people",
    params(("id" = Uuid, Path, description = "the user")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The user is the owner", body = ErrorBody)))]
pub async fn remove_user(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state
        .app
        .remove_user(Caller::User(&who), who.account_id(), id.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferOwnership {
    /// The new owner: an active user of the account.
    pub user_id: Uuid,
    /// The owner's own password, re-entered.
    pub password: String,
}

/// Hand the account's ownership to another active user of it, in one
/// transaction: they become the owner, the caller an administrator. Only
/// the owner may, re-entering their password (a wrong one: 403).
#[utoipa::path(post, path = "/v1/account/transfer-ownership", tag = "people",
    request_body = TransferOwnership,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The new owner", body = UserView),
        (status = 400, body = ErrorBody),
        (status = 403, description = "Not the owner, or a wrong password", body = ErrorBody),
        (status = 404, description = "No such user in the account", body = ErrorBody),
        (status = 409, description = "The user is deactivated, or ownership moved meanwhile", body = ErrorBody)))]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<TransferOwnership>,
) -> Result<Json<UserView>, AppError> {
    let owner = state
        .app
        .transfer_ownership(
            Caller::User(&who),
            who.account_id(),
            body.user_id.into(),
            Some(body.password),
        )
        .await?;
    Ok(Json(owner.into()))
}

/// One login session of the signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session this request came with.
    pub current: bool,
}

impl From<SessionEntry> for SessionView {
    fn from(entry: SessionEntry) -> Self {
        Self {
            id: entry.id,
            created_at: entry.created_at,
            expires_at: entry.expires_at,
            current: entry.current,
        }
    }
}

/// The signed-in user and the session their request came with.
#[derive(Debug)]
pub struct CurrentSession(pub Principal, pub TokenHash);

impl axum::extract::FromRequestParts<AppState> for CurrentSession {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // every check of a signed-in request first, then which session
        // (an API key has none: refused)
        let PersonUser(who) = PersonUser::from_request_parts(parts, state).await?;
        let credential = credentials::from_headers(&parts.headers);
        let token = credential.ok_or(AppError::Unauthorized("missing credentials"))?;
        Ok(Self(who, secret_hash(&token)))
    }
}

/// The signed-in user's live sessions, oldest first.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "people",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<SessionView>), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    State(state): State<AppState>,
    CurrentSession(who, current): CurrentSession,
) -> Result<Json<Vec<SessionView>>, AppError> {
    let sessions = state.app.sessions(&who, &current).await?;
    Ok(Json(sessions.into_iter().map(Into::into).collect()))
}

/// End one of the signed-in user's sessions (the current one too): its
/// token stops working and its live connections close on every node.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "people",
    params(("id" = Uuid, Path, description = "the session")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Ended"), (status = 401, body = ErrorBody),
        (status = 404, description = "No such session of yours", body = ErrorBody)))]
pub async fn end_session(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state.app.end_session(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    /// The password now.
    pub current: String,
    /// The new one (at least 8 characters, as for a new user).
    pub new: String,
}

/// Change one's password: every other session ends (its connections
/// closed on every node); this one stays. A wrong current password: 403.
#[utoipa::path(put, path = "/v1/me/password", tag = "people", request_body = PasswordChange,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204, description = "Changed"),
        (status = 400, description = "The new password breaks the rules", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "The current password is wrong", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    CurrentSession(who, session): CurrentSession,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, AppError> {
    state
        .app
        .change_password(&who, &session, body.current, body.new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
