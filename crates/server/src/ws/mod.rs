//! The WebSocket transport: the upgrade (decided before 101, in
//! [`handshake`]), the session that runs for the life of a connection
//! ([`session`]), the meter that counts every frame a client sends
//! ([`meter`]), and the adapter that turns client frames into use cases
//! and their results into acks ([`frames`]).

pub mod frames;
pub mod handshake;
pub mod meter;
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
/// connection's life is the session alone. `read_ahead`: bytes of the
/// client's first frames read with the request head.
pub async fn start_session<T>(io: T, read_ahead: Vec<u8>, who: Authenticated, state: &AppState)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut io = FrameMeter::new(io, state.hub.settings().rate_burst);
    io.observe(&read_ahead);
    let config = Some(state.ws_config);
    let ws = if read_ahead.is_empty() {
        WebSocketStream::from_raw_socket(io, Role::Server, config).await
    } else {
        WebSocketStream::from_partially_read(io, read_ahead, Role::Server, config).await
    };
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
