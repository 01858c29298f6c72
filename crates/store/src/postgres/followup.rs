//! A customer's follow-up on Postgres: a message to their open
//! conversation is one statement (contact renamed when the channel gives a
//! name, seq bumped, message inserted), with no routing lock (it only bumps
//! the row). What it finds instead tells the caller which slower path to
//! take: a new customer (`arrivals`) or a resolved conversation
//! (`crate::inbound`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, MessageId};
use switchboard_core::model::{Direction, Inbound, Message, NewInbound, Routed};

use crate::error::from_sqlx;
use crate::rows::{self, Columns};
use crate::sql;

/// What a customer's message found.
pub(super) enum Found {
    /// Their open conversation, the message stored in it.
    Open(Box<Inbound>),
    /// No conversation of theirs in this inbox yet (the inbox's account).
    Nothing(AccountId),
    /// A resolved conversation.
    Other,
}

/// Stores the message in the customer's open conversation, or says what
/// there is instead. `clock` is bound as `$1` (see `tx`).
/// [`StoreError::NotFound`] when there is no such inbox.
pub(super) async fn append_if_open(
    pool: &PgPool,
    clock: Option<DateTime<Utc>>,
    new: &NewInbound<'_>,
) -> Result<Found, StoreError> {
    let message_id = MessageId::new();
    // each lookup by a scalar subquery: a unique index with both keys
    // known, whatever plan the prepared statement settles on
    let row = sqlx::query(concat!(
        "WITH inbox AS (SELECT account_id FROM inboxes WHERE id = $2), \
         known AS ( \
             SELECT id, handle, name FROM contacts \
             WHERE account_id = (SELECT account_id FROM inbox) AND handle = $3), \
         bumped AS ( \
             UPDATE conversations c \
             SET last_seq = c.last_seq + 1, \
                 last_message_at = ",
        sql::stamp!(postgres),
        " WHERE c.inbox_id = $2 AND c.contact_id = (SELECT id FROM known) \
               AND c.status = 'open' \
             RETURNING c.id, c.account_id, c.inbox_id, c.status, c.last_seq, \
                       c.last_message_at, c.assignee_id, c.lock_holder, c.lock_until, \
                       c.lock_epoch, c.queue_key), \
         renamed AS ( \
             UPDATE contacts SET name = $4 \
             WHERE id = (SELECT id FROM known) AND $4::text IS NOT NULL \
               AND EXISTS (SELECT 1 FROM bumped)), \
         stored AS ( \
             INSERT INTO messages (conversation_id, seq, id, direction, body, created_at) \
             SELECT id, last_seq, $5, 'inbound', $6, last_message_at FROM bumped) \
         SELECT i.account_id AS inbox_account, \
                EXISTS (SELECT 1 FROM conversations x \
                         WHERE x.inbox_id = $2 AND x.contact_id = (SELECT id FROM known)) \
                    AS existing, \
                b.id, b.account_id, b.inbox_id, b.status, b.last_seq, b.last_message_at, \
                b.assignee_id, a.name AS assignee_name, \
                b.lock_holder, h.name AS holder_name, b.lock_epoch, \
                COALESCE(b.lock_holder IS NOT NULL AND b.lock_until > ",
        sql::now!(postgres),
        ", false) AS lock_valid, \
                CASE WHEN b.queue_key IS NULL THEN NULL ELSE \
                    (SELECT count(*) FROM conversations q \
                      WHERE q.account_id = b.account_id AND q.queue_key IS NOT NULL \
                        AND q.queue_key <= b.queue_key) END AS queue_position, \
                k.id AS contact_id, k.handle AS contact_handle, \
                COALESCE($4, k.name) AS contact_name \
         FROM inbox i \
         LEFT JOIN bumped b ON true \
         LEFT JOIN known k ON true \
         LEFT JOIN users a ON a.id = b.assignee_id \
         LEFT JOIN users h ON h.id = b.lock_holder"
    ))
    .bind(clock)
    .bind(new.inbox_id.as_uuid())
    .bind(new.handle)
    .bind(new.contact_name)
    .bind(message_id.as_uuid())
    .bind(new.body)
    .fetch_optional(pool)
    .await
    .map_err(from_sqlx)?
    .ok_or(StoreError::NotFound)?;
    if row.opt_uuid("id")?.is_none() {
        return Ok(if row.flag("existing")? {
            Found::Other
        } else {
            Found::Nothing(row.uuid("inbox_account")?.into())
        });
    }
    let conversation = rows::conversation(&row)?;
    let message = Message {
        id: message_id,
        conversation_id: conversation.id,
        seq: conversation.last_seq,
        direction: Direction::Inbound,
        author: None,
        body: new.body.to_owned(),
        created_at: conversation
            .last_message_at
            .ok_or_else(|| StoreError::Internal("a bumped conversation without a time".into()))?,
    };
    Ok(Found::Open(Box::new(Inbound {
        conversation,
        message,
        created: false,
        routed: Routed::default(),
    })))
}
