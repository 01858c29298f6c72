//! Personal folders over HTTP (docs/MODULES.md, "Folders").

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::folders::{AssigneeCondition, FolderFilter};
use switchboard_core::input::Name;
use switchboard_core::model::ConversationStatus;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::PersonUser;
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, FolderChanges, FolderView};
use crate::state::AppState;

/// Which conversations a folder holds: every condition given must hold;
/// leave a condition out for "any".
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FolderFilterBody {
    /// `open` or `resolved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "open")]
    pub status: Option<ConversationStatus>,
    /// Only these inboxes' conversations (1 to 100 ids of the account's inboxes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_ids: Option<BTreeSet<Uuid>>,
    /// `me` (assigned to the folder's owner), `unassigned`, or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "me")]
    pub assignee: Option<AssigneeCondition>,
    /// Only the conversations of the inboxes that route to this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Uuid>,
    /// `true`: only those the owner is answering now ("Answered by" them);
    /// `false`: only those they are not answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by_me: Option<bool>,
}

impl From<FolderFilterBody> for FolderFilter {
    fn from(body: FolderFilterBody) -> Self {
        Self {
            status: body.status,
            inbox_ids: body
                .inbox_ids
                .map(|ids| ids.into_iter().map(Into::into).collect()),
            assignee: body.assignee,
            team_id: body.team_id.map(Into::into),
            answered_by_me: body.answered_by_me,
        }
    }
}

impl From<FolderFilter> for FolderFilterBody {
    fn from(filter: FolderFilter) -> Self {
        Self {
            status: filter.status,
            inbox_ids: filter
                .inbox_ids
                .map(|ids| ids.into_iter().map(|i| i.as_uuid()).collect()),
            assignee: filter.assignee,
            team_id: filter.team_id.map(|t| t.as_uuid()),
            answered_by_me: filter.answered_by_me,
        }
    }
}

/// A folder of the caller's.
#[derive(Debug, Serialize, ToSchema)]
pub struct FolderBody {
    pub id: Uuid,
    pub name: String,
    pub filter: FolderFilterBody,
    /// Open conversations in the folder that the caller may see now (for
    /// a badge).
    pub open_count: u64,
}

impl From<FolderView> for FolderBody {
    fn from(view: FolderView) -> Self {
        Self {
            id: view.folder.id.as_uuid(),
            name: view.folder.name,
            filter: view.folder.filter.into(),
            open_count: view.open_count,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFolder {
    pub name: String,
    /// Absent: every conversation the caller may see.
    #[serde(default)]
    pub filter: FolderFilterBody,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FolderPatch {
    pub name: Option<String>,
    /// Replaces the whole filter.
    pub filter: Option<FolderFilterBody>,
}

/// The caller's folders, by name, each with its open count.
#[utoipa::path(get, path = "/v1/folders", tag = "folders",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<FolderBody>), (status = 401, body = ErrorBody)))]
pub async fn folders(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
) -> Result<Json<Vec<FolderBody>>, AppError> {
    let folders = state.app.folders(&who).await?;
    Ok(Json(folders.into_iter().map(Into::into).collect()))
}

/// Create a folder (a name once per user; past
/// `SWITCHBOARD_MAX_FOLDERS_PER_USER` folders: 409).
#[utoipa::path(post, path = "/v1/folders", tag = "folders", request_body = NewFolder,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = FolderBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_folder(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
    ApiJson(body): ApiJson<NewFolder>,
) -> Result<(StatusCode, Json<FolderBody>), AppError> {
    let name = Name::parse("name", &body.name)?;
    let folder = state
        .app
        .create_folder(&who, name, body.filter.into())
        .await?;
    Ok((StatusCode::CREATED, Json(folder.into())))
}

/// Rename a folder of the caller's or replace its filter (anyone else's:
/// 404).
#[utoipa::path(patch, path = "/v1/folders/{id}", tag = "folders", request_body = FolderPatch,
    params(("id" = Uuid, Path, description = "the folder")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = FolderBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn edit_folder(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<FolderPatch>,
) -> Result<Json<FolderBody>, AppError> {
    let changes = FolderChanges {
        name: patch
            .name
            .as_deref()
            .map(|n| Name::parse("name", n))
            .transpose()?,
        filter: patch.filter.map(Into::into),
    };
    let folder = state.app.edit_folder(&who, id.into(), changes).await?;
    Ok(Json(folder.into()))
}

/// Delete a folder of the caller's (anyone else's: 404).
#[utoipa::path(delete, path = "/v1/folders/{id}", tag = "folders",
    params(("id" = Uuid, Path, description = "the folder")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_folder(
    State(state): State<AppState>,
    PersonUser(who): PersonUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state.app.delete_folder(&who, id.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}
