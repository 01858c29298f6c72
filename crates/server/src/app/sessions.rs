//! Login sessions: signing in with email and password, recognizing the
//! token a request carries, signing out (which closes the session's live
//! connections). Tokens are random and stored only as hashes.

use std::time::Duration;

use chrono::Utc;
use switchboard_core::lifecycle::EndedSessions;
use switchboard_core::model::User;

use super::{App, AppError};
use crate::auth::{self, SESSION_TOKEN_PREFIX};

/// A user recognized by the token their request carries.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    /// What the store keeps of the token (to close its connections at logout).
    pub token_hash: [u8; 32],
}

/// A new login session.
#[derive(Debug)]
pub struct LoggedIn {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub user: User,
    /// One role id to show (see `AccessNow::role_hint`).
    pub role: Option<String>,
    pub ttl: Duration,
}

const WRONG_LOGIN: &str = "wrong email or password";

impl App {
    /// Signs in. A wrong password and an unknown email get the same answer
    /// after the same work, so that nobody learns which emails exist.
    pub async fn login(&self, email: &str, password: String) -> Result<LoggedIn, AppError> {
        // Looked up as given (trimmed, lowercased), not parsed: an address
        // stored before today's rules still signs in.
        let email = email.trim().to_lowercase();
        let found = self.store.user_by_email(&email).await?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let verified = auth::verify_password(password, hash).await;
        // A deactivated user gets the answer of a wrong password, after
        // the same work.
        let active = |user: &User| verified && user.deactivated_at.is_none();
        let Some(user) = user.filter(active) else {
            return Err(AppError::Unauthorized(WRONG_LOGIN));
        };
        let token = auth::new_secret(SESSION_TOKEN_PREFIX);
        let ttl = self.settings.session_ttl;
        let expires_at = Utc::now()
            + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::days(30));
        self.store
            .create_login_session(&auth::secret_hash(&token), user.id, expires_at)
            .await?;
        tracing::info!(user = %user.id, "signed in");
        let role = self.access_of(user.account_id).await?.role_hint(user.id);
        Ok(LoggedIn {
            token,
            user,
            role,
            ttl,
        })
    }

    /// A new login session for `user`, who just proved who they are (by
    /// accepting an invitation).
    pub(super) async fn open_session(&self, user: User) -> Result<LoggedIn, AppError> {
        let token = auth::new_secret(SESSION_TOKEN_PREFIX);
        let ttl = self.settings.session_ttl;
        let expires_at = Utc::now()
            + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::days(30));
        self.store
            .create_login_session(&auth::secret_hash(&token), user.id, expires_at)
            .await?;
        let role = self.access_of(user.account_id).await?.role_hint(user.id);
        Ok(LoggedIn {
            token,
            user,
            role,
            ttl,
        })
    }

    /// The user behind a login token, if the session is valid.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Authenticated, AppError> {
        let token = token.ok_or(AppError::Unauthorized("missing credentials"))?;
        let token_hash = auth::secret_hash(token);
        let user = self
            .store
            .login_session_user(&token_hash)
            .await?
            .ok_or(AppError::Unauthorized("invalid or expired token"))?;
        // Every check of this request or connection asks the account's
        // access: loaded here once, kept current from then on.
        self.access.cell(user.account_id).await?;
        Ok(Authenticated { user, token_hash })
    }

    /// Ends the login session of `token` (also when it was no longer
    /// valid) and closes the live connections it opened. Returns how many.
    pub async fn logout(&self, token: Option<&str>) -> Result<usize, AppError> {
        let token = token.ok_or(AppError::Unauthorized("missing credentials"))?;
        let token_hash = auth::secret_hash(token);
        // whose it is, to close its connections on the other nodes too
        let user = self.store.login_session_user(&token_hash).await?;
        self.store.delete_login_session(&token_hash).await?;
        let closed = match (&self.hub, user) {
            (Some(hub), Some(user)) => {
                let ended = EndedSessions::One { token_hash };
                hub.sessions_ended(user.id, ended).await
            }
            (Some(hub), None) => hub.close_session(&token_hash),
            (None, _) => 0,
        };
        tracing::info!(closed, "signed out");
        Ok(closed)
    }
}
