//! Invitations, the mail that carries them, and seats (docs/PEOPLE.md,
//! "Invitations" and "Seats"): the records the store keeps and the few
//! rules on them that need no IO (what a seat count admits, how long a
//! failed mail waits before its next try).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::access::Grant;
use crate::ids::{AccountId, InvitationId, MailId, UserId};

/// Where an invitation stands. `Expired` is never written by a request:
/// a pending invitation whose time is over reads as expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Accepted, Self::Revoked, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for InvitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a mail of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailStatus {
    /// Waiting for its first or next try.
    Queued,
    /// Handed to the mail server (or written to the mail directory).
    Sent,
    /// Every try failed; no more will be made.
    Failed,
    /// Not sent after all: its invitation was revoked, resent or accepted
    /// first.
    Cancelled,
}

impl MailStatus {
    pub const ALL: [Self; 4] = [Self::Queued, Self::Sent, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// An invitation as stored (never its token: only the token's hash is
/// kept, and never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub account_id: AccountId,
    /// Lowercased.
    pub email: String,
    pub status: InvitationStatus,
    /// What the new user will hold once they accept.
    pub grants: Vec<Grant>,
    /// Who invited (none: an operator at the command line).
    pub invited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The user it became, once accepted.
    pub user_id: Option<UserId>,
    /// The state of its latest mail.
    pub mail_status: Option<MailStatus>,
    /// The name of the account it invites to.
    pub account_name: String,
}

/// A mail to put in the outbox: the whole message, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub recipient: String,
    /// The RFC 5322 message, as it will be sent.
    pub message: String,
}

/// One invitation of a request, with its token's hash and its mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    /// Lowercased, parsed.
    pub email: String,
    pub token_hash: [u8; 32],
    pub mail: NewMail,
}

/// Invitations to one account with the same grants, made together or not
/// at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitations {
    pub account_id: AccountId,
    pub invited_by: Option<UserId>,
    pub grants: Vec<Grant>,
    /// How long each link works.
    pub ttl: Duration,
    pub invitations: Vec<NewInvitation>,
}

/// The user an accepted invitation becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub token_hash: [u8; 32],
    pub name: String,
    pub password_hash: String,
    /// The most conversations the new user is auto-assigned at once.
    pub capacity: u32,
}

/// A mail the outbox handed to one sender: it holds the mail until its
/// lease ends, and reports with `claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: MailId,
    pub claim: uuid::Uuid,
    pub recipient: String,
    pub message: String,
    /// Tries so far, this one included.
    pub attempts: u32,
}

/// An account's seats: its plan's cap (`None`: unlimited) and how many
/// are taken (active users and pending, unexpired invitations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seats {
    pub limit: Option<u32>,
    pub used: u32,
}

impl Seats {
    /// Whether `more` seats can be taken now.
    pub fn admits(&self, more: u32) -> bool {
        match self.limit {
            None => true,
            Some(limit) => self.used.saturating_add(more) <= limit,
        }
    }
}

/// How long a mail waits after its `attempts`-th failed try: `base`
/// doubled for each try after the first, at most `cap`.
pub fn mail_backoff(base: Duration, cap: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    base.saturating_mul(1 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_as_written() {
        for status in InvitationStatus::ALL {
            assert_eq!(InvitationStatus::parse(status.as_str()), Some(status));
        }
        for status in MailStatus::ALL {
            assert_eq!(MailStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(InvitationStatus::parse("gone"), None);
    }

    #[test]
    fn seats_admit_up_to_the_limit_and_always_without_one() {
        let three = Seats {
            limit: Some(3),
            used: 2,
        };
        assert!(three.admits(1));
        assert!(!three.admits(2));
        assert!(three.admits(0));
        let unlimited = Seats {
            limit: None,
            used: u32::MAX,
        };
        assert!(unlimited.admits(u32::MAX));
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        let waits: Vec<u128> = (1..=6)
            .map(|n| mail_backoff(base, cap, n).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(mail_backoff(base, cap, 0).as_millis(), 100);
        assert_eq!(mail_backoff(base, Duration::MAX, 200), base * (1 << 30));
    }
}
