//! One connection's life: welcome, then read client frames and write what the
//! hub queued, until either side closes.
//!
//! Written over any `Sink + Stream` of WebSocket messages, so it runs the
//! same on a socket and on channels in tests. Everything queued is written
//! with a single flush. A client that does not take our writes (the hub's
//! reaper notices a write older than the write timeout, or the outbox fills),
//! floods past the rate limit, or sends a frame over the size limit is
//! closed, and nobody else notices.
//!
//! The future is kept small on purpose, since an idle connection is mostly
//! this future and its read buffer: no timer per write (the reaper watches
//! `writing_since` instead), and the rarely taken paths are boxed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use switchboard_core::ratelimit::TokenBucket;
use switchboard_proto::server::{Welcome, WelcomeUser};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::frames;
use crate::app::{App, AppError};
use crate::hub::conn::close;
use crate::hub::{Conn, Hub, encode};

/// How long a close frame may take to go out before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

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
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send,
{
    async move {
        hub.register(conn.clone());
        hub.send_to(&conn, &welcome(&conn, &hub));
        Box::pin(hub.console_opened(&conn)).await;
        let mut limiter = TokenBucket::new(
            hub.settings().rate_per_sec,
            hub.settings().rate_burst,
            hub.now(),
        );
        let mut strikes = 0u32;
        let mut batch: Vec<Utf8Bytes> = Vec::new();
        loop {
            let closing = conn.drain(&mut batch);
            if !batch.is_empty() {
                let count = batch.len() as u64;
                conn.writing_since
                    .store(hub.now().max(1), Ordering::Relaxed);
                let written = tokio::select! {
                    written = write_all(&mut ws, &mut batch) => written.is_ok(),
                    () = conn.aborted() => false,
                };
                conn.writing_since.store(0, Ordering::Relaxed);
                if !written {
                    break;
                }
                hub.metrics().frames_out.inc_by(count);
                if batch.capacity() > 64 {
                    batch = Vec::new();
                }
            }
            if let Some((code, reason)) = closing {
                Box::pin(send_close(&mut ws, code, reason)).await;
                break;
            }
            tokio::select! {
                () = conn.queued() => {}
                incoming = ws.next() => {
                    let Some(incoming) = incoming else { break };
                    let message = match incoming {
                        Ok(message) => message,
                        Err(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
                            hub.metrics().error(ErrorCode::TooLarge);
                            Box::pin(send_close(&mut ws, close::TOO_BIG, "frame too large")).await;
                            break;
                        }
                        Err(_) => break,
                    };
                    conn.touch(hub.now());
                    match message {
                        Message::Text(text) => {
                            if let Err(wait_ms) = limiter.try_take(hub.now()) {
                                strikes += 1;
                                if strikes > hub.settings().rate_burst {
                                    conn.close(close::POLICY, "rate limit exceeded");
                                } else {
                                    let refusal = AppError::RateLimited { retry_after_ms: wait_ms };
                                    frames::reply_error(&hub, &conn, &refusal, frames::reference_of(&text));
                                }
                                continue;
                            }
                            strikes = 0;
                            Box::pin(frames::handle_text(&app, &hub, &conn, &text)).await;
                        }
                        Message::Binary(_) => {
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
                                break;
                            }
                        }
                        Message::Close(_) => {
                            // tungstenite queued the close reply; try to send it.
                            Box::pin(async { let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.flush()).await; }).await;
                            break;
                        }
                        Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
            }
        }
        Box::pin(hub.unregister(&conn)).await;
    }
}

fn welcome(conn: &Conn, hub: &Hub) -> Utf8Bytes {
    encode(&ServerFrame::Welcome(Welcome {
        session_id: conn.id.as_uuid(),
        user: WelcomeUser {
            id: conn.user().id.as_uuid(),
            name: conn.user().name.clone(),
            account_id: conn.actor().account_id.as_uuid(),
            role: Some(conn.actor().role.as_str().to_owned()),
        },
        heartbeat_ms: hub.settings().heartbeat_ms,
    }))
}

async fn write_all<S>(ws: &mut S, batch: &mut Vec<Utf8Bytes>) -> Result<(), WsError>
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    for frame in batch.drain(..) {
        ws.feed(Message::Text(frame)).await?;
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
    use switchboard_core::{AccountId, NodeId, Principal, Role, UserId};
    use switchboard_store::StoreOptions;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role as WsRole;

    use super::*;
    use crate::app::AppSettings;
    use crate::clock::SystemClock;
    use crate::hub::{HubSettings, OutboxLimits};
    use crate::metrics::Metrics;

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
            max_joined_per_connection: 200,
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
            Principal::new(user, AccountId::new(), Role::Operator),
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
        let ws = WebSocketStream::from_raw_socket(server, WsRole::Server, None).await;
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
        let ws = WebSocketStream::from_raw_socket(server, WsRole::Server, None).await;
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
