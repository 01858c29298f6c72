//! Two-factor authentication's records and the login throttle's decision
//! (docs/PEOPLE.md). What a user's 2FA is as the store keeps it, the
//! failed logins the store counts, and whether a login may be tried now:
//! pure, the counts and the time come from the caller.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A user's TOTP enrolment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorRecord {
    /// The TOTP secret sealed by the server's key (its format is the
    /// server's: the store never sees the secret in the clear).
    pub sealed_secret: String,
    /// Confirmed with a code: 2FA is on. Otherwise a pending setup.
    pub confirmed: bool,
    /// The last TOTP step accepted (a code is accepted only for a later one).
    pub last_step: Option<i64>,
}

/// The failed logins of one throttling key (an email, a source address)
/// within the window, as the store counts them at its clock `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailures {
    pub key: String,
    /// Failures within the window.
    pub count: u32,
    /// The oldest of them (the first to leave the window).
    pub oldest: DateTime<Utc>,
    /// The store's time when it counted.
    pub now: DateTime<Utc>,
}

/// The store's answer to a login attempt asking to be counted before its
/// secret is checked ([`Store::reserve_login_attempt`]).
///
/// [`Store::reserve_login_attempt`]: crate::ports::Store::reserve_login_attempt
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted under each key (as a failure until it is found right and
    /// released): the secret may be checked.
    Reserved,
    /// A key had reached the limit: nothing was counted, and the attempt
    /// is to be refused unchecked, telling how long to wait.
    Refused { wait: Duration },
}

/// How many failed logins a key may have within a window before further
/// attempts are refused unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    pub window: Duration,
}

impl ThrottlePolicy {
    /// The product's default: 10 failures within 15 minutes.
    pub const DEFAULT: Self = Self {
        max_failures: 10,
        window: Duration::from_secs(15 * 60),
    };

    /// How long a login must wait, if any key has reached the limit: until
    /// that key's oldest failure leaves the window (the longest such wait
    /// when several have). At least one second, so that `Retry-After` is
    /// never zero. `failures` are each key's attempts *before* this one
    /// (failures, and attempts still being checked): with the default
    /// policy the eleventh attempt after ten failures is the first refused.
    pub fn wait(&self, failures: &[LoginFailures]) -> Option<Duration> {
        failures
            .iter()
            .filter(|key| key.count >= self.max_failures)
            .map(|key| self.until_oldest_leaves(key))
            .max()
    }

    fn until_oldest_leaves(&self, key: &LoginFailures) -> Duration {
        let elapsed = (key.now - key.oldest).to_std().unwrap_or_default();
        self.window
            .saturating_sub(elapsed)
            .max(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(key: &str, count: u32, age_secs: i64) -> LoginFailures {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        LoginFailures {
            key: key.into(),
            count,
            oldest: now - chrono::Duration::seconds(age_secs),
            now,
        }
    }

    #[test]
    fn below_the_limit_a_login_may_be_tried() {
        let policy = ThrottlePolicy::DEFAULT;
        assert_eq!(policy.wait(&[]), None);
        assert_eq!(policy.wait(&[failures("email:a@b.c", 9, 60)]), None);
    }

    #[test]
    fn at_the_limit_the_wait_lasts_until_the_oldest_failure_leaves_the_window() {
        let policy = ThrottlePolicy::DEFAULT;
        let wait = policy.wait(&[failures("email:a@b.c", 10, 60)]);
        assert_eq!(wait, Some(Duration::from_secs(15 * 60 - 60)));
        let both = policy.wait(&[
            failures("email:a@b.c", 10, 600),
            failures("addr:127.0.0.1", 12, 60),
        ]);
        assert_eq!(both, Some(Duration::from_secs(15 * 60 - 60)), "the longer");
    }

    #[test]
    fn the_wait_is_never_zero() {
        let policy = ThrottlePolicy {
            max_failures: 1,
            window: Duration::from_secs(10),
        };
        let wait = policy.wait(&[failures("addr:::1", 1, 10)]);
        assert_eq!(wait, Some(Duration::from_secs(1)));
    }
}
