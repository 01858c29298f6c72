//! Conversations and their messages on SQLite: inbound messages (written by
//! the writer thread), the inbox list, message history (read on the pool).

use rusqlite::{Connection, OptionalExtension, named_params, params};
use sqlx::{Executor, Sqlite};
use switchboard_core::StoreError;
use switchboard_core::ids::{ContactId, ConversationId, InboxId, MessageId};
use switchboard_core::model::{
    Conversation, ConversationFilter, ConversationStatus, Direction, Inbound, Message, NewInbound,
    Routed,
};
use uuid::Uuid;

use super::routing::SqliteTx;
use super::{SqliteStore, now_millis};
use crate::error::{from_rusqlite, from_sqlx};
use crate::routing::{ops, ready};
use crate::rows::{self, millis_to_time, signed, unsigned};

/// The conversation columns `rows::conversation` reads; `$1` is the current
/// time, against which the holder's lease is judged. The queue position is
/// the conversation's rank among its account's queue keys.
macro_rules! conversation_select {
    () => {
        "SELECT c.id, c.account_id, c.inbox_id, c.status, c.last_seq, c.last_message_at, \
                c.assignee_id, a.name AS assignee_name, \
                c.lock_holder, h.name AS holder_name, \
                COALESCE(c.lock_holder IS NOT NULL AND c.lock_until > $1, 0) AS lock_valid, \
                CASE WHEN c.queue_key IS NULL THEN NULL ELSE \
                    (SELECT COUNT(*) FROM conversations q \
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

impl SqliteStore {
    pub(super) async fn insert_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        let inbox_id = new.inbox_id;
        let handle = new.handle.to_owned();
        let contact_name = new.contact_name.map(str::to_owned);
        let body = new.body.to_owned();
        self.writer
            .run(move |conn| record_inbound(conn, inbox_id, &handle, contact_name.as_deref(), body))
            .await
    }

    pub(super) async fn conversation_by_id(
        &self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        fetch_conversation(&self.read, id).await
    }

    pub(super) async fn list_conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        sqlx::query(concat!(
            conversation_select!(),
            "WHERE c.account_id = $2 AND ($3 IS NULL OR c.assignee_id = $3) \
             ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC \
             LIMIT $4"
        ))
        .bind(now_millis())
        .bind(filter.account_id.as_uuid())
        .bind(filter.assignee.map(|u| u.as_uuid()))
        .bind(i64::from(filter.limit))
        .fetch_all(&self.read)
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
        .fetch_all(&self.read)
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
        .fetch_all(&self.read)
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
    executor: impl Executor<'e, Database = Sqlite>,
    id: ConversationId,
) -> Result<Option<Conversation>, StoreError> {
    sqlx::query(concat!(conversation_select!(), "WHERE c.id = $2"))
        .bind(now_millis())
        .bind(id.as_uuid())
        .fetch_optional(executor)
        .await
        .map_err(from_sqlx)?
        .map(|row| rows::conversation(&row))
        .transpose()
}

/// A customer's message: the contact (created, or renamed when the channel
/// gives a name), the conversation (created, or reopened), the next seq; a
/// new or reopened conversation is routed in the same transaction.
fn record_inbound(
    conn: &Connection,
    inbox_id: InboxId,
    handle: &str,
    contact_name: Option<&str>,
    body: String,
) -> Result<Inbound, StoreError> {
    let now = now_millis();
    let account_id: Uuid = conn
        .prepare_cached("SELECT account_id FROM inboxes WHERE id = ?1")
        .and_then(|mut select| select.query_row([inbox_id.as_uuid()], |row| row.get(0)))
        .optional()
        .map_err(from_rusqlite)?
        .ok_or(StoreError::NotFound)?;

    // a name given by the channel wins over the one stored before
    let contact_id: Uuid = conn
        .prepare_cached(
            "INSERT INTO contacts (id, account_id, handle, name, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (account_id, handle) \
             DO UPDATE SET name = COALESCE(excluded.name, contacts.name) \
             RETURNING id",
        )
        .and_then(|mut upsert| {
            upsert.query_row(
                params![
                    ContactId::new().as_uuid(),
                    account_id,
                    handle,
                    contact_name,
                    now
                ],
                |row| row.get(0),
            )
        })
        .map_err(from_rusqlite)?;

    let created = conn
        .prepare_cached(
            "INSERT INTO conversations (id, account_id, inbox_id, contact_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (inbox_id, contact_id) DO NOTHING",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                ConversationId::new().as_uuid(),
                account_id,
                inbox_id.as_uuid(),
                contact_id,
                now
            ])
        })
        .map_err(from_rusqlite)?
        == 1;

    // the customer writing again opens a resolved conversation (routing
    // does, below)
    let (conversation_id, seq, status): (Uuid, i64, String) = conn
        .prepare_cached(
            "UPDATE conversations \
             SET last_seq = last_seq + 1, last_message_at = ?3 \
             WHERE inbox_id = ?1 AND contact_id = ?2 \
             RETURNING id, last_seq, status",
        )
        .and_then(|mut update| {
            update.query_row(params![inbox_id.as_uuid(), contact_id, now], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
        })
        .map_err(from_rusqlite)?;

    let message = Message {
        id: MessageId::new(),
        conversation_id: conversation_id.into(),
        seq: unsigned(seq, "seq")?,
        direction: Direction::Inbound,
        author: None,
        body,
        created_at: millis_to_time(now)?,
    };
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, id, direction, body, created_at) \
         VALUES (?1, ?2, ?3, 'inbound', ?4, ?5)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            conversation_id,
            seq,
            message.id.as_uuid(),
            message.body,
            now
        ])
    })
    .map_err(from_rusqlite)?;

    let routed = if created || status == ConversationStatus::Resolved.as_str() {
        ready(ops::arrive(
            &mut SqliteTx(conn),
            account_id.into(),
            message.conversation_id,
        ))??
    } else {
        Routed::default()
    };
    let conversation = match routed.conversation(message.conversation_id) {
        Some(routed) => routed.clone(),
        None => conversation_in(conn, message.conversation_id)?
            .ok_or_else(|| StoreError::Internal("conversation vanished during insert".into()))?,
    };
    Ok(Inbound {
        conversation,
        message,
        created,
        routed,
    })
}

/// [`fetch_conversation`] inside the writer's transaction.
pub(super) fn conversation_in(
    conn: &Connection,
    id: ConversationId,
) -> Result<Option<Conversation>, StoreError> {
    let mut select = conn
        .prepare_cached(concat!(conversation_select!(), "WHERE c.id = $2"))
        .map_err(from_rusqlite)?;
    let mut found = select
        .query(named_params! { "$1": now_millis(), "$2": id.as_uuid() })
        .map_err(from_rusqlite)?;
    match found.next().map_err(from_rusqlite)? {
        Some(row) => rows::conversation(row).map(Some),
        None => Ok(None),
    }
}

/// The message stored before under `client_msg_id`, if any (inside the
/// writer's transaction).
pub(super) fn message_by_client_id(
    conn: &Connection,
    conversation: ConversationId,
    client_msg_id: &str,
) -> Result<Option<Message>, StoreError> {
    let mut select = conn
        .prepare_cached(concat!(
            message_select!(),
            "WHERE m.conversation_id = $1 AND m.client_msg_id = $2"
        ))
        .map_err(from_rusqlite)?;
    let mut found = select
        .query(named_params! { "$1": conversation.as_uuid(), "$2": client_msg_id })
        .map_err(from_rusqlite)?;
    match found.next().map_err(from_rusqlite)? {
        Some(row) => rows::message(row).map(Some),
        None => Ok(None),
    }
}

/// Whether the conversation exists (to tell `Fenced` from `NotFound`).
pub(super) fn conversation_exists(
    conn: &Connection,
    id: ConversationId,
) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM conversations WHERE id = ?1")
        .and_then(|mut select| select.exists([id.as_uuid()]))
        .map_err(from_rusqlite)
}
