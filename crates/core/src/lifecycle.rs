//! Users' lifecycle and login sessions as the ports speak of them
//! (docs/PEOPLE.md): a user's session as listed, and which sessions of a
//! user ended (what every node closes the live connections of), what
//! ending a user changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::invitations::Invitation;
use crate::model::Routed;

/// The hash a login token is kept as (the token itself is never stored).
pub type TokenHash = [u8; 32];

/// What deactivating or removing a user changed besides the user: their
/// open conversations put back through assignment, and the invitations
/// they had sent, revoked with them (their rights no longer vouch for
/// those grants).
#[derive(Debug, Clone, Default)]
pub struct UserEnded {
    pub routed: Routed,
    pub revoked_invitations: Vec<Invitation>,
}

/// One login session of a user, as the sessions API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// The session's public id (never the token nor its hash).
    pub id: Uuid,
    pub token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Which login sessions of one user ended: their live connections, on
/// every node, are closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "which", rename_all = "snake_case")]
pub enum EndedSessions {
    /// Every session of the user (deactivated, removed).
    All,
    /// Every session but this one (a password change, from this session).
    AllBut { token_hash: TokenHash },
    /// This one (a logout, a session ended by its user).
    One { token_hash: TokenHash },
}

impl EndedSessions {
    /// Whether a connection opened with `token_hash` is among them.
    pub fn includes(&self, token_hash: &TokenHash) -> bool {
        match self {
            Self::All => true,
            Self::AllBut { token_hash: kept } => kept != token_hash,
            Self::One { token_hash: ended } => ended == token_hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_connections_an_end_of_sessions_closes() {
        let (a, b) = ([1; 32], [2; 32]);
        assert!(EndedSessions::All.includes(&a));
        assert!(EndedSessions::One { token_hash: a }.includes(&a));
        assert!(!EndedSessions::One { token_hash: a }.includes(&b));
        assert!(!EndedSessions::AllBut { token_hash: a }.includes(&a));
        assert!(EndedSessions::AllBut { token_hash: a }.includes(&b));
    }
}
