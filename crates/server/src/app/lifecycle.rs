//! Users' lifecycle, ownership and sessions (docs/PEOPLE.md).
//!
//! - Deactivating or removing a user (by whoever manages them; never the
//!   owner) ends every session of theirs and closes their live
//!   connections on every node, releases their active roles (presence is
//!   updated for the others: a deactivated user holds nothing, so the
//!   access change removes them from every room), puts their assigned
//!   conversations back through assignment, and revokes the invitations
//!   they sent that could still be accepted or resent. Reactivating gives their
//!   grants back; their sessions stay gone.
//! - The owner, and only they, hands ownership to another active user of
//!   the account, re-entering their password; they become administrator.
//! - A signed-in user lists and ends their sessions, and changes their
//!   password, which ends every other session.
//!
//! Each change is audited after it commits.

use chrono::{DateTime, Utc};
use serde_json::json;
use switchboard_core::access::{
    Grant, Refusal, RoleId, check_remove_user, check_transfer_ownership,
};
use switchboard_core::audit::AuditAction;
use switchboard_core::lifecycle::{EndedSessions, TokenHash, UserEnded};
use switchboard_core::model::Routed;
use switchboard_core::{AccountId, Principal, UserId};
use uuid::Uuid;

use super::access::refused;
use super::accounts::password_hash;
use super::{App, AppError, Caller, UserAccess};
use crate::auth;

/// One login session of the signed-in user, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session of the request that lists them.
    pub current: bool,
}

const WRONG_PASSWORD: &str = "the password is wrong";

impl App {
    /// Deactivates a user of the account: see the module's description.
    pub async fn deactivate_user(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<UserAccess, AppError> {
        self.check_remove(caller, account, user).await?;
        let ended = self.store.deactivate_user(user).await?;
        let routed = self.user_gone(caller, account, user, ended).await?;
        let detail = json!({"requeued": requeued(&routed, user)});
        let action = AuditAction::UserDeactivated;
        self.audit(caller, account, action, Some(user), detail)
            .await;
        let access = self.access_of(account).await?;
        let user = self.user_of(caller, account, user).await?;
        Ok(UserAccess {
            grants: access.grants(user.id).to_vec(),
            user,
        })
    }

    /// Makes a deactivated user active again (their grants count again;
    /// they sign in anew), for whoever manages them.
    pub async fn reactivate_user(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<UserAccess, AppError> {
        let target = self.user_of(caller, account, user).await?;
        self.check_manage_user(caller, account, target.id).await?;
        let user = self.store.reactivate_user(target.id).await?;
        self.access_changed(account).await?;
        let action = AuditAction::UserReactivated;
        self.audit(caller, account, action, Some(user.id), json!({}))
            .await;
        let access = self.access_of(account).await?;
        Ok(UserAccess {
            grants: access.grants(user.id).to_vec(),
            user,
        })
    }

    /// Removes a user of the account: deactivated, their grants deleted,
    /// their email free for another user; their messages keep their name.
    pub async fn remove_user(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<(), AppError> {
        let target = self.check_remove(caller, account, user).await?;
        let ended = self.store.remove_user(user).await?;
        let routed = self.user_gone(caller, account, user, ended).await?;
        let detail = json!({
            "email": target.user.email,
            "name": target.user.name,
            "grants": grants_detail(&target.grants),
            "requeued": requeued(&routed, user),
        });
        self.audit(
            caller,
            account,
            AuditAction::UserRemoved,
            Some(user),
            detail,
        )
        .await;
        Ok(())
    }

    /// Hands the account's ownership to `to` (an active user of the
    /// account). A signed-in caller must be the owner and re-enter their
    /// password (a wrong one: 403); the command line hands it from whoever
    /// owns the account now.
    pub async fn transfer_ownership(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        to: UserId,
        password: Option<String>,
    ) -> Result<UserAccess, AppError> {
        let access = self.access_of(account).await?;
        let from = match caller {
            Caller::User(who) => {
                if who.account_id() != account {
                    return Err(AppError::NotFound("no such account"));
                }
                check_transfer_ownership(&access.access, access.grants(who.id()))
                    .map_err(refused)?;
                let password = password.unwrap_or_default();
                self.reenter_password(who.id(), password).await?;
                who.id()
            }
            Caller::CommandLine => owner_of(&access, account)?,
        };
        let target = self.user_of(caller, account, to).await?;
        if target.deactivated_at.is_some() {
            return Err(AppError::Conflict(
                "a deactivated user cannot become the owner".into(),
            ));
        }
        self.store.transfer_ownership(account, from, to).await?;
        self.access_changed(account).await?;
        let detail = json!({"from": from, "to": to});
        let action = AuditAction::OwnershipTransferred;
        self.audit(caller, account, action, Some(to), detail).await;
        let access = self.access_of(account).await?;
        Ok(UserAccess {
            grants: access.grants(to).to_vec(),
            user: target,
        })
    }

    /// The signed-in user's live sessions, oldest first, `current` marking
    /// the one this request came with.
    pub async fn sessions(
        &self,
        who: &Principal,
        current: &TokenHash,
    ) -> Result<Vec<SessionEntry>, AppError> {
        let sessions = self.store.login_sessions_of(who.id()).await?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionEntry {
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
                current: &s.token_hash == current,
            })
            .collect())
    }

    /// Ends one of the signed-in user's sessions (another user's is not
    /// found), closing its live connections on every node.
    pub async fn end_session(&self, who: &Principal, id: Uuid) -> Result<(), AppError> {
        let ended = self.store.end_login_session(who.id(), id).await?;
        let token_hash = ended.ok_or(AppError::NotFound("no such session"))?;
        self.sessions_ended(who.id(), EndedSessions::One { token_hash })
            .await;
        tracing::info!(user = %who.id(), session = %id, "session ended by its user");
        Ok(())
    }

    /// Changes the signed-in user's password: the current one re-entered
    /// (wrong: 403), the new one by the rules of user creation. Every other
    /// session ends, its connections closed on every node; this one stays.
    pub async fn change_password(
        &self,
        who: &Principal,
        session: &TokenHash,
        current: String,
        new: String,
    ) -> Result<(), AppError> {
        self.reenter_password(who.id(), current).await?;
        let hash = password_hash(new).await?;
        self.store.change_password(who.id(), &hash, session).await?;
        let ended = EndedSessions::AllBut {
            token_hash: *session,
        };
        self.sessions_ended(who.id(), ended).await;
        let caller = Caller::User(who);
        let action = AuditAction::PasswordChanged;
        let detail = json!({"other_sessions_ended": true});
        self.audit(caller, who.account_id(), action, Some(who.id()), detail)
            .await;
        Ok(())
    }

    /// A signed-in user re-entering their password: throttled as a sign-in
    /// is, under their own key (`reauth:<user id>`), so that a stolen
    /// session cannot guess it at leisure. Too many recent failures: 429
    /// unchecked; a wrong one: 403 (counted); a right one forgets the
    /// key's failures.
    async fn reenter_password(&self, user: UserId, password: String) -> Result<(), AppError> {
        let keys = [format!("reauth:{user}")];
        let attempt = self.reserve_attempt(&keys).await?;
        match self.password_matches(user, password).await {
            Ok(true) => {
                self.attempt_passed(attempt, &keys[0]).await;
                Ok(())
            }
            Ok(false) => Err(AppError::forbidden(WRONG_PASSWORD)),
            Err(error) => {
                self.attempt_undecided(attempt).await;
                Err(error)
            }
        }
    }

    /// Whether `user`'s password is `password` (the work of a sign-in).
    async fn password_matches(&self, user: UserId, password: String) -> Result<bool, AppError> {
        let user = self
            .store
            .user(user)
            .await?
            .ok_or(AppError::Unauthorized("the user no longer exists"))?;
        let hash = self.store.user_by_email(&user.email).await?.map(|f| f.1);
        Ok(auth::verify_password(password, hash).await)
    }

    /// May the caller deactivate or remove `user`? They manage them, and
    /// the user is not the owner (409). Returns the user with their grants.
    async fn check_remove(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
    ) -> Result<UserAccess, AppError> {
        let target = self.user_of(caller, account, user).await?;
        self.check_manage_user(caller, account, target.id).await?;
        let access = self.access_of(account).await?;
        let grants = access.grants(user).to_vec();
        match caller {
            Caller::User(who) => {
                check_remove_user(&access.access, access.grants(who.id()), &grants)
                    .map_err(refused)?;
            }
            Caller::CommandLine if access.access.is_owner(&grants) => {
                return Err(refused(Refusal::OwnerIsPermanent));
            }
            Caller::CommandLine => {}
        }
        Ok(UserAccess {
            user: target,
            grants,
        })
    }

    /// A user deactivated or removed: every node enforces it (they hold
    /// nothing, so they leave every room and lose any role), their
    /// conversations' new places spread, their connections close, and
    /// each invitation of theirs revoked with them is recorded as a
    /// revocation by the caller. Answers where their conversations went.
    async fn user_gone(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        user: UserId,
        ended: UserEnded,
    ) -> Result<Routed, AppError> {
        let UserEnded {
            mut routed,
            revoked_invitations,
        } = ended;
        self.access_changed(account).await?;
        self.spread(&mut routed).await;
        self.sessions_ended(user, EndedSessions::All).await;
        tracing::info!(%user, revoked_invitations = revoked_invitations.len(),
            "user deactivated: sessions ended");
        for revoked in revoked_invitations {
            let detail = json!({"invitation_id": revoked.id, "email": revoked.email});
            let action = AuditAction::InvitationRevoked;
            self.audit(caller, account, action, None, detail).await;
        }
        Ok(routed)
    }

    /// Closes the connections of ended sessions on every node (none
    /// without a hub: a running server learns it from the store).
    pub(super) async fn sessions_ended(&self, user: UserId, ended: EndedSessions) {
        if let Some(hub) = &self.hub {
            hub.sessions_ended(user, ended).await;
        }
    }
}

/// Who owns the account now.
fn owner_of(access: &crate::access::AccessNow, account: AccountId) -> Result<UserId, AppError> {
    let owner = Grant::new(RoleId::OWNER, access.access.groups.root());
    access
        .granted()
        .find(|(_, grants)| grants.contains(&owner))
        .map(|(user, _)| user)
        .ok_or_else(|| {
            tracing::error!(%account, "an account without an owner");
            AppError::Conflict("the account has no owner".into())
        })
}

/// The conversations taken from `user` and where they went.
fn requeued(routed: &Routed, user: UserId) -> Vec<serde_json::Value> {
    routed
        .conversations
        .iter()
        .filter(|c| c.assignee.as_ref().is_none_or(|a| a.id != user))
        .map(|c| json!({"conversation_id": c.id, "assignee_id": c.assignee.as_ref().map(|a| a.id)}))
        .collect()
}

fn grants_detail(grants: &[Grant]) -> Vec<serde_json::Value> {
    grants
        .iter()
        .map(|g| json!({"role": g.role.to_string(), "group_id": g.group}))
        .collect()
}
