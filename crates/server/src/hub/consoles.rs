//! Agents online through this node: a console that opens makes its agent
//! online at once; the last one closing takes them offline once the grace
//! has passed. [`ConsoleTracker`] decides; this carries the decisions out in
//! the store, and spreads what that changed in routing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use switchboard_core::UserId;
use switchboard_core::consoles::ConsoleTracker;

use super::Hub;
use super::conn::Conn;

impl Hub {
    /// A console opened: its agent (a user who answers conversations
    /// somewhere) is online (at once, if they were not).
    pub async fn console_opened(&self, conn: &Arc<Conn>) {
        let Some(access) = self.access.cached(conn.actor().account_id) else {
            return;
        };
        if !access.is_agent(conn.user().id) {
            return;
        }
        conn.console.store(true, Ordering::SeqCst);
        let first = self.consoles.lock().opened(conn.user().id);
        if first {
            self.set_online(conn.user().id, true).await;
        }
    }

    /// A console closed: its agent goes offline when the grace passes with
    /// no console of theirs open again.
    pub(super) fn console_closed(&self, conn: &Conn) {
        if conn.console.load(Ordering::SeqCst) {
            self.consoles.lock().closed(conn.user().id, self.now());
        }
    }

    /// Agents whose grace passed go offline.
    pub(super) async fn sweep_consoles(&self) {
        let gone = self
            .consoles
            .lock()
            .expired(self.now(), self.settings.timing.grace_ms);
        for user in gone {
            self.set_online(user, false).await;
        }
    }

    /// Records the change in the store, one at a time on this node: an
    /// agent's first console waits for its account's routing lock, and a
    /// burst of them (every console of a node reconnecting at once) must
    /// not hold every database connection of the node while it waits,
    /// which would starve joins and sends.
    async fn set_online(&self, user: UserId, online: bool) {
        let Ok(_turn) = self.console_writes.acquire().await else {
            return;
        };
        match self.store.set_online(user, self.node, online).await {
            Ok(mut routed) => self.routed(&mut routed).await,
            Err(error) => {
                tracing::warn!(%error, %user, online, "could not record an agent's consoles")
            }
        }
    }

    /// Every agent with a console here, for a store that forgot them.
    pub(super) async fn reannounce_consoles(&self) {
        let users = self.consoles.lock().online();
        for user in users {
            self.set_online(user, true).await;
        }
    }
}

/// The tracker behind a lock the hub holds only for a decision.
pub(super) type Consoles = parking_lot::Mutex<ConsoleTracker>;
