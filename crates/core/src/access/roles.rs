//! Roles: the read-only built-in presets, and the custom roles an account
//! defines (a name and any set of permissions from the catalogue).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::catalogue::{Permission, PermissionSet};
use crate::ids::CustomRoleId;
use crate::input::Name;

use Permission::*;

/// A preset every account has; it cannot be changed or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuiltinRole {
    Owner,
    Administrator,
    Editor,
    Operator,
    Accountant,
    Developer,
    InboxManager,
    Service,
    Sales,
    MessagingAgent,
    User,
    Viewer,
}

/// What every conversation worker starts from: see conversations and read
/// them.
const READING: [Permission; 2] = [ConversationsView, MessagesReadBodies];
/// What an agent who answers adds to reading.
const ANSWERING: [Permission; 3] = [ConversationsAnswer, ConversationsResolve, TemplatesView];

impl BuiltinRole {
    /// Every built-in role, in the documentation's order.
    pub const ALL: [BuiltinRole; 12] = [
        Self::Owner,
        Self::Administrator,
        Self::Editor,
        Self::Operator,
        Self::Accountant,
        Self::Developer,
        Self::InboxManager,
        Self::Service,
        Self::Sales,
        Self::MessagingAgent,
        Self::User,
        Self::Viewer,
    ];

    /// The stable id (`inbox_manager`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Administrator => "administrator",
            Self::Editor => "editor",
            Self::Operator => "operator",
            Self::Accountant => "accountant",
            Self::Developer => "developer",
            Self::InboxManager => "inbox_manager",
            Self::Service => "service",
            Self::Sales => "sales",
            Self::MessagingAgent => "messaging_agent",
            Self::User => "user",
            Self::Viewer => "viewer",
        }
    }

    /// The role with this id; `admin` (the id of the first releases) is
    /// read as `administrator`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Administrator),
            _ => Self::ALL.into_iter().find(|r| r.as_str() == text),
        }
    }

    /// Who the role is for, as the documentation says it.
    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => "the account's one owner: every permission everywhere",
            Self::Administrator => "runs the account, except its billing",
            Self::Editor => "keeps templates and contacts, reads conversations",
            Self::Operator => "answers customers in the messenger",
            Self::Accountant => "pays for the plan and reads the statistics",
            Self::Developer => "connects channels, API keys and webhooks",
            Self::InboxManager => "runs inboxes and their conversations",
            Self::Service => "answers customers (customer service)",
            Self::Sales => "answers the conversations assigned to them",
            Self::MessagingAgent => "answers customers, without resolving",
            Self::User => "reads the statistics only: no text, no chat",
            Self::Viewer => "observes conversations, never answers",
        }
    }

    /// The permissions the role grants.
    pub fn permissions(self) -> PermissionSet {
        match self {
            Self::Owner => PermissionSet::all(),
            Self::Administrator => {
                PermissionSet::all().without(PermissionSet::of(&[BillingManage]))
            }
            Self::Editor => set(&[
                &READING,
                &[TemplatesView, TemplatesManage, ContactsView, StatisticsView],
            ]),
            Self::Operator | Self::Service => set(&[&READING, &ANSWERING]),
            Self::Accountant => {
                PermissionSet::of(&[BillingManage, StatisticsView, StatisticsExport])
            }
            Self::Developer => set(&[
                &READING,
                &ANSWERING,
                &[ContactsView, ContactsManage, TemplatesManage],
                &[InboxesManage, DevelopersManage, StatisticsView],
            ]),
            Self::InboxManager => set(&[
                &READING,
                &ANSWERING,
                &[ConversationsAssign, ConversationsTakeOver],
                &[ContactsView, ContactsManage, TemplatesManage],
                &[InboxesManage, StatisticsView],
            ]),
            Self::Sales => set(&[
                &[ConversationsViewAssigned, MessagesReadBodies],
                &ANSWERING,
                &[ContactsView],
            ]),
            Self::MessagingAgent => set(&[&READING, &[ConversationsAnswer, TemplatesView]]),
            Self::User => PermissionSet::of(&[StatisticsView]),
            Self::Viewer => PermissionSet::of(&READING),
        }
    }
}

fn set(parts: &[&[Permission]]) -> PermissionSet {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// Which role a grant names: a built-in one by its string id, a custom one
/// by its uuid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleId {
    Builtin(BuiltinRole),
    Custom(CustomRoleId),
}

impl RoleId {
    pub const OWNER: Self = Self::Builtin(BuiltinRole::Owner);

    /// A built-in id (or the alias `admin`), else a custom role's uuid.
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        match BuiltinRole::parse(text) {
            Some(role) => Ok(Self::Builtin(role)),
            None => text
                .parse()
                .map(Self::Custom)
                .map_err(|_| UnknownRole(text.to_owned())),
        }
    }
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin(role) => f.write_str(role.as_str()),
            Self::Custom(id) => id.fmt(f),
        }
    }
}

impl FromStr for RoleId {
    type Err = UnknownRole;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Text that is neither a built-in role id nor a uuid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected a built-in role id or a custom role's id")]
pub struct UnknownRole(pub String);

/// A role an account defined: a name and any permissions of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    pub name: Name,
    pub permissions: PermissionSet,
}

/// The roles of one account: the built-ins and its custom roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleBook {
    custom: BTreeMap<CustomRoleId, CustomRole>,
}

impl RoleBook {
    pub fn new(custom: impl IntoIterator<Item = (CustomRoleId, CustomRole)>) -> Self {
        Self {
            custom: custom.into_iter().collect(),
        }
    }

    /// The permissions of a role; `None` for a custom role the account does
    /// not have (deleted, or another account's).
    pub fn permissions(&self, role: RoleId) -> Option<PermissionSet> {
        match role {
            RoleId::Builtin(builtin) => Some(builtin.permissions()),
            RoleId::Custom(id) => self.custom.get(&id).map(|r| r.permissions),
        }
    }

    pub fn custom(&self, id: CustomRoleId) -> Option<&CustomRole> {
        self.custom.get(&id)
    }

    /// The account's custom roles, by id.
    pub fn custom_roles(&self) -> impl Iterator<Item = (CustomRoleId, &CustomRole)> {
        self.custom.iter().map(|(id, role)| (*id, role))
    }

    /// Adds or replaces a custom role (after the checks of `escalation`).
    pub fn put(&mut self, id: CustomRoleId, role: CustomRole) {
        self.custom.insert(id, role);
    }

    pub fn remove(&mut self, id: CustomRoleId) -> Option<CustomRole> {
        self.custom.remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_round_trip_and_admin_is_an_alias() {
        for role in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::parse(role.as_str()), Some(role));
            assert_eq!(RoleId::parse(role.as_str()), Ok(RoleId::Builtin(role)));
        }
        assert_eq!(
            BuiltinRole::parse("admin"),
            Some(BuiltinRole::Administrator)
        );
        assert_eq!(
            RoleId::Builtin(BuiltinRole::Administrator).to_string(),
            "administrator"
        );
        assert_eq!(BuiltinRole::parse("Owner"), None);
    }

    #[test]
    fn a_custom_role_id_is_a_uuid_and_anything_else_is_refused() {
        let id = CustomRoleId::new();
        assert_eq!(RoleId::parse(&id.to_string()), Ok(RoleId::Custom(id)));
        assert_eq!(
            RoleId::parse("superuser"),
            Err(UnknownRole("superuser".into()))
        );
    }

    #[test]
    fn the_presets_hold_what_the_design_gives_them() {
        let has = |role: BuiltinRole, p: Permission| role.permissions().contains(p);
        assert_eq!(BuiltinRole::Owner.permissions(), PermissionSet::all());
        assert!(!has(BuiltinRole::Administrator, BillingManage));
        assert!(has(BuiltinRole::Administrator, UsersManage));
        assert!(has(BuiltinRole::Accountant, BillingManage));
        assert!(has(BuiltinRole::Sales, ConversationsViewAssigned));
        assert!(!has(BuiltinRole::Sales, ConversationsView));
        assert!(!has(BuiltinRole::Viewer, ConversationsAnswer));
        assert!(!has(BuiltinRole::MessagingAgent, ConversationsResolve));
        assert!(!has(BuiltinRole::User, MessagesReadBodies));
        assert_eq!(
            BuiltinRole::Operator.permissions(),
            PermissionSet::of(&[
                ConversationsView,
                MessagesReadBodies,
                ConversationsAnswer,
                ConversationsResolve,
                TemplatesView
            ])
        );
    }

    #[test]
    fn the_book_knows_builtins_and_only_its_own_custom_roles() {
        let id = CustomRoleId::new();
        let mut book = RoleBook::default();
        assert_eq!(book.permissions(RoleId::Custom(id)), None);
        let role = CustomRole {
            name: Name::parse("role.name", "Night shift").unwrap(),
            permissions: PermissionSet::of(&[ConversationsView]),
        };
        book.put(id, role.clone());
        assert_eq!(book.permissions(RoleId::Custom(id)), Some(role.permissions));
        assert_eq!(
            book.permissions(RoleId::Builtin(BuiltinRole::Viewer)),
            Some(BuiltinRole::Viewer.permissions())
        );
        assert_eq!(book.remove(id), Some(role));
        assert_eq!(book.permissions(RoleId::Custom(id)), None);
    }
}
