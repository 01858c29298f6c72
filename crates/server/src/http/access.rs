//! The access model over HTTP (docs/ACCESS.md "REST"): who I
//! am, the permission catalogue, roles, groups, users and their grants,
//! and inboxes in groups. Each handler parses, calls one use case of
//! `app::access`, and encodes; the policy decides in the use case (404
//! `not_found` out of the caller's reach, 403 `forbidden` without the
//! permission, 409 `conflict` against what is stored).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_core::access::{Grant, Permission, PermissionSet, RoleId};
use switchboard_core::input::{Capacity, Channel, Name};
use switchboard_core::model::{Group, Inbox};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{CurrentUser, EnrollingUser};
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, Caller, InboxChanges, Me, RoleEntry, UserAccess};
use crate::state::AppState;

/// One grant: a role at a group (and every group below it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantView {
    /// A built-in role's id (`operator`) or a custom role's uuid.
    pub role: String,
    pub group_id: Uuid,
}

impl From<&Grant> for GrantView {
    fn from(grant: &Grant) -> Self {
        Self {
            role: grant.role.to_string(),
            group_id: grant.group.as_uuid(),
        }
    }
}

fn grant_views(grants: &[Grant]) -> Vec<GrantView> {
    grants.iter().map(GrantView::from).collect()
}

fn permission_ids(set: PermissionSet) -> Vec<String> {
    set.iter().map(|p| p.as_str().to_owned()).collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeUser {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub capacity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeAccount {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: MeUser,
    pub account: MeAccount,
    pub grants: Vec<GrantView>,
    /// The permissions the grants add up to at the root group.
    pub permissions: Vec<String>,
}

impl From<Me> for MeView {
    fn from(me: Me) -> Self {
        Self {
            user: MeUser {
                id: me.user.id.as_uuid(),
                name: me.user.name,
                email: me.user.email,
                capacity: me.user.capacity,
            },
            account: MeAccount {
                id: me.account.id.as_uuid(),
                name: me.account.name,
            },
            grants: grant_views(&me.grants),
            permissions: permission_ids(me.permissions),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionView {
    pub id: String,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// A built-in role's id, or a custom role's uuid.
    pub id: String,
    pub name: String,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    pub permissions: Vec<String>,
}

impl From<RoleEntry> for RoleView {
    fn from(role: RoleEntry) -> Self {
        Self {
            builtin: role.is_builtin(),
            id: role.id.to_string(),
            name: role.name,
            permissions: permission_ids(role.permissions),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRole {
    pub name: String,
    /// Permission ids of the catalogue (`GET /v1/permissions`).
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleChanges {
    pub name: Option<String>,
    /// Replaces the role's permissions.
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: Uuid,
    pub name: String,
    /// Null for the root group.
    pub parent_id: Option<Uuid>,
}

impl From<Group> for GroupView {
    fn from(group: Group) -> Self {
        Self {
            id: group.id.as_uuid(),
            name: group.name,
            parent_id: group.parent_id.map(|p| p.as_uuid()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGroup {
    pub name: String,
    /// Null or absent: under the root group.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupChanges {
    pub name: Option<String>,
    /// Moves the group under this one.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub capacity: u32,
    pub grants: Vec<GrantView>,
    /// When the user was deactivated; absent while active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<UserAccess> for UserView {
    fn from(managed: UserAccess) -> Self {
        Self {
            id: managed.user.id.as_uuid(),
            name: managed.user.name,
            email: managed.user.email,
            capacity: managed.user.capacity,
            grants: grant_views(&managed.grants),
            deactivated_at: managed.user.deactivated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserChanges {
    pub name: Option<String>,
    /// The most conversations auto-assigned at once (0: never).
    pub capacity: Option<u32>,
    /// Never accepted: a user's email does not change (400 when present).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub email: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxView {
    pub id: Uuid,
    pub name: String,
    pub channel: String,
    pub group_id: Uuid,
}

impl From<Inbox> for InboxView {
    fn from(inbox: Inbox) -> Self {
        Self {
            id: inbox.id.as_uuid(),
            name: inbox.name,
            channel: inbox.channel,
            group_id: inbox.group_id.as_uuid(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInbox {
    pub id: Uuid,
    pub name: String,
    pub channel: String,
    pub group_id: Uuid,
    /// The key for `POST /v1/inbound`: shown here once, never again.
    pub api_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewInbox {
    pub name: String,
    /// `sms`, `whatsapp`, `messenger`, `webchat`, ...
    pub channel: String,
    /// Absent or null: the root group.
    pub group_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InboxPatch {
    /// A new name for the inbox.
    pub name: Option<String>,
    /// Moves the inbox to this group (`inboxes.manage` at both groups).
    pub group_id: Option<Uuid>,
    /// The team it routes to; null: every agent of the account; absent:
    /// unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub team_id: Option<Option<Uuid>>,
}

/// A field that is present (null included), told apart from an absent one.
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

fn name_of(field: &'static str, text: Option<&str>) -> Result<Option<Name>, AppError> {
    Ok(text.map(|t| Name::parse(field, t)).transpose()?)
}

fn permissions_of(ids: &[String]) -> Result<PermissionSet, AppError> {
    PermissionSet::parse(ids.iter().map(String::as_str))
        .map_err(|error| AppError::BadRequest(error.to_string()))
}

/// A role id in the path: one that names no role is not found.
fn role_in_path(text: &str) -> Result<RoleId, AppError> {
    RoleId::parse(text).map_err(|_| AppError::NotFound("no such role"))
}

/// Who I am: my user, account, grants and permissions at the root. Also
/// answered to a session held to setting two-factor authentication up, so
/// that a console can show who is signed in.
#[utoipa::path(get, path = "/v1/me", tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    EnrollingUser(who): EnrollingUser,
) -> Result<Json<MeView>, AppError> {
    Ok(Json(state.app.me(&who).await?.into()))
}

/// The permission catalogue.
#[utoipa::path(get, path = "/v1/permissions", tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<PermissionView>), (status = 401, body = ErrorBody)))]
pub async fn permissions(CurrentUser(_): CurrentUser) -> Json<Vec<PermissionView>> {
    Json(
        Permission::ALL
            .iter()
            .map(|p| PermissionView {
                id: p.as_str().to_owned(),
                description: p.description().to_owned(),
            })
            .collect(),
    )
}

/// The account's roles: the built-in ones (`"builtin": true`), then its
/// custom roles.
#[utoipa::path(get, path = "/v1/roles", tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<RoleView>), (status = 401, body = ErrorBody)))]
pub async fn roles(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<RoleView>>, AppError> {
    let roles = state
        .app
        .roles(Caller::User(&who), who.account_id())
        .await?;
    Ok(Json(roles.into_iter().map(Into::into).collect()))
}

/// Define a custom role (`roles.manage` at the root; only permissions the
/// caller holds there).
#[utoipa::path(post, path = "/v1/roles", tag = "access", request_body = NewRole,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = RoleView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "A role of that name exists", body = ErrorBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewRole>,
) -> Result<(StatusCode, Json<RoleView>), AppError> {
    let name = Name::parse("name", &body.name)?;
    let permissions = permissions_of(&body.permissions)?;
    let role = state
        .app
        .create_role(Caller::User(&who), who.account_id(), name, permissions)
        .await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

/// Rename or redefine a custom role (built-in roles: 403).
#[utoipa::path(patch, path = "/v1/roles/{id}", tag = "access", request_body = RoleChanges,
    params(("id" = String, Path, description = "a custom role's uuid (a built-in id is refused)")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = RoleView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn edit_role(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RoleChanges>,
) -> Result<Json<RoleView>, AppError> {
    let role = role_in_path(&id)?;
    let name = name_of("name", body.name.as_deref())?;
    let permissions = body
        .permissions
        .as_deref()
        .map(permissions_of)
        .transpose()?;
    let role = state
        .app
        .edit_role(
            Caller::User(&who),
            who.account_id(),
            role,
            name,
            permissions,
        )
        .await?;
    Ok(Json(role.into()))
}

/// Delete a custom role nobody holds (still granted: 409; built-in: 403).
#[utoipa::path(delete, path = "/v1/roles/{id}", tag = "access",
    params(("id" = String, Path, description = "a custom role's uuid")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Still granted", body = ErrorBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    let role = role_in_path(&id)?;
    state
        .app
        .delete_role(Caller::User(&who), who.account_id(), role)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups the caller holds anything at, oldest first.
#[utoipa::path(get, path = "/v1/groups", tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<GroupView>), (status = 401, body = ErrorBody)))]
pub async fn groups(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<GroupView>>, AppError> {
    let groups = state
        .app
        .groups(Caller::User(&who), who.account_id())
        .await?;
    Ok(Json(groups.into_iter().map(Into::into).collect()))
}

/// Create a group (`settings.manage` at its parent).
#[utoipa::path(post, path = "/v1/groups", tag = "access", request_body = NewGroup,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = GroupView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewGroup>,
) -> Result<(StatusCode, Json<GroupView>), AppError> {
    let name = Name::parse("name", &body.name)?;
    let group = state
        .app
        .create_group(
            Caller::User(&who),
            who.account_id(),
            name,
            body.parent_id.map(Into::into),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// Rename a group and/or move it under another (a move under its own
/// subtree, or of the root: 409).
#[utoipa::path(patch, path = "/v1/groups/{id}", tag = "access", request_body = GroupChanges,
    params(("id" = Uuid, Path, description = "the group")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A move under its own subtree, or of the root", body = ErrorBody)))]
pub async fn edit_group(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<GroupChanges>,
) -> Result<Json<GroupView>, AppError> {
    let name = name_of("name", body.name.as_deref())?;
    let group = state
        .app
        .edit_group(
            Caller::User(&who),
            who.account_id(),
            id.into(),
            name,
            body.parent_id.map(Into::into),
        )
        .await?;
    Ok(Json(group.into()))
}

/// Delete an empty group (subgroups, inboxes, grants, templates or a
/// pending invitation's grants left: 409).
#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "access",
    params(("id" = Uuid, Path, description = "the group")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not empty, or the root", body = ErrorBody)))]
pub async fn delete_group(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state
        .app
        .delete_group(Caller::User(&who), who.account_id(), id.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users the caller manages, with their grants.
#[utoipa::path(get, path = "/v1/users", tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody)))]
pub async fn users(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<UserView>>, AppError> {
    let users = state
        .app
        .managed_users(Caller::User(&who), who.account_id())
        .await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// One user the caller manages, with their grants.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "access",
    params(("id" = Uuid, Path, description = "the user")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<UserView>, AppError> {
    let user = state
        .app
        .managed_user(Caller::User(&who), who.account_id(), id.into())
        .await?;
    Ok(Json(user.into()))
}

/// Rename a user and/or set their capacity.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "access", request_body = UserChanges,
    params(("id" = Uuid, Path, description = "the user")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_user(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UserChanges>,
) -> Result<Json<UserView>, AppError> {
    if body.email.is_some() {
        return Err(AppError::BadRequest(
            "a user's email never changes: invite the new address instead".into(),
        ));
    }
    let name = name_of("name", body.name.as_deref())?;
    let capacity = body.capacity.map(Capacity::parse).transpose()?;
    let user = state
        .app
        .edit_user(
            Caller::User(&who),
            who.account_id(),
            id.into(),
            name,
            capacity,
        )
        .await?;
    Ok(Json(user.into()))
}

/// Replace a user's grants (`users.manage` over the user, escalation-free:
/// see docs/ACCESS.md).
#[utoipa::path(put, path = "/v1/users/{id}/grants", tag = "access", request_body = Vec<GrantView>,
    params(("id" = Uuid, Path, description = "the user")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_grants(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Vec<GrantView>>,
) -> Result<Json<UserView>, AppError> {
    let grants = body
        .iter()
        .map(|g| {
            let role =
                RoleId::parse(&g.role).map_err(|error| AppError::BadRequest(error.to_string()))?;
            Ok(Grant::new(role, g.group_id.into()))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let user = state
        .app
        .set_grants(Caller::User(&who), who.account_id(), id.into(), grants)
        .await?;
    Ok(Json(user.into()))
}

/// The inboxes in groups the caller holds anything at (never their keys).
#[utoipa::path(get, path = "/v1/inboxes", tag = "access",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<InboxView>), (status = 401, body = ErrorBody)))]
pub async fn inboxes(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<InboxView>>, AppError> {
    let inboxes = state
        .app
        .inboxes(Caller::User(&who), who.account_id())
        .await?;
    Ok(Json(inboxes.into_iter().map(Into::into).collect()))
}

/// Create an inbox in a group (`inboxes.manage` there); its API key is in
/// this answer and never again.
#[utoipa::path(post, path = "/v1/inboxes", tag = "access", request_body = NewInbox,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = CreatedInbox), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_inbox(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewInbox>,
) -> Result<(StatusCode, Json<CreatedInbox>), AppError> {
    let name = Name::parse("name", &body.name)?;
    let channel = Channel::parse(&body.channel)?;
    let (inbox, api_key) = state
        .app
        .create_inbox_in(
            Caller::User(&who),
            who.account_id(),
            name,
            channel,
            body.group_id.map(Into::into),
        )
        .await?;
    let created = CreatedInbox {
        id: inbox.id.as_uuid(),
        name: inbox.name,
        channel: inbox.channel,
        group_id: inbox.group_id.as_uuid(),
        api_key,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Rename an inbox, move it to another group and/or route it to a team.
#[utoipa::path(patch, path = "/v1/inboxes/{id}", tag = "access", request_body = InboxPatch,
    params(("id" = Uuid, Path, description = "the inbox")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = InboxView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_inbox(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InboxPatch>,
) -> Result<Json<InboxView>, AppError> {
    let changes = InboxChanges {
        name: name_of("name", body.name.as_deref())?,
        group: body.group_id.map(Into::into),
        team: body.team_id.map(|team| team.map(Into::into)),
    };
    let inbox = state
        .app
        .edit_inbox(Caller::User(&who), id.into(), changes)
        .await?;
    Ok(Json(inbox.into()))
}
