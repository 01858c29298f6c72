//! The active role and the fenced write (invariant 1), written once for
//! both backends over [`FenceTx`].
//!
//! A grant is one conditional update that bumps the fencing epoch; an
//! outbound message is stored by one statement that checks, in the same
//! transaction as the seq bump and the insert, that its author holds the
//! role at that epoch with a valid lease. A refused write inserts nothing
//! and so consumes no seq. Why it was refused is decided here, once: an
//! acknowledged message with the same `client_msg_id` is the answer (even
//! if the role has moved on since: the client is retrying a write that
//! was stored); otherwise the fence refused it, or there is no such
//! conversation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, MessageId, NodeId, UserId};
use switchboard_core::model::{
    Acquired, Appended, Direction, LockState, Message, NewOutbound, UserRef,
};

use crate::lease_millis;
use crate::rows::{Columns, signed, unsigned};

/// How often `acquire_lock` asks again when the role was released between
/// its refused update and the read of who holds it (on Postgres they are
/// two statements; SQLite's writer runs both in one transaction).
const ACQUIRE_ATTEMPTS: usize = 8;

/// What the fenced insert returns: the seq it took, the time it recorded,
/// the author's name.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    seq: i64,
    at: DateTime<Utc>,
    author_name: Option<String>,
}

impl Stored {
    /// `RETURNING seq, created_at, ... AS author_name`.
    pub(crate) fn read(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(Self {
            seq: row.int("seq")?,
            at: row.time("created_at")?,
            author_name: row.opt_text("author_name")?,
        })
    }
}

/// The statements of the active role, inside the caller's transaction (or
/// on one connection, each its own).
#[allow(async_fn_in_trait)]
pub(crate) trait FenceTx {
    /// `sql::grant`: the new epoch, or `None` when another user holds a
    /// valid lease or there is no such conversation.
    async fn grant(
        &mut self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease_millis: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// `sql::lock_state`; `None` when there is no such conversation.
    async fn lock_state(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<LockState>, StoreError>;
    /// Stores `new` as message `id` with the conversation's next seq, in
    /// one statement, only if its author holds the role at `epoch` with a
    /// valid lease and no message has its `client_msg_id`; `None` when
    /// refused (a racing insert of the same `client_msg_id` included).
    async fn insert_fenced(
        &mut self,
        new: &NewOutbound<'_>,
        epoch: i64,
        id: MessageId,
    ) -> Result<Option<Stored>, StoreError>;
    async fn message_by_client_id(
        &mut self,
        conversation: ConversationId,
        client_msg_id: &str,
    ) -> Result<Option<Message>, StoreError>;
    async fn conversation_exists(
        &mut self,
        conversation: ConversationId,
    ) -> Result<bool, StoreError>;
}

/// Grants the role when nobody holds a valid lease, or to its holder
/// again, or by force, bumping the epoch; otherwise says who holds it.
pub(crate) async fn acquire_lock<T: FenceTx>(
    tx: &mut T,
    conversation: ConversationId,
    user: UserId,
    node: NodeId,
    force: bool,
    lease: Duration,
) -> Result<Acquired, StoreError> {
    let lease = lease_millis(lease);
    for _ in 0..ACQUIRE_ATTEMPTS {
        if let Some(epoch) = tx.grant(conversation, user, node, force, lease).await? {
            return Ok(Acquired::Granted {
                epoch: unsigned(epoch, "epoch")?,
            });
        }
        let state = tx
            .lock_state(conversation)
            .await?
            .ok_or(StoreError::NotFound)?;
        match state.holder {
            Some(holder) if holder.id != user => {
                return Ok(Acquired::Held {
                    holder,
                    epoch: state.epoch,
                });
            }
            // released or lapsed since the update looked: ask again
            _ => continue,
        }
    }
    Err(StoreError::Unavailable(
        "the active role changed hands too often to be granted".into(),
    ))
}

/// Stores an outbound message only if the fence lets it through; see the
/// module documentation for what a refusal answers.
pub(crate) async fn append_outbound<T: FenceTx>(
    tx: &mut T,
    new: &NewOutbound<'_>,
) -> Result<Appended, StoreError> {
    let id = MessageId::new();
    // an epoch past i64::MAX was never granted: refused like any stale one
    let stored = match signed(new.epoch) {
        Some(epoch) => tx.insert_fenced(new, epoch, id).await?,
        None => None,
    };
    if let Some(stored) = stored {
        return Ok(Appended::Stored(Message {
            id,
            conversation_id: new.conversation_id,
            seq: unsigned(stored.seq, "seq")?,
            direction: Direction::Outbound,
            author: Some(UserRef {
                id: new.author,
                name: stored.author_name.unwrap_or_default(),
            }),
            body: new.body.to_owned(),
            created_at: stored.at,
        }));
    }
    if let Some(existing) = tx
        .message_by_client_id(new.conversation_id, new.client_msg_id)
        .await?
    {
        return Ok(Appended::Duplicate(existing));
    }
    if tx.conversation_exists(new.conversation_id).await? {
        Err(StoreError::Fenced)
    } else {
        Err(StoreError::NotFound)
    }
}
