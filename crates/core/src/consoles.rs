//! Whether an agent is online on this node: they are while a console of
//! theirs is connected, and stay so for a grace after the last one closes,
//! so that a page reload does not take them offline (and put their
//! conversations back in the queue) for a second.
//!
//! Pure: the caller feeds in opens, closes and the time, and carries out the
//! two decisions, "now online" and "now offline", against the store.

use std::collections::HashMap;

use crate::ids::UserId;
use crate::presence::Millis;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Consoles {
    open: u32,
    /// When the last one closed; offline once the grace has passed.
    closed_at: Option<Millis>,
}

/// The consoles of every agent on this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleTracker {
    agents: HashMap<UserId, Consoles>,
}

impl ConsoleTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A console of `user` opened. True when that makes them online: it is
    /// their first, and they were not within the grace of an earlier one.
    pub fn opened(&mut self, user: UserId) -> bool {
        let consoles = self.agents.entry(user).or_default();
        let was_online = consoles.open > 0 || consoles.closed_at.is_some();
        consoles.open += 1;
        consoles.closed_at = None;
        !was_online
    }

    /// A console of `user` closed at `now`. With none left, the grace starts.
    pub fn closed(&mut self, user: UserId, now: Millis) {
        if let Some(consoles) = self.agents.get_mut(&user) {
            consoles.open = consoles.open.saturating_sub(1);
            if consoles.open == 0 {
                consoles.closed_at = Some(now);
            }
        }
    }

    /// The agents whose grace ran out by `now`: they go offline, and are
    /// forgotten here.
    pub fn expired(&mut self, now: Millis, grace: Millis) -> Vec<UserId> {
        let gone: Vec<UserId> = self
            .agents
            .iter()
            .filter(|(_, c)| {
                c.open == 0
                    && c.closed_at
                        .is_some_and(|at| now.saturating_sub(at) >= grace)
            })
            .map(|(user, _)| *user)
            .collect();
        for user in &gone {
            self.agents.remove(user);
        }
        gone
    }

    /// Every agent online through this node (open consoles or in the grace).
    pub fn online(&self) -> Vec<UserId> {
        self.agents.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Millis = 5_000;

    #[test]
    fn the_first_console_makes_an_agent_online_and_more_do_not() {
        let mut t = ConsoleTracker::new();
        let ann = UserId::new();
        assert!(t.opened(ann));
        assert!(!t.opened(ann), "a second tab");
        t.closed(ann, 1_000);
        assert_eq!(
            t.expired(1_000 + GRACE, GRACE),
            vec![],
            "one tab is still open"
        );
        assert_eq!(t.online(), vec![ann]);
    }

    #[test]
    fn the_last_console_closing_takes_the_agent_offline_after_the_grace() {
        let mut t = ConsoleTracker::new();
        let ann = UserId::new();
        t.opened(ann);
        t.closed(ann, 1_000);
        assert_eq!(t.expired(1_000 + GRACE - 1, GRACE), vec![]);
        assert_eq!(t.online(), vec![ann], "online during the grace");
        assert_eq!(t.expired(1_000 + GRACE, GRACE), vec![ann]);
        assert_eq!(t.online(), vec![], "forgotten once offline");
        assert_eq!(t.expired(1_000_000, GRACE), vec![], "offline only once");
    }

    #[test]
    fn a_reload_within_the_grace_keeps_the_agent_online_without_a_second_online() {
        let mut t = ConsoleTracker::new();
        let ann = UserId::new();
        assert!(t.opened(ann));
        t.closed(ann, 1_000);
        assert!(
            !t.opened(ann),
            "back within the grace: still online, not again"
        );
        assert_eq!(t.expired(1_000 + 10 * GRACE, GRACE), vec![]);
    }

    #[test]
    fn agents_are_tracked_apart_and_unknown_closes_change_nothing() {
        let mut t = ConsoleTracker::new();
        let (ann, bob) = (UserId::new(), UserId::new());
        t.closed(ann, 0);
        assert_eq!(t.online(), vec![]);
        t.opened(ann);
        t.opened(bob);
        t.closed(bob, 0);
        assert_eq!(t.expired(GRACE, GRACE), vec![bob]);
        assert_eq!(t.online(), vec![ann]);
    }
}
