//! Ended login sessions reaching live connections (docs/PEOPLE.md,
//! "Sessions"): a logout, a session ended by its user, a password change,
//! a deactivation or a removal closes the connections opened with the
//! sessions it ended, on every node, with an `error` frame `unauthorized`
//! and then close 1008.
//!
//! The node where the change was made closes its own connections and
//! publishes `ClusterEvent::SessionsEnded` on the access topic, which every
//! node follows. News can be lost (a bus outage) and some endings are
//! nobody's news (a session expiring, a command run against the database),
//! so each node also checks its connections' sessions against the store:
//! after a bus outage, when an account's access stamp moved, and every
//! [`SESSIONS_EVERY`]; the check also teaches each connection when its
//! session expires, and the reaper closes it then.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use switchboard_core::AccountId;
use switchboard_core::UserId;
use switchboard_core::lifecycle::{EndedSessions, TokenHash};
use switchboard_core::ports::ClusterEvent;
use switchboard_core::presence::Millis;
use switchboard_proto::server::{ErrorCode, ErrorFrame, ServerFrame};

use super::Hub;
use super::conn::{Conn, close};
use super::frames::encode;

/// How often every connection's session is checked against the store.
pub(super) const SESSIONS_EVERY: Duration = Duration::from_secs(10);
/// Token hashes asked about in one store read.
const BATCH: usize = 500;

impl Hub {
    /// Sessions of `user` ended through this node: their connections here
    /// are closed, and the other nodes told. Returns how many closed here.
    pub async fn sessions_ended(&self, user: UserId, ended: EndedSessions) -> usize {
        let closed = self.close_ended(user, ended);
        self.publish(|| ClusterEvent::SessionsEnded {
            user_id: user,
            ended,
        })
        .await;
        closed
    }

    /// Closes `user`'s connections here opened with a session among `ended`.
    pub(super) fn close_ended(&self, user: UserId, ended: EndedSessions) -> usize {
        let mut closed = 0;
        self.connections.of_user(user, |conn| {
            if ended.includes(&conn.token_hash) {
                self.session_over(conn);
                closed += 1;
            }
        });
        if closed > 0 {
            tracing::info!(%user, closed, "closed the connections of ended sessions");
        }
        closed
    }

    /// Tells a connection its session is over (`unauthorized`), then
    /// closes it (1008).
    fn session_over(&self, conn: &Conn) {
        if conn.is_closing() {
            return;
        }
        let frame = ErrorFrame::new(
            ErrorCode::Unauthorized,
            "your session has ended: sign in again",
        );
        self.metrics.error(frame.code);
        self.delivery
            .reply(conn, &encode(&ServerFrame::Error(frame)));
        conn.close(close::POLICY, "session ended");
    }

    /// Checks the sessions of this node's connections (of one account,
    /// or all) against the store, one read per batch: a connection whose
    /// session is gone is closed; the others learn when theirs expires.
    pub(super) async fn check_sessions(&self, account: Option<AccountId>) {
        let mut conns: Vec<Arc<Conn>> = Vec::new();
        self.connections.each(|conn| {
            if account.is_none_or(|a| conn.actor().account_id == a) {
                conns.push(conn.clone());
            }
        });
        let mut hashes: Vec<TokenHash> = conns.iter().map(|c| c.token_hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let mut live: HashMap<TokenHash, chrono::DateTime<Utc>> = HashMap::new();
        for batch in hashes.chunks(BATCH) {
            match self.store.live_sessions(batch).await {
                Ok(found) => live.extend(found),
                Err(error) => {
                    tracing::warn!(%error, "could not check login sessions");
                    return;
                }
            }
        }
        let now = self.now();
        let wall = Utc::now();
        for conn in &conns {
            match live.get(&conn.token_hash) {
                Some(expires_at) => {
                    let left = (*expires_at - wall).num_milliseconds().max(0);
                    let deadline = now.saturating_add(u64::try_from(left).unwrap_or(0));
                    conn.session_deadline.store(deadline, Ordering::Relaxed);
                }
                None => self.session_over(conn),
            }
        }
    }

    /// Closes a connection whose session expired (as last checked).
    pub(super) fn reap_expired(&self, conn: &Conn, now: Millis) {
        if now >= conn.session_deadline.load(Ordering::Relaxed) {
            self.session_over(conn);
        }
    }
}
