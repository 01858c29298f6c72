//! The first run: a server whose database holds no account makes a
//! one-time setup link at start (printed for whoever started it), and the
//! page behind it creates the account and its owner. Only the holder of
//! the link can use it, only once, and only while the database has no
//! account: once any account exists (made here, on another node, or at the
//! command line) the setup is gone.

use std::sync::Mutex;

use super::accounts::password_hash;
use super::{App, AppError, LoggedIn, NewAccountInput};
use crate::auth;
use switchboard_core::model::NewAccount;

/// How a setup link's token starts.
pub const SETUP_TOKEN_PREFIX: &str = "sbf_";

/// This node's pending setup: the hash of its link's token, until the
/// link is used (or, at the next start, found needless).
#[derive(Debug, Default)]
pub struct FirstRun {
    token_hash: Mutex<Option<[u8; 32]>>,
}

impl FirstRun {
    fn hash(&self) -> Option<[u8; 32]> {
        *self.token_hash.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, hash: Option<[u8; 32]>) {
        *self.token_hash.lock().unwrap_or_else(|p| p.into_inner()) = hash;
    }
}

const NOT_PENDING: &str = "this server is already set up";

impl App {
    /// At start: a setup token when the database has no account (the link
    /// is the public URL, `/setup?token=`, and it), else `None`. Each call
    /// replaces the token of the one before.
    pub async fn open_first_run(&self) -> Result<Option<String>, AppError> {
        if self.store.has_accounts().await? {
            self.first_run.set(None);
            return Ok(None);
        }
        let token = auth::new_secret(SETUP_TOKEN_PREFIX);
        self.first_run.set(Some(auth::secret_hash(&token)));
        Ok(Some(token))
    }

    /// Whether this node's setup link still works.
    pub async fn first_run_pending(&self) -> Result<bool, AppError> {
        Ok(self.first_run.hash().is_some() && !self.store.has_accounts().await?)
    }

    /// Creates the account and its owner through the setup link, and signs
    /// the owner in. A token that is not this node's: 403. No setup
    /// pending (any account exists, even one made a moment ago elsewhere):
    /// 404, and nothing is made.
    pub async fn complete_first_run(
        &self,
        token: &str,
        input: NewAccountInput,
    ) -> Result<LoggedIn, AppError> {
        let expected = match self.first_run.hash() {
            Some(hash) if !self.store.has_accounts().await? => hash,
            _ => return Err(AppError::NotFound(NOT_PENDING)),
        };
        if auth::secret_hash(token.trim()) != expected {
            return Err(AppError::forbidden("this setup link is not valid"));
        }
        let hash = password_hash(input.owner_password).await?;
        let created = self
            .store
            .create_first_account(NewAccount {
                name: input.name.as_str(),
                owner_email: input.owner_email.as_str(),
                owner_name: input.owner_name.as_str(),
                owner_password_hash: &hash,
            })
            .await?;
        self.first_run.set(None);
        let Some((account, owner)) = created else {
            return Err(AppError::NotFound(NOT_PENDING));
        };
        tracing::info!(account = %account.id, owner = %owner.id, "first-run setup: account created");
        self.open_session(owner, None).await
    }
}
