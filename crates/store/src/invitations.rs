//! Invitations (docs/PEOPLE.md): statements written once for both backends
//! over [`Statements`]. Every write that takes a seat runs under the
//! account's lock and counts the seats in use in the same transaction
//! (`seats`). Their mails go to the outbox (`mail`) in the same
//! transaction.

use std::time::Duration;

use switchboard_core::access::{Grant, RoleId};
use switchboard_core::ids::{AccountId, InvitationId, MailId, UserId};
use switchboard_core::invitations::{
    Acceptance, Invitation, InvitationStatus, MailStatus, NewInvitations, NewMail,
};
use switchboard_core::model::{NewUser, User};
use switchboard_core::{Role, StoreError};

use crate::access::{lock_account, set_grants};
use crate::accounts::create_user;
use crate::error::conflict_as;
use crate::mail::{cancel_mail, enqueue_mail};
use crate::rows::Columns;
use crate::seats::take_seats;
use crate::sql;
use crate::statement::{Statements, Value, id};

const PENDING_WITH_EMAIL: &str = "SELECT count(*) AS n FROM invitations \
     WHERE account_id = $1 AND email = $2 AND status = 'pending'";
const USERS_WITH_EMAIL: &str =
    "SELECT count(*) AS n FROM users WHERE account_id = $1 AND email = $2";
/// The invitations of a user that could still be resent or accepted.
const OPEN_INVITATIONS_BY: &str = "SELECT id FROM invitations \
     WHERE invited_by = $1 AND (status = 'pending' OR status = 'expired') \
     ORDER BY created_at, id";
const INVITATION_ACCOUNT: &str = "SELECT account_id FROM invitations WHERE id = $1";
const INVITATION_EMAIL: &str = "SELECT email FROM invitations WHERE id = $1";
const INVITATION_MAIL: &str = "SELECT mail_id FROM invitations WHERE id = $1";
const INVITATION_REVOKE: &str = "UPDATE invitations SET status = 'revoked' \
     WHERE id = $1 AND (status = 'pending' OR status = 'expired') RETURNING mail_id";
const INVITATION_USER: &str = "UPDATE invitations SET user_id = $2 WHERE id = $1";

/// Creates the invitations and queues their mails, all or none.
pub(crate) async fn create_invitations<T: Statements>(
    tx: &mut T,
    new: &NewInvitations,
) -> Result<Vec<Invitation>, StoreError> {
    let account = new.account_id;
    lock_account(tx, account).await?;
    // Addresses whose invitation ran out may be invited again.
    tx.execute(T::SQL.invitations_expire, &[Value::Clock])
        .await?;
    for invitation in &new.invitations {
        check_invitable(tx, account, &invitation.email).await?;
    }
    let wanted = u32::try_from(new.invitations.len()).unwrap_or(u32::MAX);
    take_seats(tx, account, wanted).await?;
    let grants = grants_text(&new.grants);
    let ttl = ttl_millis(new.ttl);
    let mut ids = Vec::with_capacity(new.invitations.len());
    for invitation in &new.invitations {
        let mail = enqueue_mail(tx, account, &invitation.mail).await?;
        let id = InvitationId::new();
        let params = [
            Value::Clock,
            ttl.into(),
            id.into(),
            account.into(),
            invitation.email.as_str().into(),
            invitation.token_hash.as_slice().into(),
            grants.as_str().into(),
            new.invited_by.into(),
            mail.into(),
        ];
        tx.execute(T::SQL.invitation_insert, &params)
            .await
            .map_err(conflict_as("an invitation to this address is pending"))?;
        ids.push(id);
    }
    let mut created = Vec::with_capacity(ids.len());
    for id in ids {
        created.push(invitation(tx, id).await?.ok_or(StoreError::NotFound)?);
    }
    Ok(created)
}

/// Refuses an address that belongs to a user or to a pending invitation
/// of this account. Other accounts' users and invitations are not looked
/// at: an account learns nothing of them (the acceptance refuses an
/// address that has a user anywhere).
async fn check_invitable<T: Statements>(
    tx: &mut T,
    account: AccountId,
    email: &str,
) -> Result<(), StoreError> {
    check_no_user_here(tx, account, email).await?;
    let pending = count(tx, PENDING_WITH_EMAIL, &[account.into(), email.into()]).await?;
    match pending {
        0 => Ok(()),
        _ => Err(StoreError::Conflict(format!(
            "{email} already has a pending invitation"
        ))),
    }
}

/// Refuses an address that belongs to a user of this account.
async fn check_no_user_here<T: Statements>(
    tx: &mut T,
    account: AccountId,
    email: &str,
) -> Result<(), StoreError> {
    match count(tx, USERS_WITH_EMAIL, &[account.into(), email.into()]).await? {
        0 => Ok(()),
        _ => Err(StoreError::Conflict(format!("{email} already has a user"))),
    }
}

/// Revokes every invitation `user` sent that could still be resent or
/// accepted (pending or expired), cancelling their unsent mails, in the
/// caller's transaction (a deactivation or removal): who has lost their
/// rights leaves no link behind that gives what they gave.
pub(crate) async fn revoke_invitations_by<T: Statements>(
    tx: &mut T,
    user: UserId,
) -> Result<Vec<Invitation>, StoreError> {
    let ids = tx
        .all(OPEN_INVITATIONS_BY, &[user.into()], |row| {
            id::<InvitationId>(row, "id")
        })
        .await?;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in ids {
        revoked.push(revoke_invitation(tx, id).await?);
    }
    Ok(revoked)
}

pub(crate) async fn invitation<T: Statements>(
    tx: &mut T,
    id: InvitationId,
) -> Result<Option<Invitation>, StoreError> {
    let params = [
        Value::Clock,
        id.into(),
        None::<AccountId>.into(),
        None::<&str>.into(),
    ];
    tx.one(T::SQL.invitations_select, &params, invitation_row)
        .await
}

pub(crate) async fn invitations_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
    status: Option<InvitationStatus>,
) -> Result<Vec<Invitation>, StoreError> {
    let params = [
        Value::Clock,
        None::<InvitationId>.into(),
        account.into(),
        status.map(InvitationStatus::as_str).into(),
    ];
    tx.all(T::SQL.invitations_select, &params, invitation_row)
        .await
}

pub(crate) async fn invitation_by_token<T: Statements>(
    tx: &mut T,
    token_hash: &[u8],
) -> Result<Option<Invitation>, StoreError> {
    let params = [Value::Clock, token_hash.into()];
    tx.one(T::SQL.invitation_by_token, &params, invitation_row)
        .await
}

/// A new token, expiry and mail for a pending or expired invitation; an
/// expired one takes a seat again.
pub(crate) async fn resend_invitation<T: Statements>(
    tx: &mut T,
    id: InvitationId,
    token_hash: &[u8],
    ttl: Duration,
    mail: &NewMail,
) -> Result<Invitation, StoreError> {
    let account = invitation_account(tx, id).await?;
    lock_account(tx, account).await?;
    let holds_seat = count(tx, T::SQL.invitation_holds_seat, &[Value::Clock, id.into()]).await?;
    if holds_seat == 0 {
        let email = tx
            .one(INVITATION_EMAIL, &[id.into()], |row| row.text("email"))
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.execute(T::SQL.invitations_expire, &[Value::Clock])
            .await?;
        check_no_user_here(tx, account, &email).await?;
        take_seats(tx, account, 1).await?;
    }
    cancel_mail_of(tx, id).await?;
    let new_mail = enqueue_mail(tx, account, mail).await?;
    let params = [
        Value::Clock,
        ttl_millis(ttl).into(),
        token_hash.into(),
        id.into(),
        new_mail.into(),
    ];
    let resent = tx
        .one(T::SQL.invitation_resend, &params, |row| row.uuid("id"))
        .await
        .map_err(conflict_as("an invitation to this address is pending"))?;
    resent.ok_or(StoreError::NotFound)?;
    invitation(tx, id).await?.ok_or(StoreError::NotFound)
}

/// Revokes a pending or expired invitation and cancels its unsent mail.
pub(crate) async fn revoke_invitation<T: Statements>(
    tx: &mut T,
    id: InvitationId,
) -> Result<Invitation, StoreError> {
    let mail = tx
        .one(INVITATION_REVOKE, &[id.into()], |row| {
            row.opt_uuid("mail_id")
        })
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(mail) = mail {
        cancel_mail(tx, MailId::from(mail)).await?;
    }
    invitation(tx, id).await?.ok_or(StoreError::NotFound)
}

/// Turns the token's invitation from pending to accepted and creates its
/// user with its grants, in the caller's transaction.
pub(crate) async fn accept_invitation<T: Statements>(
    tx: &mut T,
    acceptance: &Acceptance,
    role: Role,
) -> Result<(Invitation, User), StoreError> {
    let token_hash = acceptance.token_hash.as_slice();
    let found = invitation_by_token(tx, token_hash).await?;
    let found = found.ok_or(StoreError::NotFound)?;
    // The account's lock first, as every other write of invitations takes
    // it, then the invitation's row: no two of them wait for each other.
    lock_account(tx, found.account_id).await?;
    let params = [Value::Clock, token_hash.into()];
    let accepted = tx
        .one(T::SQL.invitation_accept, &params, |row| {
            id::<InvitationId>(row, "id")
        })
        .await?;
    let Some(id) = accepted else {
        return match invitation_by_token(tx, token_hash).await? {
            Some(found) if found.status == InvitationStatus::Expired => Err(StoreError::Expired),
            _ => Err(StoreError::NotFound),
        };
    };
    // After the acceptance's own check, so that the losers of a race for
    // one link are told it is used (404). The caller's transaction rolls
    // back on this refusal: the invitation stays pending.
    check_no_user_anywhere(tx, &found.email).await?;
    let user = create_user(
        tx,
        NewUser {
            account_id: found.account_id,
            email: &found.email,
            name: &acceptance.name,
            password_hash: &acceptance.password_hash,
            role,
            capacity: acceptance.capacity,
        },
    )
    .await?;
    set_grants(tx, user.id, &found.grants).await?;
    tx.execute(INVITATION_USER, &[id.into(), user.id.into()])
        .await?;
    cancel_mail_of(tx, id).await?;
    let accepted = invitation(tx, id).await?.ok_or(StoreError::NotFound)?;
    Ok((accepted, user))
}

/// Refuses an address that already belongs to a user, of any account.
async fn check_no_user_anywhere<T: Statements>(tx: &mut T, email: &str) -> Result<(), StoreError> {
    let user = tx
        .one(sql::USER_BY_EMAIL, &[email.into()], |row| row.uuid("id"))
        .await?;
    match user {
        None => Ok(()),
        Some(_) => Err(StoreError::Conflict(
            "this address already has an account: sign in instead".into(),
        )),
    }
}

async fn invitation_account<T: Statements>(
    tx: &mut T,
    invitation: InvitationId,
) -> Result<AccountId, StoreError> {
    tx.one(INVITATION_ACCOUNT, &[invitation.into()], |row| {
        id::<AccountId>(row, "account_id")
    })
    .await?
    .ok_or(StoreError::NotFound)
}

/// Cancels the invitation's latest mail if it has not gone out.
async fn cancel_mail_of<T: Statements>(tx: &mut T, id: InvitationId) -> Result<(), StoreError> {
    let mail = tx
        .one(INVITATION_MAIL, &[id.into()], |row| row.opt_uuid("mail_id"))
        .await?
        .flatten();
    match mail {
        Some(mail) => cancel_mail(tx, MailId::from(mail)).await,
        None => Ok(()),
    }
}

async fn count<T: Statements>(
    tx: &mut T,
    sql: &'static str,
    params: &[Value<'_>],
) -> Result<i64, StoreError> {
    Ok(tx.one(sql, params, |row| row.int("n")).await?.unwrap_or(0))
}

fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// How an invitation's grants are stored: `role@group_id`, separated by
/// spaces.
fn grants_text(grants: &[Grant]) -> String {
    let words: Vec<String> = grants
        .iter()
        .map(|g| format!("{}@{}", g.role, g.group))
        .collect();
    words.join(" ")
}

fn parse_grants(text: &str) -> Result<Vec<Grant>, StoreError> {
    let stored = |what: &str| StoreError::Internal(format!("stored invitation grant: {what}"));
    text.split_whitespace()
        .map(|word| {
            let (role, group) = word.split_once('@').ok_or_else(|| stored(word))?;
            let role = RoleId::parse(role).map_err(|_| stored(word))?;
            let group = group.parse::<uuid::Uuid>().map_err(|_| stored(word))?;
            Ok(Grant::new(role, group.into()))
        })
        .collect()
}

fn invitation_row(row: &dyn Columns) -> Result<Invitation, StoreError> {
    let status = row.text("status")?;
    let mail_status = row.opt_text("mail_status")?;
    Ok(Invitation {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        email: row.text("email")?,
        status: InvitationStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("stored invitation status {status}")))?,
        grants: parse_grants(&row.text("grants")?)?,
        invited_by: row.opt_uuid("invited_by")?.map(UserId::from),
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        user_id: row.opt_uuid("user_id")?.map(UserId::from),
        mail_status: mail_status.as_deref().and_then(MailStatus::parse),
        account_name: row.text("account_name")?,
    })
}
