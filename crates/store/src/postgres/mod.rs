//! The Postgres backend: the authority shared by every node of a cluster.
//!
//! Ids are native uuids, times timestamptz truncated to milliseconds when
//! written. Every lease is judged and extended on the database's clock
//! (`now()`), never on a node's: nodes' clocks drift, the database's is the
//! one they share (a test may fix the store's clock instead, see
//! [`StoreClock`]). Single statements rely on row locks (READ COMMITTED
//! re-checks a conditional UPDATE against the row it waited for), so no
//! transaction needs SERIALIZABLE.
//!
//! The [`Store`] methods below do the work: a read or a one-statement write
//! runs on the pool; anything else on a [`PgTx`], in a transaction of its
//! own when it writes more than once, running an operation written once for
//! both backends (`fence`, `inbound`, `routing::ops`). New customers take
//! the batched path of `arrivals`, follow-ups the one statement of
//! `followup`.

mod arrivals;
mod followup;
mod open;
mod routing;
mod tx;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{
    Account, Acquired, AgentState, Appended, AssignmentRecord, Availability, Conversation,
    ConversationFilter, Inbound, Inbox, LockState, ManualAssignment, Message, NewAccount,
    NewInbound, NewInbox, NewOutbound, NewUser, Routed, Team, User,
};
use switchboard_core::ports::Store;
use switchboard_core::{Role, StoreError};
use uuid::Uuid;

use self::arrivals::{Gatherer, NewArrival};
use self::followup::Found;
use self::tx::PgTx;
use crate::clock::StoreClock;
use crate::error::{conflict_as, from_sqlx};
use crate::routing::Consoles;
use crate::routing::ops::{self, AgentChange};
use crate::rows::{self, signed, unsigned};
use crate::{fence, inbound, lease_millis, sql};

/// Runs an operation (`|tx| ops::...(tx, ...)`) in a transaction of its
/// own, committed when it succeeded (rolled back when dropped).
macro_rules! in_transaction {
    ($store:ident, |$tx:ident| $operation:expr) => {{
        let mut transaction = $store.begin().await?;
        let outcome = {
            let $tx = &mut PgTx::new(&mut transaction, &$store.clock);
            $operation.await
        };
        match outcome {
            Ok(done) => transaction.commit().await.map(|()| done).map_err(from_sqlx),
            Err(error) => Err(error),
        }
    }};
}

/// Runs an operation (`|tx| fence::...(tx, ...)`) on one connection of the
/// pool, each of its statements committing on its own.
macro_rules! on_connection {
    ($store:ident, |$tx:ident| $operation:expr) => {{
        let mut conn = $store.pool.acquire().await.map_err(from_sqlx)?;
        let $tx = &mut PgTx::new(&mut conn, &$store.clock);
        $operation.await
    }};
}

/// The [`Store`] on a Postgres database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// New conversations waiting to be created and routed together.
    gatherer: Arc<Gatherer>,
    clock: StoreClock,
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
        let owner = NewUser {
            account_id: AccountId::new(),
            email: new.owner_email,
            name: new.owner_name,
            password_hash: new.owner_password_hash,
            role: Role::Owner,
            capacity: 0,
        };
        in_transaction!(self, |tx| async {
            let row = sqlx::query(sql::account_insert!(postgres))
                .bind(tx.clock_param())
                .bind(owner.account_id.as_uuid())
                .bind(new.name)
                .fetch_one(&mut *tx.conn)
                .await
                .map_err(from_sqlx)?;
            Ok((rows::account(&row)?, tx.insert_user(owner).await?))
        })
    }

    async fn create_user(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        on_connection!(self, |tx| tx.insert_user(new))
    }

    async fn create_inbox(&self, new: NewInbox<'_>) -> Result<Inbox, StoreError> {
        let row = sqlx::query(sql::inbox_insert!(postgres))
            .bind(self.clock.fixed())
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
        sqlx::query(sql::USER_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::user(&row))
            .transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(sql::USER_BY_EMAIL)
            .bind(email.to_lowercase())
            .fetch_optional(&self.pool)
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
        sqlx::query(sql::login_session_insert!(postgres))
            .bind(self.clock.fixed())
            .bind(token_hash)
            .bind(user.as_uuid())
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(conflict_as("login session already exists"))
    }

    async fn login_session_user(&self, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
        sqlx::query(sql::login_session_user!(postgres))
            .bind(self.clock.fixed())
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::user(&row))
            .transpose()
    }

    async fn delete_login_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query(sql::LOGIN_SESSION_DELETE)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn inbox(&self, id: InboxId) -> Result<Option<Inbox>, StoreError> {
        sqlx::query(sql::INBOX_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::inbox(&row))
            .transpose()
    }

    async fn inbox_by_key(&self, key_hash: &[u8]) -> Result<Option<Inbox>, StoreError> {
        sqlx::query(sql::INBOX_BY_KEY)
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::inbox(&row))
            .transpose()
    }

    /// A follow-up to an open conversation: one statement, no routing
    /// lock. A new customer: created and routed with the others arriving
    /// at the same moment (`arrivals`). Anything else, or an arrival its
    /// batch did not record: alone, in a transaction of its own.
    async fn record_inbound(&self, new: NewInbound<'_>) -> Result<Inbound, StoreError> {
        match followup::append_if_open(&self.pool, self.clock.fixed(), &new).await? {
            Found::Open(inbound) => return Ok(*inbound),
            Found::Nothing(account) => {
                let arrival = NewArrival {
                    inbox: new.inbox_id,
                    handle: new.handle.to_owned(),
                    contact_name: new.contact_name.map(str::to_owned),
                    body: new.body.to_owned(),
                };
                if let Some(inbound) = self.arrive(account, arrival).await {
                    return Ok(inbound);
                }
            }
            Found::Other => {}
        }
        in_transaction!(self, |tx| inbound::record_inbound(tx, &new))
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        sqlx::query(sql::conversation_by_id!(postgres))
            .bind(self.clock.fixed())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::conversation(&row))
            .transpose()
    }

    async fn conversations(
        &self,
        filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        sqlx::query(sql::conversations_of_account!(postgres))
            .bind(self.clock.fixed())
            .bind(filter.account_id.as_uuid())
            .bind(filter.assignee.map(|u| u.as_uuid()))
            .bind(i64::from(filter.limit))
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
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
        on_connection!(self, |tx| fence::acquire_lock(
            tx,
            conversation,
            user,
            node,
            force,
            lease
        ))
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
        let done = sqlx::query(sql::LOCK_RELEASE)
            .bind(conversation.as_uuid())
            .bind(user.as_uuid())
            .bind(epoch)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn renew_locks(
        &self,
        node: NodeId,
        lease: Duration,
    ) -> Result<Vec<(ConversationId, u64)>, StoreError> {
        let renewed: Vec<(Uuid, i64)> = sqlx::query_as(sql::renew!(postgres))
            .bind(self.clock.fixed())
            .bind(lease_millis(lease))
            .bind(node.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        renewed
            .into_iter()
            .map(|(id, epoch)| Ok((id.into(), unsigned(epoch, "epoch")?)))
            .collect()
    }

    async fn release_node_locks(&self, node: NodeId) -> Result<Vec<ConversationId>, StoreError> {
        let released: Vec<Uuid> = sqlx::query_scalar(sql::NODE_LOCKS_RELEASE)
            .bind(node.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(released.into_iter().map(Into::into).collect())
    }

    async fn release_locks_except(&self, keep: NodeId) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::LOCKS_RELEASE_EXCEPT)
            .bind(keep.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }

    async fn lock_state(&self, conversation: ConversationId) -> Result<LockState, StoreError> {
        let row = sqlx::query(sql::lock_state!(postgres))
            .bind(self.clock.fixed())
            .bind(conversation.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)?;
        rows::lock_state(&row)
    }

    async fn append_outbound(&self, new: NewOutbound<'_>) -> Result<Appended, StoreError> {
        on_connection!(self, |tx| fence::append_outbound(tx, &new))
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
        let found = sqlx::query(sql::TEAMS_OF_ACCOUNT)
            .bind(account.as_uuid())
            .fetch_all(&self.pool)
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
        sqlx::query(sql::AGENT_BY_ID)
            .bind(user.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::agent(&row).map(|agent| agent.state))
            .transpose()
    }

    async fn set_capacity(&self, user: UserId, capacity: u32) -> Result<Routed, StoreError> {
        let change = AgentChange::Capacity(capacity);
        in_transaction!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn set_availability(
        &self,
        user: UserId,
        availability: Availability,
    ) -> Result<Routed, StoreError> {
        let change = AgentChange::Availability(availability);
        in_transaction!(self, |tx| ops::change_agent(tx, user, change))
    }

    async fn set_online(
        &self,
        user: UserId,
        node: NodeId,
        online: bool,
    ) -> Result<Routed, StoreError> {
        let change = AgentChange::Console { node, open: online };
        in_transaction!(self, |tx| ops::change_agent(tx, user, change))
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
        let accounts = on_connection!(self, |tx| ops::accounts_to_requeue(tx, offline_for))?;
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
        sqlx::query(sql::ASSIGNMENT_LOG)
            .bind(conversation.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::assignment)
            .collect()
    }
}
