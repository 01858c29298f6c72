//! `GET /v1/ws` when it reaches the router: an upgrade on a reused
//! keep-alive connection (most upgrades are answered before the router, in
//! `accept`), or a plain GET, which gets 426. And `POST /v1/ws/ticket`,
//! the ticket a browser opens it with (docs/BROWSERS.md).

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use crate::app::{AppError, Authenticated};
use crate::credentials;
use crate::state::AppState;
use crate::ws;
use crate::ws::handshake::{self, Refusal};

/// Open the WebSocket (protocol v1, see proto/PROTOCOL.md). Authenticated
/// before the upgrade with a ticket (`?ticket=`, from `POST /v1/ws/ticket`),
/// a Bearer token or the session cookie. A browser's request (one with an
/// allowed `Origin`) refused for its credentials or ticket, its limits, or
/// because the server cannot take it is upgraded and then told in one
/// `error` frame and a close 4401, 4403, 4429 or 4503 (reason: the code).
#[utoipa::path(
    get,
    path = "/v1/ws",
    tag = "realtime",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("ticket" = Option<String>, Query, description = "A ticket from `POST /v1/ws/ticket` (`sbt_...`): single use, valid for 30 s by default; it authenticates alone, a bad one is refused even beside a valid cookie"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; the first frame is `welcome`. For a browser's refused request (an allowed `Origin`), the first frame is instead an `error` and the connection is closed with 4000 + the status below"),
        (status = 400, description = "Not a valid WebSocket upgrade (HTTP/1.0, no Host, bad WebSocket headers)", body = ErrorBody),
        (status = 401, description = "No or invalid credentials, or a ticket unknown, used or expired", body = ErrorBody),
        (status = 403, description = "Browser origin not allowed: neither http(s) with the Host's host and port, nor listed", body = ErrorBody),
        (status = 426, description = "A plain GET: this endpoint needs an upgrade", body = ErrorBody),
        (status = 429, description = "The user has as many connections open as allowed (`rate_limited`)", body = ErrorBody),
        (status = 503, description = "Store unavailable or shutting down", body = ErrorBody),
    )
)]
pub async fn upgrade(State(state): State<AppState>, mut request: Request) -> Response {
    let headers = request.headers();
    if !handshake::wants_upgrade(headers) {
        let refusal =
            AppError::BadRequest("this endpoint speaks websocket: send an upgrade request".into());
        let mut response = refusal.into_response();
        *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
        return response;
    }
    let query = request.uri().query().map(str::to_owned);
    let decision = handshake::decide(&state, request.version(), headers, query.as_deref()).await;
    let (accept_key, upgraded) = match decision {
        Ok(accepted) => (accepted.accept_key, Upgraded::Session(accepted.who)),
        Err(Refusal::InBand { accept_key, error }) => (accept_key, Upgraded::Refused(error)),
        Err(Refusal::Http(refusal)) => return refusal.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    state.tracker.clone().spawn(async move {
        let io = match on_upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(error) => return tracing::debug!(%error, "upgrade failed"),
        };
        match upgraded {
            Upgraded::Session(who) => ws::start_session(io, who, &state).await,
            Upgraded::Refused(error) => ws::refusal::refuse(io, &error).await,
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = response.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        h.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

/// What an upgraded connection becomes.
enum Upgraded {
    /// A session of this user.
    Session(Authenticated),
    /// A browser told why it was refused (`handshake::Refusal::InBand`).
    Refused(AppError),
}

// WebSocket tickets for browsers (docs/BROWSERS.md).

/// A WebSocket ticket, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Open `GET /v1/ws?ticket=<ticket>` with it: it works once, within
    /// `expires_in_ms`, for the login session that made it.
    pub ticket: String,
    /// How long the ticket works from now (`SWITCHBOARD_WS_TICKET_TTL_SECS`).
    pub expires_in_ms: u64,
}

/// Make a WebSocket ticket for the caller's login session: how a browser
/// page opens the WebSocket when it cannot rely on the cookie (a console
/// on another origin signed in with a Bearer token, or a cookie the
/// browser will not send cross-site). Random, stored only as a hash,
/// single use, valid 30 s by default, voided when the session ends; good
/// on any node.
#[utoipa::path(
    post,
    path = "/v1/ws/ticket",
    tag = "realtime",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The ticket (`sbt_...`); not cached", body = TicketResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorBody),
        (status = 403, description = "An API key (`forbidden`: tickets are for a person's session), a session that must set 2FA up first (`2fa_required`), or a cookie-authenticated request that fails the CSRF rule (`csrf`)", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    )
)]
pub async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let credential = credentials::from_headers(&headers);
    let made = state.app.create_ws_ticket(credential.as_deref()).await?;
    let body = TicketResponse {
        ticket: made.ticket,
        expires_in_ms: u64::try_from(made.expires_in.as_millis()).unwrap_or(u64::MAX),
    };
    let mut response = Json(body).into_response();
    let no_store = HeaderValue::from_static("no-store");
    response.headers_mut().insert(CACHE_CONTROL, no_store);
    Ok(response)
}
