//! Routing on SQLite: the statements of [`RoutingTx`], run by the writer
//! thread inside its transaction, and the reads of teams, agents and the
//! assignment log on the pool. The writer runs one job at a time, which is
//! the whole of the per-account lock here; the process clock is the only
//! clock.

use rusqlite::{Connection, OptionalExtension, Params, Row, named_params, params};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{AgentState, AssignmentRecord, Availability, Conversation, Team};
use uuid::Uuid;

use super::conversations::conversation_in;
use super::{SqliteStore, now_millis};
use crate::error::{from_rusqlite, from_sqlx, rusqlite_conflict_as};
use crate::routing::{AgentRow, Consoles, LogLine, QueueRow, RouteRow, RoutingTx};
use crate::rows::{self, Columns};

/// The agent columns `rows::agent` reads; the condition follows.
macro_rules! agent_select {
    () => {
        concat!(
            "SELECT u.id, u.account_id, u.name, u.capacity, u.availability, u.last_assigned_at, \
                    EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) AS online, \
                    (SELECT COUNT(*) FROM conversations c \
                      WHERE c.assignee_id = u.id AND c.status = 'open') AS load \
             FROM users u WHERE u.role IN ",
            crate::routing::agent_roles!(),
            " "
        )
    };
}

/// The conversation columns `rows::route` reads.
macro_rules! route_select {
    () => {
        "SELECT c.id, c.account_id, c.status, c.assignee_id, c.queue_key FROM conversations c "
    };
}

/// The user `u` has no console open and has had none since `?1` or earlier
/// (one who never connected: since they were created).
macro_rules! offline_since {
    () => {
        "NOT EXISTS (SELECT 1 FROM agent_sessions s WHERE s.user_id = u.id) \
         AND COALESCE(u.offline_since, u.created_at) <= ?1 "
    };
}

impl SqliteStore {
    pub(super) async fn read_agent(&self, user: UserId) -> Result<Option<AgentState>, StoreError> {
        sqlx::query(concat!(agent_select!(), "AND u.id = $1"))
            .bind(user.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?
            .map(|row| rows::agent(&row).map(|agent| agent.state))
            .transpose()
    }

    /// The account's teams by name, each with its members by id.
    pub(super) async fn list_teams(&self, account: AccountId) -> Result<Vec<Team>, StoreError> {
        let mut teams: Vec<Team> = Vec::new();
        let rows = sqlx::query(
            "SELECT t.id, t.name, m.user_id FROM teams t \
             LEFT JOIN team_members m ON m.team_id = t.id \
             WHERE t.account_id = $1 ORDER BY t.name, t.id, m.user_id",
        )
        .bind(account.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        for row in &rows {
            let id: TeamId = row.uuid("id")?.into();
            if teams.last().is_none_or(|team| team.id != id) {
                teams.push(Team {
                    id,
                    account_id: account,
                    name: row.text("name")?,
                    members: Vec::new(),
                });
            }
            if let (Some(team), Some(member)) = (teams.last_mut(), row.opt_uuid("user_id")?) {
                team.members.push(member.into());
            }
        }
        Ok(teams)
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
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?
        .iter()
        .map(rows::assignment)
        .collect()
    }
}

/// The writer's connection, seen as a routing transaction.
pub(super) struct SqliteTx<'c>(pub(super) &'c Connection);

impl SqliteTx<'_> {
    fn execute(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        self.0
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(from_rusqlite)
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut statement = self.0.prepare_cached(sql).map_err(from_rusqlite)?;
        let mut rows = statement.query(params).map_err(from_rusqlite)?;
        match rows.next().map_err(from_rusqlite)? {
            Some(row) => read(row).map(Some),
            None => Ok(None),
        }
    }

    fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut read: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.0.prepare_cached(sql).map_err(from_rusqlite)?;
        let mut rows = statement.query(params).map_err(from_rusqlite)?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().map_err(from_rusqlite)? {
            all.push(read(row)?);
        }
        Ok(all)
    }

    fn scalar<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        params: impl Params,
    ) -> Result<Option<T>, StoreError> {
        self.0
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, |row| row.get(0)).optional())
            .map_err(from_rusqlite)
    }

    /// A console of `user` went: with none left, they are offline since
    /// `at` (only at that moment, so a repeated call moves nothing).
    fn offline_if_gone(&self, user: UserId, at: i64) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE users SET offline_since = ?2 \
             WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM agent_sessions WHERE user_id = ?1)",
            params![user.as_uuid(), at],
        )? > 0)
    }
}

fn uuid(row: &Row<'_>) -> Result<Uuid, StoreError> {
    row.get(0).map_err(from_rusqlite)
}

impl RoutingTx for SqliteTx<'_> {
    async fn lock(&mut self, account: AccountId) -> Result<i64, StoreError> {
        // the writer runs one job at a time: checking the account is all
        self.scalar::<i64>("SELECT 1 FROM accounts WHERE id = ?1", [account.as_uuid()])?
            .ok_or(StoreError::NotFound)?;
        Ok(now_millis())
    }

    async fn clock(&mut self) -> Result<i64, StoreError> {
        Ok(now_millis())
    }

    async fn agents(&mut self, account: AccountId) -> Result<Vec<AgentRow>, StoreError> {
        self.all(
            concat!(agent_select!(), "AND u.account_id = $1 ORDER BY u.id"),
            named_params! { "$1": account.as_uuid() },
            |row| rows::agent(row),
        )
    }

    async fn agent_states(&mut self, users: &[UserId]) -> Result<Vec<AgentState>, StoreError> {
        let mut states = Vec::new();
        for user in users {
            if let Some(agent) = self.one(
                concat!(agent_select!(), "AND u.id = $1"),
                named_params! { "$1": user.as_uuid() },
                |row| rows::agent(row),
            )? {
                states.push(agent.state);
            }
        }
        Ok(states)
    }

    async fn user_home(&mut self, user: UserId) -> Result<Option<(AccountId, bool)>, StoreError> {
        self.one(
            concat!(
                "SELECT account_id, role IN ",
                crate::routing::agent_roles!(),
                " FROM users WHERE id = ?1"
            ),
            [user.as_uuid()],
            |row| {
                let account: Uuid = row.get(0).map_err(from_rusqlite)?;
                Ok((account.into(), row.get(1).map_err(from_rusqlite)?))
            },
        )
    }

    async fn inbox_account(&mut self, inbox: InboxId) -> Result<Option<AccountId>, StoreError> {
        Ok(self
            .scalar::<Uuid>(
                "SELECT account_id FROM inboxes WHERE id = ?1",
                [inbox.as_uuid()],
            )?
            .map(Into::into))
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Option<RouteRow>, StoreError> {
        self.one(
            concat!(route_select!(), "WHERE c.id = ?1"),
            [id.as_uuid()],
            |row| rows::route(row),
        )
    }

    async fn queue(&mut self, account: AccountId) -> Result<Vec<QueueRow>, StoreError> {
        self.all(
            "SELECT c.id, c.queue_key, i.team_id \
             FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
             WHERE c.account_id = ?1 AND c.queue_key IS NOT NULL ORDER BY c.queue_key",
            [account.as_uuid()],
            |row| rows::queued(row),
        )
    }

    async fn team_members(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(TeamId, UserId)>, StoreError> {
        self.all(
            "SELECT m.team_id, m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id \
             WHERE t.account_id = ?1",
            [account.as_uuid()],
            |row| {
                let team: Uuid = row.get(0).map_err(from_rusqlite)?;
                let user: Uuid = row.get(1).map_err(from_rusqlite)?;
                Ok((team.into(), user.into()))
            },
        )
    }

    async fn queued_after(
        &mut self,
        account: AccountId,
        key: i64,
    ) -> Result<Vec<ConversationId>, StoreError> {
        self.all(
            "SELECT id FROM conversations \
             WHERE account_id = ?1 AND queue_key > ?2 ORDER BY queue_key",
            params![account.as_uuid(), key],
            |row| uuid(row).map(Into::into),
        )
    }

    async fn write_conversation(&mut self, row: &RouteRow) -> Result<(), StoreError> {
        self.execute(
            "UPDATE conversations SET status = ?2, assignee_id = ?3, queue_key = ?4 WHERE id = ?1",
            params![
                row.id.as_uuid(),
                row.status.as_str(),
                row.assignee.map(|u| u.as_uuid()),
                row.queue_key
            ],
        )
        .map(drop)
    }

    async fn enqueue(&mut self, row: &RouteRow) -> Result<i64, StoreError> {
        self.scalar(
            "UPDATE conversations SET status = 'open', assignee_id = NULL, \
                    queue_key = (SELECT COALESCE(MAX(q.queue_key), 0) + 1 FROM conversations q \
                                  WHERE q.account_id = ?2 AND q.queue_key IS NOT NULL) \
             WHERE id = ?1 RETURNING queue_key",
            params![row.id.as_uuid(), row.account.as_uuid()],
        )?
        .ok_or(StoreError::NotFound)
    }

    async fn record_assignment(&mut self, line: LogLine) -> Result<(), StoreError> {
        let agent = line.assignee.map(|u| u.as_uuid());
        self.execute(
            "UPDATE conversations SET status = 'open', assignee_id = ?2, queue_key = NULL \
             WHERE id = ?1",
            params![line.conversation.as_uuid(), agent],
        )?;
        self.execute(
            "UPDATE users SET last_assigned_at = ?2 WHERE id = ?1",
            params![agent, line.at],
        )?;
        self.log(line).await
    }

    async fn log(&mut self, line: LogLine) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO assignment_log (conversation_id, kind, assignee_id, actor_id, at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                line.conversation.as_uuid(),
                line.kind.as_str(),
                line.assignee.map(|u| u.as_uuid()),
                line.actor.map(|u| u.as_uuid()),
                line.at
            ],
        )
        .map(drop)
    }

    async fn conversations(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for &id in ids {
            found.extend(conversation_in(self.0, id)?);
        }
        Ok(found)
    }

    async fn set_capacity(&mut self, user: UserId, capacity: u32) -> Result<(), StoreError> {
        self.execute(
            "UPDATE users SET capacity = ?2 WHERE id = ?1",
            params![user.as_uuid(), i64::from(capacity)],
        )
        .map(drop)
    }

    async fn set_availability(
        &mut self,
        user: UserId,
        availability: Availability,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE users SET availability = ?2 WHERE id = ?1",
            params![user.as_uuid(), availability.as_str()],
        )
        .map(drop)
    }

    async fn open_console(
        &mut self,
        user: UserId,
        node: NodeId,
        at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO agent_sessions (user_id, node_id, since) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
            params![user.as_uuid(), node.as_uuid(), at],
        )?;
        self.execute(
            "UPDATE users SET offline_since = NULL WHERE id = ?1",
            [user.as_uuid()],
        )
        .map(drop)
    }

    async fn close_console(
        &mut self,
        user: UserId,
        node: NodeId,
        at: i64,
    ) -> Result<(), StoreError> {
        let closed = self.execute(
            "DELETE FROM agent_sessions WHERE user_id = ?1 AND node_id = ?2",
            params![user.as_uuid(), node.as_uuid()],
        )?;
        if closed > 0 {
            self.offline_if_gone(user, at)?;
        }
        Ok(())
    }

    async fn close_consoles(
        &mut self,
        which: Consoles,
        at: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let (sql, node) = match which {
            Consoles::On(node) => (
                "DELETE FROM agent_sessions WHERE node_id = ?1 RETURNING user_id",
                node,
            ),
            Consoles::Except(node) => (
                "DELETE FROM agent_sessions WHERE node_id <> ?1 RETURNING user_id",
                node,
            ),
        };
        let mut users: Vec<UserId> =
            self.all(sql, [node.as_uuid()], |row| uuid(row).map(Into::into))?;
        users.sort_unstable();
        users.dedup();
        let mut offline = Vec::with_capacity(users.len());
        for user in users {
            if self.offline_if_gone(user, at)? {
                offline.push(user);
            }
        }
        Ok(offline)
    }

    async fn count_users(
        &mut self,
        account: AccountId,
        users: &[UserId],
    ) -> Result<usize, StoreError> {
        let mut count = 0;
        for user in users {
            let found = self.scalar::<i64>(
                "SELECT 1 FROM users WHERE id = ?1 AND account_id = ?2",
                params![user.as_uuid(), account.as_uuid()],
            )?;
            count += usize::from(found.is_some());
        }
        Ok(count)
    }

    async fn team(&mut self, team: TeamId) -> Result<Option<Team>, StoreError> {
        let Some((account, name)) = self.one(
            "SELECT account_id, name FROM teams WHERE id = ?1",
            [team.as_uuid()],
            |row| {
                let account: Uuid = row.get(0).map_err(from_rusqlite)?;
                Ok((account, row.get::<_, String>(1).map_err(from_rusqlite)?))
            },
        )?
        else {
            return Ok(None);
        };
        let members = self.all(
            "SELECT user_id FROM team_members WHERE team_id = ?1 ORDER BY user_id",
            [team.as_uuid()],
            |row| uuid(row).map(Into::into),
        )?;
        Ok(Some(Team {
            id: team,
            account_id: account.into(),
            name,
            members,
        }))
    }

    async fn insert_team(&mut self, team: &Team, at: i64) -> Result<(), StoreError> {
        self.0
            .prepare_cached(
                "INSERT INTO teams (id, account_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    team.id.as_uuid(),
                    team.account_id.as_uuid(),
                    team.name,
                    at
                ])
            })
            .map(drop)
            .map_err(rusqlite_conflict_as("team name already in use"))
    }

    async fn set_members(&mut self, team: TeamId, members: &[UserId]) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM team_members WHERE team_id = ?1",
            [team.as_uuid()],
        )?;
        for member in members {
            self.execute(
                "INSERT INTO team_members (team_id, user_id) VALUES (?1, ?2)",
                params![team.as_uuid(), member.as_uuid()],
            )?;
        }
        Ok(())
    }

    async fn delete_team(&mut self, team: TeamId) -> Result<(), StoreError> {
        // inboxes.team_id is set NULL by the foreign key
        self.execute("DELETE FROM teams WHERE id = ?1", [team.as_uuid()])
            .map(drop)
    }

    async fn set_inbox_team(
        &mut self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE inboxes SET team_id = ?2 WHERE id = ?1",
            params![inbox.as_uuid(), team.map(|t| t.as_uuid())],
        )
        .map(drop)
    }

    async fn accounts_offline_since(&mut self, before: i64) -> Result<Vec<AccountId>, StoreError> {
        self.all(
            concat!(
                "SELECT DISTINCT u.account_id FROM users u WHERE ",
                offline_since!(),
                "AND EXISTS (SELECT 1 FROM conversations c \
                              WHERE c.assignee_id = u.id AND c.status = 'open')"
            ),
            [before],
            |row| uuid(row).map(Into::into),
        )
    }

    async fn offline_assigned(
        &mut self,
        account: AccountId,
        before: i64,
    ) -> Result<Vec<RouteRow>, StoreError> {
        self.all(
            concat!(
                route_select!(),
                "JOIN users u ON u.id = c.assignee_id \
                 WHERE c.account_id = ?2 AND c.status = 'open' AND ",
                offline_since!(),
                "ORDER BY c.created_at, c.id"
            ),
            params![before, account.as_uuid()],
            |row| rows::route(row),
        )
    }
}
