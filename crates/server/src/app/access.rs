//! The access model's use cases (docs/ACCESS.md): who I am and what I hold, the
//! roles, the group tree, the users I manage and their grants, inboxes in
//! groups, and the conversations and messages a user may read.
//!
//! Every check is the policy's, against the account's current grants: a
//! resource of another account, or in a group the caller sees nothing of,
//! is not found; a visible one without the permission is forbidden. Every
//! change of grants, roles, groups or an inbox's group calls
//! `access_changed` before it returns, so every node enforces it at once.
//! The use cases the command line would share take a [`Caller`].

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::json;
use switchboard_core::access::{
    BuiltinRole, CustomRole, Grant, Permission, PermissionSet, Refusal, RoleId, Target,
    check_define_role, check_delete_role, check_edit_role, check_set_grants,
};
use switchboard_core::audit::AuditAction;
use switchboard_core::input::{Capacity, Channel, Email, Name};
use switchboard_core::model::{
    Account, Conversation, ConversationStatus, Group, Inbox, Message, User,
};
use switchboard_core::{
    AccountId, ConversationId, GroupId, InboxId, Principal, Role, TeamId, UserId,
};

use super::{App, AppError, Caller, refusal};
use crate::access::AccessNow;

/// Conversations read from the store for one listing, at most: a page is
/// cut from the newest this many the caller may see.
const LISTING_WINDOW: u32 = 1000;
/// Conversations in a page when the client names no limit, and at most.
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 200;
/// Messages in one answer when the client names no limit, and at most.
pub const MESSAGES_DEFAULT: u32 = 50;
pub const MESSAGES_MAX: u32 = 200;

/// The signed-in user, their account, grants and permissions at the root.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
    pub account: Account,
    pub grants: Vec<Grant>,
    /// What the grants add up to at the root group (account-wide).
    pub permissions: PermissionSet,
}

/// A role as listed: built-in or custom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleEntry {
    pub id: RoleId,
    pub name: String,
    pub permissions: PermissionSet,
}

impl RoleEntry {
    pub fn is_builtin(&self) -> bool {
        matches!(self.id, RoleId::Builtin(_))
    }

    fn builtin(role: BuiltinRole) -> Self {
        let id = role.as_str().replace('_', " ");
        let mut name = id[..1].to_uppercase();
        name.push_str(&id[1..]);
        Self {
            id: RoleId::Builtin(role),
            name,
            permissions: role.permissions(),
        }
    }
}

/// A user with their grants.
#[derive(Debug, Clone)]
pub struct UserAccess {
    pub user: User,
    pub grants: Vec<Grant>,
}

/// What `PATCH /v1/inboxes/{id}` may change (each `None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct InboxChanges {
    pub name: Option<Name>,
    pub group: Option<GroupId>,
    /// `Some(None)`: routed to every agent of the account.
    pub team: Option<Option<TeamId>>,
}

/// Whose conversations a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Me,
    Unassigned,
    User(UserId),
}

/// Where a page of conversations starts: just after this conversation, in
/// the listing's order (newest activity first, then id descending). Its
/// text form is opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    last_message_at: Option<DateTime<Utc>>,
    id: ConversationId,
}

impl ConversationCursor {
    fn of(conversation: &Conversation) -> Self {
        Self {
            last_message_at: conversation.last_message_at,
            id: conversation.id,
        }
    }

    /// Reads a cursor a previous page answered.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let bad = || AppError::BadRequest("cursor is not one a page answered".into());
        let (at, id) = text.split_once('~').ok_or_else(bad)?;
        let last_message_at = match at {
            "-" => None,
            micros => {
                let micros: i64 = micros.parse().map_err(|_| bad())?;
                Some(DateTime::from_timestamp_micros(micros).ok_or_else(bad)?)
            }
        };
        let id = id.parse().map_err(|_| bad())?;
        Ok(Self {
            last_message_at,
            id,
        })
    }

    /// Whether `conversation` comes after this cursor in the listing.
    fn precedes(&self, conversation: &Conversation) -> bool {
        listing_order(
            (self.last_message_at, self.id),
            (conversation.last_message_at, conversation.id),
        ) == Ordering::Less
    }
}

impl fmt::Display for ConversationCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last_message_at {
            Some(at) => write!(f, "{}~{}", at.timestamp_micros(), self.id),
            None => write!(f, "-~{}", self.id),
        }
    }
}

/// The listing's order: newest activity first (none last), then id
/// descending, as the store sorts.
fn listing_order(
    a: (Option<DateTime<Utc>>, ConversationId),
    b: (Option<DateTime<Utc>>, ConversationId),
) -> Ordering {
    let by_time = match (a.0, b.0) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_time.then(b.1.cmp(&a.1))
}

/// Which conversations a listing shows, besides the policy's filter.
#[derive(Debug, Clone, Copy)]
pub struct ConversationQuery {
    pub status: Option<ConversationStatus>,
    pub inbox: Option<InboxId>,
    pub assignee: Option<AssigneeFilter>,
    pub cursor: Option<ConversationCursor>,
    /// 1 to [`PAGE_MAX`].
    pub limit: u32,
}

/// One page of a listing; `next` is where the following one starts (none:
/// this was the last).
#[derive(Debug, Clone)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    pub next: Option<ConversationCursor>,
}

/// Messages of a conversation, with whether the reader sees their bodies.
#[derive(Debug, Clone)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub bodies: bool,
}

/// An escalation rule's refusal as the use case's answer: a role or group
/// that is not the account's is not found, anything else forbidden.
pub(super) fn refused(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::UnknownRole(_) => AppError::NotFound("no such role"),
        Refusal::UnknownGroup(_) => AppError::NotFound("no such group"),
        Refusal::UserOutsideReach => AppError::NotFound("no such user"),
        // the owner stays the owner whoever asks (docs/PEOPLE.md): 409
        Refusal::OwnerIsPermanent => AppError::Conflict(refusal.to_string()),
        other => AppError::forbidden(other.to_string()),
    }
}

impl App {
    /// The caller, their account, grants and account-wide permissions.
    pub async fn me(&self, who: &Principal) -> Result<Me, AppError> {
        let user = self.store.user(who.id()).await?;
        let user = user.ok_or(AppError::Unauthorized("the user no longer exists"))?;
        let account = self.store.account(who.account_id()).await?;
        let account = account.ok_or(AppError::NotFound("no such account"))?;
        let access = self.access_of(account.id).await?;
        let grants = access.grants(user.id).to_vec();
        let permissions = access.access.account_wide(&grants);
        Ok(Me {
            user,
            account,
            grants,
            permissions,
        })
    }

    /// The account's root group (where a group, inbox, template or grant
    /// goes when none is named).
    pub async fn root_group(&self, account: AccountId) -> Result<GroupId, AppError> {
        Ok(self.access_of(account).await?.access.groups.root())
    }

    /// The account's roles: the built-ins, then its custom roles. Anyone of
    /// the account may read them.
    pub async fn roles(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Vec<RoleEntry>, AppError> {
        let access = self.seen_access(caller, account).await?;
        let builtins = BuiltinRole::ALL.into_iter().map(RoleEntry::builtin);
        let custom = access
            .access
            .roles
            .custom_roles()
            .map(|(id, role)| custom_entry(RoleId::Custom(id), role));
        Ok(builtins.chain(custom).collect())
    }

    /// Defines a custom role: `roles.manage` account-wide, and nobody
    /// defines a role with a permission they lack there.
    pub async fn create_role(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        name: Name,
        permissions: PermissionSet,
    ) -> Result<RoleEntry, AppError> {
        let access = self.seen_access(caller, account).await?;
        if let Caller::User(who) = caller {
            check_define_role(&access.access, access.grants(who.id()), permissions)
                .map_err(refused)?;
        }
        let role = CustomRole { name, permissions };
        let id = self.store.create_custom_role(account, &role).await?;
        self.access_changed(account).await?;
        let entry = custom_entry(RoleId::Custom(id), &role);
        let detail = role_detail(&entry);
        self.audit(caller, account, AuditAction::RoleCreated, None, detail)
            .await;
        Ok(entry)
    }

    /// Renames and/or redefines a custom role (built-in ones are
    /// read-only: forbidden), under the rules of [`App::create_role`].
    pub async fn edit_role(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        role: RoleId,
        name: Option<Name>,
        permissions: Option<PermissionSet>,
    ) -> Result<RoleEntry, AppError> {
        let access = self.seen_access(caller, account).await?;
        let (id, current) = custom_of(&access, role)?;
        let edited = CustomRole {
            name: name.unwrap_or(current.name),
            permissions: permissions.unwrap_or(current.permissions),
        };
        if let Caller::User(who) = caller {
            check_edit_role(
                &access.access,
                access.grants(who.id()),
                role,
                edited.permissions,
            )
            .map_err(refused)?;
        }
        self.store.edit_custom_role(account, id, &edited).await?;
        self.access_changed(account).await?;
        let entry = custom_entry(role, &edited);
        let detail = role_detail(&entry);
        self.audit(caller, account, AuditAction::RoleEdited, None, detail)
            .await;
        Ok(entry)
    }

    /// Deletes a custom role nobody holds (else conflict); built-in roles
    /// are forbidden.
    pub async fn delete_role(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        role: RoleId,
    ) -> Result<(), AppError> {
        let access = self.seen_access(caller, account).await?;
        let (id, _) = custom_of(&access, role)?;
        if let Caller::User(who) = caller {
            check_delete_role(&access.access, access.grants(who.id()), role).map_err(refused)?;
        }
        self.store.delete_custom_role(account, id).await?;
        self.access_changed(account).await?;
        let detail = json!({"role_id": role.to_string()});
        self.audit(caller, account, AuditAction::RoleDeleted, None, detail)
            .await;
        Ok(())
    }

    /// The account's groups the caller sees (holds anything at), oldest
    /// first; the command line sees them all.
    pub async fn groups(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Vec<Group>, AppError> {
        let access = self.seen_access(caller, account).await?;
        let mut groups = self.store.groups_of(account).await?;
        if let Caller::User(who) = caller {
            let policy = access.policy(who.id());
            groups.retain(|g| !policy.permissions_at(g.id).is_empty());
        }
        Ok(groups)
    }

    /// A new group under `parent` (the root when `None`):
    /// `settings.manage` at the parent.
    pub async fn create_group(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        name: Name,
        parent: Option<GroupId>,
    ) -> Result<Group, AppError> {
        let access = self.seen_access(caller, account).await?;
        let parent = parent.unwrap_or(access.access.groups.root());
        self.check_group(caller, &access, parent, Permission::SettingsManage)?;
        let group = self.store.create_group(account, &name, parent).await?;
        self.access_changed(account).await?;
        let detail = group_detail(&group);
        self.audit(caller, account, AuditAction::GroupCreated, None, detail)
            .await;
        Ok(group)
    }

    /// Renames a group (`settings.manage` there) and/or moves it under
    /// another parent (`settings.manage` at the old and the new parent);
    /// a move under its own subtree, or of the root, is a conflict.
    pub async fn edit_group(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        group: GroupId,
        name: Option<Name>,
        parent: Option<GroupId>,
    ) -> Result<Group, AppError> {
        let access = self.seen_access(caller, account).await?;
        let settings = Permission::SettingsManage;
        self.check_group(caller, &access, group, settings)?;
        let mut edited = None;
        if let Some(parent) = parent {
            if let Some(old) = access.access.groups.parent(group) {
                self.check_group(caller, &access, old, settings)?;
            }
            self.check_group(caller, &access, parent, settings)?;
            edited = Some(self.store.move_group(account, group, parent).await?);
            self.access_changed(account).await?;
        }
        if let Some(name) = name {
            edited = Some(self.store.rename_group(account, group, &name).await?);
        }
        if let Some(group) = &edited {
            let detail = group_detail(group);
            self.audit(caller, account, AuditAction::GroupEdited, None, detail)
                .await;
        }
        match edited {
            Some(group) => Ok(group),
            None => self
                .store
                .groups_of(account)
                .await?
                .into_iter()
                .find(|g| g.id == group)
                .ok_or(AppError::NotFound("no such group")),
        }
    }

    /// Deletes an empty group (no subgroups, inboxes or grants; else a
    /// conflict): `settings.manage` at it and at its parent.
    pub async fn delete_group(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        group: GroupId,
    ) -> Result<(), AppError> {
        let access = self.seen_access(caller, account).await?;
        let settings = Permission::SettingsManage;
        self.check_group(caller, &access, group, settings)?;
        if let Some(parent) = access.access.groups.parent(group) {
            self.check_group(caller, &access, parent, settings)?;
        }
        self.store.delete_group(account, group).await?;
        self.access_changed(account).await?;
        let detail = json!({"group_id": group});
        self.audit(caller, account, AuditAction::GroupDeleted, None, detail)
            .await;
        Ok(())
    }

    /// The users the caller manages (`users.manage` over every group they
    /// hold a grant at), with their grants.
    pub async fn managed_users(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Vec<UserAccess>, AppError> {
        let users = self.users(caller, account).await?;
        let access = self.access_of(account).await?;
        Ok(users
            .into_iter()
            .map(|user| UserAccess {
                grants: access.grants(user.id).to_vec(),
                user,
            })
            .collect())
    }

    /// One user the caller manages, with their grants.
    pub async fn managed_user(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<UserAccess, AppError> {
        let user = self.user_of(caller, account, user).await?;
        self.check_manage_user(caller, account, user.id).await?;
        let access = self.access_of(account).await?;
        Ok(UserAccess {
            grants: access.grants(user.id).to_vec(),
            user,
        })
    }

    /// Renames a user and/or sets their capacity (raising it serves the
    /// queue at once), for whoever manages them.
    pub async fn edit_user(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
        name: Option<Name>,
        capacity: Option<Capacity>,
    ) -> Result<UserAccess, AppError> {
        let managed = self.managed_user(caller, account, user).await?;
        let mut detail = serde_json::Map::new();
        if let Some(name) = name {
            self.store.rename_user(managed.user.id, &name).await?;
            detail.insert("name".into(), json!(name.as_str()));
        }
        if let Some(capacity) = capacity {
            let mut routed = self.store.set_capacity(user, capacity.get()).await?;
            self.spread(&mut routed).await;
            detail.insert("capacity".into(), json!(capacity.get()));
        }
        if !detail.is_empty() {
            let action = AuditAction::UserEdited;
            self.audit(caller, account, action, Some(user), detail.into())
                .await;
        }
        self.managed_user(caller, account, user).await
    }

    /// Replaces a user's grants, escalation-free (docs/ACCESS.md): the caller
    /// manages the user, adds grants only where they manage users and of
    /// roles they hold all of there, never `owner`, and the owner keeps
    /// ownership.
    pub async fn set_grants(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
        grants: Vec<Grant>,
    ) -> Result<UserAccess, AppError> {
        let user = self.user_of(caller, account, user).await?;
        self.check_manage_user(caller, account, user.id).await?;
        let mut grants = grants;
        grants.sort();
        grants.dedup();
        let access = self.access_of(account).await?;
        let current = access.grants(user.id);
        match caller {
            Caller::User(who) => {
                check_set_grants(&access.access, access.grants(who.id()), current, &grants)
                    .map_err(refused)?;
            }
            Caller::CommandLine => check_ownership_kept(&access, current, &grants)?,
        }
        self.store.set_grants(user.id, &grants).await?;
        self.access_changed(account).await?;
        let detail = json!({"before": grants_detail(current), "after": grants_detail(&grants)});
        let action = AuditAction::GrantsChanged;
        self.audit(caller, account, action, Some(user.id), detail)
            .await;
        Ok(UserAccess { user, grants })
    }

    /// A new user holding `grants` (at least one). Every role and group is
    /// checked against the account before the user exists: an unknown one
    /// is not found, `owner` is refused (an account has one owner, made
    /// with it), and a signed-in caller grants only as `set_grants` lets
    /// them.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user_granted(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        email: Email,
        name: Name,
        password: String,
        grants: Vec<Grant>,
        capacity: Capacity,
    ) -> Result<UserAccess, AppError> {
        let access = self.seen_access(caller, account).await?;
        let mut grants = grants;
        grants.sort();
        grants.dedup();
        let Some(first) = grants.first().copied() else {
            return Err(AppError::BadRequest(
                "a user needs at least one role".into(),
            ));
        };
        for grant in &grants {
            if grant.role == RoleId::OWNER {
                return Err(refused(Refusal::OwnershipNotGranted));
            }
            if access.access.roles.permissions(grant.role).is_none() {
                return Err(refused(Refusal::UnknownRole(grant.role)));
            }
            if !access.access.groups.contains(grant.group) {
                return Err(refused(Refusal::UnknownGroup(grant.group)));
            }
        }
        if let Caller::User(who) = caller {
            check_set_grants(&access.access, access.grants(who.id()), &[], &grants)
                .map_err(refused)?;
        }
        // The store grants the creation role at the root; other grants
        // replace that one at once.
        let root = access.access.groups.root();
        let created_as = match first.role {
            RoleId::Builtin(BuiltinRole::Administrator) => Role::Admin,
            RoleId::Builtin(BuiltinRole::Operator) => Role::Operator,
            _ => Role::Viewer,
        };
        let user = self
            .create_user(account, email, name, password, created_as, capacity)
            .await?;
        if grants != [Grant::new(RoleId::Builtin(created_as.builtin()), root)] {
            self.store.set_grants(user.id, &grants).await?;
        }
        self.access_changed(account).await?;
        let detail =
            json!({"email": user.email, "name": user.name, "grants": grants_detail(&grants)});
        self.audit(
            caller,
            account,
            AuditAction::UserCreated,
            Some(user.id),
            detail,
        )
        .await;
        Ok(UserAccess { user, grants })
    }

    /// Creates an inbox in `group` (the root when `None`): `inboxes.manage`
    /// there. Returns its API key, here and never again.
    pub async fn create_inbox_in(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        name: Name,
        channel: Channel,
        group: Option<GroupId>,
    ) -> Result<(Inbox, String), AppError> {
        let access = self.seen_access(caller, account).await?;
        let group = group.unwrap_or(access.access.groups.root());
        self.check_group(caller, &access, group, Permission::InboxesManage)?;
        let (mut inbox, key) = self.create_inbox(account, name, channel).await?;
        if inbox.group_id != group {
            inbox = self.store.set_inbox_group(inbox.id, group).await?;
        }
        // Every node learns the new inbox and its group.
        self.access_changed(account).await?;
        Ok((inbox, key))
    }

    /// Renames an inbox, moves it to another group (`inboxes.manage` at
    /// both) and/or routes it to a team, each with `inboxes.manage` at its
    /// group. Every check is made before anything changes.
    pub async fn edit_inbox(
        &self,
        caller: Caller<'_>,
        inbox: InboxId,
        changes: InboxChanges,
    ) -> Result<Inbox, AppError> {
        let inbox = self.managed_inbox(caller, inbox).await?;
        let moved_to = changes.group.filter(|g| *g != inbox.group_id);
        if let Some(group) = moved_to {
            let access = self.access_of(inbox.account_id).await?;
            self.check_group(caller, &access, group, Permission::InboxesManage)?;
        }
        if let Some(Some(team)) = changes.team {
            self.own_team(inbox.account_id, team).await?;
        }
        if let Some(name) = &changes.name {
            self.store.rename_inbox(inbox.id, name).await?;
        }
        if let Some(group) = moved_to {
            self.store.set_inbox_group(inbox.id, group).await?;
            self.access_changed(inbox.account_id).await?;
        }
        if let Some(team) = changes.team {
            self.set_inbox_team(caller, inbox.id, team).await?;
        }
        self.store
            .inbox(inbox.id)
            .await?
            .ok_or(AppError::NotFound("no such inbox"))
    }

    /// A page of the conversations the user may see (the policy's filter,
    /// as `subscribe_inbox`), narrowed by the query, newest activity first.
    /// Pages are cut from the newest [`LISTING_WINDOW`] visible
    /// conversations.
    pub async fn list_conversations(
        &self,
        who: &Principal,
        query: ConversationQuery,
    ) -> Result<ConversationPage, AppError> {
        let access = self.access_of(who.account_id()).await?;
        let mut filter = access.policy(who.id()).conversation_filter();
        if let Some(inbox) = query.inbox {
            let group = access.group_of(inbox);
            let visible = group.filter(|g| !access.policy(who.id()).permissions_at(*g).is_empty());
            let group = visible.ok_or(AppError::NotFound("no such inbox"))?;
            filter.all.retain(|g| *g == group);
            filter.assigned.retain(|g| *g == group);
        }
        let rows = match filter.is_empty() {
            true => Vec::new(),
            false => {
                self.store
                    .admitted_conversations(&filter, LISTING_WINDOW)
                    .await?
            }
        };
        let assignee_of = |c: &Conversation| c.assignee.as_ref().map(|a| a.id);
        let mut rows: Vec<Conversation> = rows
            .into_iter()
            .filter(|c| query.status.is_none_or(|s| c.status == s))
            .filter(|c| query.inbox.is_none_or(|i| c.inbox_id == i))
            .filter(|c| match query.assignee {
                None => true,
                Some(AssigneeFilter::Me) => assignee_of(c) == Some(who.id()),
                Some(AssigneeFilter::Unassigned) => assignee_of(c).is_none(),
                Some(AssigneeFilter::User(user)) => assignee_of(c) == Some(user),
            })
            .filter(|c| query.cursor.is_none_or(|cursor| cursor.precedes(c)))
            .collect();
        rows.sort_by(|a, b| listing_order((a.last_message_at, a.id), (b.last_message_at, b.id)));
        let limit = query.limit.clamp(1, PAGE_MAX) as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = more
            .then(|| rows.last().map(ConversationCursor::of))
            .flatten();
        let conversations = rows.into_iter().map(|c| self.shown(c)).collect();
        Ok(ConversationPage {
            conversations,
            next,
        })
    }

    /// One conversation the user may see; any other is not found.
    pub async fn conversation(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<Conversation, AppError> {
        Ok(self.shown(self.visible_conversation(who, id).await?))
    }

    /// Messages with `seq > after_seq`, in order, at most `limit` (1 to
    /// [`MESSAGES_MAX`]); their bodies are for those who hold
    /// `messages.read_bodies` there.
    pub async fn conversation_messages(
        &self,
        who: &Principal,
        id: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<MessagePage, AppError> {
        let conversation = self.visible_conversation(who, id).await?;
        let access = self.access_of(who.account_id()).await?;
        let held = access.on_conversation(who.id(), conversation.resource());
        let limit = limit.clamp(1, MESSAGES_MAX);
        let messages = self.store.messages_after(id, after_seq, limit).await?;
        Ok(MessagePage {
            messages,
            bodies: held.contains(Permission::MessagesReadBodies),
        })
    }
}

impl App {
    /// The access of an account the caller sees; any other is not found.
    async fn seen_access(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<std::sync::Arc<AccessNow>, AppError> {
        if !caller.sees(account) {
            return Err(AppError::NotFound("no such account"));
        }
        self.access_of(account).await
    }

    /// `permission` at `group` of the snapshot's account: a group not of
    /// the account, or where the caller holds nothing, is not found.
    fn check_group(
        &self,
        caller: Caller<'_>,
        access: &AccessNow,
        group: GroupId,
        permission: Permission,
    ) -> Result<(), AppError> {
        const MISSING: &str = "no such group";
        if !access.access.groups.contains(group) {
            return Err(AppError::NotFound(MISSING));
        }
        let Caller::User(who) = caller else {
            return Ok(());
        };
        let target = Target::Group {
            account: access.account,
            group,
        };
        refusal(access.policy(who.id()).decide(target, permission), MISSING)
    }

    /// A user of `account` the caller sees; any other is not found.
    pub(super) async fn user_of(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<User, AppError> {
        self.store
            .user(user)
            .await?
            .filter(|u| u.account_id == account && caller.sees(account))
            .ok_or(AppError::NotFound("no such user"))
    }

    /// A card as this node shows it (the answerer it knows of).
    pub(super) fn shown(&self, card: Conversation) -> Conversation {
        match &self.hub {
            Some(hub) => hub.card_as_shown(card),
            None => card,
        }
    }
}

/// The custom role `role` names in the snapshot: a built-in one is
/// read-only (forbidden), another account's or a deleted one not found.
fn custom_of(
    access: &AccessNow,
    role: RoleId,
) -> Result<(switchboard_core::ids::CustomRoleId, CustomRole), AppError> {
    match role {
        RoleId::Builtin(builtin) => Err(refused(Refusal::BuiltinRole(builtin))),
        RoleId::Custom(id) => access
            .access
            .roles
            .custom(id)
            .cloned()
            .map(|r| (id, r))
            .ok_or(AppError::NotFound("no such role")),
    }
}

/// Grants as an audit entry tells them: `[{"role","group_id"}]`.
pub(crate) fn grants_detail(grants: &[Grant]) -> serde_json::Value {
    grants
        .iter()
        .map(|g| json!({"role": g.role.to_string(), "group_id": g.group}))
        .collect()
}

fn role_detail(role: &RoleEntry) -> serde_json::Value {
    let permissions: Vec<&str> = role.permissions.iter().map(Permission::as_str).collect();
    json!({"role_id": role.id.to_string(), "name": role.name, "permissions": permissions})
}

fn group_detail(group: &Group) -> serde_json::Value {
    json!({"group_id": group.id, "name": group.name, "parent_id": group.parent_id})
}

fn custom_entry(id: RoleId, role: &CustomRole) -> RoleEntry {
    RoleEntry {
        id,
        name: role.name.as_str().to_owned(),
        permissions: role.permissions,
    }
}

/// The command line's rule on grants: ownership is never granted nor
/// taken away by replacing grants.
fn check_ownership_kept(
    access: &AccessNow,
    current: &[Grant],
    new: &[Grant],
) -> Result<(), AppError> {
    let owner = Grant::new(RoleId::OWNER, access.access.groups.root());
    let granted = new.iter().any(|g| g.role == RoleId::OWNER);
    if granted && !current.contains(&owner) {
        return Err(refused(Refusal::OwnershipNotGranted));
    }
    if access.access.is_owner(current) && !new.contains(&owner) {
        return Err(refused(Refusal::OwnerIsPermanent));
    }
    Ok(())
}
