//! A simulated bus that fails the way Redis pub/sub does, in virtual time
//! (tokio's clock, paused by the simulation): each event reaches each node
//! that follows its topic after a delay of its own, in publishing order
//! within a shard (Redis keeps order on one connection to one shard) and
//! in no particular order across shards; a node cut from the bus publishes
//! nothing (an error, as a lost connection gives), misses whatever was on
//! its way to it, and is told [`BusDelivery::Reconnected`] once the link
//! heals; a crashed node's subscriptions go with it, its presence records
//! stay behind (reads leave out nodes that are not live), as in Redis.
//! Every chance comes from one seeded [`Rng`], so a seed replays.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use switchboard_bus::PresenceTable;
use switchboard_core::ids::{ConversationId, NodeId};
use switchboard_core::model::UserRef;
use switchboard_core::ports::{Bus, BusDelivery, BusError, BusSink, ClusterEvent, Envelope, Topic};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::rng::Rng;

/// Shards of the simulated Redis Cluster (order holds within one only).
pub const SHARDS: u64 = 3;

/// How the simulated bus behaves.
#[derive(Debug, Clone, Copy)]
pub struct BusShape {
    /// Each delivery's delay is drawn from this range.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A node is live this long after its last heartbeat.
    pub liveness_window: Duration,
}

impl Default for BusShape {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_micros(100),
            max_delay: Duration::from_millis(20),
            liveness_window: Duration::from_secs(3),
        }
    }
}

/// The simulated Redis every node of one simulation shares.
#[derive(Debug)]
pub struct SimNetwork {
    shape: BusShape,
    state: Mutex<NetState>,
}

#[derive(Debug)]
struct NetState {
    rng: Rng,
    nodes: HashMap<NodeId, Slot>,
    presence: PresenceTable,
    heartbeats: HashMap<NodeId, Instant>,
    /// Heartbeats of a node that are lost until then (see
    /// [`SimNetwork::lose_heartbeats`]).
    heartbeats_lost: HashMap<NodeId, Instant>,
}

struct Slot {
    interests: HashSet<Topic>,
    cut: bool,
    link: Arc<Link>,
    /// Per shard (and one more for the reconnection notice): the
    /// deliveries on their way, in order, and when the last one is due (a
    /// later one is never due before it).
    lanes: Vec<Option<Lane>>,
}

/// What the lanes of a node read when a delivery is due.
#[derive(Default)]
struct Link {
    sink: Mutex<Option<BusSink>>,
    /// Bumped when the node's connection dies (cut, crash): what was on its
    /// way to the old connection is dropped on arrival.
    connection: AtomicU64,
}

/// The lane of the reconnection notice: due at once, before anything sent
/// on the new connection.
const NOTICE_LANE: usize = SHARDS as usize;

/// A crashed node's connection: nothing reaches it any more.
const DEAD: u64 = u64::MAX;

struct Lane {
    queue: mpsc::UnboundedSender<(Instant, u64, BusDelivery)>,
    last_due: Instant,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("interests", &self.interests.len())
            .field("cut", &self.cut)
            .finish_non_exhaustive()
    }
}

/// The shard a topic lives on: a fixed hash of its id, the same in every
/// run (a process-seeded hasher would make runs differ).
fn shard_of(topic: Topic) -> usize {
    let bytes: [u8; 16] = match topic {
        Topic::Conversation(id) => *id.as_uuid().as_bytes(),
        Topic::Account(id) => *id.as_uuid().as_bytes(),
        Topic::Access => [0; 16],
    };
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % SHARDS) as usize
}

impl SimNetwork {
    pub fn new(seed: u64, shape: BusShape) -> Arc<Self> {
        Arc::new(Self {
            shape,
            state: Mutex::new(NetState {
                rng: Rng::new(seed),
                nodes: HashMap::new(),
                presence: PresenceTable::default(),
                heartbeats: HashMap::new(),
                heartbeats_lost: HashMap::new(),
            }),
        })
    }

    /// A node connects and gets its bus.
    pub fn join(self: &Arc<Self>, node: NodeId) -> SimBus {
        let mut state = self.state.lock();
        state.nodes.insert(
            node,
            Slot {
                interests: HashSet::new(),
                cut: false,
                link: Arc::default(),
                lanes: (0..=SHARDS).map(|_| None).collect(),
            },
        );
        state.heartbeats.insert(node, Instant::now());
        SimBus {
            network: self.clone(),
            node,
        }
    }

    /// The node's process dies: its connection and subscriptions with it;
    /// its presence records stay behind, as Redis keeps them.
    pub fn crash(&self, node: NodeId) {
        if let Some(slot) = self.state.lock().nodes.remove(&node) {
            slot.link.connection.store(DEAD, Ordering::Relaxed);
        }
    }

    /// Cuts the link between `node` and the bus, or heals it. What was on
    /// its way to the node is lost; once healed, the node hears
    /// [`BusDelivery::Reconnected`] (its subscriptions restored).
    pub fn set_cut(&self, node: NodeId, cut: bool) {
        let mut state = self.state.lock();
        let due = Instant::now();
        let Some(slot) = state.nodes.get_mut(&node) else {
            return;
        };
        if slot.cut == cut {
            return;
        }
        slot.cut = cut;
        let connection = slot.link.connection.fetch_add(1, Ordering::Relaxed) + 1;
        if !cut {
            slot.send(NOTICE_LANE, due, connection, BusDelivery::Reconnected);
        }
    }

    /// Redis restarts empty: every node's link drops at once (what was on
    /// its way is lost), and the presence records and heartbeats are gone.
    /// Each node's link comes back with [`SimNetwork::set_cut`].
    pub fn restart_empty(&self) {
        let mut nodes: Vec<NodeId> = self.state.lock().nodes.keys().copied().collect();
        nodes.sort();
        for node in nodes {
            self.set_cut(node, true);
        }
        let mut state = self.state.lock();
        state.presence = PresenceTable::default();
        state.heartbeats.clear();
    }

    /// `node`'s heartbeats until `until` are taken and lost (a node slow to
    /// beat again after the bus restarted, say): the others do not count
    /// it live meanwhile.
    pub fn lose_heartbeats(&self, node: NodeId, until: Instant) {
        self.state.lock().heartbeats_lost.insert(node, until);
    }

    fn delay(&self, rng: &mut Rng) -> Duration {
        let span = self.shape.max_delay.saturating_sub(self.shape.min_delay);
        let extra = rng.below(span.as_micros().max(1) as u64);
        self.shape.min_delay + Duration::from_micros(extra)
    }
}

impl Slot {
    /// Queues a delivery on a shard's lane, due at `due` or after the one
    /// queued before it on that lane.
    fn send(&mut self, shard: usize, due: Instant, connection: u64, delivery: BusDelivery) {
        let link = self.link.clone();
        let lane = self.lanes[shard].get_or_insert_with(|| Lane::open(link));
        let due = due.max(lane.last_due);
        lane.last_due = due;
        let _ = lane.queue.send((due, connection, delivery));
    }
}

impl Lane {
    /// A lane's task hands each delivery to the node when it is due,
    /// unless the connection it was sent on has died meanwhile.
    fn open(link: Arc<Link>) -> Self {
        let (queue, mut deliveries) = mpsc::unbounded_channel::<(Instant, u64, BusDelivery)>();
        tokio::spawn(async move {
            while let Some((due, connection, delivery)) = deliveries.recv().await {
                tokio::time::sleep_until(due).await;
                if link.connection.load(Ordering::Relaxed) != connection {
                    continue;
                }
                let sink = link.sink.lock().clone();
                if let Some(sink) = sink {
                    sink(delivery);
                }
            }
        });
        Self {
            queue,
            last_due: Instant::now(),
        }
    }
}

/// One node's handle on a [`SimNetwork`].
#[derive(Debug, Clone)]
pub struct SimBus {
    network: Arc<SimNetwork>,
    node: NodeId,
}

impl SimBus {
    fn unavailable() -> BusError {
        BusError::Unavailable("simulated: cut from the bus".into())
    }

    /// Runs `f` on the network's state, unless this node is cut or gone.
    fn connected<T>(&self, f: impl FnOnce(&mut NetState) -> T) -> Result<T, BusError> {
        let mut state = self.network.state.lock();
        match state.nodes.get(&self.node) {
            Some(slot) if !slot.cut => Ok(f(&mut state)),
            _ => Err(Self::unavailable()),
        }
    }
}

#[async_trait]
impl Bus for SimBus {
    fn backend(&self) -> &'static str {
        "simulated"
    }

    fn node_id(&self) -> NodeId {
        self.node
    }

    fn attach(&self, sink: BusSink) {
        if let Some(slot) = self.network.state.lock().nodes.get(&self.node) {
            *slot.link.sink.lock() = Some(sink);
        }
    }

    async fn set_interest(&self, topic: Topic, interested: bool) -> Result<(), BusError> {
        // Kept while cut too: a Redis client restores its subscriptions
        // when it reconnects.
        let mut state = self.network.state.lock();
        if let Some(slot) = state.nodes.get_mut(&self.node) {
            if interested {
                slot.interests.insert(topic);
            } else {
                slot.interests.remove(&topic);
            }
        }
        Ok(())
    }

    async fn publish(&self, event: ClusterEvent) -> Result<(), BusError> {
        let topic = event.topic();
        let shard = shard_of(topic);
        let now = Instant::now();
        self.connected(|state| {
            let NetState { rng, nodes, .. } = state;
            let mut receivers: Vec<(&NodeId, &mut Slot)> = nodes
                .iter_mut()
                .filter(|(id, slot)| {
                    **id != self.node && !slot.cut && slot.interests.contains(&topic)
                })
                .collect();
            // The same order in every run, whatever the map's.
            receivers.sort_by_key(|(id, _)| **id);
            for (_, slot) in receivers {
                let due = now + self.network.delay(rng);
                let connection = slot.link.connection.load(Ordering::Relaxed);
                slot.send(
                    shard,
                    due,
                    connection,
                    BusDelivery::Event(Envelope {
                        origin: self.node,
                        event: event.clone(),
                    }),
                );
            }
        })
    }

    async fn set_present(
        &self,
        conversation: ConversationId,
        user: &UserRef,
        may_write: bool,
        present: bool,
    ) -> Result<(), BusError> {
        self.connected(|state| {
            state
                .presence
                .set(conversation, self.node, user, may_write, present);
        })
    }

    async fn present(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<(NodeId, UserRef, bool)>, BusError> {
        let live: HashSet<NodeId> = self.live_nodes().await?.into_iter().collect();
        self.connected(|state| state.presence.members(conversation, &live))
    }

    async fn forget_node(&self, node: NodeId) -> Result<(), BusError> {
        self.connected(|state| state.presence.forget(node))
    }

    async fn heartbeat(&self) -> Result<(), BusError> {
        self.connected(|state| {
            let now = Instant::now();
            if state
                .heartbeats_lost
                .get(&self.node)
                .is_none_or(|until| *until <= now)
            {
                state.heartbeats.insert(self.node, now);
            }
        })
    }

    async fn live_nodes(&self) -> Result<Vec<NodeId>, BusError> {
        let window = self.network.shape.liveness_window;
        self.connected(|state| {
            let mut nodes: Vec<NodeId> = state
                .heartbeats
                .iter()
                .filter(|(_, at)| at.elapsed() < window)
                .map(|(id, _)| *id)
                .collect();
            nodes.sort();
            nodes
        })
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.connected(|_| ())
    }
}
