//! Events queued while the publisher is about to send share its pipeline:
//! the publisher gives the node's other tasks a few turns first. On a
//! single-threaded runtime the schedule is fixed: a task publishes one
//! event, lets others run once, publishes a second; with the turns, the
//! two go in one pipeline, without them, in two.

use std::time::Duration;

use switchboard_bus::RedisBus;
use switchboard_bus::contract::{recorder, wait_for};
use switchboard_core::ports::{Bus, ClusterEvent, Topic};
use switchboard_core::{ConversationId, UserId};

use crate::support::{RedisServer, config, logs, unique_prefix};

const PAIRS: usize = 50;

/// Pipelines the publisher with `turns` took for `PAIRS` pairs of events.
async fn pipelines_for_pairs(server: &RedisServer, turns: u32) -> u64 {
    logs();
    let prefix = unique_prefix();
    let a = RedisBus::connect(config(&server.url(), &prefix).with_publish_gather_turns(turns))
        .await
        .unwrap();
    let b = RedisBus::connect(config(&server.url(), &prefix))
        .await
        .unwrap();
    let seen = recorder(&b);
    let conversation = ConversationId::new();
    b.set_interest(Topic::Conversation(conversation), true)
        .await
        .unwrap();
    let typing = || ClusterEvent::Typing {
        conversation_id: conversation,
        user_id: UserId::new(),
    };
    let before = a.stats().pipelines;
    for pair in 1..=PAIRS {
        a.publish(typing()).await.unwrap();
        tokio::task::yield_now().await;
        a.publish(typing()).await.unwrap();
        wait_for(&seen, 2 * pair, Duration::from_secs(10)).await;
    }
    assert_eq!(a.stats().published, 2 * PAIRS as u64);
    a.stats().pipelines - before
}

#[tokio::test(flavor = "current_thread")]
async fn an_event_queued_while_the_publisher_gathers_shares_its_pipeline() {
    let server = RedisServer::start();
    assert_eq!(pipelines_for_pairs(&server, 4).await, PAIRS as u64);
}

#[tokio::test(flavor = "current_thread")]
async fn without_turns_each_event_that_finds_the_publisher_sending_waits_for_the_next() {
    let server = RedisServer::start();
    assert_eq!(pipelines_for_pairs(&server, 0).await, 2 * PAIRS as u64);
}
