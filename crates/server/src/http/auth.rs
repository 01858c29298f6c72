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
use crate::app::{AppError, LoggedIn, LoginAttempt};
use crate::credentials::{self, SESSION_COOKIE};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// For a user with two-factor authentication on: a code of their
    /// authenticator app (6 digits) or one of their backup codes (each
    /// works once).
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; also set as an HttpOnly cookie.
    pub token: String,
    pub user: UserInfo,
    /// The account requires two-factor authentication and this user has
    /// not set it up: the session may only set it up (`/v1/me/2fa/setup`,
    /// `/v1/me/2fa/confirm`), read `GET /v1/me` and sign out; everything
    /// else answers 403 `2fa_required` until they confirm.
    pub must_enroll_2fa: bool,
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

/// Sign in with email and password (and a second factor for users with
/// two-factor authentication on). After 10 failed sign-ins within 15
/// minutes for one email or from one address (`SWITCHBOARD_LOGIN_MAX_FAILURES`,
/// `SWITCHBOARD_LOGIN_FAILURE_WINDOW_SECS`), further attempts are refused
/// with 429 without the password being checked.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the token is also set as the `switchboard_session` cookie", body = LoginResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong email or password (`unauthorized`, the same for an unknown email), a wrong or already used second factor (`unauthorized`), or no second factor for a user with 2FA on (`totp_required`); no session", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this email or from this address (`rate_limited`, with `retry_after_ms` and a `Retry-After` header); the password was not checked", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let attempt = LoginAttempt {
        email: request.email.clone(),
        password: request.password,
        totp: request.totp,
        source: peer.ip(),
    };
    let session = match state.app.login(attempt).await {
        Ok(session) => session,
        Err(refusal) => {
            log_refused_login(&request.email, peer, &refusal);
            return Err(refusal);
        }
    };
    Ok(signed_in(&state, session, StatusCode::OK))
}

/// The answer to a new login session (a login, an invitation accepted):
/// its token and user in the body, and the HttpOnly session cookie.
pub(super) fn signed_in(state: &AppState, session: LoggedIn, status: StatusCode) -> Response {
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
        must_enroll_2fa: session.must_enroll_2fa,
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
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
        (status = 403, description = "An API key: it is no session (revoke it with `DELETE /v1/api-keys/{id}`)", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let credential = credentials::from_headers(&headers);
    // an API key is no session: revoked with DELETE /v1/api-keys/{id}
    state.app.person_credential(credential.as_deref())?;
    state.app.logout(credential.as_deref()).await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// Who acts in a request: the signed-in user (Bearer token or session
/// cookie), or an API key (Bearer) acting with its grants; a session held
/// to setting 2FA up is refused (403 `2fa_required`).
#[derive(Debug)]
pub struct CurrentUser(pub Principal);

impl axum::extract::FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credentials::from_headers(&parts.headers);
        let who = state
            .app
            .authenticate_principal(credential.as_deref())
            .await?;
        Ok(Self(who))
    }
}

/// The signed-in person of a request, for what only a person does (their
/// sessions, password, second factor, agent state): an API key is refused
/// (403 `forbidden`), before anything else is read.
#[derive(Debug)]
pub struct PersonUser(pub Principal);

impl axum::extract::FromRequestParts<AppState> for PersonUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credentials::from_headers(&parts.headers);
        state.app.person_credential(credential.as_deref())?;
        let who = state.app.authenticate(credential.as_deref()).await?;
        Ok(Self(who.user.principal()))
    }
}

/// The signed-in user of a request, also when their session may only set
/// two-factor authentication up: for the routes such a session may use
/// (the 2FA setup and confirmation, `GET /v1/me`).
#[derive(Debug)]
pub struct EnrollingUser(pub Principal);

impl axum::extract::FromRequestParts<AppState> for EnrollingUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credentials::from_headers(&parts.headers);
        state.app.person_credential(credential.as_deref())?;
        let who = state
            .app
            .authenticate_enrolling(credential.as_deref())
            .await?;
        Ok(Self(who.user.principal()))
    }
}
