//! The rooms: the presence of every conversation someone on this node views
//! (or whose active role this node granted), each behind one async lock
//! that serializes the core's [`Room`] decisions and the store calls they
//! lead to, so the room and the store never disagree on this node.
//!
//! A room is built on first use and dropped as soon as nobody views it and
//! nobody holds it, to keep memory bounded: a [`RoomHandle`] (a locked room,
//! what the messenger's use cases act on) drops its room on the way out
//! when it is left empty, whatever path the use case took.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use switchboard_core::error::StoreError;
use switchboard_core::model::{Conversation, UserRef};
use switchboard_core::ports::Topic;
use switchboard_core::presence::Room;
use switchboard_core::{ConversationId, Resource, UserId};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::Hub;
use super::cards::Card;
use super::delivery::Viewer;
use super::sync::{Entry, Map, Mutex as IndexMutex};

/// Why a room operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("conversation not found")]
    NotFound,
    #[error("answered by {}", .0.name)]
    Locked(UserRef),
    #[error("only the active responder may do this")]
    NotActive,
    #[error("the user may observe but not answer")]
    MayNotWrite,
    #[error("the role could not be granted")]
    NotGranted,
    #[error("this connection already views {max} conversations, the most it may; leave one first")]
    TooManyJoined { max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug)]
pub(super) struct RoomEntry {
    pub id: ConversationId,
    state: Arc<Mutex<RoomState>>,
    /// When the room next needs a tick (0: never); the sweeper reads it without the lock.
    pub deadline: AtomicU64,
    /// The conversation's card, kept current for `conversation` events.
    pub card: Card,
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
    /// Set when the entry left the map; a late locker looks again.
    closed: bool,
}

pub(super) type RoomGuard = OwnedMutexGuard<RoomState>;

#[cfg(all(test, feature = "shuttle"))]
impl RoomState {
    /// Whether the room left the map (the concurrency checks look).
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl RoomEntry {
    fn new(conversation: Conversation) -> Self {
        Self {
            id: conversation.id,
            state: Arc::new(Mutex::new(RoomState {
                room: Room::new(),
                viewers: Vec::new(),
                granted_here: None,
                delivered: conversation.last_seq,
                announced: Vec::new(),
                closed: false,
            })),
            deadline: AtomicU64::new(0),
            card: Card::new(conversation),
        }
    }

    /// The room locked, unless it was dropped meanwhile.
    pub async fn lock(self: &Arc<Self>) -> Option<RoomGuard> {
        let guard = self.state.clone().lock_owned().await;
        (!guard.closed).then_some(guard)
    }

    /// The room locked if nobody holds it now (and it was not dropped).
    pub fn try_lock(self: &Arc<Self>) -> Option<RoomGuard> {
        let guard = self.state.clone().try_lock_owned().ok()?;
        (!guard.closed).then_some(guard)
    }
}

/// The rooms of this node.
#[derive(Debug, Default)]
pub(super) struct Rooms {
    map: Map<ConversationId, Arc<RoomEntry>>,
    /// The rooms that will need a tick, by when: the sweeper, every 100
    /// ms, reads the due ones here instead of looking at every room.
    deadlines: IndexMutex<BTreeSet<(u64, ConversationId)>>,
    /// The roles granted through this node, by conversation (their epoch):
    /// what lease renewal checks, without locking every room.
    granted: IndexMutex<HashMap<ConversationId, u64>>,
}

impl Rooms {
    pub fn get(&self, id: ConversationId) -> Option<Arc<RoomEntry>> {
        self.map.get(&id).map(|e| e.clone())
    }

    pub fn contains(&self, id: ConversationId) -> bool {
        self.map.contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Adds a new room, or returns the one another task added first.
    fn insert(&self, entry: Arc<RoomEntry>) -> Result<(), Arc<RoomEntry>> {
        match self.map.entry(entry.id) {
            Entry::Occupied(existing) => Err(existing.get().clone()),
            Entry::Vacant(vacant) => {
                vacant.insert(entry);
                Ok(())
            }
        }
    }

    fn remove(&self, entry: &RoomEntry) -> bool {
        self.map
            .remove_if(&entry.id, |_, e| std::ptr::eq(e.as_ref(), entry))
            .is_some()
    }

    /// The rooms whose deadline passed by `now`.
    pub fn due(&self, now: u64) -> Vec<Arc<RoomEntry>> {
        let ids: Vec<ConversationId> = self
            .deadlines
            .lock()
            .iter()
            .take_while(|(deadline, _)| *deadline <= now)
            .map(|(_, id)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.get(id))
            .filter(|e| {
                let due = e.deadline.load(Ordering::Relaxed);
                due != 0 && due <= now
            })
            .collect()
    }

    /// Moves a room's deadline (0: none). Called under the room's lock, so
    /// that the index and the entry change together for each room.
    fn set_deadline(&self, entry: &RoomEntry, deadline: u64) {
        let old = entry.deadline.swap(deadline, Ordering::Relaxed);
        if old == deadline {
            return;
        }
        let mut deadlines = self.deadlines.lock();
        if old != 0 {
            deadlines.remove(&(old, entry.id));
        }
        if deadline != 0 {
            deadlines.insert((deadline, entry.id));
        }
    }

    /// Records that the role of a room was granted through this node at
    /// `epoch`, or is not any more. Called under the room's lock.
    pub fn set_granted(&self, id: ConversationId, epoch: Option<u64>) {
        let mut granted = self.granted.lock();
        match epoch {
            Some(epoch) => granted.insert(id, epoch),
            None => granted.remove(&id),
        };
    }

    /// The roles granted through this node, with their epochs.
    pub fn granted(&self) -> Vec<(ConversationId, u64)> {
        self.granted
            .lock()
            .iter()
            .map(|(id, e)| (*id, *e))
            .collect()
    }

    pub fn all(&self) -> Vec<Arc<RoomEntry>> {
        self.map.iter().map(|e| e.clone()).collect()
    }

    /// The room of a conversation, locked: the one in the map, or one
    /// built from what `load` reads when there is none. A new room is in
    /// the map and locked before anyone else can see it, so that whoever
    /// comes next (an event from the cluster, another viewer) waits until
    /// its builder has taught it the cluster's state; a room dropped while
    /// this task waited for its lock is looked for again, never used.
    pub async fn enter<E, L>(&self, id: ConversationId, load: impl Fn() -> L) -> Result<Entered, E>
    where
        L: Future<Output = Result<Conversation, E>>,
    {
        loop {
            let entry = match self.get(id) {
                Some(entry) => entry,
                None => {
                    let entry = Arc::new(RoomEntry::new(load().await?));
                    let guard = entry.state.clone().lock_owned().await;
                    match self.insert(entry.clone()) {
                        Ok(()) => {
                            return Ok(Entered {
                                entry,
                                guard,
                                new: true,
                            });
                        }
                        Err(existing) => existing,
                    }
                }
            };
            if let Some(guard) = entry.lock().await {
                return Ok(Entered {
                    entry,
                    guard,
                    new: false,
                });
            }
        }
    }

    /// Closes a room nobody views and nobody holds: it leaves the map and
    /// the indexes, and a task waiting for its lock will look again. True
    /// when it was closed now.
    pub fn close_if_idle(&self, entry: &RoomEntry, st: &mut RoomState) -> bool {
        if !st.viewers.is_empty() || !st.room.is_empty() || st.closed {
            return false;
        }
        st.closed = true;
        self.set_deadline(entry, 0);
        if st.granted_here.is_some() {
            self.set_granted(entry.id, None);
        }
        self.remove(entry);
        true
    }
}

/// A room found or built by [`Rooms::enter`], locked.
#[derive(Debug)]
pub(super) struct Entered {
    pub entry: Arc<RoomEntry>,
    pub guard: RoomGuard,
    /// Built now: it has yet to learn the cluster's state.
    pub new: bool,
}

/// A conversation's room on this node, locked: what the messenger's use
/// cases act on. Dropping it drops the room if it was left empty.
#[derive(Debug)]
pub struct RoomHandle<'h> {
    pub(super) hub: &'h Hub,
    pub(super) entry: Arc<RoomEntry>,
    pub(super) st: RoomGuard,
}

impl RoomHandle<'_> {
    /// What permissions on this conversation are checked against.
    pub fn resource(&self) -> Resource {
        self.entry.card.resource()
    }

    /// The conversation's card as it is now (its contact, its assignee).
    pub fn card(&self) -> Conversation {
        self.entry.card.get()
    }
}

impl Drop for RoomHandle<'_> {
    fn drop(&mut self) {
        self.hub.drop_if_idle(&self.entry, &mut self.st);
    }
}

impl Hub {
    /// The room of a conversation, built on first use, locked, if `admits`
    /// its card (the caller's decision: whether the user may see it).
    /// A conversation it does not admit is [`RoomError::NotFound`], like one
    /// that does not exist, and gets no room here (no memory, no interest on
    /// the bus); one that has a room is judged again under its lock.
    pub async fn room(
        &self,
        id: ConversationId,
        admits: impl Fn(Resource) -> bool,
    ) -> Result<RoomHandle<'_>, RoomError> {
        let admits = &admits;
        let load = move || async move {
            self.store
                .conversation(id)
                .await?
                .filter(|c| admits(c.resource()))
                .ok_or(RoomError::NotFound)
        };
        let Entered {
            entry,
            mut guard,
            new,
        } = self.rooms.enter(id, load).await?;
        if new {
            self.metrics.rooms.inc();
            self.learn_room(&entry, &mut guard).await;
        }
        let room = RoomHandle {
            hub: self,
            entry,
            st: guard,
        };
        if !admits(room.resource()) {
            return Err(RoomError::NotFound);
        }
        Ok(room)
    }

    /// The room of a conversation if this node has one, locked.
    pub(super) async fn existing_room(
        &self,
        id: ConversationId,
    ) -> Option<(Arc<RoomEntry>, RoomGuard)> {
        loop {
            let entry = self.rooms.get(id)?;
            if let Some(guard) = entry.lock().await {
                return Some((entry, guard));
            }
        }
    }

    /// The room of `id`, if there is one and nobody holds it now: for the
    /// timers' checks, which must not wait behind a room stuck on the
    /// store.
    pub(super) fn idle_room(&self, id: ConversationId) -> Option<(Arc<RoomEntry>, RoomGuard)> {
        let entry = self.rooms.get(id)?;
        let guard = entry.try_lock()?;
        Some((entry, guard))
    }

    /// Drops a room nobody views and nobody holds.
    pub(super) fn drop_if_idle(&self, entry: &RoomEntry, st: &mut RoomState) {
        if self.rooms.close_if_idle(entry, st) {
            self.metrics.rooms.dec();
            self.forget_topic(Topic::Conversation(entry.id));
        }
    }

    /// Records when the room next needs the sweeper.
    pub(super) fn schedule(&self, entry: &RoomEntry, st: &RoomState) {
        let deadline = st.room.next_deadline(self.settings.timing).unwrap_or(0);
        if !st.closed {
            self.rooms.set_deadline(entry, deadline);
        }
    }
}
