//! The hub: the realtime engine of this node. It holds every connection,
//! the presence of every conversation someone here views, and delivers
//! events to them; in cluster mode it keeps all that in step with the other
//! nodes through the bus.
//!
//! It is made of parts with one job each:
//! - [`connections`]: every connection, by id, by user and by subscribed account;
//! - `rooms`: presence per conversation, each behind one lock, and the
//!   [`RoomHandle`] the messenger's use cases act on (`messenger`);
//! - `cards`: the inbox-list card of each room, the one rule for
//!   "Answered by", and cards reaching subscribers and the other nodes;
//! - `delivery`: each event encoded once and pushed to the receivers allowed
//!   to see it, checked per receiver at delivery time;
//! - `messages`: stored messages reaching local viewers in sequence order;
//! - `routing`: what a routing operation changed reaching everyone concerned;
//! - `consoles`: agents online through this node;
//! - `supervision`: the agents each supervisor here follows;
//! - `cluster`: what goes through the bus, and what comes back;
//! - `clockwork`: lapses, graces, leases, silent connections, heartbeats.
//!
//! It decides nothing about who may do what: the application layer
//! authorizes, then asks the hub to act. Delivery checks each receiver's
//! permissions with the same rules.

mod backlog;
mod cards;
mod clockwork;
mod cluster;
pub mod conn;
mod connections;
mod consoles;
mod cooloffs;
mod delivery;
mod enforcement;
mod frames;
#[cfg(all(test, feature = "shuttle"))]
mod interleavings;
mod messages;
mod messenger;
mod rooms;
mod routing;
mod sessions;
mod supervision;
mod sync;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchboard_core::NodeId;
use switchboard_core::consoles::ConsoleTracker;
use switchboard_core::ports::{Bus, Store, Topic};
use switchboard_core::presence::{Millis, Timing};

pub use conn::{Conn, Listing, OutboxLimits};
pub use frames::encode;
pub use messenger::Joined;
pub use rooms::{RoomError, RoomHandle};

use crate::access::AccessBook;
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
    pub outbox: OutboxLimits,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    /// Connections one user may have open on this node.
    pub max_connections_per_user: usize,
    /// Conversations one connection may view at once.
    pub max_joined_per_connection: usize,
    /// How long a user closed for flooding is refused at the upgrade (0: not).
    pub flood_cooloff_ms: u64,
    /// How often stored access stamps are compared with this node's
    /// snapshots, to catch access changes nobody announced.
    pub access_check: Duration,
    /// Conversations without a room here whose newest "Answered by" is
    /// remembered, at most (cluster mode: cards arrive from several nodes).
    pub answered_memory: usize,
}

#[derive(Debug)]
pub struct Hub {
    node: NodeId,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    settings: HubSettings,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    connections: connections::Connections,
    rooms: rooms::Rooms,
    delivery: delivery::Delivery,
    consoles: consoles::Consoles,
    /// Agents' consoles are recorded one at a time (see `set_online`).
    console_writes: tokio::sync::Semaphore,
    cluster: cluster::ClusterState,
    cooloffs: cooloffs::CoolOffs,
    /// The newest "Answered by" of conversations without a room here.
    answered: cards::Answered,
    /// Every account's current access, which each delivery checks.
    access: Arc<AccessBook>,
    shutting_down: AtomicBool,
}

impl Hub {
    pub fn new(
        node: NodeId,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        settings: HubSettings,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let access = Arc::new(AccessBook::new(store.clone()));
        let answered = cards::Answered::new(settings.answered_memory);
        Arc::new(Self {
            node,
            delivery: delivery::Delivery::new(metrics.clone(), access.clone()),
            access,
            store,
            bus,
            settings,
            clock,
            metrics,
            connections: connections::Connections::default(),
            rooms: rooms::Rooms::default(),
            consoles: parking_lot::Mutex::new(ConsoleTracker::new()),
            console_writes: tokio::sync::Semaphore::new(1),
            cluster: cluster::ClusterState::default(),
            cooloffs: cooloffs::CoolOffs::default(),
            answered,
            shutting_down: AtomicBool::new(false),
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

    pub fn access(&self) -> &Arc<AccessBook> {
        &self.access
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// A connection opened; false when its user already has as many as
    /// allowed (the upgrade checked, but others may have opened meanwhile).
    pub fn register(&self, conn: Arc<Conn>) -> bool {
        let added = self
            .connections
            .add(conn, self.settings.max_connections_per_user);
        if added {
            self.metrics.connections.inc();
        }
        added
    }

    /// Whether `user` may open no more connections here.
    pub fn at_connection_cap(&self, user: switchboard_core::UserId) -> bool {
        self.connections.count_of(user) >= self.settings.max_connections_per_user
    }

    /// `user` was closed for flooding: refuse their upgrades for the cool-off.
    pub fn cool_off(&self, user: switchboard_core::UserId) {
        let now = self.now();
        let until = now.saturating_add(self.settings.flood_cooloff_ms);
        self.cooloffs.start(user, until, now);
    }

    /// How long `user`, closed for flooding, must still wait to connect.
    pub fn cooling_off(&self, user: switchboard_core::UserId) -> Option<u64> {
        self.cooloffs.remaining(user, self.now())
    }

    /// A connection ended: it leaves every conversation with the disconnect
    /// grace, and stops receiving inbox events.
    pub async fn unregister(&self, conn: &Arc<Conn>) {
        if self.connections.remove(conn) {
            self.metrics.connections.dec();
            self.console_closed(conn);
        }
        let joined = std::mem::take(&mut *conn.joined.lock());
        for conversation in joined {
            self.disconnect_from(conn, conversation).await;
        }
    }

    /// `conn` receives `conversation` events from now on (once).
    pub async fn subscribe(&self, conn: &Arc<Conn>) {
        if self.connections.subscribe(conn) {
            self.follow_account(conn).await;
        }
    }

    /// The first follower of an account here: in cluster mode, its cards
    /// and agents changed on other nodes come too.
    async fn follow_account(&self, conn: &Conn) {
        if !self.clustered() {
            return;
        }
        let topic = Topic::Account(conn.actor().account_id);
        if let Err(error) = self.bus.set_interest(topic, true).await {
            tracing::debug!(%error, "could not follow an account on the bus");
        }
    }

    /// Queues a frame for one connection (an answer to the client).
    pub fn send_to(&self, conn: &Conn, frame: &tokio_tungstenite::tungstenite::Utf8Bytes) {
        self.delivery.reply(conn, frame);
    }

    /// Closes the connections that authenticated with this login token
    /// (logout), whether the session is still valid or not. Returns how many.
    pub fn close_session(&self, token_hash: &[u8; 32]) -> usize {
        let Some(user) = self.connections.owner_of(token_hash) else {
            return 0;
        };
        let mut closed = 0;
        self.connections.of_user(user, |conn| {
            if &conn.token_hash == token_hash {
                conn.close(conn::close::POLICY, "logged out");
                closed += 1;
            }
        });
        closed
    }

    /// Starts shutting down: every session is told to close with 1001.
    pub fn close_all(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.connections
            .each(|conn| conn.close(conn::close::GOING_AWAY, "server shutting down"));
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Ends every role granted through this node, in the store (at shutdown).
    pub async fn release_all_locks(&self) {
        match self.store.release_node_locks(self.node).await {
            Ok(released) => tracing::info!(count = released.len(), "released active roles"),
            Err(error) => tracing::warn!(%error, "could not release active roles at shutdown"),
        }
    }
}
