//! One connection's life: welcome, then read client frames and write what the
//! hub queued, until either side closes.
//!
//! Written over any `Sink + Stream` of WebSocket messages whose frames are
//! counted ([`Metered`]), so it runs the same on a socket and on an
//! in-memory pipe in tests. Everything queued is written with a single
//! flush. A client that does not take our writes (the hub's reaper notices
//! a write older than the write timeout, or the outbox fills), keeps
//! flooding past the rate limit, stays silent through a ping, sends a frame
//! over the size limit or breaks the protocol is closed with the code
//! RFC 6455 gives its fault, and nobody else notices.
//!
//! The future is kept small on purpose, since an idle connection is mostly
//! this future and its read buffer: no timer per write or per silence (the
//! reaper watches `writing_since` and `last_seen` instead), and the rarely
//! taken paths are boxed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use switchboard_core::ratelimit::{Charge, FloodGuard};
use switchboard_proto::server::{Welcome, WelcomeUser};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};

use super::frames;
use super::meter::{Flooded, Metered};
use crate::app::{App, AppError};
use crate::hub::conn::close;
use crate::hub::{Conn, Hub, encode};

/// How long a close frame may take to go out before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How a session ended, for the log.
enum Ending {
    /// The server closed it with this code and reason.
    Closed(u16, &'static str),
    /// The client closed it (its close code, if it gave one).
    ClientClosed(Option<u16>),
    /// The connection broke, or a write failed.
    Dropped,
}

/// Runs the session to its end, then lets the hub forget the connection.
///
/// A plain function returning an `async move` block: an `async fn` would
/// keep its arguments twice in the future (as arguments and as locals).
#[allow(clippy::manual_async_fn)]
pub fn run<S>(
    mut ws: S,
    conn: Arc<Conn>,
    app: Arc<App>,
    hub: Arc<Hub>,
) -> impl Future<Output = ()> + Send
where
    S: Stream<Item = Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Metered
        + Unpin
        + Send,
{
    async move {
        if !hub.register(conn.clone()) {
            let reason = "too many connections for this user";
            Box::pin(send_close(&mut ws, close::POLICY, reason)).await;
            log_end(&conn, &Ending::Closed(close::POLICY, reason));
            return;
        }
        hub.send_to(&conn, &welcome(&conn, &hub));
        Box::pin(hub.console_opened(&conn)).await;
        let mut guard = FloodGuard::new(
            hub.settings().rate_per_sec,
            hub.settings().rate_burst,
            hub.now(),
        );
        let mut batch: Vec<Utf8Bytes> = Vec::new();
        let ending = loop {
            let closing = conn.drain(&mut batch);
            let ping = conn.take_ping();
            if !batch.is_empty() || ping {
                let count = batch.len() as u64;
                conn.writing_since
                    .store(hub.now().max(1), Ordering::Relaxed);
                let written = tokio::select! {
                    written = write_all(&mut ws, &mut batch, ping) => written.is_ok(),
                    () = conn.aborted() => false,
                };
                conn.writing_since.store(0, Ordering::Relaxed);
                if !written {
                    break Ending::Dropped;
                }
                hub.metrics().frames_out.inc_by(count);
                if batch.capacity() > 64 {
                    batch = Vec::new();
                }
            }
            if let Some((code, reason)) = closing {
                Box::pin(send_close(&mut ws, code, reason)).await;
                break Ending::Closed(code, reason);
            }
            tokio::select! {
                () = conn.queued() => {}
                incoming = ws.next() => {
                    let message = match incoming {
                        Some(Ok(message)) => message,
                        Some(Err(error)) => break Box::pin(fail(&mut ws, &hub, &error)).await,
                        None => break Ending::Dropped,
                    };
                    let now = hub.now();
                    conn.touch(now);
                    let frames = 1 + ws.take_continuations();
                    let refused = match guard.charge(frames, now) {
                        Charge::Allowed => None,
                        Charge::Refused { retry_after_ms } => Some(retry_after_ms),
                        Charge::Flooded => {
                            hub.cool_off(conn.user().id);
                            conn.close(close::POLICY, "rate limit exceeded");
                            continue;
                        }
                    };
                    match message {
                        Message::Text(text) => match refused {
                            Some(retry_after_ms) => {
                                let refusal = AppError::RateLimited { retry_after_ms };
                                frames::reply_error(&hub, &conn, &refusal, frames::reference_of(&text));
                            }
                            None => Box::pin(frames::handle_text(&app, &hub, &conn, &text)).await,
                        },
                        Message::Binary(_) if refused.is_none() => {
                            let refusal = AppError::BadRequest(
                                "binary frames are not supported; send json text frames".into(),
                            );
                            frames::reply_error(&hub, &conn, &refusal, None);
                        }
                        Message::Ping(_) => {
                            // tungstenite queued the pong; send it now.
                            conn.writing_since.store(hub.now().max(1), Ordering::Relaxed);
                            let flushed = tokio::select! {
                                flushed = ws.flush() => flushed.is_ok(),
                                () = conn.aborted() => false,
                            };
                            conn.writing_since.store(0, Ordering::Relaxed);
                            if !flushed {
                                break Ending::Dropped;
                            }
                        }
                        Message::Close(frame) => {
                            // tungstenite queued the close reply; try to send it.
                            Box::pin(async { let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.flush()).await; }).await;
                            break Ending::ClientClosed(frame.map(|f| u16::from(f.code)));
                        }
                        Message::Binary(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
            }
        };
        log_end(&conn, &ending);
        Box::pin(hub.unregister(&conn)).await;
    }
}

/// Answers a read error with the close frame its fault calls for (RFC 6455
/// section 7.4.1), when the connection can still carry one.
async fn fail<S>(ws: &mut S, hub: &Hub, error: &WsError) -> Ending
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let Some((code, reason)) = close_for(error) else {
        tracing::debug!(%error, "websocket read failed");
        return Ending::Dropped;
    };
    if code == close::TOO_BIG {
        hub.metrics().error(ErrorCode::TooLarge);
    }
    tracing::debug!(%error, code, "closing a connection that broke the rules");
    send_close(ws, code, reason).await;
    Ending::Closed(code, reason)
}

/// The close code and reason a read error calls for; `None` when the
/// connection is gone.
fn close_for(error: &WsError) -> Option<(u16, &'static str)> {
    Some(match error {
        WsError::Capacity(_) => (close::TOO_BIG, "frame too large"),
        WsError::Utf8(_) => (close::INVALID_DATA, "text is not valid utf-8"),
        WsError::Io(io) if Flooded::is(io) => (close::POLICY, "rate limit exceeded"),
        WsError::Protocol(violation) => (close::PROTOCOL, protocol_reason(violation)?),
        _ => return None,
    })
}

/// The close reason of a protocol violation by the client; `None` for the
/// errors that mean the connection is already gone.
fn protocol_reason(violation: &ProtocolError) -> Option<&'static str> {
    Some(match violation {
        ProtocolError::ResetWithoutClosingHandshake
        | ProtocolError::SendAfterClosing
        | ProtocolError::ReceivedAfterClosing => return None,
        ProtocolError::UnmaskedFrameFromClient => "client frames must be masked",
        ProtocolError::NonZeroReservedBits => "reserved bits set without an extension",
        ProtocolError::UnknownControlFrameType(_) | ProtocolError::UnknownDataFrameType(_) => {
            "reserved opcode"
        }
        ProtocolError::FragmentedControlFrame => "fragmented control frame",
        ProtocolError::ControlFrameTooBig => "control frame over 125 bytes",
        ProtocolError::UnexpectedContinueFrame => "continuation frame without a message",
        ProtocolError::ExpectedFragment(_) => "new message before the last one ended",
        _ => "protocol violation",
    })
}

/// Logs how a session ended: who, and why (never what was said).
fn log_end(conn: &Conn, ending: &Ending) {
    let (conn_id, user) = (conn.id, conn.user().id);
    match ending {
        Ending::Closed(code, reason) => {
            tracing::info!(conn = %conn_id, %user, code, reason, "websocket closed by the server");
        }
        Ending::ClientClosed(code) => {
            tracing::debug!(conn = %conn_id, %user, code, "websocket closed by the client");
        }
        Ending::Dropped => tracing::debug!(conn = %conn_id, %user, "websocket dropped"),
    }
}

fn welcome(conn: &Conn, hub: &Hub) -> Utf8Bytes {
    encode(&ServerFrame::Welcome(Welcome {
        session_id: conn.id.as_uuid(),
        user: WelcomeUser {
            id: conn.user().id.as_uuid(),
            name: conn.user().name.clone(),
            account_id: conn.actor().account_id.as_uuid(),
            role: hub
                .access()
                .cached(conn.actor().account_id)
                .and_then(|access| access.role_hint(conn.user().id)),
        },
        heartbeat_ms: hub.settings().heartbeat_ms,
    }))
}

/// Writes the queued frames, and a WebSocket ping if the reaper asked for
/// one, with one flush.
async fn write_all<S>(ws: &mut S, batch: &mut Vec<Utf8Bytes>, ping: bool) -> Result<(), WsError>
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    for frame in batch.drain(..) {
        ws.feed(Message::Text(frame)).await?;
    }
    if ping {
        ws.feed(Message::Ping(Bytes::new())).await?;
    }
    ws.flush().await
}

async fn send_close<S>(ws: &mut S, code: u16, reason: &'static str)
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchboard_bus::MemoryBus;
    use switchboard_core::model::UserRef;
    use switchboard_core::presence::Timing;
    use switchboard_core::{AccountId, NodeId, Principal, UserId};
    use switchboard_store::StoreOptions;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role as WsRole;

    use super::*;
    use crate::app::AppSettings;
    use crate::clock::SystemClock;
    use crate::hub::{HubSettings, OutboxLimits};
    use crate::metrics::Metrics;
    use crate::ws::meter::FrameMeter;

    async fn live() -> (Arc<App>, Arc<Hub>) {
        let store = switchboard_store::connect("sqlite::memory:", &StoreOptions::default())
            .await
            .unwrap();
        let node = NodeId::new();
        let settings = HubSettings {
            timing: Timing {
                idle_ms: 60_000,
                grace_ms: 5_000,
            },
            lease: Duration::from_secs(15),
            heartbeat_ms: 25_000,
            write_timeout_ms: 10_000,
            node_dead_ms: 3_000,
            requeue_offline_after: None,
            outbox: OutboxLimits {
                frames: 16,
                bytes: 65_536,
            },
            rate_per_sec: 100,
            rate_burst: 200,
            max_connections_per_user: 100,
            max_joined_per_connection: 200,
            flood_cooloff_ms: 10_000,
            access_check: Duration::from_secs(1),
            answered_memory: 1000,
        };
        let hub = Hub::new(
            node,
            store.clone(),
            Arc::new(MemoryBus::single(node)),
            settings,
            Arc::new(SystemClock::new()),
            Arc::new(Metrics::new()),
        );
        let app = App::live(
            store,
            hub.clone(),
            AppSettings {
                max_message_bytes: 65_536,
                session_ttl: Duration::from_secs(3600),
                ..AppSettings::DEFAULT
            },
        );
        (Arc::new(app), hub)
    }

    fn conn() -> Arc<Conn> {
        let user = UserRef {
            id: UserId::new(),
            name: "Ann".into(),
        };
        Arc::new(Conn::new(
            Principal::new(user, AccountId::new()),
            [0; 32],
            OutboxLimits {
                frames: 16,
                bytes: 65_536,
            },
            0,
        ))
    }

    /// An idle connection is mostly this future and its read buffer: it must
    /// stay small (it was 3.7 KiB before the handshake moved out of it).
    #[tokio::test]
    async fn the_session_future_of_an_idle_connection_stays_small() {
        let (server, _client) = tokio::io::duplex(64);
        let ws =
            WebSocketStream::from_raw_socket(FrameMeter::new(server, 200), WsRole::Server, None)
                .await;
        let (app, hub) = live().await;
        let session = run(ws, conn(), app, hub);
        let size = std::mem::size_of_val(&session);
        assert!(size <= 1_280, "the session future grew to {size} bytes");
    }

    /// The session speaks over any Sink + Stream: here a real WebSocket over
    /// an in-memory pipe, with a client on the other end.
    #[tokio::test]
    async fn welcome_first_then_an_answer_per_ref() {
        let (server, client) = tokio::io::duplex(4096);
        let ws =
            WebSocketStream::from_raw_socket(FrameMeter::new(server, 200), WsRole::Server, None)
                .await;
        let (app, hub) = live().await;
        let task = tokio::spawn(run(ws, conn(), app, hub.clone()));
        let mut client = WebSocketStream::from_raw_socket(client, WsRole::Client, None).await;
        let first = client.next().await.unwrap().unwrap();
        assert!(first.to_text().unwrap().starts_with(r#"{"type":"welcome""#));
        client
            .send(Message::Text(r#"{"type":"ping","ref":"p1"}"#.into()))
            .await
            .unwrap();
        let answer = client.next().await.unwrap().unwrap();
        assert_eq!(answer.to_text().unwrap(), r#"{"type":"ack","ref":"p1"}"#);
        assert_eq!(hub.connection_count(), 1);
        drop(client);
        task.await.unwrap();
        assert_eq!(
            hub.connection_count(),
            0,
            "the hub forgets a closed session"
        );
    }
}
