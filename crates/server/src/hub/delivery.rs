//! Delivery: each event is serialized once (per variant a receiver may see)
//! and pushed to the outbox of every receiver allowed to see it, checked per
//! receiver at the moment of delivery.

use std::sync::Arc;

use switchboard_core::access::Permission;
use switchboard_core::model::{AgentState, Conversation, Message};
use switchboard_core::presence::{LockLostReason, Snapshot};
use switchboard_core::{ConversationId, Resource, UserId};
use switchboard_proto::ServerFrame;
use switchboard_proto::server::{ConversationEvent, LockLost, MessageEvent, TypingEvent};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::conn::{AgentNews, Conn, Listing};
use super::connections::Connections;
use super::frames::{Removal, agent_removed_frame, encode, removed_frame};
use crate::access::{AccessBook, AccessNow, Sight};
use crate::mapping;
use crate::metrics::Metrics;

/// A local connection viewing a conversation.
#[derive(Debug)]
pub struct Viewer {
    pub conn: Arc<Conn>,
    /// The newest seq the join ack already carried: live messages up to it are skipped.
    pub watermark: u64,
    /// A supervisor watching silently (`join` with `watch`): no member of
    /// the room, never its active responder.
    pub watching: bool,
}

#[derive(Debug)]
pub(super) struct Delivery {
    metrics: Arc<Metrics>,
    access: Arc<AccessBook>,
}

impl Delivery {
    pub fn new(metrics: Arc<Metrics>, access: Arc<AccessBook>) -> Self {
        Self { metrics, access }
    }

    /// The access of the resource's account now (none: nobody here may
    /// see it, since every connection's account is loaded at its upgrade).
    fn access_of(&self, resource: Resource) -> Option<Arc<AccessNow>> {
        self.access.cached(resource.account_id())
    }

    /// Queues an event for one connection; one that cannot take it is a
    /// slow consumer (it is being closed).
    pub fn to(&self, conn: &Conn, frame: &Utf8Bytes) {
        if conn.push(frame).is_err() {
            self.metrics.slow_consumers.inc();
        }
    }

    /// Queues an answer for the connection that asked; one refused because
    /// the connection is already closing is no news.
    pub fn reply(&self, conn: &Conn, frame: &Utf8Bytes) {
        if conn.push(frame).is_err() && !conn.is_closing() {
            self.metrics.slow_consumers.inc();
        }
    }

    /// The new presence, to every viewer who may see the conversation.
    pub fn presence(
        &self,
        id: ConversationId,
        resource: Resource,
        viewers: &[Viewer],
        snapshot: &Snapshot,
    ) {
        let frame = encode(&ServerFrame::Presence(mapping::presence(id, snapshot)));
        let Some(access) = self.access_of(resource) else {
            return;
        };
        for viewer in seeing(&access, viewers, resource) {
            self.to(&viewer.conn, &frame);
        }
    }

    /// A stored message, to every viewer allowed to see it but `skip` (the
    /// author's connection, whose ack carries it) and those whose join ack
    /// already carried it; with the body or without, each variant encoded once.
    pub fn message(
        &self,
        resource: Resource,
        viewers: &[Viewer],
        message: &Message,
        skip: Option<&Arc<Conn>>,
    ) {
        let mut with_body: Option<Utf8Bytes> = None;
        let mut without_body: Option<Utf8Bytes> = None;
        let Some(access) = self.access_of(resource) else {
            return;
        };
        for viewer in viewers {
            if viewer.watermark >= message.seq || skip.is_some_and(|c| Arc::ptr_eq(c, &viewer.conn))
            {
                continue;
            }
            let held = access.on_conversation(viewer.conn.user().id, resource);
            if !held.contains(Permission::ConversationsView) {
                continue;
            }
            let bodies = held.contains(Permission::MessagesReadBodies);
            let slot = if bodies {
                &mut with_body
            } else {
                &mut without_body
            };
            let frame = slot.get_or_insert_with(|| {
                encode(&ServerFrame::Message(MessageEvent {
                    conversation_id: message.conversation_id.as_uuid(),
                    message: mapping::message(message, bodies),
                }))
            });
            self.to(&viewer.conn, frame);
        }
    }

    /// `user` types: to the viewers but the typist's own connections.
    pub fn typing(&self, id: ConversationId, resource: Resource, viewers: &[Viewer], user: UserId) {
        let frame = encode(&ServerFrame::Typing(TypingEvent {
            conversation_id: id.as_uuid(),
            user_id: user.as_uuid(),
        }));
        let Some(access) = self.access_of(resource) else {
            return;
        };
        for viewer in seeing(&access, viewers, resource).filter(|v| v.conn.user().id != user) {
            self.to(&viewer.conn, &frame);
        }
    }

    /// `user` lost the active role: to their connections viewing here.
    pub fn lock_lost(
        &self,
        id: ConversationId,
        viewers: &[Viewer],
        user: UserId,
        reason: LockLostReason,
    ) {
        let frame = encode(&ServerFrame::LockLost(LockLost {
            conversation_id: id.as_uuid(),
            reason: mapping::lock_lost_reason(reason),
        }));
        let mut told = 0;
        for viewer in viewers
            .iter()
            .filter(|v| v.conn.user().id == user && !v.watching)
        {
            self.to(&viewer.conn, &frame);
            told += 1;
        }
        tracing::info!(conversation = %id, %user, ?reason, connections = told, "active role lost");
    }

    /// A card, to every inbox subscriber of its account who may see it
    /// and whose folder (if their subscription follows one) it matches;
    /// one whose folder it stopped matching is told it is gone (`filter`),
    /// and one who saw it only because it was assigned to them, and no
    /// longer may, is told it is gone (`unassigned`).
    pub fn card(&self, card: &Conversation, connections: &Connections) {
        let resource = card.resource();
        let Some(access) = self.access_of(resource) else {
            return;
        };
        let mut frame = None;
        let mut removed = None;
        let mut filtered = None;
        connections.subscribers(card.account_id, |conn| {
            let sight = access.sight(conn.user().id, resource);
            if sight == Sight::Hidden {
                let was_assigned = conn.assigned_shown.lock().remove(&card.id);
                if conn.unlist(card.id) && was_assigned {
                    let removed =
                        removed.get_or_insert_with(|| removed_frame(card.id, Removal::Unassigned));
                    self.to(conn, removed);
                }
                return;
            }
            conn.note_sight(card.id, sight);
            match conn.listing(card) {
                Listing::Show => {
                    let frame = frame.get_or_insert_with(|| {
                        encode(&ServerFrame::Conversation(ConversationEvent {
                            conversation: mapping::summary(card),
                        }))
                    });
                    self.to(conn, frame);
                }
                Listing::Leave => {
                    let filtered =
                        filtered.get_or_insert_with(|| removed_frame(card.id, Removal::Filter));
                    self.to(conn, filtered);
                }
                Listing::Skip => {}
            }
        });
    }

    /// An agent's own state, to their connections.
    pub fn agent(&self, state: &AgentState, connections: &Connections) {
        let frame = encode(&ServerFrame::Agent(mapping::agent(state)));
        connections.of_user(state.user.id, |conn| self.to(conn, &frame));
    }

    /// An agent's state, to every `subscribe_agents` subscriber of their
    /// account who may assign to them now (`agent_status`); one who was
    /// shown the agent and no longer may is told `agent_removed`.
    pub fn agent_status(&self, state: &AgentState, connections: &Connections) {
        let Some(access) = self.access.cached(state.account_id) else {
            return;
        };
        let agent = state.user.id;
        let mut shown = None;
        let mut removed = None;
        connections.agent_subscribers(state.account_id, |conn| {
            let reachable = access.may_assign_to(conn.user().id, agent);
            match conn.agent_news(agent, reachable) {
                AgentNews::Show => {
                    let frame = shown.get_or_insert_with(|| {
                        encode(&ServerFrame::AgentStatus(mapping::agent(state)))
                    });
                    self.to(conn, frame);
                }
                AgentNews::Remove => {
                    let frame = removed.get_or_insert_with(|| agent_removed_frame(agent));
                    self.to(conn, frame);
                }
                AgentNews::Skip => {}
            }
        });
    }
}

/// The viewers who may see the conversation now (checked at delivery).
fn seeing<'v>(
    access: &'v AccessNow,
    viewers: &'v [Viewer],
    resource: Resource,
) -> impl Iterator<Item = &'v Viewer> {
    viewers.iter().filter(move |viewer| {
        let user = viewer.conn.user().id;
        access.allows(user, Permission::ConversationsView, resource)
    })
}
