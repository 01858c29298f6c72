//! The messenger on a locked room: joining, taking the active role,
//! releasing it, leaving, sending and typing, and carrying out what the
//! core's [`Room`](switchboard_core::presence::Room) decides (store calls,
//! `lock_lost` frames, one presence broadcast per change).
//!
//! Who may do what is decided by the caller (the application layer) before
//! it calls here; the room only knows whether a member may ever write.

use std::collections::VecDeque;
use std::sync::Arc;

use switchboard_core::error::StoreError;
use switchboard_core::input::{ClientMsgId, MessageBody};
use switchboard_core::model::{Acquired, Appended, Message, NewOutbound};
use switchboard_core::ports::ClusterEvent;
use switchboard_core::presence::{Effect, Effects, Snapshot, TakeRefused};
use switchboard_core::{ConversationId, UserId};

use super::cluster::told_by_origin;
use super::conn::Conn;
use super::delivery::Viewer;
use super::rooms::{RoomEntry, RoomError, RoomHandle, RoomState};
use super::{Hub, backlog};

/// The share of the outbox a join ack's messages may fill (one over this):
/// the rest is room for the live frames queued with it.
const ACK_SHARE_OF_OUTBOX: usize = 2;

/// What joining a conversation gives the joiner.
#[derive(Debug)]
pub struct Joined {
    pub presence: Snapshot,
    /// The messages after `after_seq`, or the newest: a page bounded by
    /// count and by bytes (see `backlog`).
    pub messages: Vec<Message>,
    pub last_seq: u64,
    /// With `after_seq`: whether these were all of them.
    pub complete: Option<bool>,
}

impl RoomHandle<'_> {
    pub fn id(&self) -> ConversationId {
        self.entry.id
    }

    /// The presence as viewers see it.
    pub fn presence(&self) -> Snapshot {
        self.st.room.snapshot()
    }

    /// `conn` views the conversation (once per connection): it becomes an
    /// observer, or the active responder if nobody is there and
    /// `may_write`. A connection that was watching takes part from now on.
    pub async fn join(
        &mut self,
        conn: &Arc<Conn>,
        may_write: bool,
        after_seq: Option<u64>,
    ) -> Result<Joined, RoomError> {
        self.view(conn, Seat::Member { may_write }, after_seq).await
    }

    /// `conn` watches the conversation (a supervisor): it receives what
    /// viewers receive, but is no member of the room: nobody sees it among
    /// the observers and it never becomes the active responder by joining.
    /// A connection that already views the conversation keeps its seat.
    pub async fn watch(
        &mut self,
        conn: &Arc<Conn>,
        after_seq: Option<u64>,
    ) -> Result<Joined, RoomError> {
        self.view(conn, Seat::Watcher, after_seq).await
    }

    /// Joins or watches. The messages are read before joining, under the
    /// room's lock: no send slips between the read and the join, and live
    /// messages up to the read are not delivered twice.
    async fn view(
        &mut self,
        conn: &Arc<Conn>,
        seat: Seat,
        after_seq: Option<u64>,
    ) -> Result<Joined, RoomError> {
        self.may_join(conn)?;
        let store = self.hub.store.as_ref();
        let id = self.entry.id;
        let budget = self.hub.settings.outbox.bytes / ACK_SHARE_OF_OUTBOX;
        let (messages, complete) = match after_seq {
            Some(after) => {
                let (messages, complete) = backlog::after(store, id, after, budget).await?;
                (messages, Some(complete))
            }
            None => (backlog::recent(store, id, budget).await?, None),
        };
        let watermark = messages
            .last()
            .map(|m| m.seq)
            .unwrap_or(0)
            .max(after_seq.unwrap_or(0));
        match seat {
            Seat::Member { may_write } => self.ensure_joined(conn, may_write).await,
            Seat::Watcher => self.ensure_watching(conn),
        }
        if let Some(viewer) = self.viewer_mut(conn) {
            viewer.watermark = viewer.watermark.max(watermark);
        }
        Ok(Joined {
            presence: self.presence(),
            messages,
            last_seq: self.entry.card.last_seq().max(watermark),
            complete,
        })
    }

    /// Whether `conn` may view one more conversation: each connection views
    /// a bounded number, so one client cannot make the node hold (and the
    /// bus carry) rooms without end.
    fn may_join(&self, conn: &Arc<Conn>) -> Result<(), RoomError> {
        let max = self.hub.settings.max_joined_per_connection;
        let viewing = self.st.viewers.iter().any(|v| Arc::ptr_eq(&v.conn, conn));
        if !viewing && conn.joined.lock().len() >= max {
            return Err(RoomError::TooManyJoined { max });
        }
        Ok(())
    }

    /// Makes `conn` a viewer and a member of the room (once; a watcher
    /// becomes a member). A store failure while granting leaves the user
    /// an observer.
    async fn ensure_joined(&mut self, conn: &Arc<Conn>, may_write: bool) {
        match self.viewer_mut(conn) {
            Some(viewer) if !viewer.watching => return,
            Some(viewer) => viewer.watching = false,
            None => self.add_viewer(conn, false),
        }
        let effects = self
            .st
            .room
            .join(conn.user().clone(), may_write, self.hub.now());
        if let Err(error) = self.carry_out(effects).await {
            tracing::warn!(%error, conversation = %self.entry.id, "joined, but the role could not be granted");
        }
    }

    /// Makes `conn` a watcher, unless it already views the conversation.
    fn ensure_watching(&mut self, conn: &Arc<Conn>) {
        if self.viewer_mut(conn).is_none() {
            self.add_viewer(conn, true);
        }
    }

    fn add_viewer(&mut self, conn: &Arc<Conn>, watching: bool) {
        conn.joined.lock().push(self.entry.id);
        self.st.viewers.push(Viewer {
            conn: conn.clone(),
            watermark: 0,
            watching,
        });
    }

    fn viewer_mut(&mut self, conn: &Arc<Conn>) -> Option<&mut Viewer> {
        self.st
            .viewers
            .iter_mut()
            .find(|v| Arc::ptr_eq(&v.conn, conn))
    }

    /// "Start chatting" (joining first if need be); `force` takes the role
    /// from its holder.
    pub async fn take(
        &mut self,
        conn: &Arc<Conn>,
        may_write: bool,
        force: bool,
    ) -> Result<Snapshot, RoomError> {
        self.may_join(conn)?;
        let newly_joined = self.viewer_mut(conn).is_none_or(|v| v.watching);
        let version = self.st.room.version();
        self.ensure_joined(conn, may_write).await;
        let taken = self.take_joined(conn.user().id, force).await;
        // Refused, the connection stays joined as an observer: it sees who
        // is there, which a `presence` event told it only if its joining
        // changed the presence (the user may be there through another tab
        // or node already).
        if taken.is_err() && newly_joined && self.st.room.version() == version {
            self.show_presence(conn);
        }
        taken
    }

    /// The presence, as an event to `conn` alone.
    fn show_presence(&self, conn: &Arc<Conn>) {
        let viewer = self.st.viewers.iter().find(|v| Arc::ptr_eq(&v.conn, conn));
        if let Some(viewer) = viewer {
            self.hub.delivery.presence(
                self.entry.id,
                self.resource(),
                std::slice::from_ref(viewer),
                &self.presence(),
            );
        }
    }

    /// `take` by a user joined already.
    async fn take_joined(&mut self, user: UserId, force: bool) -> Result<Snapshot, RoomError> {
        let mut answer = self.st.room.take(user, force);
        if matches!(answer, Err(TakeRefused::Locked(_))) && self.held_elsewhere() {
            self.confirm_holder().await?;
            answer = self.st.room.take(user, force);
        }
        let effects = answer.map_err(|refused| match refused {
            TakeRefused::Locked(holder) => RoomError::Locked(holder),
            TakeRefused::MayNotWrite => RoomError::MayNotWrite,
            TakeRefused::NotMember => {
                RoomError::Store(StoreError::Internal("a joined user is no member".into()))
            }
        })?;
        self.carry_out(effects).await?;
        match self.st.room.active() {
            Some(holder) if holder.user.id == user => Ok(self.presence()),
            Some(holder) => Err(RoomError::Locked(holder.user.clone())),
            None => Err(RoomError::NotGranted),
        }
    }

    /// `user` gives up the active role (nothing changes if they do not hold it).
    pub async fn release(&mut self, user: UserId) -> Result<Snapshot, RoomError> {
        let effects = self.st.room.release(user, self.hub.now());
        self.carry_out(effects).await?;
        Ok(self.presence())
    }

    /// `conn` stops viewing; the role goes with the user's last connection.
    pub async fn leave(&mut self, conn: &Arc<Conn>) -> Result<Snapshot, RoomError> {
        if let Some(viewer) = take_viewer(&mut self.st.viewers, conn) {
            conn.joined.lock().retain(|c| *c != self.entry.id);
            if !viewer.watching {
                let effects = self.st.room.leave(conn.user().id, self.hub.now());
                self.carry_out(effects).await?;
            }
        }
        Ok(self.presence())
    }

    /// Stores a message of the active responder and delivers it.
    ///
    /// The store checks the role itself (the fencing epoch, in the same
    /// transaction as the insert), so a writer this room wrongly believes
    /// active is refused there. A user who is not active here presents no
    /// epoch and is refused too, except for a retry of a message they stored
    /// while active: the store answers it with that message, so a client
    /// that resends after losing the role still gets its ack.
    pub async fn send(
        &mut self,
        conn: &Arc<Conn>,
        client_msg_id: &ClientMsgId,
        body: &MessageBody,
    ) -> Result<Message, RoomError> {
        let hub = self.hub;
        let id = self.entry.id;
        let user = conn.user().id;
        let epoch = self.st.room.epoch_of(user);
        #[cfg(feature = "mutations")]
        if epoch.is_some() && crate::mutations::on(&crate::mutations::DELIVER_BEFORE_COMMIT) {
            let early = Message {
                id: switchboard_core::ids::MessageId::new(),
                conversation_id: id,
                seq: self.st.delivered + 1,
                direction: switchboard_core::model::Direction::Outbound,
                author: Some(conn.user().clone()),
                body: body.as_str().to_owned(),
                created_at: chrono::Utc::now(),
            };
            hub.deliver_in_order(&self.entry, &mut self.st, &early, Some(conn))
                .await;
        }
        let appended = hub
            .store
            .append_outbound(NewOutbound {
                conversation_id: id,
                author: user,
                epoch: epoch.unwrap_or(0),
                client_msg_id: client_msg_id.as_str(),
                body: body.as_str(),
            })
            .await;
        match appended {
            Ok(Appended::Stored(message)) => {
                let _ = self.st.room.activity(user, hub.now());
                hub.schedule(&self.entry, &self.st);
                hub.metrics.messages.inc();
                hub.deliver_in_order(&self.entry, &mut self.st, &message, Some(conn))
                    .await;
                hub.message_stored(&self.entry, &message).await;
                hub.publish(|| ClusterEvent::Message {
                    conversation_id: id,
                    message: message.clone(),
                })
                .await;
                Ok(message)
            }
            Ok(Appended::Duplicate(message)) => Ok(message),
            Err(StoreError::Fenced) => {
                if epoch.is_some() {
                    // This room believed the user active: learn who is.
                    self.learn_holder().await;
                }
                Err(RoomError::NotActive)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// `user` types: keeps their role alive, and the others see it.
    pub async fn typing(&mut self, user: UserId) -> Result<(), RoomError> {
        let hub = self.hub;
        if self.st.room.activity(user, hub.now()).is_err() {
            return Err(RoomError::NotActive);
        }
        hub.schedule(&self.entry, &self.st);
        hub.delivery
            .typing(self.entry.id, self.resource(), &self.st.viewers, user);
        hub.publish(|| ClusterEvent::Typing {
            conversation_id: self.entry.id,
            user_id: user,
        })
        .await;
        Ok(())
    }

    /// Whether the room believes the role was granted through another node.
    fn held_elsewhere(&self) -> bool {
        self.st.room.active().is_some_and(|h| !h.local)
    }

    /// A refusal that rests on another node's holder is checked against
    /// the store, the authority: that node may have released the role a
    /// moment ago, acknowledged it, and its news still be on the bus. The
    /// holder's own node tells them why they lost the role (its `Holder`
    /// event carries the reason); this node only learns who holds it now.
    async fn confirm_holder(&mut self) -> Result<(), RoomError> {
        let lock = self.hub.store.lock_state(self.entry.id).await?;
        let effects = self
            .st
            .room
            .holder_seen(lock.holder, lock.epoch, self.hub.now());
        self.carry_out(told_by_origin(effects, None, None)).await?;
        Ok(())
    }

    /// The store refused a write this room expected to pass: learn who
    /// holds the role now, so the room (and a stale local holder) catch up.
    async fn learn_holder(&mut self) {
        match self.hub.store.lock_state(self.entry.id).await {
            Ok(lock) => {
                let effects = self
                    .st
                    .room
                    .holder_seen(lock.holder, lock.epoch, self.hub.now());
                if let Err(error) = self.carry_out(effects).await {
                    tracing::warn!(%error, "could not carry out a holder change");
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the lock state"),
        }
    }

    async fn carry_out(&mut self, effects: Effects) -> Result<(), StoreError> {
        self.hub.carry_out(&self.entry, &mut self.st, effects).await
    }
}

impl Hub {
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
                            self.set_granted_here(entry, st, Some(epoch));
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
                        self.set_granted_here(entry, st, None);
                    }
                    decided = true;
                    if let Err(error) = self.store.release_lock(entry.id, user, epoch).await {
                        // The lease runs out on its own; the store stays the authority.
                        tracing::warn!(%error, conversation = %entry.id, "could not record a release");
                    }
                }
                Effect::LockLost { user, reason: why } => {
                    reason = reason.or(Some(why));
                    self.delivery.lock_lost(entry.id, &st.viewers, user, why);
                }
                Effect::Changed => changed = true,
            }
        }
        if st.granted_here.is_some() && st.granted_here != st.room.active().map(|h| h.epoch) {
            self.set_granted_here(entry, st, None);
        }
        // The other nodes first: their observers wait on the bus, ours only
        // on the frames below.
        if decided {
            self.holder_changed(entry, st, reason).await;
        }
        if changed {
            self.presence_changed(entry, st, decided).await;
        }
        self.announce(entry, st).await;
        self.schedule(entry, st);
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn set_granted_here(&self, entry: &RoomEntry, st: &mut RoomState, epoch: Option<u64>) {
        if st.granted_here.is_none() && epoch.is_some() {
            self.metrics.locks_held.inc();
        } else if st.granted_here.is_some() && epoch.is_none() {
            self.metrics.locks_held.dec();
        }
        if st.granted_here != epoch {
            self.rooms.set_granted(entry.id, epoch);
        }
        st.granted_here = epoch;
    }

    /// Broadcasts the presence to every viewer and updates "Answered by".
    /// The node that granted or released the role (`decided`) tells the
    /// others of the new card, one card per change across the cluster;
    /// the other nodes holding the room learned the change from its
    /// `Holder` event and show the card to their own subscribers. (A node
    /// that dies tells nobody: the node that buries it sends the cards.)
    async fn presence_changed(&self, entry: &RoomEntry, st: &RoomState, decided: bool) {
        let snapshot = st.room.snapshot();
        let resource = entry.card.resource();
        self.delivery
            .presence(entry.id, resource, &st.viewers, &snapshot);
        let answered_by = snapshot.active.map(|(user, _)| user);
        if let Some(card) = entry.card.answered_by(answered_by, st.room.epoch()) {
            match decided {
                true => self.card_changed(card).await,
                false => self.delivery.card(&card, &self.connections),
            }
        }
    }

    /// One connection of a user dropped: the user keeps their place for the grace.
    pub(super) async fn disconnect_from(&self, conn: &Arc<Conn>, conversation: ConversationId) {
        let Some((entry, mut st)) = self.existing_room(conversation).await else {
            return;
        };
        let viewer = take_viewer(&mut st.viewers, conn);
        if viewer.is_some_and(|v| !v.watching) {
            let effects = st.room.disconnect(conn.user().id, self.now());
            if let Err(error) = self.carry_out(&entry, &mut st, effects).await {
                tracing::warn!(%error, "could not carry out a disconnect");
            }
        }
        self.schedule(&entry, &st);
        self.drop_if_idle(&entry, &mut st);
    }
}

/// How a connection views a room.
#[derive(Debug, Clone, Copy)]
enum Seat {
    /// An observer, or the active responder: in the presence everyone sees.
    Member { may_write: bool },
    /// A supervisor watching silently.
    Watcher,
}

/// Removes `conn`'s viewer from the room's, if it was there.
fn take_viewer(viewers: &mut Vec<Viewer>, conn: &Arc<Conn>) -> Option<Viewer> {
    let index = viewers.iter().position(|v| Arc::ptr_eq(&v.conn, conn))?;
    Some(viewers.remove(index))
}
