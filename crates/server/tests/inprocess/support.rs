//! A world of hubs on one SQLite store, a manual clock, and consoles.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_bus::{MemoryBus, MemoryNetwork};
use switchboard_core::model::{Inbound, NewAccount, NewInbound, NewInbox, NewUser, User};
use switchboard_core::ports::{Bus, Store};
use switchboard_core::presence::Timing;
use switchboard_core::{ConversationId, NodeId, Role};
use switchboard_server::app::{App, AppSettings};
use switchboard_server::clock::ManualClock;
use switchboard_server::hub::{Conn, Hub, HubSettings, OutboxLimits};
use switchboard_server::metrics::Metrics;
use switchboard_server::ws::frames;
use switchboard_store::StoreOptions;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How long a test waits for a frame before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

pub fn settings(timing: Timing) -> HubSettings {
    HubSettings {
        timing,
        lease: Duration::from_secs(15),
        heartbeat_ms: 25_000,
        write_timeout_ms: 10_000,
        node_dead_ms: 3_000,
        requeue_offline_after: None,
        outbox: OutboxLimits {
            frames: 1024,
            bytes: 1 << 20,
        },
        rate_per_sec: 1000,
        rate_burst: 1000,
        max_connections_per_user: 100,
        max_joined_per_connection: 200,
        flood_cooloff_ms: 10_000,
        access_check: Duration::from_secs(1),
        answered_memory: 1000,
    }
}

pub const TIMING: Timing = timing(60_000, 5_000);

/// The idle time and the disconnect grace, in milliseconds.
pub const fn timing(idle_ms: u64, grace_ms: u64) -> Timing {
    Timing { idle_ms, grace_ms }
}

/// One node: its hub and the application over it.
pub struct Node {
    pub hub: Arc<Hub>,
    pub app: Arc<App>,
}

pub struct World {
    pub store: Arc<dyn Store>,
    pub nodes: Vec<Node>,
    pub users: Vec<User>,
    pub conversation: uuid::Uuid,
    /// Every hub's clock; nothing moves it but the test.
    pub clock: ManualClock,
    /// The store's clock (leases, session expiry), moved apart from the hubs'.
    pub store_clock: switchboard_store::ManualClock,
    _dir: tempfile::TempDir,
}

/// `nodes` hubs (one: the single-node bus; more: an in-memory cluster) on
/// one store, `users` operators of one account, one conversation.
pub async fn world(nodes: usize, users: usize, timing: Timing) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("w.db").display());
    let store_clock = switchboard_store::ManualClock::new();
    let options = StoreOptions {
        clock: store_clock.clone().into(),
        ..StoreOptions::default()
    };
    let store = switchboard_store::connect(&url, &options).await.unwrap();
    let clock = ManualClock::starting_at(1_700_000_000_000);
    let network = MemoryNetwork::new(Duration::from_secs(10));
    let nodes = (0..nodes)
        .map(|_| {
            let node = NodeId::new();
            let bus: Arc<dyn Bus> = if nodes == 1 {
                Arc::new(MemoryBus::single(node))
            } else {
                Arc::new(network.join(node))
            };
            let hub = Hub::new(
                node,
                store.clone(),
                bus,
                settings(timing),
                Arc::new(clock.clone()),
                Arc::new(Metrics::new()),
            );
            if nodes > 1 {
                hub.start_cluster();
            }
            let app = App::live(store.clone(), hub.clone(), AppSettings::default());
            Node {
                hub,
                app: Arc::new(app),
            }
        })
        .collect::<Vec<Node>>();
    // as the server does before serving
    for node in &nodes {
        node.hub.follow_access().await;
    }
    let (account, _) = store
        .create_account(NewAccount {
            name: "Acme",
            owner_email: "owner@acme.test",
            owner_name: "Olive",
            owner_password_hash: "x",
        })
        .await
        .unwrap();
    let mut people = Vec::new();
    for i in 0..users {
        people.push(
            store
                .create_user(NewUser {
                    account_id: account.id,
                    email: &format!("agent{i}@acme.test"),
                    name: &format!("Agent {i}"),
                    password_hash: "x",
                    role: Role::Operator,
                    capacity: 5,
                })
                .await
                .unwrap(),
        );
    }
    let inbox = store
        .create_inbox(NewInbox {
            account_id: account.id,
            name: "Support",
            channel: "sms",
            key_hash: &[7; 32],
        })
        .await
        .unwrap();
    let inbound = store
        .record_inbound(NewInbound {
            inbox_id: inbox.id,
            handle: "+15550100",
            contact_name: None,
            body: "hello?",
        })
        .await
        .unwrap();
    World {
        store,
        nodes,
        users: people,
        conversation: inbound.conversation.id.as_uuid(),
        clock,
        store_clock,
        _dir: dir,
    }
}

impl World {
    /// A customer of the world's inbox writes from `handle`: a new
    /// conversation (stored only: no hub has heard of it).
    pub async fn another_conversation(&self, handle: &str) -> Inbound {
        let first = ConversationId::from(self.conversation);
        let inbox = self
            .store
            .conversation(first)
            .await
            .unwrap()
            .unwrap()
            .inbox_id;
        self.store
            .record_inbound(NewInbound {
                inbox_id: inbox,
                handle,
                contact_name: None,
                body: "me too",
            })
            .await
            .unwrap()
    }
}

/// A console on one node: frames go in through the WebSocket adapter, come
/// out of the connection's outbox.
pub struct Console {
    hub: Arc<Hub>,
    app: Arc<App>,
    pub conn: Arc<Conn>,
    seen: Vec<Value>,
}

impl Console {
    pub fn open(node: &Node, user: &User) -> Self {
        Self::open_with(node, user, [0; 32])
    }

    /// A console opened with the login session whose token hashes to `token_hash`.
    pub fn open_with(node: &Node, user: &User, token_hash: [u8; 32]) -> Self {
        let conn = Arc::new(Conn::new(
            user.principal(),
            token_hash,
            node.hub.settings().outbox,
            node.hub.now(),
        ));
        node.hub.register(conn.clone());
        Self {
            hub: node.hub.clone(),
            app: node.app.clone(),
            conn,
            seen: Vec::new(),
        }
    }

    /// Sends a frame with a `ref` and returns its answer.
    pub async fn send(&mut self, frame: Value) -> Value {
        let reference = frame["ref"].as_str().unwrap().to_owned();
        frames::handle_text(&self.app, &self.hub, &self.conn, &frame.to_string()).await;
        self.wait(&format!("answer to {reference}"), |f| {
            f["ref"] == reference.as_str()
        })
        .await
    }

    /// The connection drops (as a closed socket does).
    pub async fn drop_connection(self) {
        self.hub.unregister(&self.conn).await;
    }

    /// Frames queued so far, taken.
    pub fn take_seen(&mut self) -> Vec<Value> {
        self.collect();
        std::mem::take(&mut self.seen)
    }

    fn collect(&mut self) {
        let mut batch: Vec<Utf8Bytes> = Vec::new();
        self.conn.drain(&mut batch);
        self.seen.extend(
            batch
                .iter()
                .map(|f| serde_json::from_str::<Value>(f.as_str()).unwrap()),
        );
    }

    /// Waits for a frame matching `pred` (frames seen before count).
    pub async fn wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.collect();
            if let Some(i) = self.seen.iter().position(&pred) {
                return self.seen.remove(i);
            }
            let queued = tokio::time::timeout_at(deadline, self.conn.queued()).await;
            assert!(
                queued.is_ok(),
                "timed out waiting for {what}; seen {:#?}",
                self.seen
            );
        }
    }

    pub async fn presence(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait("a presence", |f| f["type"] == "presence" && pred(f))
            .await
    }
}

pub fn active(p: &Value) -> Option<&str> {
    p["active"]["name"].as_str()
}

pub fn observers(p: &Value) -> Vec<&str> {
    p["observers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect()
}

pub fn join(conversation: uuid::Uuid, reference: &str) -> Value {
    serde_json::json!({"type": "join", "ref": reference, "conversation_id": conversation})
}

pub fn take(conversation: uuid::Uuid, reference: &str) -> Value {
    serde_json::json!({"type": "take", "ref": reference, "conversation_id": conversation})
}

pub fn typing(conversation: uuid::Uuid, reference: &str) -> Value {
    serde_json::json!({"type": "typing", "ref": reference, "conversation_id": conversation})
}

pub fn say(conversation: uuid::Uuid, reference: &str, body: &str) -> Value {
    serde_json::json!({"type": "send", "ref": reference, "conversation_id": conversation,
        "client_msg_id": reference, "body": body})
}
