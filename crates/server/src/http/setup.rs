//! `GET /v1/setup` and `POST /v1/setup`: the first-run setup behind the
//! link a server prints when its database has no account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use switchboard_core::input::{Email, Name};
use utoipa::ToSchema;

use super::auth::{LoginResponse, signed_in};
use super::error::{ApiJson, ErrorBody};
use crate::app::{AppError, NewAccountInput};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SetupStatus {
    /// Whether this server waits for its first-run setup: its database has
    /// no account and its setup link has not been used.
    pub needed: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetupRequest {
    /// The token of the setup link the server printed at start.
    pub token: String,
    pub account_name: String,
    /// The owner's name.
    pub name: String,
    /// The owner's email, their sign-in.
    pub email: String,
    /// The owner's password (at least 8 characters).
    pub password: String,
}

/// Whether the first-run setup is pending. Says nothing else: the link's
/// token is only in what the server printed.
#[utoipa::path(
    get,
    path = "/v1/setup",
    tag = "auth",
    responses(
        (status = 200, description = "Whether setup is pending", body = SetupStatus),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> Result<Json<SetupStatus>, AppError> {
    let needed = state.app.first_run_pending().await?;
    Ok(Json(SetupStatus { needed }))
}

/// Create the account and its owner through the setup link, and sign the
/// owner in. The link works once; once any account exists it is gone.
#[utoipa::path(
    post,
    path = "/v1/setup",
    tag = "auth",
    request_body = SetupRequest,
    responses(
        (status = 201, description = "The account and its owner exist; the owner is signed in (the token is also set as the `switchboard_session` cookie)", body = LoginResponse),
        (status = 400, description = "A malformed field (`bad_request`): an empty name, an invalid email, a password under 8 characters", body = ErrorBody),
        (status = 403, description = "Not this server's setup link (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No setup is pending: the server is already set up (`not_found`)", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SetupRequest>,
) -> Result<Response, AppError> {
    let input = NewAccountInput {
        name: Name::parse("account name", &request.account_name)?,
        owner_email: Email::parse(&request.email)?,
        owner_name: Name::parse("name", &request.name)?,
        owner_password: request.password,
    };
    let session = state.app.complete_first_run(&request.token, input).await?;
    Ok(signed_in(&state, session, StatusCode::CREATED))
}
