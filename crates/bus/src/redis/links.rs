//! A node's connections to Redis, made and lost together: per shard one
//! subscriber connection (RESP3, pushes handled by [`Delivery`]), one for
//! publishing and one for presence and liveness commands. A generation
//! number tells the connections of one attempt from those of the next.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionInfo, ProtocolVersion, RedisError, Value};
use futures_util::future::try_join_all;

use super::config::RedisMode;
use super::delivery::Delivery;
use super::topology::{ShardAddr, Topology};

/// At most this many (un)subscriptions per pipeline.
const SUBSCRIBE_CHUNK: usize = 1_000;

impl RedisMode {
    pub(crate) fn subscribe_command(self) -> &'static str {
        match self {
            Self::Single => "SUBSCRIBE",
            Self::Cluster => "SSUBSCRIBE",
        }
    }

    pub(crate) fn unsubscribe_command(self) -> &'static str {
        match self {
            Self::Single => "UNSUBSCRIBE",
            Self::Cluster => "SUNSUBSCRIBE",
        }
    }

    pub(crate) fn publish_command(self) -> &'static str {
        match self {
            Self::Single => "PUBLISH",
            Self::Cluster => "SPUBLISH",
        }
    }
}

pub(crate) struct Links {
    pub generation: u64,
    pub topology: Topology,
    pub shards: Vec<ShardLinks>,
}

pub(crate) struct ShardLinks {
    pub name: String,
    pub subscriber: MultiplexedConnection,
    pub publisher: MultiplexedConnection,
    pub commands: MultiplexedConnection,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("generation", &self.generation)
            .field(
                "shards",
                &self.shards.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Fresh links, with `wanted` subscribed; `subscribed[shard]` says which.
#[derive(Debug)]
pub(crate) struct Established {
    pub links: Arc<Links>,
    pub subscribed: Vec<HashSet<String>>,
}

/// Timeouts for making links.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub connect: Duration,
    pub command: Duration,
}

/// Reads the topology (cluster mode), connects to every shard and
/// subscribes `wanted`.
pub(crate) async fn establish(
    mode: RedisMode,
    candidates: Vec<ConnectionInfo>,
    delivery: Arc<Delivery>,
    generation: u64,
    wanted: Vec<String>,
    timeouts: Timeouts,
) -> Result<Established, String> {
    let topology = match mode {
        RedisMode::Single => Topology::single(&candidates[0]),
        RedisMode::Cluster => Topology::discover(&candidates, timeouts.connect).await?,
    };
    let shards =
        try_join_all(topology.shards.iter().enumerate().map(|(index, shard)| {
            connect_shard(mode, shard, index, &delivery, generation, timeouts)
        }))
        .await?;
    let links = Arc::new(Links {
        generation,
        topology,
        shards,
    });
    let mut subscribed = vec![HashSet::new(); links.shards.len()];
    let mut per_shard: Vec<Vec<String>> = vec![Vec::new(); links.shards.len()];
    for channel in wanted {
        per_shard[links.topology.shard_of(&channel)].push(channel);
    }
    try_join_all(
        per_shard
            .iter()
            .enumerate()
            .map(|(shard, channels)| change_subscriptions(&links, shard, channels, &[])),
    )
    .await
    .map_err(|e| format!("cannot subscribe: {e}"))?;
    for (shard, channels) in per_shard.into_iter().enumerate() {
        subscribed[shard].extend(channels);
    }
    Ok(Established { links, subscribed })
}

async fn connect_shard(
    mode: RedisMode,
    shard: &ShardAddr,
    index: usize,
    delivery: &Arc<Delivery>,
    generation: u64,
    timeouts: Timeouts,
) -> Result<ShardLinks, String> {
    let plain = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.command));
    let client = Client::open(shard.info.clone()).map_err(|e| e.to_string())?;
    let resp3 = shard.info.clone().set_redis_settings(
        shard
            .info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3),
    );
    let subscriber_client = Client::open(resp3).map_err(|e| e.to_string())?;
    let pushes = plain.clone().set_push_sender(delivery.handler(
        generation,
        index,
        mode == RedisMode::Cluster,
    ));
    let cannot = |e: RedisError| format!("cannot connect to {}: {e}", shard.name);
    let (subscriber, publisher, commands) = tokio::try_join!(
        subscriber_client.get_multiplexed_async_connection_with_config(&pushes),
        client.get_multiplexed_async_connection_with_config(&plain),
        client.get_multiplexed_async_connection_with_config(&plain),
    )
    .map_err(cannot)?;
    Ok(ShardLinks {
        name: shard.name.clone(),
        subscriber,
        publisher,
        commands,
    })
}

/// Subscribes and unsubscribes channels of one shard, in pipelines of one
/// channel per command (so each command has exactly one confirmation).
pub(crate) async fn change_subscriptions(
    links: &Links,
    shard: usize,
    subscribe: &[String],
    unsubscribe: &[String],
) -> Result<(), RedisError> {
    let mode = links.topology.mode;
    let mut connection = links.shards[shard].subscriber.clone();
    let commands = unsubscribe
        .iter()
        .map(|c| (mode.unsubscribe_command(), c))
        .chain(subscribe.iter().map(|c| (mode.subscribe_command(), c)))
        .collect::<Vec<_>>();
    for chunk in commands.chunks(SUBSCRIBE_CHUNK) {
        let mut pipe = ::redis::pipe();
        for (command, channel) in chunk {
            pipe.cmd(command).arg(channel.as_str());
        }
        let _: Value = pipe.query_async(&mut connection).await?;
    }
    Ok(())
}
