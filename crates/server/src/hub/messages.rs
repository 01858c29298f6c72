//! Stored messages reaching local viewers in sequence order (a gap is
//! filled from the store before what follows it), the card that shows the
//! last message, and a customer's message arriving on this node.

use std::sync::Arc;

use switchboard_core::model::{Inbound, Message};
use switchboard_core::ports::ClusterEvent;

use super::Hub;
use super::conn::Conn;
use super::rooms::{RoomEntry, RoomState};

/// Messages fetched from the store at once to fill a gap.
const CATCH_UP_PAGE: u32 = 500;

impl Hub {
    /// Delivers a stored message to local viewers in sequence order: one
    /// already delivered is skipped, a gap before it is filled from the store.
    pub(super) async fn deliver_in_order(
        &self,
        entry: &RoomEntry,
        st: &mut RoomState,
        message: &Message,
        skip: Option<&Arc<Conn>>,
    ) {
        if message.seq <= st.delivered {
            return;
        }
        if message.seq > st.delivered + 1 {
            self.catch_up(entry, st, message.seq - 1).await;
        }
        self.delivery
            .message(entry.card.resource(), &st.viewers, message, skip);
        st.delivered = st.delivered.max(message.seq);
    }

    /// Everything local viewers should have and do not, up to `last_seq`.
    pub(super) async fn catch_up(&self, entry: &RoomEntry, st: &mut RoomState, last_seq: u64) {
        while st.delivered < last_seq {
            let missing = match self
                .store
                .messages_after(entry.id, st.delivered, CATCH_UP_PAGE)
                .await
            {
                Ok(missing) if !missing.is_empty() => missing,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "could not fetch missed messages");
                    break;
                }
            };
            let resource = entry.card.resource();
            for message in missing.iter().filter(|m| m.seq <= last_seq) {
                self.delivery.message(resource, &st.viewers, message, None);
                st.delivered = st.delivered.max(message.seq);
            }
            if missing.last().is_none_or(|m| m.seq >= last_seq) {
                break;
            }
        }
    }

    /// Updates the card after a new message stored here, and tells inbox
    /// subscribers (here and on the other nodes).
    pub(super) async fn message_stored(&self, entry: &RoomEntry, message: &Message) {
        entry.card.note_message(message);
        let account = entry.card.resource().account_id();
        if !self.clustered() && !self.connections.has_subscribers(account) {
            // Nobody watches this account's list: no card to build or send.
            return;
        }
        self.card_changed(entry.card.get()).await;
    }

    /// A customer's message was stored: viewers and inbox subscribers, here
    /// and on the other nodes, hear of it.
    pub async fn inbound(&self, inbound: &Inbound) {
        self.metrics.messages.inc();
        match self.existing_room(inbound.conversation.id).await {
            Some((entry, mut st)) => {
                entry.card.arrived(inbound.conversation.clone());
                self.deliver_in_order(&entry, &mut st, &inbound.message, None)
                    .await;
                self.message_stored(&entry, &inbound.message).await;
            }
            None => self.card_changed(inbound.conversation.clone()).await,
        }
        self.publish(|| ClusterEvent::Message {
            conversation_id: inbound.conversation.id,
            message: inbound.message.clone(),
        })
        .await;
        // Routing a new (or reopened) conversation: the agents whose load
        // changed, and the queue (its own card went out above).
        let mut routed = inbound.routed.clone();
        routed
            .conversations
            .retain(|c| c.id != inbound.conversation.id);
        self.routed(&mut routed).await;
    }
}
