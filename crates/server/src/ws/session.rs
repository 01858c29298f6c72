//! One connection's life: welcome, then read client frames and write what the
//! hub queued, until either side closes.
//!
//! Written over any `Sink + Stream` of WebSocket messages, so it runs the
//! same on a socket and on channels in tests. Everything queued is written
//! with a single flush; a client that does not accept writes within the
//! write timeout, floods past the rate limit, or sends a frame over the size
//! limit is closed, and nobody else notices.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use switchboard_core::ratelimit::TokenBucket;
use switchboard_proto::client::FrameHead;
use switchboard_proto::server::{ErrorFrame, Welcome, WelcomeUser};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use crate::hub::conn::close;
use crate::hub::{Conn, Hub, encode};

/// Runs the session to its end, then lets the hub forget the connection.
pub async fn run<S>(mut ws: S, conn: Arc<Conn>, hub: Arc<Hub>, write_timeout: Duration)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    hub.register(conn.clone());
    hub.send_to(&conn, &welcome(&conn, &hub));
    let settings = *hub.settings();
    let mut limiter = TokenBucket::new(settings.rate_per_sec, settings.rate_burst, hub.now());
    let mut strikes = 0u32;
    let mut batch: Vec<Utf8Bytes> = Vec::new();
    loop {
        let closing = conn.drain(&mut batch);
        if !batch.is_empty() {
            let count = batch.len() as u64;
            match tokio::time::timeout(write_timeout, write_all(&mut ws, &mut batch)).await {
                Ok(Ok(())) => {
                    hub.metrics().frames_out.inc_by(count);
                }
                Ok(Err(_)) => break,
                Err(_) => {
                    hub.metrics().slow_consumers.inc();
                    break;
                }
            }
            if batch.capacity() > 64 {
                batch = Vec::new();
            }
        }
        if let Some((code, reason)) = closing {
            send_close(&mut ws, code, reason, write_timeout).await;
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
                        send_close(&mut ws, close::TOO_BIG, "frame too large", write_timeout).await;
                        break;
                    }
                    Err(_) => break,
                };
                conn.touch(hub.now());
                match message {
                    Message::Text(text) => {
                        if let Err(wait_ms) = limiter.try_take(hub.now()) {
                            strikes += 1;
                            if strikes > settings.rate_burst {
                                conn.close(close::POLICY, "rate limit exceeded");
                            } else {
                                hub.reply_error(&conn, rate_limited(&text, wait_ms));
                            }
                            continue;
                        }
                        strikes = 0;
                        // Boxed: an idle connection's task stays small.
                        Box::pin(hub.handle_text(&conn, &text)).await;
                    }
                    Message::Binary(_) => hub.reply_error(
                        &conn,
                        ErrorFrame::new(ErrorCode::BadRequest, "binary frames are not supported; send json text frames"),
                    ),
                    Message::Ping(_) => {
                        // tungstenite queued the pong; send it now.
                        if tokio::time::timeout(write_timeout, ws.flush()).await.is_err() {
                            break;
                        }
                    }
                    Message::Close(_) => {
                        let _ = tokio::time::timeout(write_timeout, ws.flush()).await;
                        break;
                    }
                    Message::Pong(_) | Message::Frame(_) => {}
                }
            }
        }
    }
    hub.unregister(&conn).await;
}

fn welcome(conn: &Conn, hub: &Hub) -> Utf8Bytes {
    encode(&ServerFrame::Welcome(Welcome {
        session_id: conn.id.as_uuid(),
        user: WelcomeUser {
            id: conn.user.id.as_uuid(),
            name: conn.user.name.clone(),
            account_id: conn.actor.account_id.as_uuid(),
            role: Some(conn.actor.role.as_str().to_owned()),
        },
        heartbeat_ms: hub.settings().heartbeat_ms,
    }))
}

fn rate_limited(text: &str, wait_ms: u64) -> ErrorFrame {
    let reference = serde_json::from_str::<FrameHead>(text)
        .ok()
        .and_then(|head| head.reference());
    let mut error =
        ErrorFrame::new(ErrorCode::RateLimited, "too many frames; slow down").with_ref(reference);
    error.retry_after_ms = Some(wait_ms);
    error
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

async fn send_close<S>(ws: &mut S, code: u16, reason: &'static str, within: Duration)
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(within, ws.send(Message::Close(Some(frame)))).await;
}
