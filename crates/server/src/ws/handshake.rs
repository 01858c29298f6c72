//! Deciding an upgrade request before answering 101: the Origin rule, the
//! credentials (Bearer header or session cookie), the WebSocket headers.

use axum::http::HeaderMap;
use axum::http::header::{
    CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::app::{AppError, Authenticated};
use crate::credentials;
use crate::state::AppState;

/// An upgrade request that may proceed: the `Sec-WebSocket-Accept` value to
/// answer with, and who is connecting.
#[derive(Debug)]
pub struct Accepted {
    pub accept_key: String,
    pub who: Authenticated,
}

/// The upgrade decision, the one place it is taken (for upgrades answered
/// in `accept`, and for those that reach the router): a valid version-13
/// upgrade, a server not shutting down, an allowed Origin, valid
/// credentials, a user below the cap on connections. A refusal is answered
/// with the error's HTTP status and body, and no upgrade.
pub async fn decide(state: &AppState, headers: &HeaderMap) -> Result<Accepted, AppError> {
    let accept_key = accept_key(headers)?;
    if state.hub.is_shutting_down() {
        return Err(AppError::Unavailable("the server is shutting down"));
    }
    check_origin(headers, &state.config.allowed_origins)?;
    let credential = credentials::from_headers(headers);
    let who = match state.app.authenticate(credential.as_deref()).await {
        Ok(who) => who,
        // Whatever failed in the store, the client may simply retry.
        Err(AppError::Internal) => {
            return Err(AppError::Unavailable("the store is unavailable; try again"));
        }
        Err(refusal) => return Err(refusal),
    };
    if state.hub.at_connection_cap(who.user.id) {
        let limit = state.hub.settings().max_connections_per_user;
        return Err(AppError::TooManyConnections { limit });
    }
    Ok(Accepted { accept_key, who })
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
pub fn accept_key(headers: &HeaderMap) -> Result<String, AppError> {
    let version = headers
        .get(SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok());
    if version.map(str::trim) != Some("13") {
        return Err(AppError::BadRequest(
            "sec-websocket-version must be 13".into(),
        ));
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or_else(|| AppError::BadRequest("missing sec-websocket-key".into()))?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// A request with an Origin must come from the host it was sent to or from
/// an allowed origin; one without (a non-browser client) is judged by its
/// credentials alone.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), AppError> {
    let refused = || AppError::forbidden("origin not allowed");
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| refused())?.trim();
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
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::headers;

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
        assert_eq!(
            check_origin(&h, &[]),
            Err(AppError::forbidden("origin not allowed"))
        );
        assert_eq!(
            check_origin(&h, &["https://app.example".to_owned()]),
            Err(AppError::forbidden("origin not allowed"))
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
        assert_eq!(
            check_origin(&h, &[]),
            Err(AppError::forbidden("origin not allowed"))
        );
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
