//! Users' lifecycle on a cluster (docs/PEOPLE.md, "Users' lifecycle"): a
//! user deactivated through one node loses everything everywhere within
//! two seconds of the answer: their sockets on every node, their active
//! role, their conversations, their sign-in; their messages keep their name.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_proto::{ErrorCode, ServerFrame};
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::WsClient;
use crate::support::client::{Ended, active_id, observer_ids};
use crate::support::cluster::Cluster;

const FAST: &[(&str, &str)] = &[
    ("SWITCHBOARD_NODE_TIMEOUT_MS", "2000"),
    ("SWITCHBOARD_DISCONNECT_GRACE_SECS", "1"),
];

/// The bound, counted from the REST answer.
const WITHIN: Duration = Duration::from_secs(2);

/// Waits, until `deadline`, for `client` to be told `unauthorized` and
/// closed with 1008.
pub async fn ended_by(client: &mut WsClient, deadline: Instant, what: &str) {
    let told = client.expect(
        "an unauthorized error",
        |f| matches!(f, ServerFrame::Error(e) if e.code == ErrorCode::Unauthorized && e.reference.is_none()),
    );
    tokio::time::timeout_at(deadline, told)
        .await
        .unwrap_or_else(|_| panic!("{what}: no `unauthorized` within {WITHIN:?}"));
    let closed = tokio::time::timeout_at(deadline, client.closed())
        .await
        .unwrap_or_else(|_| panic!("{what}: not closed within {WITHIN:?}"));
    assert_eq!(closed, Ended::Closed(Some(1008)), "{what}: the close code");
}

/// The conversation's card as the owner reads it through `node`.
async fn card(c: &Cluster, node: usize, conversation: Uuid) -> Value {
    let path = format!("/v1/conversations/{conversation}");
    let (status, card) = c
        .node(node)
        .call(&c.owner.token, "GET", &path, Value::Null)
        .await;
    assert_eq!(status, 200, "GET {path}: {card}");
    card
}

fn assignee(card: &Value) -> Option<Uuid> {
    card["assignee"]["user_id"]
        .as_str()
        .map(|id| id.parse().unwrap())
}

async fn set_capacity(c: &Cluster, user: Uuid, capacity: u32) {
    let path = format!("/v1/users/{user}/capacity");
    let body = json!({"capacity": capacity});
    let (status, answer) = c.node(0).call(&c.owner.token, "PUT", &path, body).await;
    assert_eq!(status, 200, "PUT {path}: {answer}");
}

async fn login(c: &Cluster, node: usize, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password});
    c.node(node).call("", "POST", "/v1/auth/login", body).await
}

/// Nodes are counted from 1 in the comments (node 1 is `c.node(0)`).
#[tokio::test]
async fn a_user_deactivated_through_one_node_is_gone_from_every_node_within_two_seconds() {
    let c = Cluster::start(3, 2, FAST).await;
    let (ann, bob) = (c.agents[0].id, c.agents[1].id);
    set_capacity(&c, ann, 5).await;
    set_capacity(&c, bob, 5).await;

    // Ann has a socket on every node; only she is online, so both new
    // conversations are hers.
    let mut sockets = Vec::new();
    for node in 0..3 {
        sockets.push(c.connect(node, 0).await);
    }
    let (first, second) = (
        c.conversation("+15558000").await,
        c.conversation("+15558001").await,
    );
    for conversation in [first, second] {
        assert_eq!(assignee(&card(&c, 0, conversation).await), Some(ann));
    }

    // She answers the first on node 1; Bob, on node 3, looks on.
    let taken = sockets[0].take(first).await.expect("ann takes it");
    assert_eq!(active_id(&taken.presence.unwrap()), Some(ann));
    let written = sockets[0].say(first, "a1", "on it").await.unwrap();
    let mut witness = c.connect(2, 1).await;
    let seen = witness.join(first).await.presence.unwrap();
    assert_eq!(active_id(&seen), Some(ann));
    for socket in &mut sockets {
        socket.settle().await;
    }
    witness.settle().await;

    // The owner deactivates her through node 2.
    let path = format!("/v1/users/{ann}/deactivate");
    let (status, answer) = c
        .node(1)
        .call(&c.owner.token, "POST", &path, Value::Null)
        .await;
    assert_eq!(status, 200, "POST {path}: {answer}");
    assert!(answer["deactivated_at"].is_string(), "{answer}");
    let deadline = Instant::now() + WITHIN;

    // Every socket of hers, on every node, is told and closed in time.
    for (node, socket) in sockets.iter_mut().enumerate() {
        ended_by(
            socket,
            deadline,
            &format!("her socket on node {}", node + 1),
        )
        .await;
    }

    // Nobody answers the first any more, and she is gone from it.
    let presence = witness
        .expect_presence(first, |p| {
            p.active.is_none() && !observer_ids(p).contains(&ann)
        })
        .await;
    assert_eq!(observer_ids(&presence), vec![bob]);

    // Her conversations went to Bob, the one agent online with room.
    for conversation in [first, second] {
        assert_eq!(
            assignee(&card(&c, 2, conversation).await),
            Some(bob),
            "conversation {conversation} reassigned"
        );
    }

    // Her next sign-in fails exactly as a wrong password does.
    let email = &c.agents[0].email;
    let (status, refused) = login(&c, 0, email, crate::support::server::PASSWORD).await;
    let (wrong_status, wrong) = login(&c, 0, email, "not-her-password").await;
    assert_eq!((status, &refused), (401, &wrong), "{refused} vs {wrong}");
    assert_eq!(wrong_status, 401);
    // Her old token is dead too.
    let (status, _) = c
        .node(2)
        .call(&c.agents[0].token, "GET", "/v1/me", Value::Null)
        .await;
    assert_eq!(status, 401, "her old session");

    // What she wrote keeps her name.
    let path = format!("/v1/conversations/{first}/messages");
    let (status, messages) = c
        .node(2)
        .call(&c.owner.token, "GET", &path, Value::Null)
        .await;
    assert_eq!(status, 200, "GET {path}: {messages}");
    let hers = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["seq"] == json!(written.seq))
        .expect("her message");
    assert_eq!(hers["author"]["name"], json!(c.agents[0].name));
    assert_eq!(hers["author"]["user_id"], json!(ann));

    // Reactivated, she signs in again (her old sessions stay ended).
    let path = format!("/v1/users/{ann}/reactivate");
    let (status, answer) = c
        .node(0)
        .call(&c.owner.token, "POST", &path, Value::Null)
        .await;
    assert_eq!(status, 200, "POST {path}: {answer}");
    let (status, signed_in) = login(&c, 1, email, crate::support::server::PASSWORD).await;
    assert_eq!(status, 200, "{signed_in}");
}

/// Removal keeps the author's name, frees the address, hides the user.
#[tokio::test]
async fn a_removed_user_keeps_their_name_on_messages_and_frees_their_email() {
    let c = Cluster::start(2, 2, FAST).await;
    let ann = c.agents[0].id;
    let conversation = c.conversation("+15558100").await;
    let mut socket = c.connect(1, 0).await;
    socket.take(conversation).await.expect("ann takes it");
    let written = socket.say(conversation, "r1", "hello").await.unwrap();
    socket.settle().await;

    let path = format!("/v1/users/{ann}");
    let (status, answer) = c
        .node(0)
        .call(&c.owner.token, "DELETE", &path, Value::Null)
        .await;
    assert_eq!(status, 204, "DELETE {path}: {answer}");
    ended_by(&mut socket, Instant::now() + WITHIN, "her socket on node 2").await;

    let (status, _) = c
        .node(0)
        .call(&c.owner.token, "GET", &path, Value::Null)
        .await;
    assert_eq!(status, 404, "a removed user is not found");
    let (_, users) = c
        .node(0)
        .call(&c.owner.token, "GET", "/v1/users", Value::Null)
        .await;
    assert!(
        !users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == json!(ann)),
        "listed: {users}"
    );
    let messages = format!("/v1/conversations/{conversation}/messages");
    let (_, messages) = c
        .node(1)
        .call(&c.owner.token, "GET", &messages, Value::Null)
        .await;
    let hers = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["seq"] == json!(written.seq))
        .expect("her message");
    assert_eq!(hers["author"]["name"], json!(c.agents[0].name));

    // The address is free: a new user may have it.
    let account = c.account.to_string();
    let created = c
        .node(0)
        .admin(&[
            "user",
            "create",
            "--account",
            &account,
            "--email",
            &c.agents[0].email,
            "--name",
            "Ann Again",
            "--role",
            "operator",
            "--password",
            "another-password",
        ])
        .await;
    assert_ne!(created["user_id"], json!(ann), "{created}");
}
