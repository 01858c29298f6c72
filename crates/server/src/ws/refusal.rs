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
