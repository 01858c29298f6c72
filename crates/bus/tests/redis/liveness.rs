//! Liveness on Redis' clock: a node that stops heartbeating drops out.

use std::time::{Duration, Instant};

use switchboard_bus::RedisBus;
use switchboard_core::model::UserRef;
use switchboard_core::ports::Bus;
use switchboard_core::{ConversationId, UserId};

use crate::support::{RedisServer, config, eventually, unique_prefix};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_of_a_silent_node_disappears_after_the_liveness_window() {
    let server = RedisServer::start();
    let prefix = unique_prefix();
    let window = Duration::from_secs(1);
    let connect = || async {
        RedisBus::connect(config(&server.url(), &prefix).with_liveness_window(window))
            .await
            .unwrap()
    };
    let (a, b) = (connect().await, connect().await);
    let conversation = ConversationId::new();
    let ann = UserRef {
        id: UserId::new(),
        name: "Ann".into(),
    };
    b.heartbeat().await.unwrap();
    a.set_present(conversation, &ann, true, true).await.unwrap();
    a.heartbeat().await.unwrap();
    let beat = Instant::now();
    assert_eq!(b.present(conversation).await.unwrap().len(), 1);

    // Node a goes silent.
    eventually(Duration::from_secs(5), "a's viewer disappears", || {
        let b = b.clone();
        async move { b.present(conversation).await.unwrap().is_empty() }
    })
    .await;
    assert!(
        beat.elapsed() >= window - Duration::from_millis(100),
        "not before the window: {:?}",
        beat.elapsed()
    );
    assert!(!b.live_nodes().await.unwrap().contains(&a.node_id()));

    // The record is hidden, not gone: a heartbeat brings it back.
    a.heartbeat().await.unwrap();
    assert_eq!(b.present(conversation).await.unwrap().len(), 1);

    // A node that leaves takes its presence along at once.
    a.leave().await.unwrap();
    assert!(b.present(conversation).await.unwrap().is_empty());
    assert!(!b.live_nodes().await.unwrap().contains(&a.node_id()));
}
