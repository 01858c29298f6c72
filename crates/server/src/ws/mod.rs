//! The WebSocket transport: the upgrade (decided before 101, in
//! [`handshake`]), the session that runs for the life of a connection
//! ([`session`]), the meter that counts every frame a client sends
//! ([`meter`]), and the adapter that turns client frames into use cases
//! and their results into acks ([`frames`]).

pub mod frames;
pub mod handshake;
pub mod meter;
pub mod refusal;
pub mod session;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::app::Authenticated;
use crate::hub::Conn;
use crate::state::AppState;
use meter::FrameMeter;

/// Starts the session of an accepted, upgraded connection in a task of its
/// own: the task that did the handshake ends, and what stays alive for the
/// connection's life is the session alone. Bytes of the client's first
/// frames read with the request head come first out of `io` itself, so the
/// meter counts them like any others.
pub async fn start_session<T>(io: T, who: Authenticated, state: &AppState)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = FrameMeter::new(io, state.hub.settings().rate_burst);
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(state.ws_config)).await;
    let hub = state.hub.clone();
    let conn = Arc::new(Conn::new(
        who.user.principal(),
        who.token_hash,
        hub.settings().outbox,
        hub.now(),
    ));
    state
        .tracker
        .spawn(session::run(ws, conn, state.app.clone(), hub));
}
