//! Routing over HTTP: teams, inboxes' teams, capacity, availability, and
//! assigning, transferring, unassigning, resolving and reopening
//! conversations. The same use cases as the WebSocket frames; every change
//! reaches live consoles as `conversation` and `agent` events.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::UserId;
use switchboard_core::input::{Capacity as CapacityInput, Name};
use switchboard_core::model::{AgentState, Availability, Conversation, Team};
use switchboard_proto as wire;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{CurrentUser, PersonUser};
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, Caller, RouteChange};
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
    /// Beyond the agent's capacity (needs `conversations.assign_over_capacity`).
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

fn members(ids: &[Uuid]) -> Vec<UserId> {
    ids.iter().map(|id| UserId::from(*id)).collect()
}

/// Create a team.
#[utoipa::path(post, path = "/v1/teams", tag = "routing", request_body = NewTeam,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = TeamView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<TeamView>), AppError> {
    let name = Name::parse("name", &body.name)?;
    let team = state
        .app
        .create_team(
            Caller::User(&who),
            who.account_id(),
            name,
            members(&body.members),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// The account's teams.
#[utoipa::path(get, path = "/v1/teams", tag = "routing",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<TeamView>), (status = 401, body = ErrorBody)))]
pub async fn teams(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<TeamView>>, AppError> {
    let teams = state.app.teams(&who).await?;
    Ok(Json(teams.into_iter().map(Into::into).collect()))
}

/// Replace a team's members.
#[utoipa::path(put, path = "/v1/teams/{id}/members", tag = "routing", request_body = Members,
    params(("id" = Uuid, Path, description = "the team")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = TeamView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_members(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Members>,
) -> Result<Json<TeamView>, AppError> {
    let team = state
        .app
        .set_team_members(&who, id.into(), members(&body.members))
        .await?;
    Ok(Json(team.into()))
}

/// Delete a team; its inboxes route to every agent of the account.
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "routing",
    params(("id" = Uuid, Path, description = "the team")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_team(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state.app.delete_team(&who, id.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Route an inbox to a team (or, with null, to every agent of the account).
#[utoipa::path(put, path = "/v1/inboxes/{id}/team", tag = "routing", request_body = InboxTeam,
    params(("id" = Uuid, Path, description = "the inbox")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_inbox_team(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InboxTeam>,
) -> Result<StatusCode, AppError> {
    state
        .app
        .set_inbox_team(Caller::User(&who), id.into(), body.team_id.map(Into::into))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set an agent's capacity (raising it serves the queue at once).
#[utoipa::path(put, path = "/v1/users/{id}/capacity", tag = "routing", request_body = Capacity,
    params(("id" = Uuid, Path, description = "the agent")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_capacity(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Capacity>,
) -> Result<Json<AgentView>, AppError> {
    let capacity = CapacityInput::parse(body.capacity)?;
    let agent = state
        .app
        .set_capacity(Caller::User(&who), id.into(), capacity)
        .await?;
    Ok(Json(agent.into()))
}

/// The caller's own routing state.
#[utoipa::path(get, path = "/v1/agents/me", tag = "routing",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
) -> Result<Json<AgentView>, AppError> {
    Ok(Json(state.app.my_agent_state(&who).await?.into()))
}

/// Set the caller's availability (becoming available serves the queue at once).
#[utoipa::path(put, path = "/v1/agents/me/availability", tag = "routing", request_body = AvailabilityBody,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_availability(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> Result<Json<AgentView>, AppError> {
    let availability = Availability::parse(&body.status)
        .ok_or_else(|| AppError::BadRequest("status must be available or away".into()))?;
    let agent = state.app.set_availability(&who, availability).await?;
    Ok(Json(agent.into()))
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
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<wire::Summary>, AppError> {
    let card = state
        .app
        .assign(&who, id.into(), body.user_id.into(), body.force)
        .await?;
    card_body(card)
}

/// The card after a routing change; one that could not be read back is
/// answered 503 (the change itself is stored).
fn card_body(card: Option<Conversation>) -> Result<Json<wire::Summary>, AppError> {
    card.map(|card| Json(mapping::summary(&card)))
        .ok_or(AppError::Unavailable(
            "the change is stored, but its card could not be read; read it again",
        ))
}

macro_rules! route_endpoint {
    ($name:ident, $path:literal, $change:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "routing",
            params(("id" = Uuid, Path, description = "the conversation")),
            security(("bearer" = []), ("cookie" = [])),
            responses((status = 200, body = wire::Summary), (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody)))]
        pub async fn $name(
            State(state): State<AppState>,
            CurrentUser(who): CurrentUser,
            ApiPath(id): ApiPath<Uuid>,
        ) -> Result<Json<wire::Summary>, AppError> {
            let card = state.app.change_route(&who, id.into(), $change).await?;
            card_body(card)
        }
    };
}

route_endpoint!(
    unassign,
    "/v1/conversations/{id}/unassign",
    RouteChange::Unassign,
    "Put a conversation back in the Unassigned queue (as its newest arrival)."
);
route_endpoint!(
    resolve,
    "/v1/conversations/{id}/resolve",
    RouteChange::Resolve,
    "Resolve a conversation: its assignee's capacity frees."
);
route_endpoint!(
    reopen,
    "/v1/conversations/{id}/reopen",
    RouteChange::Reopen,
    "Open a resolved conversation again; it is assigned like a new one."
);

/// A conversation's assignment history, oldest first.
#[utoipa::path(get, path = "/v1/conversations/{id}/assignments", tag = "routing",
    params(("id" = Uuid, Path, description = "the conversation")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<AssignmentView>), (status = 404, body = ErrorBody)))]
pub async fn assignments(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<AssignmentView>>, AppError> {
    let log = state.app.assignment_history(&who, id.into()).await?;
    Ok(Json(
        log.into_iter()
            .map(|r| AssignmentView {
                kind: r.kind.as_str().to_owned(),
                assignee: r.assignee.map(|u| u.as_uuid()),
                actor: r.actor.map(|u| u.as_uuid()),
                at: r.at,
            })
            .collect(),
    ))
}
