//! Domain records: what the store keeps and the hub works with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    AccountId, ContactId, ConversationId, GroupId, InboxId, MessageId, NodeId, TeamId, UserId,
};
use crate::permissions::{Actor, Resource, Role};

/// A user as others see them (an active responder, an observer, an author).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    pub id: UserId,
    pub name: String,
}

/// A signed-in user acting: who they are as others see them, and their
/// account. Built once per request or connection, from the login session.
/// Their rights are not in it: every check asks the account's current
/// grants (the server's access book), never a copy taken at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    user: UserRef,
    actor: Actor,
    /// An integration's API key rather than a person (docs/MODULES.md,
    /// "API keys"): what only a person does (a console, a password, 2FA)
    /// is refused to it.
    api_key: bool,
}

impl Principal {
    pub fn new(user: UserRef, account_id: AccountId) -> Self {
        let actor = Actor {
            user_id: user.id,
            account_id,
        };
        Self {
            user,
            actor,
            api_key: false,
        }
    }

    /// An API key acting: under its own id (never a user's), shown as
    /// "API key <name>".
    pub fn api_key(key: crate::ids::ApiKeyId, name: &str, account_id: AccountId) -> Self {
        let user = UserRef {
            id: crate::api_keys::acting_id(key),
            name: format!("API key {name}"),
        };
        Self {
            api_key: true,
            ..Self::new(user, account_id)
        }
    }

    /// Whether an API key acts rather than a signed-in person.
    pub fn is_api_key(&self) -> bool {
        self.api_key
    }

    pub fn id(&self) -> UserId {
        self.user.id
    }

    /// The user as others see them (a holder, an observer, an author).
    pub fn user(&self) -> &UserRef {
        &self.user
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn account_id(&self) -> AccountId {
        self.actor.account_id
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    /// The role the user was created with (kept for the command line's
    /// listing of old databases); rights come from grants only.
    pub role: Role,
    /// The most ongoing conversations auto-assigned at once (0: never).
    pub capacity: u32,
    pub created_at: DateTime<Utc>,
    /// When the user was deactivated; `None` while active.
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            account_id: self.account_id,
        }
    }

    pub fn as_ref(&self) -> UserRef {
        UserRef {
            id: self.id,
            name: self.name.clone(),
        }
    }

    pub fn principal(&self) -> Principal {
        Principal::new(self.as_ref(), self.account_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub id: InboxId,
    pub account_id: AccountId,
    pub name: String,
    pub channel: String,
    /// Where the inbox sits in the account's group tree (docs/ACCESS.md).
    pub group_id: GroupId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub handle: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    Open,
    Resolved,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// A conversation as the inbox list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub account_id: AccountId,
    pub inbox_id: InboxId,
    pub contact: Contact,
    pub status: ConversationStatus,
    pub assignee: Option<UserRef>,
    /// The holder of the active role while their lease is valid.
    pub answered_by: Option<UserRef>,
    /// The role's epoch `answered_by` was read at, which orders two cards'
    /// "Answered by" ([`answer_order`]).
    #[serde(default)]
    pub answered_epoch: u64,
    pub queue_position: Option<u64>,
    pub last_seq: u64,
    pub last_message_at: Option<DateTime<Utc>>,
}

/// What orders two readings of who answers a conversation, the larger
/// newer: a later grant has a larger epoch, and at one epoch nobody
/// answering (the role released, or its lease run out) comes after the
/// holder.
pub fn answer_order(epoch: u64, by: Option<&UserRef>) -> (u64, bool) {
    (epoch, by.is_none())
}

impl Conversation {
    /// Where this card's "Answered by" stands in time ([`answer_order`]).
    pub fn answer_order(&self) -> (u64, bool) {
        answer_order(self.answered_epoch, self.answered_by.as_ref())
    }

    pub fn resource(&self) -> Resource {
        Resource::Conversation {
            account_id: self.account_id,
            inbox_id: self.inbox_id,
            assignee: self.assignee.as_ref().map(|a| a.id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "inbound" => Some(Self::Inbound),
            "outbound" => Some(Self::Outbound),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: u64,
    pub direction: Direction,
    pub author: Option<UserRef>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The state of a conversation's active role as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockState {
    pub holder: Option<UserRef>,
    /// The fencing epoch: grows by one with every grant, never shrinks.
    pub epoch: u64,
    pub node: Option<NodeId>,
}

/// The answer of the store to a request for the active role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The role is the requester's, at this epoch.
    Granted { epoch: u64 },
    /// Someone else holds a valid lease.
    Held { holder: UserRef, epoch: u64 },
}

/// An outbound message to store, fenced by the author's epoch.
#[derive(Debug, Clone, Copy)]
pub struct NewOutbound<'a> {
    pub conversation_id: ConversationId,
    pub author: UserId,
    pub epoch: u64,
    pub client_msg_id: &'a str,
    pub body: &'a str,
}

/// What storing an outbound message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored now.
    Stored(Message),
    /// The same `client_msg_id` was stored before; this is that message.
    Duplicate(Message),
}

impl Appended {
    pub fn message(&self) -> &Message {
        match self {
            Self::Stored(m) | Self::Duplicate(m) => m,
        }
    }

    pub fn into_message(self) -> Message {
        match self {
            Self::Stored(m) | Self::Duplicate(m) => m,
        }
    }
}

/// A customer's message as a channel delivers it.
#[derive(Debug, Clone, Copy)]
pub struct NewInbound<'a> {
    pub inbox_id: InboxId,
    pub handle: &'a str,
    pub contact_name: Option<&'a str>,
    pub body: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub conversation: Conversation,
    pub message: Message,
    /// True when this message started a new conversation.
    pub created: bool,
    /// A new or reopened conversation is routed in the same transaction
    /// (assigned, or queued): what that changed.
    pub routed: Routed,
}

#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub owner_email: &'a str,
    pub owner_name: &'a str,
    pub owner_password_hash: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub account_id: AccountId,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub capacity: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct NewInbox<'a> {
    pub account_id: AccountId,
    pub name: &'a str,
    pub channel: &'a str,
    /// The hash of the inbox's API key (for `POST /v1/inbound`).
    pub key_hash: &'a [u8],
}

/// Which conversations a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationFilter {
    pub account_id: AccountId,
    /// Only conversations assigned to this user.
    pub assignee: Option<UserId>,
    pub limit: u32,
}

/// Whether an agent takes new conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Available,
    Away,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Away => "away",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "available" => Some(Self::Available),
            "away" => Some(Self::Away),
            _ => None,
        }
    }
}

/// An agent's routing state: what the assignment policy and the agent see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    pub user: UserRef,
    pub account_id: AccountId,
    pub availability: Availability,
    /// A console connection is open on some node (or within the grace).
    pub online: bool,
    pub capacity: u32,
    /// Open conversations assigned now.
    pub load: u32,
}

/// A group of an account's tree (docs/ACCESS.md); the root has no parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub account_id: AccountId,
    pub name: String,
    pub parent_id: Option<GroupId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub account_id: AccountId,
    pub name: String,
    pub members: Vec<UserId>,
}

/// How a conversation came to be assigned (or not), as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// By the policy, on arrival or when capacity freed.
    Auto,
    /// By a person, within capacity.
    Manual,
    /// By an administrator, beyond capacity.
    Forced,
    /// Back to the Unassigned queue by a person.
    Unassigned,
    /// Back to the queue because its agent stayed offline too long.
    Requeued,
    Resolved,
    Reopened,
}

impl AssignmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Manual => "manual",
            Self::Forced => "forced",
            Self::Unassigned => "unassigned",
            Self::Requeued => "requeued",
            Self::Resolved => "resolved",
            Self::Reopened => "reopened",
        }
    }
}

/// A request to assign a conversation by hand (or transfer it).
#[derive(Debug, Clone, Copy)]
pub struct ManualAssignment {
    pub conversation: ConversationId,
    pub assignee: UserId,
    /// Who does it (recorded).
    pub actor: UserId,
    /// Beyond the agent's capacity (the caller checked the actor may).
    pub force: bool,
}

/// What an assignment operation changed: every conversation whose assignee,
/// status or queue position changed, as it is now, and the agents whose
/// load changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routed {
    pub conversations: Vec<Conversation>,
    pub agents: Vec<AgentState>,
}

impl Routed {
    /// Conversation `id` as routed, if the operation touched it.
    pub fn conversation(&self, id: ConversationId) -> Option<&Conversation> {
        self.conversations.iter().find(|c| c.id == id)
    }
}

/// One line of a conversation's assignment history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    pub kind: AssignmentKind,
    /// The agent it went to (none: queued, resolved).
    pub assignee: Option<UserId>,
    /// Who did it (none: the policy).
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}
