//! The permission catalogue: every right a check in the product may name.
//!
//! A permission is a stable string id (`conversations.view`); the ids are
//! what the store keeps and the wire carries. In memory a set of them is a
//! [`PermissionSet`], one bit per permission, so a connection can hold its
//! rights in a word and test one in an instruction. The bits follow the
//! declaration order and are never persisted.

use std::fmt;
use std::str::FromStr;

/// Declares the catalogue once: variant, string id, description. Everything
/// else (`ALL`, `as_str`, `parse`, `description`) is generated from it, so
/// the id of a permission is written in exactly one place.
macro_rules! catalogue {
    ($($(#[$doc:meta])* $variant:ident => $id:literal, $description:literal;)+) => {
        /// One right from the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission {
            $($(#[$doc])* $variant,)+
        }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Self::$variant,)+];

            /// The stable string id.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $id,)+
                }
            }

            /// What the permission allows, as the documentation says it.
            pub fn description(self) -> &'static str {
                match self {
                    $(Self::$variant => $description,)+
                }
            }

            /// The permission with this string id; ids are exact (no case
            /// folding, no spaces).
            pub fn parse(text: &str) -> Result<Self, UnknownPermission> {
                match text {
                    $($id => Ok(Self::$variant),)+
                    _ => Err(UnknownPermission(text.to_owned())),
                }
            }
        }
    };
}

catalogue! {
    ConversationsView => "conversations.view",
        "list conversations, open (observe) them, receive their events";
    /// Like `conversations.view`, limited to the conversations assigned to
    /// the user (the Sales role).
    ConversationsViewAssigned => "conversations.view_assigned",
        "the same as `conversations.view`, but only for conversations assigned to me";
    MessagesReadBodies => "messages.read_bodies",
        "see message bodies; without it every body is `null` everywhere (events, acks, REST, previews, exports)";
    ConversationsAnswer => "conversations.answer",
        "become the active responder (\"Start chatting\") and write";
    ConversationsTakeOver => "conversations.take_over",
        "take the active role from its holder (`take` with `force`)";
    ConversationsAssign => "conversations.assign",
        "assign, transfer and unassign by hand";
    ConversationsAssignOverCapacity => "conversations.assign_over_capacity",
        "assign beyond an agent's capacity (`force`)";
    ConversationsResolve => "conversations.resolve",
        "resolve and reopen";
    ContactsView => "contacts.view",
        "the contacts list";
    ContactsManage => "contacts.manage",
        "edit contacts";
    TemplatesView => "templates.view",
        "use message templates";
    TemplatesManage => "templates.manage",
        "create and edit message templates";
    StatisticsView => "statistics.view",
        "message statistics";
    StatisticsExport => "statistics.export",
        "download message statistics (CSV)";
    BillingManage => "billing.manage",
        "the plan and its seats";
    InboxesManage => "inboxes.manage",
        "channels and inboxes: their keys, their group and the team each routes to";
    DevelopersManage => "developers.manage",
        "API keys and webhooks";
    UsersManage => "users.manage",
        "invite, edit, deactivate and remove users; teams; grants";
    RolesManage => "roles.manage",
        "custom roles";
    SettingsManage => "settings.manage",
        "account settings (name, required 2FA), groups";
}

impl Permission {
    /// This permission's bit in a [`PermissionSet`].
    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A string that names no permission of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission `{0}`")]
pub struct UnknownPermission(pub String);

/// A set of permissions, one bit each: copied, compared and combined in a
/// word, so it can be cached per connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: Self = Self(0);

    /// Every permission of the catalogue.
    pub fn all() -> Self {
        Permission::ALL.iter().copied().collect()
    }

    /// The set of these permissions.
    pub fn of(permissions: &[Permission]) -> Self {
        permissions.iter().copied().collect()
    }

    /// Reads string ids (as stored, or as a client sends them); the first
    /// unknown id is the error.
    pub fn parse<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownPermission> {
        ids.into_iter().map(Permission::parse).collect()
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The permissions in both sets.
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The permissions of `self` that `other` does not have.
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    pub fn is_subset(self, other: Self) -> bool {
        self.without(other).is_empty()
    }

    /// The permissions in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(permissions: I) -> Self {
        let mut set = Self::EMPTY;
        permissions.into_iter().for_each(|p| set.insert(p));
        set
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::as_str))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_id() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Ok(*p));
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!(
            Permission::parse("Conversations.View"),
            Err(UnknownPermission("Conversations.View".into()))
        );
        assert!(Permission::parse("").is_err());
    }

    #[test]
    fn the_catalogue_fits_the_set_and_has_no_repeated_id() {
        assert!(Permission::ALL.len() <= 32);
        let ids: std::collections::BTreeSet<_> =
            Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(ids.len(), Permission::ALL.len());
        assert!(Permission::ALL.iter().all(|p| !p.description().is_empty()));
    }

    #[test]
    fn sets_combine_as_sets() {
        let viewing = PermissionSet::of(&[
            Permission::ConversationsView,
            Permission::MessagesReadBodies,
        ]);
        let answering = PermissionSet::of(&[Permission::ConversationsAnswer]);
        let both = viewing.union(answering);
        assert!(both.contains(Permission::ConversationsAnswer));
        assert!(viewing.is_subset(both) && !both.is_subset(viewing));
        assert_eq!(both.without(viewing), answering);
        assert_eq!(PermissionSet::all().iter().count(), Permission::ALL.len());
        assert_eq!(
            format!("{viewing:?}"),
            r#"{"conversations.view", "messages.read_bodies"}"#
        );
    }

    #[test]
    fn a_set_is_read_from_ids_and_refuses_an_unknown_one() {
        assert_eq!(
            PermissionSet::parse(["users.manage", "roles.manage"]),
            Ok(PermissionSet::of(&[
                Permission::UsersManage,
                Permission::RolesManage
            ]))
        );
        assert_eq!(
            PermissionSet::parse(["users.manage", "root"]),
            Err(UnknownPermission("root".into()))
        );
    }
}
