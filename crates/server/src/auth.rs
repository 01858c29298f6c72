//! Secrets: password hashing (argon2id), login tokens and inbox API keys
//! (random, 256 bits, stored only as SHA-256 hashes). Where a request
//! carries them is `credentials`' business.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Login tokens start with this, so that logs and users can tell them apart.
pub const SESSION_TOKEN_PREFIX: &str = "sbs_";
/// Inbox API keys (for `POST /v1/inbound`) start with this.
pub const INBOX_KEY_PREFIX: &str = "sbk_";
/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A new random secret with `prefix`: 32 bytes from the thread's CSPRNG.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a token or key: its SHA-256.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Password hashes computed at once. Each argon2id computation takes about
/// 19 MiB and tens of milliseconds on purpose; a burst of logins waits here
/// rather than growing the process by 19 MiB per login in flight.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Hashes a password with argon2id (off the async threads: it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| PasswordError::Hashing(e.to_string()))?
}

/// Checks a password against a stored hash. Without a hash (unknown email)
/// it still does the work of one, so that timing does not tell which emails exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// An argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$8tDvc0Yz5O9WJrqqo3nuN1n4yD+B1jpwcjn4J5uqKfs";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = new_secret(SESSION_TOKEN_PREFIX);
        let b = new_secret(SESSION_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("sbs_"));
        // 32 bytes of entropy: 43 base64url characters.
        assert_eq!(a.len(), 4 + 43);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        // Otherwise unknown emails would answer faster than wrong passwords.
        let parsed = PasswordHash::new(DUMMY_HASH).expect("parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[tokio::test]
    async fn passwords_verify_and_short_ones_are_refused() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(hash)).await);
        assert!(!verify_password("correct horse".into(), None).await);
        assert!(matches!(
            hash_password("short".into()).await,
            Err(PasswordError::TooShort)
        ));
    }
}
