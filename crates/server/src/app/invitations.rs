//! Invitations (docs/PEOPLE.md, "Invitations"): inviting people by email
//! with the grants they will hold, listing, resending and revoking the
//! invitations one manages, and the public half: looking a link up and
//! accepting it, which creates the user and signs them in.
//!
//! Who may invite, or resend, follows the no-escalation rule of grants
//! (docs/ACCESS.md): they could have given the invitation's grants to an
//! existing user. An inviter who is deactivated or removed takes their
//! open invitations with them (the store revokes them in the same
//! transaction). Who may see, resend or revoke an invitation is who could manage a
//! user holding its grants; the same check decides the listing.

use std::collections::BTreeSet;

use serde_json::json;
use switchboard_core::access::{
    BuiltinRole, Grant, Refusal, RoleId, check_manage_user, check_set_grants,
};
use switchboard_core::audit::AuditAction;
use switchboard_core::ids::InvitationId;
use switchboard_core::input::{Capacity, Email, Name};
use switchboard_core::invitations::{
    Acceptance, Invitation, InvitationStatus, NewInvitation, NewInvitations, NewMail,
};
use switchboard_core::{AccountId, Principal, Role};

use super::sessions::LoggedIn;
use super::{App, AppError, Caller};
use crate::access::AccessNow;
use crate::auth;
use crate::mail::InvitationLetter;

/// Invitation tokens start with this (what follows: 256 random bits).
pub const INVITATION_TOKEN_PREFIX: &str = "sbi_";
/// Addresses in one request, at most.
const MAX_ADDRESSES: usize = 100;
/// What an invited user is auto-assigned at once, as `user create` gives.
const INVITED_CAPACITY: u32 = 5;
const MISSING: &str = "no such invitation";

/// Invitations made, with their links (shown to the command line when no
/// mail server is configured; never stored).
#[derive(Debug, Clone)]
pub struct Invited {
    pub invitations: Vec<Invitation>,
    pub links: Vec<String>,
}

impl App {
    /// Invites `emails` to `account` with `grants`, all or none: refused
    /// for grants the caller may not give (403), an address that belongs
    /// to a user or a pending invitation of this account (409 `conflict`;
    /// other accounts' are not looked at, so nothing of them is learnt),
    /// more addresses than seats left (409 `seat_limit`). Each address is sent a mail
    /// through the outbox.
    pub async fn invite(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        emails: Vec<Email>,
        grants: Vec<Grant>,
    ) -> Result<Invited, AppError> {
        let emails = distinct(emails)?;
        let grants = self.grantable(caller, account, grants).await?;
        let account_name = self.account_name(caller, account).await?;
        let inviter = self.inviter_name(caller).await?;
        let settings = self.invitations.clone();
        let expires_at = chrono::Utc::now()
            + chrono::Duration::from_std(settings.ttl)
                .unwrap_or_else(|_| chrono::Duration::days(7));
        let mut invitations = Vec::with_capacity(emails.len());
        let mut links = Vec::with_capacity(emails.len());
        for email in &emails {
            let token = auth::new_secret(INVITATION_TOKEN_PREFIX);
            let link = settings.link(&token);
            let letter = InvitationLetter {
                to: email.as_str(),
                account: &account_name,
                inviter: inviter.as_deref(),
                link: &link,
                expires_at,
            };
            invitations.push(NewInvitation {
                email: email.as_str().to_owned(),
                token_hash: auth::secret_hash(&token),
                mail: compose(&letter, &settings.from)?,
            });
            links.push(link);
        }
        let new = NewInvitations {
            account_id: account,
            invited_by: invited_by(caller),
            grants,
            ttl: settings.ttl,
            invitations,
        };
        let created = self.store.create_invitations(&new).await?;
        for (invitation, link) in created.iter().zip(&links) {
            if settings.links_logged {
                tracing::info!(invitation = %invitation.id, email = %invitation.email, %link,
                    "invitation link (no SMTP server configured)");
            }
            let detail = json!({
                "invitation_id": invitation.id,
                "email": invitation.email,
                "grants": grants_json(&invitation.grants),
            });
            self.audit(
                caller,
                account,
                AuditAction::InvitationCreated,
                None,
                detail,
            )
            .await;
        }
        Ok(Invited {
            invitations: created,
            links,
        })
    }

    /// The invitations of the caller's account that they may manage,
    /// newest first (of `status` only, when given).
    pub async fn invitations(
        &self,
        who: &Principal,
        status: Option<InvitationStatus>,
    ) -> Result<Vec<Invitation>, AppError> {
        let account = who.account_id();
        let access = self.access_of(account).await?;
        let mine = access.grants(who.id());
        check_manage_user(&access.access, mine, &[]).map_err(refused)?;
        let all = self.store.invitations_of(account, status).await?;
        Ok(all
            .into_iter()
            .filter(|i| check_manage_user(&access.access, mine, &i.grants).is_ok())
            .collect())
    }

    /// A new link for a pending (or expired) invitation: the old one stops
    /// working, the time starts again, a new mail goes out. Resending
    /// gives the grants anew: the resender must be able to give them
    /// (403 otherwise), as an inviter must.
    pub async fn resend_invitation(
        &self,
        caller: Caller<'_>,
        id: InvitationId,
    ) -> Result<Invited, AppError> {
        let invitation = self.managed_invitation(caller, id).await?;
        self.check_may_give(caller, &invitation).await?;
        let inviter = self.inviter_name(caller).await?;
        let settings = self.invitations.clone();
        let token = auth::new_secret(INVITATION_TOKEN_PREFIX);
        let link = settings.link(&token);
        let expires_at = chrono::Utc::now()
            + chrono::Duration::from_std(settings.ttl)
                .unwrap_or_else(|_| chrono::Duration::days(7));
        let letter = InvitationLetter {
            to: &invitation.email,
            account: &invitation.account_name,
            inviter: inviter.as_deref(),
            link: &link,
            expires_at,
        };
        let mail = compose(&letter, &settings.from)?;
        let resent = self
            .store
            .resend_invitation(id, &auth::secret_hash(&token), settings.ttl, &mail)
            .await
            .map_err(not_found_as_missing)?;
        if settings.links_logged {
            tracing::info!(invitation = %id, email = %resent.email, %link,
                "invitation link (no SMTP server configured)");
        }
        let detail = json!({"invitation_id": id, "email": resent.email});
        self.audit(
            caller,
            resent.account_id,
            AuditAction::InvitationResent,
            None,
            detail,
        )
        .await;
        Ok(Invited {
            invitations: vec![resent],
            links: vec![link],
        })
    }

    /// Revokes a pending (or expired) invitation: its link stops working
    /// and its seat is free.
    pub async fn revoke_invitation(
        &self,
        caller: Caller<'_>,
        id: InvitationId,
    ) -> Result<Invitation, AppError> {
        self.managed_invitation(caller, id).await?;
        let revoked = self
            .store
            .revoke_invitation(id)
            .await
            .map_err(not_found_as_missing)?;
        let detail = json!({"invitation_id": id, "email": revoked.email});
        self.audit(
            caller,
            revoked.account_id,
            AuditAction::InvitationRevoked,
            None,
            detail,
        )
        .await;
        Ok(revoked)
    }

    /// The pending invitation of a link, for anyone holding it: 404 for an
    /// unknown, revoked or accepted link, 410 `expired` for an expired one.
    pub async fn lookup_invitation(&self, token: &str) -> Result<Invitation, AppError> {
        let found = self
            .store
            .invitation_by_token(&auth::secret_hash(token.trim()))
            .await?;
        match found {
            Some(invitation) if invitation.status == InvitationStatus::Pending => Ok(invitation),
            Some(invitation) if invitation.status == InvitationStatus::Expired => {
                Err(AppError::Expired("this invitation has expired"))
            }
            _ => Err(AppError::NotFound(MISSING)),
        }
    }

    /// Accepts the invitation of a link: the user is created with its
    /// grants, in one transaction that only one of concurrent acceptances
    /// wins, and signed in. An address that already has a user, of any
    /// account, is refused (409 `conflict`) and nothing is created.
    pub async fn accept_invitation(
        &self,
        token: &str,
        name: Name,
        password: String,
    ) -> Result<LoggedIn, AppError> {
        // Cheap refusals first: a dead link costs no password hashing.
        let invitation = self.lookup_invitation(token).await?;
        let password_hash = super::accounts::password_hash(password).await?;
        let acceptance = Acceptance {
            token_hash: auth::secret_hash(token.trim()),
            name: name.as_str().to_owned(),
            password_hash,
            capacity: Capacity::parse(INVITED_CAPACITY)?.get(),
        };
        let (accepted, user) = self
            .store
            .accept_invitation(&acceptance, created_as(&invitation.grants))
            .await
            .map_err(|error| match error {
                switchboard_core::StoreError::Expired => {
                    AppError::Expired("this invitation has expired")
                }
                other => not_found_as_missing(other),
            })?;
        self.access_changed(accepted.account_id).await?;
        let principal = user.principal();
        let detail = json!({
            "invitation_id": accepted.id,
            "email": accepted.email,
            "invited_by": accepted.invited_by,
            "grants": grants_json(&accepted.grants),
        });
        self.audit(
            Caller::User(&principal),
            accepted.account_id,
            AuditAction::InvitationAccepted,
            Some(user.id),
            detail,
        )
        .await;
        tracing::info!(user = %user.id, invitation = %accepted.id, "invitation accepted");
        self.open_session(user, None).await
    }

    /// An invitation the caller may manage: one of another account, or
    /// with grants out of the caller's reach, is not found.
    async fn managed_invitation(
        &self,
        caller: Caller<'_>,
        id: InvitationId,
    ) -> Result<Invitation, AppError> {
        let invitation = self
            .store
            .invitation(id)
            .await?
            .filter(|i| caller.sees(i.account_id))
            .ok_or(AppError::NotFound(MISSING))?;
        if let Caller::User(who) = caller {
            let access = self.access_of(invitation.account_id).await?;
            let mine = access.grants(who.id());
            check_manage_user(&access.access, mine, &[]).map_err(refused)?;
            check_manage_user(&access.access, mine, &invitation.grants).map_err(refused)?;
        }
        Ok(invitation)
    }

    /// Refuses (403) a signed-in caller who could not give the
    /// invitation's grants to a new user: the no-escalation rule, as at
    /// invite time.
    async fn check_may_give(
        &self,
        caller: Caller<'_>,
        invitation: &Invitation,
    ) -> Result<(), AppError> {
        if let Caller::User(who) = caller {
            let access = self.access_of(invitation.account_id).await?;
            check_set_grants(
                &access.access,
                access.grants(who.id()),
                &[],
                &invitation.grants,
            )
            .map_err(refused)?;
        }
        Ok(())
    }

    /// The grants, sorted and once each, if the caller may give them to a
    /// new user of the account.
    async fn grantable(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        grants: Vec<Grant>,
    ) -> Result<Vec<Grant>, AppError> {
        if !caller.sees(account) {
            return Err(AppError::NotFound("no such account"));
        }
        let access = self.access_of(account).await?;
        let grants: Vec<Grant> = grants
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if grants.is_empty() {
            return Err(AppError::BadRequest(
                "an invitation needs at least one role".into(),
            ));
        }
        check_known(&access, &grants)?;
        if let Caller::User(who) = caller {
            check_set_grants(&access.access, access.grants(who.id()), &[], &grants)
                .map_err(refused)?;
        }
        Ok(grants)
    }

    async fn account_name(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<String, AppError> {
        let found = self.store.account(account).await?;
        found
            .filter(|a| caller.sees(a.id))
            .map(|a| a.name)
            .ok_or(AppError::NotFound("no such account"))
    }

    async fn inviter_name(&self, caller: Caller<'_>) -> Result<Option<String>, AppError> {
        match caller {
            // an API key is named as it is shown ("API key <name>")
            Caller::User(who) if who.is_api_key() => Ok(Some(who.user().name.clone())),
            Caller::User(who) => Ok(self.store.user(who.id()).await?.map(|u| u.name)),
            Caller::CommandLine => Ok(None),
        }
    }
}

/// The addresses once each, in the order given; at least one, at most
/// [`MAX_ADDRESSES`].
fn distinct(emails: Vec<Email>) -> Result<Vec<Email>, AppError> {
    let mut seen = BTreeSet::new();
    let emails: Vec<Email> = emails
        .into_iter()
        .filter(|e| seen.insert(e.as_str().to_owned()))
        .collect();
    match emails.len() {
        0 => Err(AppError::BadRequest(
            "emails must name at least one address".into(),
        )),
        n if n > MAX_ADDRESSES => Err(AppError::BadRequest(format!(
            "at most {MAX_ADDRESSES} addresses at once"
        ))),
        _ => Ok(emails),
    }
}

/// Every grant names a role and a group of the account, and never `owner`
/// (the command line's check; a user's is `check_set_grants`).
fn check_known(access: &AccessNow, grants: &[Grant]) -> Result<(), AppError> {
    for grant in grants {
        if grant.role == RoleId::OWNER {
            return Err(refused(Refusal::OwnershipNotGranted));
        }
        if access.access.roles.permissions(grant.role).is_none() {
            return Err(refused(Refusal::UnknownRole(grant.role)));
        }
        if !access.access.groups.contains(grant.group) {
            return Err(refused(Refusal::UnknownGroup(grant.group)));
        }
    }
    Ok(())
}

/// The role the user is created with (kept in `users.role` for listings):
/// that of their first grant, as `create_user_granted` picks it.
fn created_as(grants: &[Grant]) -> Role {
    match grants.first().map(|g| g.role) {
        Some(RoleId::Builtin(BuiltinRole::Administrator)) => Role::Admin,
        Some(RoleId::Builtin(BuiltinRole::Operator)) => Role::Operator,
        _ => Role::Viewer,
    }
}

fn invited_by(caller: Caller<'_>) -> Option<switchboard_core::UserId> {
    match caller {
        Caller::User(who) => Some(who.id()),
        Caller::CommandLine => None,
    }
}

fn compose(letter: &InvitationLetter<'_>, from: &str) -> Result<NewMail, AppError> {
    let message = letter.compose(from).map_err(|error| match error {
        crate::mail::MailError::Address {
            what: "recipient", ..
        } => AppError::BadRequest(error.to_string()),
        other => {
            tracing::error!(error = %other, "an invitation's mail could not be composed");
            AppError::Internal
        }
    })?;
    Ok(NewMail {
        recipient: letter.to.to_owned(),
        message,
    })
}

fn grants_json(grants: &[Grant]) -> serde_json::Value {
    grants
        .iter()
        .map(|g| json!({"role": g.role.to_string(), "group_id": g.group}))
        .collect()
}

/// A refusal of the access rules, for invitations: what is out of reach
/// is not found.
fn refused(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::UnknownRole(_) => AppError::NotFound("no such role"),
        Refusal::UnknownGroup(_) => AppError::NotFound("no such group"),
        Refusal::UserOutsideReach => AppError::NotFound(MISSING),
        other => AppError::forbidden(other.to_string()),
    }
}

fn not_found_as_missing(error: switchboard_core::StoreError) -> AppError {
    match error {
        switchboard_core::StoreError::NotFound => AppError::NotFound(MISSING),
        other => other.into(),
    }
}
