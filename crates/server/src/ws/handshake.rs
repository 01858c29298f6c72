//! Deciding an upgrade request before answering 101: the Origin rule, the
//! credentials (Bearer header or session cookie), the WebSocket headers.

use axum::http::header::{
    AUTHORIZATION, CONNECTION, COOKIE, HOST, ORIGIN, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use axum::http::{HeaderMap, StatusCode};
use switchboard_core::error::StoreError;
use switchboard_core::model::User;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::auth;
use crate::state::AppState;

/// Who opened the connection.
#[derive(Debug)]
pub struct Authorized {
    pub user: User,
    pub token_hash: [u8; 32],
}

/// Why an upgrade was refused (answered with an HTTP status, no upgrade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not a valid WebSocket upgrade request.
    BadRequest(&'static str),
    /// No credentials, or credentials that are not (or no longer) valid.
    Unauthorized,
    /// A browser Origin that is not allowed.
    Forbidden,
    /// The store could not be asked.
    Unavailable,
    /// The server is shutting down.
    ShuttingDown,
}

impl Rejection {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Unavailable | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Unavailable | Self::ShuttingDown => "unavailable",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::BadRequest(why) => why,
            Self::Unauthorized => "missing or invalid credentials",
            Self::Forbidden => "origin not allowed",
            Self::Unavailable => "the store is unavailable; try again",
            Self::ShuttingDown => "the server is shutting down",
        }
    }

    /// The JSON body of the refusal, shaped like every HTTP error.
    pub fn body(self) -> String {
        serde_json::json!({"error": {"code": self.code(), "message": self.message()}}).to_string()
    }
}

/// Whether the request asks for a WebSocket upgrade.
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let connection = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    upgrade && connection
}

/// The `Sec-WebSocket-Accept` value for a valid version-13 upgrade.
pub fn accept_key(headers: &HeaderMap) -> Result<String, Rejection> {
    let version = headers
        .get(SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok());
    if version.map(str::trim) != Some("13") {
        return Err(Rejection::BadRequest("sec-websocket-version must be 13"));
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or(Rejection::BadRequest("missing sec-websocket-key"))?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// A request with an Origin must come from the host it was sent to or from
/// an allowed origin; one without (a non-browser client) is judged by its
/// credentials alone.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), Rejection> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| Rejection::Forbidden)?.trim();
    let origin = origin.trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    match (authority, host) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host.trim()) => Ok(()),
        _ => Err(Rejection::Forbidden),
    }
}

/// Checks origin and credentials; the user behind a valid login session.
pub async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Authorized, Rejection> {
    if state.hub.is_shutting_down() {
        return Err(Rejection::ShuttingDown);
    }
    check_origin(headers, &state.config.allowed_origins)?;
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let cookies: Vec<&str> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let cookie = cookies.join("; ");
    let token = auth::credential(
        authorization,
        (!cookie.is_empty()).then_some(cookie.as_str()),
    )
    .ok_or(Rejection::Unauthorized)?;
    let token_hash = auth::secret_hash(token);
    match state.store.login_session_user(&token_hash).await {
        Ok(Some(user)) => Ok(Authorized { user, token_hash }),
        Ok(None) => Err(Rejection::Unauthorized),
        Err(StoreError::Unavailable(_)) => Err(Rejection::Unavailable),
        Err(error) => {
            tracing::warn!(%error, "could not check a login session");
            Err(Rejection::Unavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn no_origin_is_judged_by_credentials_alone() {
        assert_eq!(check_origin(&headers(&[("host", "a:1")]), &[]), Ok(()));
    }

    #[test]
    fn same_host_origin_is_allowed() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(check_origin(&h, &[]), Ok(()));
    }

    #[test]
    fn foreign_origin_needs_the_allow_list() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(check_origin(&h, &[]), Err(Rejection::Forbidden));
        assert_eq!(
            check_origin(&h, &["https://app.example".to_owned()]),
            Err(Rejection::Forbidden)
        );
        assert_eq!(
            check_origin(&h, &["https://evil.example/".to_owned()]),
            Ok(())
        );
        assert_eq!(check_origin(&h, &["*".to_owned()]), Ok(()));
    }

    #[test]
    fn a_null_origin_is_refused() {
        let h = headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]);
        assert_eq!(check_origin(&h, &[]), Err(Rejection::Forbidden));
    }

    #[test]
    fn upgrade_detection_and_accept_key() {
        let h = headers(&[
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert!(wants_upgrade(&h));
        // The example of RFC 6455 section 1.3.
        assert_eq!(accept_key(&h).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(!wants_upgrade(&headers(&[("upgrade", "websocket")])));
        assert!(accept_key(&headers(&[("sec-websocket-version", "8")])).is_err());
    }
}
