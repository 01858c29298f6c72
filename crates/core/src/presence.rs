//! The messenger's presence and single-writer rules for one conversation.
//!
//! A [`Room`] knows who views a conversation (members, each user once however
//! many connections they have) and who, if anyone, is its active responder.
//! It decides; it does not do. Every method takes the current time as a plain
//! number of milliseconds and returns [`Effect`]s that the caller carries out:
//! ask the store for the active role, record a release, tell a user they lost
//! the role, broadcast the new presence.
//!
//! The store is the authority for the active role: the room asks for it with
//! [`Effect::Acquire`] and learns the answer through [`Room::granted`] or
//! [`Room::holder_seen`]. Grants carry the store's fencing epoch; a room never
//! accepts an epoch lower than one it has seen, so a late answer cannot undo
//! a newer one.
//!
//! The three cases of the messenger:
//! - an active responder and observers: only the active responder writes;
//! - observers but nobody active: any of them may [`Room::take`] it;
//! - nobody there: the first user to [`Room::join`] becomes active at once.
//!
//! The active role lapses after `idle_ms` without `send` or `typing`, and
//! when its holder leaves, or disconnects and does not come back within
//! `grace_ms`.

use serde::{Deserialize, Serialize};

use crate::ids::{NodeId, UserId};
use crate::model::UserRef;

/// Milliseconds on the caller's clock (monotonic, roughly Unix time).
pub type Millis = u64;

/// The two durations the rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The active role lapses after this long without `send` or `typing`.
    pub idle_ms: Millis,
    /// A user whose last connection dropped stays present this long.
    pub grace_ms: Millis,
}

/// Why a user lost the active role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockLostReason {
    Idle,
    TakenOver,
    Disconnected,
    NodeLost,
    Permission,
}

/// What the caller must do after a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Ask the store to grant the active role to `user`; `force` takes it
    /// from the current holder. Feed the answer back with [`Room::granted`]
    /// or [`Room::holder_seen`].
    Acquire { user: UserId, force: bool },
    /// Record in the store that `user`'s role at `epoch` ended.
    Release { user: UserId, epoch: u64 },
    /// Tell `user` they are no longer the active responder.
    LockLost {
        user: UserId,
        reason: LockLostReason,
    },
    /// The presence changed (its version grew): broadcast it.
    Changed,
}

/// Effects of one decision, in the order they should be carried out.
pub type Effects = Vec<Effect>;

/// Why a `take` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakeRefused {
    /// The user is not viewing the conversation (join first).
    NotMember,
    /// The user may observe but never answer (a viewer).
    MayNotWrite,
    /// Someone else answers it.
    Locked(UserRef),
}

/// Refusal of [`Room::activity`]: the user is not the active responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotActive;

/// A user viewing the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: UserRef,
    /// False for users who may only observe.
    pub may_write: bool,
    /// Open connections of this user joined to the conversation.
    pub conns: u32,
    /// When the last connection dropped; the user stays listed until the grace ends.
    pub gone_since: Option<Millis>,
    /// Other nodes the user views the conversation from (cluster mode).
    pub remote: Vec<NodeId>,
}

impl Member {
    /// Viewing from this node, or within the grace of a dropped connection.
    pub fn here(&self) -> bool {
        self.conns > 0 || self.gone_since.is_some()
    }

    /// Viewing from anywhere.
    pub fn present(&self) -> bool {
        self.here() || !self.remote.is_empty()
    }
}

/// The active responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: UserRef,
    /// The store's fencing epoch of this grant.
    pub epoch: u64,
    /// The last `send` or `typing` (or the grant).
    pub last_active: Millis,
    /// Granted through this node: this node renews it, lapses it when idle
    /// and ends it when its holder goes. A holder granted elsewhere is only
    /// reported here, by the store or by the granting node.
    pub local: bool,
}

/// The presence of a conversation as its viewers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The active responder and the fencing epoch of their grant.
    pub active: Option<(UserRef, u64)>,
    /// Everyone else viewing, each user once, by name (then id): every node
    /// lists them alike, whatever order it learned them in.
    pub observers: Vec<UserRef>,
    pub version: u64,
}

/// Presence of one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Room {
    /// In order of arrival; each user once.
    members: Vec<Member>,
    active: Option<Holder>,
    /// The highest epoch seen from the store.
    epoch: u64,
    version: u64,
}

impl Room {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn active(&self) -> Option<&Holder> {
        self.active.as_ref()
    }

    /// The presence as viewers are shown it.
    pub fn snapshot(&self) -> Snapshot {
        let mut observers: Vec<UserRef> = self.observers().cloned().collect();
        observers.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        Snapshot {
            active: self.active.as_ref().map(|h| (h.user.clone(), h.epoch)),
            observers,
            version: self.version,
        }
    }

    /// Everyone viewing but the active responder, each user once, in arrival order.
    pub fn observers(&self) -> impl Iterator<Item = &UserRef> {
        let active = self.active.as_ref().map(|h| h.user.id);
        self.members
            .iter()
            .filter(move |m| Some(m.user.id) != active)
            .map(|m| &m.user)
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, user: UserId) -> Option<&Member> {
        self.members.iter().find(|m| m.user.id == user)
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.active.is_none()
    }

    /// Whether `user` is the active responder.
    pub fn is_active(&self, user: UserId) -> bool {
        self.active.as_ref().is_some_and(|h| h.user.id == user)
    }

    /// One more connection of `user` views the conversation.
    pub fn join(&mut self, user: UserRef, may_write: bool, now: Millis) -> Effects {
        if let Some(member) = self.member_mut(user.id) {
            member.conns += 1;
            member.gone_since = None;
            member.may_write = may_write;
            return Vec::new();
        }
        let nobody_there = self.members.is_empty() && self.active.is_none();
        let id = user.id;
        self.members.push(Member {
            user,
            may_write,
            conns: 1,
            gone_since: None,
            remote: Vec::new(),
        });
        self.bump(now);
        let mut effects = vec![Effect::Changed];
        if nobody_there && may_write {
            effects.push(Effect::Acquire {
                user: id,
                force: false,
            });
        }
        effects
    }

    /// "Start chatting". `force` (already authorized by the caller) takes the
    /// role from its holder.
    pub fn take(&mut self, user: UserId, force: bool) -> Result<Effects, TakeRefused> {
        let member = self.member(user).ok_or(TakeRefused::NotMember)?;
        if !member.may_write {
            return Err(TakeRefused::MayNotWrite);
        }
        match &self.active {
            Some(holder) if holder.user.id == user => Ok(Vec::new()),
            Some(holder) if !force => Err(TakeRefused::Locked(holder.user.clone())),
            _ => Ok(vec![Effect::Acquire { user, force }]),
        }
    }

    /// The store granted the active role to `user` at `epoch`.
    pub fn granted(&mut self, user: UserId, epoch: u64, now: Millis) -> Effects {
        if epoch <= self.epoch {
            // A newer grant is already known: this answer is stale.
            return Vec::new();
        }
        self.epoch = epoch;
        let Some(member) = self.member(user).filter(|m| m.may_write) else {
            // The user left (or may no longer write) while the store answered.
            let mut effects = vec![Effect::Release { user, epoch }];
            if let Some(prior) = self.active.take() {
                effects.push(Effect::LockLost {
                    user: prior.user.id,
                    reason: LockLostReason::TakenOver,
                });
                self.bump(now);
                effects.push(Effect::Changed);
            }
            return effects;
        };
        let holder = Holder {
            user: member.user.clone(),
            epoch,
            last_active: now,
            local: true,
        };
        let mut effects = Vec::new();
        if let Some(prior) = self.active.replace(holder)
            && prior.user.id != user
        {
            effects.push(Effect::LockLost {
                user: prior.user.id,
                reason: LockLostReason::TakenOver,
            });
        }
        self.bump(now);
        effects.push(Effect::Changed);
        effects
    }

    /// The store (or another node) says the role is `holder`'s at `epoch`, or
    /// free (`None`). Older news than what the room knows is ignored.
    pub fn holder_seen(&mut self, holder: Option<UserRef>, epoch: u64, now: Millis) -> Effects {
        if epoch < self.epoch {
            return Vec::new();
        }
        let same = match (&self.active, &holder) {
            (Some(a), Some(b)) => a.user.id == b.id && a.epoch == epoch,
            (None, None) => true,
            _ => false,
        };
        self.epoch = epoch;
        if same {
            return Vec::new();
        }
        let mut effects = Vec::new();
        let prior = self.active.take();
        if let Some(prior) = &prior
            && holder.as_ref().is_none_or(|h| h.id != prior.user.id)
        {
            // Someone else holds it now, or the lease ran out with nobody
            // renewing it (the node was away from the store).
            let reason = if holder.is_some() {
                LockLostReason::TakenOver
            } else {
                LockLostReason::NodeLost
            };
            effects.push(Effect::LockLost {
                user: prior.user.id,
                reason,
            });
        }
        self.active = holder.map(|user| Holder {
            user,
            epoch,
            last_active: now,
            local: false,
        });
        self.bump(now);
        effects.push(Effect::Changed);
        effects
    }

    /// `user` gives up the active role and stays as an observer. A user who
    /// does not hold it changes nothing.
    pub fn release(&mut self, user: UserId, now: Millis) -> Effects {
        if !self.is_active(user) {
            return Vec::new();
        }
        self.end_active(None, now)
    }

    /// One connection of `user` stops viewing. The user leaves when it was
    /// their last one (here and on every other node), releasing the active
    /// role if it was granted through this node.
    pub fn leave(&mut self, user: UserId, now: Millis) -> Effects {
        let Some(index) = self.members.iter().position(|m| m.user.id == user) else {
            return Vec::new();
        };
        let member = &mut self.members[index];
        member.conns = member.conns.saturating_sub(1);
        if member.conns > 0 {
            return Vec::new();
        }
        member.gone_since = None;
        if !member.remote.is_empty() {
            // Still viewing from another node: nothing others can see changed.
            return Vec::new();
        }
        self.members.remove(index);
        self.gone(user, None, now)
    }

    /// `user` may no longer answer (a grant or role changed): they stay as
    /// an observer, and lose the active role if it was granted through this
    /// node (`lock_lost` reason `permission`).
    pub fn revoke(&mut self, user: UserId, now: Millis) -> Effects {
        if let Some(member) = self.member_mut(user) {
            member.may_write = false;
        }
        match self.active.as_ref() {
            Some(h) if h.user.id == user && h.local => {
                self.end_active(Some(LockLostReason::Permission), now)
            }
            _ => Vec::new(),
        }
    }

    /// `user` may answer (again): they may take the role.
    pub fn allow_writing(&mut self, user: UserId) {
        if let Some(member) = self.member_mut(user) {
            member.may_write = true;
        }
    }

    /// `user` may no longer see the conversation: every connection of
    /// theirs through this node leaves at once (no grace), and they lose the
    /// active role if it was granted here (`lock_lost` reason `permission`).
    pub fn expel(&mut self, user: UserId, now: Millis) -> Effects {
        let Some(index) = self.members.iter().position(|m| m.user.id == user) else {
            return Vec::new();
        };
        let member = &mut self.members[index];
        member.conns = 0;
        member.gone_since = None;
        member.may_write = false;
        if member.remote.is_empty() {
            self.members.remove(index);
            return self.gone(user, Some(LockLostReason::Permission), now);
        }
        match self.active.as_ref() {
            Some(h) if h.user.id == user && h.local => {
                self.end_active(Some(LockLostReason::Permission), now)
            }
            _ => Vec::new(),
        }
    }

    /// One connection of `user` dropped. When it was their last, the user
    /// stays present for the grace, so that a reload keeps the role.
    pub fn disconnect(&mut self, user: UserId, now: Millis) -> Effects {
        if let Some(member) = self.member_mut(user) {
            member.conns = member.conns.saturating_sub(1);
            if member.conns == 0 {
                member.gone_since = Some(now);
            }
        }
        Vec::new()
    }

    /// `user` views the conversation from another node (cluster mode).
    pub fn remote_join(
        &mut self,
        node: NodeId,
        user: UserRef,
        may_write: bool,
        now: Millis,
    ) -> Effects {
        if let Some(member) = self.member_mut(user.id) {
            if !member.remote.contains(&node) {
                member.remote.push(node);
            }
            member.may_write = may_write;
            return Vec::new();
        }
        self.members.push(Member {
            user,
            may_write,
            conns: 0,
            gone_since: None,
            remote: vec![node],
        });
        self.bump(now);
        vec![Effect::Changed]
    }

    /// `user` no longer views the conversation from `node`.
    pub fn remote_leave(&mut self, node: NodeId, user: UserId, now: Millis) -> Effects {
        let Some(index) = self.members.iter().position(|m| m.user.id == user) else {
            return Vec::new();
        };
        let member = &mut self.members[index];
        member.remote.retain(|n| *n != node);
        if member.present() {
            return Vec::new();
        }
        self.members.remove(index);
        self.gone(user, None, now)
    }

    /// `node` is dead: everyone who viewed from it alone is gone.
    pub fn node_lost(&mut self, node: NodeId, now: Millis) -> Effects {
        let mut effects = Vec::new();
        let mut gone = Vec::new();
        self.members.retain_mut(|m| {
            m.remote.retain(|n| *n != node);
            let present = m.present();
            if !present {
                gone.push(m.user.id);
            }
            present
        });
        for user in gone {
            effects.extend(self.gone(user, None, now));
        }
        effects
    }

    /// The active responder wrote or typed through another node.
    pub fn remote_activity(&mut self, user: UserId, now: Millis) {
        let _ = self.activity(user, now);
    }

    /// `user` sent or typed: keeps the role alive. Only the active responder may.
    pub fn activity(&mut self, user: UserId, now: Millis) -> Result<(), NotActive> {
        match &mut self.active {
            Some(holder) if holder.user.id == user => {
                holder.last_active = holder.last_active.max(now);
                Ok(())
            }
            _ => Err(NotActive),
        }
    }

    /// The epoch `user` holds the role at, if they are the active responder.
    pub fn epoch_of(&self, user: UserId) -> Option<u64> {
        self.active
            .as_ref()
            .filter(|h| h.user.id == user)
            .map(|h| h.epoch)
    }

    /// Apply the passage of time: idle lapse (of a role granted here) and
    /// the end of disconnect graces.
    pub fn tick(&mut self, now: Millis, timing: Timing) -> Effects {
        let mut effects = Vec::new();
        let mut gone = Vec::new();
        self.members.retain_mut(|m| {
            let expired = m
                .gone_since
                .is_some_and(|since| now.saturating_sub(since) >= timing.grace_ms);
            if expired {
                m.gone_since = None;
                if !m.present() {
                    gone.push(m.user.id);
                    return false;
                }
            }
            true
        });
        for user in gone {
            effects.extend(self.gone(user, Some(LockLostReason::Disconnected), now));
        }
        if self
            .active
            .as_ref()
            .is_some_and(|h| h.local && now.saturating_sub(h.last_active) >= timing.idle_ms)
        {
            effects.extend(self.end_active(Some(LockLostReason::Idle), now));
        }
        effects
    }

    /// A member left the room entirely: the presence changed, and a role
    /// granted here to them ends. A role granted elsewhere is left to the
    /// node that granted it (or to the store's lease).
    fn gone(&mut self, user: UserId, lost: Option<LockLostReason>, now: Millis) -> Effects {
        if self
            .active
            .as_ref()
            .is_some_and(|h| h.user.id == user && h.local)
        {
            return self.end_active(lost, now);
        }
        self.bump(now);
        vec![Effect::Changed]
    }

    /// When [`Room::tick`] next has something to do, if ever.
    pub fn next_deadline(&self, timing: Timing) -> Option<Millis> {
        let idle = self
            .active
            .as_ref()
            .filter(|h| h.local)
            .map(|h| h.last_active.saturating_add(timing.idle_ms));
        let grace = self
            .members
            .iter()
            .filter_map(|m| m.gone_since)
            .map(|since| since.saturating_add(timing.grace_ms))
            .min();
        match (idle, grace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn end_active(&mut self, lost: Option<LockLostReason>, now: Millis) -> Effects {
        let Some(holder) = self.active.take() else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Release {
            user: holder.user.id,
            epoch: holder.epoch,
        }];
        if let Some(reason) = lost {
            effects.push(Effect::LockLost {
                user: holder.user.id,
                reason,
            });
        }
        self.bump(now);
        effects.push(Effect::Changed);
        effects
    }

    fn member_mut(&mut self, user: UserId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user.id == user)
    }

    /// Versions grow with every change and follow the clock, so a room that
    /// is dropped and built again later never goes back to an older version.
    fn bump(&mut self, now: Millis) {
        self.version = (self.version + 1).max(now);
    }
}

#[cfg(test)]
mod tests;
