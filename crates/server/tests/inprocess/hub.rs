//! The hub's bookkeeping seen from outside: rooms come and go with their
//! viewers, a lapsed lease is noticed when leases are renewed, a logout
//! closes its connections, and a routing change reaches subscribers before
//! the use case returns.

use std::time::Duration;

use switchboard_core::input::Capacity;
use switchboard_core::model::{NewAccount, NewInbound, NewInbox};
use switchboard_core::{ConversationId, UserId};
use switchboard_server::app::{Caller, RouteChange};

use crate::support::{Console, TIMING, active, join, world};

fn leave(conversation: uuid::Uuid, reference: &str) -> serde_json::Value {
    serde_json::json!({"type": "leave", "ref": reference, "conversation_id": conversation})
}

#[tokio::test]
async fn a_room_lives_while_someone_views_it_and_a_refused_probe_builds_none() {
    let w = world(1, 1, TIMING).await;
    let (node, conv) = (&w.nodes[0], w.conversation);
    let rooms = || node.hub.metrics().rooms.get();
    let mut ann = Console::open(node, &w.users[0]);
    ann.send(join(conv, "a1")).await;
    assert_eq!(rooms(), 1);
    ann.send(leave(conv, "a2")).await;
    assert_eq!(rooms(), 0, "nobody views it, nobody holds it");

    // Another account's conversation is not found, and costs no room.
    let (other, _) = w
        .store
        .create_account(NewAccount {
            name: "Other",
            owner_email: "owner@other.test",
            owner_name: "Oscar",
            owner_password_hash: "x",
        })
        .await
        .unwrap();
    let inbox = w
        .store
        .create_inbox(NewInbox {
            account_id: other.id,
            name: "Theirs",
            channel: "sms",
            key_hash: &[9; 32],
        })
        .await
        .unwrap();
    let theirs = w
        .store
        .record_inbound(NewInbound {
            inbox_id: inbox.id,
            handle: "+15559999",
            contact_name: None,
            body: "not for you",
        })
        .await
        .unwrap()
        .conversation
        .id
        .as_uuid();
    for (i, id) in [theirs, uuid::Uuid::now_v7()].into_iter().enumerate() {
        let answer = ann.send(join(id, &format!("p{i}"))).await;
        assert_eq!(answer["code"], "not_found");
        assert_eq!(
            answer["message"], "conversation not found",
            "the same words for both"
        );
    }
    assert_eq!(rooms(), 0);
}

#[tokio::test]
async fn a_lease_that_lapsed_in_the_store_is_learned_as_lost() {
    let w = world(1, 2, TIMING).await;
    let (node, conv) = (&w.nodes[0], w.conversation);
    let mut ann = Console::open(node, &w.users[0]);
    let mut bob = Console::open(node, &w.users[1]);
    assert_eq!(
        active(&ann.send(join(conv, "a1")).await["presence"]),
        Some("Agent 0")
    );
    bob.send(join(conv, "b1")).await;

    // Within the lease, renewing keeps the role.
    w.store_clock.advance(Duration::from_secs(10));
    node.hub.renew_leases().await;
    assert!(!ann.take_seen().iter().any(|f| f["type"] == "lock_lost"));

    // The store was out of reach for longer than the lease (15 s).
    w.store_clock.advance(Duration::from_secs(16));
    node.hub.renew_leases().await;
    let lost = ann.wait("lock_lost", |f| f["type"] == "lock_lost").await;
    assert_eq!(lost["reason"], "node_lost");
    bob.presence(|p| active(p).is_none()).await;
}

#[tokio::test]
async fn logout_closes_the_connections_of_its_session_even_once_expired() {
    let w = world(1, 1, TIMING).await;
    let node = &w.nodes[0];
    let token = "sbs_a-token-for-this-test";
    let hash: [u8; 32] = switchboard_server::auth::secret_hash(token);
    let expires = w.store_clock.now() + chrono::Duration::hours(1);
    w.store
        .create_login_session(&hash, w.users[0].id, expires)
        .await
        .unwrap();
    let tab = Console::open_with(node, &w.users[0], hash);
    let other = Console::open(node, &w.users[0]);
    w.store_clock.advance(Duration::from_secs(2 * 3600));

    assert_eq!(node.app.logout(Some(token)).await, Ok(1));
    assert!(tab.conn.is_closing(), "the session's tab is closed");
    assert!(
        !other.conn.is_closing(),
        "another session of the user is not"
    );
}

#[tokio::test]
async fn resolving_hands_the_queue_over_before_the_use_case_returns() {
    let w = world(1, 2, TIMING).await;
    let node = &w.nodes[0];
    let ann = &w.users[0];
    node.app
        .set_capacity(Caller::CommandLine, ann.id, Capacity::parse(1).unwrap())
        .await
        .unwrap();
    let mut list = Console::open(node, &w.users[1]);
    list.send(serde_json::json!({"type": "subscribe_inbox", "ref": "s1"}))
        .await;

    // Ann comes online: the waiting conversation is hers; the next one queues.
    let console = Console::open(node, ann);
    node.hub.console_opened(&console.conn).await;
    let first = ConversationId::from(w.conversation);
    list.wait("the first assigned to ann", |f| {
        assigned_to(f, first, ann.id)
    })
    .await;
    let stored = w.another_conversation("+15550200").await;
    node.hub.inbound(&stored).await;
    let second = stored.conversation.id;
    assert_eq!(stored.conversation.queue_position, Some(1), "ann is full");

    node.app
        .change_route(&ann.principal(), first, RouteChange::Resolve)
        .await
        .unwrap();
    let seen = list.take_seen();
    assert!(
        seen.iter().any(|f| assigned_to(f, second, ann.id)),
        "the card of the hand-over was queued before resolve returned: {seen:#?}"
    );
}

fn assigned_to(frame: &serde_json::Value, id: ConversationId, user: UserId) -> bool {
    frame["type"] == "conversation"
        && frame["conversation"]["id"] == id.to_string()
        && frame["conversation"]["assignee"]["user_id"] == user.to_string()
}
