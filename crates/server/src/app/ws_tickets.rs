//! WebSocket tickets (docs/BROWSERS.md): a browser's page cannot put a
//! header on a WebSocket, and a cookie is not sent to another site's
//! server, so a signed-in page trades its session for a ticket over
//! REST and opens `GET /v1/ws?ticket=...` with it. A ticket is random,
//! stored only as its hash, bound to the login session that made it
//! (ending the session voids it), works once, and only for a short while
//! (`SWITCHBOARD_WS_TICKET_TTL_SECS`). The store judges it, so a ticket
//! made on one node opens a connection on any other.

use std::time::Duration;

use super::{App, AppError, Authenticated};
use crate::auth;

/// Tickets start with this, so that logs and users can tell them apart.
pub const WS_TICKET_PREFIX: &str = "sbt_";

/// Expired tickets deleted at most per ticket made: each new ticket pays
/// for up to this many old ones, so the table stays near its live size
/// without a sweep ever taking long.
const PRUNE_BATCH: u32 = 100;

/// A new ticket, shown once.
#[derive(Debug)]
pub struct WsTicket {
    pub ticket: String,
    pub expires_in: Duration,
}

impl App {
    /// A ticket for the login session `credential` names. Only a person's
    /// session makes one: an API key is refused (403) before anything is
    /// read, a session held to setting 2FA up gets `2fa_required`.
    pub async fn create_ws_ticket(&self, credential: Option<&str>) -> Result<WsTicket, AppError> {
        self.person_credential(credential)?;
        let session = self.authenticate(credential).await?;
        let ticket = auth::new_secret(WS_TICKET_PREFIX);
        let ttl = self.settings.ws_ticket_ttl;
        let made = self
            .store
            .create_ws_ticket(&auth::secret_hash(&ticket), &session.token_hash, ttl)
            .await?;
        if !made {
            // the session ended between the two statements
            return Err(AppError::Unauthorized("invalid or expired token"));
        }
        match self.store.prune_ws_tickets(PRUNE_BATCH).await {
            Ok(pruned) if pruned > 0 => tracing::debug!(pruned, "expired websocket tickets pruned"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "expired websocket tickets were not pruned"),
        }
        Ok(WsTicket {
            ticket,
            expires_in: ttl,
        })
    }

    /// The login session a ticket was made for, the ticket used up
    /// whatever the answer: 401 for a ticket unknown, used or expired, or
    /// whose session ended.
    pub async fn authenticate_ticket(&self, ticket: &str) -> Result<Authenticated, AppError> {
        let refused = AppError::Unauthorized("invalid, used or expired ticket");
        if !ticket.starts_with(WS_TICKET_PREFIX) {
            return Err(refused);
        }
        let session = self
            .store
            .consume_ws_ticket(&auth::secret_hash(ticket))
            .await?
            .ok_or(refused)?;
        let who = self.session_of_hash(session).await?;
        if who.must_enroll_2fa {
            return Err(AppError::TwoFactorRequired);
        }
        Ok(who)
    }
}
