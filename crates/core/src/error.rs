//! The store's errors. Each layer has its own enum; the server's
//! application layer turns this one into its own, which each transport maps
//! to wire codes once.

use thiserror::Error;

/// What a store operation can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (an email already in use, say).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The write was refused because the caller no longer holds the active
    /// role at the epoch it presented (invariant 1).
    #[error("stale holder or epoch")]
    Fenced,
    /// A manual assignment beyond the agent's capacity, not forced.
    #[error("the agent is at capacity ({load} of {capacity})")]
    AtCapacity { load: u32, capacity: u32 },
    /// The database cannot be reached or timed out. Nothing was committed,
    /// unless the connection dropped after a commit and before its answer:
    /// a write refused this way may have been stored (an idempotent retry,
    /// a `send` with the same `client_msg_id`, tells).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Internal(String),
    /// More seats than the account's plan has left: `used` of `limit` are
    /// taken (active users and pending invitations), `wanted` more asked.
    #[error("the plan's {limit} seats allow {} more, not {wanted}", .limit.saturating_sub(*.used))]
    SeatLimit { limit: u32, used: u32, wanted: u32 },
    /// The thing existed but its time is over (an invitation link).
    #[error("expired")]
    Expired,
}
