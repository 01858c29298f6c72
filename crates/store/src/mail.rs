//! The durable mail outbox (docs/PEOPLE.md, "Invitations"): a mail is
//! queued in the transaction that decided to send it, and senders claim
//! due mails for a lease, one statement per mail that re-checks it is still
//! due and unclaimed, so that of the nodes of a cluster exactly one holds
//! each claim. Written once for both backends over [`Statements`].

use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, MailId};
use switchboard_core::invitations::{ClaimedMail, NewMail};
use uuid::Uuid;

use crate::rows::{Columns, unsigned};
use crate::statement::{Statements, Value, id};

const MAIL_FAIL: &str = "UPDATE mail_outbox SET status = 'failed', message = NULL, \
     lease_until = NULL, claim = NULL, last_error = $3 \
     WHERE id = $1 AND claim = $2 AND status = 'queued'";
const MAIL_CANCEL: &str = "UPDATE mail_outbox SET status = 'cancelled', message = NULL, \
     lease_until = NULL, claim = NULL WHERE id = $1 AND status = 'queued'";

/// Queues a mail, due now; returns its id.
pub(crate) async fn enqueue_mail<T: Statements>(
    tx: &mut T,
    account: AccountId,
    mail: &NewMail,
) -> Result<MailId, StoreError> {
    let id = MailId::new();
    let params = [
        Value::Clock,
        id.into(),
        account.into(),
        mail.recipient.as_str().into(),
        mail.message.as_str().into(),
    ];
    tx.execute(T::SQL.mail_insert, &params).await?;
    Ok(id)
}

/// A queued mail will not be sent after all (a claimed one's sender finds
/// it no longer queued when it reports).
pub(crate) async fn cancel_mail<T: Statements>(tx: &mut T, mail: MailId) -> Result<(), StoreError> {
    tx.execute(MAIL_CANCEL, &[mail.into()]).await.map(drop)
}

/// Claims up to `limit` due mails for `lease`.
pub(crate) async fn claim_mails<T: Statements>(
    tx: &mut T,
    lease: Duration,
    limit: u32,
) -> Result<Vec<ClaimedMail>, StoreError> {
    let due = tx
        .all(
            T::SQL.mails_due,
            &[Value::Clock, i64::from(limit).into()],
            |row| id::<MailId>(row, "id"),
        )
        .await?;
    let lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let mut claimed = Vec::with_capacity(due.len());
    for mail in due {
        let params = [
            Value::Clock,
            lease.into(),
            Uuid::now_v7().into(),
            mail.into(),
        ];
        if let Some(mail) = tx.one(T::SQL.mail_claim, &params, claimed_row).await? {
            claimed.push(mail);
        }
    }
    Ok(claimed)
}

pub(crate) async fn mail_sent<T: Statements>(
    tx: &mut T,
    mail: &ClaimedMail,
) -> Result<(), StoreError> {
    let params = [Value::Clock, mail.id.into(), mail.claim.into()];
    tx.execute(T::SQL.mail_sent, &params).await.map(drop)
}

pub(crate) async fn mail_failed<T: Statements>(
    tx: &mut T,
    mail: &ClaimedMail,
    error: &str,
    retry_in: Option<Duration>,
) -> Result<(), StoreError> {
    match retry_in {
        Some(wait) => {
            let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
            let params = [
                Value::Clock,
                wait.into(),
                mail.id.into(),
                mail.claim.into(),
                error.into(),
            ];
            tx.execute(T::SQL.mail_retry, &params).await.map(drop)
        }
        None => {
            let params = [mail.id.into(), mail.claim.into(), error.into()];
            tx.execute(MAIL_FAIL, &params).await.map(drop)
        }
    }
}

fn claimed_row(row: &dyn Columns) -> Result<ClaimedMail, StoreError> {
    let attempts = unsigned(row.int("attempts")?, "mail attempts")?;
    Ok(ClaimedMail {
        id: id(row, "id")?,
        claim: row.uuid("claim")?,
        recipient: row.text("recipient")?,
        message: row.opt_text("message")?.unwrap_or_default(),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
    })
}
