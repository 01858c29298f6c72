//! The SQLite backend: the embedded, single-node default.
//!
//! Ids are 16-byte BLOBs, times INTEGER unix milliseconds on the process
//! clock (one process owns the file, so its clock is the only clock). Every
//! write transaction runs on a pool of exactly one connection and starts with
//! `BEGIN IMMEDIATE`: writers queue in the pool rather than in SQLite, and a
//! second process (an admin command beside a running server) waits through
//! the busy timeout instead of failing a lock upgrade. Reads run on a small
//! pool beside the writer, which WAL allows.

mod appender;
mod conversations;
mod locks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use switchboard_core::StoreError;
use switchboard_core::ids::{ConversationId, InboxId, NodeId, UserId};
use switchboard_core::model::{
    Account, Acquired, Appended, Conversation, ConversationFilter, Inbound, Inbox, LockState,
    Message, NewAccount, NewInbound, NewInbox, NewOutbound, NewUser, User,
};
use switchboard_core::ports::Store;
use switchboard_core::{AccountId, Role};

use crate::error::{conflict_as, from_migrate, from_sqlx};
use crate::options::StoreOptions;
use crate::rows::{self, millis_to_time};

/// The [`Store`] on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction.
    write: SqlitePool,
    /// Reads outside a transaction (the same pool as `write` in memory,
    /// where separate connections would be separate databases).
    read: SqlitePool,
    /// The background checkpoints of a file database.
    checkpointer: Option<std::sync::Arc<Checkpointer>>,
    /// Outbound messages, committed in groups.
    appender: appender::Appender,
}

impl SqliteStore {
    /// Opens (and creates when missing) the file a `sqlite:` URL or a plain
    /// path names. Does not migrate: see [`SqliteStore::migrate`].
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let base = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(from_sqlx)?
        } else {
            SqliteConnectOptions::new().filename(url)
        }
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
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

        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.clone());
        let write = with_timeout(options, write).await?;
        let read = if in_memory {
            write.clone()
        } else {
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
            with_timeout(options, read).await?
        };
        let checkpointer = if in_memory {
            None
        } else {
            Some(std::sync::Arc::new(Checkpointer(tokio::spawn(
                checkpoints(base.clone()),
            ))))
        };
        tracing::debug!(in_memory, "sqlite store opened");
        let appender = appender::Appender::start(write.clone());
        Ok(Self {
            write,
            read,
            checkpointer,
            appender,
        })
    }

    /// Brings the schema up to date (embedded migrations).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.write)
            .await
            .map_err(from_migrate)
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.0.abort();
        }
        self.read.close().await;
        self.write.close().await;
    }

    /// A write transaction that holds SQLite's write lock from its first
    /// statement.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(from_sqlx)
    }
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the write-ahead log into the database file, on a connection of
/// its own, so the writer never waits for it. A PASSIVE checkpoint takes no
/// lock that writers or readers wait on; the log starts over from its
/// beginning once a checkpoint caught up with it.
async fn checkpoints(options: SqliteConnectOptions) {
    use sqlx::ConnectOptions;
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
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn with_timeout(
    options: &StoreOptions,
    connecting: impl Future<Output = Result<SqlitePool, sqlx::Error>>,
) -> Result<SqlitePool, StoreError> {
    tokio::time::timeout(options.connect_timeout, connecting)
        .await
        .map_err(|_| StoreError::Unavailable("timed out opening the sqlite database".into()))?
        .map_err(from_sqlx)
}

/// The process clock in unix milliseconds: SQLite's only clock.
fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn create_account(&self, new: NewAccount<'_>) -> Result<(Account, User), StoreError> {
        let now = now_millis();
        let created_at = millis_to_time(now)?;
        let account = Account {
            id: AccountId::new(),
            name: new.name.to_owned(),
            created_at,
        };
        let owner = NewUser {
            account_id: account.id,
            email: new.owner_email,
            name: new.owner_name,
            password_hash: new.owner_password_hash,
            role: Role::Owner,
            capacity: 0,
        };
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(account.id.as_uuid())
            .bind(new.name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let owner = insert_user(&mut tx, owner, now).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok((account, owner))
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let user = insert_user(&mut tx, new, now_millis()).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(user)
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        let now = now_millis();
        let inbox = Inbox {
            id: InboxId::new(),
            account_id: new.account_id,
            name: new.name.to_owned(),
            channel: new.channel.to_owned(),
            created_at: millis_to_time(now)?,
        };
        sqlx::query(
            "INSERT INTO inboxes (id, account_id, name, channel, key_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(inbox.id.as_uuid())
        .bind(new.account_id.as_uuid())
        .bind(new.name)
        .bind(new.channel)
        .bind(new.key_hash)
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(conflict_as("inbox key already in use"))?;
        Ok(inbox)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT id, account_id, email, name, role, capacity, created_at FROM users WHERE id = $1",
        )
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::user(&row))
            .transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, email, name, role, capacity, created_at, password_hash \
             FROM users WHERE email = $1",
        )
        .bind(email.to_lowercase())
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.map(|row| {
            let hash = sqlx::Row::try_get(&row, "password_hash").map_err(from_sqlx)?;
            Ok((rows::user(&row)?, hash))
        })
        .transpose()
    }

    async fn create_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.as_uuid())
        .bind(now_millis())
        .bind(expires_at.timestamp_millis())
        .execute(&self.write)
        .await
        .map(drop)
        .map_err(conflict_as("login session already exists"))
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT u.id, u.account_id, u.email, u.name, u.role, u.capacity, u.created_at \
             FROM login_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?
        .map(|row| rows::user(&row))
        .transpose()
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        sqlx::query("SELECT id, account_id, name, channel, created_at FROM inboxes WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::inbox(&row))
            .transpose()
    }

    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError> {
        sqlx::query(
            "SELECT id, account_id, name, channel, created_at FROM inboxes WHERE key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?
        .map(|row| rows::inbox(&row))
        .transpose()
    }

    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        self.record_inbound_tx(new).await
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.conversation_by_id(id).await
    }

    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.list_conversations(filter).await
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.list_messages_after(conversation, after_seq, limit)
            .await
    }

    async fn recent_messages(
        &self,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.list_recent_messages(conversation, limit).await
    }

    async fn acquire_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        self.grant_lock(conversation, user, node, force, lease)
            .await
    }

    async fn release_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        epoch: u64,
    ) -> Result<bool, StoreError> {
        self.clear_lock(conversation, user, epoch).await
    }

    async fn renew_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        self.extend_node_locks(node, lease).await
    }

    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError> {
        self.clear_node_locks(node).await
    }

    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        self.clear_locks_except(keep).await
    }

    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError> {
        self.read_lock_state(conversation).await
    }

    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        self.appender.append(new).await
    }
}

async fn insert_user(
    tx: &mut Transaction<'static, Sqlite>,
    new: NewUser<'_>,
    now: i64,
) -> Result<User, StoreError> {
    let user = User {
        id: UserId::new(),
        account_id: new.account_id,
        email: new.email.to_lowercase(),
        name: new.name.to_owned(),
        role: new.role,
        capacity: new.capacity,
        created_at: millis_to_time(now)?,
    };
    sqlx::query(
        "INSERT INTO users (id, account_id, email, name, role, capacity, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.id.as_uuid())
    .bind(user.account_id.as_uuid())
    .bind(&user.email)
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(i64::from(user.capacity))
    .bind(new.password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(conflict_as("email already in use"))?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous(sync_every_commit: bool) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        let options = StoreOptions {
            sqlite_sync_every_commit: sync_every_commit,
            ..StoreOptions::default()
        };
        let store = SqliteStore::connect(path.to_str().unwrap(), &options)
            .await
            .unwrap();
        let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&store.write)
            .await
            .unwrap();
        level
    }

    #[tokio::test]
    async fn commits_sync_the_log_only_when_asked() {
        assert_eq!(synchronous(false).await, 1, "NORMAL");
        assert_eq!(synchronous(true).await, 2, "FULL");
    }
}
