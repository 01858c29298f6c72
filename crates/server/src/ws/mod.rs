//! The WebSocket endpoint: the upgrade (authenticated before 101) and the
//! session that runs for the life of a connection.

pub mod handshake;
pub mod session;

use std::sync::Arc;

use futures_util::{Sink, Stream};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::hub::Conn;
use crate::state::AppState;
use handshake::Authorized;

/// Starts the session of an authorized, upgraded connection in a task of its
/// own: the task that did the handshake ends, and what stays alive for the
/// connection's life is the session alone.
pub fn spawn_session<S>(ws: S, authorized: Authorized, state: &AppState)
where
    S: Stream<Item = Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Unpin
        + Send
        + 'static,
{
    let hub = state.hub.clone();
    let conn = Arc::new(Conn::new(
        authorized.user.actor(),
        authorized.user.as_ref(),
        authorized.token_hash,
        hub.settings().outbox,
        hub.now(),
    ));
    state.tracker.spawn(session::run(ws, conn, hub));
}
