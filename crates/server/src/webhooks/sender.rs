//! The sender: a task on every node that drains the store's webhook
//! outbox. It claims due deliveries for a lease (of the nodes of a
//! cluster, one holds each; a dead node's claims lapse), at most
//! `SWITCHBOARD_WEBHOOK_CONCURRENCY` under way at once, each posted within
//! the timeout, and records every try: delivered on a 2xx, else tried
//! again after a doubling wait with jitter until the retry horizon, then
//! failed. The store hands out a conversation's deliveries of one webhook
//! one at a time, in order, so this task needs no ordering of its own. It
//! shares nothing with the messenger: a slow receiver holds only its own
//! slots here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use switchboard_core::Resource;
use switchboard_core::access::{Decision, Permission};
use switchboard_core::ports::Store;
use switchboard_core::webhooks::{
    Attempt, AttemptNext, ClaimedDelivery, after_failure, retry_wait,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::signature::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign};
use super::target::Target;
use super::{WebhookArgs, client, payload};
use crate::access::AccessBook;
use crate::secret_key::SecretKey;

/// The longest wait between two tries of one delivery.
const BACKOFF_CAP: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct Sender {
    store: Arc<dyn Store>,
    /// Asked at each send whether the webhook's creator may still read
    /// message bodies.
    access: Arc<AccessBook>,
    key: SecretKey,
    args: WebhookArgs,
}

impl Sender {
    pub fn new(
        store: Arc<dyn Store>,
        access: Arc<AccessBook>,
        key: SecretKey,
        args: WebhookArgs,
    ) -> Self {
        Self {
            store,
            access,
            key,
            args,
        }
    }

    /// Whether the delivery carries message bodies now: the webhook was
    /// made by someone holding `messages.read_bodies` at the root, who
    /// still holds it (asked at every send, against the current grants).
    async fn reads_bodies(&self, delivery: &ClaimedDelivery) -> Result<bool, PostError> {
        let Some(creator) = delivery.created_by.filter(|_| delivery.include_bodies) else {
            return Ok(false);
        };
        let account = delivery.account_id;
        let access = self
            .access
            .now(account)
            .await
            .map_err(|_| PostError::Failed("could not read the creator's access".into()))?;
        let decision = access.decide(
            creator,
            Permission::MessagesReadBodies,
            Resource::Account(account),
        );
        Ok(decision == Decision::Allowed)
    }

    /// How long a claim holds a delivery: well past the request's timeout,
    /// so no other node sends it meanwhile.
    fn lease(&self) -> Duration {
        self.args.timeout() * 2 + Duration::from_secs(10)
    }

    /// Sends until `cancel`; deliveries under way are finished first
    /// (each within the timeout).
    pub async fn run(self, cancel: CancellationToken) {
        let this = Arc::new(self);
        let limit = this.args.webhook_concurrency as usize;
        let mut under_way = JoinSet::new();
        let mut tick = tokio::time::interval(this.args.poll());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
                Some(_) = under_way.join_next(), if !under_way.is_empty() => {}
            }
            let free = limit.saturating_sub(under_way.len());
            if free == 0 {
                continue;
            }
            let claimed = match this
                .store
                .claim_webhook_deliveries(this.lease(), u32::try_from(free).unwrap_or(1))
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "could not read the webhook outbox");
                    continue;
                }
            };
            for delivery in claimed {
                let this = this.clone();
                under_way.spawn(async move { this.deliver(delivery).await });
            }
        }
        let wait = this.args.timeout() + Duration::from_secs(1);
        let _ = tokio::time::timeout(wait, under_way.join_all()).await;
    }

    async fn deliver(&self, delivery: ClaimedDelivery) {
        let at = Utc::now();
        let started = Instant::now();
        let outcome = self.post(&delivery).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (http_status, error, retry) = match outcome {
            Ok(status) => (Some(status), None, true),
            Err(PostError::Unsendable(why)) => (None, Some(why.to_owned()), false),
            Err(PostError::Failed(error)) => (None, Some(error.chars().take(500).collect()), true),
        };
        let next = match http_status {
            Some(status) if (200..300).contains(&status) => AttemptNext::Delivered,
            _ if !retry => AttemptNext::Failed,
            _ => {
                let wait = retry_wait(
                    self.args.retry_base(),
                    BACKOFF_CAP,
                    delivery.attempts,
                    rand::random::<f64>(),
                );
                after_failure(delivery.created_at, Utc::now(), self.args.horizon(), wait)
            }
        };
        let error = error.or_else(|| {
            http_status
                .filter(|s| !(200..300).contains(s))
                .map(|s| format!("the receiver answered {s}"))
        });
        tracing::info!(
            delivery = %delivery.id,
            webhook = %delivery.webhook_id,
            event = delivery.event.as_str(),
            attempts = delivery.attempts,
            status = http_status,
            error = error.as_deref(),
            next = ?next,
            "webhook delivery tried"
        );
        let attempt = Attempt {
            at,
            http_status,
            error,
            duration_ms,
        };
        if let Err(error) = self
            .store
            .webhook_attempted(&delivery, &attempt, next)
            .await
        {
            // The claim lapses and the delivery is tried again: at least once.
            tracing::error!(delivery = %delivery.id, %error, "could not record a delivery's try");
        }
    }

    /// Posts the delivery: the receiver's status, or why there is none.
    async fn post(&self, delivery: &ClaimedDelivery) -> Result<u16, PostError> {
        let owner = delivery.webhook_id.to_string();
        let secret = self
            .key
            .open(&delivery.secret_sealed, owner.as_bytes())
            .map_err(|_| {
                PostError::Unsendable("the webhook's secret does not open with this server's key")
            })?;
        let target = Target::parse(&delivery.url)
            .map_err(|_| PostError::Unsendable("the webhook's url is not valid"))?;
        let bodies = self.reads_bodies(delivery).await?;
        let body = payload::body(delivery, bodies);
        let signature = sign(&secret, Utc::now().timestamp(), body.as_bytes());
        let post = client::Post {
            target: &target,
            headers: vec![
                (SIGNATURE_HEADER, signature),
                (DELIVERY_HEADER, delivery.id.to_string()),
                (EVENT_HEADER, delivery.event.as_str().to_owned()),
            ],
            body,
        };
        client::send(post, self.args.timeout(), self.args.webhook_allow_private)
            .await
            .map_err(PostError::Failed)
    }
}

/// Why a try got no status.
#[derive(Debug)]
enum PostError {
    /// It can never be sent (failed at once, not retried).
    Unsendable(&'static str),
    /// This try failed (connection, TLS, timeout, an address refused).
    Failed(String),
}
