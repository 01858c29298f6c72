//! Accounts, users and inboxes, as the operator creates them at the command
//! line (invitations and user management over REST come later, on these).

use switchboard_core::input::{Capacity, Channel, Email, Name};
use switchboard_core::model::{Account, Inbox, NewAccount, NewInbox, NewUser, User};
use switchboard_core::{AccountId, Role};

use super::{App, AppError};
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
}

async fn password_hash(password: String) -> Result<String, AppError> {
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
