//! Outbound webhooks over HTTP (docs/MODULES.md, "Webhooks").

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::webhooks::{Attempt, Delivery, Webhook, WebhookEvents};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::CurrentUser;
use super::conversations::{limit_of, params};
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, DELIVERIES_PAGE_DEFAULT, WebhookUrl, parse_secret};
use crate::state::AppState;

/// A webhook (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    /// Of `message.created`, `conversation.created`,
    /// `conversation.assigned`, `conversation.resolved`,
    /// `conversation.reopened`.
    pub events: Vec<String>,
    /// Inactive: nothing is recorded for it, and what is pending waits.
    pub active: bool,
    /// Whether `message.created` carries the body: its creator held
    /// `messages.read_bodies` at the root when creating it.
    pub include_bodies: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.as_uuid(),
            url: w.url,
            events: w
                .events
                .as_slice()
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            active: w.active,
            include_bodies: w.include_bodies,
            created_at: w.created_at,
        }
    }
}

/// A webhook just made: its secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// Signs every delivery (`Switchboard-Signature`); keep it.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWebhookBody {
    /// `http` or `https`; not to an internal address.
    pub url: String,
    pub events: Vec<String>,
    /// 16 to 256 visible ASCII characters; absent: one is made.
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// One try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The receiver's status; null when none came back.
    pub http_status: Option<u16>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            at: a.at,
            http_status: a.http_status,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

/// One event for one webhook, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also the payload's `id` and the `Switchboard-Delivery` header.
    pub id: Uuid,
    pub event: String,
    pub conversation_id: Uuid,
    pub message_id: Option<Uuid>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.as_uuid(),
            event: d.event.as_str().to_owned(),
            conversation_id: d.conversation_id.as_uuid(),
            message_id: d.message_id.map(|m| m.as_uuid()),
            status: d.state.as_str().to_owned(),
            created_at: d.created_at,
            finished_at: d.finished_at,
            attempts: d.attempts.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

fn events_of(names: &[String]) -> Result<WebhookEvents, AppError> {
    WebhookEvents::parse(names).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// The account's webhooks (`developers.manage` at the root).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn webhooks(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<WebhookList>, AppError> {
    let webhooks = state.app.webhooks(&who).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.into_iter().map(Into::into).collect(),
    }))
}

/// Create a webhook (`developers.manage` at the root): 201 with its secret,
/// shown this once. An unknown event, a URL that is not http(s) or whose
/// host is or resolves to an internal address: 400.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhookBody,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = CreatedWebhookView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), AppError> {
    let url = WebhookUrl::parse(&body.url)?;
    let events = events_of(&body.events)?;
    let secret = body.secret.as_deref().map(parse_secret).transpose()?;
    let created = state.app.create_webhook(&who, url, events, secret).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            webhook: created.webhook.into(),
            secret: created.secret,
        }),
    ))
}

/// Change a webhook's URL, events or whether it is active.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    params(("id" = Uuid, Path, description = "the webhook")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = WebhookView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_webhook(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookView>, AppError> {
    let url = patch.url.as_deref().map(WebhookUrl::parse).transpose()?;
    let events = patch.events.as_deref().map(events_of).transpose()?;
    let webhook = state
        .app
        .edit_webhook(&who, id.into(), url, events, patch.active)
        .await?;
    Ok(Json(webhook.into()))
}

/// Delete a webhook, its pending deliveries and its log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "the webhook")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    state.app.delete_webhook(&who, id.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log: the webhook's latest deliveries, newest first, each
/// with its tries.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "the webhook"), DeliveryParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    query: Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryList>, AppError> {
    let query = params(query)?;
    let limit = limit_of(query.limit, DELIVERIES_PAGE_DEFAULT)?;
    let deliveries = state.app.webhook_deliveries(&who, id.into(), limit).await?;
    Ok(Json(DeliveryList {
        deliveries: deliveries.into_iter().map(Into::into).collect(),
    }))
}
