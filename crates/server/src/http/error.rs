//! HTTP errors: every failure is an [`AppError`] answered with the status
//! and the body of `crate::refusals` (`{"error":{"code","message",...}}`,
//! the same codes and fields as WebSocket `error` frames).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppError;
use crate::refusals;
use crate::state::AppState;

/// The body of every error response (documentation; `crate::refusals` writes it).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of the wire error codes: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `locked`, `not_active`, `conflict`, `rate_limited`,
    /// `too_large`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// `too_large`: the limit that was exceeded.
    pub max_bytes: Option<u64>,
    /// `forbidden` for an assignment beyond capacity: the agent's load and capacity.
    pub load: Option<u32>,
    pub capacity: Option<u32>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = refusals::status(&self);
        let mut response = (status, refusals::http_body(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after_secs(&self) {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The whole seconds (rounded up) a refusal asks the client to wait, for
/// `Retry-After`.
fn retry_after_secs(error: &AppError) -> Option<u64> {
    match error {
        AppError::RateLimited { retry_after_ms } | AppError::TooManyLogins { retry_after_ms } => {
            Some(retry_after_ms.div_ceil(1000).max(1))
        }
        _ => None,
    }
}

/// A JSON body whose rejections (malformed JSON, missing fields, too large)
/// come back as application errors.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::BytesRejection(rejection))
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(super::body_too_large(super::body_limit(state)))
            }
            Err(rejection) => Err(AppError::BadRequest(rejection.body_text().to_lowercase())),
        }
    }
}

/// A path parameter. One that does not parse (an id that is not a UUID)
/// names nothing: 404 `not_found`, as for an id that names nothing stored.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T> FromRequestParts<AppState> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(AppError::NotFound(
                "no such resource: the id in the path is not a uuid",
            )),
            Err(rejection) => {
                tracing::error!(%rejection, "a route's path parameters do not match its handler");
                Err(AppError::Internal)
            }
        }
    }
}
