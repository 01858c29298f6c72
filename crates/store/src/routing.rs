//! Routing (teams, agents, assignment, the Unassigned queue), written once
//! for both backends.
//!
//! Each operation runs inside one transaction that first takes the
//! account's routing lock ([`RoutingTx::lock`]: on Postgres an advisory
//! lock keyed by the account, so that assigners on every node line up; on
//! SQLite nothing, its single writer thread runs one job at a time). Under
//! it the operation reads a snapshot of the account's agents (capacity,
//! load, availability, consoles, last assignment; the load is a counter
//! that triggers keep with every change of a conversation's assignee or
//! status, so the snapshot costs the same however many conversations
//! agents hold), lets `switchboard_core::assignment` decide, writes the
//! decisions with a line of assignment log each, and reports what changed.
//! So no agent is auto-assigned beyond capacity and no conversation twice,
//! whatever the number of nodes: every decision is taken on a snapshot that
//! no other routing write can change before the commit.
//!
//! The queue: an open conversation without an assignee has a queue key,
//! taken under the lock as one more than the account's largest, so keys
//! order it by arrival (an unassigned or requeued conversation arrives
//! anew, at the back). Its position is its rank among the account's keys.
//!
//! The operations ([`ops`]) are generic over [`RoutingTx`], a statement or
//! so per method, written once over the crate's `Statements` (`tx`); a
//! backend adds its lock and clock, and Postgres its faster statements
//! where it has them. SQLite's methods never wait
//! (they are calls on the writer thread), so the writer runs an operation's
//! future to completion in one poll ([`ready`]). New conversations may also
//! be routed many at once, under one take of the lock ([`arrivals`]: what
//! the Postgres backend does with the arrivals of one process).

pub(crate) mod answerers;
pub(crate) mod arrivals;
pub(crate) mod ops;
mod tx;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use switchboard_core::StoreError;
use switchboard_core::assignment::{self, Candidate, Queued};
use switchboard_core::ids::{AccountId, ConversationId, NodeId, UserId};
use switchboard_core::model::{
    AgentState, AssignmentKind, Availability, Conversation, ConversationStatus, Routed,
};

use self::answerers::Takers;
pub(crate) use self::tx::RoutingTx;
use crate::rows::{AgentRow, RouteRow};

/// One line of assignment history to write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogLine {
    pub(crate) conversation: ConversationId,
    pub(crate) kind: AssignmentKind,
    pub(crate) assignee: Option<UserId>,
    pub(crate) actor: Option<UserId>,
    /// Unix milliseconds.
    pub(crate) at: i64,
}

/// Which consoles a node that is gone leaves behind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Consoles {
    /// Those on this node (it died).
    On(NodeId),
    /// Those on every node but this one (a single node starting).
    Except(NodeId),
}

/// Runs a future that never waits (SQLite's routing, whose statements are
/// plain calls) to its end in one poll.
pub(crate) fn ready<F: Future>(future: F) -> Result<F::Output, StoreError> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(StoreError::Internal(
            "a sqlite routing step waited for something".into(),
        )),
    }
}

/// Where a conversation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// To the back of the queue (a conversation already queued keeps its
    /// place).
    Queued,
    /// To an agent, logged as `kind` done by `actor`.
    Assigned {
        agent: UserId,
        kind: AssignmentKind,
        actor: Option<UserId>,
    },
    /// Resolved; the assignee stays as history but no longer counts.
    Resolved,
}

/// The conversations `ids` names, as they are now, each once, in the order
/// first named (ids not found are left out).
pub(crate) async fn cards_in_order<T: RoutingTx>(
    tx: &mut T,
    mut ids: Vec<ConversationId>,
) -> Result<Vec<Conversation>, StoreError> {
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(*id));
    let mut found: HashMap<ConversationId, Conversation> = tx
        .conversations(&ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// One routing operation under the account's lock: the snapshot it decides
/// on, kept up to date with its own writes, and what it changed.
pub(crate) struct Session<'t, T: RoutingTx> {
    pub(crate) tx: &'t mut T,
    pub(crate) account: AccountId,
    /// The time recorded for this operation's changes.
    pub(crate) now: i64,
    agents: Vec<AgentState>,
    /// The policy's view of `agents`, index for index.
    candidates: Vec<Candidate>,
    loads_before: HashMap<UserId, u32>,
    /// Agents reported even if their load did not change.
    about: Vec<UserId>,
    /// Conversations whose assignee, status or queue key changed, in order.
    touched: Vec<ConversationId>,
    /// Conversations that entered the queue during this operation.
    entered: HashSet<ConversationId>,
    /// The oldest key that left the queue: those behind it moved up.
    left_from: Option<i64>,
}

impl<'t, T: RoutingTx> Session<'t, T> {
    /// Takes the account's lock and reads its agents.
    pub(crate) async fn begin(tx: &'t mut T, account: AccountId) -> Result<Self, StoreError> {
        let now = tx.lock(account).await?;
        let agents = tx.agents(account).await?;
        Ok(Self::on(tx, account, now, agents))
    }

    /// A session on agents read under the account's lock, already taken.
    pub(crate) fn on(tx: &'t mut T, account: AccountId, now: i64, agents: Vec<AgentRow>) -> Self {
        let mut session = Self {
            tx,
            account,
            now,
            agents: Vec::new(),
            candidates: Vec::new(),
            loads_before: HashMap::new(),
            about: Vec::new(),
            touched: Vec::new(),
            entered: HashSet::new(),
            left_from: None,
        };
        session.set_agents(agents);
        session.loads_before = session
            .candidates
            .iter()
            .map(|c| (c.user, c.load))
            .collect();
        session
    }

    /// Takes the lock of the conversation's account, and reads the
    /// conversation again under it.
    pub(crate) async fn for_conversation(
        tx: &'t mut T,
        id: ConversationId,
    ) -> Result<(Self, RouteRow), StoreError> {
        let account = tx
            .conversation(id)
            .await?
            .ok_or(StoreError::NotFound)?
            .account;
        let session = Self::begin(tx, account).await?;
        let row = session
            .tx
            .conversation(id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((session, row))
    }

    /// Reads the agents again (after a write to their capacity,
    /// availability or consoles).
    pub(crate) async fn reload_agents(&mut self) -> Result<(), StoreError> {
        let rows = self.tx.agents(self.account).await?;
        self.set_agents(rows);
        Ok(())
    }

    fn set_agents(&mut self, rows: Vec<AgentRow>) {
        self.candidates = rows
            .iter()
            .map(|row| Candidate {
                user: row.state.user.id,
                capacity: row.state.capacity,
                load: row.state.load,
                available: row.state.availability == Availability::Available,
                online: row.state.online,
                last_assigned_at: row.last_assigned_at,
            })
            .collect();
        self.agents = rows.into_iter().map(|row| row.state).collect();
    }

    /// The policy's view of an agent of the account.
    pub(crate) fn candidate(&self, user: UserId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.user == user)
    }

    /// Reports this agent's state even if their load does not change.
    pub(crate) fn about(&mut self, user: UserId) {
        self.about.push(user);
    }

    /// Moves a conversation (an assignment with its line of history) and
    /// keeps the snapshot (loads, queue) in step.
    pub(crate) async fn place(
        &mut self,
        row: &mut RouteRow,
        to: Placement,
    ) -> Result<(), StoreError> {
        let counted_before = counted(row);
        let key_before = row.queue_key;
        match to {
            // already waiting: it keeps its place
            Placement::Queued if row.queue_key.is_some() => return Ok(()),
            Placement::Queued => {
                row.status = ConversationStatus::Open;
                row.assignee = None;
                row.queue_key = Some(self.tx.enqueue(row).await?);
                self.entered.insert(row.id);
            }
            Placement::Assigned { agent, kind, actor } => {
                row.status = ConversationStatus::Open;
                row.assignee = Some(agent);
                row.queue_key = None;
                self.tx
                    .record_assignment(LogLine {
                        conversation: row.id,
                        kind,
                        assignee: Some(agent),
                        actor,
                        at: self.now,
                    })
                    .await?;
            }
            Placement::Resolved => {
                row.status = ConversationStatus::Resolved;
                row.queue_key = None;
                self.tx.write_conversation(row).await?;
            }
        }
        self.touched.push(row.id);
        if let (Some(key), None) = (key_before, row.queue_key) {
            self.left_queue(row.id, key);
        }
        if let Some(user) = counted_before
            && let Some(c) = self.candidates.iter_mut().find(|c| c.user == user)
        {
            c.load = c.load.saturating_sub(1);
        }
        if let Some(user) = counted(row) {
            assignment::assigned(&mut self.candidates, user, self.now);
        }
        Ok(())
    }

    pub(crate) async fn log(
        &mut self,
        conversation: ConversationId,
        kind: AssignmentKind,
        assignee: Option<UserId>,
        actor: Option<UserId>,
    ) -> Result<(), StoreError> {
        self.tx
            .log(LogLine {
                conversation,
                kind,
                assignee,
                actor,
                at: self.now,
            })
            .await
    }

    /// Serves the queue in arrival order while anyone has room, with the
    /// policy of `switchboard_core::assignment::serve_queue`.
    pub(crate) async fn serve(&mut self) -> Result<(), StoreError> {
        if !self.candidates.iter().any(Candidate::has_room) {
            return Ok(());
        }
        let queue = self.tx.queue(self.account).await?;
        if queue.is_empty() {
            return Ok(());
        }
        let takers = takers(
            self.tx,
            self.account,
            queue.iter().any(|q| q.team.is_some()),
        )
        .await?;
        let waiting: Vec<Queued> = queue
            .iter()
            .map(|q| Queued {
                conversation: q.id,
                eligible: takers.eligible(q.inbox, q.team),
            })
            .collect();
        let keys: HashMap<ConversationId, i64> = queue.iter().map(|q| (q.id, q.key)).collect();
        let made = assignment::serve_queue(&mut self.candidates, &waiting, self.now);
        for (conversation, user) in made {
            // loads and last assignments are already in the snapshot
            self.tx
                .record_assignment(LogLine {
                    conversation,
                    kind: AssignmentKind::Auto,
                    assignee: Some(user),
                    actor: None,
                    at: self.now,
                })
                .await?;
            self.touched.push(conversation);
            if let Some(&key) = keys.get(&conversation) {
                self.left_queue(conversation, key);
            }
        }
        Ok(())
    }

    fn left_queue(&mut self, conversation: ConversationId, key: i64) {
        // one that arrived during this operation had nobody behind it then
        if !self.entered.contains(&conversation) {
            self.left_from = Some(self.left_from.map_or(key, |from| from.min(key)));
        }
    }

    /// What changed: the conversations touched and those that moved up in
    /// the queue, as they are now, and the agents whose load changed (with
    /// those the operation was about).
    pub(crate) async fn finish(self) -> Result<Routed, StoreError> {
        let mut ids = self.touched;
        if let Some(key) = self.left_from {
            ids.extend(self.tx.queued_after(self.account, key).await?);
        }
        let conversations = cards_in_order(self.tx, ids).await?;
        let agents = self
            .agents
            .into_iter()
            .zip(&self.candidates)
            .filter(|(state, c)| {
                self.about.contains(&state.user.id)
                    || self.loads_before.get(&c.user) != Some(&c.load)
            })
            .map(|(state, c)| AgentState {
                load: c.load,
                ..state
            })
            .collect();
        Ok(Routed {
            conversations,
            agents,
        })
    }
}

/// Who may take the account's conversations: who may answer each inbox's,
/// and, when `teams` (some inbox routes to a team), the teams' members.
pub(crate) async fn takers<T: RoutingTx>(
    tx: &mut T,
    account: AccountId,
    teams: bool,
) -> Result<Takers, StoreError> {
    let answerers = tx.answerers(account, None, None).await?;
    let members = match teams {
        true => tx.team_members(account).await?,
        false => Vec::new(),
    };
    Ok(Takers::new(answerers, members))
}

/// The agent a conversation counts toward: its assignee while it is open.
fn counted(row: &RouteRow) -> Option<UserId> {
    match row.status {
        ConversationStatus::Open => row.assignee,
        ConversationStatus::Resolved => None,
    }
}
