//! `POST /v1/auth/login` and `POST /v1/auth/logout`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchboard_core::Principal;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiJson, ErrorBody};
use crate::app::AppError;
use crate::credentials::{self, SESSION_COOKIE};
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
    /// A role id to show (`owner`, or the role granted at the account's
    /// root, else the first granted; absent without grants). A hint for a
    /// console: rights come from every grant, see `GET /v1/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let session = match state.app.login(&request.email, request.password).await {
        Ok(session) => session,
        Err(refusal) => {
            log_refused_login(&request.email, peer, &refusal);
            return Err(refusal);
        }
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        session.token,
        session.ttl.as_secs(),
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let user = session.user;
    let body = LoginResponse {
        token: session.token,
        user: UserInfo {
            id: user.id.as_uuid(),
            name: user.name,
            email: user.email,
            account_id: user.account_id.as_uuid(),
            role: session.role,
        },
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// Refused sign-ins are logged for operators watching for password
/// guessing: the address and the email as typed (cut short; whether it
/// names an account is not said), never the password.
fn log_refused_login(email: &str, peer: SocketAddr, refusal: &AppError) {
    let email: String = email.chars().take(100).collect();
    tracing::warn!(%peer, ?email, reason = %refusal, "sign-in refused");
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
) -> Result<Response, AppError> {
    state
        .app
        .logout(credentials::from_headers(&headers).as_deref())
        .await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// The signed-in user of a request (Bearer token or session cookie).
#[derive(Debug)]
pub struct CurrentUser(pub Principal);

impl axum::extract::FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credentials::from_headers(&parts.headers);
        let who = state.app.authenticate(credential.as_deref()).await?;
        Ok(Self(who.user.principal()))
    }
}
