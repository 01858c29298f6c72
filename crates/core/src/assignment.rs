//! Auto-assignment: who gets a new conversation, and who gets the queued
//! ones when capacity frees.
//!
//! Pure functions over a snapshot the caller takes inside the transaction
//! that then records the decisions (Postgres row locks or SQLite's single
//! writer), so that no agent exceeds capacity and no conversation is
//! assigned twice however many nodes assign at once.
//!
//! The policy: among agents who are available (not away), online (a console
//! open, or within the disconnect grace), eligible for the conversation's
//! inbox (its team; every agent of the account when the inbox has no team)
//! and below capacity, the least loaded; ties go to the agent who waited
//! longest since their last assignment (never assigned: longest of all),
//! then to the lowest id. Nobody: the conversation waits in the Unassigned
//! queue, which is served in arrival order whenever capacity frees.

use std::cmp::Ordering;

use crate::ids::{ConversationId, UserId};

/// An agent as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    /// The most ongoing conversations auto-assigned at once (0: never).
    pub capacity: u32,
    /// Open conversations assigned to them now.
    pub load: u32,
    pub available: bool,
    pub online: bool,
    /// When they were last assigned a conversation (ms), if ever.
    pub last_assigned_at: Option<i64>,
}

impl Candidate {
    /// May be auto-assigned one more conversation.
    pub fn has_room(&self) -> bool {
        self.available && self.online && self.load < self.capacity
    }
}

/// Which agents may take a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligible {
    /// Every agent of the account.
    Anyone,
    /// These only: the store gives those who may answer the conversation
    /// (by their grants), of the inbox's team when it routes to one.
    Members(Vec<UserId>),
}

impl Eligible {
    pub fn admits(&self, user: UserId) -> bool {
        match self {
            Self::Anyone => true,
            Self::Members(members) => members.contains(&user),
        }
    }
}

/// A conversation waiting in the Unassigned queue, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub conversation: ConversationId,
    pub eligible: Eligible,
}

/// Orders candidates best first: least loaded, then longest waiting, then id.
fn better(a: &Candidate, b: &Candidate) -> Ordering {
    a.load
        .cmp(&b.load)
        .then_with(|| match (a.last_assigned_at, b.last_assigned_at) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(&y),
        })
        .then_with(|| a.user.cmp(&b.user))
}

/// The agent who gets a conversation now, if anyone has room.
pub fn choose(candidates: &[Candidate], eligible: &Eligible) -> Option<UserId> {
    candidates
        .iter()
        .filter(|c| c.has_room() && eligible.admits(c.user))
        .min_by(|a, b| better(a, b))
        .map(|c| c.user)
}

/// Records an assignment in the snapshot, so that the next decision sees it.
pub fn assigned(candidates: &mut [Candidate], user: UserId, now: i64) {
    if let Some(c) = candidates.iter_mut().find(|c| c.user == user) {
        c.load += 1;
        c.last_assigned_at = Some(now);
    }
}

/// Serves the queue in arrival order while anyone has room: each queued
/// conversation goes to the best agent who may take it; one nobody can take
/// now waits, and later ones (another team's) may still go. Returns the
/// assignments in the order made.
pub fn serve_queue(
    candidates: &mut [Candidate],
    queue: &[Queued],
    now: i64,
) -> Vec<(ConversationId, UserId)> {
    let mut made = Vec::new();
    for queued in queue {
        if !candidates.iter().any(Candidate::has_room) {
            break;
        }
        if let Some(user) = choose(candidates, &queued.eligible) {
            assigned(candidates, user, now);
            made.push((queued.conversation, user));
        }
    }
    made
}

/// Why a manual assignment is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualRefused {
    /// The agent's load is at (or over) capacity; an administrator may force it.
    AtCapacity { load: u32, capacity: u32 },
}

/// Whether a manual assignment (or transfer) to `agent` may go ahead.
/// Availability and being online do not matter to a person's choice;
/// capacity does, unless forced.
pub fn check_manual(agent: &Candidate, force: bool) -> Result<(), ManualRefused> {
    if force || agent.load < agent.capacity {
        Ok(())
    } else {
        Err(ManualRefused::AtCapacity {
            load: agent.load,
            capacity: agent.capacity,
        })
    }
}

#[cfg(test)]
mod tests;
