//! One handler per client frame. Each checks permissions with `can`, asks
//! the room to decide, carries the decision out, and answers with an ack
//! body or an error frame.

use std::sync::Arc;

use switchboard_core::error::StoreError;
use switchboard_core::model::{
    Appended, ConversationFilter, ManualAssignment, NewOutbound, Routed,
};
use switchboard_core::ports::ClusterEvent;
use switchboard_core::presence::TakeRefused;
use switchboard_core::{Action, ConversationId, can};
use switchboard_proto::client::{self, ClientFrame, FrameHead};
use switchboard_proto::server::ErrorFrame;
use switchboard_proto::{AckBody, ErrorCode};

use super::Hub;
use super::conn::Conn;
use super::frames;
use super::room::{RoomEntry, RoomGuard, Viewer};
use crate::mapping;

/// `join` without `after_seq` returns this many of the newest messages.
const RECENT_MESSAGES: u32 = 50;
/// `join` with `after_seq` returns at most this many.
const CATCH_UP_LIMIT: u32 = 500;
/// `subscribe_inbox` lists at most this many conversations, newest first.
const INBOX_LIMIT: u32 = 500;
/// The longest `client_msg_id` accepted.
const MAX_CLIENT_MSG_ID: usize = 128;

type Reply = Result<AckBody, ErrorFrame>;

impl Hub {
    /// Handles one text frame from `conn` and queues its answer.
    pub async fn handle_text(&self, conn: &Arc<Conn>, text: &str) {
        self.metrics.frames_in.inc();
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(error) => {
                let head = serde_json::from_str::<FrameHead>(text).ok();
                let reference = head.as_ref().and_then(FrameHead::reference);
                let message = parse_error_message(head.as_ref(), &error);
                self.reply_error(
                    conn,
                    ErrorFrame::new(ErrorCode::BadRequest, message).with_ref(reference),
                );
                return;
            }
        };
        let reference = frame.reference().map(str::to_owned);
        let reply = match frame {
            ClientFrame::SubscribeInbox(f) => self.subscribe_inbox(conn, f).await,
            ClientFrame::Join(f) => self.join(conn, f).await,
            ClientFrame::Take(f) => self.take(conn, f.conversation_id.into(), f.force).await,
            ClientFrame::Release(f) => self.release(conn, f.conversation_id.into()).await,
            ClientFrame::Leave(f) => self.leave(conn, f.conversation_id.into()).await,
            ClientFrame::Send(f) => self.send(conn, f).await,
            ClientFrame::Typing(f) => self.typing(conn, f.conversation_id.into()).await,
            ClientFrame::Ping(_) => Ok(AckBody::default()),
            ClientFrame::SetAvailability(f) => self.set_availability(conn, f).await,
            ClientFrame::Assign(f) => self.assign(conn, f).await,
            ClientFrame::Unassign(f) => {
                self.route(conn, f.conversation_id.into(), Route::Unassign)
                    .await
            }
            ClientFrame::Resolve(f) => {
                self.route(conn, f.conversation_id.into(), Route::Resolve)
                    .await
            }
            ClientFrame::Reopen(f) => {
                self.route(conn, f.conversation_id.into(), Route::Reopen)
                    .await
            }
        };
        match reply {
            Ok(body) => {
                if let Some(reference) = reference {
                    self.send_to(conn, &frames::ack(reference, body));
                }
            }
            Err(error) => self.reply_error(conn, error.with_ref(reference)),
        }
    }

    pub(crate) fn reply_error(&self, conn: &Conn, error: ErrorFrame) {
        self.metrics.error(error.code);
        self.send_to(conn, &frames::error(error));
    }

    async fn subscribe_inbox(&self, conn: &Arc<Conn>, f: client::SubscribeInbox) -> Reply {
        if f.folder_id.is_some() {
            return Err(ErrorFrame::new(ErrorCode::NotFound, "no such folder"));
        }
        // Subscribe first: a change made while the list is read still arrives.
        self.subscribe(conn).await;
        let filter = ConversationFilter {
            account_id: conn.actor.account_id,
            assignee: None,
            limit: INBOX_LIMIT,
        };
        let list = self
            .store
            .conversations(filter)
            .await
            .map_err(|e| self.store_failure(&e))?;
        let conversations = list
            .iter()
            .filter(|c| can(&conn.actor, Action::ViewConversation, c.resource()))
            .map(mapping::summary)
            .collect();
        let agent = if conn.actor.role.is_agent() {
            self.store
                .agent(conn.user.id)
                .await
                .map_err(|e| self.store_failure(&e))?
                .map(|state| mapping::agent(&state))
        } else {
            None
        };
        Ok(AckBody {
            conversations: Some(conversations),
            agent,
            ..AckBody::default()
        })
    }

    async fn join(&self, conn: &Arc<Conn>, f: client::Join) -> Reply {
        let id: ConversationId = f.conversation_id.into();
        let (entry, mut st) = self.lock_room(conn, id).await?;
        // Read before joining, under the room lock: no send can slip between
        // the read and the join, and live messages up to the read are skipped.
        let (messages, complete) = match f.after_seq {
            Some(after) => {
                let mut messages = self
                    .store
                    .messages_after(id, after, CATCH_UP_LIMIT + 1)
                    .await
                    .map_err(|e| self.store_failure(&e))?;
                let complete = messages.len() <= CATCH_UP_LIMIT as usize;
                messages.truncate(CATCH_UP_LIMIT as usize);
                (messages, Some(complete))
            }
            None => {
                let messages = self
                    .store
                    .recent_messages(id, RECENT_MESSAGES)
                    .await
                    .map_err(|e| self.store_failure(&e))?;
                (messages, None)
            }
        };
        let watermark = messages
            .last()
            .map(|m| m.seq)
            .unwrap_or(0)
            .max(f.after_seq.unwrap_or(0));
        self.ensure_joined(conn, &entry, &mut st).await;
        if let Some(viewer) = st.viewers.iter_mut().find(|v| Arc::ptr_eq(&v.conn, conn)) {
            viewer.watermark = viewer.watermark.max(watermark);
        }
        let resource = entry.resource();
        let bodies = can(&conn.actor, Action::ReadBodies, resource);
        let last_seq = entry.summary.lock().last_seq.max(watermark);
        Ok(AckBody {
            presence: Some(mapping::presence(id, &st.room)),
            messages: Some(
                messages
                    .iter()
                    .map(|m| mapping::message(m, bodies))
                    .collect(),
            ),
            last_seq: Some(last_seq),
            complete,
            ..AckBody::default()
        })
    }

    /// Makes `conn` a viewer of the room (once per connection). A store
    /// failure while granting leaves the user an observer.
    async fn ensure_joined(&self, conn: &Arc<Conn>, entry: &RoomEntry, st: &mut RoomGuard) {
        if st.viewers.iter().any(|v| Arc::ptr_eq(&v.conn, conn)) {
            return;
        }
        conn.joined.lock().push(entry.id);
        st.viewers.push(Viewer {
            conn: conn.clone(),
            watermark: 0,
        });
        let may_write = can(&conn.actor, Action::Answer, entry.resource());
        let effects = st.room.join(conn.user.clone(), may_write, self.now());
        if let Err(error) = self.carry_out(entry, st, effects).await {
            tracing::warn!(%error, conversation = %entry.id, "joined, but the role could not be granted");
        }
    }

    async fn take(&self, conn: &Arc<Conn>, id: ConversationId, force: bool) -> Reply {
        let (entry, mut st) = self.lock_room(conn, id).await?;
        let resource = entry.resource();
        if !can(&conn.actor, Action::Answer, resource) {
            return Err(forbidden(
                "your role may observe conversations but not answer them",
            ));
        }
        if force && !can(&conn.actor, Action::TakeOver, resource) {
            return Err(forbidden(
                "only owners and administrators may take over a conversation",
            ));
        }
        self.ensure_joined(conn, &entry, &mut st).await;
        let user = conn.user.id;
        let effects = match st.room.take(user, force) {
            Ok(effects) => effects,
            Err(TakeRefused::Locked(holder)) => return Err(Self::locked(&holder)),
            Err(TakeRefused::MayNotWrite) => {
                return Err(forbidden(
                    "your role may observe conversations but not answer them",
                ));
            }
            Err(TakeRefused::NotMember) => {
                return Err(ErrorFrame::new(ErrorCode::Internal, "internal error"));
            }
        };
        self.carry_out(&entry, &mut st, effects)
            .await
            .map_err(|e| self.store_failure(&e))?;
        match st.room.active() {
            Some(holder) if holder.user.id == user => Ok(presence_ack(&entry, &st)),
            Some(holder) => Err(Self::locked(&holder.user)),
            None => Err(ErrorFrame::new(
                ErrorCode::Unavailable,
                "the role could not be granted; try again",
            )),
        }
    }

    async fn release(&self, conn: &Arc<Conn>, id: ConversationId) -> Reply {
        let (entry, mut st) = self.lock_room(conn, id).await?;
        let effects = st.room.release(conn.user.id, self.now());
        self.carry_out(&entry, &mut st, effects)
            .await
            .map_err(|e| self.store_failure(&e))?;
        let ack = presence_ack(&entry, &st);
        self.drop_if_idle(&entry, &mut st);
        Ok(ack)
    }

    async fn leave(&self, conn: &Arc<Conn>, id: ConversationId) -> Reply {
        let (entry, mut st) = self.lock_room(conn, id).await?;
        let was_viewer = st.viewers.iter().any(|v| Arc::ptr_eq(&v.conn, conn));
        if was_viewer {
            st.viewers.retain(|v| !Arc::ptr_eq(&v.conn, conn));
            conn.joined.lock().retain(|c| *c != id);
            let effects = st.room.leave(conn.user.id, self.now());
            self.carry_out(&entry, &mut st, effects)
                .await
                .map_err(|e| self.store_failure(&e))?;
        }
        let ack = presence_ack(&entry, &st);
        self.drop_if_idle(&entry, &mut st);
        Ok(ack)
    }

    async fn send(&self, conn: &Arc<Conn>, f: client::Send) -> Reply {
        let max = self.settings.max_message_bytes;
        if f.body.len() > max {
            let mut error = ErrorFrame::new(
                ErrorCode::TooLarge,
                format!("message body is larger than {max} bytes"),
            );
            error.max_bytes = Some(max as u64);
            return Err(error);
        }
        if f.body.trim().is_empty() {
            return Err(bad_request("message body must not be empty"));
        }
        if f.client_msg_id.is_empty() || f.client_msg_id.len() > MAX_CLIENT_MSG_ID {
            return Err(bad_request(format!(
                "client_msg_id must be 1 to {MAX_CLIENT_MSG_ID} bytes"
            )));
        }
        let id: ConversationId = f.conversation_id.into();
        let (entry, mut st) = self.lock_room(conn, id).await?;
        let user = conn.user.id;
        let appended = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: id,
                author: user,
                // An observer presents no epoch; the store refuses it (or
                // returns the message an earlier try with this id stored).
                epoch: st.room.epoch_of(user).unwrap_or(0),
                client_msg_id: &f.client_msg_id,
                body: &f.body,
            })
            .await;
        let message = match appended {
            Ok(Appended::Stored(message)) => {
                let _ = st.room.activity(user, self.now());
                self.schedule(&entry, &st);
                self.metrics.messages.inc();
                self.deliver_in_order(&entry, &mut st, &message, Some(conn))
                    .await;
                self.message_stored(&entry, &message).await;
                self.publish(|| ClusterEvent::Message {
                    conversation_id: id,
                    message: message.clone(),
                })
                .await;
                message
            }
            Ok(Appended::Duplicate(message)) => message,
            Err(StoreError::Fenced) => {
                self.learn_holder(&entry, &mut st).await;
                self.drop_if_idle(&entry, &mut st);
                return Err(not_active());
            }
            Err(error) => return Err(self.store_failure(&error)),
        };
        let bodies = can(&conn.actor, Action::ReadBodies, entry.resource());
        Ok(AckBody {
            message: Some(mapping::message(&message, bodies)),
            ..AckBody::default()
        })
    }

    /// The store refused a write: learn who holds the role now, so the room
    /// (and a stale local holder) catch up.
    async fn learn_holder(&self, entry: &RoomEntry, st: &mut RoomGuard) {
        match self.store.lock_state(entry.id).await {
            Ok(lock) => {
                let effects = st.room.holder_seen(lock.holder, lock.epoch, self.now());
                if let Err(error) = self.carry_out(entry, st, effects).await {
                    tracing::warn!(%error, "could not carry out a holder change");
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the lock state"),
        }
    }

    async fn typing(&self, conn: &Arc<Conn>, id: ConversationId) -> Reply {
        let (entry, mut st) = self.lock_room(conn, id).await?;
        let user = conn.user.id;
        if st.room.activity(user, self.now()).is_err() {
            self.drop_if_idle(&entry, &mut st);
            return Err(not_active());
        }
        self.schedule(&entry, &st);
        self.deliver_typing(&entry, &st, user);
        self.publish(|| ClusterEvent::Typing {
            conversation_id: id,
            user_id: user,
        })
        .await;
        Ok(AckBody::default())
    }
}

/// A routing change made by hand to one conversation.
#[derive(Debug, Clone, Copy)]
enum Route {
    Unassign,
    Resolve,
    Reopen,
}

impl Hub {
    /// A conversation `conn` may see, from the store (another account's, or
    /// one the user may not see, is `not_found`).
    async fn visible(
        &self,
        conn: &Conn,
        id: ConversationId,
    ) -> Result<switchboard_core::model::Conversation, ErrorFrame> {
        self.store
            .conversation(id)
            .await
            .map_err(|e| self.store_failure(&e))?
            .filter(|c| can(&conn.actor, Action::ViewConversation, c.resource()))
            .ok_or_else(|| ErrorFrame::new(ErrorCode::NotFound, "conversation not found"))
    }

    async fn set_availability(&self, conn: &Arc<Conn>, f: client::SetAvailability) -> Reply {
        if !conn.actor.role.is_agent() {
            return Err(forbidden("viewers are never assigned conversations"));
        }
        let routed = self
            .store
            .set_availability(conn.user.id, mapping::availability_from(f.status))
            .await
            .map_err(|e| self.store_failure(&e))?;
        let mine = routed
            .agents
            .iter()
            .find(|a| a.user.id == conn.user.id)
            .cloned();
        self.routed(routed).await;
        let state = match mine {
            Some(state) => Some(state),
            None => self
                .store
                .agent(conn.user.id)
                .await
                .map_err(|e| self.store_failure(&e))?,
        };
        Ok(AckBody {
            agent: state.as_ref().map(mapping::agent),
            ..AckBody::default()
        })
    }

    async fn assign(&self, conn: &Arc<Conn>, f: client::Assign) -> Reply {
        let id: ConversationId = f.conversation_id.into();
        let conversation = self.visible(conn, id).await?;
        let resource = conversation.resource();
        if !can(&conn.actor, Action::Assign, resource) {
            return Err(forbidden(
                "only owners and administrators assign conversations",
            ));
        }
        if f.force && !can(&conn.actor, Action::ForceAssign, resource) {
            return Err(forbidden(
                "only owners and administrators may assign beyond capacity",
            ));
        }
        let routed = self
            .store
            .assign(ManualAssignment {
                conversation: id,
                assignee: f.user_id.into(),
                actor: conn.user.id,
                force: f.force,
            })
            .await
            .map_err(|e| self.store_failure(&e))?;
        Ok(self.routed_ack(id, routed).await)
    }

    async fn route(&self, conn: &Arc<Conn>, id: ConversationId, route: Route) -> Reply {
        let conversation = self.visible(conn, id).await?;
        let resource = conversation.resource();
        let (action, refusal) = match route {
            Route::Unassign => (
                Action::Assign,
                "only owners and administrators unassign conversations",
            ),
            Route::Resolve | Route::Reopen => (
                Action::Resolve,
                "your role may not resolve or reopen conversations",
            ),
        };
        if !can(&conn.actor, action, resource) {
            return Err(forbidden(refusal));
        }
        let actor = conn.user.id;
        let routed = match route {
            Route::Unassign => self.store.unassign(id, actor).await,
            Route::Resolve => self.store.resolve(id, actor).await,
            Route::Reopen => self.store.reopen(id, actor).await,
        }
        .map_err(|e| self.store_failure(&e))?;
        Ok(self.routed_ack(id, routed).await)
    }

    /// Spreads what changed and acks with the conversation as it is now.
    async fn routed_ack(&self, id: ConversationId, routed: Routed) -> AckBody {
        let mut card = routed.conversation(id).cloned();
        self.routed(routed).await;
        if card.is_none() {
            card = self.store.conversation(id).await.ok().flatten();
        }
        AckBody {
            conversation: card.as_ref().map(mapping::summary),
            ..AckBody::default()
        }
    }
}

fn presence_ack(entry: &RoomEntry, st: &RoomGuard) -> AckBody {
    AckBody {
        presence: Some(mapping::presence(entry.id, &st.room)),
        ..AckBody::default()
    }
}

fn forbidden(message: &str) -> ErrorFrame {
    ErrorFrame::new(ErrorCode::Forbidden, message)
}

fn bad_request(message: impl Into<String>) -> ErrorFrame {
    ErrorFrame::new(ErrorCode::BadRequest, message)
}

fn not_active() -> ErrorFrame {
    ErrorFrame::new(
        ErrorCode::NotActive,
        "only the active responder may do this; take the conversation first",
    )
}

fn parse_error_message(head: Option<&FrameHead>, error: &serde_json::Error) -> String {
    let Some(head) = head else {
        return format!("malformed json: {error}");
    };
    match &head.kind {
        None => "missing field `type`".to_owned(),
        Some(serde_json::Value::String(kind))
            if error.to_string().starts_with("unknown variant") =>
        {
            format!("unknown frame type `{kind}`")
        }
        Some(serde_json::Value::String(kind)) => format!("invalid `{kind}` frame: {error}"),
        Some(_) => "field `type` must be a string".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_for(text: &str) -> String {
        let error = serde_json::from_str::<ClientFrame>(text).unwrap_err();
        let head = serde_json::from_str::<FrameHead>(text).ok();
        parse_error_message(head.as_ref(), &error)
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert!(message_for("{nope").starts_with("malformed json"));
        assert_eq!(message_for(r#"{"ref":"r1"}"#), "missing field `type`");
        assert_eq!(
            message_for(r#"{"type":"dance"}"#),
            "unknown frame type `dance`"
        );
        assert_eq!(
            message_for(r#"{"type":7}"#),
            "field `type` must be a string"
        );
        let missing = message_for(r#"{"type":"join"}"#);
        assert!(missing.contains("conversation_id"), "{missing}");
        let bad_id = message_for(r#"{"type":"join","conversation_id":"x"}"#);
        assert!(bad_id.starts_with("invalid `join` frame"), "{bad_id}");
    }
}
