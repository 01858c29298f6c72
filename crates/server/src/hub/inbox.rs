//! Inbox subscribers: who receives `conversation` events, checked per
//! receiver at delivery time.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use switchboard_core::model::Conversation;
use switchboard_core::ports::Topic;
use switchboard_core::{Action, can};
use switchboard_proto::ServerFrame;
use switchboard_proto::server::ConversationEvent;

use super::Hub;
use super::conn::Conn;
use super::frames::encode;
use crate::mapping;

impl Hub {
    pub(super) async fn subscribe(&self, conn: &Arc<Conn>) {
        if conn.subscribed.swap(true, Ordering::SeqCst) {
            return;
        }
        let account = conn.actor.account_id;
        let first = {
            let mut list = self.subscribers.entry(account).or_default();
            list.push(conn.clone());
            list.len() == 1
        };
        if first && self.clustered() {
            // Cards of this account changed on other nodes come too.
            if let Err(error) = self.bus.set_interest(Topic::Account(account), true).await {
                tracing::debug!(%error, "could not follow an account on the bus");
            }
        }
    }

    pub(super) fn unsubscribe(&self, conn: &Arc<Conn>) {
        if !conn.subscribed.swap(false, Ordering::SeqCst) {
            return;
        }
        let account = conn.actor.account_id;
        if let Some(mut list) = self.subscribers.get_mut(&account) {
            list.retain(|c| !Arc::ptr_eq(c, conn));
        }
        self.subscribers
            .remove_if(&account, |_, list| list.is_empty());
    }

    /// A conversation's card changed: every subscriber who may see it gets it.
    pub(crate) fn summary_changed(&self, conversation: &Conversation) {
        let Some(list) = self.subscribers.get(&conversation.account_id) else {
            return;
        };
        let resource = conversation.resource();
        let mut frame = None;
        for conn in list.iter() {
            if !can(&conn.actor, Action::ViewConversation, resource) {
                continue;
            }
            let frame = frame.get_or_insert_with(|| {
                encode(&ServerFrame::Conversation(ConversationEvent {
                    conversation: mapping::summary(conversation),
                }))
            });
            self.deliver(conn, frame);
        }
    }
}
