//! The audit log (docs/PEOPLE.md, "Audit log"): every change to people and
//! access is recorded after it commits, with who made it, what, to whom and
//! when; those who manage users account-wide read it.

use serde_json::Value;
use switchboard_core::audit::{AuditAction, AuditEntry, NewAuditEntry};
use switchboard_core::{AccountId, Principal, UserId};
use uuid::Uuid;

use super::{App, AppError, Caller};

/// Entries in one page when the client names no limit, and at most.
pub const AUDIT_PAGE_DEFAULT: u32 = 50;
pub const AUDIT_PAGE_MAX: u32 = 200;

/// A page of the audit log, newest first; `next` is the id to ask
/// `before` for the following page (none: this was the last).
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<Uuid>,
}

impl App {
    /// Records what `caller` just did. Called after the change committed:
    /// a store failure now is logged, not returned, since the change
    /// itself was made.
    pub(crate) async fn audit(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        action: AuditAction,
        target: Option<UserId>,
        detail: Value,
    ) {
        let actor_id = match caller {
            Caller::User(who) => Some(who.id()),
            Caller::CommandLine => None,
        };
        let entry = NewAuditEntry {
            account_id: account,
            actor_id,
            action,
            target_user_id: target,
            detail: detail.to_string(),
        };
        if let Err(error) = self.store.record_audit(&entry).await {
            tracing::error!(%error, %action, %account, "could not record an audit entry");
        }
    }

    /// A page of the account's audit log, newest first: `users.manage` at
    /// the root.
    pub async fn audit_log(
        &self,
        who: &Principal,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<AuditPage, AppError> {
        let account = who.account_id();
        self.manage_account(Caller::User(who), account).await?;
        let limit = limit.clamp(1, AUDIT_PAGE_MAX);
        let mut entries = self.store.audit_of(account, before, limit + 1).await?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next = more.then(|| entries.last().map(|e| e.id)).flatten();
        Ok(AuditPage { entries, next })
    }
}
