//! `POST /v1/inbound`: a customer's message arriving from a channel.

use axum::Json;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use switchboard_core::model::{Inbox, NewInbound};
use switchboard_core::{Action, InboxId, Resource, can};
use switchboard_proto as wire;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, ApiJson, ErrorBody};
use crate::auth::{self, INBOX_KEY_PREFIX};
use crate::mapping;
use crate::state::AppState;

/// The longest contact handle or name accepted.
const MAX_HANDLE: usize = 256;

#[derive(Debug, Deserialize, ToSchema)]
pub struct InboundRequest {
    pub inbox_id: Uuid,
    pub contact: InboundContact,
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InboundContact {
    /// The channel address: a phone number, a page-scoped id, a visitor id.
    pub handle: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboundResponse {
    pub conversation_id: Uuid,
    pub message: wire::Message,
    /// Who the conversation is assigned to once this message was routed
    /// (null: nobody; see `queue_position`).
    pub assignee: Option<wire::UserRef>,
    /// The conversation's place in the Unassigned queue (1 = next), when it
    /// waits there.
    pub queue_position: Option<u64>,
}

/// Store a customer's message. Creates the contact and the conversation when
/// they are new (a resolved conversation opens again) and tells everyone
/// watching. Authenticated by the inbox's API key, or by the token of a user
/// allowed to post inbound messages (owners and administrators).
#[utoipa::path(
    post,
    path = "/v1/inbound",
    tag = "messages",
    request_body = InboundRequest,
    security(("inbox_key" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = InboundResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "No or invalid credentials", body = ErrorBody),
        (status = 403, description = "The credentials do not cover this inbox", body = ErrorBody),
        (status = 404, description = "No such inbox", body = ErrorBody),
        (status = 413, description = "Body over the message size limit", body = ErrorBody),
        (status = 503, description = "The store is unavailable; nothing was stored", body = ErrorBody),
    )
)]
pub async fn inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<InboundRequest>,
) -> Result<(StatusCode, Json<InboundResponse>), ApiError> {
    let inbox = authorize(&state, &headers, InboxId::from(request.inbox_id)).await?;
    let handle = request.contact.handle.trim();
    if handle.is_empty() || handle.len() > MAX_HANDLE {
        return Err(ApiError::bad_request(format!(
            "contact.handle must be 1 to {MAX_HANDLE} bytes"
        )));
    }
    let name = request
        .contact
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.len() > MAX_HANDLE) {
        return Err(ApiError::bad_request(format!(
            "contact.name must be at most {MAX_HANDLE} bytes"
        )));
    }
    let max = state.config.max_message_bytes;
    if request.body.len() > max {
        return Err(ApiError::too_large(format!(
            "body is larger than {max} bytes"
        )));
    }
    if request.body.trim().is_empty() {
        return Err(ApiError::bad_request("body must not be empty"));
    }
    let stored = state
        .store
        .record_inbound(NewInbound {
            inbox_id: inbox.id,
            handle,
            contact_name: name,
            body: &request.body,
        })
        .await?;
    state.hub.inbound(&stored).await;
    Ok((
        StatusCode::CREATED,
        Json(InboundResponse {
            conversation_id: stored.conversation.id.as_uuid(),
            message: mapping::message(&stored.message, true),
            assignee: stored.conversation.assignee.as_ref().map(mapping::user_ref),
            queue_position: stored.conversation.queue_position,
        }),
    ))
}

/// An inbox key opens only its own inbox; a user token opens the inboxes of
/// the user's account, if the user may post inbound messages.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    inbox_id: InboxId,
) -> Result<Inbox, ApiError> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let cookie = headers.get(COOKIE).and_then(|v| v.to_str().ok());
    let secret = auth::credential(authorization, cookie)
        .ok_or_else(|| ApiError::unauthorized("missing credentials"))?;
    let hash = auth::secret_hash(secret);
    if secret.starts_with(INBOX_KEY_PREFIX) {
        let inbox = state
            .store
            .inbox_by_key(&hash)
            .await?
            .ok_or_else(|| ApiError::unauthorized("invalid inbox key"))?;
        if inbox.id != inbox_id {
            return Err(ApiError::forbidden("this key belongs to another inbox"));
        }
        return Ok(inbox);
    }
    let user = state
        .store
        .login_session_user(&hash)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    let inbox = state
        .store
        .inbox(inbox_id)
        .await?
        .filter(|inbox| inbox.account_id == user.account_id)
        .ok_or_else(|| ApiError::not_found("no such inbox"))?;
    let resource = Resource::Inbox {
        account_id: inbox.account_id,
        inbox_id: inbox.id,
    };
    if !can(&user.actor(), Action::PostInbound, resource) {
        return Err(ApiError::forbidden(
            "your role may not post inbound messages",
        ));
    }
    Ok(inbox)
}
