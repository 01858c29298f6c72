//! A customer's message in one transaction, written once for both backends
//! over [`InboundTx`]: the contact (created, or renamed when the channel
//! gives a name), the conversation (created, or reopened), the next seq,
//! the message; a new or reopened conversation is routed in the same
//! transaction (`routing::ops::arrive`).
//!
//! Postgres runs this for what its faster paths leave (a message to an
//! open conversation is one statement, new customers arriving together are
//! recorded in batches: `postgres::arrivals`); SQLite runs it for every
//! message, on its writer thread.

use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ContactId, ConversationId, InboxId, MessageId};
use switchboard_core::model::{
    ConversationStatus, Direction, Inbound, Message, NewInbound, Routed,
};

use crate::routing::{RoutingTx, ops};
use crate::rows::{Columns, unsigned};

/// A conversation whose seq was just taken (`sql::bump`).
#[derive(Debug, Clone)]
pub(crate) struct Bumped {
    pub(crate) id: ConversationId,
    pub(crate) seq: u64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) status: ConversationStatus,
}

impl Bumped {
    /// `RETURNING id, last_seq, last_message_at, status`.
    pub(crate) fn read(row: &impl Columns) -> Result<Self, StoreError> {
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

/// The statements of a customer's message, inside the caller's
/// transaction; routing's are there too.
#[allow(async_fn_in_trait)]
pub(crate) trait InboundTx: RoutingTx {
    /// `sql::contact_upsert`: the contact's id.
    async fn upsert_contact(
        &mut self,
        account: AccountId,
        handle: &str,
        name: Option<&str>,
    ) -> Result<ContactId, StoreError>;
    /// `sql::conversation_insert`: whether it created one.
    async fn insert_conversation(
        &mut self,
        account: AccountId,
        inbox: InboxId,
        contact: ContactId,
    ) -> Result<bool, StoreError>;
    /// `sql::bump` (only an open conversation when `only_open`).
    async fn bump(
        &mut self,
        inbox: InboxId,
        contact: ContactId,
        only_open: bool,
    ) -> Result<Option<Bumped>, StoreError>;
    /// `sql::INBOUND_INSERT`.
    async fn insert_inbound(&mut self, message: &Message) -> Result<(), StoreError>;
}

/// Records the message and routes a conversation it created or reopened.
/// [`StoreError::NotFound`] when there is no such inbox.
///
/// A new conversation is inserted first (nobody else sees it before the
/// commit). A resolved one is bumped only once the account's routing lock
/// is held: every routing operation takes that lock before the
/// conversation's row lock, so a person reopening it at the same moment
/// cannot deadlock with the customer.
pub(crate) async fn record_inbound<T: InboundTx>(
    tx: &mut T,
    new: &NewInbound<'_>,
) -> Result<Inbound, StoreError> {
    let account = tx
        .inbox_account(new.inbox_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let contact = tx
        .upsert_contact(account, new.handle, new.contact_name)
        .await?;
    let created = tx
        .insert_conversation(account, new.inbox_id, contact)
        .await?;
    let bumped = match tx.bump(new.inbox_id, contact, true).await? {
        Some(bumped) => bumped,
        None => {
            tx.lock(account).await?;
            tx.bump(new.inbox_id, contact, false)
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
    tx.insert_inbound(&message).await?;

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
