//! Frames a console sends to the server.
//!
//! Every frame may carry `ref`, a string of the client's choosing; a frame
//! with a `ref` is answered by exactly one `ack` or `error` with the same ref.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A client frame, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Receive the conversation list now and `conversation` events afterwards.
    SubscribeInbox(SubscribeInbox),
    /// Observe a conversation (or become its active responder if nobody is there).
    Join(Join),
    /// "Start chatting": become the active responder if nobody is.
    Take(Take),
    /// Give up the active role and stay as an observer.
    Release(ConversationRef),
    /// Stop observing; releases the active role when held.
    Leave(ConversationRef),
    /// Write to the customer; only the active responder may.
    Send(Send),
    /// Keeps the active role alive; others see `typing`.
    Typing(ConversationRef),
    /// An application-level keepalive; acked when it carries a `ref`.
    Ping(Ping),
}

impl ClientFrame {
    /// The client's `ref`, if the frame carries one.
    pub fn reference(&self) -> Option<&str> {
        match self {
            Self::SubscribeInbox(f) => f.reference.as_deref(),
            Self::Join(f) => f.reference.as_deref(),
            Self::Take(f) => f.reference.as_deref(),
            Self::Release(f) | Self::Leave(f) | Self::Typing(f) => f.reference.as_deref(),
            Self::Send(f) => f.reference.as_deref(),
            Self::Ping(f) => f.reference.as_deref(),
        }
    }

    /// The frame's `type` as it appears on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::SubscribeInbox(_) => "subscribe_inbox",
            Self::Join(_) => "join",
            Self::Take(_) => "take",
            Self::Release(_) => "release",
            Self::Leave(_) => "leave",
            Self::Send(_) => "send",
            Self::Typing(_) => "typing",
            Self::Ping(_) => "ping",
        }
    }
}

/// The part of any client frame that can be read even when the rest is wrong:
/// used to answer a malformed frame with its `ref` and a precise message.
#[derive(Debug, Default, Deserialize)]
pub struct FrameHead {
    #[serde(rename = "type")]
    pub kind: Option<serde_json::Value>,
    #[serde(rename = "ref")]
    pub reference: Option<serde_json::Value>,
}

impl FrameHead {
    /// The `ref` when it is a string, as the contract requires.
    pub fn reference(&self) -> Option<String> {
        match &self.reference {
            Some(serde_json::Value::String(r)) => Some(r.clone()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubscribeInbox {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A personal folder (saved filter); absent: every conversation the user may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Join {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    /// The last sequence number the client has; the ack carries what follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seq: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Take {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    /// Take the role from the current holder (owners and administrators only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// The shape of `release`, `leave` and `typing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationRef {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Send {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    /// The client's idempotency key: the same id twice stores one message.
    pub client_msg_id: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ping {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}
