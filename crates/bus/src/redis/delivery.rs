//! What subscriber connections do with what Redis pushes to them: decode
//! other nodes' events and hand them to the sink, right on the connection's
//! task (no queue in between), and report connection trouble to the
//! supervisor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ::redis::{PushInfo, PushKind, Value};
use parking_lot::RwLock;
use switchboard_core::ids::NodeId;
use switchboard_core::ports::{BusDelivery, BusSink};
use tokio::sync::mpsc;

use super::envelope;

/// What the connections and the publisher tell the supervisor.
#[derive(Debug)]
pub(crate) enum Notice {
    /// A subscriber connection of this generation closed.
    Closed { generation: u64 },
    /// Redis ended a shard channel subscription: either the confirmation of
    /// our SUNSUBSCRIBE, or the server's own doing when the channel's slot
    /// moved to another shard.
    Unsubscribed {
        generation: u64,
        shard: usize,
        channel: Vec<u8>,
    },
    /// A command failed in a way only new connections can fix (I/O,
    /// timeout, a slot that moved).
    Broken { generation: u64, reason: String },
}

/// Counters since the bus started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Events sent to Redis.
    pub published: u64,
    /// Pipelines they were sent in (one per shard per batch).
    pub pipelines: u64,
    /// Events accepted by `publish` but lost (Redis went away first).
    pub dropped: u64,
    /// Events of other nodes handed to the sink.
    pub delivered: u64,
    /// Own events received back and skipped.
    pub skipped_own: u64,
    /// Messages on our channels that were not events.
    pub undecodable: u64,
    /// Times the bus came back after losing Redis.
    pub reconnections: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub published: AtomicU64,
    pub pipelines: AtomicU64,
    pub dropped: AtomicU64,
    pub delivered: AtomicU64,
    pub skipped_own: AtomicU64,
    pub undecodable: AtomicU64,
    pub reconnections: AtomicU64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> BusStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BusStats {
            published: read(&self.published),
            pipelines: read(&self.pipelines),
            dropped: read(&self.dropped),
            delivered: read(&self.delivered),
            skipped_own: read(&self.skipped_own),
            undecodable: read(&self.undecodable),
            reconnections: read(&self.reconnections),
        }
    }
}

/// The receiving end of a node, shared by its subscriber connections.
pub(crate) struct Delivery {
    node: NodeId,
    own_prefix: Vec<u8>,
    sink: RwLock<Option<BusSink>>,
    /// The generation of connections whose messages count; 0 while down, so
    /// a stale connection delivers nothing.
    live_generation: AtomicU64,
    notices: mpsc::Sender<Notice>,
    /// A notice could not be queued: the supervisor must assume the worst.
    notices_lost: AtomicBool,
    pub stats: Stats,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("node", &self.node)
            .field("live_generation", &self.live_generation)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(node: NodeId, notices: mpsc::Sender<Notice>) -> Self {
        Self {
            node,
            own_prefix: envelope::own_prefix(node),
            sink: RwLock::new(None),
            live_generation: AtomicU64::new(0),
            notices,
            notices_lost: AtomicBool::new(false),
            stats: Stats::default(),
        }
    }

    pub(crate) fn attach(&self, sink: BusSink) {
        *self.sink.write() = Some(sink);
    }

    pub(crate) fn set_live(&self, generation: u64) {
        self.live_generation.store(generation, Ordering::SeqCst);
    }

    pub(crate) fn emit(&self, delivery: BusDelivery) {
        let sink = self.sink.read().clone();
        if let Some(sink) = sink {
            sink(delivery);
        }
    }

    pub(crate) fn notify(&self, notice: Notice) {
        if self.notices.try_send(notice).is_err() {
            self.notices_lost.store(true, Ordering::SeqCst);
        }
    }

    pub(crate) fn take_notices_lost(&self) -> bool {
        self.notices_lost.swap(false, Ordering::SeqCst)
    }

    /// The push handler of one subscriber connection. `watch_unsubscribes`
    /// in cluster mode, where the server may end subscriptions on its own.
    pub(crate) fn handler(
        self: &Arc<Self>,
        generation: u64,
        shard: usize,
        watch_unsubscribes: bool,
    ) -> impl Fn(PushInfo) -> Result<(), ()> + Send + Sync + 'static {
        let delivery = self.clone();
        move |push: PushInfo| {
            match push.kind {
                PushKind::Message | PushKind::SMessage => {
                    delivery.on_message(generation, push.data);
                }
                PushKind::Disconnection => delivery.notify(Notice::Closed { generation }),
                PushKind::SUnsubscribe if watch_unsubscribes => {
                    if let Some(Value::BulkString(channel)) = push.data.into_iter().next() {
                        delivery.notify(Notice::Unsubscribed {
                            generation,
                            shard,
                            channel,
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        }
    }

    /// `data` is `[channel, payload]`.
    fn on_message(&self, generation: u64, data: Vec<Value>) {
        if self.live_generation.load(Ordering::Acquire) != generation {
            return;
        }
        let Some(Value::BulkString(payload)) = data.into_iter().nth(1) else {
            Stats::add(&self.stats.undecodable, 1);
            return;
        };
        if payload.starts_with(&self.own_prefix) {
            Stats::add(&self.stats.skipped_own, 1);
            return;
        }
        match envelope::decode(&payload) {
            Ok(envelope) if envelope.origin == self.node => {
                Stats::add(&self.stats.skipped_own, 1);
            }
            Ok(envelope) => {
                Stats::add(&self.stats.delivered, 1);
                self.emit(BusDelivery::Event(envelope));
            }
            Err(error) => {
                Stats::add(&self.stats.undecodable, 1);
                tracing::debug!(%error, "ignored a message that is not an event");
            }
        }
    }
}
