//! Invitations over HTTP (docs/PEOPLE.md, "Invitations"). Inviting,
//! listing, resending and revoking need a login; looking a link up and
//! accepting it need only the link's token.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::access::{Grant, RoleId};
use switchboard_core::input::{Email, Name};
use switchboard_core::invitations::{Invitation, InvitationStatus};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::GrantView;
use super::auth::{CurrentUser, LoginResponse, signed_in};
use super::conversations::params;
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, Caller};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    /// The addresses to invite (at most 100), each sent a mail.
    pub emails: Vec<String>,
    /// What each new user will hold once they accept.
    pub grants: Vec<GrantView>,
}

/// An invitation (never its link: that is only in the mail).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub grants: Vec<GrantView>,
    /// The latest mail of the invitation: `queued`, `sent`, `failed`, or
    /// `cancelled` (revoked or accepted before it went out).
    pub mail_status: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Who invited; null: an operator at the command line.
    pub invited_by: Option<Uuid>,
    /// The user it became, once accepted.
    pub user_id: Option<Uuid>,
}

impl From<&Invitation> for InvitationView {
    fn from(invitation: &Invitation) -> Self {
        Self {
            id: invitation.id.as_uuid(),
            email: invitation.email.clone(),
            status: invitation.status.as_str().to_owned(),
            expires_at: invitation.expires_at,
            grants: invitation.grants.iter().map(GrantView::from).collect(),
            mail_status: invitation.mail_status.map(|s| s.as_str().to_owned()),
            created_at: invitation.created_at,
            invited_by: invitation.invited_by.map(Into::into),
            user_id: invitation.user_id.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<InvitationView>,
}

impl InvitationList {
    fn of(invitations: &[Invitation]) -> Self {
        Self {
            invitations: invitations.iter().map(InvitationView::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `pending`, `accepted`, `revoked` or `expired`; left out, all.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// The token of the invitation's link.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LookupAccount {
    pub name: String,
}

/// What the acceptance page shows before the person chooses a password.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupView {
    pub email: String,
    pub account: LookupAccount,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptRequest {
    /// The token of the invitation's link.
    pub token: String,
    /// The new user's name.
    pub name: String,
    /// Their password (at least 8 characters).
    pub password: String,
}

/// Invite people by email, all or none (`users.manage`, and only grants
/// the caller could give: docs/ACCESS.md).
#[utoipa::path(post, path = "/v1/invitations", tag = "people", request_body = InviteRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Invited; a mail to each address is queued", body = InvitationList),
        (status = 400, description = "A malformed address, no address or no grant", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Grants the caller may not give", body = ErrorBody),
        (status = 404, description = "An unknown role or group", body = ErrorBody),
        (status = 409, description = "`conflict`: an address belongs to a user or a pending invitation; `seat_limit`: more addresses than seats left", body = ErrorBody),
    ))]
pub async fn invite(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<InvitationList>), AppError> {
    let emails = body
        .emails
        .iter()
        .map(|e| Email::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let grants = parse_grants(&body.grants)?;
    let invited = state
        .app
        .invite(Caller::User(&who), who.account_id(), emails, grants)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationList::of(&invited.invitations)),
    ))
}

/// The invitations the caller may manage (those whose grants they could
/// give), newest first.
#[utoipa::path(get, path = "/v1/invitations", tag = "people", params(ListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = InvitationList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<InvitationList>, AppError> {
    let query = params(query)?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(text) => Some(InvitationStatus::parse(text).ok_or_else(|| {
            AppError::BadRequest("status must be one of pending, accepted, revoked, expired".into())
        })?),
    };
    let invitations = state.app.invitations(&who, status).await?;
    Ok(Json(InvitationList::of(&invitations)))
}

/// Send a pending (or expired) invitation again: a new link, the old one
/// stops working, the time starts again.
#[utoipa::path(post, path = "/v1/invitations/{id}/resend", tag = "people",
    params(("id" = Uuid, Path, description = "the invitation")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = InvitationView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such invitation, or one accepted or revoked", body = ErrorBody),
        (status = 409, description = "`seat_limit`: an expired invitation and no seat left; `conflict`: the address is a user now", body = ErrorBody)))]
pub async fn resend(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InvitationView>, AppError> {
    let resent = state
        .app
        .resend_invitation(Caller::User(&who), id.into())
        .await?;
    let invitation = resent.invitations.first().ok_or(AppError::Internal)?;
    Ok(Json(invitation.into()))
}

/// Revoke a pending (or expired) invitation: its link stops working.
#[utoipa::path(delete, path = "/v1/invitations/{id}", tag = "people",
    params(("id" = Uuid, Path, description = "the invitation")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = InvitationView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such invitation, or one accepted or revoked", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<InvitationView>, AppError> {
    let revoked = state
        .app
        .revoke_invitation(Caller::User(&who), id.into())
        .await?;
    Ok(Json((&revoked).into()))
}

/// What an invitation's link invites to (no login needed).
#[utoipa::path(get, path = "/v1/invitations/lookup", tag = "people", params(LookupParams),
    responses((status = 200, body = LookupView), (status = 400, body = ErrorBody),
        (status = 404, description = "An unknown, revoked or accepted link", body = ErrorBody),
        (status = 410, description = "`expired`: the link's time is over", body = ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    query: Result<Query<LookupParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LookupView>, AppError> {
    let query = params(query)?;
    let invitation = state.app.lookup_invitation(&query.token).await?;
    Ok(Json(LookupView {
        email: invitation.email,
        account: LookupAccount {
            name: invitation.account_name,
        },
        expires_at: invitation.expires_at,
    }))
}

/// Accept an invitation: the user is created with its grants and signed in
/// (no login needed; the link works once).
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "people", request_body = AcceptRequest,
    responses(
        (status = 201, description = "The user exists and is signed in; the token is also set as the `switchboard_session` cookie", body = LoginResponse),
        (status = 400, description = "A malformed name or a short password", body = ErrorBody),
        (status = 404, description = "An unknown, revoked or accepted link", body = ErrorBody),
        (status = 409, description = "`seat_limit`: no seat left; `conflict`: the address is a user already", body = ErrorBody),
        (status = 410, description = "`expired`: the link's time is over", body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AcceptRequest>,
) -> Result<Response, AppError> {
    let name = Name::parse("name", &body.name)?;
    let session = state
        .app
        .accept_invitation(&body.token, name, body.password)
        .await?;
    Ok(signed_in(&state, session, StatusCode::CREATED))
}

fn parse_grants(views: &[GrantView]) -> Result<Vec<Grant>, AppError> {
    views
        .iter()
        .map(|g| {
            let role =
                RoleId::parse(&g.role).map_err(|error| AppError::BadRequest(error.to_string()))?;
            Ok(Grant::new(role, g.group_id.into()))
        })
        .collect()
}
