//! `POST /v1/auth/login` and `POST /v1/auth/logout`.

use axum::Json;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, ApiJson, ErrorBody};
use crate::auth::{self, SESSION_COOKIE, SESSION_TOKEN_PREFIX};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// A TOTP code, for accounts that require two-factor authentication.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; also set as an HttpOnly cookie.
    pub token: String,
    pub user: UserInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub account_id: Uuid,
    pub role: String,
}

/// Sign in with email and password.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the token is also set as the `switchboard_session` cookie", body = LoginResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let email = request.email.trim().to_lowercase();
    let found = state.store.user_by_email(&email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let verified = auth::verify_password(request.password, hash).await;
    let Some(user) = user.filter(|_| verified) else {
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    let token = auth::new_secret(SESSION_TOKEN_PREFIX);
    let ttl = state.config.session_ttl();
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::days(30));
    state
        .store
        .create_login_session(&auth::secret_hash(&token), user.id, expires_at)
        .await?;
    tracing::info!(user = %user.id, "signed in");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        ttl.as_secs(),
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let body = LoginResponse {
        token,
        user: UserInfo {
            id: user.id.as_uuid(),
            name: user.name,
            email: user.email,
            account_id: user.account_id.as_uuid(),
            role: user.role.as_str().to_owned(),
        },
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// End the login session: the token stops working and its live WebSocket
/// connections are closed.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out (also when the token was already invalid)"),
        (status = 401, description = "No credentials", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let cookie = headers.get(COOKIE).and_then(|v| v.to_str().ok());
    let token = auth::credential(authorization, cookie)
        .ok_or_else(|| ApiError::unauthorized("missing credentials"))?;
    let hash = auth::secret_hash(token);
    state.store.delete_login_session(&hash).await?;
    let closed = state.hub.close_token(&hash);
    tracing::info!(closed, "signed out");
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// The signed-in user of a request (Bearer token or session cookie).
#[derive(Debug)]
pub struct CurrentUser(pub switchboard_core::model::User);

impl axum::extract::FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authorization = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let cookie = parts.headers.get(COOKIE).and_then(|v| v.to_str().ok());
        let token = auth::credential(authorization, cookie)
            .ok_or_else(|| ApiError::unauthorized("missing credentials"))?;
        state
            .store
            .login_session_user(&auth::secret_hash(token))
            .await?
            .map(CurrentUser)
            .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
    }
}
