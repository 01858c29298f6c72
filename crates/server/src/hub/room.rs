//! One conversation's presence on this node: the core's room, the local
//! connections viewing it, and the effects of its decisions carried out.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use switchboard_core::error::StoreError;
use switchboard_core::model::{Acquired, Conversation, Message, UserRef};
use switchboard_core::ports::{ClusterEvent, Topic};
use switchboard_core::presence::{Effect, Effects, LockLostReason, Room};
use switchboard_core::{Action, ConversationId, Resource, UserId, can};
use switchboard_proto::server::{ErrorFrame, LockLost, MessageEvent, TypingEvent};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Hub;
use super::conn::Conn;
use super::frames::encode;
use crate::mapping;

#[derive(Debug)]
pub(super) struct RoomEntry {
    pub id: ConversationId,
    state: Arc<Mutex<RoomState>>,
    /// When the room next needs a tick (0: never); the sweeper reads it without the lock.
    pub deadline: AtomicU64,
    /// The conversation's card, kept current for `conversation` events.
    pub summary: parking_lot::Mutex<Conversation>,
}

/// A local connection viewing the conversation.
#[derive(Debug)]
pub(super) struct Viewer {
    pub conn: Arc<Conn>,
    /// The newest seq the join ack already carried: live messages up to it are skipped.
    pub watermark: u64,
}

#[derive(Debug)]
pub(super) struct RoomState {
    pub room: Room,
    pub viewers: Vec<Viewer>,
    /// The epoch of the role this node was granted and still believes held.
    pub granted_here: Option<u64>,
    /// The newest seq delivered to local viewers, in order.
    pub delivered: u64,
    /// The users this node announced on the bus as viewing from here.
    pub announced: Vec<UserId>,
    /// Set when the entry left the hub's map; a late locker looks again.
    closed: bool,
}

pub(super) type RoomGuard = OwnedMutexGuard<RoomState>;

impl RoomEntry {
    pub fn resource(&self) -> Resource {
        self.summary.lock().resource()
    }
}

impl Hub {
    /// The room of a conversation `conn` may see, loaded on first use, locked.
    /// Another account's conversation, or one the user may not see, is
    /// `not_found`: its existence is not revealed.
    pub(super) async fn lock_room(
        &self,
        conn: &Conn,
        id: ConversationId,
    ) -> Result<(Arc<RoomEntry>, RoomGuard), ErrorFrame> {
        loop {
            let entry = match self.rooms.get(&id).map(|e| e.clone()) {
                Some(entry) => entry,
                None => self.load_room(id).await?,
            };
            if !can(&conn.actor, Action::ViewConversation, entry.resource()) {
                return Err(not_found());
            }
            let guard = entry.state.clone().lock_owned().await;
            if guard.closed {
                continue;
            }
            return Ok((entry, guard));
        }
    }

    /// The room of a conversation if this node has one, locked.
    pub(super) async fn lock_existing(
        &self,
        id: ConversationId,
    ) -> Option<(Arc<RoomEntry>, RoomGuard)> {
        loop {
            let entry = self.rooms.get(&id).map(|e| e.clone())?;
            let guard = entry.state.clone().lock_owned().await;
            if !guard.closed {
                return Some((entry, guard));
            }
        }
    }

    /// Builds the room of a conversation. It is in the map (and locked)
    /// before it learns the cluster's state, so that an event arriving
    /// meanwhile waits for it instead of being missed.
    async fn load_room(&self, id: ConversationId) -> Result<Arc<RoomEntry>, ErrorFrame> {
        let conversation = self
            .store
            .conversation(id)
            .await
            .map_err(|e| self.store_failure(&e))?
            .ok_or_else(not_found)?;
        let delivered = conversation.last_seq;
        let entry = Arc::new(RoomEntry {
            id,
            state: Arc::new(Mutex::new(RoomState {
                room: Room::new(),
                viewers: Vec::new(),
                granted_here: None,
                delivered,
                announced: Vec::new(),
                closed: false,
            })),
            deadline: AtomicU64::new(0),
            summary: parking_lot::Mutex::new(conversation),
        });
        let mut guard = entry.state.clone().lock_owned().await;
        match self.rooms.entry(id) {
            dashmap::Entry::Occupied(existing) => return Ok(existing.get().clone()),
            dashmap::Entry::Vacant(vacant) => {
                vacant.insert(entry.clone());
                self.metrics.rooms.inc();
            }
        }
        self.learn_room(&entry, &mut guard).await;
        Ok(entry)
    }

    /// Carries out a room's decisions: store calls, `lock_lost` frames, and
    /// one presence broadcast at the end when anything changed.
    pub(super) async fn carry_out(
        &self,
        entry: &RoomEntry,
        st: &mut RoomState,
        effects: Effects,
    ) -> Result<(), StoreError> {
        let mut queue = VecDeque::from(effects);
        let mut changed = false;
        let mut failure = None;
        // Decisions of this node on the role, to be told to the others.
        let mut decided = false;
        let mut reason = None;
        while let Some(effect) = queue.pop_front() {
            let now = self.now();
            match effect {
                Effect::Acquire { user, force } => {
                    let answer = self
                        .store
                        .acquire_lock(entry.id, user, self.node, force, self.settings.lease)
                        .await;
                    match answer {
                        Ok(Acquired::Granted { epoch }) => {
                            self.set_granted_here(st, Some(epoch));
                            decided = true;
                            queue.extend(st.room.granted(user, epoch, now));
                        }
                        Ok(Acquired::Held { holder, epoch }) => {
                            queue.extend(st.room.holder_seen(Some(holder), epoch, now));
                        }
                        Err(error) => failure = Some(error),
                    }
                }
                Effect::Release { user, epoch } => {
                    if st.granted_here == Some(epoch) {
                        self.set_granted_here(st, None);
                    }
                    decided = true;
                    if let Err(error) = self.store.release_lock(entry.id, user, epoch).await {
                        // The lease runs out on its own; the store stays the authority.
                        tracing::warn!(%error, conversation = %entry.id, "could not record a release");
                    }
                }
                Effect::LockLost { user, reason: why } => {
                    reason = reason.or(Some(why));
                    self.send_lock_lost(entry, st, user, why);
                }
                Effect::Changed => changed = true,
            }
        }
        if st.granted_here.is_some() && st.granted_here != st.room.active().map(|h| h.epoch) {
            self.set_granted_here(st, None);
        }
        // The other nodes first: their observers wait on the bus, ours only
        // on the frames below.
        if decided {
            self.holder_changed(entry, st, reason).await;
        }
        if changed {
            self.presence_changed(entry, st).await;
        }
        self.announce(entry, st).await;
        self.schedule(entry, st);
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn set_granted_here(&self, st: &mut RoomState, epoch: Option<u64>) {
        match (st.granted_here.is_some(), epoch.is_some()) {
            (false, true) => {
                self.metrics.locks_held.inc();
            }
            (true, false) => {
                self.metrics.locks_held.dec();
            }
            _ => {}
        }
        st.granted_here = epoch;
    }

    /// Broadcasts the presence to every viewer and updates "Answered by".
    /// Every node holding the room tells the others of its new card: a
    /// node that departs (or dies) tells nobody, and a card one node sent
    /// from a view that was about to change is corrected by the next.
    async fn presence_changed(&self, entry: &RoomEntry, st: &RoomState) {
        let frame = encode(&ServerFrame::Presence(mapping::presence(
            entry.id, &st.room,
        )));
        let resource = entry.resource();
        for viewer in &st.viewers {
            if can(&viewer.conn.actor, Action::ViewConversation, resource) {
                self.deliver(&viewer.conn, &frame);
            }
        }
        let answered_by = st.room.active().map(|h| h.user.clone());
        let summary = {
            let mut summary = entry.summary.lock();
            if summary.answered_by == answered_by {
                return;
            }
            summary.answered_by = answered_by;
            summary.clone()
        };
        self.card_changed(summary).await;
    }

    /// Records when the room next needs the sweeper.
    pub(super) fn schedule(&self, entry: &RoomEntry, st: &RoomState) {
        let deadline = st.room.next_deadline(self.settings.timing).unwrap_or(0);
        entry.deadline.store(deadline, Ordering::Relaxed);
    }

    fn send_lock_lost(
        &self,
        entry: &RoomEntry,
        st: &RoomState,
        user: UserId,
        reason: LockLostReason,
    ) {
        let frame = encode(&ServerFrame::LockLost(LockLost {
            conversation_id: entry.id.as_uuid(),
            reason: mapping::lock_lost_reason(reason),
        }));
        for viewer in st.viewers.iter().filter(|v| v.conn.user.id == user) {
            self.deliver(&viewer.conn, &frame);
        }
    }

    /// Delivers a stored message to every viewer allowed to see it (but
    /// `skip`, the author's connection, whose ack carries it), with or
    /// without its body; each variant is serialized once.
    pub(super) fn deliver_message_to(
        &self,
        entry: &RoomEntry,
        st: &RoomState,
        message: &Message,
        skip: Option<&Arc<Conn>>,
    ) {
        let resource = entry.resource();
        let mut with_body: Option<Utf8Bytes> = None;
        let mut without_body: Option<Utf8Bytes> = None;
        for viewer in &st.viewers {
            if viewer.watermark >= message.seq || skip.is_some_and(|c| Arc::ptr_eq(c, &viewer.conn))
            {
                continue;
            }
            let actor = &viewer.conn.actor;
            if !can(actor, Action::ViewConversation, resource) {
                continue;
            }
            let bodies = can(actor, Action::ReadBodies, resource);
            let slot = if bodies {
                &mut with_body
            } else {
                &mut without_body
            };
            let frame = slot.get_or_insert_with(|| {
                encode(&ServerFrame::Message(MessageEvent {
                    conversation_id: entry.id.as_uuid(),
                    message: mapping::message(message, bodies),
                }))
            });
            self.deliver(&viewer.conn, frame);
        }
    }

    /// Updates the card after a new message stored here, and tells inbox
    /// subscribers (here and on the other nodes).
    pub(super) async fn message_stored(&self, entry: &RoomEntry, message: &Message) {
        self.note_message(entry, message);
        if !self.clustered()
            && !self
                .subscribers
                .contains_key(&entry.summary.lock().account_id)
        {
            // Nobody watches this account's list: no card to send.
            return;
        }
        let summary = entry.summary.lock().clone();
        self.card_changed(summary).await;
    }

    /// Updates the card after a new message (from here or elsewhere).
    pub(super) fn note_message(&self, entry: &RoomEntry, message: &Message) {
        let mut summary = entry.summary.lock();
        if message.seq > summary.last_seq {
            summary.last_seq = message.seq;
            summary.last_message_at = Some(message.created_at);
        }
    }

    /// A card changed by this node's doing: subscribers here and elsewhere.
    pub(super) async fn card_changed(&self, summary: Conversation) {
        self.summary_changed(&summary);
        self.publish(|| ClusterEvent::Summary {
            conversation: Box::new(summary),
        })
        .await;
    }

    /// Tells local viewers but the typist's connections that `user` types.
    pub(super) fn deliver_typing(&self, entry: &RoomEntry, st: &RoomState, user: UserId) {
        let frame = encode(&ServerFrame::Typing(TypingEvent {
            conversation_id: entry.id.as_uuid(),
            user_id: user.as_uuid(),
        }));
        let resource = entry.resource();
        for viewer in st.viewers.iter().filter(|v| v.conn.user.id != user) {
            if can(&viewer.conn.actor, Action::ViewConversation, resource) {
                self.deliver(&viewer.conn, &frame);
            }
        }
    }

    /// Drops a room nobody views and nobody holds, to keep memory bounded.
    pub(super) fn drop_if_idle(&self, entry: &RoomEntry, st: &mut RoomState) {
        if st.viewers.is_empty() && st.room.is_empty() && !st.closed {
            st.closed = true;
            if self.rooms.remove(&entry.id).is_some() {
                self.metrics.rooms.dec();
            }
            self.forget_topic(Topic::Conversation(entry.id));
        }
    }

    /// One connection of a user dropped: the user keeps their place for the grace.
    pub(super) async fn disconnect_from(&self, conn: &Arc<Conn>, conversation: ConversationId) {
        let Some((entry, mut st)) = self.lock_existing(conversation).await else {
            return;
        };
        st.viewers.retain(|v| !Arc::ptr_eq(&v.conn, conn));
        let effects = st.room.disconnect(conn.user.id, self.now());
        if let Err(error) = self.carry_out(&entry, &mut st, effects).await {
            tracing::warn!(%error, "could not carry out a disconnect");
        }
        self.schedule(&entry, &st);
        self.drop_if_idle(&entry, &mut st);
    }

    /// The holder as the wire shows it, for `locked` errors.
    pub(super) fn locked(holder: &UserRef) -> ErrorFrame {
        let mut frame = ErrorFrame::new(ErrorCode::Locked, format!("answered by {}", holder.name));
        frame.answered_by = Some(mapping::user_ref(holder));
        frame
    }

    pub(super) fn store_failure(&self, error: &StoreError) -> ErrorFrame {
        if matches!(error, StoreError::Internal(_) | StoreError::Unavailable(_)) {
            tracing::warn!(%error, "store call failed");
        }
        mapping::store_error(error)
    }

    pub(super) fn rooms_due(&self, now: u64) -> Vec<Arc<RoomEntry>> {
        self.rooms
            .iter()
            .filter(|e| {
                let due = e.deadline.load(Ordering::Relaxed);
                due != 0 && due <= now
            })
            .map(|e| e.clone())
            .collect()
    }

    pub(super) fn rooms_held_here(&self) -> Vec<Arc<RoomEntry>> {
        self.rooms.iter().map(|e| e.clone()).collect()
    }
}

pub(super) fn not_found() -> ErrorFrame {
    ErrorFrame::new(ErrorCode::NotFound, "conversation not found")
}

impl RoomEntry {
    pub(super) async fn lock(self: &Arc<Self>) -> Option<RoomGuard> {
        let guard = self.state.clone().lock_owned().await;
        (!guard.closed).then_some(guard)
    }
}
