//! Message templates over HTTP (docs/MODULES.md, "Templates").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::input::{MessageBody, Name};
use switchboard_core::templates::{Shortcut, Template, TemplateFields};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::present;
use super::auth::CurrentUser;
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, TemplateChanges};
use crate::state::AppState;

/// A template as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: Uuid,
    pub name: String,
    /// What an agent types to pick it (`/hello`); null: none.
    pub shortcut: Option<String>,
    /// The text, with placeholders `{{contact.name}}`, `{{contact.handle}}`
    /// and `{{agent.name}}` that `send` fills.
    pub body: String,
    /// The group it sits in: it serves the conversations of that group and
    /// the groups below it.
    pub group_id: Uuid,
}

impl From<Template> for TemplateView {
    fn from(template: Template) -> Self {
        Self {
            id: template.id.as_uuid(),
            name: template.name,
            shortcut: template.shortcut,
            body: template.body,
            group_id: template.group_id.as_uuid(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTemplate {
    pub name: String,
    pub shortcut: Option<String>,
    pub body: String,
    /// Absent or null: the root group.
    pub group_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplatePatch {
    pub name: Option<String>,
    /// null: no shortcut any more; absent: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub shortcut: Option<Option<String>>,
    pub body: Option<String>,
    /// Moves it to this group (`templates.manage` at both groups).
    pub group_id: Option<Uuid>,
}

fn shortcut_of(text: Option<&str>) -> Result<Option<Shortcut>, AppError> {
    Ok(text.map(Shortcut::parse).transpose()?)
}

fn body_of(state: &AppState, text: String) -> Result<MessageBody, AppError> {
    Ok(MessageBody::parse(
        text,
        state.app.settings().max_message_bytes,
    )?)
}

/// The templates the caller may use: those of groups where they hold
/// `templates.view`, or of a group above one, by name.
#[utoipa::path(get, path = "/v1/templates", tag = "templates",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 401, body = ErrorBody)))]
pub async fn templates(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<Vec<TemplateView>>, AppError> {
    let templates = state.app.templates(&who).await?;
    Ok(Json(templates.into_iter().map(Into::into).collect()))
}

/// Create a template (`templates.manage` at its group; a shortcut in use
/// in the account: 409).
#[utoipa::path(post, path = "/v1/templates", tag = "templates", request_body = NewTemplate,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = TemplateView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn create_template(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewTemplate>,
) -> Result<(StatusCode, Json<TemplateView>), AppError> {
    let group_id = match body.group_id {
        Some(group) => group.into(),
        None => state.app.root_group(who.account_id()).await?,
    };
    let fields = TemplateFields {
        group_id,
        name: Name::parse("name", &body.name)?,
        shortcut: shortcut_of(body.shortcut.as_deref())?,
        body: body_of(&state, body.body)?,
    };
    let template = state.app.create_template(&who, fields).await?;
    Ok((StatusCode::CREATED, Json(template.into())))
}

/// Change a template (`templates.manage` at its group, and at the new one
/// for a move).
#[utoipa::path(patch, path = "/v1/templates/{id}", tag = "templates", request_body = TemplatePatch,
    params(("id" = Uuid, Path, description = "the template")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = TemplateView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn edit_template(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TemplatePatch>,
) -> Result<Json<TemplateView>, AppError> {
    let changes = TemplateChanges {
        name: patch
            .name
            .as_deref()
            .map(|n| Name::parse("name", n))
            .transpose()?,
        shortcut: patch
            .shortcut
            .map(|s| shortcut_of(s.as_deref()))
            .transpose()?,
        body: patch.body.map(|b| body_of(&state, b)).transpose()?,
        group: patch.group_id.map(Into::into),
    };
    let template = state.app.edit_template(&who, id.into(), changes).await?;
    Ok(Json(template.into()))
}

/// Delete a template (`templates.manage` at its group).
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates",
    params(("id" = Uuid, Path, description = "the template")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_template(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state.app.delete_template(&who, id.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}
