//! The routing operations of the `Store` port, generic over the backend's
//! transaction. Each one takes the account's lock first (through
//! [`Session`]), changes what it is about, serves the queue when capacity
//! may have freed, and returns everything it changed. The caller commits.

use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::assignment::{ManualRefused, check_manual};
use switchboard_core::ids::{AccountId, ConversationId, InboxId, NodeId, TeamId, UserId};
use switchboard_core::model::{
    AssignmentKind, Availability, ConversationStatus, ManualAssignment, Routed, Team,
};

use super::{Consoles, Placement, RoutingTx, Session};
use crate::rows::RouteRow;

fn resolved() -> StoreError {
    StoreError::Conflict("the conversation is resolved".into())
}

/// A conversation just created, or written to by its customer while
/// resolved (the message is already stored, in the same transaction), is
/// routed like a new one. Anything else routes nothing.
pub(crate) async fn arrive<T: RoutingTx>(
    tx: &mut T,
    account: AccountId,
    id: ConversationId,
) -> Result<Routed, StoreError> {
    let mut session = Session::begin(tx, account).await?;
    let mut row = session
        .tx
        .conversation(id)
        .await?
        .ok_or(StoreError::NotFound)?;
    match (row.status, row.assignee, row.queue_key) {
        (ConversationStatus::Resolved, _, _) => {
            reopen_in(&mut session, &mut row, None).await?;
        }
        (ConversationStatus::Open, None, None) => {
            session.place(&mut row, Placement::Queued).await?;
            session.serve().await?;
        }
        // routed already (by another caller, under the lock before us)
        _ => {}
    }
    session.finish().await
}

async fn reopen_in<T: RoutingTx>(
    session: &mut Session<'_, T>,
    row: &mut RouteRow,
    actor: Option<UserId>,
) -> Result<(), StoreError> {
    session
        .log(row.id, AssignmentKind::Reopened, None, actor)
        .await?;
    session.place(row, Placement::Queued).await?;
    session.serve().await
}

/// Routes an open conversation without an assignee now: it takes its place
/// in the queue (if it had none) and the queue is served, so it is assigned
/// at once unless older conversations come first.
pub(crate) async fn auto_assign<T: RoutingTx>(
    tx: &mut T,
    id: ConversationId,
) -> Result<Routed, StoreError> {
    let (mut session, mut row) = Session::for_conversation(tx, id).await?;
    if row.status == ConversationStatus::Resolved {
        return Err(resolved());
    }
    if row.assignee.is_none() {
        session.place(&mut row, Placement::Queued).await?;
        session.serve().await?;
    }
    session.finish().await
}

/// Assigns or transfers by hand, only to an agent who may answer the
/// conversation (`routing::answerers`). The previous assignee's capacity
/// frees.
pub(crate) async fn assign<T: RoutingTx>(
    tx: &mut T,
    request: ManualAssignment,
) -> Result<Routed, StoreError> {
    let (mut session, mut row) = Session::for_conversation(tx, request.conversation).await?;
    if row.status == ConversationStatus::Resolved {
        return Err(resolved());
    }
    if row.assignee == Some(request.assignee) {
        return session.finish().await;
    }
    let Some(agent) = session.candidate(request.assignee).cloned() else {
        // never a write across accounts; one who is no agent is told why
        return Err(match session.tx.user_home(request.assignee).await? {
            Some((account, false)) if account == session.account => StoreError::Conflict(
                "users without conversations.answer are never assigned conversations".into(),
            ),
            _ => StoreError::NotFound,
        });
    };
    // never to an agent who may not answer it: force is about capacity
    if session
        .tx
        .answerers(
            session.account,
            Some(request.conversation),
            Some(request.assignee),
        )
        .await?
        .is_empty()
    {
        return Err(StoreError::Conflict(
            "the agent may not answer conversations of this inbox".into(),
        ));
    }
    check_manual(&agent, request.force).map_err(|refused| match refused {
        ManualRefused::AtCapacity { load, capacity } => StoreError::AtCapacity { load, capacity },
    })?;
    let kind = if agent.load >= agent.capacity {
        AssignmentKind::Forced
    } else {
        AssignmentKind::Manual
    };
    session
        .place(
            &mut row,
            Placement::Assigned {
                agent: request.assignee,
                kind,
                actor: Some(request.actor),
            },
        )
        .await?;
    session.serve().await?;
    session.finish().await
}

/// Back to the queue as its newest arrival; the agent's capacity frees.
pub(crate) async fn unassign<T: RoutingTx>(
    tx: &mut T,
    id: ConversationId,
    actor: UserId,
) -> Result<Routed, StoreError> {
    let (mut session, mut row) = Session::for_conversation(tx, id).await?;
    if row.status == ConversationStatus::Resolved {
        return Err(resolved());
    }
    if row.assignee.is_some() {
        session.place(&mut row, Placement::Queued).await?;
        session
            .log(row.id, AssignmentKind::Unassigned, None, Some(actor))
            .await?;
        session.serve().await?;
    }
    session.finish().await
}

pub(crate) async fn resolve<T: RoutingTx>(
    tx: &mut T,
    id: ConversationId,
    actor: UserId,
) -> Result<Routed, StoreError> {
    let (mut session, mut row) = Session::for_conversation(tx, id).await?;
    if row.status == ConversationStatus::Open {
        session.place(&mut row, Placement::Resolved).await?;
        session
            .log(row.id, AssignmentKind::Resolved, None, Some(actor))
            .await?;
        session.serve().await?;
    }
    session.finish().await
}

pub(crate) async fn reopen<T: RoutingTx>(
    tx: &mut T,
    id: ConversationId,
    actor: UserId,
) -> Result<Routed, StoreError> {
    let (mut session, mut row) = Session::for_conversation(tx, id).await?;
    if row.status == ConversationStatus::Resolved {
        reopen_in(&mut session, &mut row, Some(actor)).await?;
    }
    session.finish().await
}

/// What a change to an agent is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AgentChange {
    Capacity(u32),
    Availability(Availability),
    Console { node: NodeId, open: bool },
}

/// A console opened for an agent who already has one open: recorded
/// without the account's lock (routing is unchanged); `false` when it is
/// their first, which [`change_agent`] records in a transaction of its own.
pub(crate) async fn add_console<T: RoutingTx>(
    tx: &mut T,
    user: UserId,
    node: NodeId,
) -> Result<bool, StoreError> {
    let now = tx.clock().await?;
    tx.add_console(user, node, now).await
}

/// Changes an agent's capacity, availability or consoles; when that may
/// give them room (raised, available, online), the queue is served.
pub(crate) async fn change_agent<T: RoutingTx>(
    tx: &mut T,
    user: UserId,
    change: AgentChange,
) -> Result<Routed, StoreError> {
    let (account, _) = tx.user_home(user).await?.ok_or(StoreError::NotFound)?;
    let mut session = Session::begin(tx, account).await?;
    let now = session.now;
    match change {
        AgentChange::Capacity(capacity) => session.tx.set_capacity(user, capacity).await?,
        AgentChange::Availability(availability) => {
            session.tx.set_availability(user, availability).await?;
        }
        AgentChange::Console { node, open: true } => {
            session.tx.open_console(user, node, now).await?;
        }
        AgentChange::Console { node, open: false } => {
            session.tx.close_console(user, node, now).await?;
        }
    }
    session.reload_agents().await?;
    session.about(user);
    let may_have_room = match change {
        AgentChange::Capacity(_) => true,
        AgentChange::Availability(availability) => availability == Availability::Available,
        AgentChange::Console { open, .. } => open,
    };
    if may_have_room {
        session.serve().await?;
    }
    session.finish().await
}

/// Forgets the consoles of nodes that are gone. Going offline frees no
/// capacity, so no account is locked: a routing decision that still saw
/// the agent online is one taken just before.
pub(crate) async fn forget_consoles<T: RoutingTx>(
    tx: &mut T,
    which: Consoles,
) -> Result<Routed, StoreError> {
    let now = tx.clock().await?;
    let offline = tx.close_consoles(which, now).await?;
    Ok(Routed {
        conversations: Vec::new(),
        agents: tx.agent_states(&offline).await?,
    })
}

/// The accounts [`requeue_offline`] has work in.
pub(crate) async fn accounts_to_requeue<T: RoutingTx>(
    tx: &mut T,
    offline_for: Duration,
) -> Result<Vec<AccountId>, StoreError> {
    let now = tx.clock().await?;
    tx.accounts_offline_since(now.saturating_sub(millis(offline_for)))
        .await
}

/// Conversations of the account's agents offline for longer than
/// `offline_for` go back to the queue (oldest conversation first), which is
/// then served.
pub(crate) async fn requeue_offline<T: RoutingTx>(
    tx: &mut T,
    account: AccountId,
    offline_for: Duration,
) -> Result<Routed, StoreError> {
    let mut session = Session::begin(tx, account).await?;
    let before = session.now.saturating_sub(millis(offline_for));
    for mut row in session.tx.offline_assigned(account, before).await? {
        session.place(&mut row, Placement::Queued).await?;
        session
            .log(row.id, AssignmentKind::Requeued, None, None)
            .await?;
    }
    session.serve().await?;
    session.finish().await
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Members, each once, in id order; all of them users of the account.
async fn members_of<T: RoutingTx>(
    tx: &mut T,
    account: AccountId,
    members: &[UserId],
) -> Result<Vec<UserId>, StoreError> {
    let mut members = members.to_vec();
    members.sort_unstable();
    members.dedup();
    if tx.count_users(account, &members).await? != members.len() {
        return Err(StoreError::NotFound);
    }
    Ok(members)
}

pub(crate) async fn create_team<T: RoutingTx>(
    tx: &mut T,
    account: AccountId,
    name: &str,
    members: &[UserId],
) -> Result<Team, StoreError> {
    // a new team routes no inbox yet: nothing to serve
    let session = Session::begin(tx, account).await?;
    let now = session.now;
    let team = Team {
        id: TeamId::new(),
        account_id: account,
        name: name.to_owned(),
        members: members_of(session.tx, account, members).await?,
    };
    session.tx.insert_team(&team, now).await?;
    session.tx.set_members(team.id, &team.members).await?;
    Ok(team)
}

/// Replaces the members; agents who joined may take the team's queue.
pub(crate) async fn set_team_members<T: RoutingTx>(
    tx: &mut T,
    team: TeamId,
    members: &[UserId],
) -> Result<(Team, Routed), StoreError> {
    let account = tx.team(team).await?.ok_or(StoreError::NotFound)?.account_id;
    let mut session = Session::begin(tx, account).await?;
    let mut team = session.tx.team(team).await?.ok_or(StoreError::NotFound)?;
    team.members = members_of(session.tx, account, members).await?;
    session.tx.set_members(team.id, &team.members).await?;
    session.serve().await?;
    Ok((team, session.finish().await?))
}

/// Its inboxes route to every agent of the account from now on.
pub(crate) async fn delete_team<T: RoutingTx>(
    tx: &mut T,
    team: TeamId,
) -> Result<Routed, StoreError> {
    let account = tx.team(team).await?.ok_or(StoreError::NotFound)?.account_id;
    let mut session = Session::begin(tx, account).await?;
    session.tx.delete_team(team).await?;
    session.serve().await?;
    session.finish().await
}

/// Routes an inbox to a team of its account, or to every agent (`None`).
pub(crate) async fn set_inbox_team<T: RoutingTx>(
    tx: &mut T,
    inbox: InboxId,
    team: Option<TeamId>,
) -> Result<Routed, StoreError> {
    let account = tx.inbox_account(inbox).await?.ok_or(StoreError::NotFound)?;
    let mut session = Session::begin(tx, account).await?;
    if let Some(team) = team {
        match session.tx.team(team).await? {
            Some(found) if found.account_id == account => {}
            _ => return Err(StoreError::NotFound),
        }
    }
    session.tx.set_inbox_team(inbox, team).await?;
    session.serve().await?;
    session.finish().await
}
