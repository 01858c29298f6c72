//! The access book: what each account's access is now, on this node.
//!
//! Every check (a WebSocket frame, an event delivered, a REST call) asks the
//! account's current [`AccessNow`]: its group tree, custom roles, every
//! user's grants and every inbox's group, read from the store in one go.
//! The core's [`Policy`] decides from it. A snapshot is replaced, never
//! edited: a change of grants, roles, groups or inbox placement reloads it
//! here at once (the node that made the change) and on the other nodes when
//! the bus tells them (`ClusterEvent::Access`), or when the bus comes back
//! after an outage (everything is reloaded, since news may have been
//! missed). So a decision is never taken on a copy made at sign-in.
//!
//! Changes nobody announced (a command run against the database, a bus
//! message lost) are found by the stamp: every access change raises the
//! account's stored access stamp in its own transaction, and the hub's
//! clockwork compares the stored stamps with its snapshots' every
//! `SWITCHBOARD_ACCESS_CHECK_MS` ([`AccessBook::stale`]).
//!
//! A snapshot is loaded the first time an account is asked about and kept
//! while the process runs; loads and reloads of one account are serialized,
//! and a load that raced a change is read again, so the book never keeps
//! grants older than the last change it was told of.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use switchboard_core::access::AccountAccess;
use switchboard_core::access::{
    ConversationScope, Decision, Grant, Permission, PermissionSet, Policy, Target,
};
use switchboard_core::ports::Store;
use switchboard_core::{AccountId, GroupId, InboxId, Resource, StoreError, UserId};

/// An account's access at one moment.
#[derive(Debug)]
pub struct AccessNow {
    pub account: AccountId,
    /// The account's access stamp read before the rest: the snapshot is at
    /// least this new (a stored stamp above it means it is stale).
    pub stamp: u64,
    pub access: AccountAccess,
    grants: HashMap<UserId, Vec<Grant>>,
    inboxes: HashMap<InboxId, GroupId>,
    /// Deactivated users: they keep their grants (a reactivation gives
    /// them back) but the policy lets them do nothing.
    inactive: HashSet<UserId>,
}

impl AccessNow {
    /// Reads the account's access from the store.
    async fn load(store: &dyn Store, account: AccountId) -> Result<Self, StoreError> {
        let stamp = store.access_stamp(account).await?;
        let access = store.account_access(account).await?;
        let mut grants: HashMap<UserId, Vec<Grant>> = HashMap::new();
        for (user, grant) in store.account_grants(account).await? {
            grants.entry(user).or_default().push(grant);
        }
        // API keys (docs/MODULES.md): each live key's grants, under the
        // key's own id, so every check applies to a key as to a user.
        for (key, grant) in store.api_key_grants(account).await? {
            let acting = switchboard_core::api_keys::acting_id(key);
            grants.entry(acting).or_default().push(grant);
        }
        let inactive = store
            .users_of(account)
            .await?
            .into_iter()
            .filter(|user| user.deactivated_at.is_some())
            .map(|user| user.id)
            .collect();
        let inboxes = store
            .inboxes_of(account)
            .await?
            .into_iter()
            .map(|inbox| (inbox.id, inbox.group_id))
            .collect();
        Ok(Self {
            account,
            stamp,
            access,
            grants,
            inboxes,
            inactive,
        })
    }

    /// The user's grants (none for a user of another account).
    pub fn grants(&self, user: UserId) -> &[Grant] {
        self.grants.get(&user).map_or(&[], Vec::as_slice)
    }

    /// The users holding at least one grant, with their grants.
    pub fn granted(&self) -> impl Iterator<Item = (UserId, &[Grant])> {
        self.grants.iter().map(|(u, g)| (*u, g.as_slice()))
    }

    /// `user` asking, against this snapshot (a deactivated user holds
    /// nothing).
    pub fn policy(&self, user: UserId) -> Policy<'_> {
        let grants = match self.inactive.contains(&user) {
            true => &[],
            false => self.grants(user),
        };
        Policy::new(user, self.account, grants, &self.access)
    }

    /// The group an inbox of this account sits in.
    pub fn group_of(&self, inbox: InboxId) -> Option<GroupId> {
        self.inboxes.get(&inbox).copied()
    }

    /// The groups that inboxes moved into (or were created in) since
    /// `before`: their conversations may have entered or left lists
    /// although no grant changed.
    pub fn groups_of_moved_inboxes(&self, before: &AccessNow) -> BTreeSet<GroupId> {
        self.inboxes
            .iter()
            .filter(|(inbox, group)| before.group_of(**inbox) != Some(**group))
            .map(|(_, group)| *group)
            .collect()
    }

    /// Where a conversation is, for the policy; none for an inbox this
    /// snapshot does not know (another account's, or created after it).
    pub fn scope(
        &self,
        account: AccountId,
        inbox: InboxId,
        assignee: Option<UserId>,
    ) -> Option<ConversationScope> {
        (account == self.account).then_some(())?;
        Some(ConversationScope {
            account,
            group: self.group_of(inbox)?,
            assignee,
        })
    }

    /// The one check: may `user` do `permission` to `resource`? A resource
    /// of another account, or out of the user's sight, is `NotFound`.
    pub fn decide(&self, user: UserId, permission: Permission, resource: Resource) -> Decision {
        let policy = self.policy(user);
        match resource {
            Resource::Account(account) => policy.decide(Target::Account(account), permission),
            Resource::Inbox {
                account_id,
                inbox_id,
            } => match self
                .group_of(inbox_id)
                .filter(|_| account_id == self.account)
            {
                Some(group) => policy.decide(
                    Target::Group {
                        account: account_id,
                        group,
                    },
                    permission,
                ),
                None => Decision::NotFound,
            },
            Resource::Conversation {
                account_id,
                inbox_id,
                assignee,
            } => match self.scope(account_id, inbox_id, assignee) {
                Some(scope) => policy.decide(Target::Conversation(scope), permission),
                None => Decision::NotFound,
            },
        }
    }

    /// Whether `decide` allows it.
    pub fn allows(&self, user: UserId, permission: Permission, resource: Resource) -> bool {
        self.decide(user, permission, resource) == Decision::Allowed
    }

    /// What the user holds on a conversation (nothing if they may not see it).
    pub fn on_conversation(&self, user: UserId, resource: Resource) -> PermissionSet {
        match resource {
            Resource::Conversation {
                account_id,
                inbox_id,
                assignee,
            } => self
                .scope(account_id, inbox_id, assignee)
                .map_or(PermissionSet::EMPTY, |scope| {
                    self.policy(user).conversation_permissions(&scope)
                }),
            _ => PermissionSet::EMPTY,
        }
    }

    /// One role id to show for the user (a console's hint, never a
    /// decision): `owner` for the owner, else the role of their first grant
    /// at the root, else of their first grant; none without grants.
    pub fn role_hint(&self, user: UserId) -> Option<String> {
        let grants = self.grants(user);
        if self.access.is_owner(grants) {
            return Some("owner".into());
        }
        let root = self.access.groups.root();
        grants
            .iter()
            .find(|g| g.group == root)
            .or_else(|| grants.first())
            .map(|g| g.role.to_string())
    }

    /// How `user` sees a conversation: not at all, wholly
    /// (`conversations.view` at its group), or only because it is assigned
    /// to them (`conversations.view_assigned` there). Seen either way is
    /// exactly `allows(user, conversations.view, resource)`, in one walk.
    pub fn sight(&self, user: UserId, resource: Resource) -> Sight {
        let Resource::Conversation {
            account_id,
            inbox_id,
            assignee,
        } = resource
        else {
            return Sight::Hidden;
        };
        let Some(scope) = self.scope(account_id, inbox_id, assignee) else {
            return Sight::Hidden;
        };
        let held = self.policy(user).permissions_at(scope.group);
        if held.contains(Permission::ConversationsView) {
            Sight::Whole
        } else if assignee == Some(user) && held.contains(Permission::ConversationsViewAssigned) {
            Sight::AssignedOnly
        } else {
            Sight::Hidden
        }
    }

    /// Every permission `user` holds at some group: what a console shows,
    /// and whether they are an agent (`conversations.answer` somewhere).
    pub fn held_anywhere(&self, user: UserId) -> PermissionSet {
        self.policy(user).held_anywhere()
    }

    /// Every permission `user` holds at one or more of `groups`: what a
    /// resource belonging to several groups (a template's subtree, a
    /// contact's inboxes) lets them do.
    pub fn held_at_any(
        &self,
        user: UserId,
        groups: impl IntoIterator<Item = GroupId>,
    ) -> PermissionSet {
        let policy = self.policy(user);
        groups.into_iter().fold(PermissionSet::EMPTY, |held, g| {
            held.union(policy.permissions_at(g))
        })
    }

    /// Whether `caller` may assign conversations to `agent`: at some group
    /// the caller holds `conversations.assign` and the agent
    /// `conversations.answer` (a supervisor's reach).
    pub fn may_assign_to(&self, caller: UserId, agent: UserId) -> bool {
        let (caller, agent) = (self.policy(caller), self.policy(agent));
        self.access.groups.rows().any(|(group, _)| {
            caller
                .permissions_at(group)
                .contains(Permission::ConversationsAssign)
                && agent
                    .permissions_at(group)
                    .contains(Permission::ConversationsAnswer)
        })
    }

    /// Whether `user` answers conversations somewhere, and so may be
    /// assigned them and has a console.
    pub fn is_agent(&self, user: UserId) -> bool {
        self.held_anywhere(user)
            .contains(Permission::ConversationsAnswer)
    }
}

/// How a user sees a conversation ([`AccessNow::sight`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Hidden,
    Whole,
    /// Only while it is assigned to them.
    AssignedOnly,
}

/// One account's current snapshot, shared by its connections here.
#[derive(Debug)]
pub struct AccountCell {
    current: RwLock<Arc<AccessNow>>,
    /// Loads and reloads of this account, one at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl AccountCell {
    /// The account's access now.
    pub fn now(&self) -> Arc<AccessNow> {
        self.current.read().clone()
    }
}

/// A reload's outcome: the snapshot before and after.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub before: Arc<AccessNow>,
    pub after: Arc<AccessNow>,
}

/// Every account's access on this node.
#[derive(Debug)]
pub struct AccessBook {
    store: Arc<dyn Store>,
    cells: Mutex<HashMap<AccountId, Arc<AccountCell>>>,
    /// Changes told per account, known to this node or not: a first load
    /// that raced one reads again.
    changes: Mutex<HashMap<AccountId, u64>>,
    /// First loads, one at a time (they are rare: once per account).
    loading: tokio::sync::Mutex<()>,
}

impl AccessBook {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cells: Mutex::new(HashMap::new()),
            changes: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn changes_of(&self, account: AccountId) -> u64 {
        self.changes.lock().get(&account).copied().unwrap_or(0)
    }

    /// The account's cell, loaded on first use; `NotFound` for an unknown
    /// account.
    pub async fn cell(&self, account: AccountId) -> Result<Arc<AccountCell>, StoreError> {
        if let Some(cell) = self.cells.lock().get(&account) {
            return Ok(cell.clone());
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some(cell) = self.cells.lock().get(&account) {
            return Ok(cell.clone());
        }
        let snapshot = loop {
            let seen = self.changes_of(account);
            let snapshot = AccessNow::load(self.store.as_ref(), account).await?;
            if self.changes_of(account) == seen {
                break snapshot;
            }
        };
        let cell = Arc::new(AccountCell {
            current: RwLock::new(Arc::new(snapshot)),
            reloading: tokio::sync::Mutex::new(()),
        });
        self.cells.lock().insert(account, cell.clone());
        Ok(cell)
    }

    /// The account's access now (loaded on first use).
    pub async fn now(&self, account: AccountId) -> Result<Arc<AccessNow>, StoreError> {
        Ok(self.cell(account).await?.now())
    }

    /// The account's access was changed: reads it again. `None` when this
    /// node had not loaded the account (its first use will read the new
    /// access).
    pub async fn reload(&self, account: AccountId) -> Result<Option<Reloaded>, StoreError> {
        *self.changes.lock().entry(account).or_insert(0) += 1;
        let cell = self.cells.lock().get(&account).cloned();
        let Some(cell) = cell else {
            return Ok(None);
        };
        let _one_at_a_time = cell.reloading.lock().await;
        let after = Arc::new(AccessNow::load(self.store.as_ref(), account).await?);
        let before = std::mem::replace(&mut *cell.current.write(), after.clone());
        Ok(Some(Reloaded { before, after }))
    }

    /// The account's access now, if this node has loaded it (every account
    /// with a connection here has: the upgrade loads it). For delivery,
    /// which cannot wait: an account not loaded gets nothing.
    pub fn cached(&self, account: AccountId) -> Option<Arc<AccessNow>> {
        self.cells.lock().get(&account).map(|cell| cell.now())
    }

    /// The accounts this node has loaded.
    pub fn loaded(&self) -> Vec<AccountId> {
        self.cells.lock().keys().copied().collect()
    }

    /// The loaded accounts whose access changed in the store since their
    /// snapshot was read, and nobody said so (a command-line change, or a
    /// bus message lost): their stored access stamp moved past the
    /// snapshot's.
    pub async fn stale(&self) -> Result<Vec<AccountId>, StoreError> {
        let stored = self.store.access_stamps().await?;
        let cells = self.cells.lock();
        Ok(stored
            .into_iter()
            .filter(|(account, stamp)| {
                cells
                    .get(account)
                    .is_some_and(|cell| cell.now().stamp < *stamp)
            })
            .map(|(account, _)| account)
            .collect())
    }
}
