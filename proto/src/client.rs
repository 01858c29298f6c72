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
    /// Whether the agent may be auto-assigned new conversations.
    SetAvailability(SetAvailability),
    /// Assign (or transfer) a conversation to an agent.
    Assign(Assign),
    /// Put a conversation back in the Unassigned queue.
    Unassign(ConversationRef),
    /// Close a conversation; frees its assignee's capacity.
    Resolve(ConversationRef),
    /// Open a resolved conversation again; it is assigned like a new one.
    Reopen(ConversationRef),
    /// Receive the agents the user may assign to, and `agent_status` and
    /// `agent_removed` events afterwards (a supervisor's view).
    SubscribeAgents(Bare),
    /// Stop receiving `agent_status` and `agent_removed` events.
    UnsubscribeAgents(Bare),
}

impl ClientFrame {
    /// The client's `ref`, if the frame carries one.
    pub fn reference(&self) -> Option<&str> {
        match self {
            Self::SubscribeInbox(f) => f.reference.as_deref(),
            Self::Join(f) => f.reference.as_deref(),
            Self::Take(f) => f.reference.as_deref(),
            Self::Release(f)
            | Self::Leave(f)
            | Self::Typing(f)
            | Self::Unassign(f)
            | Self::Resolve(f)
            | Self::Reopen(f) => f.reference.as_deref(),
            Self::Send(f) => f.reference.as_deref(),
            Self::Ping(f) => f.reference.as_deref(),
            Self::SetAvailability(f) => f.reference.as_deref(),
            Self::Assign(f) => f.reference.as_deref(),
            Self::SubscribeAgents(f) | Self::UnsubscribeAgents(f) => f.reference.as_deref(),
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
            Self::SetAvailability(_) => "set_availability",
            Self::Assign(_) => "assign",
            Self::Unassign(_) => "unassign",
            Self::Resolve(_) => "resolve",
            Self::Reopen(_) => "reopen",
            Self::SubscribeAgents(_) => "subscribe_agents",
            Self::UnsubscribeAgents(_) => "unsubscribe_agents",
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

/// `subscribe_inbox`: the ack lists the visible conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubscribeInbox {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A personal folder (saved filter); absent: every conversation the user may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<Uuid>,
}

/// `join`: the ack carries the presence, the messages and `last_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Join {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    /// The last sequence number the client has; the ack carries what follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seq: Option<u64>,
    /// Watch silently (a supervisor, `conversations.assign`): receive the
    /// conversation's events without being listed among its observers and
    /// without ever becoming its active responder by joining.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub watch: bool,
}

/// `take`: the ack carries the resulting presence; `locked` when someone else
/// answers (the connection stays joined, and gets the `presence` first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Take {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    /// Take the role from the current holder (owners and administrators only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// The shape of `release`, `leave`, `typing`, `unassign`, `resolve` and `reopen`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationRef {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
}

/// `send`: the ack carries the stored message, after it is committed. It
/// carries exactly one of `body` and `template_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "SendFields")]
pub struct Send {
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    pub client_msg_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<Uuid>,
}

/// `send` as read, before the rule that it carries exactly one of `body`
/// and `template_id`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(extend("oneOf" = [{"required": ["body"]}, {"required": ["template_id"]}]))]
pub struct SendFields {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default)]
    reference: Option<String>,
    conversation_id: Uuid,
    /// The client's idempotency key: the same id twice stores one message.
    client_msg_id: String,
    /// The text to send to the customer.
    #[serde(default)]
    #[schemars(with = "String")]
    body: Option<String>,
    /// A message template to send instead of a body: the server fills its
    /// placeholders for this conversation and stores the text.
    #[serde(default)]
    #[schemars(with = "Uuid")]
    template_id: Option<Uuid>,
}

impl TryFrom<SendFields> for Send {
    type Error = &'static str;

    fn try_from(fields: SendFields) -> Result<Self, Self::Error> {
        if fields.body.is_some() == fields.template_id.is_some() {
            return Err("send carries exactly one of `body` and `template_id`");
        }
        Ok(Self {
            reference: fields.reference,
            conversation_id: fields.conversation_id,
            client_msg_id: fields.client_msg_id,
            body: fields.body,
            template_id: fields.template_id,
        })
    }
}

/// `ping`: keeps the connection alive; nothing else happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ping {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The shape of `subscribe_agents` and `unsubscribe_agents`: nothing but the `ref`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Bare {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `set_availability`: only available agents are auto-assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SetAvailability {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub status: Availability,
}

/// An agent's availability for automatic assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Auto-assigned new conversations while there is free capacity.
    Available,
    /// Never auto-assigned; manual assignment still works.
    Away,
}

/// `assign`: manual assignment or transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Assign {
    /// Chosen by the client; the `ack` or `error` answering this frame carries it back.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub conversation_id: Uuid,
    /// The agent who receives the conversation.
    pub user_id: Uuid,
    /// Assign beyond the agent's capacity (administrators only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}
