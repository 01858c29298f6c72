//! New conversations of one account routed together: a backend that
//! gathers concurrent arrivals (Postgres: the `record_inbound` calls of one
//! process, their conversations created in the routing transaction itself)
//! routes them under one take of the account's lock, on one snapshot of its
//! agents, and writes the outcome in one go.
//!
//! The decisions are those of routing each arrival on its own, one right
//! after the other, under the lock: each enters the back of the queue and
//! the queue is served with `switchboard_core::assignment::serve_queue`.
//! Serving the queue with all of them at its back once is the same thing:
//! a conversation the queue kept waiting has no eligible agent with room,
//! and rooms only fill while a batch is routed, so a second pass would
//! still pass it by. They share one clock reading (the policy's "longest
//! waiting" sees them assigned at one instant) and take consecutive queue
//! keys, so the queue stays in arrival order.

use std::collections::{HashMap, HashSet};

use switchboard_core::StoreError;
use switchboard_core::assignment::{self, Candidate, Queued};
use switchboard_core::ids::{AccountId, ConversationId, InboxId, TeamId, UserId};
use switchboard_core::model::{AgentState, Conversation, Routed, UserRef};

use super::answerers::Takers;
use super::{RoutingTx, Session, cards_in_order, takers};
use crate::rows::AgentRow;

/// What a batch of arrivals routes on, read under the account's lock.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// The time recorded for the batch (unix milliseconds).
    pub(crate) now: i64,
    /// The account's agents with their loads, by id.
    pub(crate) agents: Vec<AgentRow>,
    /// How many conversations wait in the queue.
    pub(crate) queued: u64,
    /// The largest queue key (0 when none ever waited).
    pub(crate) last_key: i64,
    /// The team each inbox of the batch routes to (`None`: every agent).
    pub(crate) teams: HashMap<InboxId, Option<TeamId>>,
}

/// Where a conversation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Agent(UserId),
    /// Into the queue with this key.
    Queue(i64),
}

/// The statements routing a batch of arrivals adds to [`RoutingTx`].
#[allow(async_fn_in_trait)]
pub(crate) trait ArrivalTx: RoutingTx {
    /// Takes the account's lock until the transaction ends, then reads
    /// what routing arrivals on `inboxes` needs (one statement where the
    /// backend can). [`StoreError::NotFound`] when there is no such account.
    async fn snapshot(
        &mut self,
        account: AccountId,
        inboxes: &[InboxId],
    ) -> Result<Snapshot, StoreError>;
    /// Puts each open conversation where its slot says (an assignee, out of
    /// the queue; or a queue key, without an assignee), logs every
    /// assignment as automatic at `at`, and records `at` as the last
    /// assignment of each agent who got one: one statement where the
    /// backend can.
    async fn place_all(
        &mut self,
        placed: &[(ConversationId, Slot)],
        at: i64,
    ) -> Result<(), StoreError>;
}

/// What the policy decided for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Where each arrival goes, index for index.
    pub(crate) arrivals: Vec<Slot>,
    /// Conversations that were waiting before the batch and were assigned,
    /// in the order made.
    pub(crate) served: Vec<(ConversationId, UserId)>,
}

/// The policy applied to a batch: `waiting` (the queue as found, oldest
/// first; it may be left out when nobody has room) followed by `arrivals`
/// in arrival order, served while anyone has room. Arrivals nobody takes
/// enter the queue with keys from `next_key` on, in order. `candidates`
/// ends up with the loads after the batch.
pub(crate) fn plan(
    candidates: &mut [Candidate],
    waiting: &[Queued],
    arrivals: &[Queued],
    next_key: i64,
    now: i64,
) -> Plan {
    let all: Vec<Queued> = waiting.iter().chain(arrivals).cloned().collect();
    let made = assignment::serve_queue(candidates, &all, now);
    let to: HashMap<ConversationId, UserId> = made.iter().copied().collect();
    let mut key = next_key;
    let slots = arrivals
        .iter()
        .map(|arrival| match to.get(&arrival.conversation) {
            Some(&agent) => Slot::Agent(agent),
            None => {
                key += 1;
                Slot::Queue(key - 1)
            }
        })
        .collect();
    let before: HashSet<ConversationId> = waiting.iter().map(|q| q.conversation).collect();
    Plan {
        arrivals: slots,
        served: made
            .into_iter()
            .filter(|(conversation, _)| before.contains(conversation))
            .collect(),
    }
}

/// What routing a batch changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArrivalsRouted {
    /// Each arrival as it is now, index for index.
    pub(crate) cards: Vec<Conversation>,
    /// For each arrival, the agent it went to (their state after the batch).
    pub(crate) agents: Vec<Option<AgentState>>,
    /// Everything else the batch changed: conversations of the queue it
    /// served and those that moved up behind them, and those agents.
    pub(crate) rest: Routed,
}

/// Routes `arrivals` (open conversations created in this transaction,
/// unassigned and not queued yet, in arrival order, as the inbox list
/// shows them) under the account's lock, and writes the outcome.
pub(crate) async fn route_arrivals<T: ArrivalTx>(
    tx: &mut T,
    account: AccountId,
    mut arrivals: Vec<Conversation>,
) -> Result<ArrivalsRouted, StoreError> {
    let mut inboxes: Vec<InboxId> = arrivals.iter().map(|c| c.inbox_id).collect();
    inboxes.sort_unstable();
    inboxes.dedup();
    let Snapshot {
        now,
        agents,
        queued,
        last_key,
        teams: team_of,
    } = tx.snapshot(account, &inboxes).await?;
    let mut session = Session::on(tx, account, now, agents);

    // the queue as found matters only to an agent with room
    let backlog = if queued > 0 && session.candidates.iter().any(Candidate::has_room) {
        session.tx.queue(account).await?
    } else {
        Vec::new()
    };
    // who may take what matters only to an agent with room, too: with
    // none, nobody is eligible and nothing is assigned either way
    let takers = if session.candidates.iter().any(Candidate::has_room) {
        let teams =
            team_of.values().any(Option::is_some) || backlog.iter().any(|q| q.team.is_some());
        takers(session.tx, account, teams).await?
    } else {
        Takers::default()
    };
    let waiting: Vec<Queued> = backlog
        .iter()
        .map(|q| Queued {
            conversation: q.id,
            eligible: takers.eligible(q.inbox, q.team),
        })
        .collect();
    let mut newcomers = Vec::with_capacity(arrivals.len());
    for arrival in &arrivals {
        let team = *team_of
            .get(&arrival.inbox_id)
            .ok_or_else(|| StoreError::Internal("an arrival's inbox vanished".into()))?;
        newcomers.push(Queued {
            conversation: arrival.id,
            eligible: takers.eligible(arrival.inbox_id, team),
        });
    }
    let plan = plan(
        &mut session.candidates,
        &waiting,
        &newcomers,
        last_key + 1,
        now,
    );

    let placed: Vec<(ConversationId, Slot)> = arrivals
        .iter()
        .map(|c| c.id)
        .zip(plan.arrivals.iter().copied())
        .chain(
            plan.served
                .iter()
                .map(|&(conversation, agent)| (conversation, Slot::Agent(agent))),
        )
        .collect();
    session.tx.place_all(&placed, now).await?;

    // the agents as they are after the batch
    let states: HashMap<UserId, AgentState> = session
        .agents
        .iter()
        .zip(&session.candidates)
        .map(|(state, c)| {
            (
                c.user,
                AgentState {
                    load: c.load,
                    ..state.clone()
                },
            )
        })
        .collect();
    let user_ref = |agent: UserId| UserRef {
        id: agent,
        name: states
            .get(&agent)
            .map(|s| s.user.name.clone())
            .unwrap_or_default(),
    };

    // the cards: nobody else sees these conversations before the commit,
    // so what changed is only where they went; those queued wait behind
    // what is left of the queue as found
    let left = queued.saturating_sub(plan.served.len() as u64);
    let mut position = left;
    let mut agents = Vec::with_capacity(arrivals.len());
    for (card, slot) in arrivals.iter_mut().zip(&plan.arrivals) {
        match *slot {
            Slot::Agent(agent) => {
                card.assignee = Some(user_ref(agent));
                card.queue_position = None;
                agents.push(states.get(&agent).cloned());
            }
            Slot::Queue(_) => {
                position += 1;
                card.assignee = None;
                card.queue_position = Some(position);
                agents.push(None);
            }
        }
    }

    let mut rest = Routed::default();
    if let Some(oldest) = backlog
        .iter()
        .filter(|q| plan.served.iter().any(|(c, _)| *c == q.id))
        .map(|q| q.key)
        .min()
    {
        // served from the queue as found: those behind moved up
        let mine: HashSet<ConversationId> = arrivals.iter().map(|c| c.id).collect();
        let mut ids: Vec<ConversationId> = plan.served.iter().map(|(c, _)| *c).collect();
        ids.extend(
            session
                .tx
                .queued_after(account, oldest)
                .await?
                .into_iter()
                .filter(|id| !mine.contains(id)),
        );
        rest.conversations = cards_in_order(session.tx, ids).await?;
        let mut served_to: Vec<UserId> = plan.served.iter().map(|(_, agent)| *agent).collect();
        served_to.sort_unstable();
        served_to.dedup();
        rest.agents = served_to
            .iter()
            .filter_map(|agent| states.get(agent).cloned())
            .collect();
    }
    Ok(ArrivalsRouted {
        cards: arrivals,
        agents,
        rest,
    })
}

#[cfg(test)]
mod tests;
