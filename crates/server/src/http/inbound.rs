//! `POST /v1/inbound`: a customer's message arriving from a channel.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use switchboard_core::input::{ContactHandle, ContactName, MessageBody};
use switchboard_proto as wire;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiJson, ErrorBody};
use crate::app::{AppError, InboundInput};
use crate::state::AppState;
use crate::{credentials, mapping};

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
/// allowed to post inbound messages (`inboxes.manage` at the inbox's group).
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
) -> Result<(StatusCode, Json<InboundResponse>), AppError> {
    let credential = credentials::from_headers(&headers);
    let target = state
        .app
        .inbound_target(credential.as_deref(), request.inbox_id.into())
        .await?;
    let input = InboundInput {
        handle: ContactHandle::parse(&request.contact.handle)?,
        name: ContactName::parse(request.contact.name.as_deref())?,
        body: MessageBody::parse(request.body, state.app.settings().max_message_bytes)?,
    };
    let stored = state.app.inbound(target, input).await?;
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
