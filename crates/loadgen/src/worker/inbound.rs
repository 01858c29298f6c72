//! The inbound scenario: the worker posts customer messages to
//! `POST /v1/inbound` (at a fixed rate, or as fast as `concurrency` posting
//! loops get answers) while watchers subscribed to the inbox time the
//! `conversation` events that follow; agents among the watchers take the
//! new conversations, and each answer says whether it was assigned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use switchboard_proto::ServerFrame;
use switchboard_proto::client::{self, ClientFrame};
use uuid::Uuid;

use super::conn::Conn;
use super::observe::{Watch, observe};
use super::shared::{Shared, stopped};
use super::{Ctx, End, SetupSignal};
use crate::clock::{now_ns, sleep_until_ns};
use crate::histo::names;
use crate::plan::{Work, WorkerPlan};

/// Matches a post (its conversation and seq, from the 201 response) with the
/// moments watchers saw that seq in a `conversation` event, whichever comes
/// first. Pure: it is given the times.
#[derive(Debug)]
pub struct InboundTracker {
    watchers: usize,
    pending: HashMap<(Uuid, u64), Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    posted_ns: Option<u64>,
    /// Sightings before the post's response came back.
    early: Vec<u64>,
    seen: usize,
}

impl InboundTracker {
    pub fn new(watchers: usize) -> Self {
        Self {
            watchers,
            pending: HashMap::new(),
        }
    }

    /// The post sent at `posted_ns` stored message `seq` in `conversation`;
    /// returns the latencies of the sightings that came before.
    pub fn posted(&mut self, conversation: Uuid, seq: u64, posted_ns: u64) -> Vec<u64> {
        let key = (conversation, seq);
        let entry = self.pending.entry(key).or_default();
        entry.posted_ns = Some(posted_ns);
        let done: Vec<u64> = entry
            .early
            .drain(..)
            .map(|at| at.saturating_sub(posted_ns))
            .collect();
        if entry.seen >= self.watchers {
            self.pending.remove(&key);
        }
        done
    }

    /// A watcher saw `seq` of `conversation` at `at_ns`; the post's time and
    /// the latency when the post is known already.
    pub fn seen(&mut self, conversation: Uuid, seq: u64, at_ns: u64) -> Option<(u64, u64)> {
        let key = (conversation, seq);
        let entry = self.pending.entry(key).or_default();
        entry.seen += 1;
        let result = match entry.posted_ns {
            Some(posted) => Some((posted, at_ns.saturating_sub(posted))),
            None => {
                entry.early.push(at_ns);
                None
            }
        };
        if entry.posted_ns.is_some() && entry.seen >= self.watchers {
            self.pending.remove(&key);
        }
        result
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// A watcher: `subscribe_inbox`, then times each new message's `conversation` event.
pub(super) async fn watch(
    conn: &mut Conn,
    ctx: &mut Ctx,
    setup: &mut SetupSignal,
    tracker: Arc<Mutex<InboundTracker>>,
) -> End {
    let reference = conn.next_ref("i");
    let subscribe = ClientFrame::SubscribeInbox(client::SubscribeInbox {
        reference: Some(reference.clone()),
        folder_id: None,
    });
    let mut known: HashMap<Uuid, u64> = HashMap::new();
    match conn.request(&subscribe, &reference, |_, _| {}).await {
        Ok(Ok(ack)) => {
            for summary in ack.conversations.unwrap_or_default() {
                known.insert(summary.id, summary.last_seq);
            }
        }
        Ok(Err(e)) => return ctx.setup_failed("subscribe_inbox", e.message),
        Err(e) => return ctx.setup_failed("subscribe_inbox", e),
    }
    setup.done();
    observe(conn, ctx, &mut Sightings { known, tracker }).await
}

/// A watcher's reading: each `conversation` event is a delivery; one whose
/// `last_seq` is past what this watcher knew of the conversation is a
/// sighting of that message, matched with its post by the tracker.
struct Sightings {
    /// The highest seq seen per conversation (from the subscription's
    /// answer, and from events before the run, which are not timed).
    known: HashMap<Uuid, u64>,
    tracker: Arc<Mutex<InboundTracker>>,
}

impl Watch for Sightings {
    fn before_run(&mut self, frame: &ServerFrame) {
        if let ServerFrame::Conversation(event) = frame {
            let last = self.known.entry(event.conversation.id).or_default();
            *last = (*last).max(event.conversation.last_seq);
        }
    }

    fn during_run(&mut self, shared: &Shared, at: u64, frame: ServerFrame) {
        let ServerFrame::Conversation(event) = frame else {
            return;
        };
        shared.count_at(&shared.counters.deliveries, at);
        let summary = event.conversation;
        let last = self.known.entry(summary.id).or_default();
        if summary.last_seq > *last {
            *last = summary.last_seq;
            let done = self.tracker.lock().unwrap_or_else(|e| e.into_inner()).seen(
                summary.id,
                summary.last_seq,
                at,
            );
            if let Some((posted, latency)) = done {
                shared.record_at(names::POST_TO_EVENT, posted, latency);
            }
        }
    }
}

/// SplitMix64: a small deterministic generator, enough to mix contacts.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Deserialize)]
struct Stored {
    conversation_id: Uuid,
    message: StoredMessage,
    /// How the conversation was routed (absent from servers that do not say).
    #[serde(default)]
    assignee: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct StoredMessage {
    seq: u64,
}

/// The contacts one posting loop writes as: new ones (`handle_prefix` and a
/// counter) or, at `1 − new_contact_ratio`, one it wrote as before.
#[derive(Debug)]
struct Contacts {
    prefix: String,
    new_contact_ratio: f64,
    rng: SplitMix,
    handles: Vec<String>,
}

impl Contacts {
    fn new(prefix: String, new_contact_ratio: f64, seed: u64) -> Self {
        Self {
            prefix,
            new_contact_ratio,
            rng: SplitMix::new(seed),
            handles: Vec::new(),
        }
    }

    fn next(&mut self) -> String {
        if self.handles.is_empty() || self.rng.next_f64() < self.new_contact_ratio {
            let handle = format!("{}{:07}", self.prefix, self.handles.len());
            self.handles.push(handle.clone());
            handle
        } else {
            let i = (self.rng.next_u64() % self.handles.len() as u64) as usize;
            self.handles[i].clone()
        }
    }
}

/// What every post shares.
#[derive(Debug, Clone)]
struct Poster {
    http: reqwest::Client,
    url: String,
    api_key: String,
    inbox_id: Uuid,
    body: Arc<str>,
    shared: Arc<Shared>,
    tracker: Arc<Mutex<InboundTracker>>,
}

impl Poster {
    /// One post, counted and timed; false when it failed.
    async fn post(&self, handle: String) -> bool {
        let shared = &self.shared;
        let sent = now_ns();
        shared.count_at(&shared.counters.posts, sent);
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.api_key)
            .json(&serde_json::json!({
                "inbox_id": self.inbox_id,
                "contact": {"handle": handle},
                "body": &*self.body,
            }))
            .send()
            .await;
        let stored = match response {
            Ok(response) if response.status().as_u16() == 201 => {
                response.json::<Stored>().await.map_err(|e| e.to_string())
            }
            Ok(response) => Err(format!("status {}", response.status())),
            Err(e) => Err(e.to_string()),
        };
        let answered = now_ns();
        match stored {
            Ok(stored) => {
                shared.record_at(names::POST_RESPONSE, sent, answered - sent);
                // A conversation this post started (seq 1), routed to an agent.
                if stored.message.seq == 1 && stored.assignee.is_some_and(|a| !a.is_null()) {
                    shared.assigned_at(sent);
                }
                let early = self
                    .tracker
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .posted(stored.conversation_id, stored.message.seq, sent);
                for latency in early {
                    shared.record_at(names::POST_TO_EVENT, sent, latency);
                }
                true
            }
            Err(e) => {
                shared.count_at(&shared.counters.post_failures, sent);
                shared.note(&format!("inbound post: {e}"));
                false
            }
        }
    }
}

/// How long a posting loop waits after a failed post.
const FAILED_POST_PAUSE: Duration = Duration::from_millis(100);

/// Posts from the start of warm-up until the worker stops: paced at the
/// plan's rate, or from `concurrency` loops that each post again as soon as
/// their last post is answered. Posts go to the first node.
pub(super) async fn post_loop(
    plan: WorkerPlan,
    shared: Arc<Shared>,
    tracker: Arc<Mutex<InboundTracker>>,
) {
    let Work::Inbound {
        rate_per_sec,
        concurrency,
        inbox_id,
        api_key,
        new_contact_ratio,
        body_bytes,
        ..
    } = plan.work
    else {
        return;
    };
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(ip) = plan.source_ip {
        builder = builder.local_address(ip);
    }
    let http = match builder.build() {
        Ok(http) => http,
        Err(e) => {
            shared.note(&format!("http client: {e}"));
            return;
        }
    };
    let poster = Poster {
        http,
        url: format!("http://{}/v1/inbound", plan.nodes[0]),
        api_key,
        inbox_id,
        body: "x".repeat(body_bytes.max(1)).into(),
        shared: shared.clone(),
        tracker,
    };
    let contacts = |n: usize| {
        Contacts::new(
            format!("+1555{:03}{n:03}", plan.index),
            new_contact_ratio,
            0x5eed ^ ((plan.index as u64) << 16) ^ n as u64,
        )
    };
    let mut phase = shared.phase();
    if concurrency > 0 {
        let mut loops = tokio::task::JoinSet::new();
        for n in 0..concurrency {
            let poster = poster.clone();
            let mut contacts = contacts(n);
            loops.spawn(async move {
                loop {
                    if !poster.post(contacts.next()).await {
                        // A failing server is not hammered from a tight loop.
                        tokio::time::sleep(FAILED_POST_PAUSE).await;
                    }
                }
            });
        }
        stopped(&mut phase).await;
        loops.abort_all();
        return;
    }
    let spacing_ns = 1e9 / rate_per_sec.max(1e-3);
    let mut contacts = contacts(0);
    let start = now_ns();
    for i in 0u64.. {
        tokio::select! {
            () = stopped(&mut phase) => return,
            () = sleep_until_ns(start + (i as f64 * spacing_ns) as u64) => {}
        }
        let poster = poster.clone();
        let handle = contacts.next();
        tokio::spawn(async move {
            poster.post(handle).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sightings_before_and_after_the_response_are_all_timed_from_the_post() {
        let conv = Uuid::from_u128(1);
        let mut t = InboundTracker::new(3);
        assert_eq!(t.seen(conv, 2, 1_500), None);
        assert_eq!(t.posted(conv, 2, 1_000), vec![500]);
        assert_eq!(t.seen(conv, 2, 1_700), Some((1_000, 700)));
        assert_eq!(t.pending(), 1);
        assert_eq!(t.seen(conv, 2, 1_800), Some((1_000, 800)));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn contacts_are_new_at_the_given_share_and_otherwise_repeat() {
        let mut all_new = Contacts::new("+1555".into(), 1.0, 3);
        let handles: Vec<String> = (0..3).map(|_| all_new.next()).collect();
        assert_eq!(handles, ["+15550000000", "+15550000001", "+15550000002"]);
        let mut returning = Contacts::new("+1666".into(), 0.0, 3);
        let first = returning.next();
        assert!((0..10).all(|_| returning.next() == first));
    }

    #[test]
    fn the_mix_is_deterministic_and_in_range() {
        let mut a = SplitMix::new(7);
        let mut b = SplitMix::new(7);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.next_f64());
        }
    }
}
