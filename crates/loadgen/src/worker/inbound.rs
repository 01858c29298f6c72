//! The inbound scenario: the worker posts customer messages to
//! `POST /v1/inbound` at a fixed rate while watchers subscribed to the inbox
//! time the `conversation` events that follow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use switchboard_proto::ServerFrame;
use switchboard_proto::client::{self, ClientFrame};
use uuid::Uuid;

use super::conn::Conn;
use super::shared::{Shared, stopped};
use super::{Ctx, End, SetupSignal, hold_until_run, ping};
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
    let keepalive = ping();
    let mut early = Vec::new();
    if let Err(end) = hold_until_run(conn, ctx, &keepalive, |frame| {
        if let ServerFrame::Conversation(event) = frame {
            early.push((event.conversation.id, event.conversation.last_seq));
        }
        None
    })
    .await
    {
        return end;
    }
    for (id, seq) in early {
        let last = known.entry(id).or_default();
        *last = (*last).max(seq);
    }
    let shared = &ctx.shared;
    let mut phase = shared.phase();
    loop {
        tokio::select! {
            () = stopped(&mut phase) => return End::Stopped,
            _ = ctx.heartbeat.tick() => {
                if conn.send(&keepalive).await.is_err() {
                    return End::Closed;
                }
            }
            frame = conn.recv() => match frame {
                Some((at, ServerFrame::Conversation(event))) => {
                    shared.count_at(&shared.counters.deliveries, at);
                    let summary = event.conversation;
                    let last = known.entry(summary.id).or_default();
                    if summary.last_seq > *last {
                        *last = summary.last_seq;
                        let done = tracker
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .seen(summary.id, summary.last_seq, at);
                        if let Some((posted, latency)) = done {
                            shared.record_at(names::POST_TO_EVENT, posted, latency);
                        }
                    }
                }
                Some((at, ServerFrame::Error(error))) => shared.error_at(error.code.as_str(), at),
                Some(_) => {}
                None => return End::Closed,
            },
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
}

#[derive(Debug, Deserialize)]
struct StoredMessage {
    seq: u64,
}

/// Posts at the plan's rate from the start of warm-up until the worker stops.
pub(super) async fn post_loop(
    plan: WorkerPlan,
    shared: Arc<Shared>,
    tracker: Arc<Mutex<InboundTracker>>,
) {
    let Work::Inbound {
        rate_per_sec,
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
    let url = format!("http://{}/v1/inbound", plan.addr);
    let spacing_ns = 1e9 / rate_per_sec.max(1e-3);
    let mut phase = shared.phase();
    let mut rng = SplitMix::new(0x5eed ^ plan.index as u64);
    let mut handles: Vec<String> = Vec::new();
    let start = now_ns();
    let body = "x".repeat(body_bytes.max(1));
    for i in 0u64.. {
        tokio::select! {
            () = stopped(&mut phase) => return,
            () = sleep_until_ns(start + (i as f64 * spacing_ns) as u64) => {}
        }
        let handle = if handles.is_empty() || rng.next_f64() < new_contact_ratio {
            let handle = format!("+1555{:03}{:07}", plan.index, handles.len());
            handles.push(handle.clone());
            handle
        } else {
            handles[(rng.next_u64() % handles.len() as u64) as usize].clone()
        };
        let request = http
            .post(&url)
            .bearer_auth(&api_key)
            .json(&serde_json::json!({
                "inbox_id": inbox_id,
                "contact": {"handle": handle},
                "body": body,
            }));
        let shared = shared.clone();
        let tracker = tracker.clone();
        tokio::spawn(async move {
            let sent = now_ns();
            shared.count_at(&shared.counters.posts, sent);
            let stored = match request.send().await {
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
                    let early = tracker.lock().unwrap_or_else(|e| e.into_inner()).posted(
                        stored.conversation_id,
                        stored.message.seq,
                        sent,
                    );
                    for latency in early {
                        shared.record_at(names::POST_TO_EVENT, sent, latency);
                    }
                }
                Err(e) => {
                    shared.count_at(&shared.counters.post_failures, sent);
                    shared.note(&format!("inbound post: {e}"));
                }
            }
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
