//! The active role and the fenced write (invariant 1), written once for
//! both backends over [`Statements`] and, for the insert, [`FenceTx`].
//!
//! A grant is one conditional update that bumps the fencing epoch; an
//! outbound message is stored by one statement that checks, in the same
//! transaction as the seq bump and the insert, that its author holds the
//! role at that epoch with a valid lease. A refused write inserts nothing
//! and so consumes no seq. Why it was refused is decided here, once: an
//! acknowledged message with the same `client_msg_id` is the answer (even
//! if the role has moved on since: the client is retrying a write that
//! was stored); otherwise the fence refused it, or there is no such
//! conversation. Ending and renewing roles are here too.

use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, MessageId, NodeId, UserId};
use switchboard_core::model::{
    Acquired, Appended, Direction, LockState, Message, NewOutbound, UserRef,
};

use crate::rows::{self, Columns, signed, unsigned};
use crate::statement::{Statements, Value, id};
use crate::{lease_millis, sql};

/// How often `acquire_lock` asks again when the role was released between
/// its refused update and the read of who holds it (on Postgres they are
/// two statements; SQLite's writer runs both in one transaction).
const ACQUIRE_ATTEMPTS: usize = 8;

/// What the fenced insert returns: the seq it took, the time it recorded,
/// the author's name.
#[derive(Debug, Clone)]
struct Stored {
    seq: i64,
    at: DateTime<Utc>,
    author_name: Option<String>,
}

impl Stored {
    /// `RETURNING seq, created_at, ... AS author_name`.
    fn read(row: &dyn Columns) -> Result<Self, StoreError> {
        Ok(Self {
            seq: row.int("seq")?,
            at: row.time("created_at")?,
            author_name: row.opt_text("author_name")?,
        })
    }
}

/// The fenced insert, whose text each backend writes its own way (SQLite's
/// trigger bumps the seq, Postgres bumps it in a CTE); everything else of
/// the active role is this module's, over [`Statements`].
pub(crate) trait FenceTx: Statements {
    /// Stores message `$4` (author `$3`, body `$6`, `client_msg_id` `$7`)
    /// in conversation `$2` with its next seq at the clock `$1`, in one
    /// statement, only if `$3` holds the role at epoch `$5` with a valid
    /// lease and no message has that `client_msg_id`; returns what
    /// [`Stored`] reads, or nothing when refused.
    const FENCED_INSERT: &'static str;
}

/// Grants the role when nobody holds a valid lease, or to its holder
/// again, or by force, bumping the epoch; otherwise says who holds it.
pub(crate) async fn acquire_lock<T: Statements>(
    tx: &mut T,
    conversation: ConversationId,
    user: UserId,
    node: NodeId,
    force: bool,
    lease: Duration,
) -> Result<Acquired, StoreError> {
    let params = [
        Value::Clock,
        lease_millis(lease).into(),
        conversation.into(),
        user.into(),
        node.into(),
        force.into(),
    ];
    let grant = T::SQL.grant;
    #[cfg(feature = "mutations")]
    let grant = mutated_grant(grant);
    for _ in 0..ACQUIRE_ATTEMPTS {
        // the row lock serializes racing grants
        let granted = tx.one(grant, &params, |row| row.int("lock_epoch")).await?;
        if let Some(epoch) = granted {
            return Ok(Acquired::Granted {
                epoch: unsigned(epoch, "epoch")?,
            });
        }
        let state = lock_state(tx, conversation)
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

/// The grant as the mutation check "granting without bumping the epoch"
/// has it (`mutations::GRANT_KEEPS_EPOCH`), when that is on.
#[cfg(feature = "mutations")]
fn mutated_grant(grant: &'static str) -> &'static str {
    if !crate::mutations::on(&crate::mutations::GRANT_KEEPS_EPOCH) {
        return grant;
    }
    static KEPT: std::sync::Mutex<Vec<(&str, &str)>> = std::sync::Mutex::new(Vec::new());
    let mut kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, mutated)) = kept.iter().find(|(of, _)| *of == grant) {
        return mutated;
    }
    let mutated = grant.replace("lock_epoch = lock_epoch + 1", "lock_epoch = lock_epoch");
    assert_ne!(
        mutated, grant,
        "the grant statement bumps the epoch as expected"
    );
    // one statement per dialect, for the life of a test's process
    let mutated: &'static str = Box::leak(mutated.into_boxed_str());
    kept.push((grant, mutated));
    mutated
}

/// Who holds the role (`sql::Dialect::lock_state`); `None` when there is
/// no such conversation.
pub(crate) async fn lock_state<T: Statements>(
    tx: &mut T,
    conversation: ConversationId,
) -> Result<Option<LockState>, StoreError> {
    let params = [Value::Clock, conversation.into()];
    tx.one(T::SQL.lock_state, &params, rows::lock_state).await
}

/// The role of each of `conversations` that exists, in one statement.
pub(crate) async fn lock_states<T: Statements>(
    tx: &mut T,
    conversations: &[ConversationId],
) -> Result<Vec<(ConversationId, LockState)>, StoreError> {
    if conversations.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::reads::json_ids(conversations);
    let params = [Value::Clock, Value::Text(Some(&ids))];
    tx.all(T::SQL.lock_states, &params, |row| {
        Ok((id(row, "id")?, rows::lock_state(row)?))
    })
    .await
}

/// Stores an outbound message only if the fence lets it through; see the
/// module documentation for what a refusal answers.
pub(crate) async fn append_outbound<T: FenceTx>(
    tx: &mut T,
    new: NewOutbound<'_>,
) -> Result<Appended, StoreError> {
    let id = MessageId::new();
    // an epoch past i64::MAX was never granted: refused like any stale one
    let stored = match signed(new.epoch) {
        Some(epoch) => {
            let params = [
                Value::Clock,
                new.conversation_id.into(),
                new.author.into(),
                id.into(),
                epoch.into(),
                new.body.into(),
                new.client_msg_id.into(),
            ];
            match tx.one(T::FENCED_INSERT, &params, Stored::read).await {
                // a racing insert of the same client_msg_id won (the whole
                // statement rolled back, its seq with it): refused, and the
                // refusal below finds theirs
                Err(StoreError::Conflict(_)) => None,
                stored => stored?,
            }
        }
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
    let params = [new.conversation_id.into(), new.client_msg_id.into()];
    if let Some(existing) = tx
        .one(sql::MESSAGE_BY_CLIENT_ID, &params, rows::message)
        .await?
    {
        return Ok(Appended::Duplicate(existing));
    }
    let exists = tx
        .one(
            sql::CONVERSATION_EXISTS,
            &[new.conversation_id.into()],
            |_| Ok(()),
        )
        .await?;
    Err(match exists {
        Some(()) => StoreError::Fenced,
        None => StoreError::NotFound,
    })
}

/// Ends `user`'s role granted at `epoch`; whether it was theirs to end.
pub(crate) async fn release_lock<T: Statements>(
    tx: &mut T,
    conversation: ConversationId,
    user: UserId,
    epoch: u64,
) -> Result<bool, StoreError> {
    let Some(epoch) = signed(epoch) else {
        return Ok(false);
    };
    let params = [conversation.into(), user.into(), epoch.into()];
    Ok(tx.execute(sql::LOCK_RELEASE, &params).await? > 0)
}

/// Extends the valid leases granted through `node`; returns those roles.
pub(crate) async fn renew_locks<T: Statements>(
    tx: &mut T,
    node: NodeId,
    lease: Duration,
) -> Result<Vec<(ConversationId, u64)>, StoreError> {
    let params = [Value::Clock, lease_millis(lease).into(), node.into()];
    tx.all(T::SQL.renew, &params, |row| {
        Ok((id(row, "id")?, unsigned(row.int("lock_epoch")?, "epoch")?))
    })
    .await
}

/// Ends every role granted through `node` (it is gone); returns those
/// conversations.
pub(crate) async fn release_node_locks<T: Statements>(
    tx: &mut T,
    node: NodeId,
) -> Result<Vec<ConversationId>, StoreError> {
    tx.all(sql::NODE_LOCKS_RELEASE, &[node.into()], |row| id(row, "id"))
        .await
}

/// Ends every role granted through any node but `keep`; how many.
pub(crate) async fn release_locks_except<T: Statements>(
    tx: &mut T,
    keep: NodeId,
) -> Result<u64, StoreError> {
    tx.execute(sql::LOCKS_RELEASE_EXCEPT, &[keep.into()]).await
}
