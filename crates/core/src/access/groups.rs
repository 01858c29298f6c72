//! An account's group tree (sub-accounts, locations): one root, created with
//! the account, and every other group below exactly one parent.
//!
//! A grant at a group reaches that group and everything below it, so the
//! questions asked here are "is G within A?" and "what lies below G?". The
//! tree can only be built valid ([`GroupTree::from_rows`]) and only changed
//! in ways that keep it a tree.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::GroupId;

/// Why a set of groups is not a tree, or a change would make it not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("the account has no root group")]
    NoRoot,
    #[error("the account has two root groups, {0} and {1}")]
    SeveralRoots(GroupId, GroupId),
    #[error("group {0} is listed twice")]
    Duplicate(GroupId),
    #[error("group {group} has parent {parent}, which is not a group of the account")]
    UnknownParent { group: GroupId, parent: GroupId },
    #[error("group {0} is in a cycle of parents and cannot be reached from the root")]
    Cycle(GroupId),
    #[error("no group {0} in this account")]
    UnknownGroup(GroupId),
    #[error("the root group has no parent and cannot be moved or removed")]
    Root,
    #[error("group {group} cannot move under {parent}, which lies within it")]
    UnderItself { group: GroupId, parent: GroupId },
    #[error("group {0} still has subgroups")]
    HasSubgroups(GroupId),
}

/// The groups of one account, by their parent links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTree {
    root: GroupId,
    /// Every group but the root, to its parent.
    parents: BTreeMap<GroupId, GroupId>,
    /// Every group, to its children (empty for a leaf).
    children: BTreeMap<GroupId, BTreeSet<GroupId>>,
}

impl GroupTree {
    /// A new account's tree: its root alone.
    pub fn new(root: GroupId) -> Self {
        Self {
            root,
            parents: BTreeMap::new(),
            children: BTreeMap::from([(root, BTreeSet::new())]),
        }
    }

    /// Builds the tree from stored rows `(group, parent)`, the root's parent
    /// being `None`. Refuses anything but exactly one root and every other
    /// group reachable from it through known parents (so no cycle).
    pub fn from_rows(
        rows: impl IntoIterator<Item = (GroupId, Option<GroupId>)>,
    ) -> Result<Self, GroupError> {
        let mut root = None;
        let mut parents = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (group, parent) in rows {
            if !seen.insert(group) {
                return Err(GroupError::Duplicate(group));
            }
            match (parent, root) {
                (Some(parent), _) => {
                    parents.insert(group, parent);
                }
                (None, None) => root = Some(group),
                (None, Some(first)) => return Err(GroupError::SeveralRoots(first, group)),
            }
        }
        let root = root.ok_or(GroupError::NoRoot)?;
        let mut children: BTreeMap<_, BTreeSet<_>> =
            seen.iter().map(|g| (*g, BTreeSet::new())).collect();
        for (group, parent) in &parents {
            let siblings = children.get_mut(parent).ok_or(GroupError::UnknownParent {
                group: *group,
                parent: *parent,
            })?;
            siblings.insert(*group);
        }
        let tree = Self {
            root,
            parents,
            children,
        };
        let reached: BTreeSet<GroupId> = tree.subtree(root).into_iter().collect();
        match seen.difference(&reached).next() {
            Some(stranded) => Err(GroupError::Cycle(*stranded)),
            None => Ok(tree),
        }
    }

    pub fn root(&self) -> GroupId {
        self.root
    }

    pub fn contains(&self, group: GroupId) -> bool {
        self.children.contains_key(&group)
    }

    /// The group's parent; `None` for the root and for an unknown group.
    pub fn parent(&self, group: GroupId) -> Option<GroupId> {
        self.parents.get(&group).copied()
    }

    /// Every group with its parent (the root's is `None`), as the store
    /// keeps them.
    pub fn rows(&self) -> impl Iterator<Item = (GroupId, Option<GroupId>)> + '_ {
        self.children.keys().map(|g| (*g, self.parent(*g)))
    }

    /// The group itself, its parent, and so on up to the root; empty for a
    /// group not in the tree.
    pub fn lineage(&self, group: GroupId) -> impl Iterator<Item = GroupId> + '_ {
        let start = self.contains(group).then_some(group);
        std::iter::successors(start, |g| self.parent(*g))
    }

    /// Whether `group` is `ancestor` or lies below it. False when either is
    /// not in the tree.
    pub fn is_within(&self, group: GroupId, ancestor: GroupId) -> bool {
        self.lineage(group).any(|g| g == ancestor)
    }

    /// The group and everything below it, parents before children; empty
    /// for a group not in the tree.
    pub fn subtree(&self, group: GroupId) -> Vec<GroupId> {
        let mut found = Vec::new();
        let mut next: Vec<GroupId> = self.contains(group).then_some(group).into_iter().collect();
        while let Some(g) = next.pop() {
            found.push(g);
            next.extend(self.children[&g].iter().rev());
        }
        found
    }

    /// Adds a new group below `parent`.
    pub fn add(&mut self, group: GroupId, parent: GroupId) -> Result<(), GroupError> {
        if self.contains(group) {
            return Err(GroupError::Duplicate(group));
        }
        self.known(parent)?;
        self.link(group, parent);
        self.children.insert(group, BTreeSet::new());
        Ok(())
    }

    /// Whether `group` may move under `parent`: not the root, and not under
    /// itself or anything below it (that would cut its subtree off in a
    /// cycle).
    pub fn check_move(&self, group: GroupId, parent: GroupId) -> Result<(), GroupError> {
        self.known(group)?;
        self.known(parent)?;
        if group == self.root {
            return Err(GroupError::Root);
        }
        if self.is_within(parent, group) {
            return Err(GroupError::UnderItself { group, parent });
        }
        Ok(())
    }

    /// Moves `group` (and its subtree) under `parent`, if [`check_move`](Self::check_move) allows.
    pub fn move_group(&mut self, group: GroupId, parent: GroupId) -> Result<(), GroupError> {
        self.check_move(group, parent)?;
        self.unlink(group);
        self.link(group, parent);
        Ok(())
    }

    /// Removes a group without subgroups (whether it still holds inboxes or
    /// grants is the store's to say).
    pub fn remove(&mut self, group: GroupId) -> Result<(), GroupError> {
        self.known(group)?;
        if group == self.root {
            return Err(GroupError::Root);
        }
        if !self.children[&group].is_empty() {
            return Err(GroupError::HasSubgroups(group));
        }
        self.unlink(group);
        self.children.remove(&group);
        Ok(())
    }

    fn known(&self, group: GroupId) -> Result<(), GroupError> {
        match self.contains(group) {
            true => Ok(()),
            false => Err(GroupError::UnknownGroup(group)),
        }
    }

    fn link(&mut self, group: GroupId, parent: GroupId) {
        self.parents.insert(group, parent);
        self.children.entry(parent).or_default().insert(group);
    }

    fn unlink(&mut self, group: GroupId) {
        if let Some(old) = self.parents.remove(&group) {
            self.children.entry(old).or_default().remove(&group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::samples::arb_tree;
    use proptest::prelude::*;

    /// root ─ a ─ a1
    ///      └ b
    fn sample() -> (GroupTree, [GroupId; 4]) {
        let [root, a, a1, b] = [(); 4].map(|_| GroupId::new());
        let tree = GroupTree::from_rows([
            (a1, Some(a)),
            (root, None),
            (b, Some(root)),
            (a, Some(root)),
        ])
        .unwrap();
        (tree, [root, a, a1, b])
    }

    #[test]
    fn lineage_goes_up_to_the_root_and_within_follows_it() {
        let (tree, [root, a, a1, b]) = sample();
        assert_eq!(tree.lineage(a1).collect::<Vec<_>>(), [a1, a, root]);
        assert!(tree.is_within(a1, a1) && tree.is_within(a1, a) && tree.is_within(a1, root));
        assert!(!tree.is_within(a1, b) && !tree.is_within(a, a1));
        assert!(!tree.is_within(GroupId::new(), root));
        assert_eq!(tree.lineage(GroupId::new()).count(), 0);
    }

    #[test]
    fn subtree_lists_a_group_and_what_lies_below() {
        let (tree, [root, a, a1, b]) = sample();
        let mut all = tree.subtree(root);
        assert_eq!(all[0], root);
        all.sort();
        let mut expected = vec![root, a, a1, b];
        expected.sort();
        assert_eq!(all, expected);
        assert_eq!(tree.subtree(a), [a, a1]);
        assert_eq!(tree.subtree(b), [b]);
    }

    #[test]
    fn rows_build_only_a_tree_with_one_root() {
        let [r, s, x, y] = [(); 4].map(|_| GroupId::new());
        assert_eq!(GroupTree::from_rows([]), Err(GroupError::NoRoot));
        assert_eq!(
            GroupTree::from_rows([(r, None), (s, None)]),
            Err(GroupError::SeveralRoots(r, s))
        );
        assert_eq!(
            GroupTree::from_rows([(r, None), (r, None)]),
            Err(GroupError::Duplicate(r))
        );
        assert_eq!(
            GroupTree::from_rows([(r, None), (x, Some(s))]),
            Err(GroupError::UnknownParent {
                group: x,
                parent: s
            })
        );
        let cycle = GroupTree::from_rows([(r, None), (x, Some(y)), (y, Some(x))]);
        assert!(matches!(cycle, Err(GroupError::Cycle(g)) if g == x || g == y));
        assert_eq!(
            GroupTree::from_rows([(r, None), (x, Some(x))]),
            Err(GroupError::Cycle(x))
        );
    }

    #[test]
    fn a_group_cannot_move_under_its_own_subtree_nor_the_root_move() {
        let (mut tree, [root, a, a1, b]) = sample();
        assert_eq!(
            tree.move_group(a, a1),
            Err(GroupError::UnderItself {
                group: a,
                parent: a1
            })
        );
        assert_eq!(
            tree.check_move(a, a),
            Err(GroupError::UnderItself {
                group: a,
                parent: a
            })
        );
        assert_eq!(tree.move_group(root, b), Err(GroupError::Root));
        assert_eq!(tree.move_group(a, b), Ok(()));
        assert_eq!(tree.lineage(a1).collect::<Vec<_>>(), [a1, a, b, root]);
        assert_eq!(tree.subtree(b), [b, a, a1]);
    }

    #[test]
    fn only_an_empty_non_root_group_is_removed_and_added_groups_need_a_known_parent() {
        let (mut tree, [root, a, a1, _]) = sample();
        assert_eq!(tree.remove(a), Err(GroupError::HasSubgroups(a)));
        assert_eq!(tree.remove(root), Err(GroupError::Root));
        assert_eq!(tree.remove(a1), Ok(()));
        assert!(!tree.contains(a1) && tree.subtree(a) == [a]);
        let stray = GroupId::new();
        assert_eq!(
            tree.add(GroupId::new(), stray),
            Err(GroupError::UnknownGroup(stray))
        );
        assert_eq!(tree.add(a, root), Err(GroupError::Duplicate(a)));
        let c = GroupId::new();
        assert_eq!(tree.add(c, a), Ok(()));
        assert_eq!(tree.parent(c), Some(a));
    }

    proptest! {
        #[test]
        fn moves_keep_a_tree(
            (mut tree, ids) in arb_tree(12),
            moves in proptest::collection::vec(
                (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
                0..20,
            ),
        ) {
            for (g, p) in moves {
                let (group, parent) = (*g.get(&ids), *p.get(&ids));
                let refused = tree.is_within(parent, group);
                let moved = tree.move_group(group, parent);
                prop_assert_eq!(moved.is_err(), refused);
                // The rows still make a valid tree: one root, no cycle.
                let rebuilt = GroupTree::from_rows(tree.rows());
                prop_assert_eq!(rebuilt.as_ref(), Ok(&tree));
                prop_assert_eq!(tree.subtree(tree.root()).len(), ids.len());
            }
        }

        #[test]
        fn within_is_exactly_membership_of_the_subtree((tree, ids) in arb_tree(12)) {
            for &a in &ids {
                let below: BTreeSet<GroupId> = tree.subtree(a).into_iter().collect();
                for &g in &ids {
                    prop_assert_eq!(tree.is_within(g, a), below.contains(&g));
                }
            }
        }
    }
}
