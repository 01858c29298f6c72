//! WebSocket tickets (docs/BROWSERS.md): made for a live login session,
//! consumed once, atomically (a `DELETE ... RETURNING`: of two nodes
//! presenting the same ticket, one gets the session), and pruned a bounded
//! batch at a time once expired. Times are the store's clock, so every
//! node judges a ticket alike. Written once for both backends over
//! [`Statements`]; the texts that differ (the clock, a hash shown as hex)
//! come in pairs picked by [`Texts::of`].

use std::time::Duration;

use switchboard_core::StoreError;
use switchboard_core::lifecycle::TokenHash;

use crate::lifecycle::from_hex;
use crate::sql;
use crate::statement::{Statements, Value};

/// The statements whose text differs by dialect.
struct Texts {
    /// Ticket `$3` of login session `$4`, expiring `$2` ms after `$1`;
    /// made only while the session is live at `$1`.
    insert: &'static str,
    /// Ticket `$2`, deleted; its session's hash (hex) when it was still
    /// valid at `$1`.
    consume: &'static str,
    /// At most `$2` tickets expired at `$1`, deleted.
    prune: &'static str,
}

const SQLITE: Texts = Texts {
    insert: "INSERT INTO ws_tickets (ticket_hash, session_hash, expires_at) \
         SELECT $3, token_hash, ($1 + $2) FROM login_sessions \
         WHERE token_hash = $4 AND expires_at > $1",
    consume: "DELETE FROM ws_tickets WHERE ticket_hash = $2 AND expires_at > $1 \
         RETURNING lower(hex(session_hash)) AS session_hash",
    prune: "DELETE FROM ws_tickets WHERE ticket_hash IN \
         (SELECT ticket_hash FROM ws_tickets WHERE expires_at <= $1 LIMIT $2)",
};

const POSTGRES: Texts = Texts {
    insert: concat!(
        "INSERT INTO ws_tickets (ticket_hash, session_hash, expires_at) SELECT $3, token_hash, ",
        sql::lease_end!(postgres),
        " FROM login_sessions WHERE token_hash = $4 AND expires_at > ",
        sql::now!(postgres),
    ),
    consume: concat!(
        "DELETE FROM ws_tickets WHERE ticket_hash = $2 AND expires_at > ",
        sql::now!(postgres),
        " RETURNING encode(session_hash, 'hex') AS session_hash",
    ),
    prune: concat!(
        "DELETE FROM ws_tickets WHERE ticket_hash IN \
         (SELECT ticket_hash FROM ws_tickets WHERE expires_at <= ",
        sql::now!(postgres),
        " LIMIT $2::bigint)",
    ),
};

impl Texts {
    /// The texts of `T`'s dialect.
    fn of<T: Statements>() -> &'static Texts {
        if T::SQL.login_session_user == sql::SQLITE.login_session_user {
            &SQLITE
        } else {
            &POSTGRES
        }
    }
}

/// Ticket `ticket_hash` for login session `session_hash`, valid for `ttl`;
/// false, and nothing made, when the session is not live.
pub(crate) async fn create_ws_ticket<T: Statements>(
    tx: &mut T,
    ticket_hash: &[u8],
    session_hash: &[u8],
    ttl: Duration,
) -> Result<bool, StoreError> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let params = [
        Value::Clock,
        ttl_ms.into(),
        ticket_hash.into(),
        session_hash.into(),
    ];
    let made = tx.execute(Texts::of::<T>().insert, &params).await?;
    Ok(made > 0)
}

/// The ticket, used up: its session's hash if it was valid. Whatever the
/// answer, the ticket cannot be used again.
pub(crate) async fn consume_ws_ticket<T: Statements>(
    tx: &mut T,
    ticket_hash: &[u8],
) -> Result<Option<TokenHash>, StoreError> {
    let params = [Value::Clock, ticket_hash.into()];
    let hex = tx
        .one(Texts::of::<T>().consume, &params, |row| {
            row.text("session_hash")
        })
        .await?;
    hex.map(|hex| {
        from_hex(&hex)
            .ok_or_else(|| StoreError::Internal("a session hash that is not 32 bytes".into()))
    })
    .transpose()
}

/// Deletes at most `limit` expired tickets; how many.
pub(crate) async fn prune_ws_tickets<T: Statements>(
    tx: &mut T,
    limit: u32,
) -> Result<u64, StoreError> {
    let params = [Value::Clock, i64::from(limit).into()];
    tx.execute(Texts::of::<T>().prune, &params).await
}
