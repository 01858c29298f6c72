//! The churn scenario: takers loop take → release while observers watch the
//! presence; the latency that matters is from `take` to the moment the last
//! observer sees the taker as active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Interval;

use switchboard_proto::client::{self, ClientFrame};
use switchboard_proto::{ErrorCode, Presence, ServerFrame};
use uuid::Uuid;

use super::conn::Conn;
use super::observe::{Watch, observe};
use super::shared::{Shared, stopped};
use super::{Ctx, End, SetupSignal, hold_until_run, ping};
use crate::clock::now_ns;
use crate::histo::names;

/// How many grants back the tracker keeps unmatched entries.
const KEEP_GRANTS: u64 = 4096;

/// Matches a granted `take` (its fencing epoch, from the ack's presence)
/// with the moment each observer first saw that grant, whichever comes
/// first. The epoch, unlike the presence `version`, is the same on every
/// node, so takers and observers may be on different nodes. Pure: it is
/// given the times.
#[derive(Debug)]
pub struct ChurnTracker {
    observers: usize,
    seen: HashMap<u64, Sighting>,
    takes: HashMap<u64, (Uuid, u64)>,
    newest: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sighting {
    active: Uuid,
    count: usize,
    last_ns: u64,
}

/// A completed take: when it was sent and how long until the last observer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    pub sent_ns: u64,
    pub latency_ns: u64,
}

impl ChurnTracker {
    pub fn new(observers: usize) -> Self {
        Self {
            observers,
            seen: HashMap::new(),
            takes: HashMap::new(),
            newest: 0,
        }
    }

    /// An observer first saw grant `epoch` to `active` at `at_ns` (each
    /// observer reports each grant once).
    pub fn observer_saw(&mut self, epoch: u64, active: Uuid, at_ns: u64) -> Option<Completed> {
        let sighting = self.seen.entry(epoch).or_insert(Sighting {
            active,
            count: 0,
            last_ns: 0,
        });
        sighting.count += 1;
        sighting.last_ns = sighting.last_ns.max(at_ns);
        self.newest = self.newest.max(epoch);
        let done = self.complete(epoch);
        self.prune();
        done
    }

    /// A taker's `take`, sent at `sent_ns`, was granted with `epoch`.
    pub fn taker_granted(&mut self, epoch: u64, taker: Uuid, sent_ns: u64) -> Option<Completed> {
        self.takes.insert(epoch, (taker, sent_ns));
        self.newest = self.newest.max(epoch);
        let done = self.complete(epoch);
        self.prune();
        done
    }

    fn complete(&mut self, epoch: u64) -> Option<Completed> {
        let sighting = *self.seen.get(&epoch)?;
        let (taker, sent_ns) = *self.takes.get(&epoch)?;
        if sighting.count < self.observers {
            return None;
        }
        self.seen.remove(&epoch);
        self.takes.remove(&epoch);
        // A grant seen before the take was sent is not this take's doing.
        (sighting.active == taker && sighting.last_ns >= sent_ns).then(|| Completed {
            sent_ns,
            latency_ns: sighting.last_ns - sent_ns,
        })
    }

    fn prune(&mut self) {
        if self.seen.len() + self.takes.len() > 2 * KEEP_GRANTS as usize {
            let oldest = self.newest.saturating_sub(KEEP_GRANTS);
            self.seen.retain(|v, _| *v >= oldest);
            self.takes.retain(|v, _| *v >= oldest);
        }
    }

    /// Entries waiting for their other half.
    pub fn pending(&self) -> usize {
        self.seen.len() + self.takes.len()
    }
}

fn conversation_ref(conversation: Uuid, reference: Option<String>) -> client::ConversationRef {
    client::ConversationRef {
        reference,
        conversation_id: conversation,
    }
}

async fn join(conn: &mut Conn, conversation: Uuid) -> anyhow::Result<Option<Presence>> {
    let reference = conn.next_ref("j");
    let frame = ClientFrame::Join(client::Join {
        reference: Some(reference.clone()),
        conversation_id: conversation,
        after_seq: None,
        watch: false,
    });
    match conn.request(&frame, &reference, |_, _| {}).await? {
        Ok(ack) => Ok(ack.presence),
        Err(e) => anyhow::bail!("join refused: {}", e.message),
    }
}

#[derive(Debug, Clone)]
pub(super) struct Observer {
    pub conversation: Uuid,
    pub tracker: Arc<Mutex<ChurnTracker>>,
}

impl Observer {
    pub(super) async fn run(self, conn: &mut Conn, ctx: &mut Ctx, setup: &mut SetupSignal) -> End {
        if let Err(e) = join(conn, self.conversation).await {
            return ctx.setup_failed("join", e);
        }
        setup.done();
        let mut watch = Grants {
            tracker: self.tracker,
            last_grant: 0,
        };
        observe(conn, ctx, &mut watch).await
    }
}

/// An observer's reading of the run: every `presence` is a delivery, and
/// the first sighting of each newer grant goes to the tracker.
struct Grants {
    tracker: Arc<Mutex<ChurnTracker>>,
    /// The newest grant's epoch seen.
    last_grant: u64,
}

impl Watch for Grants {
    fn during_run(&mut self, shared: &Shared, at: u64, frame: ServerFrame) {
        let ServerFrame::Presence(presence) = frame else {
            return;
        };
        shared.count_at(&shared.counters.deliveries, at);
        if let (Some(active), Some(epoch)) = (presence.active, presence.epoch)
            && epoch > self.last_grant
        {
            self.last_grant = epoch;
            let done = self
                .tracker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observer_saw(epoch, active.user_id, at);
            if let Some(done) = done {
                shared.record_at(names::TAKE_TO_LAST_PRESENCE, done.sent_ns, done.latency_ns);
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Taker {
    pub conversation: Uuid,
    pub tracker: Arc<Mutex<ChurnTracker>>,
    pub hold: Duration,
    pub pause: Duration,
    pub rejoin: bool,
    /// `Some`: take only at this taker's turns.
    pub pace: Option<Pace>,
}

/// A paced taker's turns: every `interval_ns` on the monotonic clock, from
/// `offset_ns`. A conversation's takers take turns, one every 1/rate
/// seconds, and the run's conversations (over every worker) stagger theirs
/// across that gap, so the offered takes arrive evenly rather than in bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    interval_ns: u64,
    offset_ns: u64,
}

impl Pace {
    /// Taker `taker` of `takers` in conversation `conversation` of
    /// `conversations`, the conversation taken `rate` times a second
    /// (`None` when `rate` is not positive: take as fast as granted).
    pub fn new(
        rate: f64,
        takers: usize,
        taker: usize,
        conversation: usize,
        conversations: usize,
    ) -> Option<Self> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let turn = 1e9 / rate;
        let stagger = turn * conversation as f64 / conversations.max(1) as f64;
        Some(Self {
            interval_ns: ((turn * takers.max(1) as f64) as u64).max(1),
            offset_ns: (turn * taker as f64 + stagger) as u64,
        })
    }

    /// The first turn at or after `at_ns`.
    pub fn next_turn(&self, at_ns: u64) -> u64 {
        if at_ns <= self.offset_ns {
            return self.offset_ns;
        }
        let turns = (at_ns - self.offset_ns).div_ceil(self.interval_ns);
        self.offset_ns + turns * self.interval_ns
    }
}

/// The newest presence a taker has seen: (version, active user).
#[derive(Debug, Clone, Copy, Default)]
struct Latest {
    version: u64,
    active: Option<Uuid>,
}

impl Latest {
    fn apply(&mut self, presence: &Presence) {
        if presence.version >= self.version {
            self.version = presence.version;
            self.active = presence.active.as_ref().map(|a| a.user_id);
        }
    }

    fn apply_frame(&mut self, frame: &ServerFrame) {
        if let ServerFrame::Presence(presence) = frame {
            self.apply(presence);
        }
    }
}

/// When a refused taker tries again without having seen the role free up.
const RETRY_AFTER_LOCKED: Duration = Duration::from_secs(1);

impl Taker {
    pub(super) async fn run(self, conn: &mut Conn, ctx: &mut Ctx, setup: &mut SetupSignal) -> End {
        let mut latest = Latest::default();
        match join(conn, self.conversation).await {
            Ok(Some(presence)) => latest.apply(&presence),
            Ok(None) => {}
            Err(e) => return ctx.setup_failed("join", e),
        }
        if latest.active == Some(conn.user_id) {
            // Nobody was there, so the join made us active: start free.
            let reference = conn.next_ref("r");
            let frame =
                ClientFrame::Release(conversation_ref(self.conversation, Some(reference.clone())));
            match conn
                .request(&frame, &reference, |_, f| latest.apply_frame(&f))
                .await
            {
                Ok(Ok(ack)) => {
                    if let Some(p) = ack.presence {
                        latest.apply(&p);
                    }
                }
                Ok(Err(e)) => return ctx.setup_failed("release", e.message),
                Err(e) => return ctx.setup_failed("release", e),
            }
        }
        setup.done();
        let keepalive = ping();
        if let Err(end) = hold_until_run(conn, ctx, &keepalive, |f| {
            latest.apply_frame(f);
            None
        })
        .await
        {
            return end;
        }
        let mut phase = ctx.shared.phase();
        tokio::select! {
            () = stopped(&mut phase) => End::Stopped,
            end = self.churn(conn, ctx, latest) => end,
        }
    }

    /// take → release (→ leave → join) → pause, for ever.
    async fn churn(&self, conn: &mut Conn, ctx: &mut Ctx, mut latest: Latest) -> End {
        let shared = ctx.shared.clone();
        let me = conn.user_id;
        let mut free_wait = Duration::ZERO;
        let mut last_turn = None;
        loop {
            if let Some(pace) = self.pace {
                // One take per turn: wait for the next one not yet used.
                let turn =
                    pace.next_turn(last_turn.map_or_else(now_ns, |t: u64| now_ns().max(t + 1)));
                last_turn = Some(turn);
                let until_turn = Duration::from_nanos(turn.saturating_sub(now_ns()));
                if let Err(end) = read_for(conn, &mut latest, &mut ctx.heartbeat, until_turn).await
                {
                    return end;
                }
            }
            // Like a console: press "Start chatting" once nobody answers.
            if let Err(end) = wait_free(conn, &mut latest, &mut ctx.heartbeat, free_wait).await {
                return end;
            }
            let reference = conn.next_ref("t");
            let take = ClientFrame::Take(client::Take {
                reference: Some(reference.clone()),
                conversation_id: self.conversation,
                force: false,
            });
            let sent = now_ns();
            shared.count_at(&shared.counters.takes, sent);
            let answer = match conn
                .request(&take, &reference, |_, f| latest.apply_frame(&f))
                .await
            {
                Ok(answer) => answer,
                Err(_) => return End::Closed,
            };
            let answered = now_ns();
            match answer {
                Ok(ack) => {
                    let Some(presence) = ack.presence else {
                        shared.note("take ack without presence");
                        return End::Stopped;
                    };
                    latest.apply(&presence);
                    if presence.active.as_ref().map(|a| a.user_id) != Some(me) {
                        shared.note("take acked with someone else active");
                        free_wait = RETRY_AFTER_LOCKED;
                        continue;
                    }
                    shared.count_at(&shared.counters.take_acks, sent);
                    shared.record_at(names::TAKE_TO_ACK, sent, answered - sent);
                    let Some(epoch) = presence.epoch else {
                        shared.note("take ack without the grant's epoch");
                        return End::Stopped;
                    };
                    let done = self
                        .tracker
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .taker_granted(epoch, me, sent);
                    if let Some(done) = done {
                        shared.record_at(
                            names::TAKE_TO_LAST_PRESENCE,
                            done.sent_ns,
                            done.latency_ns,
                        );
                    }
                    if let Err(end) =
                        read_for(conn, &mut latest, &mut ctx.heartbeat, self.hold).await
                    {
                        return end;
                    }
                    if let Err(end) = self.release(conn, ctx, &mut latest).await {
                        return end;
                    }
                    if let Err(end) =
                        read_for(conn, &mut latest, &mut ctx.heartbeat, self.pause).await
                    {
                        return end;
                    }
                    free_wait = Duration::ZERO;
                }
                Err(error) => {
                    shared.error_at(error.code.as_str(), sent);
                    if error.code == ErrorCode::Locked {
                        shared.count_at(&shared.counters.locked, sent);
                        // Wait until the role is free again (or a while).
                        if latest.active.is_none() || latest.active == Some(me) {
                            latest.active = error.answered_by.map(|a| a.user_id);
                        }
                        free_wait = RETRY_AFTER_LOCKED;
                    } else if let Err(end) = read_for(
                        conn,
                        &mut latest,
                        &mut ctx.heartbeat,
                        Duration::from_millis(100),
                    )
                    .await
                    {
                        return end;
                    }
                }
            }
        }
    }

    async fn release(
        &self,
        conn: &mut Conn,
        ctx: &mut Ctx,
        latest: &mut Latest,
    ) -> Result<(), End> {
        let shared = &ctx.shared;
        let reference = conn.next_ref("r");
        let frame =
            ClientFrame::Release(conversation_ref(self.conversation, Some(reference.clone())));
        let at = now_ns();
        match conn
            .request(&frame, &reference, |_, f| latest.apply_frame(&f))
            .await
        {
            Ok(Ok(ack)) => {
                shared.count_at(&shared.counters.releases, at);
                if let Some(p) = ack.presence {
                    latest.apply(&p);
                }
            }
            Ok(Err(e)) => shared.error_at(e.code.as_str(), at),
            Err(_) => return Err(End::Closed),
        }
        if self.rejoin {
            let reference = conn.next_ref("l");
            let frame =
                ClientFrame::Leave(conversation_ref(self.conversation, Some(reference.clone())));
            match conn
                .request(&frame, &reference, |_, f| latest.apply_frame(&f))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => shared.error_at(e.code.as_str(), at),
                Err(_) => return Err(End::Closed),
            }
            match join(conn, self.conversation).await {
                Ok(Some(p)) => latest.apply(&p),
                Ok(None) => {}
                Err(_) => return Err(End::Closed),
            }
        }
        Ok(())
    }
}

/// Reads frames until the latest presence shows nobody active, or `limit`
/// passes; a zero `limit` returns at once. Heartbeats go out meanwhile.
async fn wait_free(
    conn: &mut Conn,
    latest: &mut Latest,
    heartbeat: &mut Interval,
    limit: Duration,
) -> Result<(), End> {
    if latest.active.is_none() || limit.is_zero() {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + limit;
    while latest.active.is_some() {
        if !read_until(conn, latest, heartbeat, deadline).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads (and applies) frames for `duration`, with heartbeats.
async fn read_for(
    conn: &mut Conn,
    latest: &mut Latest,
    heartbeat: &mut Interval,
    duration: Duration,
) -> Result<(), End> {
    if duration.is_zero() {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + duration;
    while read_until(conn, latest, heartbeat, deadline).await? {}
    Ok(())
}

/// Reads one frame (true) or reaches `deadline` (false), sending a heartbeat
/// when one is due.
async fn read_until(
    conn: &mut Conn,
    latest: &mut Latest,
    heartbeat: &mut Interval,
    deadline: tokio::time::Instant,
) -> Result<bool, End> {
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Ok(false),
            _ = heartbeat.tick() => {
                if conn.send(&ping()).await.is_err() {
                    return Err(End::Closed);
                }
            }
            frame = conn.recv() => match frame {
                Some((_, frame)) => {
                    latest.apply_frame(&frame);
                    return Ok(true);
                }
                None => return Err(End::Closed),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn latency_runs_to_the_last_observer_whichever_side_comes_first() {
        let mut t = ChurnTracker::new(3);
        assert_eq!(t.observer_saw(7, user(1), 1_100), None);
        assert_eq!(t.taker_granted(7, user(1), 1_000), None);
        assert_eq!(t.observer_saw(7, user(1), 1_300), None);
        assert_eq!(
            t.observer_saw(7, user(1), 1_200),
            Some(Completed {
                sent_ns: 1_000,
                latency_ns: 300
            })
        );
        assert_eq!(t.pending(), 0);

        // The ack arrives after every observer saw it.
        for at in [2_050, 2_010, 2_030] {
            assert_eq!(t.observer_saw(9, user(2), at), None);
        }
        assert_eq!(
            t.taker_granted(9, user(2), 2_000),
            Some(Completed {
                sent_ns: 2_000,
                latency_ns: 50
            })
        );
    }

    #[test]
    fn a_grant_that_shows_someone_else_or_came_before_the_take_does_not_count() {
        let mut t = ChurnTracker::new(1);
        t.observer_saw(3, user(9), 500);
        assert_eq!(t.taker_granted(3, user(1), 400), None);
        t.observer_saw(4, user(1), 300);
        assert_eq!(t.taker_granted(4, user(1), 400), None);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn paced_takers_take_turns_and_conversations_stagger() {
        // 10 takes/s over 2 takers: each takes every 200 ms, 100 ms apart;
        // the second of 4 conversations starts a quarter turn (25 ms) later.
        let first = Pace::new(10.0, 2, 0, 0, 4).unwrap();
        let second = Pace::new(10.0, 2, 1, 0, 4).unwrap();
        let other = Pace::new(10.0, 2, 0, 1, 4).unwrap();
        let ms = 1_000_000;
        assert_eq!(first.next_turn(0), 0);
        assert_eq!(first.next_turn(1), 200 * ms);
        assert_eq!(first.next_turn(200 * ms), 200 * ms);
        assert_eq!(second.next_turn(1), 100 * ms);
        assert_eq!(second.next_turn(100 * ms + 1), 300 * ms);
        assert_eq!(other.next_turn(1), 25 * ms);
        assert_eq!(Pace::new(0.0, 2, 0, 0, 1), None);
        assert_eq!(Pace::new(f64::NAN, 2, 0, 0, 1), None);
    }

    #[test]
    fn unmatched_entries_are_pruned() {
        let mut t = ChurnTracker::new(2);
        for v in 0..(3 * KEEP_GRANTS) {
            t.observer_saw(v, user(1), v);
        }
        assert!(t.pending() <= 2 * KEEP_GRANTS as usize + 1);
    }
}
