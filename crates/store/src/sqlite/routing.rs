//! Routing's statements ([`RoutingTx`]) on SQLite, run by the writer
//! thread inside its transaction. The writer runs one job at a time, which
//! is the whole of the per-account lock here.

use rusqlite::{Row, named_params};
use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{AgentState, Availability, Conversation, Team};
use uuid::Uuid;

use super::tx::SqliteTx;
use crate::error::from_rusqlite;
use crate::routing::{AgentRow, Consoles, LogLine, QueueRow, RouteRow, RoutingTx};
use crate::rows;
use crate::sql;

fn uuid(row: &Row<'_>) -> Result<Uuid, StoreError> {
    row.get(0).map_err(from_rusqlite)
}

impl SqliteTx<'_> {
    /// A console of `user` went: with none left, they are offline since
    /// `at` (only at that moment, so a repeated call moves nothing).
    fn offline_if_gone(&self, user: UserId, at: i64) -> Result<bool, StoreError> {
        Ok(self.execute(
            "UPDATE users SET offline_since = $2 \
             WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM agent_sessions WHERE user_id = $1)",
            named_params! { "$1": user.as_uuid(), "$2": at },
        )? > 0)
    }
}

impl RoutingTx for SqliteTx<'_> {
    async fn lock(&mut self, account: AccountId) -> Result<i64, StoreError> {
        // the writer runs one job at a time: checking the account is all
        self.scalar::<i64>(
            "SELECT 1 FROM accounts WHERE id = $1",
            named_params! { "$1": account.as_uuid() },
        )?
        .ok_or(StoreError::NotFound)?;
        Ok(self.now())
    }

    async fn clock(&mut self) -> Result<i64, StoreError> {
        Ok(self.now())
    }

    async fn agents(&mut self, account: AccountId) -> Result<Vec<AgentRow>, StoreError> {
        self.all(
            sql::AGENTS_OF_ACCOUNT,
            named_params! { "$1": account.as_uuid() },
            |row| rows::agent(row),
        )
    }

    async fn agent_states(&mut self, users: &[UserId]) -> Result<Vec<AgentState>, StoreError> {
        let mut states = Vec::new();
        for user in users {
            if let Some(agent) = self.one(
                sql::AGENT_BY_ID,
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
            sql::USER_HOME,
            named_params! { "$1": user.as_uuid() },
            |row| {
                let account: Uuid = row.get(0).map_err(from_rusqlite)?;
                Ok((account.into(), row.get(1).map_err(from_rusqlite)?))
            },
        )
    }

    async fn inbox_account(&mut self, inbox: InboxId) -> Result<Option<AccountId>, StoreError> {
        Ok(self
            .scalar::<Uuid>(sql::INBOX_ACCOUNT, named_params! { "$1": inbox.as_uuid() })?
            .map(Into::into))
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Option<RouteRow>, StoreError> {
        self.one(
            sql::ROUTE_BY_ID,
            named_params! { "$1": id.as_uuid() },
            |row| rows::route(row),
        )
    }

    async fn queue(&mut self, account: AccountId) -> Result<Vec<QueueRow>, StoreError> {
        self.all(
            sql::QUEUE,
            named_params! { "$1": account.as_uuid() },
            |row| rows::queued(row),
        )
    }

    async fn team_members(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(TeamId, UserId)>, StoreError> {
        self.all(
            sql::TEAM_MEMBERS_OF_ACCOUNT,
            named_params! { "$1": account.as_uuid() },
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
            sql::QUEUED_AFTER,
            named_params! { "$1": account.as_uuid(), "$2": key },
            |row| uuid(row).map(Into::into),
        )
    }

    async fn write_conversation(&mut self, row: &RouteRow) -> Result<(), StoreError> {
        self.execute(
            sql::WRITE_CONVERSATION,
            named_params! {
                "$1": row.id.as_uuid(),
                "$2": row.status.as_str(),
                "$3": row.assignee.map(|u| u.as_uuid()),
                "$4": row.queue_key,
            },
        )
        .map(drop)
    }

    async fn enqueue(&mut self, row: &RouteRow) -> Result<i64, StoreError> {
        self.scalar(
            sql::ENQUEUE,
            named_params! { "$1": row.id.as_uuid(), "$2": row.account.as_uuid() },
        )?
        .ok_or(StoreError::NotFound)
    }

    async fn record_assignment(&mut self, line: LogLine) -> Result<(), StoreError> {
        let agent = line.assignee.map(|u| u.as_uuid());
        self.execute(
            "UPDATE conversations SET status = 'open', assignee_id = $2, queue_key = NULL \
             WHERE id = $1",
            named_params! { "$1": line.conversation.as_uuid(), "$2": agent },
        )?;
        self.execute(
            "UPDATE users SET last_assigned_at = $2 WHERE id = $1",
            named_params! { "$1": agent, "$2": line.at },
        )?;
        self.log(line).await
    }

    async fn log(&mut self, line: LogLine) -> Result<(), StoreError> {
        self.execute(
            sql::LOG_LINE,
            named_params! {
                "$1": line.conversation.as_uuid(),
                "$2": line.kind.as_str(),
                "$3": line.assignee.map(|u| u.as_uuid()),
                "$4": line.actor.map(|u| u.as_uuid()),
                "$5": line.at,
            },
        )
        .map(drop)
    }

    async fn conversations(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        self.cards(ids)
    }

    async fn set_capacity(&mut self, user: UserId, capacity: u32) -> Result<(), StoreError> {
        self.execute(
            sql::SET_CAPACITY,
            named_params! { "$1": user.as_uuid(), "$2": i64::from(capacity) },
        )
        .map(drop)
    }

    async fn set_availability(
        &mut self,
        user: UserId,
        availability: Availability,
    ) -> Result<(), StoreError> {
        self.execute(
            sql::SET_AVAILABILITY,
            named_params! { "$1": user.as_uuid(), "$2": availability.as_str() },
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
            "INSERT INTO agent_sessions (user_id, node_id, since) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            named_params! { "$1": user.as_uuid(), "$2": node.as_uuid(), "$3": at },
        )?;
        self.execute(
            "UPDATE users SET offline_since = NULL WHERE id = $1",
            named_params! { "$1": user.as_uuid() },
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
            sql::CLOSE_CONSOLE,
            named_params! { "$1": user.as_uuid(), "$2": node.as_uuid() },
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
            Consoles::On(node) => (sql::CLOSE_CONSOLES_ON, node),
            Consoles::Except(node) => (sql::CLOSE_CONSOLES_EXCEPT, node),
        };
        let mut users: Vec<UserId> =
            self.all(sql, named_params! { "$1": node.as_uuid() }, |row| {
                uuid(row).map(Into::into)
            })?;
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
                "SELECT 1 FROM users WHERE id = $1 AND account_id = $2",
                named_params! { "$1": user.as_uuid(), "$2": account.as_uuid() },
            )?;
            count += usize::from(found.is_some());
        }
        Ok(count)
    }

    async fn team(&mut self, team: TeamId) -> Result<Option<Team>, StoreError> {
        let found = self.all(
            sql::TEAM_BY_ID,
            named_params! { "$1": team.as_uuid() },
            |row| rows::team_row(row),
        )?;
        Ok(rows::teams(found).pop())
    }

    async fn insert_team(&mut self, team: &Team, at: i64) -> Result<(), StoreError> {
        self.execute_unique(
            "team name already in use",
            sql::TEAM_INSERT,
            named_params! {
                "$1": team.id.as_uuid(),
                "$2": team.account_id.as_uuid(),
                "$3": team.name,
                "$4": at,
            },
        )
        .map(drop)
    }

    async fn set_members(&mut self, team: TeamId, members: &[UserId]) -> Result<(), StoreError> {
        self.execute(
            sql::TEAM_MEMBERS_DELETE,
            named_params! { "$1": team.as_uuid() },
        )?;
        for member in members {
            self.execute(
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)",
                named_params! { "$1": team.as_uuid(), "$2": member.as_uuid() },
            )?;
        }
        Ok(())
    }

    async fn delete_team(&mut self, team: TeamId) -> Result<(), StoreError> {
        self.execute(sql::TEAM_DELETE, named_params! { "$1": team.as_uuid() })
            .map(drop)
    }

    async fn set_inbox_team(
        &mut self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<(), StoreError> {
        self.execute(
            sql::SET_INBOX_TEAM,
            named_params! { "$1": inbox.as_uuid(), "$2": team.map(|t| t.as_uuid()) },
        )
        .map(drop)
    }

    async fn accounts_offline_since(&mut self, before: i64) -> Result<Vec<AccountId>, StoreError> {
        self.all(
            sql::ACCOUNTS_OFFLINE_SINCE,
            named_params! { "$1": before },
            |row| uuid(row).map(Into::into),
        )
    }

    async fn offline_assigned(
        &mut self,
        account: AccountId,
        before: i64,
    ) -> Result<Vec<RouteRow>, StoreError> {
        self.all(
            sql::OFFLINE_ASSIGNED,
            named_params! { "$1": before, "$2": account.as_uuid() },
            |row| rows::route(row),
        )
    }
}
