//! The account and its plan over HTTP (docs/PEOPLE.md, "Seats").

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::CurrentUser;
use super::error::{ApiJson, ErrorBody};
use crate::app::{AppError, Caller, Plan};
use crate::state::AppState;

/// The caller's account and its seats.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub name: String,
    /// Active users plus pending invitations allowed at once; null:
    /// unlimited.
    pub seat_limit: Option<u32>,
    /// Active users plus pending, unexpired invitations.
    pub seats_used: u32,
    /// Whether the account requires two-factor authentication of every
    /// user (`PUT /v1/account/settings`).
    pub require_2fa: bool,
}

impl From<Plan> for AccountView {
    fn from(plan: Plan) -> Self {
        Self {
            id: plan.account.id.as_uuid(),
            name: plan.account.name,
            seat_limit: plan.seats.limit,
            seats_used: plan.seats.used,
            require_2fa: plan.require_2fa,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanRequest {
    /// The new cap; null: unlimited.
    pub seat_limit: Option<u32>,
}

/// The caller's account, its seats and its settings (any member).
#[utoipa::path(get, path = "/v1/account", tag = "people",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn account(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<AccountView>, AppError> {
    let plan = state
        .app
        .account_plan(Caller::User(&who), who.account_id())
        .await?;
    Ok(Json(plan.into()))
}

/// Set the plan's seat cap (`billing.manage` at the root group).
#[utoipa::path(put, path = "/v1/account/plan", tag = "people", request_body = PlanRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AccountView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "`conflict`: below the seats in use", body = ErrorBody)))]
pub async fn set_plan(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiJson(body): ApiJson<PlanRequest>,
) -> Result<Json<AccountView>, AppError> {
    let plan = state
        .app
        .set_seat_limit(Caller::User(&who), who.account_id(), body.seat_limit)
        .await?;
    Ok(Json(plan.into()))
}
