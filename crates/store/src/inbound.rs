//! A customer's message in one transaction, written once for both backends
//! over routing's [`RoutingTx`] (its statements are the crate's
//! `Statements`): the contact (created, or renamed when the channel gives
//! a name), the conversation (created, or reopened), the next seq, the
//! message; a new or reopened conversation is routed in the same
//! transaction (`routing::ops::arrive`).
//!
//! Postgres runs this for what its faster paths leave (a message to an
//! open conversation is one statement, new customers arriving together are
//! recorded in batches: `postgres::arrivals`); SQLite runs it for every
//! message, on its writer thread.

use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{ContactId, ConversationId, MessageId};
use switchboard_core::model::{
    ConversationStatus, Direction, Inbound, Message, NewInbound, Routed,
};

use crate::routing::{RoutingTx, ops};
use crate::rows::{Columns, signed, unsigned};
use crate::sql;
use crate::statement::{Value, id, inserted};

/// A conversation whose seq was just taken (`bump_open`, `bump_any` of
/// `sql::Dialect`).
#[derive(Debug, Clone)]
struct Bumped {
    id: ConversationId,
    seq: u64,
    at: DateTime<Utc>,
    status: ConversationStatus,
}

impl Bumped {
    /// `RETURNING id, last_seq, last_message_at, status`.
    fn read(row: &dyn Columns) -> Result<Self, StoreError> {
        let status = row.text("status")?;
        Ok(Self {
            id: row.uuid("id")?.into(),
            seq: unsigned(row.int("last_seq")?, "seq")?,
            at: row.time("last_message_at")?,
            status: ConversationStatus::parse(&status).ok_or_else(|| {
                StoreError::Internal(format!("unknown status in database: {status}"))
            })?,
        })
    }
}

/// Records the message and routes a conversation it created or reopened.
/// [`StoreError::NotFound`] when there is no such inbox.
///
/// A new conversation is inserted first (nobody else sees it before the
/// commit). A resolved one is bumped only once the account's routing lock
/// is held: every routing operation takes that lock before the
/// conversation's row lock, so a person reopening it at the same moment
/// cannot deadlock with the customer.
pub(crate) async fn record_inbound<T: RoutingTx>(
    tx: &mut T,
    new: NewInbound<'_>,
) -> Result<Inbound, StoreError> {
    let account = tx
        .inbox_account(new.inbox_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let params = [
        Value::Clock,
        ContactId::new().into(),
        account.into(),
        new.handle.into(),
        new.contact_name.into(),
    ];
    let contact: ContactId = inserted(
        tx.one(T::SQL.contact_upsert, &params, |row| id(row, "id"))
            .await?,
    )?;
    let params = [
        Value::Clock,
        ConversationId::new().into(),
        account.into(),
        new.inbox_id.into(),
        contact.into(),
    ];
    let created = tx.execute(T::SQL.conversation_insert, &params).await? == 1;
    let params = [Value::Clock, new.inbox_id.into(), contact.into()];
    let bumped = match tx.one(T::SQL.bump_open, &params, Bumped::read).await? {
        Some(bumped) => bumped,
        None => {
            tx.lock(account).await?;
            tx.one(T::SQL.bump_any, &params, Bumped::read)
                .await?
                .ok_or_else(|| StoreError::Internal("conversation vanished during insert".into()))?
        }
    };
    let message = Message {
        id: MessageId::new(),
        conversation_id: bumped.id,
        seq: bumped.seq,
        direction: Direction::Inbound,
        author: None,
        body: new.body.to_owned(),
        created_at: bumped.at,
    };
    let seq = signed(message.seq)
        .ok_or_else(|| StoreError::Internal(format!("seq out of range: {}", message.seq)))?;
    let params = [
        message.conversation_id.into(),
        seq.into(),
        message.id.into(),
        message.body.as_str().into(),
        Value::Time(message.created_at),
    ];
    tx.execute(sql::INBOUND_INSERT, &params).await?;

    let routed = if created || bumped.status == ConversationStatus::Resolved {
        ops::arrive(tx, account, bumped.id).await?
    } else {
        Routed::default()
    };
    let conversation =
        match routed.conversation(bumped.id) {
            Some(routed) => routed.clone(),
            None => tx.conversations(&[bumped.id]).await?.pop().ok_or_else(|| {
                StoreError::Internal("conversation vanished during insert".into())
            })?,
        };
    Ok(Inbound {
        conversation,
        message,
        created,
        routed,
    })
}
