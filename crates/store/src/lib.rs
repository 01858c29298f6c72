//! Switchboard's persistence: the [`Store`] port on SQLite and on Postgres.
//!
//! This crate owns the schema and its migrations (one set per backend), the
//! mapping between rows and the domain records of `switchboard-core`, and the
//! database side of invariant 1: the active role of a conversation (holder,
//! fencing epoch, lease) lives on the conversation's row, and an outbound
//! message is stored only by a statement that checks that role in the same
//! transaction as the sequence bump and the insert. A stale holder is refused
//! here, whatever the caller believed.
//!
//! It also owns the database side of invariant 3 (`routing`): every routing
//! write of an account (a new conversation, an assignment, capacity freed)
//! runs in one transaction under that account's lock, reads the agents'
//! loads there, applies the policy of `switchboard_core::assignment` and
//! records the outcome, so that no agent is auto-assigned beyond capacity
//! and no conversation twice, whatever the number of nodes, and the
//! Unassigned queue is served in arrival order.
//!
//! Each backend implements the [`Store`] port itself, each method saying
//! only where its work runs (a connection of a pool, a transaction, SQLite's
//! writer thread). What both backends do alike is written once over
//! `statement::Statements`, which runs a statement of `sql` (one text for
//! both dialects wherever they differ only in placeholders or in how they
//! read the clock) on a sqlx connection of either backend (`conn`) or on
//! SQLite's writer: accounts, users, login sessions and inboxes
//! (`accounts`), the reads (`reads`), the grant and the fenced write with
//! its refusal (`fence`), a customer's message (`inbound`), routing
//! (`routing`). A backend keeps what it does its own way: SQLite's writer
//! thread, Postgres' batched arrivals and one-statement CTEs. Every time
//! the store records or judges is read from one clock
//! ([`StoreOptions::clock`]): the backend's own in production, a
//! [`ManualClock`] a test moves.
//!
//! It must not decide policy: who may take over, when a role lapses for
//! idleness, who gets assigned what belong to the pure core and the server
//! (the store runs the core's assignment functions, it does not rewrite them).
//! It must not read the process clock for a Postgres lease (leases are on the
//! database's clock, shared by every node, unless a test gave the store a
//! manual clock), must not panic on bad input, and must not leak SQL or
//! connection strings in its errors.
//!
//! Both backends pass one contract suite (`tests/contract`).

mod access;
mod accounts;
mod audit;
mod clock;
mod conn;
mod contacts;
mod error;
mod fence;
mod folders;
mod inbound;
mod invitations;
mod lifecycle;
mod location;
mod mail;
#[cfg(feature = "mutations")]
pub mod mutations;
mod options;
mod pending;
mod postgres;
mod reads;
mod routing;
mod rows;
mod seats;
mod sql;
mod sqlite;
mod statement;
// statistics
mod statistics;
mod templates;
mod two_factor;
// webhooks
mod webhooks;

// API keys (docs/MODULES.md).
mod api_keys;

// WebSocket tickets (docs/BROWSERS.md).
mod ws_tickets;

use std::sync::Arc;
use std::time::Duration;

pub use clock::{ManualClock, StoreClock};
pub use location::Location;
pub use options::StoreOptions;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use switchboard_core::StoreError;
pub use switchboard_core::ports::Store;

/// The longest lease the store records; longer requests are clamped so the
/// arithmetic can never overflow a timestamp.
const MAX_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// Opens the database `url` names (see [`Location`] for the rule), brings
/// its schema up to date and returns it as the [`Store`] port. A SQLite
/// file is created when missing.
pub async fn connect(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if Location::parse(url)?.is_postgres() {
        let store = PgStore::connect(url, options).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        Ok(Arc::new(SqliteStore::connect(url, options).await?))
    }
}

/// Brings the schema of the database `url` names up to date and closes it
/// (for `switchboard migrate`). Running it again is harmless.
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    let options = StoreOptions::default();
    if Location::parse(url)?.is_postgres() {
        let store = PgStore::connect(url, &options).await?;
        let migrated = store.migrate().await;
        store.close().await;
        migrated
    } else {
        // opening a SQLite store migrates it
        SqliteStore::connect(url, &options).await?.close().await;
        Ok(())
    }
}

/// A lease as whole milliseconds, clamped to [`MAX_LEASE`].
fn lease_millis(lease: Duration) -> i64 {
    i64::try_from(lease.min(MAX_LEASE).as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_clamped() {
        assert_eq!(lease_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(lease_millis(Duration::MAX), 86_400_000);
    }
}
