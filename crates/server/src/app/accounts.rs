//! Accounts, users and inboxes, as the operator creates, lists and repairs
//! them at the command line (invitations and user management over REST come
//! later, on these). Every use case takes its [`Caller`], so a REST route
//! added later is authorized by the same code.

use switchboard_core::access::{Decision, Permission, Target};
use switchboard_core::input::{Capacity, Channel, Email, Name};
use switchboard_core::model::{Account, Inbox, NewAccount, NewInbox, NewUser, User};
use switchboard_core::{AccountId, InboxId, Role, UserId};

use super::{App, AppError, Caller};
use crate::auth::{self, INBOX_KEY_PREFIX, PasswordError};

/// A new account and its owner.
#[derive(Debug)]
pub struct NewAccountInput {
    pub name: Name,
    pub owner_email: Email,
    pub owner_name: Name,
    pub owner_password: String,
}

impl App {
    /// Creates an account with its owner.
    pub async fn create_account(
        &self,
        input: NewAccountInput,
    ) -> Result<(Account, User), AppError> {
        let hash = password_hash(input.owner_password).await?;
        Ok(self
            .store
            .create_account(NewAccount {
                name: input.name.as_str(),
                owner_email: input.owner_email.as_str(),
                owner_name: input.owner_name.as_str(),
                owner_password_hash: &hash,
            })
            .await?)
    }

    /// Creates a user of an account with a password. The owner is created
    /// with the account, and only then.
    pub async fn create_user(
        &self,
        account: AccountId,
        email: Email,
        name: Name,
        password: String,
        role: Role,
        capacity: Capacity,
    ) -> Result<User, AppError> {
        if role == Role::Owner {
            return Err(AppError::BadRequest(
                "an account has exactly one owner, created with the account".into(),
            ));
        }
        let hash = password_hash(password).await?;
        Ok(self
            .store
            .create_user(NewUser {
                account_id: account,
                email: email.as_str(),
                name: name.as_str(),
                password_hash: &hash,
                role,
                capacity: capacity.get(),
            })
            .await?)
    }

    /// Creates an inbox and its API key (for inbound messages), which is
    /// returned here and never again: only its hash is stored.
    pub async fn create_inbox(
        &self,
        account: AccountId,
        name: Name,
        channel: Channel,
    ) -> Result<(Inbox, String), AppError> {
        let key = auth::new_secret(INBOX_KEY_PREFIX);
        let inbox = self
            .store
            .create_inbox(NewInbox {
                account_id: account,
                name: name.as_str(),
                channel: channel.as_str(),
                key_hash: &auth::secret_hash(&key),
            })
            .await?;
        Ok((inbox, key))
    }

    /// The accounts the caller sees (the command line: all of them).
    pub async fn accounts(&self, caller: Caller<'_>) -> Result<Vec<Account>, AppError> {
        let mut accounts = self.store.accounts().await?;
        accounts.retain(|account| caller.sees(account.id));
        Ok(accounts)
    }

    /// The users of an account, for those who manage its users.
    pub async fn users(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Vec<User>, AppError> {
        let account = self.seen_account(caller, account).await?;
        let users = self.store.users_of(account.id).await?;
        let Caller::User(principal) = caller else {
            return Ok(users);
        };
        let access = self.access_of(account.id).await?;
        let policy = access.policy(principal.id());
        let manageable = |user: &User| {
            let target = Target::User {
                account: account.id,
                grants: access.grants(user.id),
            };
            policy.decide(target, Permission::UsersManage) == Decision::Allowed
        };
        Ok(users.into_iter().filter(manageable).collect())
    }

    /// The inboxes of an account (never their keys), for those who manage
    /// its inboxes.
    pub async fn inboxes(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Vec<Inbox>, AppError> {
        let account = self.seen_account(caller, account).await?;
        let inboxes = self.store.inboxes_of(account.id).await?;
        let Caller::User(principal) = caller else {
            return Ok(inboxes);
        };
        let access = self.access_of(account.id).await?;
        let policy = access.policy(principal.id());
        let sees = |inbox: &Inbox| !policy.permissions_at(inbox.group_id).is_empty();
        Ok(inboxes.into_iter().filter(sees).collect())
    }

    /// Gives a user a new password (the rules of [`App::create_user`]) and
    /// signs them out everywhere: every login session of theirs ends, so
    /// a token taken with the old password is refused from now on.
    pub async fn reset_password(
        &self,
        caller: Caller<'_>,
        user: UserId,
        password: String,
    ) -> Result<User, AppError> {
        let user = self
            .store
            .user(user)
            .await?
            .filter(|u| caller.sees(u.account_id))
            .ok_or(AppError::NotFound("no such user"))?;
        self.check_manage_user(caller, user.account_id, user.id)
            .await?;
        let hash = password_hash(password).await?;
        self.store.set_password(user.id, &hash).await?;
        Ok(user)
    }

    /// Gives an inbox a new API key, returned here and never again; the
    /// old key is refused from now on.
    pub async fn rotate_inbox_key(
        &self,
        caller: Caller<'_>,
        inbox: InboxId,
    ) -> Result<(Inbox, String), AppError> {
        let inbox = self.managed_inbox(caller, inbox).await?;
        let key = auth::new_secret(INBOX_KEY_PREFIX);
        let inbox = self
            .store
            .set_inbox_key(inbox.id, &auth::secret_hash(&key))
            .await?;
        Ok((inbox, key))
    }

    /// An account the caller sees; any other is not found.
    async fn seen_account(
        &self,
        caller: Caller<'_>,
        account: AccountId,
    ) -> Result<Account, AppError> {
        self.store
            .account(account)
            .await?
            .filter(|a| caller.sees(a.id))
            .ok_or(AppError::NotFound("no such account"))
    }
}

pub(super) async fn password_hash(password: String) -> Result<String, AppError> {
    auth::hash_password(password)
        .await
        .map_err(|error| match error {
            PasswordError::TooShort => AppError::BadRequest(error.to_string()),
            PasswordError::Hashing(detail) => {
                tracing::error!(%detail, "password hashing failed");
                AppError::Internal
            }
        })
}
