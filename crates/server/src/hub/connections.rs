//! Every connection of this node, found by id, by user, by the login
//! session it opened with, and by the account whose inbox list it
//! subscribed to: an agent's own events and a user's closes touch that
//! user's connections only, a card that account's subscribers only; nothing
//! scans every connection but the reaper and shutdown.

use std::sync::Arc;

use switchboard_core::{AccountId, ConnId, UserId};

use super::conn::Conn;
use super::sync::Map;

#[derive(Debug, Default)]
pub(super) struct Connections {
    by_id: Map<ConnId, Arc<Conn>>,
    by_user: Map<UserId, Vec<Arc<Conn>>>,
    /// Whose login session each token hash is, and how many connections
    /// here opened with it (a logout closes them, valid or expired).
    by_token: Map<[u8; 32], (UserId, u32)>,
    /// `subscribe_inbox` subscribers per account.
    subscribers: Map<AccountId, Vec<Arc<Conn>>>,
    /// `subscribe_agents` subscribers per account.
    agent_subscribers: Map<AccountId, Vec<Arc<Conn>>>,
}

impl Connections {
    /// Adds a connection unless its user already has `per_user` here
    /// (checked and added under the user's entry lock, so simultaneous
    /// upgrades cannot slip past the cap together). False when refused.
    pub fn add(&self, conn: Arc<Conn>, per_user: usize) -> bool {
        {
            let mut list = self.by_user.entry(conn.user().id).or_default();
            if list.len() >= per_user {
                return false;
            }
            list.push(conn.clone());
        }
        self.by_token
            .entry(conn.token_hash)
            .or_insert((conn.user().id, 0))
            .1 += 1;
        self.by_id.insert(conn.id, conn);
        true
    }

    /// How many connections `user` has on this node.
    pub fn count_of(&self, user: UserId) -> usize {
        self.by_user.get(&user).map_or(0, |list| list.len())
    }

    /// Forgets a connection (and its subscription); false if it was not here.
    pub fn remove(&self, conn: &Arc<Conn>) -> bool {
        self.unsubscribe(conn);
        self.unsubscribe_agents(conn);
        if self.by_id.remove(&conn.id).is_none() {
            return false;
        }
        let user = conn.user().id;
        if let Some(mut list) = self.by_user.get_mut(&user) {
            list.retain(|c| !Arc::ptr_eq(c, conn));
        }
        self.by_user.remove_if(&user, |_, list| list.is_empty());
        if let Some(mut sessions) = self.by_token.get_mut(&conn.token_hash) {
            sessions.1 = sessions.1.saturating_sub(1);
        }
        self.by_token
            .remove_if(&conn.token_hash, |_, (_, count)| *count == 0);
        true
    }

    /// Whose connections here opened with this login session, if any did.
    pub fn owner_of(&self, token_hash: &[u8; 32]) -> Option<UserId> {
        self.by_token.get(token_hash).map(|e| e.0)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Calls `f` with each connection of `user` on this node.
    pub fn of_user(&self, user: UserId, mut f: impl FnMut(&Arc<Conn>)) {
        if let Some(list) = self.by_user.get(&user) {
            list.iter().for_each(&mut f);
        }
    }

    /// Calls `f` with every connection (the reaper, shutdown).
    pub fn each(&self, mut f: impl FnMut(&Arc<Conn>)) {
        for conn in self.by_id.iter() {
            f(conn.value());
        }
    }

    /// Adds `conn` to its account's inbox subscribers, once. True when it is
    /// the account's first subscriber on this node.
    pub fn subscribe(&self, conn: &Arc<Conn>) -> bool {
        if conn
            .subscribed
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return false;
        }
        let mut list = self.subscribers.entry(conn.actor().account_id).or_default();
        list.push(conn.clone());
        list.len() == 1
    }

    fn unsubscribe(&self, conn: &Arc<Conn>) {
        if !conn
            .subscribed
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        forget(&self.subscribers, conn);
    }

    /// Adds `conn` to its account's agent subscribers, once (anew: it is
    /// shown no agent yet). True when it is the account's first
    /// subscriber of either kind on this node.
    pub fn subscribe_agents(&self, conn: &Arc<Conn>) -> bool {
        if !conn.follow_agents() {
            return false;
        }
        let account = conn.actor().account_id;
        let followed = self.follows(account);
        self.agent_subscribers
            .entry(account)
            .or_default()
            .push(conn.clone());
        !followed
    }

    /// Removes `conn` from the agent subscribers, if it was one.
    pub fn unsubscribe_agents(&self, conn: &Arc<Conn>) {
        if conn.unfollow_agents() {
            forget(&self.agent_subscribers, conn);
        }
    }

    /// Calls `f` with each agent subscriber of `account` on this node.
    pub fn agent_subscribers(&self, account: AccountId, mut f: impl FnMut(&Arc<Conn>)) {
        if let Some(list) = self.agent_subscribers.get(&account) {
            list.iter().for_each(&mut f);
        }
    }

    /// Calls `f` with each inbox subscriber of `account` on this node.
    pub fn subscribers(&self, account: AccountId, mut f: impl FnMut(&Arc<Conn>)) {
        if let Some(list) = self.subscribers.get(&account) {
            list.iter().for_each(&mut f);
        }
    }

    /// Whether someone here follows the account's inbox list.
    pub fn has_subscribers(&self, account: AccountId) -> bool {
        self.subscribers.contains_key(&account)
    }

    /// Whether someone here follows the account's inbox list or agents
    /// (and so this node needs the account's events from the bus).
    pub fn follows(&self, account: AccountId) -> bool {
        self.has_subscribers(account) || self.agent_subscribers.contains_key(&account)
    }

    /// The accounts whose inbox lists or agents someone here follows.
    pub fn followed_accounts(&self) -> Vec<AccountId> {
        let mut accounts: Vec<AccountId> = self
            .subscribers
            .iter()
            .chain(self.agent_subscribers.iter())
            .map(|e| *e.key())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts
    }
}

/// Removes `conn` from its account's list in `lists` (and the list once empty).
fn forget(lists: &Map<AccountId, Vec<Arc<Conn>>>, conn: &Arc<Conn>) {
    let account = conn.actor().account_id;
    if let Some(mut list) = lists.get_mut(&account) {
        list.retain(|c| !Arc::ptr_eq(c, conn));
    }
    lists.remove_if(&account, |_, list| list.is_empty());
}

#[cfg(test)]
mod tests {
    use switchboard_core::Principal;
    use switchboard_core::model::UserRef;

    use super::*;
    use crate::hub::OutboxLimits;

    fn conn(user: UserId, account: AccountId) -> Arc<Conn> {
        let ann = UserRef {
            id: user,
            name: "Ann".into(),
        };
        let principal = Principal::new(ann, account);
        let limits = OutboxLimits {
            frames: 8,
            bytes: 1024,
        };
        Arc::new(Conn::new(principal, token_of(user), limits, 0))
    }

    /// Each user's one login session, in these tests.
    fn token_of(user: UserId) -> [u8; 32] {
        let mut token = [0; 32];
        token[..16].copy_from_slice(user.as_uuid().as_bytes());
        token
    }

    fn ids_of(connections: &Connections, user: UserId) -> Vec<ConnId> {
        let mut ids = Vec::new();
        connections.of_user(user, |c| ids.push(c.id));
        ids
    }

    #[test]
    fn connections_are_found_by_user_and_forgotten_once() {
        let connections = Connections::default();
        let account = AccountId::new();
        let (ann, bob) = (UserId::new(), UserId::new());
        let (a1, a2, b1) = (conn(ann, account), conn(ann, account), conn(bob, account));
        for c in [&a1, &a2, &b1] {
            assert!(connections.add(c.clone(), 10));
        }
        assert_eq!(connections.count_of(ann), 2);
        assert_eq!(ids_of(&connections, ann), vec![a1.id, a2.id]);
        assert_eq!(ids_of(&connections, bob), vec![b1.id]);
        assert!(connections.remove(&a1));
        assert!(!connections.remove(&a1), "only once");
        assert_eq!(ids_of(&connections, ann), vec![a2.id]);
        assert_eq!(
            connections.owner_of(&token_of(ann)),
            Some(ann),
            "a2 still uses it"
        );
        assert!(connections.remove(&a2));
        assert_eq!(ids_of(&connections, ann), vec![]);
        assert_eq!(
            connections.owner_of(&token_of(ann)),
            None,
            "no connection uses it"
        );
        assert_eq!(connections.owner_of(&token_of(bob)), Some(bob));
        assert_eq!(connections.len(), 1);
    }

    #[test]
    fn a_user_at_the_cap_is_refused_until_a_connection_goes() {
        let connections = Connections::default();
        let account = AccountId::new();
        let (ann, bob) = (UserId::new(), UserId::new());
        let (a1, a2, a3) = (conn(ann, account), conn(ann, account), conn(ann, account));
        assert!(connections.add(a1.clone(), 2));
        assert!(connections.add(a2, 2));
        assert!(!connections.add(a3.clone(), 2), "over the cap");
        assert_eq!(connections.len(), 2, "a refused connection is not kept");
        assert!(
            connections.add(conn(bob, account), 2),
            "the cap is per user"
        );
        connections.remove(&a1);
        assert!(connections.add(a3, 2));
    }

    #[test]
    fn subscribers_are_kept_per_account_until_their_connection_goes() {
        let connections = Connections::default();
        let (acme, other) = (AccountId::new(), AccountId::new());
        let (a, b, c) = (
            conn(UserId::new(), acme),
            conn(UserId::new(), acme),
            conn(UserId::new(), other),
        );
        for x in [&a, &b, &c] {
            assert!(connections.add(x.clone(), 10));
        }
        assert!(connections.subscribe(&a), "the account's first");
        assert!(!connections.subscribe(&a), "once per connection");
        assert!(!connections.subscribe(&b));
        let mut seen = Vec::new();
        connections.subscribers(acme, |x| seen.push(x.id));
        assert_eq!(seen, vec![a.id, b.id]);
        assert!(!connections.has_subscribers(other));
        connections.remove(&a);
        connections.remove(&b);
        assert!(!connections.has_subscribers(acme));
        assert_eq!(connections.followed_accounts(), vec![]);
    }
}
