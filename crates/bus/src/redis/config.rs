//! How a node reaches Redis.

use std::time::Duration;

use switchboard_core::ids::NodeId;

/// Single server or Redis Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisMode {
    /// One server (`redis://host:port`): PUBLISH and SUBSCRIBE.
    Single,
    /// Redis Cluster: sharded pub/sub (SPUBLISH and SSUBSCRIBE), one
    /// subscriber connection per shard.
    Cluster,
}

/// Configuration of a [`RedisBus`](super::RedisBus). Its `Debug` hides the
/// passwords of the URLs.
#[derive(Clone)]
pub struct RedisBusConfig {
    /// This node's id: the origin of what it publishes, the owner of its
    /// presence records.
    pub node: NodeId,
    /// `redis://[user:password@]host:port[/db]` URLs. One URL: a single
    /// server, or a Redis Cluster seed when that server runs with
    /// `cluster-enabled yes` (detected). Several URLs: Redis Cluster seeds.
    pub urls: Vec<String>,
    /// Forces Redis Cluster mode even with a single seed URL (no detection).
    pub cluster: bool,
    /// Prefix of every key and channel, so deployments (and tests) can share
    /// a Redis without seeing each other. Default `sb`.
    pub prefix: String,
    /// A node is live while its last heartbeat is younger than this
    /// (measured on Redis' clock). Default 3 s.
    pub liveness_window: Duration,
    /// How long to wait for a TCP connection and its handshake. Default 2 s.
    pub connect_timeout: Duration,
    /// How long to wait for an answer to a command or pipeline. Default 2 s.
    pub command_timeout: Duration,
    /// How often idle subscriber connections are pinged, to notice a dead
    /// peer that closed nothing. Default 1 s.
    pub health_interval: Duration,
    /// First wait between reconnection attempts; doubles up to
    /// [`reconnect_max`](Self::reconnect_max). Default 50 ms.
    pub reconnect_min: Duration,
    /// Longest wait between reconnection attempts. Default 2 s.
    pub reconnect_max: Duration,
    /// Events waiting to be published, at most; past it `publish` fails.
    /// Default 16,384.
    pub publish_queue: usize,
    /// Scheduler turns the publisher gives the node's other tasks, once it
    /// has an event, to queue more for the same pipeline; it stops at the
    /// first turn that brings none (0: send at once). Redis reads a
    /// pipeline in one go and writes what it fans out to each subscriber
    /// together, so events that go together cost it less; the wait is a
    /// few task switches, microseconds, never a timer. Default 4.
    pub publish_gather_turns: u32,
}

impl std::fmt::Debug for RedisBusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBusConfig")
            .field("node", &self.node)
            .field(
                "urls",
                &self.urls.iter().map(|u| redact(u)).collect::<Vec<_>>(),
            )
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("liveness_window", &self.liveness_window)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("health_interval", &self.health_interval)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .field("publish_queue", &self.publish_queue)
            .field("publish_gather_turns", &self.publish_gather_turns)
            .finish()
    }
}

/// `redis://user:secret@host` -> `redis://user:***@host`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split_once(':').map_or("", |(user, _)| user);
    format!("{scheme}://{user}:***@{host}")
}

impl RedisBusConfig {
    /// Defaults for `node`, with one or several comma-separated URLs (the
    /// form `SWITCHBOARD_REDIS_URL` takes).
    pub fn new(node: NodeId, urls: &str) -> Self {
        Self {
            node,
            urls: urls
                .split(',')
                .map(str::trim)
                .filter(|url| !url.is_empty())
                .map(str::to_owned)
                .collect(),
            cluster: false,
            prefix: "sb".into(),
            liveness_window: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
            health_interval: Duration::from_secs(1),
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(2),
            publish_queue: 16_384,
            publish_gather_turns: 4,
        }
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    pub fn with_liveness_window(mut self, window: Duration) -> Self {
        self.liveness_window = window;
        self
    }

    pub fn with_publish_gather_turns(mut self, turns: u32) -> Self {
        self.publish_gather_turns = turns;
        self
    }

    /// Redis Cluster mode whatever the number of URLs.
    pub fn with_cluster(mut self) -> Self {
        self.cluster = true;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("no redis url configured".into());
        }
        if self.prefix.is_empty() || self.prefix.chars().any(char::is_whitespace) {
            return Err(format!("invalid key prefix {:?}", self.prefix));
        }
        if self.liveness_window.is_zero() {
            return Err("the liveness window must be longer than zero".into());
        }
        if self.publish_queue == 0 {
            return Err("the publish queue needs room for at least one event".into());
        }
        if self.reconnect_min.is_zero() || self.reconnect_max < self.reconnect_min {
            return Err("reconnect_min must be above zero and at most reconnect_max".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_and_hides_passwords() {
        let config = RedisBusConfig::new(
            NodeId::new(),
            "redis://:hunter2@10.0.0.1:7000, redis://app:hunter2@10.0.0.2:7000,",
        );
        assert_eq!(config.urls.len(), 2);
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("redis://app:***@10.0.0.2:7000"), "{debug}");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert!(config.validate().is_ok());
        assert!(RedisBusConfig::new(NodeId::new(), "").validate().is_err());
    }
}
