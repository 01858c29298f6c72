//! Private Redis processes for tests: a server or a three-master cluster on
//! free loopback ports, killed when dropped; and two buses on them with a
//! prefix of their own.

mod cluster;
mod server;

use std::time::Duration;

use switchboard_bus::{RedisBus, RedisBusConfig};
use switchboard_core::{ConversationId, NodeId};

pub use cluster::RedisCluster;
pub use server::{RedisServer, free_port};

/// A prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("test-{}", ConversationId::new())
}

/// A bus config for a new node on `urls` under `prefix`.
pub fn config(urls: &str, prefix: &str) -> RedisBusConfig {
    RedisBusConfig::new(NodeId::new(), urls)
        .with_prefix(prefix)
        .with_liveness_window(Duration::from_secs(10))
}

/// Logs of the bus when `RUST_LOG` asks for them.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Two nodes on the same Redis and prefix.
pub async fn two_nodes(urls: &str) -> (RedisBus, RedisBus) {
    logs();
    let prefix = unique_prefix();
    let a = RedisBus::connect(config(urls, &prefix)).await.unwrap();
    let b = RedisBus::connect(config(urls, &prefix)).await.unwrap();
    (a, b)
}

/// Waits until `condition` holds, failing with `what` after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
