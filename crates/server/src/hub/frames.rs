//! Serializing server frames once, into shareable bytes.

use switchboard_core::model::Conversation;
use switchboard_core::{ConversationId, UserId};
use switchboard_proto::ServerFrame;
use switchboard_proto::server::{AgentRemoved, ConversationEvent, ConversationRemovedReason};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::mapping;

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

/// Why a conversation left a user's sight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Their grants, roles or the inbox's group changed.
    Permission,
    /// They see only what is assigned to them, and it went to someone else.
    Unassigned,
    /// It no longer matches the folder their inbox subscription follows.
    Filter,
}

/// `conversation_removed`, encoded.
pub fn removed_frame(id: ConversationId, why: Removal) -> Utf8Bytes {
    let reason = match why {
        Removal::Permission => ConversationRemovedReason::Permission,
        Removal::Unassigned => ConversationRemovedReason::Unassigned,
        Removal::Filter => ConversationRemovedReason::Filter,
    };
    encode(&mapping::conversation_removed(id, reason))
}

/// A `conversation` event, encoded.
pub fn card_frame(card: &Conversation) -> Utf8Bytes {
    encode(&ServerFrame::Conversation(ConversationEvent {
        conversation: mapping::summary(card),
    }))
}

/// `agent_removed`, encoded.
pub fn agent_removed_frame(user: UserId) -> Utf8Bytes {
    encode(&ServerFrame::AgentRemoved(AgentRemoved {
        user_id: user.as_uuid(),
    }))
}
