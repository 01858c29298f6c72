//! The in-memory bus passes the bus contract.

use std::time::Duration;

use switchboard_bus::{MemoryBus, MemoryNetwork, bus_contract_suite, contract};
use switchboard_core::model::UserRef;
use switchboard_core::ports::Bus;
use switchboard_core::{ConversationId, NodeId, UserId};

async fn pair() -> (MemoryBus, MemoryBus, ()) {
    let network = MemoryNetwork::new(Duration::from_secs(10));
    (network.join(NodeId::new()), network.join(NodeId::new()), ())
}

bus_contract_suite!(pair);

#[tokio::test]
async fn a_node_that_leaves_takes_its_presence_along() {
    let (a, b, ()) = pair().await;
    let conversation = ConversationId::new();
    let ann = UserRef {
        id: UserId::new(),
        name: "Ann".into(),
    };
    a.set_present(conversation, &ann, true, true).await.unwrap();
    assert_eq!(b.present(conversation).await.unwrap().len(), 1);
    a.leave();
    assert!(b.present(conversation).await.unwrap().is_empty());
    assert!(!b.live_nodes().await.unwrap().contains(&a.node_id()));
}

#[tokio::test]
async fn a_lone_node_publishes_to_nobody() {
    let bus = MemoryBus::single(NodeId::new());
    let seen = contract::recorder(&bus);
    let conversation = ConversationId::new();
    bus.set_interest(
        switchboard_core::ports::Topic::Conversation(conversation),
        true,
    )
    .await
    .unwrap();
    bus.publish(contract::typing(conversation)).await.unwrap();
    assert!(seen.lock().events.is_empty());
}
