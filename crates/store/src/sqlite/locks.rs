//! The active role on SQLite: its writes run on the writer thread, its
//! state is read on the pool (the fenced write that depends on it is in
//! `outbound`). Leases are judged on the process clock.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, named_params, params};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, NodeId, UserId};
use switchboard_core::model::{Acquired, LockState};
use uuid::Uuid;

use super::{SqliteStore, now_millis};
use crate::error::{from_rusqlite, from_sqlx};
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
        let lease = lease_millis(lease);
        self.writer
            .run(move |conn| grant(conn, conversation, user, node, force, lease))
            .await
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
        self.writer
            .run(move |conn| {
                // the epoch stays: it only ever grows
                conn.prepare_cached(
                    "UPDATE conversations \
                     SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
                     WHERE id = ?1 AND lock_holder = ?2 AND lock_epoch = ?3",
                )
                .and_then(|mut update| {
                    update.execute(params![conversation.as_uuid(), user.as_uuid(), epoch])
                })
                .map(|cleared| cleared > 0)
                .map_err(from_rusqlite)
            })
            .await
    }

    pub(super) async fn extend_node_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        let lease = lease_millis(lease);
        self.writer
            .run(move |conn| {
                let now = now_millis();
                let mut update = conn
                    .prepare_cached(
                        "UPDATE conversations SET lock_until = ?3 \
                         WHERE lock_node = ?1 AND lock_holder IS NOT NULL AND lock_until > ?2 \
                         RETURNING id, lock_epoch",
                    )
                    .map_err(from_rusqlite)?;
                let renewed = update
                    .query_map(
                        params![node.as_uuid(), now, now.saturating_add(lease)],
                        |row| Ok((row.get::<_, Uuid>(0)?, row.get::<_, i64>(1)?)),
                    )
                    .map_err(from_rusqlite)?;
                renewed
                    .map(|row| {
                        let (id, epoch) = row.map_err(from_rusqlite)?;
                        Ok((id.into(), unsigned(epoch, "epoch")?))
                    })
                    .collect()
            })
            .await
    }

    pub(super) async fn clear_node_locks(
        &self,
        node: NodeId,
    ) -> Result<Vec<ConversationId>, StoreError> {
        self.writer
            .run(move |conn| {
                let mut update = conn
                    .prepare_cached(
                        "UPDATE conversations \
                         SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
                         WHERE lock_node = ?1 AND lock_holder IS NOT NULL \
                         RETURNING id",
                    )
                    .map_err(from_rusqlite)?;
                let cleared = update
                    .query_map([node.as_uuid()], |row| row.get::<_, Uuid>(0))
                    .map_err(from_rusqlite)?;
                cleared
                    .map(|id| id.map(Into::into).map_err(from_rusqlite))
                    .collect()
            })
            .await
    }

    pub(super) async fn clear_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "UPDATE conversations \
                     SET lock_holder = NULL, lock_node = NULL, lock_until = NULL \
                     WHERE lock_holder IS NOT NULL AND (lock_node IS NULL OR lock_node <> ?1)",
                )
                .and_then(|mut update| update.execute([keep.as_uuid()]))
                .map(|cleared| u64::try_from(cleared).unwrap_or(u64::MAX))
                .map_err(from_rusqlite)
            })
            .await
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

/// One conditional update decides; a re-grant to the holder bumps the epoch
/// too, so a write fenced by the previous grant is refused.
fn grant(
    conn: &Connection,
    conversation: ConversationId,
    user: UserId,
    node: NodeId,
    force: bool,
    lease: i64,
) -> Result<Acquired, StoreError> {
    let now = now_millis();
    let granted: Option<i64> = conn
        .prepare_cached(
            "UPDATE conversations \
             SET lock_holder = ?2, lock_epoch = lock_epoch + 1, lock_node = ?3, lock_until = ?6 \
             WHERE id = ?1 AND (lock_holder IS NULL OR lock_until IS NULL OR lock_until <= ?5 \
                                OR lock_holder = ?2 OR ?4) \
             RETURNING lock_epoch",
        )
        .and_then(|mut update| {
            update
                .query_row(
                    params![
                        conversation.as_uuid(),
                        user.as_uuid(),
                        node.as_uuid(),
                        force,
                        now,
                        now.saturating_add(lease)
                    ],
                    |row| row.get(0),
                )
                .optional()
        })
        .map_err(from_rusqlite)?;
    if let Some(epoch) = granted {
        return Ok(Acquired::Granted {
            epoch: unsigned(epoch, "epoch")?,
        });
    }
    // still inside the write transaction: nobody changed the row since
    let mut select = conn
        .prepare_cached(concat!(lock_select!(), "WHERE c.id = $2"))
        .map_err(from_rusqlite)?;
    let mut found = select
        .query(named_params! { "$1": now, "$2": conversation.as_uuid() })
        .map_err(from_rusqlite)?;
    let row = found
        .next()
        .map_err(from_rusqlite)?
        .ok_or(StoreError::NotFound)?;
    let state = rows::lock_state(row)?;
    match state.holder {
        Some(holder) => Ok(Acquired::Held {
            holder,
            epoch: state.epoch,
        }),
        None => Err(StoreError::Internal("lock neither granted nor held".into())),
    }
}
