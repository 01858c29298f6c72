//! The statements routing runs ([`RoutingTx`]), written once: each
//! provided method is the portable statement (or a few), which SQLite's
//! writer runs as it stands; a backend overrides one where it has a faster
//! way (Postgres: one statement over an array, or a CTE, instead of one
//! round trip per row; see `postgres::routing`). What a backend must write
//! itself is what has no portable form: the account's lock and the clock.

use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{AgentState, Availability, Conversation, Team};

use super::answerers::PARAMETERS;
use super::{Consoles, LogLine};
use crate::error::conflict_as;
use crate::rows::{self, AgentRow, QueueRow, RouteRow};
use crate::sql;
use crate::statement::{Statements, Value, id};

/// The statements routing runs, inside the caller's transaction. Times are
/// unix milliseconds on the backend's clock (the database's on Postgres).
#[allow(async_fn_in_trait)]
pub(crate) trait RoutingTx: Statements {
    /// Takes the account's routing lock until the transaction ends, and
    /// returns the time to record for what happens under it.
    /// [`StoreError::NotFound`] when there is no such account.
    async fn lock(&mut self, account: AccountId) -> Result<i64, StoreError>;
    /// The time, for writes that take no lock.
    async fn clock(&mut self) -> Result<i64, StoreError>;

    /// The account's agents with their loads, by id.
    async fn agents(&mut self, account: AccountId) -> Result<Vec<AgentRow>, StoreError> {
        self.all(Self::SQL.agents_of_account, &[account.into()], rows::agent)
            .await
    }

    /// These users' states, if they are agents.
    async fn agent_states(&mut self, users: &[UserId]) -> Result<Vec<AgentState>, StoreError> {
        let mut states = Vec::with_capacity(users.len());
        for &user in users {
            if let Some(agent) = self
                .one(Self::SQL.agent_by_id, &[user.into()], rows::agent)
                .await?
            {
                states.push(agent.state);
            }
        }
        Ok(states)
    }

    /// A user's account, and whether they are an agent.
    async fn user_home(&mut self, user: UserId) -> Result<Option<(AccountId, bool)>, StoreError> {
        self.one(Self::SQL.user_home, &[user.into()], |row| {
            Ok((id(row, "account_id")?, row.flag("agent")?))
        })
        .await
    }

    async fn inbox_account(&mut self, inbox: InboxId) -> Result<Option<AccountId>, StoreError> {
        self.one(sql::INBOX_ACCOUNT, &[inbox.into()], |row| {
            id(row, "account_id")
        })
        .await
    }

    async fn conversation(&mut self, id: ConversationId) -> Result<Option<RouteRow>, StoreError> {
        self.one(sql::ROUTE_BY_ID, &[id.into()], rows::route).await
    }

    /// The account's queue, oldest first.
    async fn queue(&mut self, account: AccountId) -> Result<Vec<QueueRow>, StoreError> {
        self.all(sql::QUEUE, &[account.into()], rows::queued).await
    }

    /// Who may answer the conversations of which inbox of the account
    /// (only `conversation`'s inbox, and only `user`, when given): see
    /// [`answerers`](super::answerers).
    async fn answerers(
        &mut self,
        account: AccountId,
        conversation: Option<ConversationId>,
        user: Option<UserId>,
    ) -> Result<Vec<(InboxId, UserId)>, StoreError> {
        let p = &*PARAMETERS;
        let params = [
            account.into(),
            conversation.into(),
            user.into(),
            p.answer_roles.as_str().into(),
            p.answer_word.as_str().into(),
            p.view_roles.as_str().into(),
            p.view_word.as_str().into(),
            p.view_assigned_word.as_str().into(),
        ];
        self.all(Self::SQL.answerers, &params, |row| {
            Ok((id(row, "inbox_id")?, id(row, "user_id")?))
        })
        .await
    }

    /// Every (team, member) pair of the account.
    async fn team_members(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(TeamId, UserId)>, StoreError> {
        self.all(sql::TEAM_MEMBERS_OF_ACCOUNT, &[account.into()], |row| {
            Ok((id(row, "team_id")?, id(row, "user_id")?))
        })
        .await
    }

    /// The conversations queued behind `key`, in order.
    async fn queued_after(
        &mut self,
        account: AccountId,
        key: i64,
    ) -> Result<Vec<ConversationId>, StoreError> {
        self.all(sql::QUEUED_AFTER, &[account.into(), key.into()], |row| {
            id(row, "id")
        })
        .await
    }

    /// Puts an open conversation at the back of its account's queue, with
    /// no assignee; returns its queue key (one more than the largest).
    async fn enqueue(&mut self, row: &RouteRow) -> Result<i64, StoreError> {
        self.one(sql::ENQUEUE, &[row.id.into(), row.account.into()], |row| {
            row.int("queue_key")
        })
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// Assigns the conversation of `line` to its assignee (open, out of the
    /// queue), records it as their last assignment at `line.at`, and logs
    /// the line.
    async fn record_assignment(&mut self, line: LogLine) -> Result<(), StoreError> {
        self.execute(
            "UPDATE conversations SET status = 'open', assignee_id = $2, queue_key = NULL \
             WHERE id = $1",
            &[line.conversation.into(), line.assignee.into()],
        )
        .await?;
        self.execute(
            "UPDATE users SET last_assigned_at = $2 WHERE id = $1",
            &[line.assignee.into(), Value::millis(line.at)?],
        )
        .await?;
        self.log(line).await
    }

    /// Writes the conversation's status, assignee and queue key.
    async fn write_conversation(&mut self, row: &RouteRow) -> Result<(), StoreError> {
        let params = [
            row.id.into(),
            row.status.as_str().into(),
            row.assignee.into(),
            row.queue_key.into(),
        ];
        self.execute(sql::WRITE_CONVERSATION, &params)
            .await
            .map(drop)
    }

    async fn log(&mut self, line: LogLine) -> Result<(), StoreError> {
        let params = [
            line.conversation.into(),
            line.kind.as_str().into(),
            line.assignee.into(),
            line.actor.into(),
            Value::millis(line.at)?,
        ];
        self.execute(sql::LOG_LINE, &params).await.map(drop)
    }

    /// The conversations as the inbox list shows them (in any order; those
    /// not found left out).
    async fn conversations(
        &mut self,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for &id in ids {
            let params = [Value::Clock, id.into()];
            found.extend(
                self.one(Self::SQL.conversation_by_id, &params, rows::conversation)
                    .await?,
            );
        }
        Ok(found)
    }

    async fn set_capacity(&mut self, user: UserId, capacity: u32) -> Result<(), StoreError> {
        let params = [user.into(), i64::from(capacity).into()];
        self.execute(sql::SET_CAPACITY, &params).await.map(drop)
    }

    async fn set_availability(
        &mut self,
        user: UserId,
        availability: Availability,
    ) -> Result<(), StoreError> {
        let params = [user.into(), availability.as_str().into()];
        self.execute(sql::SET_AVAILABILITY, &params).await.map(drop)
    }

    /// Records a console of `user` on `node`; they are online.
    async fn open_console(
        &mut self,
        user: UserId,
        node: NodeId,
        at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO agent_sessions (user_id, node_id, since) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[user.into(), node.into(), Value::millis(at)?],
        )
        .await?;
        self.execute(
            "UPDATE users SET offline_since = NULL WHERE id = $1",
            &[user.into()],
        )
        .await
        .map(drop)
    }

    /// Locks these users' rows until the transaction ends, where writers
    /// run side by side (Postgres); SQLite's one writer needs nothing.
    async fn lock_users(&mut self, _users: &[UserId]) -> Result<(), StoreError> {
        Ok(())
    }

    /// Records one more console of `user`, on `node`, if they already have
    /// one open somewhere: then being online does not change and routing
    /// has nothing to do. `false` (and nothing written) when they have
    /// none: opening the first is [`RoutingTx::open_console`], under the
    /// account's lock. The user's row is locked first, as closing a last
    /// console locks it ([`RoutingTx::offline_if_gone`]), so this sees
    /// either that console or its closing, never a console that is gone
    /// while the closing missed this one (a statement after the lock sees
    /// what committed before it).
    async fn add_console(
        &mut self,
        user: UserId,
        node: NodeId,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.lock_users(&[user]).await?;
        let online = self
            .one(
                "SELECT 1 AS one FROM agent_sessions WHERE user_id = $1 LIMIT 1",
                &[user.into()],
                |_| Ok(()),
            )
            .await?
            .is_some();
        if online {
            self.execute(
                "INSERT INTO agent_sessions (user_id, node_id, since) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[user.into(), node.into(), Value::millis(at)?],
            )
            .await?;
        }
        Ok(online)
    }

    /// Forgets a console; with none left anywhere, `user` is offline since `at`.
    async fn close_console(
        &mut self,
        user: UserId,
        node: NodeId,
        at: i64,
    ) -> Result<(), StoreError> {
        let closed = self
            .execute(sql::CLOSE_CONSOLE, &[user.into(), node.into()])
            .await?;
        if closed > 0 {
            self.offline_if_gone(&[user], at).await?;
        }
        Ok(())
    }

    /// Forgets the consoles of nodes that are gone; returns the users who
    /// have none left (offline since `at`).
    async fn close_consoles(
        &mut self,
        which: Consoles,
        at: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let (sql, node) = match which {
            Consoles::On(node) => (sql::CLOSE_CONSOLES_ON, node),
            Consoles::Except(node) => (sql::CLOSE_CONSOLES_EXCEPT, node),
        };
        let mut users: Vec<UserId> = self
            .all(sql, &[node.into()], |row| id(row, "user_id"))
            .await?;
        users.sort_unstable();
        users.dedup();
        self.offline_if_gone(&users, at).await
    }

    /// Consoles of `users` went: those with none left are offline since
    /// `at` (only at that moment, so a repeated call moves nothing);
    /// returns them.
    async fn offline_if_gone(
        &mut self,
        users: &[UserId],
        at: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut offline = Vec::with_capacity(users.len());
        for &user in users {
            let gone = self
                .execute(
                    "UPDATE users SET offline_since = $2 \
                     WHERE id = $1 \
                       AND NOT EXISTS (SELECT 1 FROM agent_sessions WHERE user_id = $1)",
                    &[user.into(), Value::millis(at)?],
                )
                .await?;
            if gone > 0 {
                offline.push(user);
            }
        }
        Ok(offline)
    }

    /// How many of `users` (distinct) belong to the account.
    async fn count_users(
        &mut self,
        account: AccountId,
        users: &[UserId],
    ) -> Result<usize, StoreError> {
        let mut count = 0;
        for &user in users {
            let found = self
                .one(
                    "SELECT 1 FROM users WHERE id = $1 AND account_id = $2",
                    &[user.into(), account.into()],
                    |_| Ok(()),
                )
                .await?;
            count += usize::from(found.is_some());
        }
        Ok(count)
    }

    /// The team with its members.
    async fn team(&mut self, team: TeamId) -> Result<Option<Team>, StoreError> {
        let found = self
            .all(sql::TEAM_BY_ID, &[team.into()], rows::team_row)
            .await?;
        Ok(rows::teams(found).pop())
    }

    async fn insert_team(&mut self, team: &Team, at: i64) -> Result<(), StoreError> {
        let params = [
            team.id.into(),
            team.account_id.into(),
            team.name.as_str().into(),
            Value::millis(at)?,
        ];
        self.execute(sql::TEAM_INSERT, &params)
            .await
            .map(drop)
            .map_err(conflict_as("team name already in use"))
    }

    async fn set_members(&mut self, team: TeamId, members: &[UserId]) -> Result<(), StoreError> {
        self.execute(sql::TEAM_MEMBERS_DELETE, &[team.into()])
            .await?;
        for &member in members {
            self.execute(
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)",
                &[team.into(), member.into()],
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_team(&mut self, team: TeamId) -> Result<(), StoreError> {
        self.execute(sql::TEAM_DELETE, &[team.into()])
            .await
            .map(drop)
    }

    async fn set_inbox_team(
        &mut self,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<(), StoreError> {
        self.execute(sql::SET_INBOX_TEAM, &[inbox.into(), team.into()])
            .await
            .map(drop)
    }

    /// Accounts with open conversations assigned to agents offline since
    /// `before` or earlier.
    async fn accounts_offline_since(&mut self, before: i64) -> Result<Vec<AccountId>, StoreError> {
        self.all(
            sql::ACCOUNTS_OFFLINE_SINCE,
            &[Value::millis(before)?],
            |row| id(row, "account_id"),
        )
        .await
    }

    /// Those conversations of the account, oldest first.
    async fn offline_assigned(
        &mut self,
        account: AccountId,
        before: i64,
    ) -> Result<Vec<RouteRow>, StoreError> {
        let params = [Value::millis(before)?, account.into()];
        self.all(sql::OFFLINE_ASSIGNED, &params, rows::route).await
    }
}
