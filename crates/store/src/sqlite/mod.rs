//! The SQLite backend: the embedded, single-node default.
//!
//! Ids are 16-byte BLOBs, times INTEGER unix milliseconds on the process
//! clock (one process owns the file, so its clock is the only clock), or
//! on the manual clock a test gave the store. Every write runs on one OS
//! thread that owns the only write connection (rusqlite, see `writer`):
//! writes queue there rather than in SQLite, go together in one `BEGIN
//! IMMEDIATE` transaction per batch, and a second process (an admin
//! command beside a running server) makes the writer wait through the busy
//! timeout instead of failing a lock upgrade. Reads run on a small sqlx pool
//! beside the writer, which WAL allows. Both sides read and write the same
//! tables with the same statements (`crate::sql`), so the writer binds
//! exactly what sqlx binds: a `Uuid` as its 16 bytes, a time as INTEGER
//! milliseconds.
//!
//! The [`Store`] methods below do the work: a read is a statement on the
//! pool; a write is a job of the writer over [`SqliteTx`], running a
//! statement, or an operation written once for both backends (`fence`,
//! `inbound`, `routing::ops`).

mod open;
mod routing;
mod tx;
mod writer;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::named_params;
use sqlx::sqlite::SqlitePool;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User,
};
use switchboard_core::ports::Store;
use switchboard_core::{Role, StoreError};
use uuid::Uuid;

use self::tx::{SqliteTx, UserToInsert};
use self::writer::Writer;
use crate::clock::StoreClock;
use crate::error::from_sqlx;
use crate::routing::ops::{self, AgentChange};
use crate::routing::{Consoles, ready};
use crate::rows::{self, signed, unsigned};
use crate::{fence, inbound, lease_millis, sql};

/// The [`Store`] on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The thread that runs every write.
    writer: Writer,
    /// Reads, beside the writer.
    read: SqlitePool,
    /// The background checkpoints of a file database.
    checkpointer: Option<std::sync::Arc<open::Checkpointer>>,
    clock: StoreClock,
}

impl SqliteStore {
    /// Runs `work` as a job of the writer (see [`Writer::run`]), on the
    /// writer's transaction with the store's clock.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let clock = self.clock.clone();
        self.writer
            .run(move |conn| work(&mut SqliteTx::new(conn, &clock)))
            .await
    }
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
        let name = new.name.to_owned();
        let owner = UserToInsert::from(NewUser {
            account_id: AccountId::new(),
            email: new.owner_email,
            name: new.owner_name,
            password_hash: new.owner_password_hash,
            role: Role::Owner,
            capacity: 0,
        });
        self.write(move |tx| {
            let now = tx.now();
            let account = tx.one_unique(
                "already exists",
                sql::account_insert!(sqlite),
                named_params! { "$1": now, "$2": owner.account_id.as_uuid(), "$3": name },
                |row| rows::account(row),
            )?;
            Ok((account, tx.insert_user(&owner, now)?))
        })
        .await
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let user = UserToInsert::from(new);
        self.write(move |tx| tx.insert_user(&user, tx.now())).await
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        let (account, name, channel) =
            (new.account_id, new.name.to_owned(), new.channel.to_owned());
        let key_hash = new.key_hash.to_vec();
        self.write(move |tx| {
            tx.one_unique(
                "inbox key already in use",
                sql::inbox_insert!(sqlite),
                named_params! {
                    "$1": tx.now(),
                    "$2": InboxId::new().as_uuid(),
                    "$3": account.as_uuid(),
                    "$4": name,
                    "$5": channel,
                    "$6": key_hash,
                },
                |row| rows::inbox(row),
            )
        })
        .await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        sqlx::query(sql::USER_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::user(&row))
            .transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(sql::USER_BY_EMAIL)
            .bind(email.to_lowercase())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?;
        row.map(|row| {
            Ok((
                rows::user(&row)?,
                rows::Columns::text(&row, "password_hash")?,
            ))
        })
        .transpose()
    }

    async fn create_login_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        let expires_at = expires_at.timestamp_millis();
        self.write(move |tx| {
            tx.execute_unique(
                "login session already exists",
                sql::login_session_insert!(sqlite),
                named_params! {
                    "$1": tx.now(),
                    "$2": token_hash,
                    "$3": user.as_uuid(),
                    "$4": expires_at,
                },
            )
            .map(drop)
        })
        .await
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        sqlx::query(sql::login_session_user!(sqlite))
            .bind(self.clock.millis())
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::user(&row))
            .transpose()
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        self.write(move |tx| {
            tx.execute(
                sql::LOGIN_SESSION_DELETE,
                named_params! { "$1": token_hash },
            )
            .map(drop)
        })
        .await
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        sqlx::query(sql::INBOX_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::inbox(&row))
            .transpose()
    }

    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError> {
        sqlx::query(sql::INBOX_BY_KEY)
            .bind(key_hash)
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::inbox(&row))
            .transpose()
    }

    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        let inbox_id = new.inbox_id;
        let (handle, body) = (new.handle.to_owned(), new.body.to_owned());
        let contact_name = new.contact_name.map(str::to_owned);
        self.write(move |tx| {
            let new = NewInbound {
                inbox_id,
                handle: &handle,
                contact_name: contact_name.as_deref(),
                body: &body,
            };
            ready(inbound::record_inbound(tx, &new))?
        })
        .await
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        sqlx::query(sql::conversation_by_id!(sqlite))
            .bind(self.clock.millis())
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::conversation(&row))
            .transpose()
    }

    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        sqlx::query(sql::conversations_of_account!(sqlite))
            .bind(self.clock.millis())
            .bind(filter.account_id.as_uuid())
            .bind(filter.assignee.map(|u| u.as_uuid()))
            .bind(i64::from(filter.limit))
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::conversation)
            .collect()
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let Some(after_seq) = signed(after_seq) else {
            return Ok(Vec::new());
        };
        sqlx::query(sql::MESSAGES_AFTER)
            .bind(conversation.as_uuid())
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::message)
            .collect()
    }

    async fn recent_messages(
        &self,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let mut messages = sqlx::query(sql::RECENT_MESSAGES)
            .bind(conversation.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }

    async fn acquire_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        node: NodeId,
        force: bool,
        lease: Duration,
    ) -> Result<Acquired, StoreError> {
        self.write(move |tx| {
            ready(fence::acquire_lock(
                tx,
                conversation,
                user,
                node,
                force,
                lease,
            ))?
        })
        .await
    }

    async fn release_lock(
        &self,
        conversation: ConversationId,
        user: UserId,
        epoch: u64,
    ) -> Result<bool, StoreError> {
        let Some(epoch) = signed(epoch) else {
            return Ok(false);
        };
        self.write(move |tx| {
            let released = tx.execute(
                sql::LOCK_RELEASE,
                named_params! { "$1": conversation.as_uuid(), "$2": user.as_uuid(), "$3": epoch },
            )?;
            Ok(released > 0)
        })
        .await
    }

    async fn renew_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        let lease = lease_millis(lease);
        self.write(move |tx| {
            tx.all(
                sql::renew!(sqlite),
                named_params! { "$1": tx.now(), "$2": lease, "$3": node.as_uuid() },
                |row| {
                    let id: Uuid = rows::Columns::uuid(row, "id")?;
                    let epoch = rows::Columns::int(row, "lock_epoch")?;
                    Ok((id.into(), unsigned(epoch, "epoch")?))
                },
            )
        })
        .await
    }

    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError> {
        self.write(move |tx| {
            tx.all(
                sql::NODE_LOCKS_RELEASE,
                named_params! { "$1": node.as_uuid() },
                |row| Ok(rows::Columns::uuid(row, "id")?.into()),
            )
        })
        .await
    }

    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        self.write(move |tx| {
            let released = tx.execute(
                sql::LOCKS_RELEASE_EXCEPT,
                named_params! { "$1": keep.as_uuid() },
            )?;
            Ok(u64::try_from(released).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError> {
        let row = sqlx::query(sql::lock_state!(sqlite))
            .bind(self.clock.millis())
            .bind(conversation.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)?;
        rows::lock_state(&row)
    }

    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        let (conversation_id, author, epoch) = (new.conversation_id, new.author, new.epoch);
        let (client_msg_id, body) = (new.client_msg_id.to_owned(), new.body.to_owned());
        self.write(move |tx| {
            let new = NewOutbound {
                conversation_id,
                author,
                epoch,
                client_msg_id: &client_msg_id,
                body: &body,
            };
            ready(fence::append_outbound(tx, &new))?
        })
        .await
    }

    async fn create_team(
        &self,
        account: AccountId,
        name: &str,
        members: &[UserId],
    ) -> Result<Team, StoreError> {
        let (name, members) = (name.to_owned(), members.to_vec());
        self.write(move |tx| ready(ops::create_team(tx, account, &name, &members))?)
            .await
    }

    async fn teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        let found = sqlx::query(sql::TEAMS_OF_ACCOUNT)
            .bind(account.as_uuid())
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::team_row)
            .collect::<Result<_, _>>()?;
        Ok(rows::teams(found))
    }

    async fn set_team_members(
        &self,
        team: TeamId,
        members: &[UserId],
    ) -> Result<(Team, Routed), StoreError> {
        let members = members.to_vec();
        self.write(move |tx| ready(ops::set_team_members(tx, team, &members))?)
            .await
    }

    async fn delete_team(&self, team: TeamId) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::delete_team(tx, team))?)
            .await
    }

    async fn set_inbox_team(
        &self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::set_inbox_team(tx, inbox, team))?)
            .await
    }

    async fn agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        sqlx::query(sql::AGENT_BY_ID)
            .bind(user.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::agent(&row).map(|agent| agent.state))
            .transpose()
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        let change = AgentChange::Capacity(capacity);
        self.write(move |tx| ready(ops::change_agent(tx, user, change))?)
            .await
    }

    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError> {
        let change = AgentChange::Availability(availability);
        self.write(move |tx| ready(ops::change_agent(tx, user, change))?)
            .await
    }

    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError> {
        let change = AgentChange::Console { node, open: online };
        self.write(move |tx| ready(ops::change_agent(tx, user, change))?)
            .await
    }

    async fn forget_node_agents(&self, node: NodeId) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::forget_consoles(tx, Consoles::On(node)))?)
            .await
    }

    async fn forget_agents_except(&self, keep: NodeId) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::forget_consoles(tx, Consoles::Except(keep)))?)
            .await
    }

    async fn auto_assign(&self, conversation: ConversationId) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::auto_assign(tx, conversation))?)
            .await
    }

    async fn assign(&self, request: ManualAssignment) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::assign(tx, request))?).await
    }

    async fn unassign(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::unassign(tx, conversation, actor))?)
            .await
    }

    async fn resolve(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::resolve(tx, conversation, actor))?)
            .await
    }

    async fn reopen(
        &self,
        conversation: ConversationId,
        actor: UserId,
    ) -> Result<Routed, StoreError> {
        self.write(move |tx| ready(ops::reopen(tx, conversation, actor))?)
            .await
    }

    async fn requeue_offline(&self, offline_for: Duration) -> Result<Routed, StoreError> {
        self.write(move |tx| {
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
        sqlx::query(sql::ASSIGNMENT_LOG)
            .bind(conversation.as_uuid())
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::assignment)
            .collect()
    }
}
