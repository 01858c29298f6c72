//! The policy: the one place that answers "may this user do that, there?"
//! and "which conversations may this user list?", from the same grants, so a
//! decision and a listing cannot disagree.
//!
//! - [`Policy`] is one user of one account asking: their grants and the
//!   account's [`AccountAccess`]. It decides single checks ([`Policy::decide`],
//!   [`Policy::may_view`], ...) and produces the listing filter
//!   ([`Policy::conversation_filter`]).
//! - [`ConversationFilter`] is "the conversations this user may see" as plain
//!   data (group ids), for a store to translate into its query;
//!   [`ConversationFilter::admits`] applies it in memory, so the store's
//!   answer, the filter and the decision can be compared (the property tests
//!   here compare the last two).
//!
//! Not found and not allowed (docs/ACCESS.md): a resource of another account or
//! outside everything the user may see is [`Decision::NotFound`] (existence
//! never leaks); a visible one without the permission is
//! [`Decision::Forbidden`].

use std::collections::BTreeSet;

use super::catalogue::{Permission, PermissionSet};
use super::grants::{AccountAccess, Grant};
use crate::ids::{AccountId, GroupId, UserId};

/// Where a conversation is, as far as access goes: its account, the group of
/// its inbox, and who it is assigned to (which decides visibility for
/// `conversations.view_assigned`). Its status changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationScope {
    pub account: AccountId,
    pub group: GroupId,
    pub assignee: Option<UserId>,
}

/// What a check is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'t> {
    /// Account-wide things (billing, settings, roles, developers, the users
    /// list): decided by the grants at the root.
    Account(AccountId),
    /// Something placed in a group: an inbox, the group itself.
    Group {
        account: AccountId,
        group: GroupId,
    },
    Conversation(ConversationScope),
    /// Another user, by their grants.
    User {
        account: AccountId,
        grants: &'t [Grant],
    },
}

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Visible, but the user lacks this permission there (403).
    Forbidden(Permission),
    /// Another account's, or outside everything the user may see (404).
    NotFound,
}

/// One user of one account, asking.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub user: UserId,
    pub account: AccountId,
    pub grants: &'a [Grant],
    pub access: &'a AccountAccess,
}

impl<'a> Policy<'a> {
    pub fn new(
        user: UserId,
        account: AccountId,
        grants: &'a [Grant],
        access: &'a AccountAccess,
    ) -> Self {
        Self {
            user,
            account,
            grants,
            access,
        }
    }

    /// The user's permissions at `group` (their grants there or above).
    pub fn permissions_at(&self, group: GroupId) -> PermissionSet {
        self.access.permissions_at(self.grants, group)
    }

    /// What the user may do on this conversation: nothing if they may not
    /// see it, else their permissions at its group (with
    /// `conversations.view` when they see it through `view_assigned`).
    pub fn conversation_permissions(&self, conversation: &ConversationScope) -> PermissionSet {
        on_conversation(
            self.account,
            self.user,
            self.permissions_at(conversation.group),
            conversation,
        )
    }

    /// Whether the user may list and open the conversation and receive its
    /// events: `conversations.view` at its group, or
    /// `conversations.view_assigned` there and it is assigned to them.
    pub fn may_view(&self, conversation: &ConversationScope) -> bool {
        self.conversation_permissions(conversation)
            .contains(Permission::ConversationsView)
    }

    /// Whether the user sees the conversation's message bodies (else every
    /// body they receive is `null`).
    pub fn may_read_bodies(&self, conversation: &ConversationScope) -> bool {
        self.conversation_permissions(conversation)
            .contains(Permission::MessagesReadBodies)
    }

    /// The one check: `NotFound` when the target is another account's or out
    /// of the user's sight, `Forbidden` when it is visible and `permission`
    /// is lacking there, else `Allowed`.
    pub fn decide(&self, target: Target<'_>, permission: Permission) -> Decision {
        if !self.sees(target) {
            return Decision::NotFound;
        }
        match self.held_on(target).contains(permission) {
            true => Decision::Allowed,
            false => Decision::Forbidden(permission),
        }
    }

    /// Whether the target exists for this user: of their account, and (but
    /// for the account itself and users without grants) somewhere they hold
    /// anything; a conversation only if they may view it.
    fn sees(&self, target: Target<'_>) -> bool {
        let sees_group = |g: GroupId| !self.permissions_at(g).is_empty();
        match target {
            Target::Account(account) => account == self.account,
            Target::Group { account, group } => account == self.account && sees_group(group),
            Target::Conversation(c) => self.may_view(&c),
            Target::User { account, grants } => {
                account == self.account
                    && (grants.is_empty() || grants.iter().any(|g| sees_group(g.group)))
            }
        }
    }

    /// The permissions the user holds over a target they see. Over a user:
    /// those held at the group of every grant of theirs (and, for a user
    /// without grants, those held at any group), so `users.manage` here is
    /// exactly the reach of `escalation::check_manage_user`.
    fn held_on(&self, target: Target<'_>) -> PermissionSet {
        match target {
            Target::Account(_) => self.access.account_wide(self.grants),
            Target::Group { group, .. } => self.permissions_at(group),
            Target::Conversation(c) => self.conversation_permissions(&c),
            Target::User { grants: [], .. } => self.held_anywhere(),
            Target::User { grants, .. } => grants
                .iter()
                .map(|g| self.permissions_at(g.group))
                .reduce(PermissionSet::intersection)
                .unwrap_or(PermissionSet::EMPTY),
        }
    }

    /// Every permission the user holds at some group: those of their grants'
    /// roles (a grant gives its role at its own group).
    pub fn held_anywhere(&self) -> PermissionSet {
        self.grants
            .iter()
            .filter(|g| self.access.groups.contains(g.group))
            .filter_map(|g| self.access.roles.permissions(g.role))
            .fold(PermissionSet::EMPTY, PermissionSet::union)
    }

    /// The conversations this user may list, as group ids: computed by
    /// expanding each grant over its subtree, independently of
    /// [`may_view`](Self::may_view), which walks up from the conversation's
    /// group; the property tests hold the two equal.
    pub fn conversation_filter(&self) -> ConversationFilter {
        let mut all = BTreeSet::new();
        let mut assigned = BTreeSet::new();
        for grant in self.grants {
            let Some(role) = self.access.roles.permissions(grant.role) else {
                continue;
            };
            let subtree = self.access.groups.subtree(grant.group);
            if role.contains(Permission::ConversationsView) {
                all.extend(subtree);
            } else if role.contains(Permission::ConversationsViewAssigned) {
                assigned.extend(subtree);
            }
        }
        assigned.retain(|g| !all.contains(g));
        ConversationFilter {
            account: self.account,
            user: self.user,
            all,
            assigned,
        }
    }
}

/// "The conversations this user may see", for a store's listing query:
/// those of the account whose group is in `all`, and those whose group is in
/// `assigned` and that are assigned to `user`. Both empty: nothing. A group
/// is never in both sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationFilter {
    pub account: AccountId,
    pub user: UserId,
    /// Groups where the user sees every conversation (`conversations.view`).
    pub all: BTreeSet<GroupId>,
    /// Groups where the user sees only the conversations assigned to them
    /// (`conversations.view_assigned` without `conversations.view`).
    pub assigned: BTreeSet<GroupId>,
}

impl ConversationFilter {
    /// Whether the filter lets the conversation through: what a store's
    /// query must answer for each row.
    pub fn admits(&self, conversation: &ConversationScope) -> bool {
        conversation.account == self.account
            && (self.all.contains(&conversation.group)
                || (self.assigned.contains(&conversation.group)
                    && conversation.assignee == Some(self.user)))
    }

    /// Whether the user sees no conversation at all (a store can skip the
    /// query).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.assigned.is_empty()
    }
}

/// The rule of conversation visibility:
/// `held` (the user's permissions at the conversation's group) apply when
/// the conversation is of their account and they see it, with
/// `conversations.view` standing for "visible"; otherwise nothing does.
fn on_conversation(
    account: AccountId,
    user: UserId,
    held: PermissionSet,
    conversation: &ConversationScope,
) -> PermissionSet {
    let mine = conversation.assignee == Some(user);
    let visible = conversation.account == account
        && (held.contains(Permission::ConversationsView)
            || (mine && held.contains(Permission::ConversationsViewAssigned)));
    match visible {
        true => held.union(PermissionSet::of(&[Permission::ConversationsView])),
        false => PermissionSet::EMPTY,
    }
}

#[cfg(test)]
mod tests;
