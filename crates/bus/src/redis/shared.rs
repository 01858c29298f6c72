//! What the bus handle, the supervisor and the publisher share: the current
//! links (none while Redis is away, so callers fail fast) and the way to run
//! a command on the shard that holds its key.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ::redis::aio::MultiplexedConnection;
use ::redis::{Cmd, ErrorKind, FromRedisValue, RedisError, ServerErrorKind};
use futures_util::future::try_join_all;
use parking_lot::RwLock;
use switchboard_core::ports::BusError;

use super::config::{RedisBusConfig, RedisMode};
use super::delivery::{Delivery, Notice};
use super::keys::Keys;
use super::links::{Links, Timeouts};

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: RedisBusConfig,
    pub mode: RedisMode,
    pub keys: Keys,
    pub delivery: Arc<Delivery>,
    links: RwLock<Option<Arc<Links>>>,
    up: AtomicBool,
}

pub(crate) fn unreachable() -> BusError {
    BusError::Unavailable("redis unreachable".into())
}

impl Shared {
    pub(crate) fn new(config: RedisBusConfig, mode: RedisMode, delivery: Arc<Delivery>) -> Self {
        Self {
            keys: Keys::new(&config.prefix),
            config,
            mode,
            delivery,
            links: RwLock::new(None),
            up: AtomicBool::new(false),
        }
    }

    pub(crate) fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.config.connect_timeout,
            command: self.config.command_timeout,
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// The links in use, or [`unreachable`] while Redis is away.
    pub(crate) fn links(&self) -> Result<Arc<Links>, BusError> {
        self.links.read().clone().ok_or_else(unreachable)
    }

    /// Puts links in use (their messages count from now on), or none.
    pub(crate) fn set_links(&self, links: Option<Arc<Links>>) {
        let generation = links.as_ref().map_or(0, |l| l.generation);
        let up = links.is_some();
        *self.links.write() = links;
        self.delivery.set_live(generation);
        self.up.store(up, Ordering::Release);
    }

    /// The generation and the command connection of the shard holding `key`.
    pub(crate) fn commands_for(&self, key: &str) -> Result<(u64, MultiplexedConnection), BusError> {
        let links = self.links()?;
        let shard = links.topology.shard_of(key);
        Ok((links.generation, links.shards[shard].commands.clone()))
    }

    /// Runs one command on the shard holding `key`.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        key: &str,
        cmd: &Cmd,
    ) -> Result<T, BusError> {
        let (generation, mut connection) = self.commands_for(key)?;
        cmd.query_async(&mut connection)
            .await
            .map_err(|e| self.failed(generation, e))
    }

    /// Runs commands in order: consecutive commands on one shard go as one
    /// pipeline, a command on another shard waits for the ones before it.
    pub(crate) async fn in_order(&self, commands: &[(String, Cmd)]) -> Result<(), BusError> {
        let links = self.links()?;
        let mut rest = commands;
        while let Some((key, _)) = rest.first() {
            let shard = links.topology.shard_of(key);
            let run = rest
                .iter()
                .take_while(|(k, _)| links.topology.shard_of(k) == shard)
                .count();
            let mut pipe = ::redis::pipe();
            for (_, cmd) in &rest[..run] {
                pipe.add_command(cmd.clone()).ignore();
            }
            let mut connection = links.shards[shard].commands.clone();
            pipe.exec_async(&mut connection)
                .await
                .map_err(|e| self.failed(links.generation, e))?;
            rest = &rest[run..];
        }
        Ok(())
    }

    /// Runs commands in no particular order: one pipeline per shard, the
    /// shards at once.
    pub(crate) async fn on_their_shards(
        &self,
        commands: Vec<(String, Cmd)>,
    ) -> Result<(), BusError> {
        let links = self.links()?;
        let mut pipes = vec![::redis::pipe(); links.shards.len()];
        for (key, cmd) in commands {
            pipes[links.topology.shard_of(&key)]
                .add_command(cmd)
                .ignore();
        }
        try_join_all(
            pipes
                .iter()
                .enumerate()
                .filter(|(_, pipe)| !pipe.is_empty())
                .map(|(shard, pipe)| {
                    let mut connection = links.shards[shard].commands.clone();
                    async move { pipe.exec_async(&mut connection).await }
                }),
        )
        .await
        .map_err(|e| self.failed(links.generation, e))?;
        Ok(())
    }

    /// Turns a Redis error into the port's error; errors that only new
    /// connections can fix also tell the supervisor.
    pub(crate) fn failed(&self, generation: u64, error: RedisError) -> BusError {
        if needs_new_links(&error) {
            self.delivery.notify(Notice::Broken {
                generation,
                reason: error.to_string(),
            });
        }
        BusError::Unavailable(format!("redis: {error}"))
    }
}

/// I/O trouble, a timeout, or a cluster that changed under us.
pub(crate) fn needs_new_links(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_unrecoverable_error()
        || error.is_cluster_error()
        || matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::MasterDown | ServerErrorKind::ReadOnly)
        )
}
