//! The one error of the application layer. It reaches clients through one
//! mapping (`crate::refusals`: the wire's error object and the HTTP status);
//! the command line prints its message. Internals never reach a client: store details are logged
//! here, where the store's errors become this one.

use switchboard_core::error::StoreError;
use switchboard_core::input::InputError;
use switchboard_core::model::UserRef;

use crate::hub::RoomError;

/// The refusal of `take`, `send` and `typing` to a user who may see the
/// conversation but not answer it.
pub(super) const MAY_NOT_ANSWER: &str =
    "you may observe this conversation but not answer it (conversations.answer)";

/// Why a use case was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The input is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// A message body over the size limit.
    #[error("{message}")]
    TooLarge { message: String, max_bytes: usize },
    /// No credentials, or ones that are not (or no longer) valid.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The caller may see the resource but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource, or one the caller may not see: existence is never
    /// revealed across accounts.
    #[error("{0}")]
    NotFound(&'static str),
    /// Someone else answers the conversation.
    #[error("answered by {}", .0.name)]
    Locked(UserRef),
    /// Only the active responder may do this.
    #[error("only the active responder may do this; take the conversation first")]
    NotActive,
    /// A manual assignment beyond the agent's capacity, not forced.
    #[error("the agent is at capacity ({load} of {capacity}); an administrator may force it")]
    AtCapacity { load: u32, capacity: u32 },
    /// The change conflicts with what is stored (an email in use, say).
    #[error("{0}")]
    Conflict(String),
    /// Every seat of the account's plan is taken.
    #[error("{0}")]
    SeatLimit(String),
    /// A link or token that existed has expired.
    #[error("{0}")]
    Expired(&'static str),
    /// The user has 2FA on and the login carried no code.
    #[error("a two-factor code is required")]
    TotpRequired,
    /// The account requires 2FA and this session has not set it up.
    #[error("this account requires two-factor authentication: set it up first")]
    TwoFactorRequired,
    /// Too many requests; the client may try again after `retry_after_ms`.
    #[error("too many frames; slow down")]
    RateLimited { retry_after_ms: u64 },
    /// Too many failed logins for the email or the source address; the
    /// password was not checked.
    #[error("too many failed sign-ins; try again later")]
    TooManyLogins { retry_after_ms: u64 },
    /// The user already has as many connections open as allowed.
    #[error("too many connections for this user (at most {limit}); close one first")]
    TooManyConnections { limit: usize },
    /// A dependency is away; nothing was done, the client may retry.
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal,
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }
}

impl From<InputError> for AppError {
    fn from(error: InputError) -> Self {
        match error {
            InputError::TooLarge { max, .. } => Self::TooLarge {
                message: error.to_string(),
                max_bytes: max,
            },
            _ => Self::BadRequest(error.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("not found"),
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::Fenced => Self::NotActive,
            StoreError::AtCapacity { load, capacity } => Self::AtCapacity { load, capacity },
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                Self::Unavailable("the store is unavailable; nothing was done, try again")
            }
            StoreError::Internal(detail) => {
                tracing::error!(%detail, "store failure");
                Self::Internal
            }
            StoreError::SeatLimit { .. } => Self::SeatLimit(error.to_string()),
            StoreError::Expired => Self::Expired("this link has expired"),
        }
    }
}

impl From<RoomError> for AppError {
    fn from(error: RoomError) -> Self {
        match error {
            RoomError::NotFound => Self::NotFound("conversation not found"),
            RoomError::Locked(holder) => Self::Locked(holder),
            RoomError::NotActive => Self::NotActive,
            RoomError::MayNotWrite => Self::forbidden(MAY_NOT_ANSWER),
            RoomError::NotGranted => Self::Unavailable("the role could not be granted; try again"),
            RoomError::TooManyJoined { .. } => Self::Conflict(error.to_string()),
            RoomError::Store(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_bodies_are_too_large_and_other_input_is_a_bad_request() {
        let too_large = InputError::TooLarge {
            field: "body",
            max: 10,
        };
        assert_eq!(
            AppError::from(too_large),
            AppError::TooLarge {
                message: "body is larger than 10 bytes".into(),
                max_bytes: 10
            }
        );
        assert_eq!(
            AppError::from(InputError::Empty { field: "body" }),
            AppError::BadRequest("body must not be empty".into())
        );
    }

    #[test]
    fn store_details_never_reach_the_message() {
        let error = AppError::from(StoreError::Internal("select * from secrets".into()));
        assert_eq!(error.to_string(), "internal error");
        let error = AppError::from(StoreError::Unavailable("postgres://u:p@h".into()));
        assert!(!error.to_string().contains("postgres"), "{error}");
        assert_eq!(AppError::from(StoreError::Fenced), AppError::NotActive);
    }
}
