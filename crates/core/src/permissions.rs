//! Who may do what: the single authorization check.
//!
//! Every handler and every event delivery asks [`can`]; nothing else decides
//! access. The roles are few for now (owner, admin, operator, viewer); the
//! full role model extends [`Role`] and this table without touching callers.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, InboxId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created with the account; everything an admin can, and cannot be removed.
    Owner,
    /// Full access to the account.
    Admin,
    /// Talks to customers in the messenger.
    Operator,
    /// Observes conversations; never becomes the active responder.
    Viewer,
}

impl Role {
    /// Whether users of this role answer conversations, and so may be
    /// assigned them.
    pub fn is_agent(self) -> bool {
        !matches!(self, Self::Viewer)
    }

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
            "admin" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// The user on whose behalf something happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub account_id: AccountId,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See a conversation in the list, observe it and receive its events.
    ViewConversation,
    /// See message bodies (without it they are delivered as null).
    ReadBodies,
    /// Become the active responder ("Start chatting") and write.
    Answer,
    /// Take the active role from its current holder (`take` with `force`).
    TakeOver,
    /// Post a customer's message through the API with a user token.
    PostInbound,
    /// Create users and set their roles.
    ManageUsers,
    /// Create and configure inboxes.
    ManageInboxes,
    /// Assign, transfer and unassign conversations by hand.
    Assign,
    /// Assign beyond an agent's capacity.
    ForceAssign,
    /// Resolve and reopen conversations.
    Resolve,
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

/// The one authorization check: may `actor` do `action` to `resource`?
///
/// Nobody may do anything to another account's resources.
pub fn can(actor: &Actor, action: Action, resource: Resource) -> bool {
    if actor.account_id != resource.account_id() {
        return false;
    }
    match actor.role {
        Role::Owner | Role::Admin => true,
        Role::Operator => matches!(
            action,
            Action::ViewConversation | Action::ReadBodies | Action::Answer | Action::Resolve
        ),
        Role::Viewer => matches!(action, Action::ViewConversation | Action::ReadBodies),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, account_id: AccountId) -> Actor {
        Actor {
            user_id: UserId::new(),
            account_id,
            role,
        }
    }

    fn conversation(account_id: AccountId) -> Resource {
        Resource::Conversation {
            account_id,
            inbox_id: InboxId::new(),
            assignee: None,
        }
    }

    #[test]
    fn nobody_acts_on_another_account() {
        let mine = AccountId::new();
        let theirs = AccountId::new();
        for role in [Role::Owner, Role::Admin, Role::Operator, Role::Viewer] {
            let a = actor(role, mine);
            assert!(!can(&a, Action::ViewConversation, conversation(theirs)));
            assert!(!can(&a, Action::ManageUsers, Resource::Account(theirs)));
        }
    }

    #[test]
    fn viewers_observe_but_never_answer() {
        let account = AccountId::new();
        let viewer = actor(Role::Viewer, account);
        assert!(can(
            &viewer,
            Action::ViewConversation,
            conversation(account)
        ));
        assert!(!can(&viewer, Action::Answer, conversation(account)));
        assert!(!can(&viewer, Action::TakeOver, conversation(account)));
    }

    #[test]
    fn operators_answer_but_do_not_take_over_or_manage() {
        let account = AccountId::new();
        let operator = actor(Role::Operator, account);
        assert!(can(&operator, Action::Answer, conversation(account)));
        assert!(!can(&operator, Action::TakeOver, conversation(account)));
        assert!(!can(
            &operator,
            Action::ManageUsers,
            Resource::Account(account)
        ));
        assert!(!can(
            &operator,
            Action::PostInbound,
            Resource::Account(account)
        ));
    }

    #[test]
    fn only_owners_and_admins_assign_and_force_and_operators_resolve() {
        let account = AccountId::new();
        for role in [Role::Owner, Role::Admin] {
            let a = actor(role, account);
            assert!(can(&a, Action::Assign, conversation(account)));
            assert!(can(&a, Action::ForceAssign, conversation(account)));
        }
        let operator = actor(Role::Operator, account);
        assert!(!can(&operator, Action::Assign, conversation(account)));
        assert!(!can(&operator, Action::ForceAssign, conversation(account)));
        assert!(can(&operator, Action::Resolve, conversation(account)));
        let viewer = actor(Role::Viewer, account);
        assert!(!can(&viewer, Action::Resolve, conversation(account)));
    }

    #[test]
    fn owners_and_admins_may_take_over() {
        let account = AccountId::new();
        for role in [Role::Owner, Role::Admin] {
            let a = actor(role, account);
            assert!(can(&a, Action::TakeOver, conversation(account)));
            assert!(can(&a, Action::ManageUsers, Resource::Account(account)));
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in [Role::Owner, Role::Admin, Role::Operator, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
    }
}
