//! The audit log over HTTP (docs/PEOPLE.md, "Audit log").

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::audit::AuditEntry;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::CurrentUser;
use super::conversations::{limit_of, params};
use super::error::ErrorBody;
use crate::app::{AUDIT_PAGE_DEFAULT, AppError};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who made it; null: an operator at the command line.
    pub actor_id: Option<Uuid>,
    /// `invitation.created`, `grants.changed`, `user.deactivated`, ...
    pub action: String,
    /// The user it was done to, if any.
    pub target_user_id: Option<Uuid>,
    /// What changed (an object; its fields depend on `action`).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditEntry> for AuditView {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            id: entry.id,
            at: entry.at,
            actor_id: entry.entry.actor_id.map(Into::into),
            action: entry.entry.action.as_str().to_owned(),
            target_user_id: entry.entry.target_user_id.map(Into::into),
            detail: serde_json::from_str(&entry.entry.detail).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub entries: Vec<AuditView>,
    /// Where the next page starts (pass it as `cursor`); null: no more.
    pub next_cursor: Option<Uuid>,
}

/// The account's audit log, newest first: who changed what of people and
/// access, to whom, and when. Needs `users.manage` at the root group.
#[utoipa::path(get, path = "/v1/audit", tag = "people", params(AuditParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    query: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditList>, AppError> {
    let query = params(query)?;
    let limit = limit_of(query.limit, AUDIT_PAGE_DEFAULT)?;
    let page = state.app.audit_log(&who, query.cursor, limit).await?;
    Ok(Json(AuditList {
        entries: page.entries.iter().map(AuditView::from).collect(),
        next_cursor: page.next,
    }))
}
