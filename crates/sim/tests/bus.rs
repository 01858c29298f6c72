//! The simulated bus: the contract every bus passes (in virtual time), and
//! what it adds for the simulation: a seed replays the same deliveries,
//! and links cut or nodes crashed lose exactly what Redis would lose.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::ports::{Bus, BusDelivery, ClusterEvent, Topic};
use switchboard_sim::bus::{BusShape, SimBus, SimNetwork};

mod contract {
    use switchboard_bus::bus_contract_suite;
    use switchboard_core::ids::NodeId;
    use switchboard_sim::bus::{BusShape, SimBus, SimNetwork};

    async fn pair() -> (SimBus, SimBus, ()) {
        let network = SimNetwork::new(1, BusShape::default());
        (network.join(NodeId::new()), network.join(NodeId::new()), ())
    }

    bus_contract_suite!(paused pair);
}

/// What a node heard, in order: the conversation of each event (and of
/// the notice of a reconnection, `None`).
fn listen(bus: &SimBus) -> Arc<Mutex<Vec<Option<ConversationId>>>> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    bus.attach(Arc::new(move |delivery| {
        sink.lock().push(match delivery {
            BusDelivery::Event(envelope) => match envelope.event.topic() {
                Topic::Conversation(id) => Some(id),
                _ => None,
            },
            BusDelivery::Reconnected => None,
        })
    }));
    heard
}

fn typing(conversation_id: ConversationId) -> ClusterEvent {
    ClusterEvent::Typing {
        conversation_id,
        user_id: UserId::new(),
    }
}

/// Waits (in virtual time) until every delivery under way has arrived.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One node publishes `rounds` events on each of `topics` conversations
/// the other follows; the order the other hears them in, as indexes.
async fn run(seed: u64, topics: usize, rounds: usize) -> Vec<usize> {
    let network = SimNetwork::new(seed, BusShape::default());
    let (a, b) = (network.join(NodeId::new()), network.join(NodeId::new()));
    let heard = listen(&b);
    // Ids of the run's own, not random ones: a topic's shard follows its id.
    let conversations: Vec<ConversationId> = (0..topics)
        .map(|i| ConversationId::from(uuid::Uuid::from_u128(i as u128 + 1)))
        .collect();
    for c in &conversations {
        b.set_interest(Topic::Conversation(*c), true).await.unwrap();
    }
    for _ in 0..rounds {
        for c in &conversations {
            a.publish(typing(*c)).await.unwrap();
        }
    }
    settle().await;
    let heard = heard.lock().clone();
    heard
        .iter()
        .map(|c| conversations.iter().position(|x| Some(*x) == *c).unwrap())
        .collect()
}

fn paused() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn a_seed_replays_the_same_deliveries_and_another_seed_differs() {
    let first = paused().block_on(run(7, 8, 20));
    let again = paused().block_on(run(7, 8, 20));
    let other = paused().block_on(run(8, 8, 20));
    assert_eq!(first.len(), 160, "everything arrives");
    assert_eq!(first, again, "seed 7 twice");
    assert_ne!(first, other, "seeds 7 and 8");
    // Across topics the order is the delays', not the publishing order...
    let published: Vec<usize> = (0..20).flat_map(|_| 0..8).collect();
    assert_ne!(
        first, published,
        "events of different shards overtake each other"
    );
    // ...and within a topic it is the publishing order: the events are
    // interchangeable here, so every topic's count is what is checked.
    for topic in 0..8 {
        assert_eq!(first.iter().filter(|t| **t == topic).count(), 20);
    }
}

#[tokio::test(start_paused = true)]
async fn a_cut_node_loses_what_was_on_its_way_and_hears_of_the_reconnection_first() {
    let network = SimNetwork::new(3, BusShape::default());
    let (a, b) = (network.join(NodeId::new()), network.join(NodeId::new()));
    let heard = listen(&b);
    let (lost, kept) = (ConversationId::new(), ConversationId::new());
    for c in [lost, kept] {
        b.set_interest(Topic::Conversation(c), true).await.unwrap();
    }
    a.publish(typing(lost)).await.unwrap();
    network.set_cut(b.node_id(), true);
    a.publish(typing(lost)).await.unwrap();
    assert!(
        b.publish(typing(kept)).await.is_err(),
        "a cut node cannot publish"
    );
    assert!(b.heartbeat().await.is_err());
    settle().await;
    assert!(
        heard.lock().is_empty(),
        "nothing reaches a cut node: {:?}",
        heard.lock()
    );

    network.set_cut(b.node_id(), false);
    a.publish(typing(kept)).await.unwrap();
    settle().await;
    assert_eq!(
        *heard.lock(),
        vec![None, Some(kept)],
        "the notice first, then what was published after the heal"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_node_hears_nothing_more_and_its_presence_is_not_read() {
    let network = SimNetwork::new(5, BusShape::default());
    let (a, b) = (network.join(NodeId::new()), network.join(NodeId::new()));
    let heard = listen(&b);
    let conversation = ConversationId::new();
    b.set_interest(Topic::Conversation(conversation), true)
        .await
        .unwrap();
    let ann = switchboard_core::model::UserRef {
        id: UserId::new(),
        name: "Ann".into(),
    };
    b.set_present(conversation, &ann, true, true).await.unwrap();
    assert_eq!(a.present(conversation).await.unwrap().len(), 1);
    a.publish(typing(conversation)).await.unwrap();
    network.crash(b.node_id());
    settle().await;
    assert!(heard.lock().is_empty(), "in flight to a dead process: lost");
    // Its record stays until forgotten, but a dead node is not live.
    tokio::time::sleep(Duration::from_secs(5)).await;
    a.heartbeat().await.unwrap();
    assert_eq!(a.live_nodes().await.unwrap(), vec![a.node_id()]);
    assert!(a.present(conversation).await.unwrap().is_empty());
}
