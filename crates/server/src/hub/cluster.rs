//! Cluster mode: what this node tells the others through the bus, and what
//! it does with what they tell it.
//!
//! Rooms on every node hold the same presence: each node announces its own
//! viewers (a shared record plus a `Member` event) and its own decisions on
//! the active role (`Holder` events), and applies the others'. The store
//! stays the authority on the role: an event can only make a room learn a
//! holder at a newer epoch. Messages travel as events too and are delivered
//! to local viewers in sequence order, gaps filled from the store.
//!
//! When the bus comes back after an outage, or this node finds it was taken
//! for dead, it re-announces its viewers and re-reads every room's remote
//! viewers, holder and messages: presence re-converges without anybody
//! reconnecting.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use switchboard_core::model::UserRef;
use switchboard_core::ports::{BusDelivery, ClusterEvent, Envelope, Topic};
use switchboard_core::presence::{Effect, Effects, LockLostReason};
use switchboard_core::{ConversationId, NodeId, StoreError, UserId};
use tokio::sync::mpsc;

use super::Hub;
use super::rooms::{RoomEntry, RoomState};

/// Deliveries from the bus waiting for the hub, at most; past it they are
/// dropped and the node resynchronizes.
const INBOX: usize = 65_536;
/// Bus writes waiting, at most.
const OUTBOX: usize = 65_536;
/// Rooms whose role one store read asks about when a node is buried.
const LOCK_STATES_BATCH: usize = 1000;
/// Cards of a dead node's released roles read and published at once.
const CARDS_AT_ONCE: usize = 4;

/// A write to the bus that need not hold a room.
#[derive(Debug)]
pub(super) enum BusOp {
    /// Stop following a topic nobody here needs any more (checked again
    /// when the op runs: a room may have come back meanwhile).
    Forget(Topic),
}

/// The hub's end of the bus queues.
#[derive(Debug)]
pub(super) struct Links {
    pub ops: mpsc::Sender<BusOp>,
}

/// What reading the roles does with a room busy now.
#[derive(Debug, Clone, Copy)]
enum Busy {
    /// Waits for it (a burial: every room must learn).
    Wait,
    /// Skips it (a periodic check, run again soon).
    Skip,
}

/// What this node knows of the cluster.
#[derive(Debug, Default)]
pub(super) struct ClusterState {
    /// Cluster mode only: the queues to and from the bus.
    links: OnceLock<Links>,
    /// Something from or to the bus was lost: re-read everything.
    pub resync_wanted: AtomicBool,
    /// The other nodes last seen alive.
    pub peers: parking_lot::Mutex<HashSet<NodeId>>,
    /// Nodes heard from that were not among the peers, with when they
    /// were first heard (monotonic: a jump of the wall clock must not
    /// bury a node that is about to beat). A node buried here that comes back on
    /// the bus announces its viewers before it beats again, and may lose
    /// the bus again before it beats at all: its viewers would then stay
    /// here for good. So a stranger not seen live within the liveness
    /// window of being heard is buried (see `watch_peers`).
    pub strangers: parking_lot::Mutex<HashMap<NodeId, tokio::time::Instant>>,
    /// When this node's heartbeat last reached the bus (hub clock).
    pub last_heartbeat: AtomicU64,
    /// When the bus last came back after being lost (hub clock; 0: never).
    /// A Redis that restarted empty has lost every node's heartbeat: for
    /// one liveness window after, a peer missing from the live set is
    /// given time to beat again rather than buried.
    pub bus_back_at: AtomicU64,
    /// The bus came back and the settling window after it has not ended
    /// yet: when it ends, every room is read again (see `watch_peers`).
    pub settle_pending: AtomicBool,
    /// This node's last heartbeat failed (the bus is away).
    pub heartbeat_failed: AtomicBool,
    /// Viewers who left here while the bus was away: their shared record
    /// or the others' news of it may be missing, and a room gone since
    /// will not announce them again. Said again at the next resync.
    pub owed_leaves: parking_lot::Mutex<HashSet<(ConversationId, UserId)>>,
    /// Rooms whose holder the store could not tell (it was away when a
    /// node was buried, or at a resync): read again on every watch of the
    /// peers until it answers, or a room could show a dead node's holder
    /// for good.
    pub unsure: parking_lot::Mutex<HashSet<ConversationId>>,
    /// Roles the store renewed for this node at the last renewal that no
    /// room here believed it held (see `Hub::end_orphan_roles`).
    pub orphan_roles: parking_lot::Mutex<HashSet<(ConversationId, u64)>>,
}

impl ClusterState {
    /// The bus is reachable again after being lost: a settling window
    /// starts, at whose end every room is read again.
    pub fn bus_came_back(&self, now: u64) {
        self.bus_back_at.store(now, Ordering::SeqCst);
        self.settle_pending.store(true, Ordering::SeqCst);
    }

    /// An event from `node` is about to be applied here.
    pub fn heard_from(&self, node: NodeId) {
        if !self.peers.lock().contains(&node) {
            self.strangers
                .lock()
                .entry(node)
                .or_insert_with(tokio::time::Instant::now);
        }
    }

    /// The strangers not seen live within `window` of being first heard:
    /// forgotten here, to be buried. Those seen live are peers now.
    pub fn strangers_gone(&self, live: &HashSet<NodeId>, window: Duration) -> Vec<NodeId> {
        let mut gone = Vec::new();
        self.strangers.lock().retain(|node, heard_at| {
            if live.contains(node) {
                return false;
            }
            let overdue = heard_at.elapsed() >= window;
            if overdue {
                gone.push(*node);
            }
            !overdue
        });
        gone
    }
}

impl Hub {
    /// Starts listening to the bus and writing to it. Only in cluster mode.
    pub fn start_cluster(self: &Arc<Self>) {
        let (deliveries_tx, deliveries) = mpsc::channel::<BusDelivery>(INBOX);
        let hub = Arc::downgrade(self);
        let metrics_hub = Arc::downgrade(self);
        self.bus.attach(Arc::new(move |delivery| {
            if deliveries_tx.try_send(delivery).is_err()
                && let Some(hub) = metrics_hub.upgrade()
            {
                // Full: what was dropped is read back from the sources.
                hub.cluster.resync_wanted.store(true, Ordering::SeqCst);
            }
        }));
        let (ops_tx, ops) = mpsc::channel::<BusOp>(OUTBOX);
        let _ = self.cluster.links.set(Links { ops: ops_tx });
        tokio::spawn(receive(hub.clone(), deliveries));
        tokio::spawn(write(hub, ops));
    }

    /// Follows every account's access changes (before serving: a change
    /// made elsewhere from now on is heard). A bus that is away now is
    /// followed again when it comes back (`resync`).
    pub async fn follow_access(&self) {
        if let Err(error) = self.bus.set_interest(Topic::Access, true).await {
            tracing::warn!(%error, "could not follow access changes on the bus yet");
        }
    }

    pub(super) fn clustered(&self) -> bool {
        self.cluster.links.get().is_some()
    }

    /// Publishes an event for the other nodes. Losing one is survivable
    /// (they resynchronize when the bus comes back), so failures are logged.
    pub(super) async fn publish(&self, event: impl FnOnce() -> ClusterEvent) -> bool {
        if !self.clustered() {
            return true;
        }
        if let Err(error) = self.bus.publish(event()).await {
            tracing::debug!(%error, "could not publish to the bus");
            self.cluster.resync_wanted.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn queue(&self, op: BusOp) {
        if let Some(links) = self.cluster.links.get()
            && links.ops.try_send(op).is_err()
        {
            self.cluster.resync_wanted.store(true, Ordering::SeqCst);
        }
    }

    /// Announces the viewers who arrived here or left here since the last
    /// announcement of this room.
    pub(super) async fn announce(&self, entry: &RoomEntry, st: &mut RoomState) {
        if !self.clustered() {
            return;
        }
        let here: Vec<(UserRef, bool)> = st
            .room
            .members()
            .iter()
            .filter(|m| m.here())
            .map(|m| (m.user.clone(), m.may_write))
            .collect();
        let arrived: Vec<(UserRef, bool)> = here
            .iter()
            .filter(|(u, _)| !st.announced.contains(&u.id))
            .cloned()
            .collect();
        let left: Vec<UserId> = st
            .announced
            .iter()
            .filter(|id| !here.iter().any(|(u, _)| u.id == **id))
            .copied()
            .collect();
        for (user, may_write) in arrived {
            st.announced.push(user.id);
            self.member_changed(entry.id, user, may_write, true).await;
        }
        for id in left {
            st.announced.retain(|a| *a != id);
            let user = UserRef {
                id,
                name: String::new(),
            };
            self.member_changed(entry.id, user, false, false).await;
        }
    }

    /// Records the change in the shared presence, then tells the others:
    /// in this order, a node that builds the room meanwhile (it follows the
    /// topic first, then reads the record) cannot miss it.
    async fn member_changed(
        &self,
        conversation: ConversationId,
        user: UserRef,
        may_write: bool,
        present: bool,
    ) {
        let owed = (conversation, user.id);
        tracing::debug!(node = %self.node, %conversation, user = %user.id, present,
            "announcing a viewer here");
        if present {
            self.cluster.owed_leaves.lock().remove(&owed);
        }
        let recorded = self
            .bus
            .set_present(conversation, &user, may_write, present)
            .await;
        if let Err(error) = &recorded {
            tracing::debug!(%error, "could not record presence on the bus");
            self.cluster.resync_wanted.store(true, Ordering::SeqCst);
        }
        let told = self
            .publish(|| ClusterEvent::Member {
                conversation_id: conversation,
                user,
                may_write,
                present,
            })
            .await;
        if !present && (recorded.is_err() || !told) {
            self.cluster.owed_leaves.lock().insert(owed);
        }
    }

    /// Rooms here showing a holder on another node read the store again
    /// (the clockwork calls it every lease): a role that ended while its
    /// node could tell nobody (cut from the store and the bus, its lease
    /// let lapse) is announced by no one, and would show for good.
    pub(super) async fn check_remote_holders(&self) {
        // A room busy now (waiting on the store, say) is looked at next
        // time: the timers wait behind no room.
        let held_elsewhere: Vec<ConversationId> = self
            .rooms
            .all()
            .into_iter()
            .filter(|entry| {
                entry
                    .try_lock()
                    .is_some_and(|st| st.room.active().is_some_and(|h| !h.local))
            })
            .map(|entry| entry.id)
            .collect();
        self.read_holders(&held_elsewhere, Busy::Skip, |batch, error| {
            tracing::debug!(%error, rooms = batch.len(), "could not read the roles held elsewhere");
        })
        .await;
    }

    /// Reads the roles of `rooms` from the store, a batch at a time, and
    /// shows each room here the holder the store has (a room busy now is
    /// waited for, or skipped, as `busy` says); a batch the store does not
    /// answer goes to `unread`.
    async fn read_holders(
        &self,
        rooms: &[ConversationId],
        busy: Busy,
        unread: impl Fn(&[ConversationId], &StoreError),
    ) {
        for batch in rooms.chunks(LOCK_STATES_BATCH) {
            let states = match self.store.lock_states(batch).await {
                Ok(states) => states,
                Err(error) => {
                    unread(batch, &error);
                    continue;
                }
            };
            for (id, lock) in states {
                let room = match busy {
                    Busy::Wait => self.existing_room(id).await,
                    Busy::Skip => self.idle_room(id),
                };
                let Some((entry, mut st)) = room else {
                    continue;
                };
                let effects = st.room.holder_seen(lock.holder, lock.epoch, self.now());
                self.settle(&entry, &mut st, effects).await;
            }
        }
    }

    /// Reads again the rooms whose holder the store could not tell.
    pub(super) async fn reread_unsure(&self) {
        let unsure: Vec<ConversationId> = self.cluster.unsure.lock().drain().collect();
        for id in unsure {
            let Some((entry, mut st)) = self.existing_room(id).await else {
                continue;
            };
            self.reconcile(&entry, &mut st).await;
            self.drop_if_idle(&entry, &mut st);
        }
    }

    /// Says again the leaves the bus may have missed (see `owed_leaves`),
    /// of viewers who have not come back here since.
    async fn repay_leaves(&self) {
        let owed: Vec<(ConversationId, UserId)> = self.cluster.owed_leaves.lock().drain().collect();
        for (conversation, id) in owed {
            let user = UserRef {
                id,
                name: String::new(),
            };
            self.member_changed(conversation, user, false, false).await;
        }
    }

    /// A room was just built: follow its topic, then learn who views it
    /// elsewhere and who holds it (in this order, so nothing falls between).
    pub(super) async fn learn_room(&self, entry: &RoomEntry, st: &mut RoomState) {
        if !self.clustered() {
            return;
        }
        if let Err(error) = self
            .bus
            .set_interest(Topic::Conversation(entry.id), true)
            .await
        {
            tracing::debug!(%error, "could not follow a conversation on the bus");
            self.cluster.resync_wanted.store(true, Ordering::SeqCst);
        }
        self.reconcile(entry, st).await;
    }

    /// Brings a room in line with the shared record (viewers elsewhere), the
    /// store (holder, messages) and delivers what local viewers missed.
    pub(super) async fn reconcile(&self, entry: &RoomEntry, st: &mut RoomState) {
        let now = self.now();
        let mut effects = Vec::new();
        if let Ok(present) = self.bus.present(entry.id).await {
            let remote: HashSet<(NodeId, UserId)> = present
                .iter()
                .filter(|(node, _, _)| *node != self.node)
                .map(|(node, user, _)| (*node, user.id))
                .collect();
            for (node, user, may_write) in present {
                if node != self.node {
                    tracing::debug!(node = %self.node, elsewhere = %node, conversation = %entry.id,
                        user = %user.id, "read a viewer elsewhere");
                    effects.extend(st.room.remote_join(node, user, may_write, now));
                }
            }
            let stale: Vec<(NodeId, UserId)> = st
                .room
                .members()
                .iter()
                .flat_map(|m| m.remote.iter().map(move |n| (*n, m.user.id)))
                .filter(|pair| !remote.contains(pair))
                .collect();
            for (node, user) in stale {
                effects.extend(st.room.remote_leave(node, user, now));
            }
        }
        match self.store.lock_state(entry.id).await {
            Ok(lock) => {
                self.cluster.unsure.lock().remove(&entry.id);
                effects.extend(st.room.holder_seen(lock.holder, lock.epoch, now));
            }
            Err(error) => {
                tracing::debug!(%error, "could not read a room's holder");
                self.cluster.unsure.lock().insert(entry.id);
            }
        }
        if let Err(error) = self.carry_out(entry, st, effects).await {
            tracing::warn!(%error, "could not reconcile a room");
        }
        if let Ok(Some(conversation)) = self.store.conversation(entry.id).await
            && conversation.last_seq > st.delivered
        {
            self.catch_up(entry, st, conversation.last_seq).await;
        }
    }

    /// This node's view of the role changed by its own doing: tell the others.
    pub(super) async fn holder_changed(
        &self,
        entry: &RoomEntry,
        st: &RoomState,
        reason: Option<LockLostReason>,
    ) {
        let holder = st.room.active().map(|h| h.user.clone());
        let epoch = st.room.epoch();
        self.publish(|| ClusterEvent::Holder {
            conversation_id: entry.id,
            holder,
            epoch,
            reason,
        })
        .await;
    }

    pub(super) fn forget_topic(&self, topic: Topic) {
        if self.clustered() {
            self.queue(BusOp::Forget(topic));
        }
    }

    async fn on_event(&self, envelope: Envelope) {
        let origin = envelope.origin;
        if origin != self.node {
            self.cluster.heard_from(origin);
        }
        match envelope.event {
            ClusterEvent::Summary { conversation } => {
                let card = self.card_news(*conversation);
                self.delivery.card(&card, &self.connections);
                self.card_reassigned(&card).await;
            }
            ClusterEvent::Access { account_id } => {
                self.access_changed_elsewhere(account_id).await;
            }
            ClusterEvent::SessionsEnded { user_id, ended } => {
                self.close_ended(user_id, ended);
            }
            ClusterEvent::Agent { state } => self.agent_changed(&state),
            ClusterEvent::Member {
                conversation_id,
                user,
                may_write,
                present,
            } => {
                let Some((entry, mut st)) = self.existing_room(conversation_id).await else {
                    return;
                };
                let now = self.now();
                tracing::debug!(node = %self.node, %origin, conversation = %conversation_id,
                    user = %user.id, present, "a viewer came or went elsewhere");
                let effects = if present {
                    st.room.remote_join(origin, user, may_write, now)
                } else {
                    st.room.remote_leave(origin, user.id, now)
                };
                self.settle(&entry, &mut st, effects).await;
            }
            ClusterEvent::Holder {
                conversation_id,
                holder,
                epoch,
                reason,
            } => {
                let Some((entry, mut st)) = self.existing_room(conversation_id).await else {
                    return;
                };
                let granted_here = st.room.active().filter(|h| h.local).map(|h| h.user.id);
                let effects = st.room.holder_seen(holder, epoch, self.now());
                let effects = told_by_origin(effects, reason, granted_here);
                self.settle(&entry, &mut st, effects).await;
            }
            ClusterEvent::Message {
                conversation_id,
                message,
            } => {
                let Some((entry, mut st)) = self.existing_room(conversation_id).await else {
                    return;
                };
                if let Some(author) = &message.author {
                    st.room.remote_activity(author.id, self.now());
                    self.schedule(&entry, &st);
                }
                self.deliver_in_order(&entry, &mut st, &message, None).await;
                entry.card.note_message(&message);
            }
            ClusterEvent::Typing {
                conversation_id,
                user_id,
            } => {
                let Some((entry, mut st)) = self.existing_room(conversation_id).await else {
                    return;
                };
                st.room.remote_activity(user_id, self.now());
                self.schedule(&entry, &st);
                self.delivery
                    .typing(entry.id, entry.card.resource(), &st.viewers, user_id);
            }
        }
    }

    async fn settle(&self, entry: &RoomEntry, st: &mut RoomState, effects: Effects) {
        if let Err(error) = self.carry_out(entry, st, effects).await {
            tracing::warn!(%error, "could not carry out a remote change");
        }
        self.drop_if_idle(entry, st);
    }

    /// Re-announces this node's viewers and re-reads every room.
    pub(super) async fn resync(&self) {
        self.cluster.resync_wanted.store(false, Ordering::SeqCst);
        tracing::info!(rooms = self.rooms.len(), "resynchronizing with the cluster");
        for account in self.connections.followed_accounts() {
            let _ = self.bus.set_interest(Topic::Account(account), true).await;
        }
        let _ = self.bus.set_interest(Topic::Access, true).await;
        // Taken for dead, this node's agents may have been taken offline.
        self.reannounce_consoles().await;
        for entry in self.rooms.all() {
            let Some(mut st) = entry.lock().await else {
                continue;
            };
            let _ = self
                .bus
                .set_interest(Topic::Conversation(entry.id), true)
                .await;
            // Announce everyone again: the others may have forgotten us.
            st.announced.clear();
            self.announce(&entry, &mut st).await;
            self.reconcile(&entry, &mut st).await;
            self.drop_if_idle(&entry, &mut st);
        }
        // Leaves from rooms gone since (the rooms above said their own).
        self.repay_leaves().await;
        // Access changed meanwhile went unheard: read every account again
        // (after the rooms, whose presence the others are waiting for).
        self.access_resync().await;
        // Ended sessions went unheard too.
        self.check_sessions(None).await;
    }

    /// Shutting down (after this node's roles were released in the store):
    /// tell the others its viewers and roles are gone, rather than let them
    /// wait for the heartbeat to time out.
    pub async fn depart(&self) {
        if !self.clustered() {
            return;
        }
        for entry in self.rooms.all() {
            let Some(mut st) = entry.lock().await else {
                continue;
            };
            if st.room.active().is_some_and(|h| h.local) {
                let epoch = st.room.epoch();
                self.publish(|| ClusterEvent::Holder {
                    conversation_id: entry.id,
                    holder: None,
                    epoch,
                    reason: Some(LockLostReason::NodeLost),
                })
                .await;
                // the role's one card: nobody answers
                if let Some(card) = entry.card.answered_by(None, epoch) {
                    self.publish(|| ClusterEvent::Summary {
                        conversation: Box::new(card),
                    })
                    .await;
                }
            }
            for id in std::mem::take(&mut st.announced) {
                let user = UserRef {
                    id,
                    name: String::new(),
                };
                self.member_changed(entry.id, user, false, false).await;
            }
        }
        if let Err(error) = self.bus.forget_node(self.node).await {
            tracing::debug!(%error, "could not remove this node's presence");
        }
    }

    /// Declares `node` dead: its viewers go, its roles end in the store.
    pub(super) async fn bury(&self, node: NodeId) {
        tracing::warn!(%node, "node stopped heartbeating; releasing its roles and presence");
        let started = std::time::Instant::now();
        // First every room forgets the dead node's viewers, which the
        // viewers here see at once (no store or bus on the way); the rooms
        // whose role was granted elsewhere, maybe through the dead node,
        // are noted.
        let mut ask = Vec::new();
        for entry in self.rooms.all() {
            let Some(mut st) = entry.lock().await else {
                continue;
            };
            let effects = st.room.node_lost(node, self.now());
            if st.room.active().is_some_and(|h| !h.local) {
                ask.push(entry.id);
            }
            self.settle(&entry, &mut st, effects).await;
        }
        let viewers_gone = started.elapsed();
        // Then the dead node's roles end in the store. Every surviving node
        // buries the dead one, but only the first gets its roles back: the
        // others learn of them by asking about every role granted elsewhere.
        let released = match self.store.release_node_locks(node).await {
            Ok(released) => released,
            Err(error) => {
                tracing::warn!(%error, "could not release a dead node's roles");
                Vec::new()
            }
        };
        let roles_released = started.elapsed();
        // A released role whose room here had not learned its holder is
        // asked about too.
        let noted: HashSet<ConversationId> = ask.iter().copied().collect();
        ask.extend(
            released
                .iter()
                .filter(|id| !noted.contains(id) && self.rooms.contains(**id)),
        );
        // Then the store's word on those roles, read a batch at a time.
        self.read_holders(&ask, Busy::Wait, |batch, error| {
            tracing::warn!(%error, "could not read the roles of a dead node's rooms");
            self.cluster.unsure.lock().extend(batch.iter().copied());
        })
        .await;
        let roles_seen = started.elapsed();
        let roles = released.len();
        // The dead node sends no card for the roles it held: the node that
        // released them in the store does, one per role (a room here shows
        // it already; `card_news` keeps the room's view).
        futures_util::stream::iter(released)
            .for_each_concurrent(CARDS_AT_ONCE, |id| async move {
                match self.store.conversation(id).await {
                    Ok(Some(card)) => {
                        let card = self.card_news(card);
                        self.card_changed(card).await;
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "could not read a released role's card"),
                }
            })
            .await;
        // Last, what no view waits for: the dead node's agents' consoles
        // (routing may hand their conversations on; it waits for the
        // account's routing lock, which every surviving node takes now),
        // and its records in the shared presence (which rooms built from
        // now on leave out already: the node is not live).
        match self.store.forget_node_agents(node).await {
            Ok(mut routed) => self.routed(&mut routed).await,
            Err(error) => tracing::warn!(%error, "could not take a dead node's agents offline"),
        }
        if let Err(error) = self.bus.forget_node(node).await {
            tracing::debug!(%error, "could not forget a dead node's presence");
        }
        tracing::info!(
            %node,
            rooms = self.rooms.len(),
            asked = ask.len(),
            roles,
            viewers_gone_ms = viewers_gone.as_millis() as u64,
            roles_released_ms = roles_released.as_millis() as u64,
            roles_seen_ms = roles_seen.as_millis() as u64,
            done_ms = started.elapsed().as_millis() as u64,
            "buried a node"
        );
    }
}

/// A role ended on another node: the holder's connections here are told
/// what the node that ended it told its own (`reason`), and nothing when it
/// told nobody (a `release`, or a `leave` through another tab). Without
/// this, this node could only guess from the holder it sees next.
///
/// One exception: a role granted through this node (`granted_here`) that
/// another user now holds, while the origin told nobody (it granted the
/// role after this node's lease lapsed or this node was taken for dead):
/// the holder's connections are here, so this node tells them itself.
pub(super) fn told_by_origin(
    effects: Effects,
    reason: Option<LockLostReason>,
    granted_here: Option<UserId>,
) -> Effects {
    effects
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::LockLost { user, reason: own } => match reason {
                Some(reason) => Some(Effect::LockLost { user, reason }),
                None if granted_here == Some(user) && own == LockLostReason::TakenOver => {
                    Some(Effect::LockLost { user, reason: own })
                }
                None => None,
            },
            other => Some(other),
        })
        .collect()
}

async fn receive(hub: std::sync::Weak<Hub>, mut deliveries: mpsc::Receiver<BusDelivery>) {
    while let Some(delivery) = deliveries.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        match delivery {
            BusDelivery::Event(envelope) => hub.on_event(envelope).await,
            BusDelivery::Reconnected => {
                hub.cluster.bus_came_back(hub.now());
                hub.resync().await
            }
        }
    }
}

async fn write(hub: std::sync::Weak<Hub>, mut ops: mpsc::Receiver<BusOp>) {
    while let Some(op) = ops.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        let result = match op {
            BusOp::Forget(topic) => {
                let needed = match topic {
                    Topic::Conversation(id) => hub.rooms.contains(id),
                    Topic::Account(id) => hub.connections.follows(id),
                    Topic::Access => true,
                };
                if needed {
                    Ok(())
                } else {
                    hub.bus.set_interest(topic, false).await
                }
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "bus write failed");
            hub.cluster.resync_wanted.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(user: UserId, reason: LockLostReason) -> Effect {
        Effect::LockLost { user, reason }
    }

    #[test]
    fn the_holder_is_told_the_reason_of_the_node_that_ended_the_role() {
        let user = UserId::new();
        let seen = vec![lost(user, LockLostReason::NodeLost), Effect::Changed];
        assert_eq!(
            told_by_origin(seen.clone(), Some(LockLostReason::Idle), None),
            vec![lost(user, LockLostReason::Idle), Effect::Changed]
        );
        assert_eq!(
            told_by_origin(seen, None, Some(user)),
            vec![Effect::Changed],
            "a release is told to nobody, but the presence still changes"
        );
    }

    #[test]
    fn a_role_granted_here_and_taken_elsewhere_unannounced_is_told_here() {
        let user = UserId::new();
        let taken = vec![lost(user, LockLostReason::TakenOver), Effect::Changed];
        assert_eq!(
            told_by_origin(taken.clone(), None, Some(user)),
            taken,
            "the origin could not tell the holder: their connections are here"
        );
        assert_eq!(
            told_by_origin(taken, None, None),
            vec![Effect::Changed],
            "a holder granted elsewhere is told by their own node"
        );
    }
}
