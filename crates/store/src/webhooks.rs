//! Outbound webhooks' storage (docs/MODULES.md, "Webhooks"): the
//! subscriptions, and the durable outbox the migration's triggers fill in
//! the transaction of each change. Senders claim due deliveries for a
//! lease, one statement per delivery that re-checks it is still due,
//! unclaimed and first in its conversation's line, so that of the nodes of
//! a cluster one holds each claim and a conversation's events go out in
//! order. Written once for both backends over [`Statements`].

use std::collections::HashMap;
use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, DeliveryId, WebhookId};
use switchboard_core::webhooks::{
    Attempt, AttemptNext, ClaimedDelivery, ConversationData, Delivery, DeliveryState, MessageData,
    NewWebhook, Webhook, WebhookChanges, WebhookEvent, WebhookEvents,
};
use uuid::Uuid;

use crate::rows::{Columns, unsigned};
use crate::statement::{Statements, Value, id, inserted};

const WEBHOOKS_OF: &str = "SELECT id, account_id, url, events, include_bodies, active, \
     created_by, created_at FROM webhooks WHERE account_id = $1 ORDER BY created_at, id";
const WEBHOOK_BY_ID: &str = "SELECT id, account_id, url, events, include_bodies, active, \
     created_by, created_at FROM webhooks WHERE id = $1";
/// `$1` id, `$2` account, `$3` url, `$4` events, `$5` active.
const WEBHOOK_UPDATE: &str = "UPDATE webhooks SET url = $3, events = $4, active = $5 \
     WHERE id = $1 AND account_id = $2 \
     RETURNING id, account_id, url, events, include_bodies, active, created_by, created_at";
const WEBHOOK_DELETE: &str = "DELETE FROM webhooks WHERE id = $1 AND account_id = $2";
/// The latest `$2` deliveries of webhook `$1`, newest first.
const DELIVERIES_OF: &str = "SELECT seq, id, event, conversation_id, message_id, state, \
     created_at, finished_at FROM webhook_deliveries WHERE webhook_id = $1 \
     ORDER BY seq DESC LIMIT $2";
/// The attempts of webhook `$1`'s deliveries from seq `$2` on.
const ATTEMPTS_OF: &str = "SELECT a.delivery_id, a.n, a.at, a.http_status, a.error, a.duration_ms \
     FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
     WHERE d.webhook_id = $1 AND d.seq >= $2 ORDER BY a.n";
/// Everything a sender needs of claimed delivery `$1`.
const CLAIMED: &str = "SELECT d.id, d.claim, d.webhook_id, w.account_id, w.url, w.secret_sealed, \
            w.include_bodies, w.created_by, d.event, d.created_at, d.attempts, d.status_then, d.assignee_then, \
            c.id AS conversation_id, c.inbox_id, c.created_at AS conversation_created_at, \
            k.id AS contact_id, k.handle AS contact_handle, k.name AS contact_name, \
            m.id AS message_id, m.seq AS message_seq, m.direction, m.author_id, m.body, \
            m.created_at AS message_created_at \
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
     JOIN conversations c ON c.id = d.conversation_id \
     JOIN contacts k ON k.id = c.contact_id \
     LEFT JOIN messages m ON m.id = d.message_id \
     WHERE d.id = $1";
/// Try `$2` of delivery `$1` if claim `$7` is still held: at `$3`, HTTP
/// status `$4`, error `$5`, taking `$6` ms.
const ATTEMPT_INSERT: &str = "INSERT INTO webhook_attempts \
         (delivery_id, n, at, http_status, error, duration_ms) \
     SELECT $1, $2, $3, $4, $5, $6 FROM webhook_deliveries \
     WHERE id = $1 AND claim = $7 AND state = 'pending' \
     ON CONFLICT (delivery_id, n) DO NOTHING";

pub(crate) async fn any_webhook<T: Statements>(tx: &mut T) -> Result<bool, StoreError> {
    Ok(tx
        .one("SELECT 1 AS one FROM webhooks LIMIT 1", &[], |_| Ok(()))
        .await?
        .is_some())
}

pub(crate) async fn create_webhook<T: Statements>(
    tx: &mut T,
    account: AccountId,
    new: &NewWebhook,
) -> Result<Webhook, StoreError> {
    let events = new.events.to_text();
    let params = [
        Value::Clock,
        new.id.into(),
        account.into(),
        new.url.as_str().into(),
        events.as_str().into(),
        new.secret_sealed.as_str().into(),
        new.include_bodies.into(),
        new.created_by.into(),
    ];
    inserted(tx.one(T::SQL.webhook_insert, &params, webhook).await?)
}

pub(crate) async fn webhooks_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<Webhook>, StoreError> {
    tx.all(WEBHOOKS_OF, &[account.into()], webhook).await
}

pub(crate) async fn webhook_by_id<T: Statements>(
    tx: &mut T,
    id: WebhookId,
) -> Result<Option<Webhook>, StoreError> {
    tx.one(WEBHOOK_BY_ID, &[id.into()], webhook).await
}

/// Applies `changes` to what is stored, in the caller's transaction.
pub(crate) async fn update_webhook<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: WebhookId,
    changes: &WebhookChanges,
) -> Result<Webhook, StoreError> {
    let current = webhook_by_id(tx, id)
        .await?
        .filter(|w| w.account_id == account)
        .ok_or(StoreError::NotFound)?;
    let url = changes.url.clone().unwrap_or(current.url);
    let events = changes.events.as_ref().unwrap_or(&current.events).to_text();
    let active = changes.active.unwrap_or(current.active);
    let params = [
        id.into(),
        account.into(),
        url.as_str().into(),
        events.as_str().into(),
        active.into(),
    ];
    tx.one(WEBHOOK_UPDATE, &params, webhook)
        .await?
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn delete_webhook<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: WebhookId,
) -> Result<(), StoreError> {
    match tx
        .execute(WEBHOOK_DELETE, &[id.into(), account.into()])
        .await?
    {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn webhook_deliveries<T: Statements>(
    tx: &mut T,
    webhook: WebhookId,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let rows = tx
        .all(
            DELIVERIES_OF,
            &[webhook.into(), i64::from(limit).into()],
            |row| Ok((row.int("seq")?, delivery(row)?)),
        )
        .await?;
    let Some(oldest) = rows.iter().map(|(seq, _)| *seq).min() else {
        return Ok(Vec::new());
    };
    let attempts = tx
        .all(ATTEMPTS_OF, &[webhook.into(), oldest.into()], |row| {
            Ok((id::<DeliveryId>(row, "delivery_id")?, attempt(row)?))
        })
        .await?;
    let mut by_delivery: HashMap<DeliveryId, Vec<Attempt>> = HashMap::new();
    for (delivery, attempt) in attempts {
        by_delivery.entry(delivery).or_default().push(attempt);
    }
    Ok(rows
        .into_iter()
        .map(|(_, mut d)| {
            d.attempts = by_delivery.remove(&d.id).unwrap_or_default();
            d
        })
        .collect())
}

/// Claims up to `limit` deliveries for `lease` (see
/// [`Store::claim_webhook_deliveries`](switchboard_core::ports::Store)).
pub(crate) async fn claim_deliveries<T: Statements>(
    tx: &mut T,
    lease: Duration,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let due = tx
        .all(
            T::SQL.deliveries_due,
            &[Value::Clock, i64::from(limit).into()],
            |row| id::<DeliveryId>(row, "id"),
        )
        .await?;
    let lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let mut claimed = Vec::with_capacity(due.len());
    for delivery in due {
        let params = [
            Value::Clock,
            lease.into(),
            Uuid::now_v7().into(),
            delivery.into(),
        ];
        let won = tx
            .one(T::SQL.delivery_claim, &params, |row| {
                id::<DeliveryId>(row, "id")
            })
            .await?;
        if won.is_some()
            && let Some(full) = tx.one(CLAIMED, &[delivery.into()], claimed_row).await?
        {
            claimed.push(full);
        }
    }
    Ok(claimed)
}

/// Records a try and what follows it, in the caller's transaction; nothing
/// when the claim is no longer held.
pub(crate) async fn attempted<T: Statements>(
    tx: &mut T,
    delivery: &ClaimedDelivery,
    attempt: &Attempt,
    next: AttemptNext,
) -> Result<(), StoreError> {
    let params = [
        delivery.id.into(),
        i64::from(delivery.attempts).into(),
        Value::Time(attempt.at),
        attempt.http_status.map(i64::from).into(),
        attempt.error.as_deref().into(),
        i64::try_from(attempt.duration_ms)
            .unwrap_or(i64::MAX)
            .into(),
        delivery.claim.into(),
    ];
    tx.execute(ATTEMPT_INSERT, &params).await?;
    match next {
        AttemptNext::Delivered | AttemptNext::Failed => {
            let state = match next {
                AttemptNext::Delivered => DeliveryState::Delivered,
                _ => DeliveryState::Failed,
            };
            let params = [
                Value::Clock,
                delivery.id.into(),
                delivery.claim.into(),
                state.as_str().into(),
            ];
            tx.execute(T::SQL.delivery_finish, &params).await?;
        }
        AttemptNext::RetryIn(wait) => {
            let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
            let params = [
                Value::Clock,
                wait.into(),
                delivery.id.into(),
                delivery.claim.into(),
            ];
            tx.execute(T::SQL.delivery_retry, &params).await?;
        }
    }
    Ok(())
}

fn webhook(row: &dyn Columns) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        url: row.text("url")?,
        events: WebhookEvents::from_text(&row.text("events")?),
        include_bodies: row.flag("include_bodies")?,
        active: row.flag("active")?,
        created_by: row.opt_uuid("created_by")?.map(Into::into),
        created_at: row.time("created_at")?,
    })
}

fn event(row: &dyn Columns) -> Result<WebhookEvent, StoreError> {
    let text = row.text("event")?;
    WebhookEvent::parse(&text)
        .ok_or_else(|| StoreError::Internal(format!("unknown webhook event {text:?}")))
}

fn delivery(row: &dyn Columns) -> Result<Delivery, StoreError> {
    let state = row.text("state")?;
    Ok(Delivery {
        id: id(row, "id")?,
        event: event(row)?,
        conversation_id: id(row, "conversation_id")?,
        message_id: row.opt_uuid("message_id")?.map(Into::into),
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::Internal(format!("unknown delivery state {state:?}")))?,
        created_at: row.time("created_at")?,
        finished_at: row.opt_time("finished_at")?,
        attempts: Vec::new(),
    })
}

fn attempt(row: &dyn Columns) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        at: row.time("at")?,
        http_status: row
            .opt_int("http_status")?
            .and_then(|s| u16::try_from(s).ok()),
        error: row.opt_text("error")?,
        duration_ms: unsigned(row.int("duration_ms")?, "attempt duration")?,
    })
}

fn claimed_row(row: &dyn Columns) -> Result<ClaimedDelivery, StoreError> {
    let attempts = unsigned(row.int("attempts")?, "delivery attempts")?;
    let message = match row.opt_uuid("message_id")? {
        None => None,
        Some(message) => Some(MessageData {
            id: message.into(),
            seq: row.int("message_seq")?,
            direction: row.text("direction")?,
            author_id: row.opt_uuid("author_id")?.map(Into::into),
            body: row.text("body")?,
            created_at: row.time("message_created_at")?,
        }),
    };
    Ok(ClaimedDelivery {
        id: id(row, "id")?,
        claim: row.uuid("claim")?,
        webhook_id: id(row, "webhook_id")?,
        account_id: id(row, "account_id")?,
        url: row.text("url")?,
        secret_sealed: row.text("secret_sealed")?,
        include_bodies: row.flag("include_bodies")?,
        created_by: row.opt_uuid("created_by")?.map(Into::into),
        event: event(row)?,
        created_at: row.time("created_at")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        conversation: ConversationData {
            id: id(row, "conversation_id")?,
            inbox_id: id(row, "inbox_id")?,
            status: row.text("status_then")?,
            assignee_id: row.opt_uuid("assignee_then")?.map(Into::into),
            contact_id: row.uuid("contact_id")?,
            contact_handle: row.text("contact_handle")?,
            contact_name: row.opt_text("contact_name")?,
            created_at: row.time("conversation_created_at")?,
        },
        message,
    })
}
