//! Node liveness: a sorted set `<prefix>:nodes` of node ids scored with the
//! time of their last heartbeat, read from Redis' own clock inside the
//! scripts, so the nodes' clocks do not matter.

use std::sync::LazyLock;

use ::redis::Script;
use switchboard_core::ids::NodeId;
use switchboard_core::ports::BusError;

use super::shared::Shared;

/// Entries this many liveness windows old are dropped at each heartbeat.
const KEEP_WINDOWS: u32 = 100;

/// `ZADD nodes <now ms> <node>`, then drops entries older than ARGV[2] ms.
static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return now
",
    )
});

/// The nodes whose last heartbeat is less than ARGV[1] ms old.
static LIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
",
    )
});

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) async fn heartbeat(shared: &Shared) -> Result<(), BusError> {
    let key = shared.keys.nodes();
    let (generation, mut connection) = shared.commands_for(&key)?;
    let keep = millis(shared.config.liveness_window.saturating_mul(KEEP_WINDOWS));
    HEARTBEAT
        .key(&key)
        .arg(shared.config.node.to_string())
        .arg(keep)
        .invoke_async::<i64>(&mut connection)
        .await
        .map_err(|e| shared.failed(generation, e))?;
    Ok(())
}

pub(crate) async fn live_nodes(shared: &Shared) -> Result<Vec<NodeId>, BusError> {
    let key = shared.keys.nodes();
    let (generation, mut connection) = shared.commands_for(&key)?;
    let ids: Vec<String> = LIVE
        .key(&key)
        .arg(millis(shared.config.liveness_window))
        .invoke_async(&mut connection)
        .await
        .map_err(|e| shared.failed(generation, e))?;
    let mut nodes: Vec<NodeId> = ids.iter().filter_map(|id| id.parse().ok()).collect();
    nodes.sort();
    Ok(nodes)
}

/// Takes a node out of the set (it is leaving).
pub(crate) async fn remove(shared: &Shared, node: NodeId) -> Result<(), BusError> {
    let key = shared.keys.nodes();
    shared
        .query::<i64>(&key, ::redis::cmd("ZREM").arg(&key).arg(node.to_string()))
        .await?;
    Ok(())
}
