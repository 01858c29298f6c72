//! The user acting and what they act on, and the roles a user is created
//! with.
//!
//! Rights are decided by the access model ([`crate::access`]): grants of
//! roles at groups, asked through the server's access book. [`Role`] is
//! the role a user is created with (their first grant, at the account's
//! root) and the old single role that databases from before grants kept.

use serde::{Deserialize, Serialize};

use crate::access::BuiltinRole;
use crate::ids::{AccountId, InboxId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created with the account; holds everything and cannot be removed.
    Owner,
    /// Everything but billing (the built-in `administrator`).
    Admin,
    /// Talks to customers in the messenger.
    Operator,
    /// Observes conversations; never becomes the active responder.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Self::Owner),
            "admin" | "administrator" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    /// The built-in role that grants what this role allowed.
    pub fn builtin(self) -> BuiltinRole {
        match self {
            Self::Owner => BuiltinRole::Owner,
            Self::Admin => BuiltinRole::Administrator,
            Self::Operator => BuiltinRole::Operator,
            Self::Viewer => BuiltinRole::Viewer,
        }
    }
}

/// The user on whose behalf something happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub account_id: AccountId,
}

/// What an action is done to. Everything belongs to exactly one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Account(AccountId),
    Inbox {
        account_id: AccountId,
        inbox_id: InboxId,
    },
    Conversation {
        account_id: AccountId,
        inbox_id: InboxId,
        assignee: Option<UserId>,
    },
}

impl Resource {
    pub fn account_id(&self) -> AccountId {
        match *self {
            Self::Account(id) => id,
            Self::Inbox { account_id, .. } | Self::Conversation { account_id, .. } => account_id,
        }
    }
}
