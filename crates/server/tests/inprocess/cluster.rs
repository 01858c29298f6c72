//! Several hubs in one process, sharing one store and an in-memory bus: the
//! cluster protocol (presence, role decisions, messages across nodes)
//! without sockets.

use crate::support::{Console, TIMING, active, observers, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_one_presence_and_one_writer() {
    let c = world(2, 2, TIMING).await;
    let conv = c.conversation;
    let mut ann = Console::open(&c.nodes[0], &c.users[0]);
    let mut bob = Console::open(&c.nodes[1], &c.users[1]);

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
    let c = world(2, 2, TIMING).await;
    let conv = c.conversation;
    let mut ann = Console::open(&c.nodes[0], &c.users[0]);
    let mut bob = Console::open(&c.nodes[1], &c.users[1]);
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

/// A user viewing one conversation from two nodes loses sight of it: both
/// nodes expel them, and each says so, so that nobody goes on showing
/// them (each node kept the other's record of them, and neither said its
/// leave, until the simulation found it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_expelled_on_two_nodes_leaves_everyones_presence() {
    let c = world(2, 2, TIMING).await;
    let conv = c.conversation;
    let mut ann_here = Console::open(&c.nodes[0], &c.users[0]);
    let mut ann_there = Console::open(&c.nodes[1], &c.users[0]);
    let mut bob = Console::open(&c.nodes[0], &c.users[1]);
    bob.send(serde_json::json!({"type":"join","ref":"b1","conversation_id":conv}))
        .await;
    ann_here
        .send(serde_json::json!({"type":"join","ref":"a1","conversation_id":conv}))
        .await;
    ann_there
        .send(serde_json::json!({"type":"join","ref":"a2","conversation_id":conv}))
        .await;
    bob.presence(|p| observers(p).contains(&"Agent 0") || active(p) == Some("Agent 0"))
        .await;

    // Ann keeps no grant: she may see nothing. Both nodes hear of it.
    bob.take_seen();
    c.store.set_grants(c.users[0].id, &[]).await.unwrap();
    c.nodes[0].hub.access_changed(c.users[0].account_id).await;
    ann_here
        .wait("the removal here", |f| f["type"] == "conversation_removed")
        .await;
    ann_there
        .wait("the removal there", |f| f["type"] == "conversation_removed")
        .await;
    bob.presence(|p| active(p) != Some("Agent 0") && !observers(p).contains(&"Agent 0"))
        .await;
}
