//! Routing on Postgres: the statements of [`RoutingTx`] inside the
//! operation's transaction, and the reads of teams, agents and the
//! assignment log.
//!
//! The routing lock is a transaction-level advisory lock keyed by the
//! account, taken first thing: routing operations of one account line up
//! behind it on every node (in the order they asked, released at commit or
//! rollback, or when a node's connection dies). Not a row lock on the
//! account: every new contact and conversation takes `KEY SHARE` on that
//! row through its foreign key, and a row both share-locked by many and
//! locked for update by one is kept in a multixact that each newcomer
//! rewrites; measured with 32 callers on one account, arrivals routed 15%
//! slower that way. Every time is on the database clock; the lock returns
//! `clock_timestamp()` as read once it is held, so times grow in the order
//! decisions were taken.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{AgentState, AssignmentRecord, Availability, Conversation, Team};
use uuid::Uuid;

use super::PgStore;
use super::conversations::conversations_in;
use crate::error::{conflict_as, from_sqlx};
use crate::routing::{AgentRow, Consoles, LogLine, QueueRow, RouteRow, RoutingTx};
use crate::rows::{self, Columns, millis_to_time};

/// The agent columns `rows::agent` reads; the condition follows.
macro_rules! agent_select {
    () => {
        concat!(
            "SELECT u.id, u.account_id, u.name, u.capacity, u.availability, u.last_assigned_at, \
                    EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) AS online, \
                    (SELECT count(*) FROM conversations c \
                      WHERE c.assignee_id = u.id AND c.status = 'open') AS load \
             FROM users u WHERE u.role IN ",
            crate::routing::agent_roles!(),
            " "
        )
    };
}

pub(super) use agent_select;

/// The conversation columns `rows::route` reads.
macro_rules! route_select {
    () => {
        "SELECT c.id, c.account_id, c.status, c.assignee_id, c.queue_key FROM conversations c "
    };
}

/// The user `u` has no console open and has had none since `$1` or earlier
/// (one who never connected: since they were created).
macro_rules! offline_since {
    () => {
        "NOT EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) \
         AND COALESCE(u.offline_since, u.created_at) <= $1 "
    };
}

/// The database clock in unix milliseconds.
macro_rules! clock {
    () => {
        "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
    };
}
pub(super) use clock;

impl PgStore {
    pub(super) async fn read_agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        sqlx::query(concat!(agent_select!(), "AND u.id = $1"))
            .bind(user.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::agent(&row).map(|agent| agent.state))
            .transpose()
    }

    /// The account's teams by name, each with its members by id.
    pub(super) async fn list_teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        sqlx::query(
            "SELECT t.id, t.name, \
                    COALESCE(array_agg(m.user_id ORDER BY m.user_id) \
                             FILTER (WHERE m.user_id IS NOT NULL), '{}') AS members \
             FROM teams t LEFT JOIN team_members m ON m.team_id = t.id \
             WHERE t.account_id = $1 GROUP BY t.id ORDER BY t.name, t.id",
        )
        .bind(account.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(|row| {
            let members: Vec<Uuid> = row.try_get("members").map_err(from_sqlx)?;
            Ok(Team {
                id: row.uuid("id")?.into(),
                account_id: account,
                name: row.text("name")?,
                members: members.into_iter().map(Into::into).collect(),
            })
        })
        .collect()
    }

    pub(super) async fn read_assignment_log(
        &self,
        conversation: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        sqlx::query(
            "SELECT kind, assignee_id, actor_id, at FROM assignment_log \
             WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(conversation.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::assignment)
        .collect()
    }
}

/// A transaction's connection, seen as a routing transaction.
pub(super) struct PgTx<'c>(pub(super) &'c mut PgConnection);

/// The account's routing lock: a transaction-level advisory lock on a
/// 64-bit key folded from its id. Two accounts sharing a key (a chance of
/// one in 2^64 per pair) would only route one after the other.
fn lock_key(account: AccountId) -> i64 {
    let (high, low) = account.as_uuid().as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

fn at(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    millis_to_time(millis)
}

fn uuids<T: Into<Uuid> + Copy>(ids: &[T]) -> Vec<Uuid> {
    ids.iter().map(|&id| id.into()).collect()
}

impl PgTx<'_> {
    /// Waits for the account's routing lock, held until the transaction
    /// ends. What is read under it must be read by later statements (a
    /// statement's snapshot is taken when it starts).
    pub(super) async fn advisory_lock(&mut self, account: AccountId) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(account))
            .execute(&mut *self.0)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }
}

impl RoutingTx for PgTx<'_> {
    async fn lock(&mut self, account: AccountId) -> Result<i64, StoreError> {
        self.advisory_lock(account).await?;
        // a statement of its own: its clock is read once the lock is held
        sqlx::query_scalar(concat!("SELECT ", clock!(), " FROM accounts WHERE id = $1"))
            .bind(account.as_uuid())
            .fetch_optional(&mut *self.0)
            .await
            .map_err(from_sqlx)?
            .ok_or(StoreError::NotFound)
    }

    async fn clock(&mut self) -> Result<i64, StoreError> {
        sqlx::query_scalar(concat!("SELECT ", clock!()))
            .fetch_one(&mut *self.0)
            .await
            .map_err(from_sqlx)
    }

    async fn agents(&mut self, account: AccountId) -> Result<Vec<AgentRow>, StoreError> {
        sqlx::query(concat!(
            agent_select!(),
            "AND u.account_id = $1 ORDER BY u.id"
        ))
        .bind(account.as_uuid())
        .fetch_all(&mut *self.0)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::agent)
        .collect()
    }

    async fn agent_states(&mut self, users: &[UserId]) -> Result<Vec<AgentState>, StoreError> {
        sqlx::query(concat!(agent_select!(), "AND u.id = ANY($1) ORDER BY u.id"))
            .bind(uuids(users))
            .fetch_all(&mut *self.0)
            .await
            .map_err(from_sqlx)?
            .iter()
            .map(|row| rows::agent(row).map(|agent| agent.state))
            .collect()
    }

    async fn user_home(&mut self, user: UserId) -> Result<Option<(AccountId, bool)>, StoreError> {
        let found: Option<(Uuid, bool)> = sqlx::query_as(concat!(
            "SELECT account_id, role IN ",
            crate::routing::agent_roles!(),
            " FROM users WHERE id = $1"
        ))
        .bind(user.as_uuid())
        .fetch_optional(&mut *self.0)
        .await
        .map_err(from_sqlx)?;
        Ok(found.map(|(account, agent)| (account.into(), agent)))
    }

    async fn inbox_account(&mut self, inbox: InboxId) -> Result<Option<AccountId>, StoreError> {
        let found: Option<Uuid> =
            sqlx::query_scalar("SELECT account_id FROM inboxes WHERE id = $1")
                .bind(inbox.as_uuid())
                .fetch_optional(&mut *self.0)
                .await
                .map_err(from_sqlx)?;
        Ok(found.map(Into::into))
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Option<RouteRow>, StoreError> {
        sqlx::query(concat!(route_select!(), "WHERE c.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.0)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::route(&row))
            .transpose()
    }

    async fn queue(&mut self, account: AccountId) -> Result<Vec<QueueRow>, StoreError> {
        sqlx::query(
            "SELECT c.id, c.queue_key, i.team_id \
             FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
             WHERE c.account_id = $1 AND c.queue_key IS NOT NULL ORDER BY c.queue_key",
        )
        .bind(account.as_uuid())
        .fetch_all(&mut *self.0)
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
        let pairs: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT m.team_id, m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id \
             WHERE t.account_id = $1",
        )
        .bind(account.as_uuid())
        .fetch_all(&mut *self.0)
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
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM conversations \
             WHERE account_id = $1 AND queue_key > $2 ORDER BY queue_key",
        )
        .bind(account.as_uuid())
        .bind(key)
        .fetch_all(&mut *self.0)
        .await
        .map_err(from_sqlx)?;
        Ok(ids.into_iter().map(Into::into).collect())
    }

    async fn write_conversation(&mut self, row: &RouteRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET status = $2, assignee_id = $3, queue_key = $4 WHERE id = $1",
        )
        .bind(row.id.as_uuid())
        .bind(row.status.as_str())
        .bind(row.assignee.map(|u| u.as_uuid()))
        .bind(row.queue_key)
        .execute(&mut *self.0)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn enqueue(&mut self, row: &RouteRow) -> Result<i64, StoreError> {
        // the account's lock is held: no other arrival can take this key
        sqlx::query_scalar(
            "UPDATE conversations SET status = 'open', assignee_id = NULL, \
                    queue_key = (SELECT COALESCE(max(q.queue_key), 0) + 1 FROM conversations q \
                                  WHERE q.account_id = $2 AND q.queue_key IS NOT NULL) \
             WHERE id = $1 RETURNING queue_key",
        )
        .bind(row.id.as_uuid())
        .bind(row.account.as_uuid())
        .fetch_optional(&mut *self.0)
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
        .execute(&mut *self.0)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn log(&mut self, line: LogLine) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(line.conversation.as_uuid())
        .bind(line.kind.as_str())
        .bind(line.assignee.map(|u| u.as_uuid()))
        .bind(line.actor.map(|u| u.as_uuid()))
        .bind(at(line.at)?)
        .execute(&mut *self.0)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn conversations(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        conversations_in(&mut *self.0, ids).await
    }

    async fn set_capacity(&mut self, user: UserId, capacity: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET capacity = $2 WHERE id = $1")
            .bind(user.as_uuid())
            .bind(i64::from(capacity))
            .execute(&mut *self.0)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn set_availability(
        &mut self,
        user: UserId,
        availability: Availability,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET availability = $2 WHERE id = $1")
            .bind(user.as_uuid())
            .bind(availability.as_str())
            .execute(&mut *self.0)
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
        .execute(&mut *self.0)
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
        let closed = sqlx::query("DELETE FROM agent_sessions WHERE user_id = $1 AND node_id = $2")
            .bind(user.as_uuid())
            .bind(node.as_uuid())
            .execute(&mut *self.0)
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
            Consoles::On(node) => (
                "DELETE FROM agent_sessions WHERE node_id = $1 RETURNING user_id",
                node,
            ),
            Consoles::Except(node) => (
                "DELETE FROM agent_sessions WHERE node_id <> $1 RETURNING user_id",
                node,
            ),
        };
        let mut users: Vec<Uuid> = sqlx::query_scalar(sql)
            .bind(node.as_uuid())
            .fetch_all(&mut *self.0)
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
                .fetch_one(&mut *self.0)
                .await
                .map_err(from_sqlx)?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    async fn team(&mut self, team: TeamId) -> Result<Option<Team>, StoreError> {
        let found: Option<(Uuid, String, Vec<Uuid>)> = sqlx::query_as(
            "SELECT t.account_id, t.name, \
                    COALESCE(array_agg(m.user_id ORDER BY m.user_id) \
                             FILTER (WHERE m.user_id IS NOT NULL), '{}') \
             FROM teams t LEFT JOIN team_members m ON m.team_id = t.id \
             WHERE t.id = $1 GROUP BY t.id",
        )
        .bind(team.as_uuid())
        .fetch_optional(&mut *self.0)
        .await
        .map_err(from_sqlx)?;
        Ok(found.map(|(account, name, members)| Team {
            id: team,
            account_id: account.into(),
            name,
            members: members.into_iter().map(Into::into).collect(),
        }))
    }

    async fn insert_team(&mut self, team: &Team, when: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO teams (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(team.id.as_uuid())
            .bind(team.account_id.as_uuid())
            .bind(&team.name)
            .bind(at(when)?)
            .execute(&mut *self.0)
            .await
            .map(drop)
            .map_err(conflict_as("team name already in use"))
    }

    async fn set_members(&mut self, team: TeamId, members: &[UserId]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM team_members WHERE team_id = $1")
            .bind(team.as_uuid())
            .execute(&mut *self.0)
            .await
            .map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO team_members (team_id, user_id) \
             SELECT $1, member FROM unnest($2::uuid[]) AS member",
        )
        .bind(team.as_uuid())
        .bind(uuids(members))
        .execute(&mut *self.0)
        .await
        .map(drop)
        .map_err(from_sqlx)
    }

    async fn delete_team(&mut self, team: TeamId) -> Result<(), StoreError> {
        // inboxes.team_id is set NULL by the foreign key
        sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(team.as_uuid())
            .execute(&mut *self.0)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn set_inbox_team(
        &mut self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE inboxes SET team_id = $2 WHERE id = $1")
            .bind(inbox.as_uuid())
            .bind(team.map(|t| t.as_uuid()))
            .execute(&mut *self.0)
            .await
            .map(drop)
            .map_err(from_sqlx)
    }

    async fn accounts_offline_since(&mut self, before: i64) -> Result<Vec<AccountId>, StoreError> {
        let accounts: Vec<Uuid> = sqlx::query_scalar(concat!(
            "SELECT DISTINCT u.account_id FROM users u WHERE ",
            offline_since!(),
            "AND EXISTS (SELECT 1 FROM conversations c \
                          WHERE c.assignee_id = u.id AND c.status = 'open')"
        ))
        .bind(at(before)?)
        .fetch_all(&mut *self.0)
        .await
        .map_err(from_sqlx)?;
        Ok(accounts.into_iter().map(Into::into).collect())
    }

    async fn offline_assigned(
        &mut self,
        account: AccountId,
        before: i64,
    ) -> Result<Vec<RouteRow>, StoreError> {
        sqlx::query(concat!(
            route_select!(),
            "JOIN users u ON u.id = c.assignee_id \
             WHERE c.account_id = $2 AND c.status = 'open' AND ",
            offline_since!(),
            "ORDER BY c.created_at, c.id"
        ))
        .bind(at(before)?)
        .bind(account.as_uuid())
        .fetch_all(&mut *self.0)
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
        .fetch_all(&mut *self.0)
        .await
        .map_err(from_sqlx)?;
        Ok(offline.into_iter().map(Into::into).collect())
    }
}
