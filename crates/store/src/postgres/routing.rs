//! Routing's statements ([`RoutingTx`]) on Postgres, inside the
//! operation's transaction: the lock and the clock, and, instead of the
//! portable statements, one statement over an array or a CTE where those
//! take a round trip per row or per write.
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
use switchboard_core::ids::{AccountId, ConversationId, NodeId, TeamId, UserId};
use switchboard_core::model::{AgentState, Conversation};
use uuid::Uuid;

use super::tx::{PgTx, at, clock_millis, uuids};
use crate::error::from_sqlx;
use crate::routing::{LogLine, RoutingTx};
use crate::rows;
use crate::sql;
use crate::statement::{Statements, Value};

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

    async fn agent_states(&mut self, users: &[UserId]) -> Result<Vec<AgentState>, StoreError> {
        sqlx::query(concat!(
            sql::agent_select!(postgres),
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

    async fn record_assignment(&mut self, line: LogLine) -> Result<(), StoreError> {
        let params = [
            line.conversation.into(),
            line.assignee.into(),
            line.kind.as_str().into(),
            line.actor.into(),
            Value::millis(line.at)?,
        ];
        self.execute(
            "WITH moved AS ( \
                 UPDATE conversations SET status = 'open', assignee_id = $2, queue_key = NULL \
                 WHERE id = $1 RETURNING id), \
             marked AS (UPDATE users SET last_assigned_at = $5 WHERE id = $2) \
             INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
             SELECT id, $3, $2, (SELECT u.id FROM users u WHERE u.id = $4), $5 FROM moved",
            &params,
        )
        .await
        .map(drop)
    }

    async fn conversations(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query(concat!(
            sql::conversation_select!(postgres),
            "WHERE c.id = ANY($2)"
        ))
        .bind(self.clock_param())
        .bind(uuids(ids))
        .fetch_all(&mut *self.conn)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(|row| rows::conversation(row))
        .collect()
    }

    async fn open_console(
        &mut self,
        user: UserId,
        node: NodeId,
        when: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "WITH opened AS (INSERT INTO agent_sessions (user_id, node_id, since) \
                             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING) \
             UPDATE users SET offline_since = NULL WHERE id = $1",
            &[user.into(), node.into(), Value::millis(when)?],
        )
        .await
        .map(drop)
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

    async fn set_members(&mut self, team: TeamId, members: &[UserId]) -> Result<(), StoreError> {
        self.execute(sql::TEAM_MEMBERS_DELETE, &[team.into()])
            .await?;
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

    /// In id order, so that two transactions locking several never wait
    /// on each other in a circle.
    async fn lock_users(&mut self, users: &[UserId]) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(uuids(users))
            .execute(&mut *self.conn)
            .await
            .map_err(from_sqlx)
            .map(drop)
    }

    async fn offline_if_gone(
        &mut self,
        users: &[UserId],
        when: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        // the rows first, then a fresh look at the consoles (a statement
        // after the lock sees what a console added meanwhile committed)
        self.lock_users(users).await?;
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
