//! Routing over HTTP: teams, inboxes' teams, capacity, availability, and
//! assigning, transferring, unassigning, resolving and reopening
//! conversations. The same rules as the WebSocket frames; every change
//! reaches live consoles as `conversation` and `agent` events.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::model::{
    AgentState, AssignmentKind, Conversation, ManualAssignment, Routed, Team,
};
use switchboard_core::{Action, ConversationId, InboxId, Resource, TeamId, UserId, can};
use switchboard_proto as wire;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::CurrentUser;
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::mapping;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: Uuid,
    pub name: String,
    pub members: Vec<Uuid>,
}

impl From<Team> for TeamView {
    fn from(team: Team) -> Self {
        Self {
            id: team.id.as_uuid(),
            name: team.name,
            members: team.members.iter().map(|m| m.as_uuid()).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTeam {
    pub name: String,
    #[serde(default)]
    pub members: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Members {
    pub members: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InboxTeam {
    /// The team the inbox routes to; null: every agent of the account.
    pub team_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Capacity {
    /// The most conversations auto-assigned at once (0: never).
    pub capacity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AvailabilityBody {
    /// `available` or `away`.
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignBody {
    pub user_id: Uuid,
    /// Beyond the agent's capacity (owners and administrators only).
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub user_id: Uuid,
    pub name: String,
    /// `available` or `away`.
    pub availability: String,
    pub online: bool,
    pub load: u32,
    pub capacity: u32,
}

impl From<AgentState> for AgentView {
    fn from(state: AgentState) -> Self {
        Self {
            user_id: state.user.id.as_uuid(),
            name: state.user.name,
            availability: state.availability.as_str().to_owned(),
            online: state.online,
            load: state.load,
            capacity: state.capacity,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    /// auto, manual, forced, unassigned, requeued, resolved or reopened.
    pub kind: String,
    pub assignee: Option<Uuid>,
    /// Who did it; null: the assignment policy.
    pub actor: Option<Uuid>,
    pub at: chrono::DateTime<chrono::Utc>,
}

fn manage(user: &CurrentUser) -> Result<(), ApiError> {
    let actor = user.0.actor();
    if can(
        &actor,
        Action::ManageUsers,
        Resource::Account(actor.account_id),
    ) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only owners and administrators manage teams and capacity",
        ))
    }
}

/// The caller's team, or not found (another account's teams do not exist for them).
async fn own_team(state: &AppState, user: &CurrentUser, team: TeamId) -> Result<Team, ApiError> {
    state
        .store
        .teams(user.0.account_id)
        .await?
        .into_iter()
        .find(|t| t.id == team)
        .ok_or_else(|| ApiError::not_found("no such team"))
}

fn members(ids: &[Uuid]) -> Vec<UserId> {
    ids.iter().map(|id| UserId::from(*id)).collect()
}

/// Create a team.
#[utoipa::path(post, path = "/v1/teams", tag = "routing", request_body = NewTeam,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = TeamView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<TeamView>), ApiError> {
    manage(&user)?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request("name must be 1 to 200 bytes"));
    }
    let team = state
        .store
        .create_team(user.0.account_id, name, &members(&body.members))
        .await?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// The account's teams.
#[utoipa::path(get, path = "/v1/teams", tag = "routing",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<TeamView>), (status = 401, body = ErrorBody)))]
pub async fn teams(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<TeamView>>, ApiError> {
    let teams = state.store.teams(user.0.account_id).await?;
    Ok(Json(teams.into_iter().map(Into::into).collect()))
}

/// Replace a team's members.
#[utoipa::path(put, path = "/v1/teams/{id}/members", tag = "routing", request_body = Members,
    params(("id" = Uuid, Path, description = "the team")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = TeamView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_members(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<Members>,
) -> Result<Json<TeamView>, ApiError> {
    manage(&user)?;
    let team = own_team(&state, &user, id.into()).await?;
    let (team, routed) = state
        .store
        .set_team_members(team.id, &members(&body.members))
        .await?;
    state.hub.routed(routed).await;
    Ok(Json(team.into()))
}

/// Delete a team; its inboxes route to every agent of the account.
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = Uuid, Path, description = "the team")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_team(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    manage(&user)?;
    let team = own_team(&state, &user, id.into()).await?;
    let routed = state.store.delete_team(team.id).await?;
    state.hub.routed(routed).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Route an inbox to a team (or, with null, to every agent of the account).
#[utoipa::path(put, path = "/v1/inboxes/{id}/team", tag = "routing", request_body = InboxTeam,
    params(("id" = Uuid, Path, description = "the inbox")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_inbox_team(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<InboxTeam>,
) -> Result<StatusCode, ApiError> {
    manage(&user)?;
    let inbox = state
        .store
        .inbox(InboxId::from(id))
        .await?
        .filter(|i| i.account_id == user.0.account_id)
        .ok_or_else(|| ApiError::not_found("no such inbox"))?;
    let team = match body.team_id {
        Some(team) => Some(own_team(&state, &user, team.into()).await?.id),
        None => None,
    };
    let routed = state.store.set_inbox_team(inbox.id, team).await?;
    state.hub.routed(routed).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Set an agent's capacity (raising it serves the queue at once).
#[utoipa::path(put, path = "/v1/users/{id}/capacity", tag = "routing", request_body = Capacity,
    params(("id" = Uuid, Path, description = "the agent")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_capacity(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<Capacity>,
) -> Result<Json<AgentView>, ApiError> {
    manage(&user)?;
    let agent = own_agent(&state, &user, id.into()).await?;
    if body.capacity > 10_000 {
        return Err(ApiError::bad_request("capacity must be at most 10000"));
    }
    let routed = state
        .store
        .set_capacity(agent.user.id, body.capacity)
        .await?;
    let now = agent_in(&routed, agent.user.id);
    state.hub.routed(routed).await;
    Ok(Json(match now {
        Some(state) => state.into(),
        None => own_agent(&state, &user, id.into()).await?.into(),
    }))
}

async fn own_agent(
    state: &AppState,
    user: &CurrentUser,
    id: UserId,
) -> Result<AgentState, ApiError> {
    state
        .store
        .agent(id)
        .await?
        .filter(|a| a.account_id == user.0.account_id)
        .ok_or_else(|| ApiError::not_found("no such agent"))
}

fn agent_in(routed: &Routed, id: UserId) -> Option<AgentState> {
    routed.agents.iter().find(|a| a.user.id == id).cloned()
}

/// The caller's own routing state.
#[utoipa::path(get, path = "/v1/agents/me", tag = "routing",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(own_agent(&state, &user, user.0.id).await?.into()))
}

/// Set the caller's availability (becoming available serves the queue at once).
#[utoipa::path(put, path = "/v1/agents/me/availability", tag = "routing", request_body = AvailabilityBody,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_availability(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> Result<Json<AgentView>, ApiError> {
    if !user.0.role.is_agent() {
        return Err(ApiError::forbidden(
            "viewers are never assigned conversations",
        ));
    }
    let availability = switchboard_core::model::Availability::parse(&body.status)
        .ok_or_else(|| ApiError::bad_request("status must be available or away"))?;
    let routed = state
        .store
        .set_availability(user.0.id, availability)
        .await?;
    let now = agent_in(&routed, user.0.id);
    state.hub.routed(routed).await;
    Ok(Json(match now {
        Some(state) => state.into(),
        None => own_agent(&state, &user, user.0.id).await?.into(),
    }))
}

/// A conversation the caller may see, and may do `action` to.
async fn own_conversation(
    state: &AppState,
    user: &CurrentUser,
    id: ConversationId,
    action: Action,
) -> Result<Conversation, ApiError> {
    let actor = user.0.actor();
    let conversation = state
        .store
        .conversation(id)
        .await?
        .filter(|c| can(&actor, Action::ViewConversation, c.resource()))
        .ok_or_else(|| ApiError::not_found("conversation not found"))?;
    if !can(&actor, action, conversation.resource()) {
        return Err(ApiError::forbidden(
            "your role may not do this to conversations",
        ));
    }
    Ok(conversation)
}

async fn card(
    state: &AppState,
    id: ConversationId,
    routed: Routed,
) -> Result<Json<wire::Summary>, ApiError> {
    let mine = routed.conversation(id).cloned();
    state.hub.routed(routed).await;
    let conversation = match mine {
        Some(c) => c,
        None => state
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| ApiError::not_found("conversation not found"))?,
    };
    Ok(Json(mapping::summary(&conversation)))
}

/// Assign (or transfer) a conversation by hand. Beyond the agent's capacity
/// it is refused (409, code `forbidden`) unless an administrator forces it.
#[utoipa::path(post, path = "/v1/conversations/{id}/assign", tag = "routing", request_body = AssignBody,
    params(("id" = Uuid, Path, description = "the conversation")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = wire::Summary), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "At capacity, or resolved", body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<wire::Summary>, ApiError> {
    let conversation = own_conversation(&state, &user, id.into(), Action::Assign).await?;
    if body.force
        && !can(
            &user.0.actor(),
            Action::ForceAssign,
            conversation.resource(),
        )
    {
        return Err(ApiError::forbidden(
            "only owners and administrators may assign beyond capacity",
        ));
    }
    let routed = state
        .store
        .assign(ManualAssignment {
            conversation: conversation.id,
            assignee: body.user_id.into(),
            actor: user.0.id,
            force: body.force,
        })
        .await?;
    card(&state, conversation.id, routed).await
}

macro_rules! route_endpoint {
    ($name:ident, $path:literal, $action:expr, $method:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "routing",
            params(("id" = Uuid, Path, description = "the conversation")),
            security(("bearer" = []), ("cookie" = [])),
            responses((status = 200, body = wire::Summary), (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody)))]
        pub async fn $name(
            State(state): State<AppState>,
            user: CurrentUser,
            Path(id): Path<Uuid>,
        ) -> Result<Json<wire::Summary>, ApiError> {
            let conversation = own_conversation(&state, &user, id.into(), $action).await?;
            let routed = state.store.$method(conversation.id, user.0.id).await?;
            card(&state, conversation.id, routed).await
        }
    };
}

route_endpoint!(
    unassign,
    "/v1/conversations/{id}/unassign",
    Action::Assign,
    unassign,
    "Put a conversation back in the Unassigned queue (as its newest arrival)."
);
route_endpoint!(
    resolve,
    "/v1/conversations/{id}/resolve",
    Action::Resolve,
    resolve,
    "Resolve a conversation: its assignee's capacity frees."
);
route_endpoint!(
    reopen,
    "/v1/conversations/{id}/reopen",
    Action::Resolve,
    reopen,
    "Open a resolved conversation again; it is assigned like a new one."
);

/// A conversation's assignment history, oldest first.
#[utoipa::path(get, path = "/v1/conversations/{id}/assignments", tag = "routing",
    params(("id" = Uuid, Path, description = "the conversation")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<AssignmentView>), (status = 404, body = ErrorBody)))]
pub async fn assignments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<AssignmentView>>, ApiError> {
    let conversation = own_conversation(&state, &user, id.into(), Action::ViewConversation).await?;
    let log = state.store.assignment_log(conversation.id).await?;
    Ok(Json(
        log.into_iter()
            .map(|r| AssignmentView {
                kind: kind(r.kind).to_owned(),
                assignee: r.assignee.map(|u| u.as_uuid()),
                actor: r.actor.map(|u| u.as_uuid()),
                at: r.at,
            })
            .collect(),
    ))
}

fn kind(kind: AssignmentKind) -> &'static str {
    kind.as_str()
}
