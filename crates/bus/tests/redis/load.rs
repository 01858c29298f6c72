//! Under load: 10,000 events published as fast as `publish` returns, sent
//! in batches, arrive in publishing order per topic.

use std::time::Duration;

use switchboard_bus::RedisBus;
use switchboard_bus::contract::{recorder, wait_for};
use switchboard_core::ports::{Bus, ClusterEvent, Topic};
use switchboard_core::{ConversationId, UserId};

use crate::support::{RedisCluster, RedisServer, two_nodes};

const EVENTS: usize = 10_000;

async fn ten_thousand_in_order(a: &RedisBus, b: &RedisBus, topics: usize) {
    let seen = recorder(b);
    let conversations: Vec<ConversationId> = (0..topics).map(|_| ConversationId::new()).collect();
    for conversation in &conversations {
        b.set_interest(Topic::Conversation(*conversation), true)
            .await
            .unwrap();
    }
    let sent: Vec<(ConversationId, UserId)> = (0..EVENTS)
        .map(|i| (conversations[i % topics], UserId::new()))
        .collect();
    for (conversation_id, user_id) in &sent {
        a.publish(ClusterEvent::Typing {
            conversation_id: *conversation_id,
            user_id: *user_id,
        })
        .await
        .unwrap();
    }
    let got = wait_for(&seen, EVENTS, Duration::from_secs(30)).await;
    assert_eq!(got.len(), EVENTS);
    for conversation in &conversations {
        let expected: Vec<UserId> = sent
            .iter()
            .filter(|(c, _)| c == conversation)
            .map(|(_, u)| *u)
            .collect();
        let arrived: Vec<UserId> = got
            .iter()
            .filter_map(|e| match &e.event {
                ClusterEvent::Typing {
                    conversation_id,
                    user_id,
                } if conversation_id == conversation => Some(*user_id),
                _ => None,
            })
            .collect();
        assert_eq!(arrived, expected, "order of {conversation}");
    }
    let stats = a.stats();
    assert_eq!(stats.published, EVENTS as u64);
    assert!(
        stats.pipelines < stats.published / 10,
        "events travel in batches: {stats:?}"
    );
    assert_eq!(b.stats().delivered, EVENTS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_arrive_in_order_on_one_server() {
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server.url()).await;
    ten_thousand_in_order(&a, &b, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_arrive_in_order_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap();
    let (a, b) = two_nodes(&cluster.urls()).await;
    ten_thousand_in_order(&a, &b, 12).await;
}
