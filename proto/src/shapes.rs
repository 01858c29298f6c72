//! Shapes shared by several frames and by the HTTP API.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A user as others see them: who is active, who observes, who wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UserRef {
    pub user_id: Uuid,
    pub name: String,
}

/// The customer on the other side of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub name: Option<String>,
    /// The channel address: a phone number, a page-scoped id, a web chat visitor id.
    pub handle: String,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Written by the customer.
    Inbound,
    /// Written by an agent.
    Outbound,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// Gap-free per conversation, starting at 1.
    pub seq: u64,
    pub direction: Direction,
    /// The agent who wrote an outbound message; null for inbound messages.
    pub author: Option<UserRef>,
    /// Null when the receiver may not see message bodies.
    pub body: Option<String>,
    #[serde(with = "crate::timestamp")]
    #[schemars(with = "DateTime<Utc>")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

/// Whether a conversation is ongoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// Ongoing: counts against its assignee's capacity.
    Open,
    /// Closed; `reopen` opens it again.
    Resolved,
}

/// A conversation's card in the inbox list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Summary {
    pub id: Uuid,
    pub inbox_id: Uuid,
    pub contact: Contact,
    pub status: ConversationStatus,
    /// The agent the conversation is assigned to, if any.
    pub assignee: Option<UserRef>,
    /// The active responder right now ("Answered by"), if any.
    pub answered_by: Option<UserRef>,
    /// 1-based position in the Unassigned queue while the conversation waits there.
    pub queue_position: Option<u64>,
    #[serde(with = "crate::timestamp::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_message_at: Option<DateTime<Utc>>,
    /// The sequence number of the newest message (0 when there is none).
    pub last_seq: u64,
}

/// Who is looking at a conversation and who answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Presence {
    pub conversation_id: Uuid,
    /// The active responder, or null ("Start chatting" for observers).
    pub active: Option<UserRef>,
    /// Everyone else viewing it, each user once, never the active responder.
    pub observers: Vec<UserRef>,
    /// Grows with every change; a client may drop a presence older than one it has.
    /// Counted by each node on its own: compare versions from one connection only.
    pub version: u64,
    /// The fencing epoch of the active responder's grant (present with
    /// `active`): the same on every node, and new with every grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}
