//! The rules: what a route or frame needs, and what the policy of
//! docs/ACCESS.md answers a user standing somewhere towards it.

use std::collections::BTreeMap;

use switchboard_core::access::{BuiltinRole, Permission, PermissionSet};

use Permission::*;

/// The answer the policy gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Allowed,
    Forbidden,
    NotFound,
}

/// What a route or frame needs: the one fact written down per row.
#[derive(Debug, Clone, Copy)]
pub(super) enum Needs {
    /// Anyone (signed in where the route asks for credentials at all).
    Nothing,
    /// These permissions account-wide, i.e. at the root.
    Account(&'static [Permission]),
    /// These at the group of what the row names (a group, a parent, an
    /// inbox); a group where the user holds nothing is not found.
    Group(&'static [Permission]),
    /// `users.manage` at the group of every grant of the target user; a
    /// user none of whose grants lies where the caller holds anything is
    /// not found.
    ManageUser,
    /// As `ManageUser`, adding a grant of this role: also every permission
    /// of the role (no escalation).
    ManageUserGranting(BuiltinRole),
    /// Seeing the conversation (`conversations.view`, or
    /// `conversations.view_assigned` and assigned to the user), and these
    /// permissions at its group.
    Conversation(&'static [Permission]),
    /// Being an agent (`conversations.answer`); anyone else gets this.
    Agent(Outcome),
    /// Being the account's owner: ownership, which no permission gives.
    Owner,
}

/// Where a user stands towards a case's resources.
#[derive(Debug, Clone, Copy)]
pub(super) struct Standing {
    /// What they hold at the resources' group: their role's permissions.
    pub(super) held: PermissionSet,
    /// The resources are another account's.
    pub(super) foreign: bool,
    /// The case's conversation is assigned to them.
    pub(super) mine: bool,
    /// They own their account.
    pub(super) owner: bool,
}

impl Needs {
    /// Whether a row with these needs names a resource of the account.
    pub(super) fn names_a_resource(self) -> bool {
        matches!(
            self,
            Self::Group(_) | Self::ManageUser | Self::ManageUserGranting(_) | Self::Conversation(_)
        )
    }

    /// The policy's answer for a user standing so; `names` says whether the
    /// row names a resource (another account's is never found).
    pub(super) fn outcome(self, standing: Standing, catalogue: &Catalogue, names: bool) -> Outcome {
        if standing.foreign && names {
            return Outcome::NotFound;
        }
        let held = standing.held;
        let sees_group = !held.is_empty();
        let sees_conversation = held.contains(ConversationsView)
            || (standing.mine && held.contains(ConversationsViewAssigned));
        let holding = |needed: PermissionSet| match needed.is_subset(held) {
            true => Outcome::Allowed,
            false => Outcome::Forbidden,
        };
        let managing = PermissionSet::of(&[UsersManage]);
        match self {
            Self::Nothing => Outcome::Allowed,
            Self::Account(needed) => holding(PermissionSet::of(needed)),
            Self::Group(needed) if sees_group => holding(PermissionSet::of(needed)),
            Self::ManageUser if sees_group => holding(managing),
            Self::ManageUserGranting(role) if sees_group => {
                holding(managing.union(catalogue.permissions(role)))
            }
            Self::Conversation(needed) if sees_conversation => holding(PermissionSet::of(needed)),
            Self::Agent(otherwise) => match held.contains(ConversationsAnswer) {
                true => Outcome::Allowed,
                false => otherwise,
            },
            Self::Owner if standing.owner => Outcome::Allowed,
            Self::Owner => Outcome::Forbidden,
            Self::Group(_) | Self::ManageUser | Self::ManageUserGranting(_) => Outcome::NotFound,
            Self::Conversation(_) => Outcome::NotFound,
        }
    }
}

/// Whether a user holding `held` at a conversation's group may be assigned
/// it (docs/ACCESS.md, "Assignment").
pub(super) fn may_be_assigned(held: PermissionSet) -> bool {
    held.contains(ConversationsAnswer)
        && (held.contains(ConversationsView) || held.contains(ConversationsViewAssigned))
}

/// The built-in roles and their permissions, as the server lists them.
#[derive(Debug)]
pub(super) struct Catalogue(pub(super) BTreeMap<BuiltinRole, PermissionSet>);

impl Catalogue {
    pub(super) fn permissions(&self, role: BuiltinRole) -> PermissionSet {
        self.0[&role]
    }
}
