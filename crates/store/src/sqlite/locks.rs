//! The active role on SQLite (the fenced write that depends on it is in
//! `appender`). Leases are judged on the process clock.

use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{Acquired, LockState};
use uuid::Uuid;

use super::{SqliteStore, now_millis};
use crate::error::from_sqlx;
use crate::lease_millis;
use crate::rows::{self, signed, unsigned};

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
}
