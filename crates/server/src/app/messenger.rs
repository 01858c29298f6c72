//! The messenger's use cases, for a live session (a WebSocket connection):
//! the inbox list, and joining, taking, releasing, leaving, sending and
//! typing in a conversation; a supervisor's silent watch and their view of
//! the agents.
//!
//! One rule for writing: a user whose roles may never answer the
//! conversation gets `forbidden` for `take`, `send` and `typing` alike,
//! decided here before any store write; a user who may answer but is not
//! the active responder gets `not_active` from the room.

use std::sync::Arc;

use switchboard_core::access::{Permission, PermissionSet};
use switchboard_core::input::{ClientMsgId, MessageBody};
use switchboard_core::model::{AgentState, Conversation, Message};
use switchboard_core::presence::Snapshot;
use switchboard_core::{ConversationId, TemplateId};
use uuid::Uuid;

use super::error::MAY_NOT_ANSWER;
use super::{App, AppError};
use crate::hub::{Conn, Joined, Listing, RoomHandle};

/// `subscribe_inbox` lists at most this many conversations, newest first.
const INBOX_LIMIT: u32 = 500;

/// The inbox list as a subscriber first sees it.
#[derive(Debug)]
pub struct Inbox {
    pub conversations: Vec<Conversation>,
    /// The subscriber's own routing state, if they are an agent.
    pub agent: Option<AgentState>,
}

/// What a `send` carries: a body, or a template to fill in.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Body(MessageBody),
    Template(TemplateId),
}

/// A join, with whether the joiner may read message bodies.
#[derive(Debug)]
pub struct JoinedView {
    pub joined: Joined,
    pub bodies: bool,
}

impl JoinedView {
    /// A join by a user holding `held` on the conversation.
    fn new(joined: Joined, held: PermissionSet) -> Self {
        let bodies = held.contains(Permission::MessagesReadBodies);
        Self { joined, bodies }
    }
}

/// A stored message, with whether its author may read message bodies.
#[derive(Debug)]
pub struct Sent {
    pub message: Message,
    pub bodies: bool,
}

impl App {
    /// Lists the conversations `session` may see (in `folder`, one of the
    /// user's folders, if given), and sends it every change to them from
    /// now on. A second subscription replaces the first.
    pub async fn subscribe_inbox(
        &self,
        session: &Arc<Conn>,
        folder: Option<Uuid>,
    ) -> Result<Inbox, AppError> {
        let hub = self.live_hub()?;
        let principal = &session.principal;
        let folder = match folder {
            Some(id) => Some(self.folder_match(principal, id.into()).await?),
            None => None,
        };
        // The folder's rule is in place before the subscription, and the
        // subscription before the list is read: a change made while the
        // list is read still arrives, judged by the folder.
        session.follow_folder(folder.as_ref().map(|(_, rule)| rule.clone()));
        hub.subscribe(session).await;
        let access = self.access_of(principal.account_id()).await?;
        let seen = access.policy(principal.id()).conversation_filter();
        let list = match &folder {
            Some((folder, _)) => {
                self.store
                    .folder_conversations(&seen, &folder.filter, INBOX_LIMIT)
                    .await?
            }
            None => {
                self.store
                    .admitted_conversations(&seen, INBOX_LIMIT)
                    .await?
            }
        };
        let conversations = list
            .into_iter()
            .map(|c| hub.card_as_shown(c))
            .filter(|card| session.listing(card) == Listing::Show)
            .collect::<Vec<_>>();
        for card in &conversations {
            session.note_sight(card.id, access.sight(principal.id(), card.resource()));
        }
        let agent = if access.is_agent(principal.id()) {
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
        let (mut room, held) = self.visible_room(session, id).await?;
        let may_write = held.contains(Permission::ConversationsAnswer);
        let joined = room.join(session, may_write, after_seq).await?;
        Ok(JoinedView::new(joined, held))
    }

    /// Watches a conversation silently (a supervisor): `session` receives
    /// its events like an observer, but is not listed among the observers
    /// and never becomes the active responder by joining. Needs
    /// `conversations.assign` on it.
    pub async fn watch(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
        after_seq: Option<u64>,
    ) -> Result<JoinedView, AppError> {
        let (mut room, held) = self.visible_room(session, id).await?;
        if !held.contains(Permission::ConversationsAssign) {
            return Err(AppError::forbidden(
                "watching a conversation needs the permission conversations.assign",
            ));
        }
        let joined = room.watch(session, after_seq).await?;
        Ok(JoinedView::new(joined, held))
    }

    /// The agents the user may assign to, by name, and every change to
    /// them from now on (`agent_status`, `agent_removed`). A second
    /// subscription starts anew. Needs `conversations.assign` somewhere.
    pub async fn subscribe_agents(&self, session: &Arc<Conn>) -> Result<Vec<AgentState>, AppError> {
        let hub = self.live_hub()?;
        let principal = &session.principal;
        let access = self.access_of(principal.account_id()).await?;
        let me = principal.id();
        if !access
            .held_anywhere(me)
            .contains(Permission::ConversationsAssign)
        {
            return Err(AppError::forbidden(
                "following the agents needs the permission conversations.assign",
            ));
        }
        // Subscribed before the list is read: a change made meanwhile arrives.
        hub.subscribe_agents(session).await;
        let mut agents = self.store.agents(principal.account_id()).await?;
        agents.retain(|agent| access.may_assign_to(me, agent.user.id));
        agents.sort_by(|a, b| {
            a.user
                .name
                .cmp(&b.user.name)
                .then(a.user.id.cmp(&b.user.id))
        });
        for agent in &agents {
            session.agent_news(agent.user.id, true);
        }
        Ok(agents)
    }

    /// Stops the agent events of `subscribe_agents`.
    pub fn unsubscribe_agents(&self, session: &Arc<Conn>) -> Result<(), AppError> {
        self.live_hub()?.unsubscribe_agents(session);
        Ok(())
    }

    /// "Start chatting"; with `force`, takes the role from its holder.
    pub async fn take(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
        force: bool,
    ) -> Result<Snapshot, AppError> {
        let (mut room, held) = self.writable_room(session, id).await?;
        if force && !held.contains(Permission::ConversationsTakeOver) {
            return Err(AppError::forbidden(
                "taking over needs the permission conversations.take_over",
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
        let (mut room, _) = self.visible_room(session, id).await?;
        Ok(room.release(session.user().id).await?)
    }

    /// Stops observing (the role goes with the user's last connection).
    pub async fn leave(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
    ) -> Result<Snapshot, AppError> {
        let (mut room, _) = self.visible_room(session, id).await?;
        Ok(room.leave(session).await?)
    }

    /// Stores a message of the active responder, acknowledged once committed.
    pub async fn send(
        &self,
        session: &Arc<Conn>,
        id: ConversationId,
        client_msg_id: ClientMsgId,
        outgoing: Outgoing,
    ) -> Result<Sent, AppError> {
        let template = match &outgoing {
            Outgoing::Template(template) => self.template_to_send(*template).await?,
            Outgoing::Body(_) => None,
        };
        let (mut room, held) = self.writable_room(session, id).await?;
        let body = match outgoing {
            Outgoing::Body(body) => body,
            Outgoing::Template(_) => {
                let sender = &session.principal;
                let name = &session.user().name;
                self.rendered_template(sender, name, &room.card(), template)
                    .await?
            }
        };
        let bodies = held.contains(Permission::MessagesReadBodies);
        let message = room.send(session, &client_msg_id, &body).await?;
        Ok(Sent { message, bodies })
    }

    /// The active responder types: their role stays alive, the others see it.
    pub async fn typing(&self, session: &Arc<Conn>, id: ConversationId) -> Result<(), AppError> {
        let (mut room, _) = self.writable_room(session, id).await?;
        Ok(room.typing(session.user().id).await?)
    }
}

impl App {
    /// The room of a conversation `session` may see, locked, with what the
    /// user holds on it now; any other is not found, whether it exists or
    /// not.
    async fn visible_room<'h>(
        &'h self,
        session: &Conn,
        id: ConversationId,
    ) -> Result<(RoomHandle<'h>, PermissionSet), AppError> {
        let hub = self.live_hub()?;
        let access = self.access_of(session.principal.account_id()).await?;
        let user = session.user().id;
        let room = hub
            .room(id, |conversation| {
                access.allows(user, Permission::ConversationsView, conversation)
            })
            .await?;
        let held = access.on_conversation(user, room.resource());
        Ok((room, held))
    }

    /// The room of a conversation `session` may see and answer.
    async fn writable_room<'h>(
        &'h self,
        session: &Conn,
        id: ConversationId,
    ) -> Result<(RoomHandle<'h>, PermissionSet), AppError> {
        let (room, held) = self.visible_room(session, id).await?;
        if !held.contains(Permission::ConversationsAnswer) {
            return Err(AppError::forbidden(MAY_NOT_ANSWER));
        }
        Ok((room, held))
    }
}
