//! The Postgres backend: the authority shared by every node of a cluster.
//!
//! Ids are native uuids, times timestamptz truncated to milliseconds when
//! written. Every lease is judged and extended on the database's clock
//! (`now()`), never on a node's: nodes' clocks drift, the database's is the
//! one they share. Single statements rely on row locks (READ COMMITTED
//! re-checks a conditional UPDATE against the row it waited for), so no
//! transaction needs SERIALIZABLE.

mod arrivals;
mod conversations;
mod locks;
mod routing;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use switchboard_core::Role;
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User,
};
use switchboard_core::ports::Store;

use self::arrivals::Gatherer;
use self::routing::PgTx;
use crate::error::{conflict_as, from_migrate, from_sqlx};
use crate::options::StoreOptions;
use crate::routing::Consoles;
use crate::routing::ops::{self, AgentChange};
use crate::rows;

/// Runs a routing operation (`|tx| ops::...(tx, ...)`) in a transaction of
/// its own, committed when it succeeded (rolled back when dropped).
macro_rules! in_transaction {
    ($store:ident, |$tx:ident| $operation:expr) => {{
        let mut transaction = $store.begin().await?;
        let outcome = {
            let $tx = &mut PgTx(&mut transaction);
            $operation.await
        };
        match outcome {
            Ok(done) => transaction.commit().await.map(|()| done).map_err(from_sqlx),
            Err(error) => Err(error),
        }
    }};
}

/// The [`Store`] on a Postgres database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// New conversations waiting to be created and routed together.
    gatherer: Arc<Gatherer>,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names. Does not
    /// migrate: see [`PgStore::migrate`].
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(from_sqlx)?
            .application_name("switchboard");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect);
        let pool = tokio::time::timeout(options.connect_timeout, pool)
            .await
            .map_err(|_| StoreError::Unavailable("timed out connecting to postgres".into()))?
            .map_err(from_sqlx)?;
        tracing::debug!(
            max_connections = options.max_connections,
            "postgres store connected"
        );
        Ok(Self {
            pool,
            gatherer: Arc::default(),
        })
    }

    /// Brings the schema up to date (embedded migrations; sqlx holds an
    /// advisory lock, so nodes starting together migrate once).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(from_migrate)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(from_sqlx)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn create_account(&self, new: NewAccount<'_>) -> Result<(Account, User), StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO accounts (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
        )
        .bind(AccountId::new().as_uuid())
        .bind(new.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let account = rows::account(&row)?;
        let owner = NewUser {
            account_id: account.id,
            email: new.owner_email,
            name: new.owner_name,
            password_hash: new.owner_password_hash,
            role: Role::Owner,
            capacity: 0,
        };
        let owner = insert_user(&mut tx, owner).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok((account, owner))
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let user = insert_user(&mut tx, new).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(user)
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        let row = sqlx::query(
            "INSERT INTO inboxes (id, account_id, name, channel, key_hash) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, account_id, name, channel, created_at",
        )
        .bind(InboxId::new().as_uuid())
        .bind(new.account_id.as_uuid())
        .bind(new.name)
        .bind(new.channel)
        .bind(new.key_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_as("inbox key already in use"))?;
        rows::inbox(&row)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT id, account_id, email, name, role, capacity, created_at FROM users WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
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
        .fetch_optional(&self.pool)
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
            "INSERT INTO login_sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(user.as_uuid())
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(conflict_as("login session already exists"))
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT u.id, u.account_id, u.email, u.name, u.role, u.capacity, u.created_at \
             FROM login_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > now()",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?
        .map(|row| rows::user(&row))
        .transpose()
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        sqlx::query("SELECT id, account_id, name, channel, created_at FROM inboxes WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
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
        .fetch_optional(&self.pool)
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
        self.append_fenced(new).await
    }

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError> {
        in_transaction!(self, |tx| ops::create_team(tx, account, name, members))
    }

    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        self.list_teams(account).await
    }

    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError> {
        in_transaction!(self, |tx| ops::set_team_members(tx, team, members))
    }

    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::delete_team(tx, team))
    }

    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::set_inbox_team(tx, inbox, team))
    }

    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        self.read_agent(user).await
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::change_agent(
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
        in_transaction!(self, |tx| ops::change_agent(
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
        in_transaction!(self, |tx| ops::change_agent(
            tx,
            user,
            AgentChange::Console { node, open: online }
        ))
    }

    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::forget_consoles(tx, Consoles::On(node)))
    }

    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::forget_consoles(tx, Consoles::Except(keep)))
    }

    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::auto_assign(tx, conversation))
    }

    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::assign(tx, request))
    }

    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::unassign(tx, conversation, actor))
    }

    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::resolve(tx, conversation, actor))
    }

    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        in_transaction!(self, |tx| ops::reopen(tx, conversation, actor))
    }

    /// One transaction per account, so that one account's lock is held at
    /// a time.
    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError> {
        let accounts = {
            let mut conn = self.pool.acquire().await.map_err(from_sqlx)?;
            ops::accounts_to_requeue(&mut PgTx(&mut conn), offline_for).await?
        };
        let mut routed = Routed::default();
        for account in accounts {
            let more = in_transaction!(self, |tx| ops::requeue_offline(tx, account, offline_for))?;
            routed.conversations.extend(more.conversations);
            routed.agents.extend(more.agents);
        }
        Ok(routed)
    }

    async fn assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.read_assignment_log(conversation).await
    }
}

async fn insert_user(
    tx: &mut Transaction<'static, Postgres>,
    new: NewUser<'_>,
) -> Result<User, StoreError> {
    let row = sqlx::query(
        "INSERT INTO users (id, account_id, email, name, role, capacity, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING id, account_id, email, name, role, capacity, created_at",
    )
    .bind(UserId::new().as_uuid())
    .bind(new.account_id.as_uuid())
    .bind(new.email.to_lowercase())
    .bind(new.name)
    .bind(new.role.as_str())
    .bind(i64::from(new.capacity))
    .bind(new.password_hash)
    .fetch_one(&mut **tx)
    .await
    .map_err(conflict_as("email already in use"))?;
    rows::user(&row)
}
