//! The active role on SQLite, and the fenced write that depends on it
//! (invariant 1). Leases are judged on the process clock.

use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, MessageId, NodeId, UserId};
use switchboard_core::model::{
    Acquired, Appended, Direction, LockState, Message, NewOutbound, UserRef,
};
use uuid::Uuid;

use super::conversations::{conversation_exists, message_by_client_id};
use super::{SqliteStore, now_millis};
use crate::error::from_sqlx;
use crate::lease_millis;
use crate::rows::{self, millis_to_time, signed, unsigned};

/// The lock columns `rows::lock_state` reads; `$1` is the current time.
macro_rules! lock_select {
    () => {
        "SELECT c.lock_epoch, c.lock_holder, h.name AS holder_name, c.lock_node, \
                COALESCE(c.lock_holder IS NOT NULL AND c.lock_until > $1, 0) AS lock_valid \
         FROM conversations c LEFT JOIN users h ON h.id = c.lock_holder "
    };
}

impl SqliteStore {
    pub(super) async fn grant_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        let now = now_millis();
        let mut tx = self.begin().await?;
        // one conditional update decides; a re-grant to the holder bumps the
        // epoch too, so a write fenced by the previous grant is refused
        let granted: Option<i64> = sqlx::query_scalar(
            "UPDATE conversations \
             SET lock_holder = $2, lock_epoch = lock_epoch + 1, lock_node = $3, lock_until = $6 \
             WHERE id = $1 AND (lock_holder IS NULL OR lock_until IS NULL OR lock_until <= $5 \
                                OR lock_holder = $2 OR $4) \
             RETURNING lock_epoch",
        )
        .bind(conversation.as_uuid())
        .bind(user.as_uuid())
        .bind(node.as_uuid())
        .bind(force)
        .bind(now)
        .bind(now.saturating_add(lease_millis(lease)))
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if let Some(epoch) = granted {
            tx.commit().await.map_err(from_sqlx)?;
            return Ok(Acquired::Granted {
                epoch: unsigned(epoch, "epoch")?,
            });
        }
        // still inside the write transaction: nobody changed the row since
        let state = sqlx::query(concat!(lock_select!(), "WHERE c.id = $2"))
            .bind(now)
            .bind(conversation.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)?;
        let state = rows::lock_state(&state)?;
        match state.holder {
            Some(holder) => Ok(Acquired::Held {
                holder,
                epoch: state.epoch,
            }),
            None => Err(StoreError::Internal("lock neither granted nor held".into())),
        }
    }

    pub(super) async fn clear_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        epoch: u64,
    ) -> Result<bool, StoreError> {
        let Some(epoch) = signed(epoch) else {
            return Ok(false);
        };
        // the epoch stays: it only ever grows
        let done = sqlx::query(
            "UPDATE conversations SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
             WHERE id = $1 AND lock_holder = $2 AND lock_epoch = $3",
        )
        .bind(conversation.as_uuid())
        .bind(user.as_uuid())
        .bind(epoch)
        .execute(&self.write)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn extend_node_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        let now = now_millis();
        let renewed: Vec<(Uuid, i64)> = sqlx::query_as(
            "UPDATE conversations SET lock_until = $3 \
             WHERE lock_node = $1 AND lock_holder IS NOT NULL AND lock_until > $2 \
             RETURNING id, lock_epoch",
        )
        .bind(node.as_uuid())
        .bind(now)
        .bind(now.saturating_add(lease_millis(lease)))
        .fetch_all(&self.write)
        .await
        .map_err(from_sqlx)?;
        renewed
            .into_iter()
            .map(|(id, epoch)| Ok((id.into(), unsigned(epoch, "epoch")?)))
            .collect()
    }

    pub(super) async fn clear_node_locks(
        &self,
        node: NodeId,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let cleared: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE conversations SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
             WHERE lock_node = $1 AND lock_holder IS NOT NULL \
             RETURNING id",
        )
        .bind(node.as_uuid())
        .fetch_all(&self.write)
        .await
        .map_err(from_sqlx)?;
        Ok(cleared.into_iter().map(Into::into).collect())
    }

    pub(super) async fn clear_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE conversations SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
             WHERE lock_holder IS NOT NULL AND (lock_node IS NULL OR lock_node <> $1)",
        )
        .bind(keep.as_uuid())
        .execute(&self.write)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn read_lock_state(
        &self,
        conversation: ConversationId,
    ) -> Result<LockState, StoreError> {
        let row = sqlx::query(concat!(lock_select!(), "WHERE c.id = $2"))
            .bind(now_millis())
            .bind(conversation.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)?;
        rows::lock_state(&row)
    }

    /// Invariant 1: the seq bump is conditional on the author holding the
    /// role at `epoch` with a live lease, in the transaction that inserts
    /// the message; a refused write consumes no seq.
    /// One statement, one round trip to the database: the fence (holder,
    /// epoch, lease), the next seq, the insert, and (by the trigger of
    /// migration 0002) the conversation's `last_seq` bump all happen in a
    /// single atomic INSERT ... SELECT. Only a refused write takes a second
    /// look, to tell a duplicate from a fenced or unknown conversation.
    pub(super) async fn append_fenced(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let now = now_millis();
        let id = MessageId::new();
        let inserted: Option<(i64, Option<String>)> = match signed(new.epoch) {
            Some(epoch) => sqlx::query_as(
                "INSERT INTO messages \
                 (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
                 SELECT id, last_seq + 1, $3, 'outbound', $2, $5, $6, $7 FROM conversations \
                 WHERE id = $1 AND lock_holder = $2 AND lock_epoch = $4 AND lock_until > $7 \
                 ON CONFLICT DO NOTHING \
                 RETURNING seq, (SELECT name FROM users WHERE id = author_id)",
            )
            .bind(new.conversation_id.as_uuid())
            .bind(new.author.as_uuid())
            .bind(id.as_uuid())
            .bind(epoch)
            .bind(new.body)
            .bind(new.client_msg_id)
            .bind(now)
            .fetch_optional(&self.write)
            .await
            .map_err(from_sqlx)?,
            None => None,
        };
        if let Some((seq, author_name)) = inserted {
            return Ok(Appended::Stored(Message {
                id,
                conversation_id: new.conversation_id,
                seq: unsigned(seq, "seq")?,
                direction: Direction::Outbound,
                author: Some(UserRef {
                    id: new.author,
                    name: author_name.unwrap_or_default(),
                }),
                body: new.body.to_owned(),
                created_at: millis_to_time(now)?,
            }));
        }
        // Refused: an acknowledged message with this client_msg_id is
        // returned even if the role has moved on since.
        if let Some(existing) =
            message_by_client_id(&self.write, new.conversation_id, new.client_msg_id).await?
        {
            return Ok(Appended::Duplicate(existing));
        }
        if conversation_exists(&self.write, new.conversation_id).await? {
            Err(StoreError::Fenced)
        } else {
            Err(StoreError::NotFound)
        }
    }
}
