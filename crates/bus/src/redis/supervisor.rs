//! The supervisor: the one task that owns the node's subscriptions and its
//! links. It (un)subscribes channels as interests change, watches the
//! connections (pushes, pings, failures reported by others), and when they
//! fail drops them all, reconnects with backoff, resubscribes every channel
//! still wanted and tells the sink `Reconnected`, once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ::redis::{ConnectionInfo, Value};
use futures_util::future::try_join_all;
use switchboard_core::ports::{BusDelivery, BusError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::config::RedisMode;
use super::delivery::{Notice, Stats};
use super::links::{self, Established, Links, change_subscriptions};
use super::shared::{Shared, unreachable};

/// Interest changes handled together, at most.
const REQUEST_BATCH: usize = 1_024;

/// A change of interest, answered once Redis confirmed it.
#[derive(Debug)]
pub(crate) struct Request {
    pub channel: String,
    pub interested: bool,
    pub reply: oneshot::Sender<Result<(), BusError>>,
}

type Attempt = Pin<Box<dyn Future<Output = Result<Established, String>> + Send>>;

enum State {
    Up(Up),
    Down(Down),
}

struct Up {
    links: Arc<Links>,
    /// Per shard, the channels Redis confirmed on its subscriber connection.
    subscribed: Vec<HashSet<String>>,
    /// Cluster mode: our own SUNSUBSCRIBEs whose confirmation has not been
    /// seen yet; any other `sunsubscribe` of a subscribed channel means the
    /// server moved its slot.
    unsubscribing: HashMap<(usize, Vec<u8>), u32>,
    next_ping: Instant,
}

struct Down {
    failures: u32,
    next_try: Instant,
    attempt: Option<Attempt>,
}

pub(crate) struct Supervisor {
    shared: Arc<Shared>,
    seeds: Vec<ConnectionInfo>,
    requests: mpsc::Receiver<Request>,
    notices: mpsc::Receiver<Notice>,
    wanted: HashSet<String>,
    state: State,
    last_generation: u64,
}

impl Supervisor {
    /// A supervisor of links made at connect time.
    pub(crate) fn new(
        shared: Arc<Shared>,
        seeds: Vec<ConnectionInfo>,
        requests: mpsc::Receiver<Request>,
        notices: mpsc::Receiver<Notice>,
        established: Established,
    ) -> Self {
        let last_generation = established.links.generation;
        shared.set_links(Some(established.links.clone()));
        let next_ping = Instant::now() + shared.config.health_interval;
        Self {
            shared,
            seeds,
            requests,
            notices,
            wanted: HashSet::new(),
            state: State::Up(Up {
                links: established.links,
                subscribed: established.subscribed,
                unsubscribing: HashMap::new(),
                next_ping,
            }),
            last_generation,
        }
    }

    /// Runs until the bus is dropped.
    pub(crate) async fn run(mut self) {
        loop {
            let wake = match &self.state {
                State::Up(up) => up.next_ping,
                State::Down(Down {
                    attempt: Some(_), ..
                }) => Instant::now() + self.shared.config.health_interval,
                State::Down(down) => down.next_try,
            };
            tokio::select! {
                request = self.requests.recv() => match request {
                    Some(first) => self.on_requests(first).await,
                    None => break,
                },
                Some(notice) = self.notices.recv() => self.on_notice(notice),
                result = attempt(&mut self.state) => self.on_attempt(result).await,
                () = tokio::time::sleep_until(wake) => self.on_timer().await,
            }
            if self.shared.delivery.take_notices_lost() {
                self.go_down("a connection event was lost");
            }
        }
        self.shared.set_links(None);
    }

    async fn on_requests(&mut self, first: Request) {
        let mut batch = vec![first];
        while batch.len() < REQUEST_BATCH {
            match self.requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let mut touched = Vec::with_capacity(batch.len());
        for request in &batch {
            if request.interested {
                self.wanted.insert(request.channel.clone());
            } else {
                self.wanted.remove(&request.channel);
            }
            touched.push(request.channel.clone());
        }
        let outcome = match &mut self.state {
            State::Up(up) => sync(up, &self.wanted, touched).await,
            State::Down(_) => Err(unreachable()),
        };
        let failed = outcome.as_ref().err().map(ToString::to_string);
        for request in batch {
            // Dropping an interest never fails: without a connection there
            // is no subscription left.
            let answer = match &outcome {
                Err(error) if request.interested => Err(BusError::Unavailable(error.to_string())),
                _ => Ok(()),
            };
            let _ = request.reply.send(answer);
        }
        if let (Some(reason), State::Up(_)) = (failed, &self.state) {
            self.go_down(&reason);
        }
    }

    fn on_notice(&mut self, notice: Notice) {
        let State::Up(up) = &mut self.state else {
            return;
        };
        match notice {
            Notice::Closed { generation } if generation == up.links.generation => {
                self.go_down("a subscriber connection closed");
            }
            Notice::Broken { generation, reason } if generation == up.links.generation => {
                self.go_down(&reason);
            }
            Notice::Unsubscribed {
                generation,
                shard,
                channel,
            } if generation == up.links.generation => {
                let key = (shard, channel);
                if let Some(pending) = up.unsubscribing.get_mut(&key) {
                    *pending -= 1;
                    if *pending == 0 {
                        up.unsubscribing.remove(&key);
                    }
                    return;
                }
                let channel = String::from_utf8_lossy(&key.1);
                if up.subscribed[shard].contains(channel.as_ref()) {
                    self.go_down("redis moved the slot of a subscribed channel");
                }
            }
            _ => {}
        }
    }

    async fn on_timer(&mut self) {
        let interval = self.shared.config.health_interval;
        match &mut self.state {
            State::Up(up) => {
                up.next_ping = Instant::now() + interval;
                let pings = up.links.shards.iter().map(|shard| {
                    let mut connection = shard.subscriber.clone();
                    async move {
                        ::redis::cmd("PING")
                            .query_async::<Value>(&mut connection)
                            .await
                    }
                });
                if let Err(error) = try_join_all(pings).await {
                    self.go_down(&format!("a subscriber connection did not answer: {error}"));
                }
            }
            State::Down(down) if down.attempt.is_none() && Instant::now() >= down.next_try => {
                self.last_generation += 1;
                down.attempt = Some(Box::pin(links::establish(
                    self.shared.mode,
                    self.seeds.clone(),
                    self.shared.delivery.clone(),
                    self.last_generation,
                    self.wanted.iter().cloned().collect(),
                    self.shared.timeouts(),
                )));
            }
            State::Down(_) => {}
        }
    }

    async fn on_attempt(&mut self, result: Result<Established, String>) {
        let State::Down(down) = &mut self.state else {
            return;
        };
        down.attempt = None;
        let established = match result {
            Ok(established) => established,
            Err(error) => return self.retry_later(&error),
        };
        let mut up = Up {
            links: established.links,
            subscribed: established.subscribed,
            unsubscribing: HashMap::new(),
            next_ping: Instant::now() + self.shared.config.health_interval,
        };
        // Interests changed while connecting: catch up.
        let changed: Vec<String> = up
            .subscribed
            .iter()
            .flatten()
            .filter(|c| !self.wanted.contains(*c))
            .chain(self.wanted.iter())
            .cloned()
            .collect();
        if let Err(error) = sync(&mut up, &self.wanted, changed).await {
            return self.retry_later(&error.to_string());
        }
        self.remember_nodes(&up.links);
        self.shared.set_links(Some(up.links.clone()));
        self.state = State::Up(up);
        Stats::add(&self.shared.delivery.stats.reconnections, 1);
        tracing::info!(channels = self.wanted.len(), "redis bus reconnected");
        self.shared.delivery.emit(BusDelivery::Reconnected);
    }

    fn retry_later(&mut self, error: &str) {
        let State::Down(down) = &mut self.state else {
            return;
        };
        down.failures += 1;
        let config = &self.shared.config;
        let backoff = config
            .reconnect_min
            .saturating_mul(1 << down.failures.min(16))
            .min(config.reconnect_max);
        down.next_try = Instant::now() + backoff;
        if down.failures == 1 {
            tracing::warn!(%error, "redis bus cannot reconnect yet; retrying");
        } else {
            tracing::debug!(%error, failures = down.failures, "redis bus cannot reconnect yet");
        }
    }

    /// In cluster mode, the shards we knew are seeds too: the configured
    /// seeds may be gone by the next reconnection.
    fn remember_nodes(&mut self, links: &Links) {
        if self.shared.mode != RedisMode::Cluster {
            return;
        }
        for shard in &links.topology.shards {
            let name = super::topology::addr_name(shard.info.addr());
            if !self
                .seeds
                .iter()
                .any(|s| super::topology::addr_name(s.addr()) == name)
            {
                self.seeds.push(shard.info.clone());
            }
        }
    }

    /// Drops every link; publishing and commands fail until new ones exist.
    fn go_down(&mut self, reason: &str) {
        if let State::Down(_) = self.state {
            return;
        }
        tracing::warn!(%reason, "redis bus lost its connections; reconnecting");
        self.shared.set_links(None);
        self.state = State::Down(Down {
            failures: 0,
            next_try: Instant::now(),
            attempt: None,
        });
    }
}

/// The pending reconnection, or never.
async fn attempt(state: &mut State) -> Result<Established, String> {
    match state {
        State::Down(Down {
            attempt: Some(attempt),
            ..
        }) => attempt.await,
        _ => std::future::pending().await,
    }
}

/// Brings the subscriptions of `channels` in line with `wanted`: one
/// pipeline per shard, the shards at once.
async fn sync(
    up: &mut Up,
    wanted: &HashSet<String>,
    channels: Vec<String>,
) -> Result<(), BusError> {
    let shards = up.links.shards.len();
    let mut subscribe = vec![Vec::new(); shards];
    let mut unsubscribe = vec![Vec::new(); shards];
    let mut seen = HashSet::new();
    for channel in channels {
        if !seen.insert(channel.clone()) {
            continue;
        }
        let shard = up.links.topology.shard_of(&channel);
        match (
            wanted.contains(&channel),
            up.subscribed[shard].contains(&channel),
        ) {
            (true, false) => subscribe[shard].push(channel),
            (false, true) => unsubscribe[shard].push(channel),
            _ => {}
        }
    }
    let links = up.links.clone();
    try_join_all(
        (0..shards)
            .filter(|&shard| !subscribe[shard].is_empty() || !unsubscribe[shard].is_empty())
            .map(|shard| {
                change_subscriptions(&links, shard, &subscribe[shard], &unsubscribe[shard])
            }),
    )
    .await
    .map_err(|e| BusError::Unavailable(format!("redis: {e}")))?;
    for (shard, channels) in subscribe.into_iter().enumerate() {
        up.subscribed[shard].extend(channels);
    }
    for (shard, channels) in unsubscribe.into_iter().enumerate() {
        for channel in channels {
            up.subscribed[shard].remove(&channel);
            if links.topology.mode == RedisMode::Cluster {
                *up.unsubscribing
                    .entry((shard, channel.into_bytes()))
                    .or_default() += 1;
            }
        }
    }
    Ok(())
}
