//! The active role on Postgres, and the fenced write that depends on it
//! (invariant 1). Every lease is judged and extended with `now()`: the
//! database's clock, which all nodes share.

use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, MessageId, NodeId, UserId};
use switchboard_core::model::{
    Acquired, Appended, Direction, LockState, Message, NewOutbound, UserRef,
};
use uuid::Uuid;

use super::PgStore;
use super::conversations::{conversation_exists, message_by_client_id};
use crate::error::{from_sqlx, is_unique_violation};
use crate::lease_millis;
use crate::rows::{self, signed, unsigned};

/// The lock columns `rows::lock_state` reads.
macro_rules! lock_select {
    () => {
        "SELECT c.lock_epoch, c.lock_holder, h.name AS holder_name, c.lock_node, \
                COALESCE(c.lock_holder IS NOT NULL AND c.lock_until > now(), false) AS lock_valid \
         FROM conversations c LEFT JOIN users h ON h.id = c.lock_holder "
    };
}

/// What the fenced append returns: the seq, the time, the author's name.
type StoredRow = (i64, DateTime<Utc>, Option<String>);

/// How often `acquire_lock` retries when the role was released between its
/// refused update and the read of who holds it.
const ACQUIRE_ATTEMPTS: usize = 8;

impl PgStore {
    pub(super) async fn grant_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        for _ in 0..ACQUIRE_ATTEMPTS {
            // one conditional update decides (the row lock serializes
            // racing grants); a re-grant to the holder bumps the epoch too,
            // so a write fenced by the previous grant is refused
            let granted: Option<i64> = sqlx::query_scalar(
                "UPDATE conversations \
                 SET lock_holder = $2, lock_epoch = lock_epoch + 1, lock_node = $3, \
                     lock_until = now() + $5::bigint * interval '1 millisecond' \
                 WHERE id = $1 AND (lock_holder IS NULL OR lock_until IS NULL \
                                    OR lock_until <= now() OR lock_holder = $2 OR $4) \
                 RETURNING lock_epoch",
            )
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(node.as_uuid())
            .bind(force)
            .bind(lease_millis(lease))
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
            if let Some(epoch) = granted {
                return Ok(Acquired::Granted {
                    epoch: unsigned(epoch, "epoch")?,
                });
            }
            let state = self.read_lock_state(conversation).await?;
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
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn extend_node_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        let renewed: Vec<(Uuid, i64)> = sqlx::query_as(
            "UPDATE conversations \
             SET lock_until = now() + $2::bigint * interval '1 millisecond' \
             WHERE lock_node = $1 AND lock_holder IS NOT NULL AND lock_until > now() \
             RETURNING id, lock_epoch",
        )
        .bind(node.as_uuid())
        .bind(lease_millis(lease))
        .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
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
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn read_lock_state(
        &self,
        conversation: ConversationId,
    ) -> Result<LockState, StoreError> {
        let row = sqlx::query(concat!(lock_select!(), "WHERE c.id = $1"))
            .bind(conversation.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)?;
        rows::lock_state(&row)
    }

    /// Invariant 1 in one statement and one round trip: the seq bump is
    /// conditional on the author holding the role at `epoch` with a live
    /// lease (on Postgres' clock), and the insert takes the bumped seq; both
    /// commit or neither does. A refused write consumes no seq.
    pub(super) async fn append_fenced(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let id = MessageId::new();
        let stored: Result<Option<StoredRow>, sqlx::Error> =
            match signed(new.epoch) {
                Some(epoch) => {
                    sqlx::query_as(
                        "WITH bumped AS ( \
                             UPDATE conversations \
                             SET last_seq = last_seq + 1, \
                                 last_message_at = date_trunc('milliseconds', now()) \
                             WHERE id = $1 AND lock_holder = $2 AND lock_epoch = $3 \
                               AND lock_until > now() \
                               AND NOT EXISTS (SELECT 1 FROM messages \
                                               WHERE conversation_id = $1 AND client_msg_id = $5) \
                             RETURNING last_seq, last_message_at) \
                         INSERT INTO messages \
                         (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
                         SELECT $1, last_seq, $4, 'outbound', $2, $6, $5, last_message_at FROM bumped \
                         RETURNING seq, created_at, (SELECT name FROM users WHERE id = $2)",
                    )
                    .bind(new.conversation_id.as_uuid())
                    .bind(new.author.as_uuid())
                    .bind(epoch)
                    .bind(id.as_uuid())
                    .bind(new.client_msg_id)
                    .bind(new.body)
                    .fetch_optional(&self.pool)
                    .await
                }
                None => Ok(None),
            };
        match stored {
            Ok(Some((seq, at, author_name))) => Ok(Appended::Stored(Message {
                id,
                conversation_id: new.conversation_id,
                seq: unsigned(seq, "seq")?,
                direction: Direction::Outbound,
                author: Some(UserRef {
                    id: new.author,
                    name: author_name.unwrap_or_default(),
                }),
                body: new.body.to_owned(),
                created_at: at,
            })),
            // A racing insert of the same client_msg_id won (the whole
            // statement rolled back, its seq with it): theirs is the answer.
            Err(err) if is_unique_violation(&err) => {
                message_by_client_id(&self.pool, new.conversation_id, new.client_msg_id)
                    .await?
                    .map(Appended::Duplicate)
                    .ok_or_else(|| from_sqlx(err))
            }
            Err(err) => Err(from_sqlx(err)),
            // Refused: an acknowledged message with this client_msg_id is
            // returned even if the role has moved on since.
            Ok(None) => {
                if let Some(existing) =
                    message_by_client_id(&self.pool, new.conversation_id, new.client_msg_id).await?
                {
                    return Ok(Appended::Duplicate(existing));
                }
                if conversation_exists(&self.pool, new.conversation_id).await? {
                    Err(StoreError::Fenced)
                } else {
                    Err(StoreError::NotFound)
                }
            }
        }
    }
}
