//! Grants and what they add up to: the permissions a user holds at a group.
//!
//! A grant is (user, role, group); a user holds several. A grant at G
//! reaches G and everything below it, so a user's permissions at G are the
//! union of the roles of their grants at G or any ancestor of G. Account-wide
//! things ask at the root, which only grants at the root reach.
//!
//! Ownership is the built-in `owner` role granted at the root: it holds every
//! permission everywhere, and the rules of `escalation` keep it on exactly
//! one user (never granted, never taken away, only transferred).

use super::catalogue::{Permission, PermissionSet};
use super::groups::GroupTree;
use super::roles::{RoleBook, RoleId};
use crate::ids::GroupId;

/// One role held at one group (the user is whoever holds the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub role: RoleId,
    pub group: GroupId,
}

impl Grant {
    pub fn new(role: RoleId, group: GroupId) -> Self {
        Self { role, group }
    }
}

/// What decides access in one account: its group tree and its roles. The
/// grants of the user asking are passed to each question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAccess {
    pub groups: GroupTree,
    pub roles: RoleBook,
}

impl AccountAccess {
    pub fn new(groups: GroupTree, roles: RoleBook) -> Self {
        Self { groups, roles }
    }

    /// The permissions `grants` give at `group`: the union of the roles of
    /// those at `group` or above it. Nothing for a group outside the tree; a
    /// grant of a role the account does not have gives nothing.
    pub fn permissions_at(&self, grants: &[Grant], group: GroupId) -> PermissionSet {
        grants
            .iter()
            .filter(|g| self.groups.is_within(group, g.group))
            .filter_map(|g| self.roles.permissions(g.role))
            .fold(PermissionSet::EMPTY, PermissionSet::union)
    }

    /// Whether `grants` give `permission` at `group`.
    pub fn holds(&self, grants: &[Grant], permission: Permission, group: GroupId) -> bool {
        self.permissions_at(grants, group).contains(permission)
    }

    /// The permissions for account-wide things (billing, settings, roles,
    /// developers, the account's users list): those granted at the root.
    pub fn account_wide(&self, grants: &[Grant]) -> PermissionSet {
        self.permissions_at(grants, self.groups.root())
    }

    /// Whether these are the owner's grants: the `owner` role at the root.
    pub fn is_owner(&self, grants: &[Grant]) -> bool {
        grants.contains(&Grant::new(RoleId::OWNER, self.groups.root()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::roles::{BuiltinRole, CustomRole};
    use crate::access::samples::{arb_access, arb_grants, builtin, sample};
    use crate::ids::CustomRoleId;
    use crate::input::Name;
    use proptest::prelude::*;

    #[test]
    fn a_grant_reaches_its_group_and_below_only() {
        let s = sample(RoleBook::default());
        let grants = [builtin(BuiltinRole::Operator, s.north)];
        let operator = BuiltinRole::Operator.permissions();
        assert_eq!(s.access.permissions_at(&grants, s.north), operator);
        assert_eq!(s.access.permissions_at(&grants, s.oslo), operator);
        assert!(s.access.permissions_at(&grants, s.root).is_empty());
        assert!(s.access.permissions_at(&grants, s.south).is_empty());
        assert!(s.access.account_wide(&grants).is_empty());
        assert!(s.access.permissions_at(&grants, GroupId::new()).is_empty());
    }

    #[test]
    fn several_grants_add_up_where_they_overlap() {
        let s = sample(RoleBook::default());
        let grants = [
            builtin(BuiltinRole::Viewer, s.root),
            builtin(BuiltinRole::InboxManager, s.oslo),
        ];
        assert_eq!(
            s.access.permissions_at(&grants, s.south),
            BuiltinRole::Viewer.permissions()
        );
        let at_oslo = s.access.permissions_at(&grants, s.oslo);
        assert!(at_oslo.contains(Permission::ConversationsAssign));
        assert!(
            !s.access
                .holds(&grants, Permission::ConversationsAssign, s.north)
        );
        assert!(
            s.access
                .holds(&grants, Permission::ConversationsView, s.north)
        );
    }

    #[test]
    fn account_wide_permissions_come_from_the_root_only() {
        let s = sample(RoleBook::default());
        let north_admin = [builtin(BuiltinRole::Administrator, s.north)];
        assert!(
            s.access
                .holds(&north_admin, Permission::RolesManage, s.oslo)
        );
        assert!(
            !s.access
                .account_wide(&north_admin)
                .contains(Permission::RolesManage)
        );
        let admin = [builtin(BuiltinRole::Administrator, s.root)];
        assert!(
            s.access
                .account_wide(&admin)
                .contains(Permission::RolesManage)
        );
    }

    #[test]
    fn the_owner_holds_everything_everywhere() {
        let s = sample(RoleBook::default());
        let owner = [Grant::new(RoleId::OWNER, s.root)];
        assert!(s.access.is_owner(&owner));
        for group in [s.root, s.north, s.oslo, s.south] {
            assert_eq!(s.access.permissions_at(&owner, group), PermissionSet::all());
        }
        assert!(!s.access.is_owner(&[Grant::new(RoleId::OWNER, s.north)]));
        assert!(
            !s.access
                .is_owner(&[builtin(BuiltinRole::Administrator, s.root)])
        );
    }

    #[test]
    fn a_custom_role_gives_its_permissions_while_the_account_has_it() {
        let mut s = sample(RoleBook::default());
        let id = CustomRoleId::new();
        let night = PermissionSet::of(&[Permission::ConversationsView, Permission::StatisticsView]);
        s.access.roles.put(
            id,
            CustomRole {
                name: Name::parse("role.name", "Night shift").unwrap(),
                permissions: night,
            },
        );
        let grants = [Grant::new(RoleId::Custom(id), s.south)];
        assert_eq!(s.access.permissions_at(&grants, s.south), night);
        s.access.roles.remove(id);
        assert!(s.access.permissions_at(&grants, s.south).is_empty());
    }

    proptest! {
        #[test]
        fn permissions_only_grow_down_the_tree(
            (access, ids) in arb_access(10),
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            roles in proptest::collection::vec(any::<prop::sample::Index>(), 6),
        ) {
            let grants = arb_grants(&access, &ids, &picks, &roles);
            for &g in &ids {
                if let Some(parent) = access.groups.parent(g) {
                    let here = access.permissions_at(&grants, g);
                    let above = access.permissions_at(&grants, parent);
                    prop_assert!(above.is_subset(here));
                }
            }
        }

        #[test]
        fn a_grant_gives_nothing_outside_its_subtree(
            (access, ids) in arb_access(10),
            group in any::<prop::sample::Index>(),
            role in any::<prop::sample::Index>(),
        ) {
            let grants = arb_grants(&access, &ids, &[group], &[role]);
            for &g in &ids {
                let given = access.permissions_at(&grants, g);
                let reached = access.groups.is_within(g, grants[0].group);
                prop_assert_eq!(!given.is_empty() && !reached, false);
                if reached {
                    prop_assert_eq!(Some(given), access.roles.permissions(grants[0].role));
                }
            }
        }
    }
}
