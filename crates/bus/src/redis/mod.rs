//! The bus on Redis: a single server, or Redis Cluster with sharded pub/sub.
//!
//! It owns, for one node: the fan-out of its events to the other nodes
//! (pub/sub), the shared record of who views which conversation from which
//! node (hashes), and node liveness (a sorted set scored on Redis' clock).
//! It must never decide who may write: the store is the authority on the
//! active role, and losing Redis must never make two writers possible. It
//! holds no event it could not lose: pub/sub is at most once, and after an
//! outage the sink hears `Reconnected` so the hub re-reads what it missed.
//!
//! # Topics, channels, slots
//!
//! | topic | channel | Redis Cluster slot |
//! |---|---|---|
//! | `Topic::Conversation(c)` | `<prefix>:c:<c>` | CRC16 of the whole channel name mod 16384 |
//! | `Topic::Account(a)` | `<prefix>:a:<a>` | likewise |
//! | `Topic::Access` | `<prefix>:access` | likewise |
//!
//! No hash tags: channels of different conversations land on different
//! slots and so spread over every shard of the cluster. On a single server
//! the channels are plain PUBLISH/SUBSCRIBE channels; in Redis Cluster they
//! are shard channels (SPUBLISH/SSUBSCRIBE), which only the shard owning the
//! slot hears of, instead of every node of the cluster.
//!
//! Keys (one key per command, so the same code runs on both deployments):
//! `<prefix>:p:<conversation>` (hash of viewers, field `<node>:<user>`),
//! `<prefix>:n:<node>:convs` (set of a node's conversations, to forget a
//! dead node), `<prefix>:nodes` (sorted set of heartbeats).
//!
//! # Connections and tasks
//!
//! Per shard (one on a single server, one per master in Redis Cluster) a
//! node keeps three connections: a subscriber (RESP3; whatever it pushes is
//! decoded and handed to the sink on the connection's own task, the node's
//! own events skipped), a publisher, and one for presence and liveness
//! commands. Subscriptions are one per topic of interest, whatever the
//! number of conversations: never a connection per conversation.
//!
//! - `publish` encodes the event and puts it on a bounded queue; the
//!   publisher task drains the queue and sends all of it as one pipeline
//!   (one per shard in cluster mode), so events of one topic from one node
//!   keep their order.
//! - The supervisor task owns the links: it (un)subscribes as interests
//!   change, pings the subscriber connections, and when any connection fails
//!   drops them all. While they are down, `publish` and every command fail
//!   at once with `BusError::Unavailable`. It reconnects with backoff
//!   (reading the cluster's slot map again), resubscribes every channel
//!   still of interest, then tells the sink `Reconnected`, once.

mod config;
mod delivery;
mod envelope;
mod keys;
mod links;
mod liveness;
mod presence;
mod publisher;
mod shared;
mod supervisor;
mod topology;

use std::sync::Arc;

use ::redis::{ConnectionInfo, IntoConnectionInfo};
use async_trait::async_trait;
use switchboard_core::ids::{ConversationId, NodeId};
use switchboard_core::model::UserRef;
use switchboard_core::ports::{Bus, BusError, BusSink, ClusterEvent, Topic};
use tokio::sync::{Mutex, mpsc, oneshot};

pub use config::{RedisBusConfig, RedisMode};
pub use delivery::BusStats;
pub use keys::{channel_for, key_slot};

use delivery::Delivery;
use publisher::Outgoing;
use shared::{Shared, unreachable};
use supervisor::{Request, Supervisor};

/// Connection events waiting for the supervisor, at most.
const NOTICES: usize = 1_024;
/// Interest changes waiting for the supervisor, at most.
const REQUESTS: usize = 4_096;
/// Presence updates of one conversation are serialized through one of these.
const STRIPES: usize = 64;

/// One node's handle on the Redis bus. Cheap to clone; the tasks stop when
/// the last clone is dropped.
#[derive(Clone)]
pub struct RedisBus {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    requests: mpsc::Sender<Request>,
    queue: mpsc::Sender<Outgoing>,
    stripes: Vec<Mutex<()>>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("node", &self.inner.shared.config.node)
            .field("mode", &self.inner.shared.mode)
            .field("prefix", &self.inner.shared.config.prefix)
            .field("up", &self.inner.shared.is_up())
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connects to Redis (every shard, in cluster mode) and starts the
    /// node's publisher and supervisor tasks. Fails when Redis cannot be
    /// reached now; once connected, outages are survived.
    pub async fn connect(config: RedisBusConfig) -> Result<Self, BusError> {
        config.validate().map_err(BusError::Unavailable)?;
        let seeds = config
            .urls
            .iter()
            .map(|url| url.as_str().into_connection_info())
            .collect::<Result<Vec<ConnectionInfo>, _>>()
            .map_err(|e| BusError::Unavailable(format!("invalid redis url: {e}")))?;
        let clustered = config.cluster
            || seeds.len() > 1
            || topology::is_cluster(&seeds[0], config.connect_timeout)
                .await
                .map_err(BusError::Unavailable)?;
        let mode = if clustered {
            RedisMode::Cluster
        } else {
            RedisMode::Single
        };
        let (notices_tx, notices) = mpsc::channel(NOTICES);
        let delivery = Arc::new(Delivery::new(config.node, notices_tx));
        let queue_size = config.publish_queue;
        let shared = Arc::new(Shared::new(config, mode, delivery.clone()));
        let established = links::establish(
            mode,
            seeds.clone(),
            delivery,
            1,
            Vec::new(),
            shared.timeouts(),
        )
        .await
        .map_err(BusError::Unavailable)?;
        tracing::info!(
            node = %shared.config.node,
            ?mode,
            shards = established.links.shards.len(),
            "redis bus connected"
        );
        let (requests_tx, requests) = mpsc::channel(REQUESTS);
        let (queue_tx, queue) = mpsc::channel(queue_size);
        let supervisor = Supervisor::new(shared.clone(), seeds, requests, notices, established);
        tokio::spawn(supervisor.run());
        tokio::spawn(publisher::run(shared.clone(), queue));
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                requests: requests_tx,
                queue: queue_tx,
                stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            }),
        })
    }

    /// Single server or cluster, as found at connect time.
    pub fn mode(&self) -> RedisMode {
        self.inner.shared.mode
    }

    /// The channel a topic travels on.
    pub fn channel(&self, topic: Topic) -> String {
        self.inner.shared.keys.channel(topic)
    }

    /// Whether the bus has its connections now (publishing can succeed).
    pub fn is_up(&self) -> bool {
        self.inner.shared.is_up()
    }

    pub fn stats(&self) -> BusStats {
        self.inner.shared.delivery.stats.snapshot()
    }

    /// Leaves as a node that stops does: out of the live nodes, its presence
    /// removed.
    pub async fn leave(&self) -> Result<(), BusError> {
        let shared = &self.inner.shared;
        liveness::remove(shared, shared.config.node).await?;
        presence::forget_node(shared, shared.config.node).await
    }
}

#[async_trait]
impl Bus for RedisBus {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn node_id(&self) -> NodeId {
        self.inner.shared.config.node
    }

    fn attach(&self, sink: BusSink) {
        self.inner.shared.delivery.attach(sink);
    }

    async fn set_interest(&self, topic: Topic, interested: bool) -> Result<(), BusError> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            channel: self.channel(topic),
            interested,
            reply,
        };
        let timeout = self.inner.shared.config.command_timeout;
        let stopped = || BusError::Unavailable("the redis bus stopped".into());
        tokio::time::timeout(timeout, async {
            self.inner
                .requests
                .send(request)
                .await
                .map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        })
        .await
        .map_err(|_| {
            BusError::Unavailable("redis did not confirm the subscription in time".into())
        })?
    }

    async fn publish(&self, event: ClusterEvent) -> Result<(), BusError> {
        let shared = &self.inner.shared;
        if !shared.is_up() {
            return Err(unreachable());
        }
        let channel = shared.keys.channel(event.topic());
        let payload = envelope::encode(shared.config.node, event)?;
        self.inner
            .queue
            .try_send(Outgoing { channel, payload })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    BusError::Unavailable("the publish queue is full".into())
                }
                mpsc::error::TrySendError::Closed(_) => {
                    BusError::Unavailable("the redis bus stopped".into())
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
        let stripe = (conversation.as_uuid().as_u128() % STRIPES as u128) as usize;
        let _serialized = self.inner.stripes[stripe].lock().await;
        presence::set_present(&self.inner.shared, conversation, user, may_write, present).await
    }

    async fn present(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<(NodeId, UserRef, bool)>, BusError> {
        presence::present(&self.inner.shared, conversation).await
    }

    async fn forget_node(&self, node: NodeId) -> Result<(), BusError> {
        presence::forget_node(&self.inner.shared, node).await
    }

    async fn heartbeat(&self) -> Result<(), BusError> {
        liveness::heartbeat(&self.inner.shared).await
    }

    async fn live_nodes(&self) -> Result<Vec<NodeId>, BusError> {
        liveness::live_nodes(&self.inner.shared).await
    }

    async fn ping(&self) -> Result<(), BusError> {
        let shared = &self.inner.shared;
        let links = shared.links()?;
        let pings = links.shards.iter().map(|shard| {
            let mut connection = shard.commands.clone();
            async move {
                ::redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            }
        });
        futures_util::future::try_join_all(pings)
            .await
            .map_err(|e| shared.failed(links.generation, e))?;
        Ok(())
    }
}
