//! The invariants, checked after every slice of virtual time (what the
//! consoles received) and after every step (what the store holds).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use switchboard_core::ids::{ConversationId, NodeId};
use switchboard_core::model::{Conversation, ConversationStatus, Direction, User};
use tokio::time::Instant;

use crate::world::{CAPACITY, Heal, SLICE, World};

/// How long a change of access may take to reach live sockets (invariant
/// 4: two seconds), plus the slice between two looks at the consoles.
const ACCESS_BOUND_MS: u64 = 2_000 + SLICE.as_millis() as u64;

/// An invariant broken: which, and what showed it.
#[derive(Debug)]
pub struct Violation(pub String);

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn broken(what: String) -> Result<(), Violation> {
    Err(Violation(what))
}

/// What the consoles asked and were told, and when who could see what.
#[derive(Debug, Default)]
pub struct Observed {
    /// A `send` by its ref: the conversation and the body.
    sends: BTreeMap<String, (String, String)>,
    /// Every frame's type by its ref.
    pub kinds: BTreeMap<String, String>,
    /// Acknowledged messages: conversation, seq, body.
    acked: BTreeSet<(ConversationId, u64, String)>,
    /// Messages delivered to a console: conversation, seq, body.
    delivered: BTreeSet<(ConversationId, u64, String)>,
    /// Per agent: from when on (ms of the run) it could see which of the
    /// two inboxes, as read from the store after each step.
    sight: BTreeMap<usize, Vec<(u64, BTreeSet<usize>)>>,
    /// Which inbox each conversation is in.
    pub inbox_of: BTreeMap<ConversationId, usize>,
    /// Cuts to heal, and when.
    heals: Vec<(Instant, NodeId, Heal)>,
    /// Per node that lost the store (cut off, or paused): since when (ms
    /// of the run) it reaches it again; `None` while it does not.
    store_back: BTreeMap<NodeId, Option<u64>>,
    /// The messages read from the store so far (they never change), and
    /// up to which seq each conversation's were read.
    stored: BTreeMap<(ConversationId, u64), (Direction, String)>,
    read_up_to: BTreeMap<ConversationId, u64>,
    /// Frames checked for invariant 4.
    pub frames_checked: u64,
}

/// The conversation id a frame's field holds, if it holds one.
pub fn conversation_id(value: &Value) -> Option<ConversationId> {
    value
        .as_str()
        .and_then(|s| s.parse::<uuid::Uuid>().ok())
        .map(ConversationId::from)
}

/// The conversations a frame shows something of.
pub fn conversations_in(frame: &Value) -> Vec<ConversationId> {
    let mut found = Vec::new();
    found.extend(conversation_id(&frame["conversation_id"]));
    found.extend(conversation_id(&frame["presence"]["conversation_id"]));
    found.extend(conversation_id(&frame["message"]["conversation_id"]));
    found.extend(conversation_id(&frame["conversation"]["id"]));
    if let Some(list) = frame["conversations"].as_array() {
        found.extend(list.iter().filter_map(|c| conversation_id(&c["id"])));
    }
    if let Some(list) = frame["messages"].as_array() {
        found.extend(
            list.iter()
                .filter_map(|m| conversation_id(&m["conversation_id"])),
        );
    }
    found.sort();
    found.dedup();
    found
}

impl Observed {
    /// A console sent `frame` with `reference`.
    pub fn asked(&mut self, reference: &str, frame: &Value) {
        self.kinds.insert(
            reference.to_owned(),
            frame["type"].as_str().unwrap_or_default().to_owned(),
        );
        if frame["type"] == "send" {
            self.sends.insert(
                reference.to_owned(),
                (
                    frame["conversation_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    frame["body"].as_str().unwrap_or_default().to_owned(),
                ),
            );
        }
    }

    /// From `at` on, agent `agent` could see these inboxes.
    pub fn sees(&mut self, agent: usize, at: u64, inboxes: BTreeSet<usize>) {
        let history = self.sight.entry(agent).or_default();
        if history.last().is_none_or(|(_, last)| *last != inboxes) {
            history.push((at, inboxes));
        }
    }

    /// Whether `agent` could see `inbox` at some moment of `from..=to`.
    fn could_see(&self, agent: usize, inbox: usize, from: u64, to: u64) -> bool {
        let Some(history) = self.sight.get(&agent) else {
            return false;
        };
        history.iter().enumerate().any(|(i, (since, inboxes))| {
            let until = history.get(i + 1).map_or(u64::MAX, |(next, _)| *next);
            inboxes.contains(&inbox) && *since <= to && until > from
        })
    }

    /// `node` cannot reach the store from now on (cut off, or paused).
    pub fn store_away(&mut self, node: NodeId) {
        self.store_back.insert(node, None);
    }

    /// Whether `node` has reached the store for the whole of the access
    /// bound up to `now`: a node that cannot reach it cannot read a change
    /// (docs/ACCESS.md), so the bound counts from its return.
    fn reached_store_throughout(&self, node: NodeId, now: u64) -> bool {
        match self.store_back.get(&node) {
            None => true,
            Some(None) => false,
            Some(Some(back)) => now.saturating_sub(*back) >= ACCESS_BOUND_MS,
        }
    }

    /// A frame reached a console of agent `agent` on `node` at `now` (ms of
    /// the run).
    pub fn frame(
        &mut self,
        now: u64,
        (agent, node): (usize, NodeId),
        user: &User,
        frame: &Value,
    ) -> Result<(), Violation> {
        let kind = frame["type"].as_str().unwrap_or_default();
        if kind == "error" && frame["code"] == "internal" {
            return broken(format!("{} got an internal error: {frame}", user.name));
        }
        // Invariant 4: nobody is shown what they may not see (bounded by
        // the time a change of access may take). What tells the console
        // it lost something is no leak.
        if !matches!(kind, "error" | "conversation_removed" | "lock_lost")
            && self.reached_store_throughout(node, now)
        {
            self.frames_checked += 1;
            for id in conversations_in(frame) {
                let inbox = self.inbox_of[&id];
                let from = now.saturating_sub(ACCESS_BOUND_MS);
                if !self.could_see(agent, inbox, from, now) {
                    return broken(format!(
                        "{} was shown conversation {id} of inbox {inbox}, which they could not see in the last {ACCESS_BOUND_MS} ms: {frame}",
                        user.name
                    ));
                }
            }
        }
        let message = |m: &Value| {
            Some((
                conversation_id(&m["conversation_id"])?,
                m["seq"].as_u64()?,
                m["body"].as_str()?.to_owned(),
            ))
        };
        match kind {
            "ack" if frame.get("message").is_some() => {
                let reference = frame["ref"].as_str().unwrap_or_default();
                if self.sends.contains_key(reference)
                    && let Some(m) = message(&frame["message"])
                {
                    self.acked.insert(m);
                }
            }
            "message" => {
                if let Some(m) = message(&frame["message"]) {
                    self.delivered.insert(m);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// How much the run showed: for the end of its trace.
    pub fn summary(&self) -> String {
        format!(
            "{} frames checked, {} messages acknowledged, {} delivered, {} conversations",
            self.frames_checked,
            self.acked.len(),
            self.delivered.len(),
            self.inbox_of.len()
        )
    }

    /// `node`'s cut of kind `heal` ends at `at`.
    pub fn heal(&mut self, node: NodeId, at: Instant, heal: Heal) {
        self.heals.push((at, node, heal));
    }

    /// When the last cut heals.
    pub fn last_heal(&self) -> Option<Instant> {
        self.heals.iter().map(|(at, _, _)| *at).max()
    }

    /// The cuts whose end came by `now`, taken; `run_ms` is `now` in ms
    /// of the run.
    pub fn due_heals(&mut self, now: Instant, run_ms: u64) -> Vec<(NodeId, Heal)> {
        let (due, later): (Vec<_>, Vec<_>) =
            self.heals.drain(..).partition(|(at, _, _)| *at <= now);
        self.heals = later;
        for (_, node, heal) in &due {
            let still_away = self
                .heals
                .iter()
                .any(|(_, n, h)| n == node && *h == Heal::Store);
            if *heal == Heal::Store && !still_away {
                self.store_back.insert(*node, Some(run_ms));
            }
        }
        due.into_iter()
            .map(|(_, node, heal)| (node, heal))
            .collect()
    }
}

/// What the store holds: invariants 1, 2 and 3.
pub fn store_invariants(
    world: &mut World,
    conversations: &[Conversation],
) -> Result<(), Violation> {
    let direct = world.store.store();
    let db = direct.inner();
    // 1. At most one accepted writer per conversation and epoch.
    for (conversation, writes) in world.store.accepted_writes() {
        let mut writers: BTreeMap<u64, BTreeSet<_>> = BTreeMap::new();
        for write in &writes {
            writers.entry(write.epoch).or_default().insert(write.author);
        }
        if let Some((epoch, authors)) = writers.iter().find(|(_, a)| a.len() > 1) {
            return broken(format!(
                "conversation {conversation}: {} writers accepted at epoch {epoch}: {authors:?}",
                authors.len()
            ));
        }
    }
    // 2. Every acknowledged message stored once, with gap-free seqs;
    //    nothing delivered that is not stored as delivered. Messages never
    //    change once stored: each conversation's are read from where the
    //    last look stopped.
    let observed = &mut world.observed;
    for conversation in conversations {
        let read = observed
            .read_up_to
            .get(&conversation.id)
            .copied()
            .unwrap_or(0);
        if conversation.last_seq == read {
            continue;
        }
        let messages = direct
            .run(db.messages_after(conversation.id, read, 100_000))
            .map_err(|e| Violation(format!("reading messages: {e}")))?;
        let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
        let want: Vec<u64> = (read + 1..=read + messages.len() as u64).collect();
        if seqs != want || conversation.last_seq != read + messages.len() as u64 {
            return broken(format!(
                "conversation {}: seqs {seqs:?} after {read}, last_seq {}",
                conversation.id, conversation.last_seq
            ));
        }
        for m in messages {
            let outbound = m.direction == Direction::Outbound;
            if outbound
                && observed
                    .stored
                    .range((conversation.id, 0)..=(conversation.id, u64::MAX))
                    .any(|(_, (direction, body))| {
                        *direction == Direction::Outbound && *body == m.body
                    })
            {
                return broken(format!(
                    "conversation {}: {:?} stored twice",
                    conversation.id, m.body
                ));
            }
            observed
                .stored
                .insert((conversation.id, m.seq), (m.direction, m.body));
        }
        observed
            .read_up_to
            .insert(conversation.id, conversation.last_seq);
    }
    let stored = |conversation: ConversationId, seq: u64| {
        observed
            .stored
            .get(&(conversation, seq))
            .map(|(_, body)| body)
    };
    for (conversation, seq, body) in &observed.acked {
        if stored(*conversation, *seq) != Some(body) {
            return broken(format!(
                "acknowledged message {seq} of {conversation} ({body:?}) is not stored as such: {:?}",
                stored(*conversation, *seq)
            ));
        }
    }
    for (conversation, seq, body) in &observed.delivered {
        if stored(*conversation, *seq) != Some(body) {
            return broken(format!(
                "delivered message {seq} of {conversation} ({body:?}) is not stored as such: {:?}",
                stored(*conversation, *seq)
            ));
        }
    }
    // 3. Capacity never exceeded; each open conversation assigned once,
    //    counted once.
    let agents = direct
        .run(db.agents(world.account))
        .map_err(|e| Violation(format!("reading agents: {e}")))?;
    for agent in agents {
        let assigned = conversations
            .iter()
            .filter(|c| {
                c.status == ConversationStatus::Open
                    && c.assignee.as_ref().is_some_and(|a| a.id == agent.user.id)
            })
            .count();
        if assigned > CAPACITY as usize {
            return broken(format!(
                "{} has {assigned} open conversations, capacity {CAPACITY}",
                agent.user.name
            ));
        }
        if agent.load as usize != assigned {
            return broken(format!(
                "{} counts a load of {} for {assigned} open conversations",
                agent.user.name, agent.load
            ));
        }
    }
    Ok(())
}

/// Once everything healed and the cluster settled: every console joined to
/// a conversation sees, as its latest presence, exactly the agents that
/// have a console joined to it (presence converges, whatever was lost).
pub fn presence_converged(world: &World) -> Result<(), Violation> {
    let mut joined_by: BTreeMap<ConversationId, BTreeSet<String>> = BTreeMap::new();
    for console in &world.consoles {
        for id in &console.joined {
            joined_by
                .entry(*id)
                .or_default()
                .insert(world.agents[console.agent].id.to_string());
        }
    }
    for console in &world.consoles {
        for id in &console.joined {
            let seen = console.last_presence.get(id);
            if seen != joined_by.get(id) {
                return broken(format!(
                    "console {} (agent {}) sees {seen:?} in conversation {id}, where {:?} are joined",
                    console.id,
                    console.agent,
                    joined_by.get(id)
                ));
            }
        }
    }
    Ok(())
}
