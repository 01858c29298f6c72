//! Telling a browser why its upgrade was refused (see
//! [`Refusal::InBand`](super::handshake::Refusal::InBand)): after the 101,
//! one `error` frame, then a close with code 4000 + the refusal's HTTP
//! status and the error's code as the reason. Nothing else is read or
//! sent; the exchange is bounded in time.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_proto::ServerFrame;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::handshake::close_code;
use crate::app::AppError;
use crate::hub::encode;
use crate::refusals;

/// How long the refused client has to take the frames and answer the close.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the refusal on an upgraded connection and closes it.
pub async fn refuse<T>(io: T, error: &AppError)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let wire = refusals::wire(error);
    let code = close_code(error);
    let reason = wire.code.as_str();
    tracing::debug!(code, reason, "websocket upgrade refused in band");
    let frame = encode(&ServerFrame::Error(wire));
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let told = async {
        ws.send(Message::Text(frame)).await?;
        let close = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from_static(reason),
        };
        ws.send(Message::Close(Some(close))).await?;
        // until the client answers the close (or goes)
        while let Some(message) = ws.next().await {
            message?;
        }
        Ok::<_, tokio_tungstenite::tungstenite::Error>(())
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, told).await;
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// What a client reads from a refusal: the one frame, then the close.
    async fn told(error: AppError) -> (Value, u16, String) {
        let (server, client) = tokio::io::duplex(4096);
        let refusing = tokio::spawn(async move { refuse(server, &error).await });
        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let frame = match ws.next().await {
            Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
            other => panic!("expected the error frame, got {other:?}"),
        };
        let (code, reason) = match ws.next().await {
            Some(Ok(Message::Close(Some(close)))) => {
                (u16::from(close.code), close.reason.to_string())
            }
            other => panic!("expected the close, got {other:?}"),
        };
        // the client's answer to the close lets the refusal end at once
        while ws.next().await.is_some() {}
        refusing.await.unwrap();
        (frame, code, reason)
    }

    #[tokio::test]
    async fn each_refusal_is_one_error_frame_then_its_close() {
        let (frame, code, reason) =
            told(AppError::Unavailable("the server is shutting down")).await;
        let expected = json!({"type": "error", "code": "unavailable", "message": "the server is shutting down"});
        assert_eq!(
            (frame, code, reason.as_str()),
            (expected, 4503, "unavailable")
        );

        let (frame, code, reason) = told(AppError::TwoFactorRequired).await;
        assert_eq!(
            (frame["code"].clone(), code, reason.as_str()),
            (json!("2fa_required"), 4403, "2fa_required")
        );

        let (frame, code, reason) = told(AppError::RateLimited {
            retry_after_ms: 1500,
        })
        .await;
        assert_eq!(frame["retry_after_ms"], 1500);
        assert_eq!((code, reason.as_str()), (4429, "rate_limited"));
    }
}
