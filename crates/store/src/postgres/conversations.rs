//! Conversations and their messages on Postgres: inbound messages, the inbox
//! list, message history.

use sqlx::{Executor, Postgres};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ContactId, ConversationId, MessageId};
use switchboard_core::model::{
    Conversation, ConversationFilter, ConversationStatus, Direction, Inbound, Message, NewInbound,
    Routed,
};

use super::PgStore;
use super::arrivals::NewArrival;
use super::routing::PgTx;
use crate::error::from_sqlx;
use crate::routing::{RoutingTx, ops};
use crate::rows::{self, Columns, signed, unsigned};

/// The conversation columns `rows::conversation` reads; the holder's lease
/// is judged on the database clock. The queue position is the
/// conversation's rank among its account's queue keys.
macro_rules! conversation_select {
    () => {
        "SELECT c.id, c.account_id, c.inbox_id, c.status, c.last_seq, c.last_message_at, \
                c.assignee_id, a.name AS assignee_name, \
                c.lock_holder, h.name AS holder_name, \
                COALESCE(c.lock_holder IS NOT NULL AND c.lock_until > now(), false) AS lock_valid, \
                CASE WHEN c.queue_key IS NULL THEN NULL ELSE \
                    (SELECT count(*) FROM conversations q \
                      WHERE q.account_id = c.account_id AND q.queue_key IS NOT NULL \
                        AND q.queue_key <= c.queue_key) END AS queue_position, \
                k.id AS contact_id, k.handle AS contact_handle, k.name AS contact_name \
         FROM conversations c \
         JOIN contacts k ON k.id = c.contact_id \
         LEFT JOIN users a ON a.id = c.assignee_id \
         LEFT JOIN users h ON h.id = c.lock_holder "
    };
}

/// The message columns `rows::message` reads.
macro_rules! message_select {
    () => {
        "SELECT m.id, m.conversation_id, m.seq, m.direction, m.author_id, \
                u.name AS author_name, m.body, m.created_at \
         FROM messages m LEFT JOIN users u ON u.id = m.author_id "
    };
}

/// What a customer's message found.
enum Found {
    /// Their open conversation, the message stored in it.
    Open(Box<Inbound>),
    /// No conversation of theirs in this inbox yet (the inbox's account).
    Nothing(AccountId),
    /// A resolved conversation.
    Other,
}

impl PgStore {
    /// A customer's message. To an open conversation: one statement, no
    /// routing lock (it only bumps the row). A new customer: created and
    /// routed with the others arriving at the same moment (`arrivals`).
    /// Anything else, or an arrival its batch did not record: alone.
    pub(super) async fn record_inbound_tx(
        &self,
        new: NewInbound<'_>,
    ) -> Result<Inbound, StoreError> {
        match self.append_if_open(new).await? {
            Found::Open(inbound) => return Ok(*inbound),
            Found::Nothing(account) => {
                let arrival = NewArrival {
                    inbox: new.inbox_id,
                    handle: new.handle.to_owned(),
                    contact_name: new.contact_name.map(str::to_owned),
                    body: new.body.to_owned(),
                };
                if let Some(inbound) = self.arrive(account, arrival).await {
                    return Ok(inbound);
                }
            }
            Found::Other => {}
        }
        self.record_inbound_alone(new).await
    }

    /// Stores the message in the customer's open conversation, in one
    /// statement (contact renamed when the channel gives a name, seq
    /// bumped, message inserted), or says what there is instead.
    /// [`StoreError::NotFound`] when there is no such inbox.
    async fn append_if_open(&self, new: NewInbound<'_>) -> Result<Found, StoreError> {
        let message_id = MessageId::new();
        let row = sqlx::query(
            // each lookup by a scalar subquery: a unique index with both
            // keys known, whatever plan the prepared statement settles on
            "WITH inbox AS (SELECT account_id FROM inboxes WHERE id = $1), \
             known AS ( \
                 SELECT id, handle, name FROM contacts \
                 WHERE account_id = (SELECT account_id FROM inbox) AND handle = $2), \
             bumped AS ( \
                 UPDATE conversations c \
                 SET last_seq = c.last_seq + 1, \
                     last_message_at = date_trunc('milliseconds', now()) \
                 WHERE c.inbox_id = $1 AND c.contact_id = (SELECT id FROM known) \
                   AND c.status = 'open' \
                 RETURNING c.id, c.account_id, c.inbox_id, c.status, c.last_seq, \
                           c.last_message_at, c.assignee_id, c.lock_holder, c.lock_until, \
                           c.queue_key), \
             renamed AS ( \
                 UPDATE contacts SET name = $3 \
                 WHERE id = (SELECT id FROM known) AND $3::text IS NOT NULL \
                   AND EXISTS (SELECT 1 FROM bumped)), \
             stored AS ( \
                 INSERT INTO messages (conversation_id, seq, id, direction, body, created_at) \
                 SELECT id, last_seq, $4, 'inbound', $5, last_message_at FROM bumped) \
             SELECT i.account_id AS inbox_account, \
                    EXISTS (SELECT 1 FROM conversations x \
                             WHERE x.inbox_id = $1 AND x.contact_id = (SELECT id FROM known)) \
                        AS existing, \
                    b.id, b.account_id, b.inbox_id, b.status, b.last_seq, b.last_message_at, \
                    b.assignee_id, a.name AS assignee_name, \
                    b.lock_holder, h.name AS holder_name, \
                    COALESCE(b.lock_holder IS NOT NULL AND b.lock_until > now(), false) \
                        AS lock_valid, \
                    CASE WHEN b.queue_key IS NULL THEN NULL ELSE \
                        (SELECT count(*) FROM conversations q \
                          WHERE q.account_id = b.account_id AND q.queue_key IS NOT NULL \
                            AND q.queue_key <= b.queue_key) END AS queue_position, \
                    k.id AS contact_id, k.handle AS contact_handle, \
                    COALESCE($3, k.name) AS contact_name \
             FROM inbox i \
             LEFT JOIN bumped b ON true \
             LEFT JOIN known k ON true \
             LEFT JOIN users a ON a.id = b.assignee_id \
             LEFT JOIN users h ON h.id = b.lock_holder",
        )
        .bind(new.inbox_id.as_uuid())
        .bind(new.handle)
        .bind(new.contact_name)
        .bind(message_id.as_uuid())
        .bind(new.body)
        .fetch_optional(&self.pool)
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
            created_at: conversation.last_message_at.ok_or_else(|| {
                StoreError::Internal("a bumped conversation without a time".into())
            })?,
        };
        Ok(Found::Open(Box::new(Inbound {
            conversation,
            message,
            created: false,
            routed: Routed::default(),
        })))
    }

    /// The whole of a customer's message in a transaction of its own. A
    /// new conversation (inserted first: nobody else sees it before the
    /// commit) and a resolved one the customer writes to are routed under
    /// the account's lock. For the resolved one the lock comes before the
    /// conversation's row lock, in the order every routing operation takes
    /// them, so a person reopening it at the same moment cannot deadlock
    /// with the customer.
    async fn record_inbound_alone(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        let mut tx = self.begin().await?;

        let account_id: uuid::Uuid =
            sqlx::query_scalar("SELECT account_id FROM inboxes WHERE id = $1")
                .bind(new.inbox_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?
                .ok_or(StoreError::NotFound)?;

        // a name given by the channel wins over the one stored before
        let contact_id: uuid::Uuid = sqlx::query_scalar(
            "INSERT INTO contacts (id, account_id, handle, name) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, handle) \
             DO UPDATE SET name = COALESCE(EXCLUDED.name, contacts.name) \
             RETURNING id",
        )
        .bind(ContactId::new().as_uuid())
        .bind(account_id)
        .bind(new.handle)
        .bind(new.contact_name)
        .fetch_one(&mut *tx)
        .await
        .map_err(from_sqlx)?;

        let created = sqlx::query(
            "INSERT INTO conversations (id, account_id, inbox_id, contact_id) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (inbox_id, contact_id) DO NOTHING",
        )
        .bind(ConversationId::new().as_uuid())
        .bind(account_id)
        .bind(new.inbox_id.as_uuid())
        .bind(contact_id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?
        .rows_affected()
            == 1;

        // the row lock taken here orders this seq against outbound appends
        let bump = |only_open: bool| {
            sqlx::query_as::<_, (uuid::Uuid, i64, chrono::DateTime<chrono::Utc>, String)>(
                if only_open {
                    "UPDATE conversations \
                     SET last_seq = last_seq + 1, \
                         last_message_at = date_trunc('milliseconds', now()) \
                     WHERE inbox_id = $1 AND contact_id = $2 AND status = 'open' \
                     RETURNING id, last_seq, last_message_at, status"
                } else {
                    "UPDATE conversations \
                     SET last_seq = last_seq + 1, \
                         last_message_at = date_trunc('milliseconds', now()) \
                     WHERE inbox_id = $1 AND contact_id = $2 \
                     RETURNING id, last_seq, last_message_at, status"
                },
            )
            .bind(new.inbox_id.as_uuid())
            .bind(contact_id)
        };
        let bumped = bump(true)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let (conversation_id, seq, at, status) = match bumped {
            Some(bumped) => bumped,
            None => {
                // resolved: the customer writing again opens it
                PgTx(&mut tx).lock(account_id.into()).await?;
                bump(false).fetch_one(&mut *tx).await.map_err(from_sqlx)?
            }
        };

        let message = Message {
            id: MessageId::new(),
            conversation_id: conversation_id.into(),
            seq: unsigned(seq, "seq")?,
            direction: Direction::Inbound,
            author: None,
            body: new.body.to_owned(),
            created_at: at,
        };
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, id, direction, body, created_at) \
             VALUES ($1, $2, $3, 'inbound', $4, $5)",
        )
        .bind(conversation_id)
        .bind(seq)
        .bind(message.id.as_uuid())
        .bind(new.body)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;

        let routed = if created || status == ConversationStatus::Resolved.as_str() {
            ops::arrive(
                &mut PgTx(&mut tx),
                account_id.into(),
                message.conversation_id,
            )
            .await?
        } else {
            Routed::default()
        };
        let conversation = match routed.conversation(message.conversation_id) {
            Some(routed) => routed.clone(),
            None => fetch_conversation(&mut *tx, message.conversation_id)
                .await?
                .ok_or_else(|| {
                    StoreError::Internal("conversation vanished during insert".into())
                })?,
        };
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Inbound {
            conversation,
            message,
            created,
            routed,
        })
    }

    pub(super) async fn conversation_by_id(
        &self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        fetch_conversation(&self.pool, id).await
    }

    pub(super) async fn list_conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        sqlx::query(concat!(
            conversation_select!(),
            "WHERE c.account_id = $1 AND ($2::uuid IS NULL OR c.assignee_id = $2) \
             ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC \
             LIMIT $3"
        ))
        .bind(filter.account_id.as_uuid())
        .bind(filter.assignee.map(|u| u.as_uuid()))
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::conversation)
        .collect()
    }

    pub(super) async fn list_messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let Some(after_seq) = signed(after_seq) else {
            return Ok(Vec::new());
        };
        sqlx::query(concat!(
            message_select!(),
            "WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3"
        ))
        .bind(conversation.as_uuid())
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::message)
        .collect()
    }

    pub(super) async fn list_recent_messages(
        &self,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let mut messages = sqlx::query(concat!(
            message_select!(),
            "WHERE m.conversation_id = $1 ORDER BY m.seq DESC LIMIT $2"
        ))
        .bind(conversation.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::message)
        .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }
}

pub(super) async fn fetch_conversation<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    id: ConversationId,
) -> Result<Option<Conversation>, StoreError> {
    sqlx::query(concat!(conversation_select!(), "WHERE c.id = $1"))
        .bind(id.as_uuid())
        .fetch_optional(executor)
        .await
        .map_err(from_sqlx)?
        .map(|row| rows::conversation(&row))
        .transpose()
}

/// These conversations, in any order.
pub(super) async fn conversations_in<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    ids: &[ConversationId],
) -> Result<Vec<Conversation>, StoreError> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(ConversationId::as_uuid).collect();
    sqlx::query(concat!(conversation_select!(), "WHERE c.id = ANY($1)"))
        .bind(ids)
        .fetch_all(executor)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::conversation)
        .collect()
}

/// The message stored before under `client_msg_id`, if any.
pub(super) async fn message_by_client_id<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    conversation: ConversationId,
    client_msg_id: &str,
) -> Result<Option<Message>, StoreError> {
    sqlx::query(concat!(
        message_select!(),
        "WHERE m.conversation_id = $1 AND m.client_msg_id = $2"
    ))
    .bind(conversation.as_uuid())
    .bind(client_msg_id)
    .fetch_optional(executor)
    .await
    .map_err(from_sqlx)?
    .map(|row| rows::message(&row))
    .transpose()
}

/// Whether the conversation exists (to tell `Fenced` from `NotFound`).
pub(super) async fn conversation_exists<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    id: ConversationId,
) -> Result<bool, StoreError> {
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM conversations WHERE id = $1")
        .bind(id.as_uuid())
        .fetch_optional(executor)
        .await
        .map(|row| row.is_some())
        .map_err(from_sqlx)
}
