//! Redis going away and coming back.

use std::time::{Duration, Instant};

use switchboard_bus::contract::{recorder, typing, wait_for};
use switchboard_bus::{RedisBus, RedisBusConfig};
use switchboard_core::ports::{Bus, Topic};
use switchboard_core::{ConversationId, NodeId};

use crate::support::{RedisServer, eventually, two_nodes};

/// While Redis is down `publish` fails at once; the subscriber reconnects
/// by itself, the sink hears `Reconnected` once, and events flow again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_redis_restarting() {
    let mut server = RedisServer::start();
    let (a, b) = two_nodes(&server.url()).await;
    let seen = recorder(&b);
    let conversation = ConversationId::new();
    b.set_interest(Topic::Conversation(conversation), true)
        .await
        .unwrap();
    a.publish(typing(conversation)).await.unwrap();
    wait_for(&seen, 1, Duration::from_secs(5)).await;

    server.kill();
    // The loss is noticed at once (the connections close)...
    eventually(Duration::from_secs(5), "publish fails", || {
        let a = a.clone();
        async move { a.publish(typing(conversation)).await.is_err() }
    })
    .await;
    // ...and from then on publishing fails fast, every time.
    for _ in 0..100 {
        let started = Instant::now();
        let error = a.publish(typing(conversation)).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(20), "{error}");
        assert_eq!(error.to_string(), "bus unavailable: redis unreachable");
    }
    assert!(a.ping().await.is_err());
    assert!(b.present(conversation).await.is_err());
    assert_eq!(seen.lock().reconnections, 0);

    server.restart();
    eventually(Duration::from_secs(10), "b reconnects", || {
        let seen = seen.clone();
        async move { seen.lock().reconnections == 1 }
    })
    .await;
    eventually(Duration::from_secs(10), "a reconnects", || {
        let a = a.clone();
        async move { a.ping().await.is_ok() }
    })
    .await;
    let before = seen.lock().events.len();
    a.publish(typing(conversation)).await.unwrap();
    wait_for(&seen, before + 1, Duration::from_secs(5)).await;
    assert_eq!(seen.lock().reconnections, 1, "Reconnected once");
    assert_eq!(b.stats().reconnections, 1);
}

/// A subscriber connection the server kills is replaced and its
/// subscriptions restored, without anything else going wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscriber_connection_is_replaced() {
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server.url()).await;
    let seen = recorder(&b);
    let conversations: Vec<ConversationId> = (0..10).map(|_| ConversationId::new()).collect();
    for conversation in &conversations {
        b.set_interest(Topic::Conversation(*conversation), true)
            .await
            .unwrap();
    }
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut server.client())
        .unwrap();
    assert_eq!(killed, 1, "one subscriber connection for ten channels");
    eventually(Duration::from_secs(10), "b reconnects", || {
        let seen = seen.clone();
        async move { seen.lock().reconnections == 1 }
    })
    .await;
    for conversation in &conversations {
        a.publish(typing(*conversation)).await.unwrap();
    }
    wait_for(&seen, conversations.len(), Duration::from_secs(5)).await;
}

/// Without Redis there is no bus: `connect` says so.
#[tokio::test]
async fn connect_fails_clearly_without_redis() {
    let port = crate::support::free_port();
    let config = RedisBusConfig::new(NodeId::new(), &format!("redis://127.0.0.1:{port}"));
    let error = RedisBus::connect(config).await.unwrap_err().to_string();
    assert!(error.contains("cannot connect to 127.0.0.1:"), "{error}");
}

/// Dropping the last handle stops the tasks and closes every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_bus_closes_its_connections() {
    let server = RedisServer::start();
    let clients = || -> usize {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(&mut server.client())
            .unwrap();
        // Minus the connection asking.
        list.lines().count() - 1
    };
    let (a, b) = two_nodes(&server.url()).await;
    b.set_interest(Topic::Conversation(ConversationId::new()), true)
        .await
        .unwrap();
    // A connection on its way out (the one that read the cluster's shape,
    // say) may still be listed for a moment: three per node, once settled.
    eventually(
        Duration::from_secs(5),
        "three connections per node",
        || async { clients() == 6 },
    )
    .await;
    drop((a, b));
    eventually(Duration::from_secs(5), "connections close", || async {
        clients() == 0
    })
    .await;
}
