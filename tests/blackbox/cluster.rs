//! Cluster mode: three real nodes on one Postgres database and a private
//! Redis, and the messenger's rules holding across them as if there were one.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use switchboard_proto::server::LockLostReason;
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::WsClient;
use crate::support::client::{active_id, observer_ids, subscribe_inbox, take_all_at_once};
use crate::support::cluster::Cluster;
use crate::support::fault::kill_and_see_role_freed;

/// Cluster tests settle faster than the defaults allow.
const FAST: &[(&str, &str)] = &[
    ("SWITCHBOARD_NODE_TIMEOUT_MS", "2000"),
    ("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1"),
];

async fn sql(cluster: &Cluster, query: &str) -> String {
    crate::support::fault::sql(&cluster.database.url, query).await
}

async fn seqs(cluster: &Cluster, conversation: Uuid) -> Vec<u64> {
    sql(cluster, &format!("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM messages WHERE conversation_id = '{conversation}'"))
        .await
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn agents_on_three_nodes_see_the_same_presence_and_answered_by() {
    let c = Cluster::start(3, 3, FAST).await;
    let conversation = c.conversation("+15551000").await;
    let mut lists = Vec::new();
    for node in 0..3 {
        let mut owner = WsClient::connect(c.node(node), &c.owner.token).await;
        owner.request(subscribe_inbox()).await.unwrap();
        lists.push(owner);
    }
    let mut a = c.connect(0, 0).await;
    let mut b = c.connect(1, 1).await;
    let mut d = c.connect(2, 2).await;
    let (ann, bob, dee) = (c.agents[0].id, c.agents[1].id, c.agents[2].id);

    assert_eq!(
        active_id(&a.join(conversation).await.presence.unwrap()),
        Some(ann)
    );
    let seen = b.join(conversation).await.presence.unwrap();
    assert_eq!(
        (active_id(&seen), observer_ids(&seen)),
        (Some(ann), vec![bob])
    );
    let seen = d.join(conversation).await.presence.unwrap();
    assert_eq!(
        (active_id(&seen), observer_ids(&seen)),
        (Some(ann), vec![bob, dee])
    );
    for client in [&mut a, &mut b] {
        client
            .expect_presence(conversation, |p| {
                active_id(p) == Some(ann) && observer_ids(p) == vec![bob, dee]
            })
            .await;
    }
    for list in lists.iter_mut() {
        list.expect("answered by ann", |f| {
            matches!(f, ServerFrame::Conversation(e) if e.conversation.id == conversation
                && e.conversation.answered_by.as_ref().map(|u| u.user_id) == Some(ann))
        })
        .await;
    }

    // The role moves on node 1; every node shows it.
    a.release(conversation).await;
    for client in [&mut b, &mut d] {
        client
            .expect_presence(conversation, |p| p.active.is_none())
            .await;
    }
    let granted = b.take(conversation).await.unwrap().presence.unwrap();
    assert_eq!(active_id(&granted), Some(bob));
    let epoch = granted.epoch.expect("a grant carries its epoch");
    for client in [&mut a, &mut d] {
        let seen = client
            .expect_presence(conversation, |p| {
                active_id(p) == Some(bob) && observer_ids(p) == vec![ann, dee]
            })
            .await;
        assert_eq!(
            seen.epoch,
            Some(epoch),
            "one grant, one epoch on every node"
        );
    }
    for list in lists.iter_mut() {
        list.expect("answered by bob", |f| {
            matches!(f, ServerFrame::Conversation(e) if e.conversation.id == conversation
                && e.conversation.answered_by.as_ref().map(|u| u.user_id) == Some(bob))
        })
        .await;
    }
    // A message written on node 1 reaches nodes 0 and 2.
    let m = b
        .say(conversation, "b1", "hello from node 1")
        .await
        .unwrap();
    for client in [&mut a, &mut d] {
        assert_eq!(client.expect_message(conversation, m.seq).await, m);
    }
}

#[tokio::test]
async fn fifty_agents_on_three_nodes_take_at_once_and_one_wins_a_hundred_times() {
    let c = Cluster::start(3, 50, FAST).await;
    let mut clients = Vec::new();
    for agent in 0..50 {
        clients.push(c.connect(agent % 3, agent).await);
    }
    let users: Vec<Uuid> = c.agents.iter().map(|a| a.id).collect();
    for round in 0..100 {
        let conversation = c.conversation(&format!("+1555200{round:04}")).await;
        for client in clients.iter_mut() {
            client.join(conversation).await;
        }
        // Whoever opened it first holds it; free it for the race.
        let holder = clients[0]
            .join(conversation)
            .await
            .presence
            .unwrap()
            .active
            .map(|a| a.user_id);
        let first = c
            .agents
            .iter()
            .position(|a| Some(a.id) == holder)
            .expect("someone holds it");
        clients[first].release(conversation).await;
        for client in clients.iter_mut() {
            client
                .expect_presence(conversation, |p| p.active.is_none())
                .await;
        }
        let before: u64 = sql(
            &c,
            &format!("SELECT lock_epoch FROM conversations WHERE id = '{conversation}'"),
        )
        .await
        .parse()
        .unwrap();

        take_all_at_once(&mut clients, &users, conversation, round).await;
        let after: u64 = sql(
            &c,
            &format!("SELECT lock_epoch FROM conversations WHERE id = '{conversation}'"),
        )
        .await
        .parse()
        .unwrap();
        assert_eq!(after, before + 1, "round {round}: one grant, one epoch");
        for client in clients.iter_mut() {
            client.leave(conversation).await;
            client.settle().await;
        }
    }
}

#[tokio::test]
async fn a_killed_holder_node_is_released_within_five_seconds_and_its_writer_is_fenced() {
    let mut c = Cluster::start(3, 2, FAST).await;
    let conversation = c.conversation("+15553000").await;
    let mut a = c.connect(0, 0).await;
    let mut b = c.connect(1, 1).await;
    a.join(conversation).await;
    b.join(conversation).await;
    let before = seqs(&c, conversation).await;

    let (presence, killed) = kill_and_see_role_freed(&mut c, 0, &mut b, conversation).await;
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "released after {:?}",
        killed.elapsed()
    );
    assert_eq!(
        observer_ids(&presence),
        vec![c.agents[1].id],
        "the dead node's viewers are gone"
    );
    assert_eq!(
        active_id(&b.take(conversation).await.unwrap().presence.unwrap()),
        Some(c.agents[1].id)
    );

    // The old holder comes back through another node: it is no writer.
    let mut again = c.connect(2, 0).await;
    again.join(conversation).await;
    let refused = again
        .say(conversation, "late", "am I still here?")
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotActive);
    assert_eq!(seqs(&c, conversation).await, before, "nothing was stored");
}

#[tokio::test]
async fn a_paused_node_resumes_fenced_and_its_holder_is_told() {
    let c = Cluster::start(
        2,
        2,
        &[
            ("SWITCHBOARD_NODE_TIMEOUT_MS", "1500"),
            ("SWITCHBOARD_LOCK_LEASE_SECS", "2"),
        ],
    )
    .await;
    let conversation = c.conversation("+15554000").await;
    let mut a = c.connect(0, 0).await;
    let mut b = c.connect(1, 1).await;
    a.join(conversation).await;
    b.join(conversation).await;
    let before = seqs(&c, conversation).await;

    c.node(0).signal("STOP").await;
    // Node 1 sees node 0 go, and Bob takes over.
    b.expect_presence(conversation, |p| p.active.is_none())
        .await;
    b.take(conversation)
        .await
        .expect("bob takes over while node 0 sleeps");
    // Ann, unaware, writes; the frame waits in node 0's socket.
    a.send_text(format!(
        r#"{{"type":"send","ref":"late","conversation_id":"{conversation}","client_msg_id":"late","body":"still mine?"}}"#
    ))
    .await;
    c.node(0).signal("CONT").await;

    let refused = a.answer("late").await.unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::NotActive,
        "the fencing epoch refused it"
    );
    assert!(matches!(
        a.expect_lock_lost().await.reason,
        LockLostReason::TakenOver | LockLostReason::NodeLost
    ));
    assert_eq!(
        seqs(&c, conversation).await,
        before,
        "nothing of the stale writer was stored"
    );
    a.expect_presence(conversation, |p| active_id(p) == Some(c.agents[1].id))
        .await;
}

#[tokio::test]
async fn redis_dies_and_returns_nothing_acknowledged_is_lost_and_presence_reconverges() {
    let mut c = Cluster::start(3, 3, FAST).await;
    let conversation = c.conversation("+15555000").await;
    let mut a = c.connect(0, 0).await;
    let mut b = c.connect(1, 1).await;
    a.join(conversation).await;
    b.join(conversation).await;

    c.redis.kill().await;
    // Nodes keep serving their own connections, and store every message.
    let mut acked = Vec::new();
    for i in 0..5 {
        acked.push(
            a.say(conversation, &format!("outage-{i}"), "while redis is away")
                .await
                .expect("acked")
                .seq,
        );
    }
    let ready: serde_json::Value = reqwest::get(c.node(0).http("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "degraded");
    // Someone arrives on node 2 meanwhile.
    let mut d = c.connect(2, 2).await;
    d.join(conversation).await;

    c.redis.restart().await;
    let back = Instant::now();
    // Node 1's viewer gets what it missed, and everyone converges on presence.
    for seq in &acked {
        b.expect_message(conversation, *seq).await;
    }
    let want = vec![c.agents[1].id, c.agents[2].id];
    for client in [&mut a, &mut b] {
        client
            .expect_presence(conversation, |p| {
                active_id(p) == Some(c.agents[0].id) && observer_ids(p) == want
            })
            .await;
    }
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "converged after {:?}",
        back.elapsed()
    );
    let stored = seqs(&c, conversation).await;
    assert_eq!(
        stored,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "no gaps"
    );
    assert!(
        acked.iter().all(|s| stored.contains(s)),
        "every acknowledged message is in postgres"
    );
}

#[tokio::test]
async fn reconnecting_to_another_node_with_after_seq_gets_exactly_the_missed_messages() {
    let c = Cluster::start(3, 2, FAST).await;
    let conversation = c.conversation("+15556000").await;
    let mut a = c.connect(0, 0).await;
    a.join(conversation).await;
    let mut b = c.connect(1, 1).await;
    b.join(conversation).await;
    let first = a.say(conversation, "m0", "first").await.unwrap();
    let last_seen = b.expect_message(conversation, first.seq).await.seq;
    drop(b);
    let mut missed = Vec::new();
    for i in 1..=6 {
        missed.push(
            a.say(conversation, &format!("m{i}"), "while away")
                .await
                .unwrap(),
        );
    }
    let mut b = c.connect(2, 1).await;
    let back = b.join_after(conversation, Some(last_seen)).await;
    assert_eq!(back.messages.unwrap(), missed);
    assert_eq!(back.complete, Some(true));
}

/// Capacity is exact across nodes: 10 agents of capacity 5, 1,000
/// conversations arriving at once through three nodes.
#[tokio::test]
async fn capacity_holds_across_three_nodes_and_the_queue_keeps_arrival_order() {
    let c = Cluster::start(3, 10, FAST).await;
    let client = reqwest::Client::new();
    for agent in &c.agents {
        let response = client
            .put(c.node(0).http(&format!("/v1/users/{}/capacity", agent.id)))
            .bearer_auth(&c.owner.token)
            .json(&serde_json::json!({"capacity": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Every agent online, each on some node.
    let mut consoles = Vec::new();
    for agent in 0..10 {
        consoles.push(c.connect(agent % 3, agent).await);
    }
    let posts = (0..1000).map(|i| {
        let node = c.node(i % 3);
        let key = c.inbox_key.clone();
        let inbox = c.inbox;
        async move {
            let response = reqwest::Client::new()
                .post(node.http("/v1/inbound"))
                .bearer_auth(key)
                .json(&serde_json::json!({"inbox_id": inbox, "contact": {"handle": format!("+1555900{i:04}")}, "body": "hi"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
        }
    });
    stream::iter(posts)
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;

    let assigned = sql(
        &c,
        "SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL AND status = 'open'",
    )
    .await;
    assert_eq!(assigned, "50");
    let most = sql(&c, "SELECT max(n) FROM (SELECT count(*) AS n FROM conversations WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id) t").await;
    assert_eq!(most, "5", "no agent over capacity");
    let queued = sql(&c, "SELECT count(*) || ',' || count(DISTINCT queue_key) FROM conversations WHERE queue_key IS NOT NULL").await;
    assert_eq!(queued, "950,950", "950 queued, each with its own place");
    // What consoles are shown agrees with the queue's order.
    let mut owner = WsClient::connect(c.node(1), &c.owner.token).await;
    let listed = owner
        .request(subscribe_inbox())
        .await
        .unwrap()
        .conversations
        .unwrap();
    // Every place in the queue, read at once (one psql per card would leave
    // the owner's connection silent past its heartbeat on a busy machine).
    let ranks: std::collections::HashMap<Uuid, u64> = sql(
        &c,
        "SELECT id || ',' || row_number() OVER (ORDER BY queue_key) FROM conversations \
         WHERE queue_key IS NOT NULL",
    )
    .await
    .lines()
    .map(|line| {
        let (id, rank) = line.split_once(',').unwrap();
        (id.parse().unwrap(), rank.parse().unwrap())
    })
    .collect();
    for summary in listed.iter().filter(|s| s.queue_position.is_some()) {
        assert_eq!(summary.queue_position, ranks.get(&summary.id).copied());
    }

    // Resolving one hands the oldest queued conversation to that agent (the
    // expectation waits with a deadline; how fast is the benchmarks' business).
    let oldest: Uuid = sql(
        &c,
        "SELECT id FROM conversations WHERE queue_key IS NOT NULL ORDER BY queue_key LIMIT 1",
    )
    .await
    .parse()
    .unwrap();
    let (agent_index, done) = {
        let row = sql(&c, "SELECT id || ',' || assignee_id FROM conversations WHERE assignee_id IS NOT NULL AND status = 'open' LIMIT 1").await;
        let (done, agent) = row.split_once(',').unwrap();
        let agent: Uuid = agent.parse().unwrap();
        (
            c.agents.iter().position(|a| a.id == agent).unwrap(),
            done.parse::<Uuid>().unwrap(),
        )
    };
    let response = client
        .post(c.node(2).http(&format!("/v1/conversations/{done}/resolve")))
        .bearer_auth(&c.agents[agent_index].token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    owner
        .expect("the oldest handed over", |f| {
            matches!(f, ServerFrame::Conversation(e) if e.conversation.id == oldest
                && e.conversation.assignee.as_ref().map(|a| a.user_id) == Some(c.agents[agent_index].id))
        })
        .await;

    // A new agent coming online drains the queue up to their capacity.
    let response = client
        .post(c.node(0).http("/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@acme.test", "password": crate::support::server::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let owner_id = c.owner.id;
    let response = client
        .put(c.node(0).http(&format!("/v1/users/{owner_id}/capacity")))
        .bearer_auth(&c.owner.token)
        .json(&serde_json::json!({"capacity": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The owner's console is open (on node 1): raising capacity drained three.
    let mine = sql(&c, &format!("SELECT count(*) FROM conversations WHERE status = 'open' AND assignee_id = '{owner_id}'")).await;
    assert_eq!(mine, "3");
    let still_queued = sql(
        &c,
        "SELECT count(*) FROM conversations WHERE status = 'open' AND assignee_id IS NULL",
    )
    .await;
    assert_eq!(still_queued, "946");
}

/// A conversation Ann answers through node 0 while Bob observes through
/// node 1, and a list of the inbox on node 2, which holds no room for it.
struct Answered {
    conversation: Uuid,
    list: WsClient,
    /// Ann's connection, kept open.
    _a: WsClient,
    b: WsClient,
}

impl Answered {
    async fn list_shows_nobody_answering(&mut self) {
        let conversation = self.conversation;
        self.list
            .expect("answered by nobody, on a node without the room", |f| {
                matches!(f, ServerFrame::Conversation(e) if e.conversation.id == conversation
                    && e.conversation.answered_by.is_none())
            })
            .await;
    }
}

/// Sets up [`Answered`]: the list has shown Ann answering, and nothing it
/// received before (the card from before she answered) is left to read.
async fn ann_answers_and_node_2_lists(c: &Cluster, phone: &str) -> Answered {
    let conversation = c.conversation(phone).await;
    let mut list = WsClient::connect(c.node(2), &c.owner.token).await;
    list.request(subscribe_inbox()).await.unwrap();
    let mut a = c.connect(0, 0).await;
    let mut b = c.connect(1, 1).await;
    let ann = c.agents[0].id;
    assert_eq!(
        active_id(&a.join(conversation).await.presence.unwrap()),
        Some(ann)
    );
    b.join(conversation).await;
    list.expect("answered by ann", |f| {
        matches!(f, ServerFrame::Conversation(e) if e.conversation.id == conversation
            && e.conversation.answered_by.as_ref().map(|u| u.user_id) == Some(ann))
    })
    .await;
    list.settle().await;
    Answered {
        conversation,
        list,
        _a: a,
        b,
    }
}

#[tokio::test]
async fn a_departing_holder_node_clears_answered_by_on_a_node_without_the_room() {
    let mut c = Cluster::start(3, 2, FAST).await;
    let mut answered = ann_answers_and_node_2_lists(&c, "+15559000").await;
    // SIGTERM: node 0 releases Ann's role as it goes.
    c.nodes[0].as_mut().unwrap().terminate().await;
    c.nodes[0] = None;
    let conversation = answered.conversation;
    answered
        .b
        .expect_presence(conversation, |p| p.active.is_none())
        .await;
    answered.list_shows_nobody_answering().await;
}

/// A node that dies sends no card: the node that releases its roles in the
/// store sends the one card of each, which a node holding no room for the
/// conversation shows (its list saw Ann answering, now nobody).
#[tokio::test]
async fn a_killed_holder_node_clears_answered_by_on_a_node_without_the_room() {
    let mut c = Cluster::start(3, 2, FAST).await;
    let mut answered = ann_answers_and_node_2_lists(&c, "+15559100").await;
    kill_and_see_role_freed(&mut c, 0, &mut answered.b, answered.conversation).await;
    answered.list_shows_nobody_answering().await;
}
