//! Login sessions: signing in with email and password (and a second
//! factor when the user has 2FA on; throttled per email and per source
//! address), recognizing the token a request carries (and holding a
//! session whose account requires 2FA the user has not set up to setting
//! it up), signing out (which closes the session's live connections).
//! Tokens are random and stored only as hashes.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use switchboard_core::lifecycle::EndedSessions;
use switchboard_core::model::User;
use switchboard_core::two_factor::Reservation;
use uuid::Uuid;

use super::{App, AppError};
use crate::auth::{self, SESSION_TOKEN_PREFIX};

/// A user recognized by the token their request carries.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    /// What the store keeps of the token (to close its connections at logout).
    pub token_hash: [u8; 32],
    /// The account requires 2FA and the user has not turned it on: this
    /// session may only set it up. Decided at each authentication, so
    /// confirming frees the same session at once.
    pub must_enroll_2fa: bool,
}

/// A sign-in as the transport received it.
#[derive(Debug)]
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    /// A TOTP code or a backup code, for users with 2FA on.
    pub totp: Option<String>,
    /// Where the attempt came from (the connection's peer address).
    pub source: IpAddr,
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
    /// The session may only set 2FA up (see `Authenticated`).
    pub must_enroll_2fa: bool,
}

const WRONG_LOGIN: &str = "wrong email or password";

impl App {
    /// Signs in. A wrong password and an unknown email get the same answer
    /// after the same work, so that nobody learns which emails exist. The
    /// attempt is counted under its email and its source address before
    /// the password is looked at, and refused unchecked when either has
    /// too many recent failures (so concurrent attempts cannot all be
    /// checked); a wrong password or second factor stays counted as a
    /// failure for both, a right one is forgotten again.
    pub async fn login(&self, attempt: LoginAttempt) -> Result<LoggedIn, AppError> {
        // Looked up as given (trimmed, lowercased), not parsed: an address
        // stored before today's rules still signs in.
        let email = attempt.email.trim().to_lowercase();
        let keys = throttle_keys(&email, attempt.source);
        let reserved = self.reserve_attempt(&keys).await?;
        match self.check_login(&email, attempt).await {
            Ok(session) => {
                // The email's own count starts again; the address's keeps
                // its earlier failures, or an attacker could sign in to an
                // account of theirs between guesses.
                self.attempt_passed(reserved, &keys[0]).await;
                let must_enroll_2fa = session.must_enroll_2fa;
                tracing::info!(user = %session.user.id, must_enroll_2fa, "signed in");
                Ok(session)
            }
            Err(wrong @ AppError::Unauthorized(_)) => Err(wrong),
            Err(other) => {
                self.attempt_undecided(reserved).await;
                Err(other)
            }
        }
    }

    /// The password, then any second factor, then a session made only if
    /// the password verified is still the user's and they are still
    /// active (a password change or deactivation meanwhile answers as a
    /// wrong password).
    async fn check_login(&self, email: &str, attempt: LoginAttempt) -> Result<LoggedIn, AppError> {
        let (user, hash) = match self.store.user_by_email(email).await? {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let verified = auth::verify_password(attempt.password, hash.clone()).await;
        // A deactivated user gets the answer of a wrong password, after
        // the same work.
        let active = |user: &User| verified && user.deactivated_at.is_none();
        let (Some(user), Some(hash)) = (user.filter(active), hash) else {
            return Err(AppError::Unauthorized(WRONG_LOGIN));
        };
        self.check_second_factor(user.id, attempt.totp.as_deref())
            .await?;
        self.open_session(user, Some(&hash)).await
    }

    /// A new login session for `user`, who just proved who they are (a
    /// password and any second factor, or an invitation accepted). Given
    /// the password hash verified, the session is made only while it is
    /// still the user's and they are active (else the wrong-password
    /// answer).
    pub(super) async fn open_session(
        &self,
        user: User,
        verified_hash: Option<&str>,
    ) -> Result<LoggedIn, AppError> {
        let token = auth::new_secret(SESSION_TOKEN_PREFIX);
        let token_hash = auth::secret_hash(&token);
        let ttl = self.settings.session_ttl;
        let expires_at = Utc::now()
            + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::days(30));
        match verified_hash {
            Some(hash) => {
                let made = self
                    .store
                    .create_verified_login_session(&token_hash, user.id, hash, expires_at)
                    .await?;
                if !made {
                    return Err(AppError::Unauthorized(WRONG_LOGIN));
                }
            }
            None => {
                self.store
                    .create_login_session(&token_hash, user.id, expires_at)
                    .await?;
            }
        }
        let must_enroll_2fa = self.store.must_enroll_two_factor(user.id).await?;
        let role = self.access_of(user.account_id).await?.role_hint(user.id);
        Ok(LoggedIn {
            token,
            user,
            role,
            ttl,
            must_enroll_2fa,
        })
    }

    /// Counts an attempt at a secret under `keys` before it is checked,
    /// or refuses it unchecked (429, telling how long to wait) when a key
    /// has reached the limit of failures within the window. The attempt
    /// counts as a failure until [`App::attempt_passed`] or
    /// [`App::attempt_undecided`] forgets it (an attempt abandoned by its
    /// client midway stays a failure).
    pub(super) async fn reserve_attempt(&self, keys: &[String]) -> Result<Uuid, AppError> {
        let attempt = Uuid::now_v7();
        let policy = self.settings.login_throttle;
        match self
            .store
            .reserve_login_attempt(attempt, keys, policy)
            .await?
        {
            Reservation::Reserved => Ok(attempt),
            Reservation::Refused { wait } => Err(AppError::TooManyLogins {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// The attempt was right: forgotten, and so are the failures of `key`
    /// (its other keys keep theirs). A store failure here is logged: the
    /// answer already stands.
    pub(super) async fn attempt_passed(&self, attempt: Uuid, key: &str) {
        let released = self.store.release_login_attempt(attempt).await;
        let cleared = self.store.clear_login_failures(key).await;
        if let Err(error) = released.and(cleared) {
            tracing::warn!(%error, "a right attempt could not be forgotten by the throttle");
        }
    }

    /// The attempt ended before its secret was judged (a second factor
    /// missing, an error): forgotten, no failure counted.
    pub(super) async fn attempt_undecided(&self, attempt: Uuid) {
        if let Err(error) = self.store.release_login_attempt(attempt).await {
            tracing::warn!(%error, "an undecided attempt could not be forgotten by the throttle");
        }
    }

    /// The user behind a login token, if the session is valid and not held
    /// to setting 2FA up (then `2fa_required`).
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Authenticated, AppError> {
        let who = self.authenticate_enrolling(token).await?;
        if who.must_enroll_2fa {
            return Err(AppError::TwoFactorRequired);
        }
        Ok(who)
    }

    /// The user behind a login token, if the session is valid, also while
    /// it may only set 2FA up: for the few routes such a session may use
    /// (setting 2FA up, who am I).
    pub async fn authenticate_enrolling(
        &self,
        token: Option<&str>,
    ) -> Result<Authenticated, AppError> {
        let token = token.ok_or(AppError::Unauthorized("missing credentials"))?;
        // API keys (docs/MODULES.md): no login session, so no WebSocket.
        if token.starts_with(super::API_KEY_PREFIX) {
            return Err(AppError::Unauthorized(
                "an api key is no login session: it works on the rest api only",
            ));
        }
        self.session_of_hash(auth::secret_hash(token)).await
    }

    /// The user of the login session whose token hash is `token_hash`, if
    /// it is valid (also while it may only set 2FA up): a token's, or the
    /// session a WebSocket ticket was made for.
    pub(super) async fn session_of_hash(
        &self,
        token_hash: [u8; 32],
    ) -> Result<Authenticated, AppError> {
        let user = self
            .store
            .login_session_user(&token_hash)
            .await?
            .ok_or(AppError::Unauthorized("invalid or expired token"))?;
        // Every check of this request or connection asks the account's
        // access: loaded here once, kept current from then on.
        self.access.cell(user.account_id).await?;
        let must_enroll_2fa = self.store.must_enroll_two_factor(user.id).await?;
        Ok(Authenticated {
            user,
            token_hash,
            must_enroll_2fa,
        })
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

/// The keys failed logins are counted under: the email (lowercased) and
/// the source address, in that order.
fn throttle_keys(email: &str, source: IpAddr) -> [String; 2] {
    let source = match source {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    [format!("email:{email}"), format!("addr:{source}")]
}
