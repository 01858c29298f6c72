//! How the store connects (pool sizes and timeouts) and which clock it
//! reads.

use std::time::Duration;

use crate::clock::StoreClock;

/// Connection settings for either backend.
///
/// On Postgres `max_connections` sizes the one pool. On SQLite every write
/// goes through one thread that owns the only write connection (SQLite has
/// one writer; queueing there instead of in SQLite's lock means no
/// transaction ever fails to upgrade, and queued writes commit together),
/// and reads use a pool of `max_connections` capped at
/// [`StoreOptions::SQLITE_MAX_READERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most connections open at once (see above for SQLite).
    pub max_connections: u32,
    /// How long an operation waits for a free connection before it fails
    /// with `Unavailable`; on SQLite a write waits as long for room in the
    /// writer's queue, and for another process holding the file's write lock
    /// (the busy timeout).
    pub acquire_timeout: Duration,
    /// How long opening the database may take at startup.
    pub connect_timeout: Duration,
    /// SQLite only: sync the write-ahead log on every commit
    /// (`synchronous=FULL`), so that a power loss cannot take back an
    /// acknowledged write. Off (`NORMAL`), commits survive a crash of the
    /// process but the last ones may be lost with the machine. Postgres
    /// always syncs its commits.
    pub sqlite_sync_every_commit: bool,
    /// SQLite file only: hold the database for this process alone while
    /// the store is open (`switchboard serve`), so that a second server on
    /// the same file refuses to start instead of voiding the first one's
    /// roles. Admin commands leave it off and run beside a server. Postgres
    /// is shared by every node of a cluster and ignores it.
    pub exclusive: bool,
    /// Where the store reads "now" (lease ends, message times, session
    /// expiry, offline agents). Production keeps the default,
    /// [`StoreClock::Backend`]: the process clock on SQLite, the database's
    /// clock on Postgres, shared by every node. Tests whose point is not
    /// the database clock pass a [`ManualClock`](crate::ManualClock) and
    /// advance it instead of sleeping.
    pub clock: StoreClock,
}

impl StoreOptions {
    /// More readers than this do not make one SQLite file faster.
    pub const SQLITE_MAX_READERS: u32 = 4;
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            sqlite_sync_every_commit: false,
            exclusive: false,
            clock: StoreClock::Backend,
        }
    }
}
