//! How an application error reaches a client, decided once for both
//! transports: its wire shape (the WebSocket `error` frame, which is also
//! the `error` object of every HTTP error body, with the same code, message
//! and extra fields) and its HTTP status.

use axum::http::StatusCode;
use switchboard_proto::ErrorCode;
use switchboard_proto::server::ErrorFrame;

use crate::app::AppError;
use crate::mapping;

/// The error as the wire carries it (without `ref`: a WebSocket reply adds
/// the ref of the frame it answers).
pub fn wire(error: &AppError) -> ErrorFrame {
    let code = match error {
        AppError::BadRequest(_) => ErrorCode::BadRequest,
        AppError::Conflict(_) => ErrorCode::Conflict,
        AppError::TooLarge { .. } => ErrorCode::TooLarge,
        AppError::Unauthorized(_) => ErrorCode::Unauthorized,
        AppError::Forbidden(_) | AppError::AtCapacity { .. } => ErrorCode::Forbidden,
        AppError::NotFound(_) => ErrorCode::NotFound,
        AppError::Locked(_) => ErrorCode::Locked,
        AppError::NotActive => ErrorCode::NotActive,
        AppError::RateLimited { .. }
        | AppError::TooManyLogins { .. }
        | AppError::TooManyConnections { .. } => ErrorCode::RateLimited,
        AppError::SeatLimit(_) => ErrorCode::SeatLimit,
        AppError::Expired(_) => ErrorCode::Expired,
        AppError::TotpRequired => ErrorCode::TotpRequired,
        AppError::TwoFactorRequired => ErrorCode::TwoFactorRequired,
        AppError::Unavailable(_) => ErrorCode::Unavailable,
        AppError::Internal => ErrorCode::Internal,
    };
    let mut frame = ErrorFrame::new(code, error.to_string());
    match error {
        AppError::TooLarge { max_bytes, .. } => frame.max_bytes = Some(*max_bytes as u64),
        AppError::Locked(holder) => frame.answered_by = Some(mapping::user_ref(holder)),
        AppError::AtCapacity { load, capacity } => {
            frame.load = Some(*load);
            frame.capacity = Some(*capacity);
        }
        AppError::RateLimited { retry_after_ms } | AppError::TooManyLogins { retry_after_ms } => {
            frame.retry_after_ms = Some(*retry_after_ms);
        }
        _ => {}
    }
    frame
}

/// The HTTP status of an error response.
pub fn status(error: &AppError) -> StatusCode {
    match error {
        AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::Unauthorized(_) | AppError::TotpRequired => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) | AppError::TwoFactorRequired => StatusCode::FORBIDDEN,
        AppError::Expired(_) => StatusCode::GONE,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Locked(_)
        | AppError::NotActive
        | AppError::AtCapacity { .. }
        | AppError::Conflict(_)
        | AppError::SeatLimit(_) => StatusCode::CONFLICT,
        AppError::RateLimited { .. }
        | AppError::TooManyLogins { .. }
        | AppError::TooManyConnections { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON body of an HTTP error response: `{"error": {...}}`.
pub fn http_body(error: &AppError) -> String {
    serde_json::json!({ "error": wire(error) }).to_string()
}

#[cfg(test)]
mod tests {
    use switchboard_core::UserId;
    use switchboard_core::model::UserRef;

    use super::*;

    #[test]
    fn every_error_keeps_its_fields_and_a_status_of_its_kind() {
        let ann = UserRef {
            id: UserId::new(),
            name: "Ann".into(),
        };
        let locked = wire(&AppError::Locked(ann.clone()));
        assert_eq!(locked.code, ErrorCode::Locked);
        assert_eq!(locked.message, "answered by Ann");
        assert_eq!(locked.answered_by.unwrap().user_id, ann.id.as_uuid());
        let full = wire(&AppError::AtCapacity {
            load: 3,
            capacity: 3,
        });
        assert_eq!(
            (full.code, full.load, full.capacity),
            (ErrorCode::Forbidden, Some(3), Some(3))
        );
        assert_eq!(
            status(&AppError::AtCapacity {
                load: 3,
                capacity: 3
            }),
            409
        );
        assert_eq!(status(&AppError::NotFound("no such team")), 404);
        let taken = AppError::Conflict("team name already in use".into());
        let conflict = wire(&taken);
        assert_eq!(
            (conflict.code, conflict.message.as_str(), status(&taken)),
            (
                ErrorCode::Conflict,
                "team name already in use",
                StatusCode::CONFLICT
            )
        );
        let malformed = AppError::BadRequest("missing field `type`".into());
        assert_eq!(
            (wire(&malformed).code, status(&malformed)),
            (ErrorCode::BadRequest, StatusCode::BAD_REQUEST)
        );
        assert_eq!(status(&AppError::Unauthorized("missing credentials")), 401);
        let body: serde_json::Value =
            serde_json::from_str(&http_body(&AppError::Internal)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "internal", "message": "internal error"}})
        );
    }
}
