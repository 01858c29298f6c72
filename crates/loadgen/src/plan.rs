//! What the coordinator and its workers say to each other: one JSON object
//! per line (a worker's stdin and stdout), or the same values over channels
//! for a worker that runs in the coordinator's process.
//!
//! The conversation is always: `Plan`; the worker connects and answers
//! `Ready`; `Start` with the measure window; the worker answers `Report`
//! once the window has ended; `Stop`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Window;

/// Coordinator to worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ToWorker {
    Plan(Box<WorkerPlan>),
    Start { window: Window },
    Stop,
}

/// Worker to coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FromWorker {
    /// Every connection is open (or failed) and set up.
    Ready { stats: Box<WorkerStats> },
    /// The measure window has ended; what was counted in it.
    Report { stats: Box<WorkerStats> },
    /// The worker cannot go on.
    Failed { error: String },
}

/// One worker's share of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerPlan {
    pub index: usize,
    /// The servers' addresses: one, or the nodes of a cluster, the first
    /// taking the writers (responders, takers, the poster) and the others
    /// the readers (see [`crate::plan::node_for`]; churn takers may be
    /// spread instead, see [`crate::plan::taker_node`]).
    pub nodes: Vec<SocketAddr>,
    /// Every client socket of this worker binds here first (port 0), so each
    /// worker has its own ephemeral port range.
    pub source_ip: Option<IpAddr>,
    /// New connections per second for this worker.
    pub ramp_per_sec: f64,
    /// At most this many connections of this worker connecting or setting
    /// up at once (0: no limit): the ramp then slows to what the server
    /// sets up, instead of piling up attempts that time out.
    #[serde(default)]
    pub max_pending: usize,
    pub connect_timeout_ms: u64,
    /// The target is the floor or the Socket.IO peer: no presence, no auth.
    pub floor: bool,
    /// How frames travel on the target's WebSocket.
    #[serde(default)]
    pub wire: Wire,
    pub work: Work,
}

/// How v1 frames travel on a WebSocket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// One JSON frame per text message, at `/v1/ws` (Switchboard, the floor).
    #[default]
    Switchboard,
    /// Each frame the argument of a Socket.IO `frame` event, inside
    /// Engine.IO 4 packets, at `/socket.io/` (the Socket.IO peer).
    SocketIo,
}

/// Which side of the conversation a connection is on, for placing it on a
/// node of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Responders, takers: they act, on the first node.
    Writer,
    /// Observers, watchers: they see what the writers did, on the other
    /// nodes (every event they get crossed nodes).
    Reader,
    /// Idle connections, spread over every node.
    Any,
}

/// The node (index into [`WorkerPlan::nodes`]) of the `i`-th connection of
/// its side, with `nodes` nodes.
pub fn node_for(side: Side, i: usize, nodes: usize) -> usize {
    match (side, nodes) {
        (_, 0 | 1) | (Side::Writer, _) => 0,
        (Side::Reader, n) => 1 + i % (n - 1),
        (Side::Any, n) => i % n,
    }
}

/// The node of the `t`-th taker of a churn conversation: the first, with
/// the other writers, or with `across` node `t % nodes`, so that the
/// conversation's takers race from different nodes and a refusal can rest
/// on a holder granted through another node.
pub fn taker_node(t: usize, nodes: usize, across: bool) -> usize {
    let side = if across { Side::Any } else { Side::Writer };
    node_for(side, t, nodes)
}

/// A connection's credentials: a login token, or none (the floor).
pub type Token = Option<String>;

/// What the worker's connections do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "scenario", rename_all = "snake_case")]
pub enum Work {
    /// `connections` connections, the i-th with `tokens[(first_index + i) % len]`.
    Idle {
        tokens: Vec<Token>,
        first_index: usize,
        connections: usize,
    },
    Fanout {
        responders: Vec<FanoutResponder>,
        observers: Vec<FanoutObserver>,
        /// Messages per second of each responder.
        rate_per_sec: f64,
        body_bytes: usize,
        /// Connections that flood malformed frames (in a worker of their own).
        #[serde(default)]
        flooders: Vec<Token>,
    },
    Churn {
        groups: Vec<ChurnGroup>,
        /// How long a taker keeps the role before releasing it.
        hold_ms: u64,
        /// How long a taker waits after a release before it may take again.
        pause_ms: u64,
        /// Leave and join again after every release.
        rejoin: bool,
        /// Spread each conversation's takers over the nodes
        /// ([`taker_node`]) instead of putting them all on the first.
        takers_across_nodes: bool,
        /// Takes per second per conversation, spread over its takers
        /// (0: each taker takes again as soon as the role is free).
        rate_per_sec: f64,
        /// Conversations are dealt round-robin over this many workers: this
        /// worker's k-th is the run's (k × workers + index)-th, which
        /// staggers paced takes across every worker.
        workers: usize,
        /// Conversations in the whole run.
        conversations: usize,
    },
    Inbound {
        watchers: Vec<Token>,
        /// `POST /v1/inbound` per second.
        rate_per_sec: f64,
        /// Posting loops each sending the next post when the last one is
        /// answered (0: posts are paced at `rate_per_sec`).
        concurrency: usize,
        inbox_id: Uuid,
        api_key: String,
        /// Share of posts from a new contact (the rest repeat earlier ones).
        new_contact_ratio: f64,
        body_bytes: usize,
    },
    /// The scale part: every connection joins one conversation and watches
    /// its presence; one node is killed `kill_after_ms` into the window.
    Scale {
        members: Vec<ScaleMember>,
        kill_after_ms: u64,
    },
}

impl Work {
    pub fn connections(&self) -> usize {
        match self {
            Work::Idle { connections, .. } => *connections,
            Work::Fanout {
                responders,
                observers,
                flooders,
                ..
            } => responders.len() + observers.len() + flooders.len(),
            Work::Churn { groups, .. } => groups
                .iter()
                .map(|g| g.observers.len() + g.takers.len())
                .sum(),
            Work::Inbound { watchers, .. } => watchers.len(),
            Work::Scale { members, .. } => members.len(),
        }
    }
}

/// The active responder of one fanout conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutResponder {
    pub conversation_id: Uuid,
    pub token: Token,
}

/// One fanout observer connection and the conversations it watches
/// ([`crate::watching`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutObserver {
    pub conversations: Vec<Uuid>,
    pub token: Token,
}

/// One conversation of the churn scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChurnGroup {
    pub conversation_id: Uuid,
    pub observers: Vec<Token>,
    pub takers: Vec<Token>,
}

/// One connection of the scale part: a member of one conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleMember {
    pub token: Token,
    pub conversation_id: Uuid,
    /// Index into the plan's nodes.
    pub node: usize,
    /// This member answers the conversation: it takes the role after
    /// joining if joining did not give it.
    #[serde(default)]
    pub answer: bool,
    /// The user of this conversation's member on the node that will be
    /// killed, when this connection is on another node: they must leave
    /// this connection's view of the presence once the node dies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaver: Option<Uuid>,
    /// On a sampled conversation: every member's user, which is the
    /// presence (active and observers) this connection must show when the
    /// window starts. Empty elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<Uuid>,
    /// On a sampled conversation: who must be answering it then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_active: Option<Uuid>,
}

/// What the scale part's connections saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleStats {
    /// Views of sampled conversations compared with every member's user
    /// when the window started, and how many differed.
    pub presence_checked: u64,
    pub presence_wrong: u64,
    /// Connections whose view must lose a user of the killed node, those
    /// that saw it go after the kill, and those where it was gone before.
    pub leaves_expected: u64,
    pub leaves_seen: u64,
    pub leaves_early: u64,
    /// Of those, views in which that user answered when the window
    /// started, and those that then saw nobody (or someone else) answer.
    pub roles_expected: u64,
    pub roles_freed: u64,
}

impl ScaleStats {
    pub fn add(&mut self, other: &ScaleStats) {
        self.presence_checked += other.presence_checked;
        self.presence_wrong += other.presence_wrong;
        self.leaves_expected += other.leaves_expected;
        self.leaves_seen += other.leaves_seen;
        self.leaves_early += other.leaves_early;
        self.roles_expected += other.roles_expected;
        self.roles_freed += other.roles_freed;
    }
}

/// Counts and histograms of one worker (or, merged, of all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// Connections tried, opened (upgrade and welcome), refused or timed out.
    pub attempted: u64,
    pub connected: u64,
    pub failed: u64,
    /// Connections opened whose setup (`join`, `subscribe_inbox`) failed.
    pub setup_failed: u64,
    /// Connections open when the snapshot was taken.
    pub open: u64,
    /// Connections that ended after they were opened (closed by the server or lost).
    pub dropped: u64,
    /// When the first connection was tried and the last one opened.
    pub first_attempt_ns: Option<u64>,
    pub last_connected_ns: Option<u64>,
    /// Events counted in the window: `message` (fanout), `presence` at
    /// observers (churn), `conversation` at watchers (inbound).
    pub deliveries: u64,
    /// `send` frames written in the window, and their answers.
    pub sends: u64,
    pub send_acks: u64,
    /// `take` frames written in the window, granted, refused with `locked`.
    pub takes: u64,
    pub take_acks: u64,
    pub locked: u64,
    /// `release` frames acked in the window.
    pub releases: u64,
    /// `POST /v1/inbound` started in the window; failed ones.
    pub posts: u64,
    pub post_failures: u64,
    /// Posts in the window whose answer named an assignee.
    pub assigned: u64,
    /// The same, per second of the window (by when each post started).
    #[serde(default)]
    pub assigned_by_second: Vec<u64>,
    /// Error frames received in the window, by code (`locked` included).
    pub errors: BTreeMap<String, u64>,
    /// Responders that had to `take` the role back (after `not_active` or `lock_lost`).
    pub retakes: u64,
    /// Fanout's flooders: malformed frames written in the window, error
    /// frames they got back, and times they reconnected after the server
    /// closed them.
    #[serde(default)]
    pub flood: FloodStats,
    /// The scale part's presence checks.
    #[serde(default)]
    pub scale: ScaleStats,
    /// Latency histograms by name, encoded by [`crate::histo::encode`].
    pub histograms: BTreeMap<String, String>,
    /// The first few failures, for the operator.
    pub notes: Vec<String>,
}

impl WorkerStats {
    /// Adds another worker's counts; histograms are merged by the caller.
    pub fn add_counts(&mut self, other: &WorkerStats) {
        self.attempted += other.attempted;
        self.connected += other.connected;
        self.failed += other.failed;
        self.setup_failed += other.setup_failed;
        self.open += other.open;
        self.dropped += other.dropped;
        self.first_attempt_ns = min_some(self.first_attempt_ns, other.first_attempt_ns);
        self.last_connected_ns = self.last_connected_ns.max(other.last_connected_ns);
        self.deliveries += other.deliveries;
        self.sends += other.sends;
        self.send_acks += other.send_acks;
        self.takes += other.takes;
        self.take_acks += other.take_acks;
        self.locked += other.locked;
        self.releases += other.releases;
        self.posts += other.posts;
        self.post_failures += other.post_failures;
        self.assigned += other.assigned;
        if self.assigned_by_second.len() < other.assigned_by_second.len() {
            self.assigned_by_second
                .resize(other.assigned_by_second.len(), 0);
        }
        for (sum, n) in self
            .assigned_by_second
            .iter_mut()
            .zip(&other.assigned_by_second)
        {
            *sum += n;
        }
        self.retakes += other.retakes;
        self.flood.add(&other.flood);
        self.scale.add(&other.scale);
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        for note in &other.notes {
            if self.notes.len() < MAX_NOTES {
                self.notes.push(note.clone());
            }
        }
    }
}

/// What fanout's flooders did in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FloodStats {
    /// Malformed frames written.
    pub frames: u64,
    /// Error frames received (`bad_request`, or `rate_limited` once the
    /// server's flood guard refuses).
    pub errors: u64,
    /// Connections opened again after the server closed one.
    pub reconnects: u64,
}

impl FloodStats {
    pub fn add(&mut self, other: &FloodStats) {
        self.frames += other.frames;
        self.errors += other.errors;
        self.reconnects += other.reconnects;
    }
}

/// Notes kept per worker and in total.
pub const MAX_NOTES: usize = 10;

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_json_line_each_and_read_back() {
        let plan = ToWorker::Plan(Box::new(WorkerPlan {
            index: 1,
            nodes: vec!["127.0.0.1:9".parse().unwrap()],
            source_ip: Some("127.0.0.3".parse().unwrap()),
            ramp_per_sec: 10.0,
            max_pending: 0,
            connect_timeout_ms: 1000,
            floor: false,
            wire: Wire::Switchboard,
            work: Work::Idle {
                tokens: vec![Some("t".into()), None],
                first_index: 5,
                connections: 7,
            },
        }));
        let line = serde_json::to_string(&plan).unwrap();
        assert!(!line.contains('\n'));
        match serde_json::from_str::<ToWorker>(&line).unwrap() {
            ToWorker::Plan(p) => assert_eq!(p.work.connections(), 7),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn writers_go_to_the_first_node_readers_to_the_others() {
        let place = |side, nodes| (0..6).map(|i| node_for(side, i, nodes)).collect::<Vec<_>>();
        assert_eq!(place(Side::Writer, 3), vec![0; 6]);
        assert_eq!(place(Side::Reader, 3), vec![1, 2, 1, 2, 1, 2]);
        assert_eq!(place(Side::Any, 3), vec![0, 1, 2, 0, 1, 2]);
        for side in [Side::Writer, Side::Reader, Side::Any] {
            assert_eq!(place(side, 1), vec![0; 6], "one node takes everyone");
        }
        assert_eq!(place(Side::Reader, 2), vec![1; 6]);
    }

    #[test]
    fn takers_share_the_first_node_unless_spread_across_nodes() {
        let place = |nodes, across| {
            (0..4)
                .map(|t| taker_node(t, nodes, across))
                .collect::<Vec<_>>()
        };
        assert_eq!(place(3, false), vec![0; 4]);
        assert_eq!(place(3, true), vec![0, 1, 2, 0]);
        assert_eq!(place(2, true), vec![0, 1, 0, 1]);
        assert_eq!(place(1, true), vec![0; 4], "one node takes every taker");
    }

    #[test]
    fn counts_add_up_and_times_take_the_extremes() {
        let mut a = WorkerStats {
            attempted: 2,
            first_attempt_ns: Some(50),
            last_connected_ns: Some(70),
            errors: [("locked".to_string(), 1)].into(),
            ..Default::default()
        };
        let b = WorkerStats {
            attempted: 3,
            first_attempt_ns: Some(40),
            last_connected_ns: Some(60),
            errors: [("locked".to_string(), 2), ("internal".to_string(), 1)].into(),
            ..Default::default()
        };
        a.add_counts(&b);
        assert_eq!(a.attempted, 5);
        assert_eq!(a.first_attempt_ns, Some(40));
        assert_eq!(a.last_connected_ns, Some(70));
        assert_eq!(a.errors["locked"], 3);
        assert_eq!(a.errors["internal"], 1);
    }
}
