//! The simulated store: the real SQLite store (in memory), so that the
//! fenced compare-and-set, the leases, the routing lock and the grants are
//! exactly the ones the server runs on, behind a link per node that fails
//! the way a database connection does, in virtual time.
//!
//! The real store answers on threads of its own (its writer, sqlx's
//! workers), which virtual time cannot see: a simulation awaiting it would
//! find its runtime idle and let the paused clock jump ahead. So each call
//! runs to completion on the simulation's thread, which waits for it
//! ([`Shared::run`]), with a runtime of the store's own (on the real
//! clock) as the current one, for what the store spawns and its timers: in
//! virtual time a call takes no time, calls reach the database one at a
//! time and in the order the simulation made them, and the ids the store
//! draws follow the seed (the writer's thread is seeded too: see `det`). The time around a call is the link's: a seeded
//! latency before the call and after it, so that other tasks run between
//! a request and its commit, and between the commit and its answer.
//!
//! Faults, per node: **cut** (calls fail at once, as a refused connection
//! does; a call that was on its way when the cut came may have committed
//! and still fail, as a connection that drops before the answer does);
//! **held** (calls wait until the hold ends, then go through: a paused
//! process whose writes reach the database late); **crashed** (calls
//! never answer: the process is gone, and nothing it started may still
//! reach the database).
//!
//! The store's clock is the database's: it follows virtual time (it only
//! moves forward), apart from the nodes' own clocks, which may jump.
//!
//! Every store write a node made is visible to the invariants through
//! [`SimStore::store`]; the link also notes each fenced write the store
//! accepted ([`SimStore::accepted_writes`]), for the single-writer check.

mod forward;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{Appended, NewOutbound};
use switchboard_core::ports::Store;
use switchboard_store::{ManualClock, StoreOptions};
use tokio::time::Instant;

use crate::rng::Rng;

/// How slow the simulated database is.
#[derive(Debug, Clone, Copy)]
pub struct StoreShape {
    /// The latency before a call reaches the database, and again before
    /// its answer reaches the node, is drawn from `0..=max_latency`.
    pub max_latency: Duration,
}

impl StoreShape {
    /// No latency at all (the store contract suite's).
    pub const INSTANT: Self = Self {
        max_latency: Duration::ZERO,
    };
}

impl Default for StoreShape {
    fn default() -> Self {
        Self {
            max_latency: Duration::from_millis(5),
        }
    }
}

/// What the store's clock (the database's) shows.
#[derive(Debug, Clone)]
pub enum SimClock {
    /// It follows tokio's clock (virtual time, in a simulation).
    FollowsTokio,
    /// It is this clock, which only its owner moves (the store contract
    /// suite's).
    Manual(ManualClock),
}

/// A fenced write the store accepted: who wrote, at which epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcceptedWrite {
    pub author: UserId,
    pub epoch: u64,
    pub seq: u64,
}

/// The one database of a simulation, and every node's link to it.
#[derive(Debug)]
pub struct SimStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Always there; taken only when the store is dropped.
    inner: Option<Arc<dyn Store>>,
    /// The store's own runtime (real time), for what the store spawns
    /// and the timers of its pools. Always there; taken only when dropped.
    runtime: Option<tokio::runtime::Runtime>,
    clock: ManualClock,
    /// Whether `clock` follows tokio's.
    follows_tokio: bool,
    /// Tokio's time at which `clock` stood at the start.
    started: Instant,
    /// How far `clock` has been moved, in ms of virtual time.
    moved_ms: Mutex<u128>,
    shape: StoreShape,
    state: Mutex<StoreState>,
}

#[derive(Debug)]
struct StoreState {
    rng: Rng,
    links: BTreeMap<NodeId, LinkFaults>,
    /// Calls made through the links.
    calls: u64,
    /// `set_grants` calls that reached the database.
    grant_writes: u64,
    accepted: BTreeMap<ConversationId, Vec<AcceptedWrite>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct LinkFaults {
    cut: bool,
    /// Calls wait until this virtual instant.
    held_until: Option<Instant>,
    crashed: bool,
}

/// One node's connection to the simulated store: what its hub and
/// application are given as their `Store`.
#[derive(Debug, Clone)]
pub struct StoreLink {
    shared: Arc<Shared>,
    node: NodeId,
}

impl SimStore {
    /// Opens a fresh in-memory SQLite store, with a runtime of its own.
    /// In a simulation, call it inside the simulation's runtime (its clock
    /// starts there).
    pub fn open(seed: u64, shape: StoreShape, clock: SimClock) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sim-store")
            .enable_all()
            .build()
            .expect("the store's runtime");
        let (clock, follows_tokio) = match clock {
            SimClock::FollowsTokio => (ManualClock::new(), true),
            SimClock::Manual(clock) => (clock, false),
        };
        let options = StoreOptions {
            clock: clock.clone().into(),
            ..StoreOptions::default()
        };
        let inner = {
            let _entered = runtime.enter();
            futures_executor::block_on(switchboard_store::connect("sqlite::memory:", &options))
        }
        .expect("an in-memory store");
        Self {
            shared: Arc::new(Shared {
                inner: Some(inner),
                runtime: Some(runtime),
                clock,
                follows_tokio,
                started: Instant::now(),
                moved_ms: Mutex::new(0),
                shape,
                state: Mutex::new(StoreState {
                    rng: Rng::new(seed ^ 0x5354_4f52_4500_0000),
                    links: BTreeMap::new(),
                    calls: 0,
                    grant_writes: 0,
                    accepted: BTreeMap::new(),
                }),
            }),
        }
    }

    /// The store as the simulation itself reads it (for setup and for the
    /// invariants): no faults, no latency.
    pub fn store(&self) -> Direct {
        Direct {
            shared: self.shared.clone(),
        }
    }

    /// `node`'s link (a fresh one, without faults, for a node that starts).
    pub fn link(&self, node: NodeId) -> StoreLink {
        self.shared
            .state
            .lock()
            .links
            .insert(node, LinkFaults::default());
        StoreLink {
            shared: self.shared.clone(),
            node,
        }
    }

    /// Cuts `node` off the store, or heals the cut.
    pub fn set_cut(&self, node: NodeId, cut: bool) {
        self.faults(node, |f| f.cut = cut);
    }

    /// Holds `node`'s calls until the virtual instant `until`.
    pub fn hold(&self, node: NodeId, until: Instant) {
        self.faults(node, |f| f.held_until = Some(until));
    }

    /// `node`'s process is gone: none of its calls answers or goes through
    /// from now on.
    pub fn crash(&self, node: NodeId) {
        self.faults(node, |f| f.crashed = true);
    }

    /// How many calls the nodes made.
    pub fn calls(&self) -> u64 {
        self.shared.state.lock().calls
    }

    /// How many `set_grants` calls reached the database (whether they
    /// changed anything or not): the grants need reading again only when
    /// this moved.
    pub fn grant_writes(&self) -> u64 {
        self.shared.state.lock().grant_writes
    }

    /// The fenced writes the store accepted, per conversation, in order.
    pub fn accepted_writes(&self) -> BTreeMap<ConversationId, Vec<AcceptedWrite>> {
        self.shared.state.lock().accepted.clone()
    }

    fn faults(&self, node: NodeId, change: impl FnOnce(&mut LinkFaults)) {
        change(self.shared.state.lock().links.entry(node).or_default());
    }
}

impl Shared {
    /// Runs one call of the real store to completion, on this thread,
    /// with the store's runtime as the current one and its clock at the
    /// virtual now.
    fn run<T: Send>(&self, call: impl Future<Output = T> + Send) -> T {
        let elapsed = Instant::now().duration_since(self.started).as_millis();
        if self.follows_tokio {
            let mut moved = self.moved_ms.lock();
            if elapsed > *moved {
                let by = u64::try_from(elapsed - *moved).unwrap_or(u64::MAX);
                self.clock.advance(Duration::from_millis(by));
                *moved = elapsed;
            }
        }
        let runtime = self.runtime.as_ref().expect("the store's runtime");
        let _entered = runtime.enter();
        futures_executor::block_on(tokio::task::unconstrained(call))
    }

    fn inner(&self) -> &Arc<dyn Store> {
        self.inner.as_ref().expect("the real store")
    }

    fn latency(&self) -> Duration {
        let max = u64::try_from(self.shape.max_latency.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.state.lock().rng.below(max + 1))
    }

    fn faults(&self, node: NodeId) -> LinkFaults {
        self.state
            .lock()
            .links
            .get(&node)
            .copied()
            .unwrap_or_default()
    }
}

impl Drop for Shared {
    /// The store goes inside its runtime (its pools close there), and the
    /// runtime without waiting: dropping one may happen on a runtime's
    /// thread, where waiting is not allowed.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            {
                let _entered = runtime.enter();
                self.inner.take();
            }
            runtime.shutdown_background();
        }
    }
}

impl StoreLink {
    /// One call over the link: latency, the node's faults, the call
    /// itself, latency again.
    async fn call<T: Send>(
        &self,
        call: impl Future<Output = Result<T, StoreError>> + Send,
    ) -> Result<T, StoreError> {
        self.call_noting(call, |_| {}).await
    }

    /// [`StoreLink::call`], with `note` shown the database's answer before
    /// it travels back (and is perhaps lost on the way).
    pub(crate) async fn call_noting<T: Send>(
        &self,
        call: impl Future<Output = Result<T, StoreError>> + Send,
        note: impl FnOnce(&Result<T, StoreError>),
    ) -> Result<T, StoreError> {
        self.shared.state.lock().calls += 1;
        tokio::time::sleep(self.shared.latency()).await;
        self.reach().await?;
        let answer = self.shared.run(call);
        note(&answer);
        tokio::time::sleep(self.shared.latency()).await;
        if let Err(StoreError::Unavailable(_)) = self.reach().await {
            // as the real store reports a connection lost at any moment
            return Err(StoreError::Unavailable(
                "the simulated connection dropped before the answer".into(),
            ));
        }
        answer
    }

    /// Waits out a hold; fails on a cut; never returns once crashed.
    async fn reach(&self) -> Result<(), StoreError> {
        loop {
            let faults = self.shared.faults(self.node);
            if faults.crashed {
                std::future::pending::<()>().await;
            }
            match faults.held_until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ if faults.cut => {
                    return Err(StoreError::Unavailable(
                        "the simulated database is cut off".into(),
                    ));
                }
                _ => return Ok(()),
            }
        }
    }

    /// `append_outbound`, noting what the store accepted.
    async fn append_watched(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let noted = |appended: &Result<Appended, StoreError>| {
            if let Ok(Appended::Stored(message)) = appended {
                self.shared
                    .state
                    .lock()
                    .accepted
                    .entry(new.conversation_id)
                    .or_default()
                    .push(AcceptedWrite {
                        author: new.author,
                        epoch: new.epoch,
                        seq: message.seq,
                    });
            }
        };
        self.call_noting(self.shared.inner().append_outbound(new), noted)
            .await
    }
}

/// The store without a link: the simulation's own reads and setup.
#[derive(Debug, Clone)]
pub struct Direct {
    shared: Arc<Shared>,
}

impl Direct {
    /// The real store, for calls the simulation makes itself: run each
    /// with [`Direct::run`].
    pub fn inner(&self) -> &Arc<dyn Store> {
        self.shared.inner()
    }

    /// Runs a call of the real store at once (no latency, no fault).
    pub fn run<T: Send>(&self, call: impl Future<Output = T> + Send) -> T {
        self.shared.run(call)
    }
}
