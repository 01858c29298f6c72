//! The audit log's storage: entries appended, read newest first by id
//! (UUIDv7, so by time). Written once for both backends.

use switchboard_core::StoreError;
use switchboard_core::audit::{AuditAction, AuditEntry, NewAuditEntry};
use switchboard_core::ids::AccountId;
use uuid::Uuid;

use crate::rows::Columns;
use crate::statement::{Statements, Value, id, inserted};

/// `$1` account, `$2` before this id (NULL: from the newest), `$3` limit.
const AUDIT_PAGE: &str = "SELECT id, account_id, at, actor_id, action, target_user_id, detail \
     FROM audit_log WHERE account_id = $1 AND ($2 IS NULL OR id < $2) \
     ORDER BY id DESC LIMIT $3";

pub(crate) async fn record_audit<T: Statements>(
    tx: &mut T,
    entry: &NewAuditEntry,
) -> Result<AuditEntry, StoreError> {
    let id = Uuid::now_v7();
    let params = [
        Value::Clock,
        id.into(),
        entry.account_id.into(),
        entry.actor_id.into(),
        entry.action.as_str().into(),
        entry.target_user_id.into(),
        entry.detail.as_str().into(),
    ];
    let row = tx.one(T::SQL.audit_insert, &params, audit_row).await?;
    inserted(row)
}

pub(crate) async fn audit_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
    before: Option<Uuid>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let params = [account.into(), before.into(), i64::from(limit).into()];
    tx.all(AUDIT_PAGE, &params, audit_row).await
}

fn audit_row(row: &dyn Columns) -> Result<AuditEntry, StoreError> {
    let action = row.text("action")?;
    Ok(AuditEntry {
        id: row.uuid("id")?,
        at: row.time("at")?,
        entry: NewAuditEntry {
            account_id: id(row, "account_id")?,
            actor_id: row.opt_uuid("actor_id")?.map(Into::into),
            action: AuditAction::parse(&action).ok_or_else(|| {
                StoreError::Internal(format!("unknown audit action in database: {action}"))
            })?,
            target_user_id: row.opt_uuid("target_user_id")?.map(Into::into),
            detail: row.text("detail")?,
        },
    })
}
