use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::access::escalation::check_manage_user;
use crate::access::roles::{BuiltinRole, CustomRole, RoleBook, RoleId};
use crate::access::samples::{Sample, arb_access, arb_grants, builtin, sample};
use crate::ids::CustomRoleId;
use crate::input::Name;

use Permission::*;

/// The sample account (root ─ north ─ oslo, root ─ south), its id, and two
/// users: `me`, who asks, and a colleague.
struct Account {
    s: Sample,
    id: AccountId,
    me: UserId,
    colleague: UserId,
}

fn account(roles: RoleBook) -> Account {
    Account {
        s: sample(roles),
        id: AccountId::new(),
        me: UserId::new(),
        colleague: UserId::new(),
    }
}

impl Account {
    fn policy<'a>(&'a self, grants: &'a [Grant]) -> Policy<'a> {
        Policy::new(self.me, self.id, grants, &self.s.access)
    }

    fn conversation(&self, group: GroupId, assignee: Option<UserId>) -> ConversationScope {
        ConversationScope {
            account: self.id,
            group,
            assignee,
        }
    }

    /// A conversation in every group, each unassigned, mine and the
    /// colleague's.
    fn every_conversation(&self) -> Vec<ConversationScope> {
        let groups = [self.s.root, self.s.north, self.s.oslo, self.s.south];
        let assignees = [None, Some(self.me), Some(self.colleague)];
        groups
            .into_iter()
            .flat_map(|g| assignees.map(|a| self.conversation(g, a)))
            .collect()
    }
}

#[test]
fn sales_sees_only_the_conversations_assigned_to_them() {
    let a = account(RoleBook::default());
    let grants = [builtin(BuiltinRole::Sales, a.s.root)];
    let policy = a.policy(&grants);
    for c in a.every_conversation() {
        assert_eq!(policy.may_view(&c), c.assignee == Some(a.me), "{c:?}");
    }
    let mine = a.conversation(a.s.oslo, Some(a.me));
    let theirs = a.conversation(a.s.oslo, Some(a.colleague));
    assert_eq!(
        policy.decide(Target::Conversation(mine), ConversationsAnswer),
        Decision::Allowed
    );
    assert_eq!(
        policy.decide(Target::Conversation(theirs), ConversationsAnswer),
        Decision::NotFound
    );
    let filter = policy.conversation_filter();
    assert!(filter.all.is_empty());
    assert_eq!(filter.assigned.len(), 4);
}

#[test]
fn an_operator_at_a_subgroup_sees_and_answers_that_subtree_only() {
    let a = account(RoleBook::default());
    let grants = [builtin(BuiltinRole::Operator, a.s.north)];
    let policy = a.policy(&grants);
    for c in a.every_conversation() {
        let below_north = c.group == a.s.north || c.group == a.s.oslo;
        assert_eq!(policy.may_view(&c), below_north, "{c:?}");
        let answer = policy.decide(Target::Conversation(c), ConversationsAnswer);
        let expected = match below_north {
            true => Decision::Allowed,
            false => Decision::NotFound,
        };
        assert_eq!(answer, expected);
    }
    let filter = policy.conversation_filter();
    assert_eq!(filter.all, BTreeSet::from([a.s.north, a.s.oslo]));
    assert!(filter.assigned.is_empty());
    let south_inbox = Target::Group {
        account: a.id,
        group: a.s.south,
    };
    assert_eq!(
        policy.decide(south_inbox, InboxesManage),
        Decision::NotFound
    );
}

#[test]
fn bodies_are_withheld_without_messages_read_bodies() {
    let id = CustomRoleId::new();
    let watcher = CustomRole {
        name: Name::parse("role.name", "Watcher").unwrap(),
        permissions: PermissionSet::of(&[ConversationsView]),
    };
    let a = account(RoleBook::new([(id, watcher)]));
    let grants = [Grant::new(RoleId::Custom(id), a.s.root)];
    let policy = a.policy(&grants);
    let c = a.conversation(a.s.south, None);
    assert!(policy.may_view(&c));
    assert!(!policy.may_read_bodies(&c));
    assert_eq!(
        policy.decide(Target::Conversation(c), MessagesReadBodies),
        Decision::Forbidden(MessagesReadBodies)
    );
    let operator = [builtin(BuiltinRole::Operator, a.s.root)];
    assert!(a.policy(&operator).may_read_bodies(&c));
}

#[test]
fn a_viewer_sees_everything_and_never_may_answer() {
    let a = account(RoleBook::default());
    let grants = [builtin(BuiltinRole::Viewer, a.s.root)];
    let policy = a.policy(&grants);
    for c in a.every_conversation() {
        assert!(policy.may_view(&c) && policy.may_read_bodies(&c));
        for p in [
            ConversationsAnswer,
            ConversationsTakeOver,
            ConversationsResolve,
        ] {
            assert_eq!(
                policy.decide(Target::Conversation(c), p),
                Decision::Forbidden(p)
            );
        }
    }
}

#[test]
fn the_owner_sees_and_may_do_everything() {
    let a = account(RoleBook::default());
    let grants = [Grant::new(RoleId::OWNER, a.s.root)];
    let policy = a.policy(&grants);
    let other = [builtin(BuiltinRole::Operator, a.s.oslo)];
    for p in Permission::ALL.iter().copied() {
        assert_eq!(policy.decide(Target::Account(a.id), p), Decision::Allowed);
        let user = Target::User {
            account: a.id,
            grants: &other,
        };
        assert_eq!(policy.decide(user, p), Decision::Allowed);
        for c in a.every_conversation() {
            assert_eq!(policy.decide(Target::Conversation(c), p), Decision::Allowed);
        }
    }
    assert_eq!(policy.conversation_filter().all.len(), 4);
}

#[test]
fn another_accounts_resources_are_not_found() {
    let a = account(RoleBook::default());
    let grants = [Grant::new(RoleId::OWNER, a.s.root)];
    let policy = a.policy(&grants);
    let elsewhere = AccountId::new();
    let theirs = ConversationScope {
        account: elsewhere,
        group: a.s.root,
        assignee: Some(a.me),
    };
    let targets = [
        Target::Account(elsewhere),
        Target::Group {
            account: elsewhere,
            group: a.s.root,
        },
        Target::Conversation(theirs),
        Target::User {
            account: elsewhere,
            grants: &[],
        },
    ];
    for target in targets {
        assert_eq!(policy.decide(target, ConversationsView), Decision::NotFound);
    }
    assert!(!policy.may_view(&theirs) && !policy.conversation_filter().admits(&theirs));
}

#[test]
fn a_visible_resource_without_the_permission_is_forbidden() {
    let a = account(RoleBook::default());
    let grants = [builtin(BuiltinRole::Administrator, a.s.north)];
    let policy = a.policy(&grants);
    // Account-wide things ask at the root, where this administrator holds
    // nothing: the account is theirs, so forbidden rather than not found.
    assert_eq!(
        policy.decide(Target::Account(a.id), SettingsManage),
        Decision::Forbidden(SettingsManage)
    );
    let oslo = Target::Group {
        account: a.id,
        group: a.s.oslo,
    };
    assert_eq!(policy.decide(oslo, InboxesManage), Decision::Allowed);
    assert_eq!(
        policy.decide(oslo, BillingManage),
        Decision::Forbidden(BillingManage)
    );
    // A user with one grant in reach is visible; managing them needs
    // users.manage at every one of their groups.
    let spread = [
        builtin(BuiltinRole::Operator, a.s.oslo),
        builtin(BuiltinRole::Viewer, a.s.south),
    ];
    let user = Target::User {
        account: a.id,
        grants: &spread,
    };
    assert_eq!(
        policy.decide(user, UsersManage),
        Decision::Forbidden(UsersManage)
    );
    let south_only = Target::User {
        account: a.id,
        grants: &spread[1..],
    };
    assert_eq!(policy.decide(south_only, UsersManage), Decision::NotFound);
}

#[test]
fn the_filter_never_repeats_an_all_group_in_the_assigned_set() {
    let a = account(RoleBook::default());
    let grants = [
        builtin(BuiltinRole::Sales, a.s.root),
        builtin(BuiltinRole::Viewer, a.s.north),
    ];
    let filter = a.policy(&grants).conversation_filter();
    assert_eq!(filter.all, BTreeSet::from([a.s.north, a.s.oslo]));
    assert_eq!(filter.assigned, BTreeSet::from([a.s.root, a.s.south]));
    let nothing = a.policy(&[]).conversation_filter();
    assert!(nothing.is_empty());
    assert!(!a.every_conversation().iter().any(|c| nothing.admits(c)));
}

/// A random account, one user's random grants in it, and every conversation
/// of it (each group, unassigned, the user's and a colleague's) plus one of
/// another account.
#[derive(Debug)]
struct World {
    access: AccountAccess,
    groups: Vec<GroupId>,
    account: AccountId,
    me: UserId,
    grants: Vec<Grant>,
}

impl World {
    fn policy(&self) -> Policy<'_> {
        Policy::new(self.me, self.account, &self.grants, &self.access)
    }

    fn conversations(&self) -> Vec<ConversationScope> {
        let assignees = [None, Some(self.me), Some(UserId::new())];
        let mut all: Vec<_> = self
            .groups
            .iter()
            .flat_map(|&group| {
                assignees.map(|assignee| ConversationScope {
                    account: self.account,
                    group,
                    assignee,
                })
            })
            .collect();
        all.push(ConversationScope {
            account: AccountId::new(),
            group: self.groups[0],
            assignee: Some(self.me),
        });
        all
    }
}

fn arb_grant_picks(max: usize) -> impl Strategy<Value = (Vec<Index>, Vec<Index>)> {
    (
        proptest::collection::vec(any::<Index>(), 0..max),
        proptest::collection::vec(any::<Index>(), max),
    )
}

fn arb_world() -> impl Strategy<Value = World> {
    (arb_access(12), arb_grant_picks(5)).prop_map(|((access, groups), (at, roles))| {
        let grants = arb_grants(&access, &groups, &at, &roles);
        World {
            access,
            groups,
            account: AccountId::new(),
            me: UserId::new(),
            grants,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// The pure half of the differential test: the listing filter admits
    /// exactly the conversations the decision lets the user view.
    #[test]
    fn the_filter_admits_exactly_what_the_user_may_view(w in arb_world()) {
        let policy = w.policy();
        let filter = policy.conversation_filter();
        prop_assert!(filter.all.is_disjoint(&filter.assigned));
        for c in w.conversations() {
            prop_assert_eq!(filter.admits(&c), policy.may_view(&c), "{:?}", c);
        }
    }

    /// Not found exactly when the user may not view the conversation;
    /// otherwise allowed exactly when they hold the permission at its group
    /// (viewing aside, which visibility itself grants).
    #[test]
    fn a_conversation_is_not_found_forbidden_or_allowed_as_its_group_says(
        w in arb_world(),
        permission in proptest::sample::select(Permission::ALL),
    ) {
        let policy = w.policy();
        for c in w.conversations() {
            let held = policy.permissions_at(c.group).contains(permission)
                || permission == ConversationsView;
            let expected = match (policy.may_view(&c), held) {
                (false, _) => Decision::NotFound,
                (true, true) => Decision::Allowed,
                (true, false) => Decision::Forbidden(permission),
            };
            prop_assert_eq!(policy.decide(Target::Conversation(c), permission), expected);
        }
    }

    /// Managing a user, as decided here, is the reach `escalation` checks.
    #[test]
    fn managing_a_user_agrees_with_the_escalation_rules(
        w in arb_world(),
        (at, roles) in arb_grant_picks(3),
    ) {
        let target = arb_grants(&w.access, &w.groups, &at, &roles);
        let user = Target::User { account: w.account, grants: &target };
        let allowed = w.policy().decide(user, UsersManage) == Decision::Allowed;
        let reached = check_manage_user(&w.access, &w.grants, &target).is_ok();
        prop_assert_eq!(allowed, reached);
    }
}
