//! Conversations and their messages over HTTP: the same cards and the same
//! policy filter as the WebSocket `subscribe_inbox`, and message bodies
//! only for those who hold `messages.read_bodies` (else `null`).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use switchboard_core::model::ConversationStatus;
use switchboard_proto as wire;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::CurrentUser;
use super::error::{ApiPath, ErrorBody};
use crate::app::{
    AppError, AssigneeFilter, ConversationCursor, ConversationQuery, MESSAGES_DEFAULT, PAGE_DEFAULT,
};
use crate::mapping;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open` or `resolved`.
    pub status: Option<String>,
    pub inbox_id: Option<Uuid>,
    /// `me`, `unassigned`, or a user's id.
    pub assignee: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    /// Newest activity first.
    pub conversations: Vec<wire::Summary>,
    /// Where the next page starts (pass it as `cursor`); null: no more.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    /// Messages with a greater `seq` (default 0: from the first).
    pub after_seq: Option<u64>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// Query parameters whose rejections are `bad_request` errors.
pub(super) fn params<T>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, AppError> {
    query
        .map(|Query(value)| value)
        .map_err(|rejection| AppError::BadRequest(rejection.body_text().to_lowercase()))
}

fn assignee_filter(text: &str) -> Result<AssigneeFilter, AppError> {
    match text {
        "me" => Ok(AssigneeFilter::Me),
        "unassigned" => Ok(AssigneeFilter::Unassigned),
        id => id
            .parse::<Uuid>()
            .map(|u| AssigneeFilter::User(u.into()))
            .map_err(|_| {
                AppError::BadRequest("assignee must be me, unassigned or a user's id".into())
            }),
    }
}

pub(super) fn limit_of(limit: Option<u32>, default: u32) -> Result<u32, AppError> {
    match limit.unwrap_or(default) {
        0 => Err(AppError::BadRequest("limit must be at least 1".into())),
        n => Ok(n),
    }
}

/// The conversations the caller may see (the policy's filter: inboxes in
/// their groups, or only those assigned to them with
/// `conversations.view_assigned`), newest activity first, a page at a time.
/// Pages are cut from the newest 1000 conversations the caller may see.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", params(ListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ConversationList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, description = "No such inbox", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConversationList>, AppError> {
    let query = params(query)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            ConversationStatus::parse(text)
                .ok_or_else(|| AppError::BadRequest("status must be open or resolved".into()))?,
        ),
    };
    let query = ConversationQuery {
        status,
        inbox: query.inbox_id.map(Into::into),
        assignee: query.assignee.as_deref().map(assignee_filter).transpose()?,
        cursor: query
            .cursor
            .as_deref()
            .map(ConversationCursor::parse)
            .transpose()?,
        limit: limit_of(query.limit, PAGE_DEFAULT)?,
    };
    let page = state.app.list_conversations(&who, query).await?;
    Ok(Json(ConversationList {
        conversations: page.conversations.iter().map(mapping::summary).collect(),
        next_cursor: page.next.map(|cursor| cursor.to_string()),
    }))
}

/// One conversation the caller may see.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = Uuid, Path, description = "the conversation")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = wire::Summary), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<wire::Summary>, AppError> {
    let conversation = state.app.conversation(&who, id.into()).await?;
    Ok(Json(mapping::summary(&conversation)))
}

/// A conversation's messages after `after_seq`, in order; every body is
/// null for a caller without `messages.read_bodies` there.
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = Uuid, Path, description = "the conversation"), MessageParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<wire::Message>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    query: Result<Query<MessageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<wire::Message>>, AppError> {
    let query = params(query)?;
    let limit = limit_of(query.limit, MESSAGES_DEFAULT)?;
    let page = state
        .app
        .conversation_messages(&who, id.into(), query.after_seq.unwrap_or(0), limit)
        .await?;
    Ok(Json(
        page.messages
            .iter()
            .map(|m| mapping::message(m, page.bodies))
            .collect(),
    ))
}
