//! Seats (docs/PEOPLE.md, "Seats"): an account's plan caps its active
//! users plus its pending invitations. Any member reads the account and
//! its seats; those holding `billing.manage` at the root change the cap.
//! The store holds the cap under concurrency (every write that takes a
//! seat counts them under the account's lock).

use serde_json::json;
use switchboard_core::access::Permission;
use switchboard_core::audit::AuditAction;
use switchboard_core::invitations::Seats;
use switchboard_core::model::Account;
use switchboard_core::{AccountId, Resource};

use super::{App, AppError, Caller};

/// An account with its seats.
#[derive(Debug, Clone)]
pub struct Plan {
    pub account: Account,
    pub seats: Seats,
    /// Whether the account requires two-factor authentication of everyone.
    pub require_2fa: bool,
}

impl App {
    /// The account and its seats, for any of its members.
    pub async fn account_plan(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Plan, AppError> {
        let account = self.seen_account(caller, account).await?;
        let seats = self.store.seats(account.id).await?;
        let require_2fa = self.store.two_factor_required(account.id).await?;
        Ok(Plan {
            account,
            seats,
            require_2fa,
        })
    }

    /// Sets the plan's cap (`None`: unlimited): `billing.manage` at the
    /// root; below the seats in use, 409 `conflict`.
    pub async fn set_seat_limit(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        limit: Option<u32>,
    ) -> Result<Plan, AppError> {
        let resource = Resource::Account(account);
        self.check(
            caller,
            Permission::BillingManage,
            resource,
            "no such account",
        )
        .await?;
        let before = self.account_plan(caller, account).await?;
        let seats = self.store.set_seat_limit(account, limit).await?;
        let detail = json!({"seat_limit": {"before": before.seats.limit, "after": seats.limit}});
        self.audit(caller, account, AuditAction::PlanChanged, None, detail)
            .await;
        Ok(Plan { seats, ..before })
    }
}
