//! Several hubs in one process, sharing one store and an in-memory bus: the
//! cluster protocol (presence, role decisions, messages across nodes)
//! without sockets. The black-box cluster tests run the same rules on real
//! processes, Postgres and Redis.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_bus::MemoryNetwork;
use switchboard_core::model::{NewAccount, NewInbound, NewInbox, NewUser, User, UserRef};
use switchboard_core::ports::Store;
use switchboard_core::presence::Timing;
use switchboard_core::{NodeId, Role};
use switchboard_server::hub::{Conn, Hub, HubSettings, OutboxLimits};
use switchboard_server::metrics::Metrics;
use switchboard_store::StoreOptions;
use tokio_tungstenite::tungstenite::Utf8Bytes;

fn settings() -> HubSettings {
    HubSettings {
        timing: Timing {
            idle_ms: 60_000,
            grace_ms: 5_000,
        },
        lease: Duration::from_secs(15),
        heartbeat_ms: 25_000,
        write_timeout_ms: 10_000,
        node_dead_ms: 3_000,
        requeue_offline_after: None,
        max_message_bytes: 65_536,
        outbox: OutboxLimits {
            frames: 1024,
            bytes: 1 << 20,
        },
        rate_per_sec: 1000,
        rate_burst: 1000,
    }
}

struct Cluster {
    store: Arc<dyn Store>,
    hubs: Vec<Arc<Hub>>,
    users: Vec<User>,
    conversation: uuid::Uuid,
    _dir: tempfile::TempDir,
}

async fn cluster(nodes: usize, users: usize) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("c.db").display());
    let store = switchboard_store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    let network = MemoryNetwork::new(Duration::from_secs(10));
    let hubs = (0..nodes)
        .map(|_| {
            let node = NodeId::new();
            let hub = Hub::new(
                node,
                store.clone(),
                Arc::new(network.join(node)),
                settings(),
                Arc::new(Metrics::new()),
            );
            hub.start_cluster();
            hub
        })
        .collect();
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
    Cluster {
        store,
        hubs,
        users: people,
        conversation: inbound.conversation.id.as_uuid(),
        _dir: dir,
    }
}

/// A console on one hub: frames go in through the hub, come out of the outbox.
struct Console {
    hub: Arc<Hub>,
    conn: Arc<Conn>,
    seen: Vec<Value>,
}

impl Console {
    fn open(hub: &Arc<Hub>, user: &User) -> Self {
        let conn = Arc::new(Conn::new(
            user.actor(),
            UserRef {
                id: user.id,
                name: user.name.clone(),
            },
            [0; 32],
            settings().outbox,
            hub.now(),
        ));
        hub.register(conn.clone());
        Self {
            hub: hub.clone(),
            conn,
            seen: Vec::new(),
        }
    }

    async fn send(&mut self, frame: Value) -> Value {
        let reference = frame["ref"].as_str().unwrap().to_owned();
        self.hub.handle_text(&self.conn, &frame.to_string()).await;
        self.wait(&format!("answer to {reference}"), |f| {
            f["ref"] == reference.as_str()
        })
        .await
    }

    /// Waits for a frame matching `pred` (frames seen before count).
    async fn wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mut batch: Vec<Utf8Bytes> = Vec::new();
            self.conn.drain(&mut batch);
            self.seen.extend(
                batch
                    .iter()
                    .map(|f| serde_json::from_str(f.as_str()).unwrap()),
            );
            if let Some(i) = self.seen.iter().position(&pred) {
                return self.seen.remove(i);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; seen {:#?}",
                self.seen
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn presence(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait("a presence", |f| f["type"] == "presence" && pred(f))
            .await
    }
}

fn active(p: &Value) -> Option<&str> {
    p["active"]["name"].as_str()
}

fn observers(p: &Value) -> Vec<&str> {
    p["observers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_one_presence_and_one_writer() {
    let c = cluster(2, 2).await;
    let conv = c.conversation;
    let mut ann = Console::open(&c.hubs[0], &c.users[0]);
    let mut bob = Console::open(&c.hubs[1], &c.users[1]);

    let joined = ann
        .send(serde_json::json!({"type":"join","ref":"a1","conversation_id":conv}))
        .await;
    assert_eq!(active(&joined["presence"]), Some("Agent 0"));

    // Bob on the other node sees Ann answering, and is no second writer.
    let joined = bob
        .send(serde_json::json!({"type":"join","ref":"b1","conversation_id":conv}))
        .await;
    assert_eq!(active(&joined["presence"]), Some("Agent 0"));
    assert_eq!(observers(&joined["presence"]), vec!["Agent 1"]);
    let taken = bob
        .send(serde_json::json!({"type":"take","ref":"b2","conversation_id":conv}))
        .await;
    assert_eq!(taken["code"], "locked");
    ann.presence(|p| observers(p) == vec!["Agent 1"]).await;

    // Ann writes on node 0; Bob gets it on node 1.
    let sent = ann
        .send(serde_json::json!({"type":"send","ref":"a2","conversation_id":conv,"client_msg_id":"m1","body":"hi"}))
        .await;
    let seq = sent["message"]["seq"].as_u64().unwrap();
    bob.wait("the message", |f| {
        f["type"] == "message" && f["message"]["seq"] == seq
    })
    .await;

    // Ann releases: "Start chatting" on both nodes; Bob takes it on node 1.
    ann.send(serde_json::json!({"type":"release","ref":"a3","conversation_id":conv}))
        .await;
    bob.presence(|p| active(p).is_none()).await;
    let taken = bob
        .send(serde_json::json!({"type":"take","ref":"b3","conversation_id":conv}))
        .await;
    assert_eq!(active(&taken["presence"]), Some("Agent 1"));
    ann.presence(|p| active(p) == Some("Agent 1")).await;

    // Ann's write is refused now (the store fences it).
    let refused = ann
        .send(serde_json::json!({"type":"send","ref":"a4","conversation_id":conv,"client_msg_id":"m2","body":"me?"}))
        .await;
    assert_eq!(refused["code"], "not_active");
    let lock = c.store.lock_state(conv.into()).await.unwrap();
    assert_eq!(lock.holder.map(|h| h.name), Some("Agent 1".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_on_one_node_is_seen_on_the_other() {
    let c = cluster(2, 2).await;
    let conv = c.conversation;
    let mut ann = Console::open(&c.hubs[0], &c.users[0]);
    let mut bob = Console::open(&c.hubs[1], &c.users[1]);
    ann.send(serde_json::json!({"type":"join","ref":"a1","conversation_id":conv}))
        .await;
    bob.send(serde_json::json!({"type":"join","ref":"b1","conversation_id":conv}))
        .await;
    ann.send(serde_json::json!({"type":"leave","ref":"a2","conversation_id":conv}))
        .await;
    let p = bob
        .presence(|p| active(p).is_none() && observers(p) == vec!["Agent 1"])
        .await;
    assert!(p["version"].as_u64().unwrap() > 0);
}
