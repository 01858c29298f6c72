//! The WebSocket transport: the upgrade (decided before 101, in
//! [`handshake`]), the session that runs for the life of a connection
//! ([`session`]), and the adapter that turns client frames into use cases
//! and their results into acks ([`frames`]).

pub mod frames;
pub mod handshake;
pub mod session;

use std::sync::Arc;

use futures_util::{Sink, Stream};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::app::Authenticated;
use crate::hub::Conn;
use crate::state::AppState;

/// Starts the session of an accepted, upgraded connection in a task of its
/// own: the task that did the handshake ends, and what stays alive for the
/// connection's life is the session alone.
pub fn spawn_session<S>(ws: S, who: Authenticated, state: &AppState)
where
    S: Stream<Item = Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Unpin
        + Send
        + 'static,
{
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
