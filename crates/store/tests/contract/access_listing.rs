//! The differential property of the access model (issue #11): for every
//! user, the conversations the store lists for their policy's filter are
//! exactly those `Policy::may_view` admits; and a conversation is assigned
//! by hand to a user exactly when their permissions there
//! (`Policy::permissions_at`) let them answer it. Random group trees, custom
//! roles, grants, inboxes and assignees are written through the store, a
//! fresh account per case. `SWITCHBOARD_ACCESS_CASES` sets the number of
//! cases (default [`DEFAULT_CASES`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use switchboard_core::StoreError;
use switchboard_core::access::{
    BuiltinRole, ConversationScope, CustomRole, Grant, Permission, PermissionSet, Policy, RoleId,
};
use switchboard_core::ids::{ConversationId, GroupId, UserId};
use switchboard_core::input::Name;
use switchboard_core::model::{Inbox, ManualAssignment};
use switchboard_store::Store;

use crate::fixtures::{Tenant, agent, inbound, inbox, tenant};

/// Cases per backend when `SWITCHBOARD_ACCESS_CASES` is unset.
const DEFAULT_CASES: u32 = 128;
/// More than a case ever creates, so the listing is never cut short.
const LISTING_LIMIT: u32 = 1000;

/// The permissions a custom role draws from: those that decide visibility,
/// and two that must not.
const CUSTOM_PERMISSIONS: [Permission; 4] = [
    Permission::ConversationsView,
    Permission::ConversationsViewAssigned,
    Permission::MessagesReadBodies,
    Permission::ConversationsAnswer,
];

/// A role of a grant: a built-in one, or the custom role at an index
/// (modulo how many the case has; a built-in when it has none).
#[derive(Debug, Clone)]
enum RoleChoice {
    Builtin(BuiltinRole),
    Custom(usize),
}

/// One random account, by indexes into its own lists (a group's parent,
/// a grant's group, an inbox's group: modulo the groups made so far).
#[derive(Debug, Clone)]
struct Case {
    /// Each group's parent among the groups before it (index 0 the root).
    parents: Vec<usize>,
    /// Each custom role's permissions, a bit per `CUSTOM_PERMISSIONS`.
    custom_roles: Vec<u8>,
    /// Each user's grants: role and group.
    users: Vec<Vec<(RoleChoice, usize)>>,
    /// Each inbox's group.
    inboxes: Vec<usize>,
    /// Each conversation's inbox and assignee (a user's index).
    conversations: Vec<(usize, Option<usize>)>,
}

fn role_choice() -> impl Strategy<Value = RoleChoice> {
    prop_oneof![
        1 => proptest::sample::select(BuiltinRole::ALL.to_vec()).prop_map(RoleChoice::Builtin),
        2 => any::<usize>().prop_map(RoleChoice::Custom),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let grants = proptest::collection::vec((role_choice(), any::<usize>()), 0..4);
    (
        proptest::collection::vec(any::<usize>(), 0..10),
        proptest::collection::vec(0u8..16, 0..4),
        proptest::collection::vec(grants, 1..7),
        proptest::collection::vec(any::<usize>(), 1..5),
        proptest::collection::vec((any::<usize>(), any::<Option<usize>>()), 0..24),
    )
        .prop_map(
            |(parents, custom_roles, users, inboxes, conversations)| Case {
                parents,
                custom_roles,
                users,
                inboxes,
                conversations,
            },
        )
}

/// The case's account as written: its users, and its
/// conversations with their group and assignee.
struct Written {
    tenant: Tenant,
    users: Vec<UserId>,
    conversations: Vec<(ConversationId, GroupId, Option<UserId>)>,
}

static ACCOUNTS: AtomicU64 = AtomicU64::new(0);

fn name(text: &str) -> Name {
    Name::parse("name", text).expect("name")
}

fn permissions(bits: u8) -> PermissionSet {
    let chosen: Vec<Permission> = CUSTOM_PERMISSIONS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, p)| *p)
        .collect();
    PermissionSet::of(&chosen)
}

async fn write(store: &Arc<dyn Store>, case: &Case) -> Written {
    let n = ACCOUNTS.fetch_add(1, Ordering::Relaxed);
    let t = tenant(store, &format!("case{n}")).await;
    let account = t.account.id;
    let root = store
        .account_access(account)
        .await
        .expect("access")
        .groups
        .root();
    let mut groups = vec![root];
    for (i, parent) in case.parents.iter().enumerate() {
        let parent = groups[parent % groups.len()];
        let made = store
            .create_group(account, &name(&format!("g{i}")), parent)
            .await;
        groups.push(made.expect("create group").id);
    }
    let mut custom = Vec::new();
    for (i, bits) in case.custom_roles.iter().enumerate() {
        let role = CustomRole {
            name: name(&format!("r{i}")),
            permissions: permissions(*bits),
        };
        let id = store
            .create_custom_role(account, &role)
            .await
            .expect("role");
        custom.push(RoleId::Custom(id));
    }
    let mut users = Vec::new();
    for (i, wanted) in case.users.iter().enumerate() {
        let user = agent(store, &t, &format!("u{i}")).await.id;
        let grants: Vec<Grant> = wanted
            .iter()
            .map(|(role, group)| {
                let role = match role {
                    RoleChoice::Custom(k) if !custom.is_empty() => custom[k % custom.len()],
                    RoleChoice::Custom(_) => RoleId::Builtin(BuiltinRole::Sales),
                    // the owner role is never granted: an account has one
                    // owner, made with it (migration 0009)
                    RoleChoice::Builtin(BuiltinRole::Owner) => {
                        RoleId::Builtin(BuiltinRole::Administrator)
                    }
                    RoleChoice::Builtin(b) => RoleId::Builtin(*b),
                };
                Grant::new(role, groups[group % groups.len()])
            })
            .collect();
        store.set_grants(user, &grants).await.expect("grants");
        users.push(user);
    }
    let mut inboxes: Vec<Inbox> = Vec::new();
    for (i, group) in case.inboxes.iter().enumerate() {
        let made = inbox(store, &t.account, &format!("case{n}-in{i}")).await;
        let group = groups[group % groups.len()];
        inboxes.push(store.set_inbox_group(made.id, group).await.expect("move"));
    }
    let access = store.account_access(account).await.expect("access");
    let mut conversations = Vec::new();
    for (i, (at, wanted)) in case.conversations.iter().enumerate() {
        let at = &inboxes[at % inboxes.len()];
        let id = inbound(store, at, &format!("+1555{i:04}"), "hi")
            .await
            .conversation
            .id;
        let mut assignee = None;
        if let Some(wanted) = wanted.map(|u| users[u % users.len()]) {
            // assigned exactly when the policy says they may answer there
            let grants = store.grants_of(wanted).await.expect("grants");
            let held = Policy::new(wanted, account, &grants, &access).permissions_at(at.group_id);
            let may_answer = held.contains(Permission::ConversationsAnswer)
                && (held.contains(Permission::ConversationsView)
                    || held.contains(Permission::ConversationsViewAssigned));
            let assignment = ManualAssignment {
                conversation: id,
                assignee: wanted,
                actor: t.owner.id,
                force: true,
            };
            match store.assign(assignment).await {
                Ok(_) if may_answer => assignee = Some(wanted),
                Err(StoreError::Conflict(_)) if !may_answer => {}
                other => panic!(
                    "assign to {wanted} with grants {grants:?} at {}: {other:?}",
                    at.group_id
                ),
            }
        }
        conversations.push((id, at.group_id, assignee));
    }
    Written {
        tenant: t,
        users,
        conversations,
    }
}

/// For the owner and every user: listed equals may view.
async fn check(store: &Arc<dyn Store>, written: &Written) -> Result<(), TestCaseError> {
    let account = written.tenant.account.id;
    let access = store.account_access(account).await.expect("access");
    let everyone = written.users.iter().chain([&written.tenant.owner.id]);
    for &user in everyone {
        let grants = store.grants_of(user).await.expect("grants");
        let policy = Policy::new(user, account, &grants, &access);
        let listed: BTreeSet<ConversationId> = store
            .admitted_conversations(&policy.conversation_filter(), LISTING_LIMIT)
            .await
            .expect("list")
            .into_iter()
            .map(|c| c.id)
            .collect();
        let viewable: BTreeSet<ConversationId> = written
            .conversations
            .iter()
            .filter(|(_, group, assignee)| {
                policy.may_view(&ConversationScope {
                    account,
                    group: *group,
                    assignee: *assignee,
                })
            })
            .map(|(id, ..)| *id)
            .collect();
        prop_assert_eq!(&listed, &viewable, "user {} with grants {:?}", user, grants);
    }
    Ok(())
}

fn cases() -> u32 {
    match std::env::var("SWITCHBOARD_ACCESS_CASES") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("SWITCHBOARD_ACCESS_CASES={text:?}: not a count")),
        Err(_) => DEFAULT_CASES,
    }
}

/// Runs the cases on the test's runtime (the property runner is
/// synchronous; each case blocks this worker on the store's futures).
async fn listed_for_a_user_is_what_they_may_view(store: Arc<dyn Store>) {
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config::with_cases(cases()));
    let outcome = tokio::task::block_in_place(|| {
        let run = runner.run(&case(), |case| {
            handle.block_on(async {
                let written = write(&store, &case).await;
                check(&store, &written).await
            })
        });
        run.map_err(|failure| failure.to_string())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

/// The listing is bounded by its limit, and an empty filter lists nothing.
async fn the_admitted_listing_is_bounded(store: Arc<dyn Store>) {
    let t = tenant(&store, "acme").await;
    for handle in ["+15550001", "+15550002", "+15550003"] {
        inbound(&store, &t.inbox, handle, "hi").await;
    }
    let access = store.account_access(t.account.id).await.expect("access");
    let grants = store.grants_of(t.owner.id).await.expect("grants");
    let filter = Policy::new(t.owner.id, t.account.id, &grants, &access).conversation_filter();
    let listed = store
        .admitted_conversations(&filter, 2)
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    let nothing = Policy::new(t.owner.id, t.account.id, &[], &access).conversation_filter();
    let listed = store
        .admitted_conversations(&nothing, 10)
        .await
        .expect("list");
    assert!(listed.is_empty());
}

contract_tests!(
    listed_for_a_user_is_what_they_may_view,
    the_admitted_listing_is_bounded,
);
