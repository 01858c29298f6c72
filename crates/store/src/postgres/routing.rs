//! Routing's statements ([`RoutingTx`]) on Postgres, inside the
//! operation's transaction.
//!
//! The routing lock is a transaction-level advisory lock keyed by the
//! account, taken first thing: routing operations of one account line up
//! behind it on every node (in the order they asked, released at commit or
//! rollback, or when a node's connection dies). Not a row lock on the
//! account: every new contact and conversation takes `KEY SHARE` on that
//! row through its foreign key, and a row both share-locked by many and
//! locked for update by one is kept in a multixact that each newcomer
//! rewrites; measured with 32 callers on one account, arrivals routed 15%
//! slower that way. Every time is on the database clock (unless a test
//! fixed the store's); the lock returns `clock_timestamp()` as read once it
//! is held, so times grow in the order decisions were taken.

use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{AgentState, Availability, Conversation, Team};
use uuid::Uuid;

use super::tx::{PgTx, at, clock_millis, uuids};
use crate::error::{conflict_as, from_sqlx};
use crate::routing::{AgentRow, Consoles, LogLine, QueueRow, RouteRow, RoutingTx};
use crate::rows;
use crate::sql;

impl RoutingTx for PgTx<'_> {
    async fn lock(&mut self, account: AccountId) -> Result<i64, StoreError> {
        self.advisory_lock(account).await?;
        // a statement of its own: its clock is read once the lock is held
        sqlx::query_scalar(concat!(
            "SELECT ",
            clock_millis!(),
            " FROM accounts WHERE id = $2"
        ))
        .bind(self.clock_param())
        .bind(account.as_uuid())
        .fetch_optional(&mut *self.conn)
        .await
        .map_err(from_sqlx)?
        .ok_or(StoreError::NotFound)
    }

    async fn clock(&mut self) -> Result<i64, StoreError> {
        sqlx::query_scalar(concat!("SELECT ", clock_millis!()))
            .bind(self.clock_param())
            .fetch_one(&mut *self.conn)
            .await
            .map_err(from_sqlx)
    }

    async fn agents(&mut self, account: AccountId) -> Result<Vec<AgentRow>, StoreError> {
        sqlx::query(sql::AGENTS_OF_ACCOUNT)
            .bind(account.as_uuid())
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::agent)
            .collect()
    }

    async fn agent_states(&mut self, users: &[UserId]) -> Result<Vec<AgentState>, StoreError> {
        sqlx::query(concat!(
            sql::agent_select!(),
            "AND u.id = ANY($1) ORDER BY u.id"
        ))
        .bind(uuids(users))
        .fetch_all(&mut *self.conn)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(|row| rows::agent(row).map(|agent| agent.state))
        .collect()
    }

    async fn user_home(&mut self, user: UserId) -> Result<Option<(AccountId, bool)>, StoreError> {
        let found: Option<(Uuid, bool)> = sqlx::query_as(sql::USER_HOME)
            .bind(user.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(found.map(|(account, agent)| (account.into(), agent)))
    }

    async fn inbox_account(&mut self, inbox: InboxId) -> Result<Option<AccountId>, StoreError> {
        let found: Option<Uuid> = sqlx::query_scalar(sql::INBOX_ACCOUNT)
            .bind(inbox.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(found.map(Into::into))
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Option<RouteRow>, StoreError> {
        sqlx::query(sql::ROUTE_BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::route(&row))
            .transpose()
    }

    async fn queue(&mut self, account: AccountId) -> Result<Vec<QueueRow>, StoreError> {
        sqlx::query(sql::QUEUE)
            .bind(account.as_uuid())
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::queued)
            .collect()
    }

    async fn team_members(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(TeamId, UserId)>, StoreError> {
        let pairs: Vec<(Uuid, Uuid)> = sqlx::query_as(sql::TEAM_MEMBERS_OF_ACCOUNT)
            .bind(account.as_uuid())
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(pairs
            .into_iter()
            .map(|(team, user)| (team.into(), user.into()))
            .collect())
    }

    async fn queued_after(
        &mut self,
        account: AccountId,
        key: i64,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(sql::QUEUED_AFTER)
            .bind(account.as_uuid())
            .bind(key)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(Into::into).collect())
    }

    async fn write_conversation(&mut self, row: &RouteRow) -> Result<(), StoreError> {
        sqlx::query(sql::WRITE_CONVERSATION)
            .bind(row.id.as_uuid())
            .bind(row.status.as_str())
            .bind(row.assignee.map(|u| u.as_uuid()))
            .bind(row.queue_key)
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn enqueue(&mut self, row: &RouteRow) -> Result<i64, StoreError> {
        sqlx::query_scalar(sql::ENQUEUE)
            .bind(row.id.as_uuid())
            .bind(row.account.as_uuid())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)
    }

    async fn record_assignment(&mut self, line: LogLine) -> Result<(), StoreError> {
        sqlx::query(
            "WITH moved AS ( \
                 UPDATE conversations SET status = 'open', assignee_id = $2, queue_key = NULL \
                 WHERE id = $1 RETURNING id), \
             marked AS (UPDATE users SET last_assigned_at = $5 WHERE id = $2) \
             INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
             SELECT id, $3, $2, $4, $5 FROM moved",
        )
        .bind(line.conversation.as_uuid())
        .bind(line.assignee.map(|u| u.as_uuid()))
        .bind(line.kind.as_str())
        .bind(line.actor.map(|u| u.as_uuid()))
        .bind(at(line.at)?)
        .execute(&mut *self.conn)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn log(&mut self, line: LogLine) -> Result<(), StoreError> {
        sqlx::query(sql::LOG_LINE)
            .bind(line.conversation.as_uuid())
            .bind(line.kind.as_str())
            .bind(line.assignee.map(|u| u.as_uuid()))
            .bind(line.actor.map(|u| u.as_uuid()))
            .bind(at(line.at)?)
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn conversations(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        self.cards(ids).await
    }

    async fn set_capacity(&mut self, user: UserId, capacity: u32) -> Result<(), StoreError> {
        sqlx::query(sql::SET_CAPACITY)
            .bind(user.as_uuid())
            .bind(i64::from(capacity))
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn set_availability(
        &mut self,
        user: UserId,
        availability: Availability,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SET_AVAILABILITY)
            .bind(user.as_uuid())
            .bind(availability.as_str())
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn open_console(
        &mut self,
        user: UserId,
        node: NodeId,
        when: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "WITH opened AS (INSERT INTO agent_sessions (user_id, node_id, since) \
                             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING) \
             UPDATE users SET offline_since = NULL WHERE id = $1",
        )
        .bind(user.as_uuid())
        .bind(node.as_uuid())
        .bind(at(when)?)
        .execute(&mut *self.conn)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn close_console(
        &mut self,
        user: UserId,
        node: NodeId,
        when: i64,
    ) -> Result<(), StoreError> {
        let closed = sqlx::query(sql::CLOSE_CONSOLE)
            .bind(user.as_uuid())
            .bind(node.as_uuid())
            .execute(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        if closed > 0 {
            self.offline_if_gone(&[user], when).await?;
        }
        Ok(())
    }

    async fn close_consoles(
        &mut self,
        which: Consoles,
        when: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let (sql, node) = match which {
            Consoles::On(node) => (sql::CLOSE_CONSOLES_ON, node),
            Consoles::Except(node) => (sql::CLOSE_CONSOLES_EXCEPT, node),
        };
        let mut users: Vec<Uuid> = sqlx::query_scalar(sql)
            .bind(node.as_uuid())
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        users.sort_unstable();
        users.dedup();
        let users: Vec<UserId> = users.into_iter().map(Into::into).collect();
        self.offline_if_gone(&users, when).await
    }

    async fn count_users(
        &mut self,
        account: AccountId,
        users: &[UserId],
    ) -> Result<usize, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users WHERE account_id = $1 AND id = ANY($2)")
                .bind(account.as_uuid())
                .bind(uuids(users))
                .fetch_one(&mut *self.conn)
                .await
                .map_err(from_sqlx)?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    async fn team(&mut self, team: TeamId) -> Result<Option<Team>, StoreError> {
        let found = sqlx::query(sql::TEAM_BY_ID)
            .bind(team.as_uuid())
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::team_row)
            .collect::<Result<_, _>>()?;
        Ok(rows::teams(found).pop())
    }

    async fn insert_team(&mut self, team: &Team, when: i64) -> Result<(), StoreError> {
        sqlx::query(sql::TEAM_INSERT)
            .bind(team.id.as_uuid())
            .bind(team.account_id.as_uuid())
            .bind(&team.name)
            .bind(at(when)?)
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(conflict_as("team name already in use"))
    }

    async fn set_members(&mut self, team: TeamId, members: &[UserId]) -> Result<(), StoreError> {
        sqlx::query(sql::TEAM_MEMBERS_DELETE)
            .bind(team.as_uuid())
            .execute(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO team_members (team_id, user_id) \
             SELECT $1, member FROM unnest($2::uuid[]) AS member",
        )
        .bind(team.as_uuid())
        .bind(uuids(members))
        .execute(&mut *self.conn)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn delete_team(&mut self, team: TeamId) -> Result<(), StoreError> {
        sqlx::query(sql::TEAM_DELETE)
            .bind(team.as_uuid())
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn set_inbox_team(
        &mut self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SET_INBOX_TEAM)
            .bind(inbox.as_uuid())
            .bind(team.map(|t| t.as_uuid()))
            .execute(&mut *self.conn)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn accounts_offline_since(&mut self, before: i64) -> Result<Vec<AccountId>, StoreError> {
        let accounts: Vec<Uuid> = sqlx::query_scalar(sql::ACCOUNTS_OFFLINE_SINCE)
            .bind(at(before)?)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?;
        Ok(accounts.into_iter().map(Into::into).collect())
    }

    async fn offline_assigned(
        &mut self,
        account: AccountId,
        before: i64,
    ) -> Result<Vec<RouteRow>, StoreError> {
        sqlx::query(sql::OFFLINE_ASSIGNED)
            .bind(at(before)?)
            .bind(account.as_uuid())
            .fetch_all(&mut *self.conn)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(rows::route)
            .collect()
    }
}

impl PgTx<'_> {
    /// Consoles of `users` went: those with none left are offline since
    /// `when` (only at that moment, so a repeated call moves nothing);
    /// returns them.
    async fn offline_if_gone(
        &mut self,
        users: &[UserId],
        when: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let offline: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE users u SET offline_since = $2 \
             WHERE u.id = ANY($1) \
               AND NOT EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) \
             RETURNING u.id",
        )
        .bind(uuids(users))
        .bind(at(when)?)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(from_sqlx)?;
        Ok(offline.into_iter().map(Into::into).collect())
    }
}
