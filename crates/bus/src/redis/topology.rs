//! Where each channel and key lives: one shard for a single server; in Redis
//! Cluster, the master owning the name's hash slot, read from `CLUSTER SLOTS`.

use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, Value};

use super::config::RedisMode;
use super::keys::{SLOTS, key_slot};

/// The shards of the deployment and which one owns each slot.
#[derive(Debug, Clone)]
pub(crate) struct Topology {
    pub mode: RedisMode,
    /// One entry per shard (per master in Redis Cluster).
    pub shards: Vec<ShardAddr>,
    /// Cluster mode: the index of the owning shard, per slot.
    owners: Option<Vec<u16>>,
}

#[derive(Debug, Clone)]
pub(crate) struct ShardAddr {
    /// `host:port`, for logs.
    pub name: String,
    pub info: ConnectionInfo,
}

impl Topology {
    pub(crate) fn single(info: &ConnectionInfo) -> Self {
        Self {
            mode: RedisMode::Single,
            shards: vec![ShardAddr {
                name: addr_name(info.addr()),
                info: info.clone(),
            }],
            owners: None,
        }
    }

    /// The shard holding a channel or key.
    pub(crate) fn shard_of(&self, name: &str) -> usize {
        match &self.owners {
            None => 0,
            Some(owners) => usize::from(owners[usize::from(key_slot(name))]),
        }
    }

    /// Reads the slot map from the first candidate that answers.
    pub(crate) async fn discover(
        candidates: &[ConnectionInfo],
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut last = String::from("no redis cluster node to ask");
        for candidate in candidates {
            match Self::ask(candidate, timeout).await {
                Ok(topology) => return Ok(topology),
                Err(error) => {
                    tracing::debug!(node = %addr_name(candidate.addr()), %error, "cluster node could not tell the slot map");
                    last = error;
                }
            }
        }
        Err(last)
    }

    async fn ask(candidate: &ConnectionInfo, timeout: Duration) -> Result<Self, String> {
        let mut connection = connect(candidate, timeout).await?;
        let slots: Value = ::redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut connection)
            .await
            .map_err(|e| format!("cluster slots: {e}"))?;
        let asked_host = match candidate.addr() {
            ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => host.clone(),
            other => {
                return Err(format!(
                    "a cluster node must be reached over tcp, not {other:?}"
                ));
            }
        };
        let ranges = parse_slots(slots, &asked_host)?;
        let mut shards: Vec<ShardAddr> = Vec::new();
        let mut owners = vec![u16::MAX; usize::from(SLOTS)];
        for (start, end, host, port) in ranges {
            let name = format!("{host}:{port}");
            let index = match shards.iter().position(|s| s.name == name) {
                Some(index) => index,
                None => {
                    shards.push(ShardAddr {
                        name,
                        info: with_host(candidate, host, port)?,
                    });
                    shards.len() - 1
                }
            };
            for slot in start..=end.min(SLOTS - 1) {
                owners[usize::from(slot)] = index as u16;
            }
        }
        if let Some(slot) = owners.iter().position(|o| *o == u16::MAX) {
            return Err(format!(
                "the cluster does not cover every slot (slot {slot} has no master)"
            ));
        }
        Ok(Self {
            mode: RedisMode::Cluster,
            shards,
            owners: Some(owners),
        })
    }
}

/// Whether the server at `info` runs with `cluster-enabled yes`.
pub(crate) async fn is_cluster(info: &ConnectionInfo, timeout: Duration) -> Result<bool, String> {
    let mut connection = connect(info, timeout).await?;
    let text: String = ::redis::cmd("INFO")
        .arg("cluster")
        .query_async(&mut connection)
        .await
        .map_err(|e| format!("info cluster: {e}"))?;
    Ok(text.lines().any(|line| line.trim() == "cluster_enabled:1"))
}

/// A plain (RESP2) connection for one-off questions.
async fn connect(
    info: &ConnectionInfo,
    timeout: Duration,
) -> Result<MultiplexedConnection, String> {
    let client = Client::open(info.clone()).map_err(|e| format!("invalid redis address: {e}"))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", addr_name(info.addr())))
}

/// The reply of `CLUSTER SLOTS`: `[start, end, [host, port, id, ..], replicas..]`
/// per range; an empty or `?` host means the node that was asked.
fn parse_slots(value: Value, asked_host: &str) -> Result<Vec<(u16, u16, String, u16)>, String> {
    let bad = || "unexpected cluster slots reply".to_string();
    let Value::Array(ranges) = value else {
        return Err(bad());
    };
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(fields) = range else {
            return Err(bad());
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            return Err(bad());
        };
        let host = match master.first() {
            Some(Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            Some(Value::SimpleString(text)) => text.clone(),
            _ => return Err(bad()),
        };
        let host = if host.is_empty() || host == "?" {
            asked_host.to_owned()
        } else {
            host
        };
        let Some(Value::Int(port)) = master.get(1) else {
            return Err(bad());
        };
        let convert = |n: i64| u16::try_from(n).map_err(|_| bad());
        out.push((convert(*start)?, convert(*end)?, host, convert(*port)?));
    }
    Ok(out)
}

/// The seed's settings (credentials, TLS, protocol) for another node.
fn with_host(seed: &ConnectionInfo, host: String, port: u16) -> Result<ConnectionInfo, String> {
    let addr = match seed.addr() {
        ConnectionAddr::Tcp(..) => ConnectionAddr::Tcp(host, port),
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        other => {
            return Err(format!(
                "a cluster node must be reached over tcp, not {other:?}"
            ));
        }
    };
    Ok(seed.clone().set_addr(addr))
}

pub(crate) fn addr_name(addr: &ConnectionAddr) -> String {
    match addr {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            format!("{host}:{port}")
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn reads_the_slot_map() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                Value::Array(vec![bulk("127.0.0.1"), Value::Int(7000), bulk("id-a")]),
            ]),
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(16383),
                Value::Array(vec![bulk(""), Value::Int(7001), bulk("id-b")]),
                Value::Array(vec![bulk("127.0.0.1"), Value::Int(7002), bulk("id-c")]),
            ]),
        ]);
        let ranges = parse_slots(reply, "10.0.0.9").unwrap();
        assert_eq!(
            ranges,
            vec![
                (0, 5460, "127.0.0.1".to_string(), 7000),
                (5461, 16383, "10.0.0.9".to_string(), 7001),
            ]
        );
    }
}
