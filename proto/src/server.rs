//! Frames the server sends to a console.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::shapes::{Message, Presence, Summary, UserRef};

/// A server frame, tagged by its `type` field. (Frames are serialized as
/// soon as they are built, so the size of the largest variant costs nothing
/// worth boxing it for.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The first frame of every connection.
    Welcome(Welcome),
    /// The success answer to a client frame that carried a `ref`.
    Ack(Ack),
    /// The failure answer to a client frame (with its `ref` when it had one).
    Error(ErrorFrame),
    /// Who is active and who observes a joined conversation; on every change.
    Presence(Presence),
    /// A new message in a joined conversation.
    Message(MessageEvent),
    /// Someone else is typing in a joined conversation.
    Typing(TypingEvent),
    /// A conversation visible to an inbox subscriber changed.
    Conversation(ConversationEvent),
    /// The receiver is no longer the active responder of a conversation.
    LockLost(LockLost),
    /// The receiver may no longer see a conversation: it leaves their inbox
    /// list, and a connection that had joined it has left it.
    ConversationRemoved(ConversationRemoved),
    /// The receiver's own routing state changed: availability, online, load
    /// or capacity. An agent's first console on a node gets one after
    /// `welcome` (they came online).
    Agent(AgentStatus),
    /// An agent the receiver may assign to changed (availability, online,
    /// load or capacity), or became one the receiver may assign to; only
    /// after `subscribe_agents`.
    AgentStatus(AgentStatus),
    /// An agent left the ones the receiver may assign to (no longer an
    /// agent, deactivated, removed, or out of the receiver's reach); only
    /// after `subscribe_agents`.
    AgentRemoved(AgentRemoved),
}

impl ServerFrame {
    /// The frame's `type` as it appears on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Welcome(_) => "welcome",
            Self::Ack(_) => "ack",
            Self::Error(_) => "error",
            Self::Presence(_) => "presence",
            Self::Message(_) => "message",
            Self::Typing(_) => "typing",
            Self::Conversation(_) => "conversation",
            Self::LockLost(_) => "lock_lost",
            Self::ConversationRemoved(_) => "conversation_removed",
            Self::Agent(_) => "agent",
            Self::AgentStatus(_) => "agent_status",
            Self::AgentRemoved(_) => "agent_removed",
        }
    }
}

/// The first frame of every connection: who the server thinks you are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Welcome {
    /// This connection's id.
    pub session_id: Uuid,
    pub user: WelcomeUser,
    /// How often the client should send something (a frame or a WebSocket ping);
    /// a connection silent for twice this long is closed.
    pub heartbeat_ms: u64,
}

/// The authenticated user of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WelcomeUser {
    pub id: Uuid,
    pub name: String,
    pub account_id: Uuid,
    /// The user's role (`owner`, `admin`, `operator`, `viewer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The success answer to a client frame with a `ref`: the ref, then the
/// result fields of that frame at the top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ack {
    /// The `ref` of the client frame this answers.
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(flatten)]
    pub body: AckBody,
}

/// The result fields of an ack, beside `type` and `ref`; which ones appear
/// depends on the frame acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AckBody {
    /// `subscribe_inbox`: the visible conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<Summary>>,
    /// `join`, `take`, `release`, `leave`: the resulting presence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
    /// `join`: the messages after `after_seq`, or the most recent ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// `join`: the conversation's newest sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// `join` with `after_seq`: false when more messages remain after the last one returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
    /// `send`: the stored message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// `assign`, `unassign`, `resolve`, `reopen`: the conversation as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Summary>,
    /// `set_availability`, `subscribe_inbox` (agents): the user's routing state now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentStatus>,
    /// `subscribe_agents`: the agents the user may assign to, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<AgentStatus>>,
}

/// What went wrong, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed JSON, an unknown frame type, a missing or invalid field.
    BadRequest,
    /// The connection's credentials are no longer valid.
    Unauthorized,
    /// The user may see the resource but lacks the permission to do this.
    Forbidden,
    /// No such conversation in the user's account.
    NotFound,
    /// Someone else is the active responder (`answered_by` says who).
    Locked,
    /// Only the active responder may do this.
    NotActive,
    /// The change conflicts with what exists: a role still granted, a group
    /// not empty, a name in use.
    Conflict,
    /// Too many frames; `retry_after_ms` says when to try again.
    RateLimited,
    /// The account's seats are all taken (active users plus pending
    /// invitations reach its plan's `seat_limit`).
    SeatLimit,
    /// A link or token that existed has expired.
    Expired,
    /// The user has two-factor authentication on: a login needs a `totp`
    /// code (or a backup code).
    TotpRequired,
    /// The account requires two-factor authentication and this session has
    /// not set it up yet: only the 2FA setup routes answer.
    #[serde(rename = "2fa_required")]
    TwoFactorRequired,
    /// A frame or message body over the limit; `max_bytes` says the limit.
    TooLarge,
    /// The store is unreachable; nothing was done, retry later.
    Unavailable,
    /// A bug or an unexpected failure on the server; details are in its logs, not here.
    Internal,
}

impl ErrorCode {
    /// Every code, for metrics that list them all.
    pub const ALL: [ErrorCode; 15] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::Locked,
        Self::NotActive,
        Self::Conflict,
        Self::RateLimited,
        Self::SeatLimit,
        Self::Expired,
        Self::TotpRequired,
        Self::TwoFactorRequired,
        Self::TooLarge,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Locked => "locked",
            Self::NotActive => "not_active",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::SeatLimit => "seat_limit",
            Self::Expired => "expired",
            Self::TotpRequired => "totp_required",
            Self::TwoFactorRequired => "2fa_required",
            Self::TooLarge => "too_large",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// The failure answer to a client frame; more fields appear depending on `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorFrame {
    /// The `ref` of the client frame this answers; absent when it had none.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub code: ErrorCode,
    /// A human-readable explanation, lowercase.
    pub message: String,
    /// `locked`: who answers the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<UserRef>,
    /// `rate_limited`: how long to wait before the next frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// `too_large`: the limit that was exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// `forbidden` for an assignment beyond capacity: the agent's load now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<u32>,
    /// `forbidden` for an assignment beyond capacity: the agent's capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

impl ErrorFrame {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            reference: None,
            code,
            message: message.into(),
            answered_by: None,
            retry_after_ms: None,
            max_bytes: None,
            load: None,
            capacity: None,
        }
    }

    pub fn with_ref(mut self, reference: Option<String>) -> Self {
        self.reference = reference;
        self
    }
}

/// A message was stored in a joined conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageEvent {
    pub conversation_id: Uuid,
    pub message: Message,
}

/// Another user is typing in a joined conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TypingEvent {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
}

/// The new state of a conversation's card in the inbox list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationEvent {
    pub conversation: Summary,
}

/// Why the active role ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockLostReason {
    /// No `send` or `typing` for the configured idle time.
    Idle,
    /// A user with `conversations.take_over` took the role with `force`.
    TakenOver,
    /// The user's last connection dropped and did not come back within the grace.
    Disconnected,
    /// The node holding the role stopped heartbeating.
    NodeLost,
    /// The user's permissions no longer allow answering the conversation
    /// (`conversations.answer`) or seeing it.
    Permission,
}

/// The receiver is no longer the active responder of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LockLost {
    pub conversation_id: Uuid,
    pub reason: LockLostReason,
}

/// Why a conversation left what a user may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationRemovedReason {
    /// The user's grants, roles or group placement changed and no longer let
    /// them see the conversation.
    Permission,
    /// The user sees only conversations assigned to them
    /// (`conversations.view_assigned`), and this one went to someone else.
    Unassigned,
    /// The inbox subscription follows a folder (`subscribe_inbox` with
    /// `folder_id`) and the conversation no longer matches its filter. The
    /// user may still see it: a connection that joined it stays joined.
    Filter,
}

/// A conversation left the receiver's list. An inbox subscriber drops its
/// card. With reason `permission` or `unassigned` the receiver may no longer
/// see it: a connection that had joined it has left it, and no more events
/// for it arrive. With reason `filter` it only left the folder the
/// subscription follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationRemoved {
    pub conversation_id: Uuid,
    pub reason: ConversationRemovedReason,
}

/// An agent's routing state: the agent's own (`agent`), or one a
/// supervisor may assign to (`agent_status`, `subscribe_agents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentStatus {
    pub user_id: Uuid,
    /// The agent's display name.
    pub name: String,
    /// Only available agents are auto-assigned.
    pub availability: crate::client::Availability,
    /// A console is open on some node (or within the disconnect grace).
    pub online: bool,
    /// Open conversations assigned to the agent now.
    pub load: u32,
    /// The most auto-assigned at once (0: never auto-assigned).
    pub capacity: u32,
}

/// An agent left the ones the receiver may assign to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentRemoved {
    pub user_id: Uuid,
}
