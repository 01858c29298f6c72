//! The contract every bus implementation passes. Each check takes two buses
//! of two different nodes on the same network, fresh for the check, and
//! panics with a message when the implementation breaks the port's promise.
//! A backend's test file instantiates every check with
//! [`bus_contract_suite!`](crate::bus_contract_suite) (see `tests/memory.rs`).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_core::ids::{AccountId, ContactId, ConversationId, InboxId, NodeId, UserId};
use switchboard_core::model::{Contact, Conversation, ConversationStatus, UserRef};
use switchboard_core::ports::{Bus, BusDelivery, ClusterEvent, Envelope, Topic};

/// Instantiates every check of the contract as a test. `$pair` is an async
/// fn returning two buses of two nodes on one fresh network and a guard that
/// keeps the network alive for the test (a Redis server, say), dropped last.
#[macro_export]
macro_rules! bus_contract_suite {
    // A bus that runs in virtual time: each check on a current-thread
    // runtime whose clock is paused (it moves when every task waits).
    (paused $pair:path) => {
        $crate::bus_contract_suite!(@each (start_paused = true) $pair);
    };
    ($pair:path) => {
        $crate::bus_contract_suite!(@each (flavor = "multi_thread", worker_threads = 2) $pair);
    };
    (@each $runtime:tt $pair:path) => {
        $crate::bus_contract_suite!(@checks $runtime $pair;
            delivers_to_interested_nodes_only,
            interest_can_be_withdrawn,
            interest_is_a_flag,
            keeps_order_per_topic,
            delivers_on_many_topics,
            shares_presence,
            forgets_a_dead_node,
            forgets_a_dead_node_everywhere,
            reports_live_nodes,
        );
    };
    (@checks $runtime:tt $pair:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test $runtime]
            async fn $check() {
                let (a, b, _guard) = $pair().await;
                $crate::contract::$check(&a, &b).await;
            }
        )*
    };
}

/// What a node received: events, and how many times the bus came back.
#[derive(Debug, Default)]
pub struct Received {
    pub events: Vec<Envelope>,
    pub reconnections: usize,
}

/// Collects what a node receives.
pub fn recorder(bus: &dyn Bus) -> Arc<Mutex<Received>> {
    let seen = Arc::new(Mutex::new(Received::default()));
    let sink = seen.clone();
    bus.attach(Arc::new(move |delivery| {
        let mut seen = sink.lock();
        match delivery {
            BusDelivery::Event(envelope) => seen.events.push(envelope),
            BusDelivery::Reconnected => seen.reconnections += 1,
        }
    }));
    seen
}

/// Waits until `ready` finds what it waits for in the events `seen` so far,
/// and returns it (or fails after `within`, saying `what` it waited for).
async fn wait_until<T>(
    seen: &Mutex<Received>,
    within: Duration,
    what: &str,
    ready: impl Fn(&[Envelope]) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = ready(&seen.lock().events) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}, got {:?}",
            seen.lock().events
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `seen` holds `n` events (or fails after `within`).
pub async fn wait_for(seen: &Mutex<Received>, n: usize, within: Duration) -> Vec<Envelope> {
    wait_until(seen, within, &format!("expected {n} events"), |events| {
        (events.len() >= n).then(|| events.to_vec())
    })
    .await
}

pub fn typing(conversation_id: ConversationId) -> ClusterEvent {
    ClusterEvent::Typing {
        conversation_id,
        user_id: UserId::new(),
    }
}

/// A conversation card of `account`, for summary events.
pub fn card(account_id: AccountId) -> ClusterEvent {
    ClusterEvent::Summary {
        conversation: Box::new(Conversation {
            id: ConversationId::new(),
            account_id,
            inbox_id: InboxId::new(),
            contact: Contact {
                id: ContactId::new(),
                handle: "+15550100".into(),
                name: Some("Dana".into()),
            },
            status: ConversationStatus::Open,
            assignee: None,
            answered_by: None,
            answered_epoch: 0,
            queue_position: None,
            last_seq: 7,
            last_message_at: None,
        }),
    }
}

/// How many markers [`marker`] publishes: enough fresh topics that every
/// shard of a small Redis Cluster owns one of them (with three shards, the
/// chance that one owns none of 32 random topics is below 1 in 100,000).
const MARKERS: usize = 32;

/// Publishes markers on fresh topics `b` follows and waits until all of them
/// arrived, then returns what arrived besides them. Order is only promised
/// per topic, and per shard in Redis Cluster, so one marker proves nothing
/// about another shard's topics; a marker on every shard does: everything
/// `a` published before them on any topic `b` follows has been delivered.
async fn marker(a: &dyn Bus, b: &dyn Bus, seen: &Mutex<Received>) -> Vec<Envelope> {
    let markers: Vec<ConversationId> = (0..MARKERS).map(|_| ConversationId::new()).collect();
    for conversation in &markers {
        b.set_interest(Topic::Conversation(*conversation), true)
            .await
            .unwrap();
    }
    for conversation in &markers {
        a.publish(typing(*conversation)).await.unwrap();
    }
    let is_marker = |envelope: &Envelope| matches!(&envelope.event, ClusterEvent::Typing { conversation_id, .. } if markers.contains(conversation_id));
    wait_until(
        seen,
        Duration::from_secs(5),
        "every marker arrives",
        |events| {
            (events.iter().filter(|e| is_marker(e)).count() == MARKERS)
                .then(|| events.iter().filter(|e| !is_marker(e)).cloned().collect())
        },
    )
    .await
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
    a.publish(typing(ConversationId::new())).await.unwrap();
    let event = typing(conversation);
    a.publish(event.clone()).await.unwrap();

    let got = marker(a, b, &seen_b).await;
    assert_eq!(got.len(), 1, "only the interesting event arrives: {got:?}");
    assert_eq!(got[0].origin, a.node_id());
    assert_eq!(got[0].event, event);
    assert!(
        seen_a.lock().events.is_empty(),
        "the publisher does not hear itself"
    );
}

/// After losing interest a node receives nothing more of that topic.
pub async fn interest_can_be_withdrawn(a: &dyn Bus, b: &dyn Bus) {
    let account = AccountId::new();
    let topic = Topic::Account(account);
    let seen_b = recorder(b);
    b.set_interest(topic, true).await.unwrap();
    let first = card(account);
    a.publish(first.clone()).await.unwrap();
    wait_for(&seen_b, 1, Duration::from_secs(5)).await;
    b.set_interest(topic, false).await.unwrap();
    a.publish(card(account)).await.unwrap();
    let got = marker(a, b, &seen_b).await;
    assert_eq!(
        got.iter().map(|e| &e.event).collect::<Vec<_>>(),
        vec![&first]
    );
}

/// Events of one topic from one node arrive in the order they were published.
pub async fn keeps_order_per_topic(a: &dyn Bus, b: &dyn Bus) {
    let conversation = ConversationId::new();
    let topic = Topic::Conversation(conversation);
    let seen_b = recorder(b);
    b.set_interest(topic, true).await.unwrap();
    let users: Vec<UserId> = (0..500).map(|_| UserId::new()).collect();
    for user_id in &users {
        a.publish(ClusterEvent::Typing {
            conversation_id: conversation,
            user_id: *user_id,
        })
        .await
        .unwrap();
    }
    let got = wait_for(&seen_b, users.len(), Duration::from_secs(10)).await;
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

/// A node declared dead leaves no presence behind.
pub async fn forgets_a_dead_node(a: &dyn Bus, b: &dyn Bus) {
    let conversation = ConversationId::new();
    let ann = UserRef {
        id: UserId::new(),
        name: "Ann".into(),
    };
    a.heartbeat().await.unwrap();
    b.heartbeat().await.unwrap();
    a.set_present(conversation, &ann, true, true).await.unwrap();
    b.set_present(conversation, &ann, true, true).await.unwrap();
    b.forget_node(a.node_id()).await.unwrap();
    let seen = b.present(conversation).await.unwrap();
    assert_eq!(seen, vec![(b.node_id(), ann, true)]);
    // Forgetting a node that had nothing is harmless.
    b.forget_node(NodeId::new()).await.unwrap();
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

/// Interest is a flag, not a count: following a topic twice and dropping it
/// once leaves it dropped.
pub async fn interest_is_a_flag(a: &dyn Bus, b: &dyn Bus) {
    let conversation = ConversationId::new();
    let topic = Topic::Conversation(conversation);
    let seen_b = recorder(b);
    b.set_interest(topic, true).await.unwrap();
    b.set_interest(topic, true).await.unwrap();
    b.set_interest(topic, false).await.unwrap();
    a.publish(typing(conversation)).await.unwrap();
    let got = marker(a, b, &seen_b).await;
    assert!(got.is_empty(), "nothing of a dropped topic: {got:?}");
    // Dropping what was never followed is harmless.
    b.set_interest(Topic::Account(AccountId::new()), false)
        .await
        .unwrap();
}

/// Many topics at once (in Redis Cluster they live on every shard): each
/// event reaches the node following its topic, in order per topic.
pub async fn delivers_on_many_topics(a: &dyn Bus, b: &dyn Bus) {
    let seen_b = recorder(b);
    let conversations: Vec<ConversationId> = (0..64).map(|_| ConversationId::new()).collect();
    for conversation in &conversations {
        b.set_interest(Topic::Conversation(*conversation), true)
            .await
            .unwrap();
    }
    let mut sent = Vec::new();
    for _round in 0..3 {
        for conversation in &conversations {
            let event = ClusterEvent::Typing {
                conversation_id: *conversation,
                user_id: UserId::new(),
            };
            a.publish(event.clone()).await.unwrap();
            sent.push(event);
        }
    }
    let got = wait_for(&seen_b, sent.len(), Duration::from_secs(10)).await;
    assert_eq!(got.len(), sent.len(), "nothing more than was sent");
    for conversation in &conversations {
        let of = |events: Vec<&ClusterEvent>| -> Vec<ClusterEvent> {
            events
                .into_iter()
                .filter(|e| e.topic() == Topic::Conversation(*conversation))
                .cloned()
                .collect()
        };
        assert_eq!(
            of(got.iter().map(|e| &e.event).collect()),
            of(sent.iter().collect()),
            "events of {conversation} in order"
        );
    }
}

/// A dead node is forgotten in every conversation it had viewers in, even
/// after some of its viewers left, and a departure does not erase the
/// others' records.
pub async fn forgets_a_dead_node_everywhere(a: &dyn Bus, b: &dyn Bus) {
    let conversations: Vec<ConversationId> = (0..20).map(|_| ConversationId::new()).collect();
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
    for conversation in &conversations {
        a.set_present(*conversation, &ann, true, true)
            .await
            .unwrap();
        a.set_present(*conversation, &bob, false, true)
            .await
            .unwrap();
        b.set_present(*conversation, &bob, false, true)
            .await
            .unwrap();
    }
    // Ann leaves everywhere; Bob stays on node a in the first conversation.
    for conversation in &conversations {
        a.set_present(*conversation, &ann, true, false)
            .await
            .unwrap();
    }
    for conversation in &conversations[1..] {
        a.set_present(*conversation, &bob, false, false)
            .await
            .unwrap();
    }
    let first = b.present(conversations[0]).await.unwrap();
    assert_eq!(first.len(), 2, "bob on both nodes: {first:?}");
    // Leaving twice is harmless.
    a.set_present(conversations[1], &ann, true, false)
        .await
        .unwrap();

    b.forget_node(a.node_id()).await.unwrap();
    for conversation in &conversations {
        let seen = b.present(*conversation).await.unwrap();
        assert_eq!(
            seen,
            vec![(b.node_id(), bob.clone(), false)],
            "only node b's record is left in {conversation}"
        );
    }
}
