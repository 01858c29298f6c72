//! The hub's clockwork: idle lapses and disconnect graces, lease renewal,
//! silent connections, this node's heartbeat on the bus, and access
//! changes nobody announced.
//!
//! The timers only say when to look; every decision reads the hub's clock,
//! so a test with a manual clock moves time and calls [`Hub::sweep`] itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use switchboard_core::lease;
use switchboard_core::ports::ClusterEvent;
use switchboard_core::{ConversationId, NodeId};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::Hub;
use super::conn::close;

/// How often rooms are checked for idle lapses and expired graces.
const SWEEP_EVERY: Duration = Duration::from_millis(100);
/// How often connections are checked for silence (a quarter of the
/// heartbeat when that is shorter, so that a ping goes out well before the
/// connection would be closed; never more often than the sweep).
const REAP_EVERY: Duration = Duration::from_secs(1);
/// How often this node heartbeats on the bus.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How often this node looks for peers that stopped heartbeating: a
/// fraction of a heartbeat, so that a dead node is buried soon after the
/// liveness window ends rather than up to a heartbeat later.
const WATCH_PEERS_EVERY: Duration = Duration::from_millis(250);
/// Rooms whose lapses one sweep carries out at once.
const SWEEP_ROOMS_AT_ONCE: usize = 16;
/// How often conversations of agents offline too long go back to the queue
/// (when so configured).
const REQUEUE_EVERY: Duration = Duration::from_secs(2);

/// What a timer asks the timers' task to do.
#[derive(Debug, Clone, Copy)]
enum Chore {
    Sweep,
    Reap,
    WatchPeers,
    Requeue,
    AccessRecheck,
    Sessions,
    RemoteHolders,
}

impl Hub {
    /// Runs until `cancel`: the timers of everything but the heartbeat and
    /// lease renewal, which have tasks of their own. Shutting down drops
    /// the chore in hand (a burial, a sweep of thousands of rooms): what
    /// it left undone, the roles released at shutdown and the departure
    /// the others hear cover.
    pub async fn run_timers(self: Arc<Self>, cancel: CancellationToken) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        let quarter_beat = Duration::from_millis(self.settings.heartbeat_ms / 4);
        let mut reap = tokio::time::interval(REAP_EVERY.min(quarter_beat).max(SWEEP_EVERY));
        let mut peers = tokio::time::interval(WATCH_PEERS_EVERY);
        let mut requeue = tokio::time::interval(REQUEUE_EVERY);
        let mut access = tokio::time::interval(self.settings.access_check);
        let mut sessions = tokio::time::interval(super::sessions::SESSIONS_EVERY);
        let mut holders = tokio::time::interval(self.settings.lease);
        for timer in [
            &mut sweep,
            &mut reap,
            &mut peers,
            &mut requeue,
            &mut access,
            &mut sessions,
            &mut holders,
        ] {
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        }
        loop {
            let chore = tokio::select! {
                () = cancel.cancelled() => break,
                _ = sweep.tick() => Chore::Sweep,
                _ = reap.tick() => Chore::Reap,
                _ = peers.tick() => Chore::WatchPeers,
                _ = requeue.tick() => Chore::Requeue,
                _ = access.tick() => Chore::AccessRecheck,
                _ = sessions.tick() => Chore::Sessions,
                _ = holders.tick() => Chore::RemoteHolders,
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.do_chore(chore) => {}
            }
        }
    }

    async fn do_chore(&self, chore: Chore) {
        match chore {
            Chore::Sweep => self.sweep().await,
            Chore::Reap => self.reap_silent(),
            Chore::WatchPeers => self.watch_peers().await,
            Chore::Requeue => self.requeue_offline().await,
            Chore::AccessRecheck => self.access_recheck().await,
            Chore::Sessions => self.check_sessions(None).await,
            Chore::RemoteHolders => self.check_remote_holders().await,
        }
    }

    /// Runs until `cancel`: lease renewal every third of the lease, on a
    /// task of its own, so that a long chore (a burial, a burst of lapses)
    /// cannot hold it back until the leases run out.
    pub async fn run_leases(self: Arc<Self>, cancel: CancellationToken) {
        let mut renew = tokio::time::interval(self.settings.lease / 3);
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = renew.tick() => {}
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.renew_leases() => {}
            }
        }
    }

    /// Runs until `cancel`: this node's heartbeat on the bus, every second,
    /// on a task of its own. The other timers wait on the store (a lease
    /// renewal may wait for a database connection for seconds) and bury
    /// dead nodes; none of that may hold up the heartbeat, or the others
    /// take a node that is only busy for dead.
    pub async fn run_heartbeat(self: Arc<Self>, cancel: CancellationToken) {
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = heartbeat.tick() => self.beat().await,
            }
        }
    }

    /// Heartbeats on the bus. A node that finds it missed its own
    /// heartbeats for longer than the others wait (it was paused, or the
    /// bus was away) asks for a resynchronization: the others may have
    /// buried it meanwhile.
    async fn beat(&self) {
        let now = self.now();
        let previous = self.cluster.last_heartbeat.load(Ordering::Relaxed);
        match self.bus.heartbeat().await {
            Ok(()) => {
                self.cluster.last_heartbeat.store(now, Ordering::Relaxed);
                if self.cluster.heartbeat_failed.swap(false, Ordering::SeqCst) {
                    self.cluster.bus_came_back(now);
                }
                let silent_too_long =
                    previous != 0 && now.saturating_sub(previous) > self.settings.node_dead_ms;
                if silent_too_long && self.clustered() {
                    self.cluster.resync_wanted.store(true, Ordering::SeqCst);
                }
            }
            Err(error) => {
                self.cluster.heartbeat_failed.store(true, Ordering::SeqCst);
                tracing::warn!(%error, "bus heartbeat failed");
            }
        }
    }

    /// In cluster mode, watches the others' heartbeats: a node gone from
    /// the live set is buried (its roles released in the store, its
    /// viewers removed). A node that lost bus events, or its own
    /// heartbeats for too long, resynchronizes first.
    async fn watch_peers(&self) {
        if !self.clustered() || self.cluster.heartbeat_failed.load(Ordering::SeqCst) {
            return;
        }
        if self.cluster.resync_wanted.load(Ordering::SeqCst) {
            self.resync().await;
        }
        self.reread_unsure().await;
        let now = self.now();
        // Just back on a bus that may have restarted empty: the others
        // have a liveness window to beat again before they count as gone.
        let back_at = self.cluster.bus_back_at.load(Ordering::SeqCst);
        let settling = back_at != 0 && now.saturating_sub(back_at) < self.settings.node_dead_ms;
        // The window is over: every live peer has beaten again by now. The
        // resync at the bus's return may have read a room's presence
        // before a peer's first heartbeat (its viewers then left out as
        // not live), and a peer's re-announcement may have come before
        // this node followed the room again. Announce and read again.
        if !settling && self.cluster.settle_pending.swap(false, Ordering::SeqCst) {
            self.resync().await;
        }
        // The live set is read after the work above, which may have waited
        // on the store for seconds (a paused process): read before it, it
        // would bury nodes that beat all along.
        let Some(live) = self.live_peers().await else {
            return;
        };
        let gone: Vec<NodeId> = {
            let mut peers = self.cluster.peers.lock();
            if settling {
                peers.extend(live.iter().copied());
                self.cluster
                    .strangers
                    .lock()
                    .retain(|node, _| !live.contains(node));
                Vec::new()
            } else {
                let mut gone: HashSet<NodeId> = peers.difference(&live).copied().collect();
                let window = Duration::from_millis(self.settings.node_dead_ms);
                gone.extend(self.cluster.strangers_gone(&live, window));
                *peers = live;
                gone.into_iter().collect()
            }
        };
        for (i, &node) in gone.iter().enumerate() {
            // A burial may wait on the store for long too: each node after
            // the first (gone from the set just read) is confirmed gone
            // just before its own. One that cannot be confirmed now stays a
            // peer, looked at again next time.
            if i > 0 {
                match self.live_peers().await {
                    Some(live) if live.contains(&node) => {
                        self.cluster.peers.lock().insert(node);
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        self.cluster.peers.lock().extend(&gone[i..]);
                        return;
                    }
                }
            }
            self.bury(node).await;
        }
    }

    /// The other nodes the bus holds for live now; `None` when it cannot
    /// tell, or this node's own heartbeat is failing.
    async fn live_peers(&self) -> Option<HashSet<NodeId>> {
        if self.cluster.heartbeat_failed.load(Ordering::SeqCst) {
            return None;
        }
        let live = self.bus.live_nodes().await.ok()?;
        Some(live.into_iter().filter(|n| *n != self.node).collect())
    }

    /// Ticks every room whose deadline passed, and takes offline the agents
    /// whose last console closed longer than the grace ago. The sweep timer
    /// calls it every 100 ms; a test that moved a manual clock calls it to
    /// have the time's consequences now.
    pub async fn sweep(&self) {
        self.sweep_consoles().await;
        let now = self.now();
        // Rooms are independent: a burst of lapses (every connection of
        // this node dropped at once) is carried out a few rooms at a time,
        // not one store and bus round trip after another.
        futures_util::stream::iter(self.rooms.due(now))
            .for_each_concurrent(SWEEP_ROOMS_AT_ONCE, |entry| async move {
                let Some(mut st) = entry.lock().await else {
                    return;
                };
                let effects = st.room.tick(self.now(), self.settings.timing);
                if let Err(error) = self.carry_out(&entry, &mut st, effects).await {
                    tracing::warn!(%error, conversation = %entry.id, "could not carry out a lapse");
                }
                self.drop_if_idle(&entry, &mut st);
            })
            .await;
    }

    /// Extends the leases of the roles granted here; a role whose lease ran
    /// out (the store was away, the process was paused) is learned as lost.
    /// The lease timer calls it every third of the lease; a test that moved
    /// a manual store clock calls it to have the consequence now.
    pub async fn renew_leases(&self) {
        // The roles held before the renewal: one granted while it runs is
        // not judged by it.
        let granted = self.rooms.granted();
        let renewed = match self.store.renew_locks(self.node, self.settings.lease).await {
            Ok(renewed) => renewed.into_iter().collect::<HashSet<_>>(),
            Err(error) => {
                tracing::warn!(%error, "could not renew leases");
                return;
            }
        };
        self.end_orphan_roles(&renewed).await;
        for (id, epoch) in lease::not_renewed(granted, &renewed) {
            let Some((entry, mut st)) = self.existing_room(id).await else {
                continue;
            };
            if st.granted_here != Some(epoch) {
                continue; // it changed hands meanwhile
            }
            let lock = match self.store.lock_state(id).await {
                Ok(lock) => lock,
                Err(error) => {
                    tracing::warn!(%error, "could not read a lost lease");
                    continue;
                }
            };
            let (holder, epoch) = lease::after_lost_lease(epoch, &lock);
            let effects = st.room.holder_seen(holder, epoch, self.now());
            if let Err(error) = self.carry_out(&entry, &mut st, effects).await {
                tracing::warn!(%error, "could not carry out a lost lease");
            }
            self.drop_if_idle(&entry, &mut st);
        }
    }

    /// Ends the roles the store renews for this node that no room here
    /// believes it holds: a release the store did not take (it was away
    /// when the holder left), which this node's renewals would otherwise
    /// keep alive for good ("Answered by" someone gone). A role granted
    /// while a renewal runs is known here well before the next one, so
    /// only a role orphaned at two renewals in a row is ended.
    async fn end_orphan_roles(&self, renewed: &HashSet<(ConversationId, u64)>) {
        let held: HashSet<(ConversationId, u64)> = self.rooms.granted().into_iter().collect();
        let orphans: HashSet<(ConversationId, u64)> = renewed.difference(&held).copied().collect();
        let again: Vec<(ConversationId, u64)> = {
            let mut before = self.cluster.orphan_roles.lock();
            let again = orphans.intersection(&before).copied().collect();
            *before = orphans;
            again
        };
        for (id, epoch) in again {
            let Ok(lock) = self.store.lock_state(id).await else {
                continue;
            };
            let Some(holder) = lock.holder.filter(|_| lock.epoch == epoch) else {
                continue;
            };
            match self.store.release_lock(id, holder.id, epoch).await {
                Ok(true) => {
                    tracing::info!(conversation = %id, epoch, "ended a role nobody here holds");
                }
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(%error, "could not end a role nobody here holds");
                    continue;
                }
            }
            if let Some((entry, mut st)) = self.existing_room(id).await {
                let effects = st.room.holder_seen(None, epoch, self.now());
                if let Err(error) = self.carry_out(&entry, &mut st, effects).await {
                    tracing::warn!(%error, "could not carry out an ended role");
                }
                self.drop_if_idle(&entry, &mut st);
            }
            self.publish(|| ClusterEvent::Holder {
                conversation_id: id,
                holder: None,
                epoch,
                reason: None,
            })
            .await;
        }
    }

    /// Conversations of agents offline for longer than configured go back to
    /// the queue (by default they stay assigned).
    async fn requeue_offline(&self) {
        let Some(after) = self.settings.requeue_offline_after else {
            return;
        };
        match self.store.requeue_offline(after).await {
            Ok(mut routed) => self.routed(&mut routed).await,
            Err(error) => {
                tracing::warn!(%error, "could not requeue conversations of offline agents")
            }
        }
    }

    /// Pings connections silent for the heartbeat, closes those that sent
    /// nothing for twice the heartbeat, and those stuck in a write for longer
    /// than the write timeout (the client stopped reading), and those whose
    /// login session expired. Checking here
    /// costs no timer per connection.
    fn reap_silent(&self) {
        let now = self.now();
        self.connections.each(|conn| {
            let writing_since = conn.writing_since.load(Ordering::Relaxed);
            if writing_since != 0
                && now.saturating_sub(writing_since) > self.settings.write_timeout_ms
            {
                self.metrics.slow_consumers.inc();
                conn.abort(close::POLICY, "too slow: write timeout");
            } else {
                conn.watch_silence(now, self.settings.heartbeat_ms);
                self.reap_expired(conn, now);
            }
        });
    }
}
