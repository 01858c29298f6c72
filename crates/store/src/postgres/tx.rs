//! A Postgres connection (a transaction's, or one from the pool) as the
//! store's transaction ([`PgTx`]): what the store needs of Postgres as a
//! sqlx database ([`Driver`]), the account's routing lock, and the text of
//! the fenced insert ([`FenceTx`]). Its routing statements are in
//! `routing`, those of a batch of arrivals in `arrivals`.
//!
//! Every statement that reads the clock binds it as `$1`: NULL, so that
//! Postgres reads its own clock, unless a test fixed the store's clock.

use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::postgres::PgQueryResult;
use switchboard_core::StoreError;
use switchboard_core::ids::AccountId;
use uuid::Uuid;

use crate::clock::StoreClock;
use crate::conn::{Conn, Driver};
use crate::error::from_sqlx;
use crate::fence::FenceTx;
use crate::rows::millis_to_time;
use crate::sql;

/// A Postgres connection seen as the store's transaction, with the store's
/// clock.
pub(super) type PgTx<'c> = Conn<'c, Postgres>;

impl Driver for Postgres {
    const SQL: &'static sql::Dialect = &sql::POSTGRES;
    type Time = DateTime<Utc>;
    type Clock = Option<DateTime<Utc>>;

    fn clock(clock: &StoreClock) -> Self::Clock {
        clock.fixed()
    }

    fn time(at: DateTime<Utc>) -> Self::Time {
        at
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// The clock in unix milliseconds: `$1` when a test fixed it, else the
/// database's as it reads at this statement (not the transaction's start,
/// so times grow in the order decisions were taken under the lock).
macro_rules! clock_millis {
    () => {
        "floor(extract(epoch FROM COALESCE($1::timestamptz, clock_timestamp())) * 1000)::bigint"
    };
}
pub(super) use clock_millis;

impl PgTx<'_> {
    /// What a statement binds as `$1`, its clock.
    pub(super) fn clock_param(&self) -> Option<DateTime<Utc>> {
        self.clock.fixed()
    }

    /// Waits for the account's routing lock, held until the transaction
    /// ends. What is read under it must be read by later statements (a
    /// statement's snapshot is taken when it starts).
    pub(super) async fn advisory_lock(&mut self, account: AccountId) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(account))
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }
}

/// The account's routing lock: a transaction-level advisory lock on a
/// 64-bit key folded from its id. Two accounts sharing a key (a chance of
/// one in 2^64 per pair) would only route one after the other.
fn lock_key(account: AccountId) -> i64 {
    let (high, low) = account.as_uuid().as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

/// A time of routing (unix milliseconds) as Postgres stores it.
pub(super) fn at(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    millis_to_time(millis)
}

pub(super) fn uuids<T: Into<Uuid> + Copy>(ids: &[T]) -> Vec<Uuid> {
    ids.iter().map(|&id| id.into()).collect()
}

impl FenceTx for PgTx<'_> {
    /// Invariant 1 in one statement and one round trip: the seq bump is
    /// conditional on the author holding the role at the epoch with a live
    /// lease, and the insert takes the bumped seq; both commit or neither
    /// does.
    const FENCED_INSERT: &'static str = concat!(
        "WITH bumped AS ( \
             UPDATE conversations \
             SET last_seq = last_seq + 1, last_message_at = ",
        sql::stamp!(postgres),
        " WHERE id = $2 AND lock_holder = $3 AND lock_epoch = $5 AND lock_until > ",
        sql::now!(postgres),
        " AND NOT EXISTS (SELECT 1 FROM messages \
                           WHERE conversation_id = $2 AND client_msg_id = $7) \
             RETURNING last_seq, last_message_at) \
         INSERT INTO messages \
         (conversation_id, seq, id, direction, author_id, body, client_msg_id, created_at) \
         SELECT $2, last_seq, $4, 'outbound', $3, $6, $7, last_message_at FROM bumped \
         RETURNING seq, created_at, (SELECT name FROM users WHERE id = $3) AS author_name"
    );
}
