//! The messenger's use cases, for a live session (a WebSocket connection):
//! the inbox list, and joining, taking, releasing, leaving, sending and
//! typing in a conversation.
//!
//! One rule for writing: a user whose roles may never answer the
//! conversation gets `forbidden` for `take`, `send` and `typing` alike,
//! decided here before any store write; a user who may answer but is not
//! the active responder gets `not_active` from the room.

use std::sync::Arc;

use switchboard_core::input::{ClientMsgId, MessageBody};
use switchboard_core::model::{AgentState, Conversation, ConversationFilter, Message};
use switchboard_core::presence::Snapshot;
use switchboard_core::{Action, ConversationId};
use uuid::Uuid;

use super::error::MAY_NOT_ANSWER;
use super::{App, AppError};
use crate::hub::{Conn, Hub, Joined, RoomHandle};

/// `subscribe_inbox` lists at most this many conversations, newest first.
const INBOX_LIMIT: u32 = 500;

/// The inbox list as a subscriber first sees it.
#[derive(Debug)]
pub struct Inbox {
    pub conversations: Vec<Conversation>,
    /// The subscriber's own routing state, if they are an agent.
    pub agent: Option<AgentState>,
}

/// A join, with whether the joiner may read message bodies.
#[derive(Debug)]
pub struct JoinedView {
    pub joined: Joined,
    pub bodies: bool,
}

/// A stored message, with whether its author may read message bodies.
#[derive(Debug)]
pub struct Sent {
    pub message: Message,
    pub bodies: bool,
}

impl App {
    /// Lists the conversations `session` may see, and sends it every change
    /// to them from now on. Folders do not exist yet: any folder is not found.
    pub async fn subscribe_inbox(
        &self,
        session: &Arc<Conn>,
        folder: Option<Uuid>,
    ) -> Result<Inbox, AppError> {
        if folder.is_some() {
            return Err(AppError::NotFound("no such folder"));
        }
        let hub = self.live_hub()?;
        // Subscribe first: a change made while the list is read still arrives.
        hub.subscribe(session).await;
        let principal = &session.principal;
        let list = self
            .store
            .conversations(ConversationFilter {
                account_id: principal.account_id(),
                assignee: None,
                limit: INBOX_LIMIT,
            })
            .await?;
        let conversations = list
            .into_iter()
            .filter(|c| principal.can(Action::ViewConversation, c.resource()))
            .map(|c| hub.card_as_shown(c))
            .collect();
        let agent = if principal.role().is_agent() {
            self.store.agent(principal.id()).await?
        } else {
            None
        };
        Ok(Inbox {
            conversations,
            agent,
        })
    }

    /// Opens a conversation: `session` observes it, or answers it if nobody
    /// is there and the user may answer. With `after_seq`, the messages
    /// missed since; without, the newest.
    pub async fn join(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
        after_seq: Option<u64>,
    ) -> Result<JoinedView, AppError> {
        let mut room = visible_room(self.live_hub()?, session, id).await?;
        let resource = room.resource();
        let principal = &session.principal;
        let may_write = principal.can(Action::Answer, resource);
        let joined = room.join(session, may_write, after_seq).await?;
        Ok(JoinedView {
            joined,
            bodies: principal.can(Action::ReadBodies, resource),
        })
    }

    /// "Start chatting"; with `force`, takes the role from its holder.
    pub async fn take(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
        force: bool,
    ) -> Result<Snapshot, AppError> {
        let mut room = writable_room(self.live_hub()?, session, id).await?;
        if force && !session.principal.can(Action::TakeOver, room.resource()) {
            return Err(AppError::forbidden(
                "only owners and administrators may take over a conversation",
            ));
        }
        Ok(room.take(session, true, force).await?)
    }

    /// Gives up the active role (acked and nothing changes for a non-holder).
    pub async fn release(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
    ) -> Result<Snapshot, AppError> {
        let mut room = visible_room(self.live_hub()?, session, id).await?;
        Ok(room.release(session.user().id).await?)
    }

    /// Stops observing (the role goes with the user's last connection).
    pub async fn leave(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
    ) -> Result<Snapshot, AppError> {
        let mut room = visible_room(self.live_hub()?, session, id).await?;
        Ok(room.leave(session).await?)
    }

    /// Stores a message of the active responder, acknowledged once committed.
    pub async fn send(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
        client_msg_id: ClientMsgId,
        body: MessageBody,
    ) -> Result<Sent, AppError> {
        let mut room = writable_room(self.live_hub()?, session, id).await?;
        let bodies = session.principal.can(Action::ReadBodies, room.resource());
        let message = room.send(session, &client_msg_id, &body).await?;
        Ok(Sent { message, bodies })
    }

    /// The active responder types: their role stays alive, the others see it.
    pub async fn typing(&self, session: &Arc<Conn>, id: ConversationId) -> Result<(), AppError> {
        let mut room = writable_room(self.live_hub()?, session, id).await?;
        Ok(room.typing(session.user().id).await?)
    }
}

/// The room of a conversation `session` may see, locked; any other is not
/// found, whether it exists or not.
async fn visible_room<'h>(
    hub: &'h Hub,
    session: &Conn,
    id: ConversationId,
) -> Result<RoomHandle<'h>, AppError> {
    let principal = &session.principal;
    Ok(hub
        .room(id, |conversation| {
            principal.can(Action::ViewConversation, conversation)
        })
        .await?)
}

/// The room of a conversation `session` may see and answer.
async fn writable_room<'h>(
    hub: &'h Hub,
    session: &Conn,
    id: ConversationId,
) -> Result<RoomHandle<'h>, AppError> {
    let room = visible_room(hub, session, id).await?;
    if !session.principal.can(Action::Answer, room.resource()) {
        return Err(AppError::forbidden(MAY_NOT_ANSWER));
    }
    Ok(room)
}
