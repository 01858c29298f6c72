//! Leases on the active role, as a node sees them: a role granted through
//! this node is kept alive by renewing its lease in the store, every third
//! of its length. When a renewal does not cover a role (the store was away
//! past the lease, the process was paused), the role may be gone: the store
//! says who holds it now, and the room must learn that, never anything older.
//!
//! Pure: the caller renews, reads the store and feeds the answers in.

use std::collections::HashSet;
use std::hash::Hash;

use crate::model::{LockState, UserRef};

/// The roles granted here (`key`, epoch) that a renewal did not extend.
pub fn not_renewed<K: Copy + Eq + Hash>(
    granted_here: impl IntoIterator<Item = (K, u64)>,
    renewed: &HashSet<(K, u64)>,
) -> Vec<(K, u64)> {
    granted_here
        .into_iter()
        .filter(|role| !renewed.contains(role))
        .collect()
}

/// What a room learns when the role it granted at `granted` was not renewed
/// and the store now says `lock`: the holder (if any) and the epoch to feed
/// to `Room::holder_seen`.
///
/// Only a newer grant names a holder: at the epoch this node granted (or an
/// older one) the lease ran out, so nobody holds the role, whatever the row
/// still names. The epoch never goes back.
pub fn after_lost_lease(granted: u64, lock: &LockState) -> (Option<UserRef>, u64) {
    let holder = lock.holder.clone().filter(|_| lock.epoch > granted);
    (holder, lock.epoch.max(granted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{NodeId, UserId};

    fn user(name: &str) -> UserRef {
        UserRef {
            id: UserId::new(),
            name: name.into(),
        }
    }

    fn lock(holder: Option<UserRef>, epoch: u64) -> LockState {
        LockState {
            holder,
            epoch,
            node: Some(NodeId::new()),
        }
    }

    #[test]
    fn only_roles_the_renewal_missed_are_lost() {
        let renewed: HashSet<(u32, u64)> = [(1, 4), (2, 9)].into();
        assert_eq!(
            not_renewed([(1, 4), (2, 8), (3, 1)], &renewed),
            vec![(2, 8), (3, 1)],
            "an older epoch of a renewed conversation is a lost role too"
        );
        assert_eq!(not_renewed::<u32>([], &renewed), vec![]);
    }

    #[test]
    fn a_lapsed_lease_at_our_epoch_frees_the_role_even_if_the_row_names_us() {
        let ann = user("Ann");
        assert_eq!(after_lost_lease(7, &lock(Some(ann), 7)), (None, 7));
        assert_eq!(after_lost_lease(7, &lock(None, 7)), (None, 7));
    }

    #[test]
    fn a_newer_grant_elsewhere_names_its_holder() {
        let bob = user("Bob");
        assert_eq!(
            after_lost_lease(7, &lock(Some(bob.clone()), 8)),
            (Some(bob), 8)
        );
        assert_eq!(after_lost_lease(7, &lock(None, 9)), (None, 9));
    }

    #[test]
    fn the_epoch_never_goes_back() {
        let bob = user("Bob");
        assert_eq!(after_lost_lease(7, &lock(Some(bob), 3)), (None, 7));
    }
}
