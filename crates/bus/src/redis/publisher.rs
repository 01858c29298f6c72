//! The publisher: one task drains everything queued and sends it as one
//! pipeline (in cluster mode one pipeline per shard, the shards at once),
//! waits for the answers, then takes the next batch. One task and one
//! connection per shard keep the events of a topic in publishing order.
//! Before sending, it lets the node's other tasks run for a few turns
//! (`publish_gather_turns`) while they keep queueing events, so that a
//! message and its card, or the events of a burst, share a pipeline.

use std::sync::Arc;

use futures_util::future::try_join_all;
use tokio::sync::mpsc;

use super::delivery::{Notice, Stats};
use super::links::Links;
use super::shared::Shared;

/// An encoded event and its channel.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub channel: String,
    pub payload: Vec<u8>,
}

pub(crate) async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Outgoing>) {
    let limit = shared.config.publish_queue;
    let turns = shared.config.publish_gather_turns;
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, limit).await > 0 {
        gather(&mut queue, &mut batch, limit, turns).await;
        let stats = &shared.delivery.stats;
        match shared.links() {
            // Redis went away after these were queued: they are lost, and
            // the others resynchronize when it is back.
            Err(_) => Stats::add(&stats.dropped, batch.len()),
            Ok(links) => match send(&links, &batch).await {
                Ok(pipelines) => {
                    Stats::add(&stats.published, batch.len());
                    Stats::add(&stats.pipelines, pipelines);
                }
                Err(error) => {
                    Stats::add(&stats.dropped, batch.len());
                    tracing::warn!(%error, events = batch.len(), "could not publish to redis");
                    shared.delivery.notify(Notice::Broken {
                        generation: links.generation,
                        reason: format!("publishing failed: {error}"),
                    });
                }
            },
        }
        batch.clear();
    }
}

/// Yields up to `turns` times while each turn brings more events (and the
/// batch has room), adding them to `batch`.
async fn gather(
    queue: &mut mpsc::Receiver<Outgoing>,
    batch: &mut Vec<Outgoing>,
    limit: usize,
    turns: u32,
) {
    for _ in 0..turns {
        if batch.len() >= limit {
            return;
        }
        tokio::task::yield_now().await;
        let before = batch.len();
        while batch.len() < limit {
            match queue.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        if batch.len() == before {
            return;
        }
    }
}

/// Sends a batch; returns the number of pipelines it took.
async fn send(links: &Links, batch: &[Outgoing]) -> Result<usize, ::redis::RedisError> {
    let command = links.topology.mode.publish_command();
    let mut pipes = vec![::redis::pipe(); links.shards.len()];
    for event in batch {
        pipes[links.topology.shard_of(&event.channel)]
            .cmd(command)
            .arg(event.channel.as_str())
            .arg(event.payload.as_slice())
            .ignore();
    }
    let sent = try_join_all(
        pipes
            .iter()
            .enumerate()
            .filter(|(_, pipe)| !pipe.is_empty())
            .map(|(shard, pipe)| {
                let mut connection = links.shards[shard].publisher.clone();
                async move { pipe.exec_async(&mut connection).await }
            }),
    )
    .await?;
    Ok(sent.len())
}
