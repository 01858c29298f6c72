//! `GET /v1/ws` when it reaches the router: an upgrade on a reused
//! keep-alive connection (most upgrades are answered before the router, in
//! `accept`), or a plain GET, which gets 426.

use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

use super::error::ErrorBody;
use crate::app::AppError;
use crate::state::AppState;
use crate::ws::{self, handshake};

/// Open the WebSocket (protocol v1, see proto/PROTOCOL.md). Authenticated
/// before the upgrade with a Bearer token or the session cookie.
#[utoipa::path(
    get,
    path = "/v1/ws",
    tag = "realtime",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; the first frame is `welcome`"),
        (status = 400, description = "Not a valid WebSocket upgrade (HTTP/1.0, no Host, bad WebSocket headers)", body = ErrorBody),
        (status = 401, description = "No or invalid credentials", body = ErrorBody),
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
    let accepted = match handshake::decide(&state, request.version(), headers).await {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let who = accepted.who;
    state.tracker.clone().spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                ws::start_session(TokioIo::new(upgraded), who, &state).await;
            }
            Err(error) => tracing::debug!(%error, "upgrade failed"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = response.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accepted.accept_key) {
        h.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}
