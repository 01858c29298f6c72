//! Routing's use cases: availability, manual assignment, unassigning,
//! resolving and reopening, the assignment history, capacity, teams and the
//! team an inbox routes to. Every change reaches live consoles (cards and
//! agent states) before the use case returns.

use switchboard_core::access::Permission;
use switchboard_core::input::{Capacity, Name};
use switchboard_core::model::{
    AgentState, AssignmentRecord, Availability, Conversation, ManualAssignment, Routed, Team,
};
use switchboard_core::{AccountId, ConversationId, InboxId, Principal, TeamId, UserId};

use super::{App, AppError, Caller};

/// A routing change made by hand to one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteChange {
    /// Back to the Unassigned queue, as its newest arrival.
    Unassign,
    /// Closed; its assignee's capacity frees.
    Resolve,
    /// Open again; assigned like a new conversation.
    Reopen,
}

impl App {
    /// Sets the caller's own availability (becoming available serves the
    /// queue at once).
    pub async fn set_availability(
        &self,
        who: &Principal,
        availability: Availability,
    ) -> Result<AgentState, AppError> {
        if !self.access_of(who.account_id()).await?.is_agent(who.id()) {
            return Err(AppError::forbidden(
                "only users who answer conversations (conversations.answer) are assigned them",
            ));
        }
        let mut routed = self.store.set_availability(who.id(), availability).await?;
        self.spread(&mut routed).await;
        self.agent_after(routed, who.id(), who.account_id()).await
    }

    /// The caller's own routing state.
    pub async fn my_agent_state(&self, who: &Principal) -> Result<AgentState, AppError> {
        self.agent_in(who.account_id(), who.id()).await
    }

    /// Assigns (or transfers) a conversation by hand; beyond the agent's
    /// capacity only with `force`, by those allowed to. Returns the card as
    /// it is now (see `card_after`).
    pub async fn assign(
        &self,
        who: &Principal,
        id: ConversationId,
        assignee: UserId,
        force: bool,
    ) -> Result<Option<Conversation>, AppError> {
        let conversation = self.visible_conversation(who, id).await?;
        let resource = conversation.resource();
        let caller = Caller::User(who);
        const MISSING: &str = "conversation not found";
        self.check(caller, Permission::ConversationsAssign, resource, MISSING)
            .await?;
        if force {
            let over = Permission::ConversationsAssignOverCapacity;
            self.check(caller, over, resource, MISSING).await?;
        }
        let routed = self
            .store
            .assign(ManualAssignment {
                conversation: id,
                assignee,
                actor: who.id(),
                force,
            })
            .await?;
        self.card_after(routed, id).await
    }

    /// Unassigns, resolves or reopens a conversation. Returns the card as it
    /// is now (see `card_after`).
    pub async fn change_route(
        &self,
        who: &Principal,
        id: ConversationId,
        change: RouteChange,
    ) -> Result<Option<Conversation>, AppError> {
        let conversation = self.visible_conversation(who, id).await?;
        let permission = match change {
            RouteChange::Unassign => Permission::ConversationsAssign,
            RouteChange::Resolve | RouteChange::Reopen => Permission::ConversationsResolve,
        };
        let resource = conversation.resource();
        self.check(
            Caller::User(who),
            permission,
            resource,
            "conversation not found",
        )
        .await?;
        let routed = match change {
            RouteChange::Unassign => self.store.unassign(id, who.id()).await,
            RouteChange::Resolve => self.store.resolve(id, who.id()).await,
            RouteChange::Reopen => self.store.reopen(id, who.id()).await,
        }?;
        self.card_after(routed, id).await
    }

    /// A conversation's assignment history, oldest first.
    pub async fn assignment_history(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<Vec<AssignmentRecord>, AppError> {
        let conversation = self.visible_conversation(who, id).await?;
        Ok(self.store.assignment_log(conversation.id).await?)
    }

    /// Sets how many conversations an agent is auto-assigned at once
    /// (raising it serves the queue at once).
    pub async fn set_capacity(
        &self,
        caller: Caller<'_>,
        user: UserId,
        capacity: Capacity,
    ) -> Result<AgentState, AppError> {
        let agent = self
            .store
            .agent(user)
            .await?
            .filter(|a| caller.sees(a.account_id))
            .ok_or(AppError::NotFound("no such agent"))?;
        self.check_manage_user(caller, agent.account_id, user)
            .await?;
        let mut routed = self.store.set_capacity(user, capacity.get()).await?;
        self.spread(&mut routed).await;
        self.agent_after(routed, user, agent.account_id).await
    }

    /// Creates a team of an account.
    pub async fn create_team(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        name: Name,
        members: Vec<UserId>,
    ) -> Result<Team, AppError> {
        self.manage_account(caller, account).await?;
        Ok(self
            .store
            .create_team(account, name.as_str(), &members)
            .await?)
    }

    /// The caller's account's teams.
    pub async fn teams(&self, who: &Principal) -> Result<Vec<Team>, AppError> {
        Ok(self.store.teams(who.account_id()).await?)
    }

    /// Replaces a team's members (agents who joined may take its queue).
    pub async fn set_team_members(
        &self,
        who: &Principal,
        team: TeamId,
        members: Vec<UserId>,
    ) -> Result<Team, AppError> {
        self.manage_account(Caller::User(who), who.account_id())
            .await?;
        let team = self.own_team(who.account_id(), team).await?;
        let (team, mut routed) = self.store.set_team_members(team.id, &members).await?;
        self.spread(&mut routed).await;
        Ok(team)
    }

    /// Deletes a team; its inboxes route to every agent of the account.
    pub async fn delete_team(&self, who: &Principal, team: TeamId) -> Result<(), AppError> {
        self.manage_account(Caller::User(who), who.account_id())
            .await?;
        let team = self.own_team(who.account_id(), team).await?;
        let mut routed = self.store.delete_team(team.id).await?;
        self.spread(&mut routed).await;
        Ok(())
    }

    /// Routes an inbox to a team of its account, or (`None`) to every agent
    /// of the account.
    pub async fn set_inbox_team(
        &self,
        caller: Caller<'_>,
        inbox: InboxId,
        team: Option<TeamId>,
    ) -> Result<(), AppError> {
        let inbox = self.managed_inbox(caller, inbox).await?;
        let team = match team {
            Some(team) => Some(self.own_team(inbox.account_id, team).await?.id),
            None => None,
        };
        let mut routed = self.store.set_inbox_team(inbox.id, team).await?;
        self.spread(&mut routed).await;
        Ok(())
    }

    /// A conversation the caller may see; any other is not found.
    pub(super) async fn visible_conversation(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<Conversation, AppError> {
        let conversation = self.store.conversation(id).await?;
        let conversation = conversation
            .filter(|c| c.account_id == who.account_id())
            .ok_or(AppError::NotFound("conversation not found"))?;
        let access = self.access_of(who.account_id()).await?;
        match access.allows(
            who.id(),
            Permission::ConversationsView,
            conversation.resource(),
        ) {
            true => Ok(conversation),
            false => Err(AppError::NotFound("conversation not found")),
        }
    }

    pub(super) async fn own_team(
        &self,
        account: AccountId,
        team: TeamId,
    ) -> Result<Team, AppError> {
        self.store
            .teams(account)
            .await?
            .into_iter()
            .find(|t| t.id == team)
            .ok_or(AppError::NotFound("no such team"))
    }

    async fn agent_in(&self, account: AccountId, user: UserId) -> Result<AgentState, AppError> {
        self.store
            .agent(user)
            .await?
            .filter(|a| a.account_id == account)
            .ok_or(AppError::NotFound("no such agent"))
    }

    /// Spreads what a routing operation changed; the agent as it is now.
    async fn agent_after(
        &self,
        routed: Routed,
        user: UserId,
        account: AccountId,
    ) -> Result<AgentState, AppError> {
        match routed.agents.iter().find(|a| a.user.id == user) {
            Some(state) => Ok(state.clone()),
            None => self.agent_in(account, user).await,
        }
    }

    /// Spreads what a routing operation changed; the conversation's card as
    /// this node shows it now. The change is committed whatever happens
    /// here: a card that cannot be read back is `None` (logged), not an
    /// error that would make the client retry a change already made.
    async fn card_after(
        &self,
        mut routed: Routed,
        id: ConversationId,
    ) -> Result<Option<Conversation>, AppError> {
        self.spread(&mut routed).await;
        if let Some(card) = routed.conversation(id) {
            return Ok(Some(card.clone()));
        }
        match self.store.conversation(id).await {
            Ok(Some(card)) => Ok(Some(match self.hub() {
                Some(hub) => hub.card_as_shown(card),
                None => card,
            })),
            Ok(None) => Err(AppError::NotFound("conversation not found")),
            Err(error) => {
                tracing::warn!(%error, conversation = %id, "routed, but the card could not be read back");
                Ok(None)
            }
        }
    }
}
