//! Outbound messages on SQLite: the fenced write of invariant 1.
//!
//! Every append is one statement, run by the writer thread (so it commits in
//! a group with whatever else is queued): an atomic INSERT ... SELECT that
//! checks the fence on holder, epoch and lease, takes the next seq and
//! inserts; the trigger of migration 0002 bumps the conversation. A refused
//! write inserts nothing and so consumes no seq. Why it was refused is told
//! in the same transaction: an acknowledged message with this client_msg_id
//! is returned even if the role has moved on since; otherwise the fence
//! refused it, or there is no such conversation.

use rusqlite::{Connection, OptionalExtension, params};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, MessageId, UserId};
use switchboard_core::model::{Appended, Direction, Message, NewOutbound, UserRef};

use super::conversations::{conversation_exists, message_by_client_id};
use super::{SqliteStore, now_millis};
use crate::error::from_rusqlite;
use crate::rows::{millis_to_time, signed, unsigned};

const INSERT: &str = "INSERT INTO messages \
     (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
     SELECT id, last_seq + 1, ?3, 'outbound', ?2, ?5, ?6, ?7 FROM conversations \
     WHERE id = ?1 AND lock_holder = ?2 AND lock_epoch = ?4 AND lock_until > ?7 \
     ON CONFLICT DO NOTHING \
     RETURNING seq, (SELECT name FROM users WHERE id = author_id)";

/// An append, owned so that it can travel to the writer thread.
struct Outbound {
    conversation_id: ConversationId,
    author: UserId,
    epoch: u64,
    client_msg_id: String,
    body: String,
}

impl SqliteStore {
    pub(super) async fn append(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let outbound = Outbound {
            conversation_id: new.conversation_id,
            author: new.author,
            epoch: new.epoch,
            client_msg_id: new.client_msg_id.to_owned(),
            body: new.body.to_owned(),
        };
        self.writer.run(move |conn| append(conn, outbound)).await
    }
}

fn append(conn: &Connection, outbound: Outbound) -> Result<Appended, StoreError> {
    // an epoch past i64::MAX was never granted: refused like any stale one
    let Some(epoch) = signed(outbound.epoch) else {
        return refusal(conn, &outbound);
    };
    let now = now_millis();
    let id = MessageId::new();
    let stored: Option<(i64, Option<String>)> = conn
        .prepare_cached(INSERT)
        .and_then(|mut insert| {
            insert
                .query_row(
                    params![
                        outbound.conversation_id.as_uuid(),
                        outbound.author.as_uuid(),
                        id.as_uuid(),
                        epoch,
                        outbound.body,
                        outbound.client_msg_id,
                        now,
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
        })
        .map_err(from_rusqlite)?;
    let Some((seq, author_name)) = stored else {
        return refusal(conn, &outbound);
    };
    Ok(Appended::Stored(Message {
        id,
        conversation_id: outbound.conversation_id,
        seq: unsigned(seq, "seq")?,
        direction: Direction::Outbound,
        author: Some(UserRef {
            id: outbound.author,
            name: author_name.unwrap_or_default(),
        }),
        body: outbound.body,
        created_at: millis_to_time(now)?,
    }))
}

fn refusal(conn: &Connection, outbound: &Outbound) -> Result<Appended, StoreError> {
    if let Some(existing) =
        message_by_client_id(conn, outbound.conversation_id, &outbound.client_msg_id)?
    {
        return Ok(Appended::Duplicate(existing));
    }
    if conversation_exists(conn, outbound.conversation_id)? {
        Err(StoreError::Fenced)
    } else {
        Err(StoreError::NotFound)
    }
}
