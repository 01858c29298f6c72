//! Users closed for flooding wait before they connect again.
//!
//! A flooder closed with 1008 that reconnects at once gets a fresh flood
//! guard, and each round costs the server a handshake and every frame the
//! guard answers before it closes again: reconnecting is how a flood is
//! sustained. So a user the guard closed is refused at the upgrade (429
//! `rate_limited`, with how long to wait) for a cool-off. It is kept per
//! user, not per address, so the rest of an office behind one address
//! keeps working; and per node, like the connection cap.

use std::collections::HashMap;

use parking_lot::Mutex;
use switchboard_core::UserId;
use switchboard_core::presence::Millis;

/// Past this many entries, the expired ones are swept on the next start.
const SWEEP_ABOVE: usize = 64;

/// Until when each user closed for flooding is refused.
#[derive(Debug, Default)]
pub struct CoolOffs {
    until: Mutex<HashMap<UserId, Millis>>,
}

impl CoolOffs {
    /// `user` may not connect before `until`.
    pub fn start(&self, user: UserId, until: Millis, now: Millis) {
        let mut map = self.until.lock();
        if map.len() >= SWEEP_ABOVE {
            map.retain(|_, end| *end > now);
        }
        let end = map.entry(user).or_insert(until);
        *end = (*end).max(until);
    }

    /// How long `user` must still wait, if they must.
    pub fn remaining(&self, user: UserId, now: Millis) -> Option<u64> {
        let mut map = self.until.lock();
        let end = *map.get(&user)?;
        if end > now {
            return Some(end - now);
        }
        map.remove(&user);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cool_off_ends_and_concerns_only_its_user() {
        let offs = CoolOffs::default();
        let (ann, bob) = (UserId::new(), UserId::new());
        offs.start(ann, 10_000, 0);
        assert_eq!(offs.remaining(ann, 4_000), Some(6_000));
        assert_eq!(offs.remaining(bob, 4_000), None);
        assert_eq!(offs.remaining(ann, 10_000), None);
        assert!(
            offs.until.lock().is_empty(),
            "an ended cool-off is forgotten"
        );
    }

    #[test]
    fn a_shorter_cool_off_does_not_shorten_a_longer_one() {
        let offs = CoolOffs::default();
        let ann = UserId::new();
        offs.start(ann, 10_000, 0);
        offs.start(ann, 5_000, 1_000);
        assert_eq!(offs.remaining(ann, 1_000), Some(9_000));
    }

    #[test]
    fn ended_cool_offs_are_swept_so_the_map_stays_bounded() {
        let offs = CoolOffs::default();
        for _ in 0..SWEEP_ABOVE {
            offs.start(UserId::new(), 100, 0);
        }
        offs.start(UserId::new(), 1_000, 500);
        assert_eq!(offs.until.lock().len(), 1);
    }
}
