//! Routing on this node: what assignment operations changed reaches the
//! inbox subscribers (cards) and the agents (their own load and state),
//! here and on the other nodes; and consoles opening and closing make their
//! agents online and offline (after the disconnect grace).

use std::sync::Arc;

use switchboard_core::UserId;
use switchboard_core::model::{AgentState, Routed};
use switchboard_core::ports::ClusterEvent;
use switchboard_core::presence::Millis;
use switchboard_proto::ServerFrame;

use super::Hub;
use super::conn::Conn;
use super::frames::encode;
use crate::mapping;

/// An agent's consoles on this node.
#[derive(Debug, Default)]
pub(super) struct Consoles {
    pub open: u32,
    /// When the last one closed: offline once the grace has passed.
    pub closed_at: Option<Millis>,
}

impl Hub {
    /// Tells everyone concerned what a routing operation changed.
    pub async fn routed(&self, routed: Routed) {
        for conversation in routed.conversations {
            if let Some(entry) = self.rooms.get(&conversation.id).map(|e| e.clone()) {
                let mut summary = entry.summary.lock();
                let answered_by = summary.answered_by.clone();
                *summary = conversation.clone();
                summary.answered_by = answered_by;
            }
            self.card_changed(conversation).await;
        }
        for state in routed.agents {
            self.agent_changed(&state);
            self.publish(|| ClusterEvent::Agent { state }).await;
        }
    }

    /// Sends an agent their own state, on every connection of theirs here.
    pub(super) fn agent_changed(&self, state: &AgentState) {
        let frame = encode(&ServerFrame::Agent(mapping::agent(state)));
        for conn in self.conns.iter() {
            if conn.user.id == state.user.id {
                self.deliver(&conn, &frame);
            }
        }
    }

    /// A console opened: its agent is online (at once, if they were not).
    pub async fn console_opened(&self, conn: &Arc<Conn>) {
        if !conn.actor.role.is_agent() {
            return;
        }
        let first = {
            let mut consoles = self.consoles.entry(conn.user.id).or_default();
            consoles.open += 1;
            let was_online = consoles.open > 1 || consoles.closed_at.is_some();
            consoles.closed_at = None;
            !was_online
        };
        if first {
            self.set_online(conn.user.id, true).await;
        }
    }

    /// A console closed: its agent goes offline when the grace passes with
    /// no console of theirs open again.
    pub(super) fn console_closed(&self, conn: &Conn) {
        if !conn.actor.role.is_agent() {
            return;
        }
        if let Some(mut consoles) = self.consoles.get_mut(&conn.user.id) {
            consoles.open = consoles.open.saturating_sub(1);
            if consoles.open == 0 {
                consoles.closed_at = Some(self.now());
            }
        }
    }

    /// Agents whose grace passed go offline.
    pub(super) async fn sweep_consoles(&self) {
        let now = self.now();
        let grace = self.settings.timing.grace_ms;
        let gone: Vec<UserId> = self
            .consoles
            .iter()
            .filter(|c| {
                c.open == 0
                    && c.closed_at
                        .is_some_and(|at| now.saturating_sub(at) >= grace)
            })
            .map(|c| *c.key())
            .collect();
        for user in gone {
            let removed = self
                .consoles
                .remove_if(&user, |_, c| c.open == 0 && c.closed_at.is_some());
            if removed.is_some() {
                self.set_online(user, false).await;
            }
        }
    }

    async fn set_online(&self, user: UserId, online: bool) {
        match self.store.set_online(user, self.node, online).await {
            Ok(routed) => self.routed(routed).await,
            Err(error) => {
                tracing::warn!(%error, %user, online, "could not record an agent's consoles")
            }
        }
    }

    /// Every agent with a console here, for a store that forgot them.
    pub(super) async fn reannounce_consoles(&self) {
        let users: Vec<UserId> = self.consoles.iter().map(|c| *c.key()).collect();
        for user in users {
            self.set_online(user, true).await;
        }
    }
}
