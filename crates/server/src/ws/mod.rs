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

/// Runs a session for an authorized, upgraded connection.
pub async fn start_session<S>(ws: S, authorized: Authorized, state: AppState)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let hub = state.hub.clone();
    let conn = Arc::new(Conn::new(
        authorized.user.actor(),
        authorized.user.as_ref(),
        authorized.token_hash,
        hub.settings().outbox,
        hub.now(),
    ));
    let write_timeout = std::time::Duration::from_secs(state.config.write_timeout_secs.max(1));
    session::run(ws, conn, hub, write_timeout).await;
}
