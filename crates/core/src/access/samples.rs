//! Accounts for the tests: one small fixed account, and random ones (trees,
//! custom roles, grants) for the property tests.

use proptest::prelude::*;
use proptest::sample::Index;

use super::catalogue::{Permission, PermissionSet};
use super::grants::{AccountAccess, Grant};
use super::groups::GroupTree;
use super::roles::{BuiltinRole, CustomRole, RoleBook, RoleId};
use crate::ids::{CustomRoleId, GroupId};
use crate::input::Name;

/// A fixed account:
///
/// ```text
/// root ─ north ─ oslo
///      └ south
/// ```
#[derive(Debug)]
pub struct Sample {
    pub access: AccountAccess,
    pub root: GroupId,
    pub north: GroupId,
    pub oslo: GroupId,
    pub south: GroupId,
}

pub fn sample(roles: RoleBook) -> Sample {
    let [root, north, oslo, south] = [(); 4].map(|_| GroupId::new());
    let mut groups = GroupTree::new(root);
    groups.add(north, root).unwrap();
    groups.add(oslo, north).unwrap();
    groups.add(south, root).unwrap();
    Sample {
        access: AccountAccess::new(groups, roles),
        root,
        north,
        oslo,
        south,
    }
}

/// A grant of a built-in role.
pub fn builtin(role: BuiltinRole, group: GroupId) -> Grant {
    Grant::new(RoleId::Builtin(role), group)
}

/// A random tree: group `i` hangs under one of groups `0..i`; the ids in
/// that order (the root first).
pub fn arb_tree(max: usize) -> impl Strategy<Value = (GroupTree, Vec<GroupId>)> {
    proptest::collection::vec(any::<Index>(), 0..max).prop_map(|picks| {
        let ids: Vec<GroupId> = (0..=picks.len()).map(|_| GroupId::new()).collect();
        let mut tree = GroupTree::new(ids[0]);
        for (i, pick) in picks.iter().enumerate() {
            tree.add(ids[i + 1], ids[pick.index(i + 1)]).unwrap();
        }
        (tree, ids)
    })
}

/// Any set of permissions.
pub fn arb_permissions() -> impl Strategy<Value = PermissionSet> {
    proptest::collection::vec(proptest::sample::select(Permission::ALL), 0..8)
        .prop_map(PermissionSet::from_iter)
}

/// A random tree with up to three custom roles of random permissions.
pub fn arb_access(max_groups: usize) -> impl Strategy<Value = (AccountAccess, Vec<GroupId>)> {
    let customs = proptest::collection::vec(arb_permissions(), 0..3);
    (arb_tree(max_groups), customs).prop_map(|((groups, ids), customs)| {
        let roles = RoleBook::new(customs.into_iter().enumerate().map(|(i, permissions)| {
            let name = Name::parse("role.name", &format!("custom {i}")).unwrap();
            (CustomRoleId::new(), CustomRole { name, permissions })
        }));
        (AccountAccess::new(groups, roles), ids)
    })
}

/// Every role the account has: the built-ins, then its custom roles.
pub fn all_roles(access: &AccountAccess) -> Vec<RoleId> {
    let builtins = BuiltinRole::ALL.into_iter().map(RoleId::Builtin);
    let customs = access
        .roles
        .custom_roles()
        .map(|(id, _)| RoleId::Custom(id));
    builtins.chain(customs).collect()
}

/// One grant per pick: at the picked group, of the role picked at the same
/// position of `roles`.
pub fn arb_grants(
    access: &AccountAccess,
    ids: &[GroupId],
    groups: &[Index],
    roles: &[Index],
) -> Vec<Grant> {
    let all = all_roles(access);
    groups
        .iter()
        .zip(roles)
        .map(|(g, r)| Grant::new(*r.get(&all), *g.get(ids)))
        .collect()
}
