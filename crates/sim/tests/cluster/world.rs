//! One simulated cluster: real hubs and applications on the simulated
//! store and bus, consoles driving them through the WebSocket adapter,
//! customers writing in, and the faults, all chosen by one seed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::Role;
use switchboard_core::access::{BuiltinRole, Grant, RoleId};
use switchboard_core::ids::{AccountId, ConversationId, GroupId, InboxId, NodeId};
use switchboard_core::input::Name;
use switchboard_core::model::{
    Conversation, ConversationFilter, NewAccount, NewInbox, NewUser, User,
};
use switchboard_core::ports::{Bus, Store};
use switchboard_core::presence::Millis;
use switchboard_core::presence::Timing;
use switchboard_server::app::{App, AppSettings, Caller, InboundInput};
use switchboard_server::clock::Clock;
use switchboard_server::hub::{Conn, Hub, HubSettings, OutboxLimits};
use switchboard_server::metrics::Metrics;
use switchboard_server::ws::frames;
use switchboard_sim::bus::{BusShape, SimNetwork};
use switchboard_sim::rng::Rng;
use switchboard_sim::store::{SimClock, SimStore, StoreShape};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::check::{Observed, Violation};

/// Nodes of the cluster (slots: a crashed node's slot takes a new node
/// when it restarts).
pub const NODES: usize = 3;
/// Agents of the one account.
pub const AGENTS: usize = 4;
/// Each agent's capacity.
pub const CAPACITY: u32 = 2;
/// The lease of the active role: short, so that pauses and cuts outlast it.
pub const LEASE: Duration = Duration::from_secs(3);
/// How long a node may be silent before the others bury it.
pub const NODE_DEAD_MS: u64 = 2_000;
/// How often a node reads its users' access again.
pub const ACCESS_CHECK: Duration = Duration::from_millis(500);
/// Virtual time between two looks at the consoles' frames.
pub const SLICE: Duration = Duration::from_millis(50);
/// Where every node's clock starts: 2026-01-01T00:00:00Z.
const EPOCH_MS: i64 = 1_767_225_600_000;

pub fn settings() -> HubSettings {
    HubSettings {
        timing: Timing {
            idle_ms: 20_000,
            grace_ms: 1_000,
        },
        lease: LEASE,
        heartbeat_ms: 25_000,
        write_timeout_ms: 10_000,
        node_dead_ms: NODE_DEAD_MS,
        requeue_offline_after: None,
        outbox: OutboxLimits {
            frames: 4096,
            bytes: 4 << 20,
        },
        rate_per_sec: 1000,
        rate_burst: 1000,
        max_connections_per_user: 100,
        max_joined_per_connection: 200,
        flood_cooloff_ms: 10_000,
        access_check: ACCESS_CHECK,
        answered_memory: 1000,
    }
}

/// A node's own clock: virtual time, plus the jumps it made.
#[derive(Debug)]
pub struct NodeClock {
    started: Instant,
    offset_ms: AtomicI64,
}

impl NodeClock {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            offset_ms: AtomicI64::new(0),
        }
    }

    fn jump(&self, by_ms: i64) {
        self.offset_ms.fetch_add(by_ms, Ordering::SeqCst);
    }
}

impl Clock for NodeClock {
    fn now(&self) -> Millis {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = EPOCH_MS + elapsed + self.offset_ms.load(Ordering::SeqCst);
        u64::try_from(now).unwrap_or_default()
    }
}

/// A running node.
pub struct Node {
    pub id: NodeId,
    pub hub: Arc<Hub>,
    pub app: Arc<App>,
    clock: Arc<NodeClock>,
    cancel: CancellationToken,
    /// Paused (its store calls held, cut from the bus) until then: its
    /// consoles do nothing meanwhile, as a frozen process reads nothing.
    paused_until: Option<Instant>,
}

/// What a slot holds.
pub enum Slot {
    Up(Node),
    /// Crashed; restarts then.
    Down {
        restart_at: Instant,
    },
}

/// A console: one connection of an agent to one node.
pub struct Console {
    pub id: usize,
    pub agent: usize,
    pub slot: usize,
    pub node: NodeId,
    pub conn: Arc<Conn>,
    /// Its session: frames carried out one after another, then the close
    /// (as the server's read loop does).
    session: mpsc::UnboundedSender<Job>,
    /// Its frames' answers and events, drained as they come.
    pub joined: BTreeSet<ConversationId>,
    /// What it last heard it answers.
    pub answering: BTreeSet<ConversationId>,
    /// Per conversation joined, who its latest presence showed (user ids
    /// of the active responder and the observers).
    pub last_presence: BTreeMap<ConversationId, BTreeSet<String>>,
    next_ref: u64,
}

/// The cluster, its people, and what was seen of it.
pub struct World {
    pub rng: Rng,
    pub store: SimStore,
    network: Arc<SimNetwork>,
    pub slots: Vec<Slot>,
    pub account: AccountId,
    pub root: GroupId,
    /// The two groups under the root, with an inbox each.
    pub groups: [GroupId; 2],
    pub inboxes: [(InboxId, String); 2],
    pub agents: Vec<User>,
    pub conversations: Vec<ConversationId>,
    pub consoles: Vec<Console>,
    next_console: usize,
    next_message: u64,
    /// The store's count of grant writes when the grants were last read.
    grant_writes_seen: u64,
    /// Console actions under way (each a task, so they overlap).
    tasks: Vec<JoinHandle<()>>,
    pub observed: Observed,
    pub trace: Vec<String>,
    /// Every frame a console gets goes into the trace too
    /// (`SWITCHBOARD_SIM_FRAMES`, for reading a failing seed).
    frames_in_trace: bool,
    pub started: Instant,
}

impl World {
    /// Builds the world of `seed`: the store, the account with its groups,
    /// inboxes and agents, and `NODES` nodes.
    pub async fn new(seed: u64) -> Self {
        let store = SimStore::open(seed, StoreShape::default(), SimClock::FollowsTokio);
        let network = SimNetwork::new(
            seed,
            BusShape {
                liveness_window: Duration::from_millis(NODE_DEAD_MS),
                ..BusShape::default()
            },
        );
        let direct = store.store();
        let db = direct.inner().clone();
        let (account, _owner) = direct
            .run(db.create_account(NewAccount {
                name: "Acme",
                owner_email: "owner@acme.test",
                owner_name: "Olive",
                owner_password_hash: "x",
            }))
            .expect("an account");
        let root = direct.run(db.groups_of(account.id)).expect("groups")[0].id;
        let mut groups = Vec::new();
        let mut inboxes = Vec::new();
        for name in ["North", "South"] {
            let group = direct
                .run(db.create_group(account.id, &Name::parse("name", name).unwrap(), root))
                .expect("a group");
            let key = format!("sbk_sim_{name}");
            let hash = switchboard_server::auth::secret_hash(&key);
            let inbox = direct
                .run(db.create_inbox(NewInbox {
                    account_id: account.id,
                    name,
                    channel: "sms",
                    key_hash: &hash,
                }))
                .expect("an inbox");
            direct
                .run(db.set_inbox_group(inbox.id, group.id))
                .expect("the inbox in its group");
            groups.push(group.id);
            inboxes.push((inbox.id, key));
        }
        let mut agents = Vec::new();
        for i in 0..AGENTS {
            let user = direct
                .run(db.create_user(NewUser {
                    account_id: account.id,
                    email: &format!("agent{i}@acme.test"),
                    name: &format!("Agent {i}"),
                    password_hash: "x",
                    role: Role::Operator,
                    capacity: CAPACITY,
                }))
                .expect("an agent");
            direct
                .run(db.create_login_session(
                    &session_of(i),
                    user.id,
                    chrono::Utc::now() + chrono::Duration::days(365),
                ))
                .expect("the agent's login session");
            agents.push(user);
        }
        let mut world = Self {
            rng: Rng::new(seed),
            store,
            network,
            slots: Vec::new(),
            account: account.id,
            root,
            groups: [groups[0], groups[1]],
            inboxes: [inboxes[0].clone(), inboxes[1].clone()],
            agents,
            conversations: Vec::new(),
            consoles: Vec::new(),
            next_console: 0,
            next_message: 0,
            grant_writes_seen: u64::MAX,
            tasks: Vec::new(),
            observed: Observed::default(),
            trace: Vec::new(),
            frames_in_trace: std::env::var_os("SWITCHBOARD_SIM_FRAMES").is_some(),
            started: Instant::now(),
        };
        // Agent 0 works everywhere; the others start in one group each.
        for agent in 0..AGENTS {
            let grants = world.grant_choice(agent % 3);
            let user = world.agents[agent].id;
            direct
                .run(db.set_grants(user, &grants))
                .expect("the agent's grants");
        }
        world.observe_grants();
        for (i, agent) in world.agents.clone().iter().enumerate() {
            world.note(format!("agent {i} is {}", agent.id));
        }
        for slot in 0..NODES {
            let node = world.start_node().await;
            world.note(format!("slot {slot} starts as node {}", node.id));
            world.slots.push(Slot::Up(node));
        }
        world
    }

    /// The grants of choice `n`: 0 the root, 1 the first group, 2 the
    /// second, 3 both groups.
    fn grant_choice(&self, n: usize) -> Vec<Grant> {
        let operator = |group| Grant::new(RoleId::Builtin(BuiltinRole::Operator), group);
        match n {
            0 => vec![operator(self.root)],
            1 => vec![operator(self.groups[0])],
            2 => vec![operator(self.groups[1])],
            _ => vec![operator(self.groups[0]), operator(self.groups[1])],
        }
    }

    async fn start_node(&self) -> Node {
        let id = NodeId::new();
        let store: Arc<dyn Store> = Arc::new(self.store.link(id));
        let bus: Arc<dyn Bus> = Arc::new(self.network.join(id));
        let clock = Arc::new(NodeClock::new());
        let hub = Hub::new(
            id,
            store.clone(),
            bus,
            settings(),
            clock.clone(),
            Arc::new(Metrics::new()),
        );
        hub.start_cluster();
        hub.follow_access().await;
        let cancel = CancellationToken::new();
        // the server's log (SWITCHBOARD_SIM_LOG) says which node spoke
        let span = tracing::info_span!("node", %id);
        tokio::spawn(
            hub.clone()
                .run_timers(cancel.child_token())
                .instrument(span.clone()),
        );
        tokio::spawn(
            hub.clone()
                .run_heartbeat(cancel.child_token())
                .instrument(span.clone()),
        );
        tokio::spawn(
            hub.clone()
                .run_leases(cancel.child_token())
                .instrument(span),
        );
        let app = Arc::new(App::live(store, hub.clone(), AppSettings::default()));
        Node {
            id,
            hub,
            app,
            clock,
            cancel,
            paused_until: None,
        }
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn note(&mut self, what: String) {
        let line = format!("{:>7} {what}", self.now_ms());
        self.trace.push(line);
    }

    /// A running node that is not paused, at random.
    fn live_slot(&mut self) -> Option<usize> {
        let now = Instant::now();
        let live: Vec<usize> = (0..self.slots.len())
            .filter(|s| match &self.slots[*s] {
                Slot::Up(node) => node.paused_until.is_none_or(|until| until <= now),
                Slot::Down { .. } => false,
            })
            .collect();
        if live.is_empty() {
            return None;
        }
        Some(live[self.rng.below(live.len() as u64) as usize])
    }

    fn node(&self, slot: usize) -> Option<&Node> {
        match &self.slots[slot] {
            Slot::Up(node) => Some(node),
            Slot::Down { .. } => None,
        }
    }

    /// One step: something happens, then time passes.
    pub async fn step(&mut self) -> Result<(), Violation> {
        self.restart_due().await;
        match self.rng.below(100) {
            0..=9 => self.customer_writes().await,
            10..=15 => self.open_console(),
            16..=17 => self.close_console().await,
            18..=29 => self.console_frame("join"),
            30..=39 => self.console_frame("take"),
            40..=42 => self.console_frame("release"),
            43..=45 => self.console_frame("leave"),
            46..=67 => self.console_frame("send"),
            68..=70 => self.console_frame("set_availability"),
            71..=73 => self.console_frame("resolve"),
            74..=77 => self.console_frame("subscribe_inbox"),
            78..=82 => self.change_grants(),
            83..=84 => self.crash(),
            85..=87 => self.pause(),
            88..=90 => self.cut_bus(),
            91..=92 => self.cut_store(),
            93..=94 => self.jump_clock(),
            95 => self.restart_bus(),
            _ => {}
        }
        let pass = Duration::from_millis(self.rng.below(400));
        self.pass(pass).await
    }

    /// Lets `time` pass in slices, looking at every console's frames after
    /// each.
    pub async fn pass(&mut self, time: Duration) -> Result<(), Violation> {
        let end = Instant::now() + time;
        loop {
            let now = Instant::now();
            let slice = SLICE.min(end.saturating_duration_since(now));
            tokio::time::sleep(slice).await;
            self.heal_due();
            self.observe_grants();
            self.look_at_consoles()?;
            if Instant::now() >= end {
                break;
            }
        }
        self.tasks.retain(|task| !task.is_finished());
        let conversations = self.learn_conversations();
        crate::check::store_invariants(self, &conversations)
    }

    /// Takes every console's frames, checks them, and forgets consoles
    /// the server closed.
    fn look_at_consoles(&mut self) -> Result<(), Violation> {
        let now = self.now_ms();
        let mut closed = Vec::new();
        let mut frames = Vec::new();
        for (i, console) in self.consoles.iter_mut().enumerate() {
            let mut batch = Vec::new();
            let close = console.conn.drain(&mut batch);
            for frame in &batch {
                let frame: Value = serde_json::from_str(frame.as_str()).expect("a JSON frame");
                let kind = frame["ref"]
                    .as_str()
                    .and_then(|r| self.observed.kinds.get(r))
                    .map(String::as_str);
                track_joined(console, &self.agents[console.agent], kind, &frame);
                frames.push(((console.agent, console.node), frame));
            }
            if let Some(close) = close {
                closed.push((i, close));
            }
        }
        let unknown = frames.iter().any(|(_, frame)| {
            crate::check::conversations_in(frame)
                .iter()
                .any(|id| !self.observed.inbox_of.contains_key(id))
        });
        if unknown {
            let _ = self.learn_conversations();
        }
        for (who, frame) in &frames {
            if self.frames_in_trace {
                self.trace
                    .push(format!("{now:>7}   agent {} gets {frame}", who.0));
            }
            self.observed.frame(now, *who, &self.agents[who.0], frame)?;
        }
        for (i, (code, reason)) in closed.into_iter().rev() {
            let console = self.consoles.remove(i);
            // the session ends after the frame in hand
            let _ = console.session.send(Job::Close);
            self.note(format!(
                "console {} closed by the server: {code} {reason}",
                console.id
            ));
        }
        Ok(())
    }

    /// Reads the conversations from the store (newest activity first, as
    /// the store lists them), and notes which inbox each is in.
    fn learn_conversations(&mut self) -> Vec<Conversation> {
        let direct = self.store.store();
        let all = direct
            .run(direct.inner().conversations(ConversationFilter {
                account_id: self.account,
                assignee: None,
                limit: 10_000,
            }))
            .expect("conversations");
        let mut ids: Vec<ConversationId> = all.iter().map(|c| c.id).collect();
        ids.sort();
        self.conversations = ids;
        for conversation in &all {
            let inbox = usize::from(conversation.inbox_id != self.inboxes[0].0);
            self.observed.inbox_of.insert(conversation.id, inbox);
        }
        all
    }

    /// Reads the grants again, if a node wrote any since the last read.
    fn observe_grants(&mut self) {
        let writes = self.store.grant_writes();
        if writes == self.grant_writes_seen {
            return;
        }
        self.grant_writes_seen = writes;
        let direct = self.store.store();
        let grants = direct
            .run(direct.inner().account_grants(self.account))
            .expect("grants");
        let now = self.now_ms();
        for (i, agent) in self.agents.iter().enumerate() {
            let groups: BTreeSet<GroupId> = grants
                .iter()
                .filter(|(user, _)| *user == agent.id)
                .map(|(_, grant)| grant.group)
                .collect();
            let sees: BTreeSet<usize> = (0..2)
                .filter(|g| groups.contains(&self.root) || groups.contains(&self.groups[*g]))
                .collect();
            self.observed.sees(i, now, sees);
        }
    }

    async fn customer_writes(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let which = self.rng.below(2) as usize;
        let handle = format!("+1555{:04}", self.rng.below(6));
        let (inbox, key) = self.inboxes[which].clone();
        let app = self.node(slot).expect("live").app.clone();
        let n = self.next_message;
        self.next_message += 1;
        self.note(format!(
            "customer {handle} writes to inbox {which} via slot {slot}"
        ));
        self.tasks.push(tokio::spawn(async move {
            let Ok(target) = app.inbound_target(Some(&key), inbox).await else {
                return;
            };
            let input = InboundInput {
                handle: switchboard_core::input::ContactHandle::parse(&handle).unwrap(),
                name: None,
                body: switchboard_core::input::MessageBody::parse(format!("customer {n}"), 4096)
                    .unwrap(),
            };
            let _ = app.inbound(target, input).await;
        }));
    }

    fn open_console(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let agent = self.rng.below(AGENTS as u64) as usize;
        self.open_console_on(slot, agent);
    }

    /// A console of agent `agent` opens on the node in `slot` (running).
    pub fn open_console_on(&mut self, slot: usize, agent: usize) {
        let node = self.node(slot).expect("a running node");
        let user = &self.agents[agent];
        let conn = Arc::new(Conn::new(
            user.principal(),
            session_of(agent),
            node.hub.settings().outbox,
            node.hub.now(),
        ));
        if !node.hub.register(conn.clone()) {
            return;
        }
        let node_id = node.id;
        let (session, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run_session(
            node.app.clone(),
            node.hub.clone(),
            conn.clone(),
            jobs,
        ));
        let id = self.next_console;
        self.next_console += 1;
        self.consoles.push(Console {
            id,
            agent,
            slot,
            node: node_id,
            conn,
            session,
            joined: BTreeSet::new(),
            answering: BTreeSet::new(),
            last_presence: BTreeMap::new(),
            next_ref: 0,
        });
        self.note(format!("console {id}: agent {agent} opens on slot {slot}"));
    }

    async fn close_console(&mut self) {
        if self.consoles.is_empty() {
            return;
        }
        let i = self.rng.below(self.consoles.len() as u64) as usize;
        self.close_console_at(i);
    }

    /// Console number `console` closes (scripted scenarios).
    pub fn close_console_number(&mut self, console: usize) {
        let i = self
            .consoles
            .iter()
            .position(|c| c.id == console)
            .expect("an open console");
        self.close_console_at(i);
    }

    fn close_console_at(&mut self, i: usize) {
        let console = self.consoles.remove(i);
        self.note(format!("console {} closes", console.id));
        let _ = console.session.send(Job::Close);
    }

    /// A console sends a frame of `kind` about a conversation (most often
    /// one it joined).
    fn console_frame(&mut self, kind: &str) {
        if self.consoles.is_empty() {
            return;
        }
        let i = self.rng.below(self.consoles.len() as u64) as usize;
        let conversation = {
            let answering: Vec<ConversationId> =
                self.consoles[i].answering.iter().copied().collect();
            let joined: Vec<ConversationId> = self.consoles[i].joined.iter().copied().collect();
            if kind == "send" && !answering.is_empty() && !self.rng.one_in(4) {
                Some(answering[self.rng.below(answering.len() as u64) as usize])
            } else if !joined.is_empty() && !self.rng.one_in(4) {
                Some(joined[self.rng.below(joined.len() as u64) as usize])
            } else if self.conversations.is_empty() {
                None
            } else {
                let n = self.conversations.len() as u64;
                Some(self.conversations[self.rng.below(n) as usize])
            }
        };
        let console = &mut self.consoles[i];
        let slot = console.slot;
        let Some(Slot::Up(node)) = self.slots.get(slot) else {
            return;
        };
        if node.id != console.node || node.paused_until.is_some_and(|u| u > Instant::now()) {
            return;
        }
        console.next_ref += 1;
        let reference = format!("{}-{}", console.id, console.next_ref);
        let frame = match (kind, conversation) {
            ("subscribe_inbox", _) => json!({"type": kind, "ref": reference}),
            ("set_availability", _) => {
                let status = if self.rng.one_in(3) {
                    "away"
                } else {
                    "available"
                };
                json!({"type": kind, "ref": reference, "status": status})
            }
            ("send", Some(c)) => {
                // now and then a retry of an earlier message
                let n = if self.next_message > 0 && self.rng.one_in(8) {
                    self.rng.below(self.next_message)
                } else {
                    self.next_message += 1;
                    self.next_message - 1
                };
                json!({"type": "send", "ref": reference, "conversation_id": c,
                    "client_msg_id": format!("m{n}"), "body": format!("message {n}")})
            }
            (_, Some(c)) => json!({"type": kind, "ref": reference, "conversation_id": c}),
            (_, None) => return,
        };
        let (id, session) = (console.id, console.session.clone());
        self.dispatch(id, &reference, frame, &session);
    }

    /// Console number `console` (scripted scenarios) sends `frame`, to
    /// which a `ref` is added.
    pub fn send_from(&mut self, console: usize, mut frame: Value) {
        let i = self
            .consoles
            .iter()
            .position(|c| c.id == console)
            .expect("an open console");
        assert!(
            matches!(&self.slots[self.consoles[i].slot], Slot::Up(_)),
            "console {console} is on a node that is down"
        );
        let console = &mut self.consoles[i];
        console.next_ref += 1;
        let reference = format!("{}-{}", console.id, console.next_ref);
        frame["ref"] = Value::from(reference.clone());
        let (id, session) = (console.id, console.session.clone());
        self.dispatch(id, &reference, frame, &session);
    }

    fn dispatch(
        &mut self,
        id: usize,
        reference: &str,
        frame: Value,
        session: &mpsc::UnboundedSender<Job>,
    ) {
        self.note(format!("console {id}: {frame}"));
        self.observed.asked(reference, &frame);
        let _ = session.send(Job::Frame(frame.to_string()));
    }

    fn change_grants(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let agent = 1 + self.rng.below(AGENTS as u64 - 1) as usize;
        let choice = self.rng.below(4) as usize;
        let grants = self.grant_choice(choice);
        let app = self.node(slot).expect("live").app.clone();
        let (account, user) = (self.account, self.agents[agent].id);
        self.note(format!(
            "agent {agent} gets grants {choice} via slot {slot}"
        ));
        self.tasks.push(tokio::spawn(async move {
            let _ = app
                .set_grants(Caller::CommandLine, account, user, grants)
                .await;
        }));
    }

    fn crash(&mut self) {
        let up = self
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Up(_)))
            .count();
        if up < 2 {
            return;
        }
        let Some(slot) = self.live_slot() else { return };
        self.crash_slot(slot);
    }

    /// The node in `slot` crashes, telling nobody; it restarts after a
    /// while (during steps).
    pub fn crash_slot(&mut self, slot: usize) {
        let restart_at = Instant::now() + Duration::from_millis(1_000 + self.rng.below(8_000));
        let Slot::Up(node) = std::mem::replace(&mut self.slots[slot], Slot::Down { restart_at })
        else {
            return;
        };
        node.cancel.cancel();
        self.network.crash(node.id);
        self.store.crash(node.id);
        node.hub.close_all();
        self.consoles.retain(|c| c.node != node.id);
        self.note(format!("slot {slot} crashes"));
    }

    async fn restart_due(&mut self) {
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            if let Slot::Down { restart_at } = self.slots[slot]
                && restart_at <= now
            {
                let node = self.start_node().await;
                self.note(format!("slot {slot} restarts as node {}", node.id));
                self.slots[slot] = Slot::Up(node);
            }
        }
    }

    /// A node freezes for longer than the lease: its store calls wait, it
    /// is cut from the bus, its consoles do nothing.
    fn pause(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let until = Instant::now() + LEASE + Duration::from_millis(self.rng.below(3_000));
        let Slot::Up(node) = &mut self.slots[slot] else {
            return;
        };
        node.paused_until = Some(until);
        let id = node.id;
        self.store.hold(id, until);
        self.network.set_cut(id, true);
        self.observed.store_away(id);
        self.observed.heal(id, until, Heal::Bus);
        self.observed.heal(id, until, Heal::Store);
        self.note(format!("slot {slot} pauses"));
    }

    fn cut_bus(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let until = Instant::now() + Duration::from_millis(500 + self.rng.below(6_000));
        let id = self.node(slot).expect("live").id;
        self.network.set_cut(id, true);
        self.observed.heal(id, until, Heal::Bus);
        self.note(format!("slot {slot} is cut from the bus"));
    }

    /// Redis restarts empty; each node's link comes back after a while
    /// of its own.
    fn restart_bus(&mut self) {
        let back = 500 + self.rng.below(3_000);
        let links: Vec<Duration> = (0..self.slots.len())
            .map(|_| Duration::from_millis(back + self.rng.below(1_000)))
            .collect();
        self.restart_bus_with(&links);
    }

    /// Redis restarts empty; the node in slot `i` has its link back after
    /// `links[i]`.
    pub fn restart_bus_with(&mut self, links: &[Duration]) {
        self.network.restart_empty();
        let now = Instant::now();
        for (slot, after) in links.iter().enumerate() {
            if let Some(Slot::Up(node)) = self.slots.get(slot) {
                self.observed.heal(node.id, now + *after, Heal::Bus);
            }
        }
        self.note("the bus restarts empty".to_owned());
    }

    /// The heartbeats of the node in `slot` are lost for `time` (scripted
    /// scenarios).
    pub fn lose_heartbeats(&mut self, slot: usize, time: Duration) {
        let id = self.node(slot).expect("a running node").id;
        self.network.lose_heartbeats(id, Instant::now() + time);
        self.note(format!("slot {slot}'s heartbeats are lost for {time:?}"));
    }

    /// A customer writes to inbox `inbox` from `handle` (scripted
    /// scenarios), through the node in `slot`.
    pub async fn customer(&mut self, slot: usize, inbox: usize, handle: &str) -> ConversationId {
        let (id, key) = self.inboxes[inbox].clone();
        let app = self.node(slot).expect("a running node").app.clone();
        let target = app.inbound_target(Some(&key), id).await.expect("the inbox");
        let input = InboundInput {
            handle: switchboard_core::input::ContactHandle::parse(handle).unwrap(),
            name: None,
            body: switchboard_core::input::MessageBody::parse("hello".into(), 4096).unwrap(),
        };
        app.inbound(target, input)
            .await
            .expect("stored")
            .conversation
            .id
    }

    fn cut_store(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let time = Duration::from_millis(500 + self.rng.below(6_000));
        self.cut_store_for(slot, time);
    }

    /// The node in `slot` is cut from the store for `time`.
    pub fn cut_store_for(&mut self, slot: usize, time: Duration) {
        let id = self.node(slot).expect("a running node").id;
        self.store.set_cut(id, true);
        self.observed.store_away(id);
        self.observed.heal(id, Instant::now() + time, Heal::Store);
        self.note(format!("slot {slot} is cut from the store"));
    }

    fn jump_clock(&mut self) {
        let Some(slot) = self.live_slot() else { return };
        let by = self.rng.below(10_000) as i64 - 3_000;
        self.node(slot).expect("live").clock.jump(by);
        self.note(format!("slot {slot}'s clock jumps {by} ms"));
    }

    /// Ends the cuts whose time came.
    fn heal_due(&mut self) {
        let run_ms = self.now_ms();
        for (node, heal) in self.observed.due_heals(Instant::now(), run_ms) {
            match heal {
                Heal::Bus => self.network.set_cut(node, false),
                Heal::Store => self.store.set_cut(node, false),
            }
        }
    }

    /// Ends the scenario: waits until every cut healed, lets the cluster
    /// settle, and checks once more.
    pub async fn settle(&mut self) -> Result<(), Violation> {
        let last = self.observed.last_heal().unwrap_or_else(Instant::now);
        let until_healed = last.saturating_duration_since(Instant::now());
        self.pass(until_healed + Duration::from_secs(10)).await?;
        crate::check::presence_converged(self)
    }
}

/// What a console's session does next.
enum Job {
    Frame(String),
    Close,
}

/// A console's session on its node: its frames carried out in order, then
/// its end (the node forgets the connection). A session whose node
/// crashed just stops.
async fn run_session(
    app: Arc<App>,
    hub: Arc<Hub>,
    conn: Arc<Conn>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Frame(text) => frames::handle_text(&app, &hub, &conn, &text).await,
            Job::Close => {
                hub.unregister(&conn).await;
                return;
            }
        }
    }
}

/// The hash of agent `agent`'s login session token.
fn session_of(agent: usize) -> [u8; 32] {
    [u8::try_from(agent + 1).unwrap_or(u8::MAX); 32]
}

/// What a cut's end restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heal {
    Bus,
    Store,
}

/// Follows what a console joined (from the acks of its `join`s and
/// `leave`s, the presence events it gets, and removals), what it answers,
/// and the latest presence it saw of each conversation. `asked` is the type
/// of the frame an ack answers. (A refused `take` joins too: the server
/// then shows the presence it joined.)
fn track_joined(console: &mut Console, user: &User, asked: Option<&str>, frame: &Value) {
    let conversation = crate::check::conversation_id;
    let presence = match frame["type"].as_str() {
        Some("ack") => &frame["presence"],
        Some("presence") => frame,
        Some("conversation_removed") => {
            if let Some(id) = conversation(&frame["conversation_id"]) {
                console.joined.remove(&id);
                console.answering.remove(&id);
                console.last_presence.remove(&id);
            }
            return;
        }
        Some("lock_lost") => {
            if let Some(id) = conversation(&frame["conversation_id"]) {
                console.answering.remove(&id);
            }
            return;
        }
        _ => return,
    };
    let Some(id) = conversation(&presence["conversation_id"]) else {
        return;
    };
    match (frame["type"].as_str(), asked) {
        // presence events go to the connections joined to the
        // conversation (a refused `take` joins too)
        (Some("ack"), Some("join" | "take")) | (Some("presence"), _) => {
            console.joined.insert(id);
        }
        (Some("ack"), Some("leave")) => {
            console.joined.remove(&id);
            console.answering.remove(&id);
            console.last_presence.remove(&id);
            return;
        }
        _ => {}
    }
    let mut present: BTreeSet<String> = presence["observers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["user_id"].as_str().map(str::to_owned))
        .collect();
    present.extend(presence["active"]["user_id"].as_str().map(str::to_owned));
    if console.joined.contains(&id) {
        console.last_presence.insert(id, present);
    }
    if presence["active"]["user_id"].as_str() == Some(user.id.to_string().as_str()) {
        console.answering.insert(id);
    } else {
        console.answering.remove(&id);
    }
}
