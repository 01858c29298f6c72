//! API keys for integrations (docs/MODULES.md, "API keys"): a secret an
//! integration sends as `Authorization: Bearer`, acting with the key's own
//! grants. A key is no user: it takes no seat, is never assigned a
//! conversation and holds no login session. Its id stands where a user's
//! would in the access book (`acting_id`), so every check of the policy
//! applies to it unchanged. Pure: the store keeps keys (their secrets only
//! hashed), the application decides who makes and revokes them.

use chrono::{DateTime, Duration, Utc};

use crate::access::Grant;
use crate::ids::{AccountId, ApiKeyId, UserId};
use crate::input::Name;

/// The characters of a key shown in listings so a person can tell keys
/// apart (its type prefix and a few random ones; far too few to guess the
/// rest from).
pub const SHOWN_PREFIX_CHARS: usize = 12;

/// How often a key's `last_used_at` is written at most: a busy integration
/// costs one write a minute, not one per request.
pub const LAST_USED_EVERY: Duration = Duration::minutes(1);

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: String,
    /// The first [`SHOWN_PREFIX_CHARS`] characters of the secret.
    pub prefix: String,
    pub grants: Vec<Grant>,
    pub created_at: DateTime<Utc>,
    /// Who made it; `None`: an operator at the command line.
    pub created_by: Option<UserId>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key to store: its secret only as a hash.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: Name,
    pub prefix: String,
    pub key_hash: [u8; 32],
    pub grants: Vec<Grant>,
    pub created_by: Option<UserId>,
}

/// The id a key acts under in the access book and the audit log. Ids are
/// random UUIDs, so a key's never meets a user's.
pub fn acting_id(key: ApiKeyId) -> UserId {
    UserId(key.as_uuid())
}

/// What a listing shows of `secret`.
pub fn shown_prefix(secret: &str) -> String {
    secret.chars().take(SHOWN_PREFIX_CHARS).collect()
}

/// Whether a use at `now` of a key last recorded as used at `last` should
/// be recorded: never recorded, or not within the last minute.
pub fn use_is_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|last| now - last >= LAST_USED_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_is_recorded_once_a_minute() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert!(use_is_due(None, now));
        assert!(!use_is_due(Some(now - Duration::seconds(59)), now));
        assert!(use_is_due(Some(now - Duration::seconds(60)), now));
    }

    #[test]
    fn the_shown_prefix_is_the_start_of_the_secret() {
        assert_eq!(shown_prefix("sba_abcdefghijklmnop"), "sba_abcdefgh");
        assert_eq!(shown_prefix("short"), "short");
    }

    #[test]
    fn a_key_acts_under_its_own_id() {
        let key = ApiKeyId::new();
        assert_eq!(acting_id(key).as_uuid(), key.as_uuid());
    }
}
