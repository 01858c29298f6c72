//! Two-factor authentication and the account's requirement of it over
//! HTTP (docs/PEOPLE.md, "Two-factor authentication").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{CurrentUser, EnrollingUser, PersonUser};
use super::error::{ApiJson, ErrorBody};
use crate::app::{AppError, Caller};
use crate::state::AppState;

/// A pending TOTP setup.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupView {
    /// The shared secret, base32 (RFC 4648), to type into an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://totp/...` URI (SHA-1, 6 digits, 30 s), for a QR code.
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    /// A 6-digit code of the authenticator app (or, to turn 2FA off, a backup code).
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupCodesView {
    /// Ten one-time codes that stand in for the app at sign-in (in
    /// `totp`); shown only now, stored hashed.
    pub backup_codes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountSettings {
    /// Every user must have two-factor authentication on: one without it
    /// may sign in, but only to set it up.
    pub require_2fa: bool,
}

/// Start setting up two-factor authentication (TOTP): a new secret, not
/// active until confirmed. A new setup replaces a pending one. Also open
/// to a session held to setting 2FA up.
#[utoipa::path(post, path = "/v1/me/2fa/setup", tag = "people",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = SetupView),
        (status = 401, body = ErrorBody),
        (status = 409, description = "Two-factor authentication is already on (`conflict`)", body = ErrorBody),
    ))]
pub async fn setup(
    State(state): State<AppState>,
    EnrollingUser(who): EnrollingUser,
) -> Result<Json<SetupView>, AppError> {
    let setup = state.app.begin_two_factor(&who).await?;
    Ok(Json(SetupView {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
    }))
}

/// Confirm the pending setup with a code of the app: two-factor
/// authentication is on from now, and the ten backup codes are answered
/// (once). Also open to a session held to setting 2FA up, which is free
/// from then on.
#[utoipa::path(post, path = "/v1/me/2fa/confirm", tag = "people",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, body = BackupCodesView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A wrong code (`forbidden`)", body = ErrorBody),
        (status = 409, description = "No setup pending, already on, or replaced meanwhile (`conflict`)", body = ErrorBody),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    EnrollingUser(who): EnrollingUser,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<Json<BackupCodesView>, AppError> {
    let codes = state.app.confirm_two_factor(&who, &request.code).await?;
    Ok(Json(BackupCodesView {
        backup_codes: codes.0,
    }))
}

/// Turn two-factor authentication off, with a code of the app or a backup
/// code. Refused while the account requires it.
#[utoipa::path(delete, path = "/v1/me/2fa", tag = "people",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CodeRequest,
    responses(
        (status = 204, description = "Off"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A wrong or already used code (`forbidden`), or a session held to setting 2FA up (`2fa_required`)", body = ErrorBody),
        (status = 409, description = "The account requires two-factor authentication, or it is not on (`conflict`)", body = ErrorBody),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<StatusCode, AppError> {
    state.app.disable_two_factor(&who, &request.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the account's settings: whether it requires two-factor
/// authentication of every user. Needs `settings.manage` at the root group.
#[utoipa::path(put, path = "/v1/account/settings", tag = "people",
    security(("bearer" = []), ("cookie" = [])),
    request_body = AccountSettings,
    responses(
        (status = 200, body = AccountSettings),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Without `settings.manage` at the root (`forbidden`), or `2fa_required`", body = ErrorBody),
    ))]
pub async fn set_settings(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(request): ApiJson<AccountSettings>,
) -> Result<Json<AccountSettings>, AppError> {
    let require_2fa = state
        .app
        .set_require_two_factor(Caller::User(&who), who.account_id(), request.require_2fa)
        .await?;
    Ok(Json(AccountSettings { require_2fa }))
}
