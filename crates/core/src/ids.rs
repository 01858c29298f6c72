//! Typed ids. Every id is a UUID v7 (so ids sort by creation time); the
//! newtypes keep a user id from being passed where a conversation id belongs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// A business using Switchboard.
    AccountId
);
id_type!(
    /// A person who signs in to an account.
    UserId
);
id_type!(
    /// A channel endpoint: a phone number, a page, a web chat widget.
    InboxId
);
id_type!(
    /// A customer.
    ContactId
);
id_type!(
    /// One contact talking to one inbox.
    ConversationId
);
id_type!(
    /// One stored message.
    MessageId
);
id_type!(
    /// One WebSocket connection (the `session_id` of `welcome`).
    ConnId
);
id_type!(
    /// One server process of a deployment.
    NodeId
);
id_type!(
    /// A group of agents an inbox routes to.
    TeamId
);
id_type!(
    /// A node of an account's group tree (a sub-account, a location).
    GroupId
);
id_type!(
    /// A role an account defined itself (built-in roles have string ids).
    CustomRoleId
);
id_type!(
    /// A message template (a canned reply) of an account.
    TemplateId
);
id_type!(
    /// An invitation to join an account, sent by email.
    InvitationId
);
id_type!(
    /// A mail of the durable outbox.
    MailId
);
id_type!(
    /// A user's personal folder (a saved filter of the conversation list).
    FolderId
);
// API keys (docs/MODULES.md, "API keys").
id_type!(
    /// An API key an integration acts with (never a user's id).
    ApiKeyId
);
// webhooks
id_type!(
    /// An outbound webhook of an account (docs/MODULES.md, "Webhooks").
    WebhookId
);
id_type!(
    /// One event to deliver to one webhook.
    DeliveryId
);
