//! The contract every bus implementation passes. Each check takes two buses
//! of two different nodes on the same network, fresh for the check, and
//! panics with a message when the implementation breaks the port's promise.
//! A backend's test file calls every check (see `tests/memory.rs`).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_core::ids::{AccountId, ConversationId, UserId};
use switchboard_core::model::UserRef;
use switchboard_core::ports::{Bus, ClusterEvent, Envelope, Topic};

/// Collects what a node receives.
pub fn recorder(bus: &dyn Bus) -> Arc<Mutex<Vec<Envelope>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    bus.attach(Arc::new(move |envelope| sink.lock().push(envelope)));
    seen
}

/// Waits until `seen` holds `n` envelopes (or fails after `within`).
pub async fn wait_for(seen: &Mutex<Vec<Envelope>>, n: usize, within: Duration) -> Vec<Envelope> {
    let deadline = std::time::Instant::now() + within;
    loop {
        {
            let seen = seen.lock();
            if seen.len() >= n {
                return seen.clone();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected {n} envelopes, got {:?}",
            seen.lock()
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn typing(conversation_id: ConversationId) -> ClusterEvent {
    ClusterEvent::Typing {
        conversation_id,
        user_id: UserId::new(),
    }
}

/// An event reaches the other node when it is interested in the topic, with
/// the origin set, and never comes back to the publisher.
pub async fn delivers_to_interested_nodes_only(a: &dyn Bus, b: &dyn Bus) {
    let conversation = ConversationId::new();
    let topic = Topic::Conversation(conversation);
    let seen_a = recorder(a);
    let seen_b = recorder(b);
    b.set_interest(topic, true).await.unwrap();
    a.set_interest(topic, true).await.unwrap();

    // Not interested in this one: must not arrive.
    let other = ConversationId::new();
    a.publish(Topic::Conversation(other), typing(other))
        .await
        .unwrap();
    let event = typing(conversation);
    a.publish(topic, event.clone()).await.unwrap();

    let got = wait_for(&seen_b, 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "only the interesting event arrives: {got:?}");
    assert_eq!(got[0].origin, a.node_id());
    assert_eq!(got[0].event, event);
    assert!(
        seen_a.lock().is_empty(),
        "the publisher does not hear itself"
    );
}

/// After losing interest a node receives nothing more of that topic.
pub async fn interest_can_be_withdrawn(a: &dyn Bus, b: &dyn Bus) {
    let account = AccountId::new();
    let topic = Topic::Account(account);
    let seen_b = recorder(b);
    b.set_interest(topic, true).await.unwrap();
    let first = ClusterEvent::Summary {
        account_id: account,
        conversation_id: ConversationId::new(),
    };
    a.publish(topic, first.clone()).await.unwrap();
    wait_for(&seen_b, 1, Duration::from_secs(5)).await;
    b.set_interest(topic, false).await.unwrap();
    a.publish(
        topic,
        ClusterEvent::Summary {
            account_id: account,
            conversation_id: ConversationId::new(),
        },
    )
    .await
    .unwrap();
    // A marker on a topic b still follows proves the withdrawn one was skipped.
    let marker_conversation = ConversationId::new();
    let marker_topic = Topic::Conversation(marker_conversation);
    b.set_interest(marker_topic, true).await.unwrap();
    let marker = typing(marker_conversation);
    a.publish(marker_topic, marker.clone()).await.unwrap();
    let got = wait_for(&seen_b, 2, Duration::from_secs(5)).await;
    assert_eq!(
        got.iter().map(|e| &e.event).collect::<Vec<_>>(),
        vec![&first, &marker]
    );
}

/// Events of one topic from one node arrive in the order they were published.
pub async fn keeps_order_per_topic(a: &dyn Bus, b: &dyn Bus) {
    let conversation = ConversationId::new();
    let topic = Topic::Conversation(conversation);
    let seen_b = recorder(b);
    b.set_interest(topic, true).await.unwrap();
    let users: Vec<UserId> = (0..50).map(|_| UserId::new()).collect();
    for user_id in &users {
        a.publish(
            topic,
            ClusterEvent::Typing {
                conversation_id: conversation,
                user_id: *user_id,
            },
        )
        .await
        .unwrap();
    }
    let got = wait_for(&seen_b, users.len(), Duration::from_secs(5)).await;
    let order: Vec<UserId> = got
        .iter()
        .map(|e| match &e.event {
            ClusterEvent::Typing { user_id, .. } => *user_id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(order, users);
}

/// Presence is shared: what one node records, the other reads, per node.
pub async fn shares_presence(a: &dyn Bus, b: &dyn Bus) {
    let conversation = ConversationId::new();
    let ann = UserRef {
        id: UserId::new(),
        name: "Ann".into(),
    };
    let bob = UserRef {
        id: UserId::new(),
        name: "Bob".into(),
    };
    a.heartbeat().await.unwrap();
    b.heartbeat().await.unwrap();
    a.set_present(conversation, &ann, true, true).await.unwrap();
    b.set_present(conversation, &bob, false, true)
        .await
        .unwrap();
    b.set_present(conversation, &ann, true, true).await.unwrap();

    let mut seen = b.present(conversation).await.unwrap();
    seen.sort_by_key(|(node, user, _)| (user.name.clone(), *node));
    let mut expected = vec![
        (a.node_id(), ann.clone(), true),
        (b.node_id(), ann.clone(), true),
        (b.node_id(), bob.clone(), false),
    ];
    expected.sort_by_key(|(node, user, _)| (user.name.clone(), *node));
    assert_eq!(seen, expected);

    a.set_present(conversation, &ann, true, false)
        .await
        .unwrap();
    let seen = a.present(conversation).await.unwrap();
    assert_eq!(seen.len(), 2, "ann is still there from node b: {seen:?}");
    assert!(seen.iter().all(|(node, _, _)| *node == b.node_id()));
}

/// Both nodes see each other alive after heartbeating.
pub async fn reports_live_nodes(a: &dyn Bus, b: &dyn Bus) {
    a.heartbeat().await.unwrap();
    b.heartbeat().await.unwrap();
    let live = a.live_nodes().await.unwrap();
    assert!(
        live.contains(&a.node_id()) && live.contains(&b.node_id()),
        "{live:?}"
    );
    a.ping().await.unwrap();
}
