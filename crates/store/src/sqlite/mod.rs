//! The SQLite backend: the embedded, single-node default.
//!
//! Ids are 16-byte BLOBs, times INTEGER unix milliseconds on the process
//! clock (one process owns the file, so its clock is the only clock). Every
//! write runs on one OS thread that owns the only write connection (rusqlite,
//! see `writer`): writes queue there rather than in SQLite, go together in
//! one `BEGIN IMMEDIATE` transaction per batch, and a second process (an
//! admin command beside a running server) makes the writer wait through the
//! busy timeout instead of failing a lock upgrade. Reads run on a small sqlx
//! pool beside the writer, which WAL allows. Both sides read and write the
//! same tables, so the writer binds exactly what sqlx binds: a `Uuid` as its
//! 16 bytes, a time as INTEGER milliseconds.

mod accounts;
mod conversations;
mod locks;
mod outbound;
mod routing;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User,
};
use switchboard_core::ports::Store;

use self::routing::SqliteTx;
use self::writer::{Writer, WriterConfig};
use crate::error::{from_migrate, from_sqlx};
use crate::options::StoreOptions;
use crate::routing::ops::{self, AgentChange};
use crate::routing::{Consoles, ready};
use crate::rows;

/// Runs a routing operation (`|tx| ops::...(tx, ...)`) as a job of the
/// writer: it completes in one poll, its statements being plain calls on
/// the writer's connection.
macro_rules! on_writer {
    ($store:ident, |$tx:ident| $operation:expr) => {
        $store
            .writer
            .run(move |conn| {
                let $tx = &mut SqliteTx(conn);
                ready($operation)?
            })
            .await
    };
}

/// The [`Store`] on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The thread that runs every write.
    writer: Writer,
    /// Reads, beside the writer.
    read: SqlitePool,
    /// The background checkpoints of a file database.
    checkpointer: Option<std::sync::Arc<Checkpointer>>,
}

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
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
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
struct Checkpointer(tokio::task::JoinHandle<()>);

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
        self.insert_account(new).await
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        self.insert_user(new).await
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        self.insert_inbox(new).await
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
        self.insert_login_session(token_hash, user, expires_at)
            .await
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
        self.remove_login_session(token_hash).await
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
        self.insert_inbound(new).await
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
        self.append(new).await
    }

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError> {
        let (name, members) = (name.to_owned(), members.to_vec());
        on_writer!(self, |tx| ops::create_team(tx, account, &name, &members))
    }

    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        self.list_teams(account).await
    }

    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError> {
        let members = members.to_vec();
        on_writer!(self, |tx| ops::set_team_members(tx, team, &members))
    }

    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::delete_team(tx, team))
    }

    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::set_inbox_team(tx, inbox, team))
    }

    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        self.read_agent(user).await
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::change_agent(
            tx,
            user,
            AgentChange::Capacity(capacity)
        ))
    }

    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::change_agent(
            tx,
            user,
            AgentChange::Availability(availability)
        ))
    }

    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::change_agent(
            tx,
            user,
            AgentChange::Console { node, open: online }
        ))
    }

    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::forget_consoles(tx, Consoles::On(node)))
    }

    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::forget_consoles(tx, Consoles::Except(keep)))
    }

    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::auto_assign(tx, conversation))
    }

    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::assign(tx, request))
    }

    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::unassign(tx, conversation, actor))
    }

    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::resolve(tx, conversation, actor))
    }

    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        on_writer!(self, |tx| ops::reopen(tx, conversation, actor))
    }

    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError> {
        self.writer
            .run(move |conn| {
                let tx = &mut SqliteTx(conn);
                let mut routed = Routed::default();
                for account in ready(ops::accounts_to_requeue(tx, offline_for))?? {
                    let more = ready(ops::requeue_offline(tx, account, offline_for))??;
                    routed.conversations.extend(more.conversations);
                    routed.agents.extend(more.agents);
                }
                Ok(routed)
            })
            .await
    }

    async fn assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.read_assignment_log(conversation).await
    }
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
