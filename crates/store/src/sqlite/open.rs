//! Opening and closing a SQLite store: the file and its pragmas, the
//! migrations, the writer thread, the read pool, the background checkpoints.

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use switchboard_core::StoreError;

use super::SqliteStore;
use super::lock::ServeLock;
use super::writer::{Writer, WriterConfig};
use crate::error::{from_migrate, from_sqlx};
use crate::options::StoreOptions;

impl SqliteStore {
    /// Opens (and creates when missing) the file a `sqlite:` URL or a plain
    /// path names, brings its schema up to date (embedded migrations, on a
    /// connection of their own), then starts the writer.
    ///
    /// An in-memory URL (`sqlite::memory:`, `mode=memory`) opens a fresh
    /// database of this store's own, gone when the store is. The writer and
    /// the readers share it by name in SQLite's shared cache, where a table
    /// being written cannot be read: a read waits for the writer's commit
    /// (and the writer for a read under way) through SQLite's unlock
    /// notification, which both sqlx (`sqlite-unlock-notify`) and rusqlite
    /// (`unlock_notify`) are built with.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let in_memory = crate::location::is_memory(url);
        let base = if in_memory {
            SqliteConnectOptions::new()
                .filename(format!(
                    "file:switchboard-memory-{}",
                    uuid::Uuid::now_v7().simple()
                ))
                .in_memory(true)
                .shared_cache(true)
        } else if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map_err(from_sqlx)?
                .journal_mode(SqliteJournalMode::Wal)
        } else {
            SqliteConnectOptions::new()
                .filename(url)
                .journal_mode(SqliteJournalMode::Wal)
        }
        .create_if_missing(true)
        .synchronous(if options.sqlite_sync_every_commit {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        })
        .foreign_keys(true)
        // Checkpoints run beside the writer (see `checkpoints`), never
        // inside a commit: an automatic one stalls every write behind it
        // for as long as it copies and syncs (hundreds of ms under load).
        .pragma("wal_autocheckpoint", "0")
        .busy_timeout(options.acquire_timeout);

        let lock = if options.exclusive && !in_memory {
            Some(std::sync::Arc::new(ServeLock::take(
                &crate::location::absolute(base.get_filename())?,
            )?))
        } else {
            None
        };

        // Migrations first, on sqlx; this connection also keeps an
        // in-memory database alive until the writer holds it.
        let mut migrations =
            with_timeout(options, async { base.connect().await.map_err(from_sqlx) }).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut migrations)
            .await
            .map_err(from_migrate)?;

        let config = WriterConfig {
            filename: base
                .get_filename()
                .to_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    StoreError::Internal("the sqlite file name is not valid UTF-8".into())
                })?,
            in_memory,
            sync_every_commit: options.sqlite_sync_every_commit,
            busy_timeout: options.acquire_timeout,
        };
        let writer = with_timeout(options, Writer::start(config)).await?;

        let readers = options
            .max_connections
            .clamp(1, StoreOptions::SQLITE_MAX_READERS);
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(
                base.clone()
                    .create_if_missing(false)
                    .pragma("query_only", "ON"),
            );
        let read = with_timeout(options, async { read.await.map_err(from_sqlx) }).await?;
        sqlx::Connection::close(migrations)
            .await
            .map_err(from_sqlx)?;

        let checkpointer = if in_memory {
            None
        } else {
            Some(std::sync::Arc::new(Checkpointer(tokio::spawn(
                checkpoints(base.clone()),
            ))))
        };
        tracing::debug!(in_memory, "sqlite store opened");
        Ok(Self {
            writer,
            read,
            checkpointer,
            _lock: lock,
            clock: options.clock.clone(),
        })
    }

    /// Lets the writer finish what was queued, then closes it and the read
    /// pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.0.abort();
        }
        self.writer.close().await;
        self.read.close().await;
    }
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the write-ahead log into the database file, on a connection of
/// its own, so the writer never waits for it. A PASSIVE checkpoint takes no
/// lock that writers or readers wait on; the log starts over from its
/// beginning once a checkpoint caught up with it.
async fn checkpoints(options: SqliteConnectOptions) {
    let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn = None;
    loop {
        ticker.tick().await;
        if conn.is_none() {
            conn = options.connect().await.ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(c)
            .await
        {
            tracing::warn!(%error, "wal checkpoint failed");
            conn = None;
        }
    }
}

/// The checkpoint task, stopped when the last handle on the store goes.
#[derive(Debug)]
pub(super) struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn with_timeout<T>(
    options: &StoreOptions,
    opening: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(options.connect_timeout, opening)
        .await
        .map_err(|_| StoreError::Unavailable("timed out opening the sqlite database".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(store: &SqliteStore, name: &'static str) -> String {
        store
            .writer
            .run(move |conn| {
                conn.query_row(&format!("PRAGMA {name}"), [], |row| {
                    row.get::<_, rusqlite::types::Value>(0)
                })
                .map(|value| match value {
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Text(text) => text,
                    other => format!("{other:?}"),
                })
                .map_err(crate::error::from_rusqlite)
            })
            .await
            .unwrap()
    }

    async fn open(dir: &tempfile::TempDir, sync_every_commit: bool) -> SqliteStore {
        let path = dir.path().join("pragmas.db");
        let options = StoreOptions {
            sqlite_sync_every_commit: sync_every_commit,
            acquire_timeout: Duration::from_millis(1500),
            ..StoreOptions::default()
        };
        SqliteStore::connect(path.to_str().unwrap(), &options)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn commits_sync_the_log_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, false).await;
        assert_eq!(pragma(&store, "synchronous").await, "1", "NORMAL");
        store.close().await;
        let store = open(&dir, true).await;
        assert_eq!(pragma(&store, "synchronous").await, "2", "FULL");
    }

    #[tokio::test]
    async fn the_writer_keeps_the_pragmas_of_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, false).await;
        assert_eq!(pragma(&store, "journal_mode").await, "wal");
        assert_eq!(pragma(&store, "foreign_keys").await, "1");
        assert_eq!(pragma(&store, "wal_autocheckpoint").await, "0");
        assert_eq!(pragma(&store, "busy_timeout").await, "1500");
    }
}
