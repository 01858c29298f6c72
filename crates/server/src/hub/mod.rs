//! The hub: every connection of this node, the presence of every conversation
//! someone here views, and the fan-out of events to them.
//!
//! Per conversation, one async mutex serializes the decisions of the core's
//! [`Room`](switchboard_core::presence::Room) and the store calls they lead
//! to (grant, release, fenced append), so the room and the store never
//! disagree on this node. Frames are serialized once per event and shared by
//! every receiver; permissions are checked per receiver at delivery.

mod cluster;
pub mod conn;
mod frames;
mod handlers;
mod inbox;
mod room;
mod routing;
mod timers;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use switchboard_core::ports::{Bus, Store, Topic};
use switchboard_core::presence::{Millis, Timing};
use switchboard_core::{AccountId, ConnId, ConversationId, NodeId, UserId};
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use conn::{Conn, OutboxLimits};
pub use frames::encode;
use room::RoomEntry;

use crate::clock::Clock;
use crate::metrics::Metrics;

/// What the hub's rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    pub timing: Timing,
    pub lease: Duration,
    pub heartbeat_ms: u64,
    /// A write to a client that takes longer than this closes it.
    pub write_timeout_ms: u64,
    /// A node whose heartbeat is older than this is dead (cluster mode).
    pub node_dead_ms: u64,
    /// Conversations of an agent offline this long go back to the queue
    /// (`None`: they stay assigned).
    pub requeue_offline_after: Option<Duration>,
    pub max_message_bytes: usize,
    pub outbox: OutboxLimits,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
}

#[derive(Debug)]
pub struct Hub {
    node: NodeId,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    settings: HubSettings,
    clock: Clock,
    metrics: Arc<Metrics>,
    conns: DashMap<ConnId, Arc<Conn>>,
    rooms: DashMap<ConversationId, Arc<RoomEntry>>,
    /// `subscribe_inbox` subscribers per account.
    subscribers: DashMap<AccountId, Vec<Arc<Conn>>>,
    shutting_down: AtomicBool,
    /// Cluster mode only: the queues to and from the bus.
    links: OnceLock<cluster::Links>,
    /// Something from or to the bus was lost: re-read everything.
    resync_wanted: AtomicBool,
    /// The other nodes last seen alive (cluster mode).
    peers: parking_lot::Mutex<HashSet<NodeId>>,
    /// When this node's heartbeat last reached the bus (hub clock).
    last_heartbeat: std::sync::atomic::AtomicU64,
    /// Agents with consoles on this node (what makes them online).
    consoles: DashMap<UserId, routing::Consoles>,
}

impl Hub {
    pub fn new(
        node: NodeId,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        settings: HubSettings,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            node,
            store,
            bus,
            settings,
            clock: Clock::new(),
            metrics,
            conns: DashMap::new(),
            rooms: DashMap::new(),
            subscribers: DashMap::new(),
            shutting_down: AtomicBool::new(false),
            links: OnceLock::new(),
            resync_wanted: AtomicBool::new(false),
            peers: parking_lot::Mutex::new(HashSet::new()),
            last_heartbeat: std::sync::atomic::AtomicU64::new(0),
            consoles: DashMap::new(),
        })
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    pub fn settings(&self) -> &HubSettings {
        &self.settings
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// A connection opened.
    pub fn register(&self, conn: Arc<Conn>) {
        self.metrics.connections.inc();
        self.conns.insert(conn.id, conn);
    }

    /// A connection ended: it leaves every conversation with the disconnect
    /// grace, and stops receiving inbox events.
    pub async fn unregister(&self, conn: &Arc<Conn>) {
        if self.conns.remove(&conn.id).is_some() {
            self.metrics.connections.dec();
            self.console_closed(conn);
        }
        self.unsubscribe(conn);
        let joined = std::mem::take(&mut *conn.joined.lock());
        for conversation in joined {
            self.disconnect_from(conn, conversation).await;
        }
    }

    /// Sends a frame to one connection.
    pub fn send_to(&self, conn: &Conn, frame: &Utf8Bytes) {
        if conn.push(frame).is_err() && !conn.is_closing() {
            self.metrics.slow_consumers.inc();
        }
    }

    fn deliver(&self, conn: &Conn, frame: &Utf8Bytes) {
        if conn.push(frame).is_err() {
            self.metrics.slow_consumers.inc();
        }
    }

    /// Closes every connection authenticated by this login token (logout).
    pub fn close_token(&self, token_hash: &[u8; 32]) -> usize {
        let mut closed = 0;
        for conn in self.conns.iter() {
            if &conn.token_hash == token_hash {
                conn.close(conn::close::POLICY, "logged out");
                closed += 1;
            }
        }
        closed
    }

    /// Starts shutting down: every session is told to close with 1001.
    pub fn close_all(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for conn in self.conns.iter() {
            conn.close(conn::close::GOING_AWAY, "server shutting down");
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// The accounts whose lists someone here subscribed to.
    fn followed_accounts(&self) -> Vec<Topic> {
        self.subscribers
            .iter()
            .map(|e| Topic::Account(*e.key()))
            .collect()
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Ends every role granted through this node, in the store (at shutdown).
    pub async fn release_all_locks(&self) {
        match self.store.release_node_locks(self.node).await {
            Ok(released) => tracing::info!(count = released.len(), "released active roles"),
            Err(error) => tracing::warn!(%error, "could not release active roles at shutdown"),
        }
    }
}
