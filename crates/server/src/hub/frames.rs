//! Serializing server frames once, into shareable bytes.

use switchboard_proto::ServerFrame;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Serializes a frame. Serializing our own types cannot fail; if it ever
/// did, the client gets an `internal` error instead of a broken frame.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    match serde_json::to_string(frame) {
        Ok(text) => Utf8Bytes::from(text),
        Err(error) => {
            tracing::error!(%error, "could not serialize a server frame");
            Utf8Bytes::from_static(
                r#"{"type":"error","code":"internal","message":"internal error"}"#,
            )
        }
    }
}
