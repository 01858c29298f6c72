//! The in-process bus: nodes of one process share a [`MemoryNetwork`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::UserRef;
use switchboard_core::ports::{Bus, BusDelivery, BusError, BusSink, ClusterEvent, Envelope, Topic};

/// Who views one conversation: (node, user) -> (user, may write).
type Viewers = HashMap<(NodeId, UserId), (UserRef, bool)>;

/// Who views which conversation from which node: the shared presence of a
/// bus whose nodes share one process (this one, and the simulation's).
#[derive(Debug, Default)]
pub struct PresenceTable(HashMap<ConversationId, Viewers>);

impl PresenceTable {
    /// Records that `user` views `conversation` from `node`, or no longer does.
    pub fn set(
        &mut self,
        conversation: ConversationId,
        node: NodeId,
        user: &UserRef,
        may_write: bool,
        present: bool,
    ) {
        let key = (node, user.id);
        if present {
            self.0
                .entry(conversation)
                .or_default()
                .insert(key, (user.clone(), may_write));
        } else if let Some(members) = self.0.get_mut(&conversation) {
            members.remove(&key);
            if members.is_empty() {
                self.0.remove(&conversation);
            }
        }
    }

    /// Who views `conversation` from a `live` node, by user, then node.
    pub fn members(
        &self,
        conversation: ConversationId,
        live: &HashSet<NodeId>,
    ) -> Vec<(NodeId, UserRef, bool)> {
        let mut members: Vec<_> = self
            .0
            .get(&conversation)
            .into_iter()
            .flatten()
            .filter(|((node, _), _)| live.contains(node))
            .map(|((node, _), (user, may_write))| (*node, user.clone(), *may_write))
            .collect();
        members.sort_by_key(|(node, user, _)| (user.id, *node));
        members
    }

    /// Forgets everything `node` recorded.
    pub fn forget(&mut self, node: NodeId) {
        for members in self.0.values_mut() {
            members.retain(|(n, _), _| *n != node);
        }
        self.0.retain(|_, members| !members.is_empty());
    }
}

/// What the nodes of one process share.
pub struct MemoryNetwork {
    nodes: RwLock<Vec<Arc<NodeSlot>>>,
    presence: Mutex<PresenceTable>,
    heartbeats: Mutex<HashMap<NodeId, Instant>>,
    liveness_window: Duration,
}

struct NodeSlot {
    id: NodeId,
    sink: RwLock<Option<BusSink>>,
    interests: RwLock<HashSet<Topic>>,
}

impl std::fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNetwork")
            .field("nodes", &self.nodes.read().len())
            .finish_non_exhaustive()
    }
}

impl MemoryNetwork {
    /// A network whose nodes count as alive for `liveness_window` after a heartbeat.
    pub fn new(liveness_window: Duration) -> Arc<Self> {
        Arc::new(Self {
            nodes: RwLock::new(Vec::new()),
            presence: Mutex::new(PresenceTable::default()),
            heartbeats: Mutex::new(HashMap::new()),
            liveness_window,
        })
    }

    fn forget(&self, node: NodeId) {
        self.presence.lock().forget(node);
    }

    /// Adds a node to the network and returns its bus.
    pub fn join(self: &Arc<Self>, id: NodeId) -> MemoryBus {
        let slot = Arc::new(NodeSlot {
            id,
            sink: RwLock::new(None),
            interests: RwLock::new(HashSet::new()),
        });
        self.nodes.write().push(slot.clone());
        self.heartbeats.lock().insert(id, Instant::now());
        MemoryBus {
            network: self.clone(),
            slot,
        }
    }
}

/// One node's handle on a [`MemoryNetwork`].
#[derive(Clone)]
pub struct MemoryBus {
    network: Arc<MemoryNetwork>,
    slot: Arc<NodeSlot>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("node", &self.slot.id)
            .finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// The embedded default: a network of one node.
    pub fn single(node: NodeId) -> Self {
        MemoryNetwork::new(Duration::from_secs(15)).join(node)
    }

    /// Leaves the network, as a node that stops does: its presence goes with it.
    pub fn leave(&self) {
        self.network
            .nodes
            .write()
            .retain(|slot| slot.id != self.slot.id);
        self.network.heartbeats.lock().remove(&self.slot.id);
        self.network.forget(self.slot.id);
    }
}

#[async_trait]
impl Bus for MemoryBus {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn node_id(&self) -> NodeId {
        self.slot.id
    }

    fn attach(&self, sink: BusSink) {
        *self.slot.sink.write() = Some(sink);
    }

    async fn set_interest(&self, topic: Topic, interested: bool) -> Result<(), BusError> {
        let mut interests = self.slot.interests.write();
        if interested {
            interests.insert(topic);
        } else {
            interests.remove(&topic);
        }
        Ok(())
    }

    async fn publish(&self, event: ClusterEvent) -> Result<(), BusError> {
        let topic = event.topic();
        let nodes = self.network.nodes.read();
        if nodes.len() < 2 {
            // A lone node has nobody to tell.
            return Ok(());
        }
        for slot in nodes.iter() {
            if slot.id == self.slot.id || !slot.interests.read().contains(&topic) {
                continue;
            }
            if let Some(sink) = slot.sink.read().as_ref() {
                sink(BusDelivery::Event(Envelope {
                    origin: self.slot.id,
                    event: event.clone(),
                }));
            }
        }
        Ok(())
    }

    async fn set_present(
        &self,
        conversation: ConversationId,
        user: &UserRef,
        may_write: bool,
        present: bool,
    ) -> Result<(), BusError> {
        self.network
            .presence
            .lock()
            .set(conversation, self.slot.id, user, may_write, present);
        Ok(())
    }

    async fn present(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<(NodeId, UserRef, bool)>, BusError> {
        let live: HashSet<NodeId> = self.live_nodes().await?.into_iter().collect();
        Ok(self.network.presence.lock().members(conversation, &live))
    }

    async fn forget_node(&self, node: NodeId) -> Result<(), BusError> {
        self.network.forget(node);
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), BusError> {
        self.network
            .heartbeats
            .lock()
            .insert(self.slot.id, Instant::now());
        Ok(())
    }

    async fn live_nodes(&self) -> Result<Vec<NodeId>, BusError> {
        let window = self.network.liveness_window;
        let mut nodes: Vec<NodeId> = self
            .network
            .heartbeats
            .lock()
            .iter()
            .filter(|(_, at)| at.elapsed() < window)
            .map(|(id, _)| *id)
            .collect();
        nodes.sort();
        Ok(nodes)
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}
