//! Deciding an upgrade request before answering 101: the request line and
//! Host (RFC 6455 section 4.1), the Origin rule, the credentials (Bearer
//! header or session cookie), the WebSocket headers.

use axum::http::header::{
    CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{HeaderMap, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::app::{AppError, Authenticated};
use crate::credentials;
use crate::origin::Origin;
use crate::state::AppState;

/// An upgrade request that may proceed: the `Sec-WebSocket-Accept` value to
/// answer with, and who is connecting.
#[derive(Debug)]
pub struct Accepted {
    pub accept_key: String,
    pub who: Authenticated,
}

/// The upgrade decision, the one place it is taken (for upgrades answered
/// in `accept`, and for those that reach the router): an HTTP/1.1 request
/// with a Host, a valid version-13 upgrade, a server not shutting down, an
/// allowed Origin, valid credentials, a user not cooling off after a flood
/// and below the cap on connections.
/// A refusal is answered with the error's HTTP status and body, and no
/// upgrade.
pub async fn decide(
    state: &AppState,
    version: Version,
    headers: &HeaderMap,
) -> Result<Accepted, AppError> {
    check_request(version, headers)?;
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
    if let Some(retry_after_ms) = state.hub.cooling_off(who.user.id) {
        return Err(AppError::RateLimited { retry_after_ms });
    }
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

/// RFC 6455 section 4.1: the handshake is an HTTP/1.1 (or later) request
/// with a Host header.
pub fn check_request(version: Version, headers: &HeaderMap) -> Result<(), AppError> {
    if version < Version::HTTP_11 {
        return Err(AppError::BadRequest(
            "a websocket handshake needs HTTP/1.1".into(),
        ));
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    if host.is_none_or(|h| h.trim().is_empty()) {
        return Err(AppError::BadRequest(
            "a websocket handshake needs a host header".into(),
        ));
    }
    Ok(())
}

/// A request with an Origin must come from the host it was sent to (scheme
/// http or https, host and port those of its Host header) or from an
/// allowed origin (scheme, host and port equal; `*` allows any); one
/// without (a non-browser client) is judged by its credentials alone.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), AppError> {
    let refused = || AppError::forbidden("origin not allowed");
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    if allowed.iter().any(|a| a.trim() == "*") {
        return Ok(());
    }
    let origin = origin
        .to_str()
        .ok()
        .and_then(Origin::parse)
        .ok_or_else(refused)?;
    let listed = allowed
        .iter()
        .any(|a| Origin::parse(a).is_some_and(|a| a == origin));
    let same = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| origin.is_host(host));
    if listed || same {
        Ok(())
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::headers;
    use crate::origin::check_allowed_origins;

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
    fn same_origin_means_http_or_https_with_the_hosts_host_and_port() {
        let refused = Err(AppError::forbidden("origin not allowed"));
        let with = |host: &'static str, origin: &'static str| {
            check_origin(&headers(&[("host", host), ("origin", origin)]), &[])
        };
        for origin in [
            "javascript://127.0.0.1:8080",
            "file://127.0.0.1:8080",
            "ws://127.0.0.1:8080",
            "chrome-extension://127.0.0.1:8080",
        ] {
            assert_eq!(with("127.0.0.1:8080", origin), refused, "{origin}");
        }
        assert_eq!(with("127.0.0.1:8080", "https://127.0.0.1:8080"), Ok(()));
        assert_eq!(with("Sb.Example:8080", "http://sb.example:8080/"), Ok(()));
        assert_eq!(with("127.0.0.1:8080", "http://127.0.0.1:8081"), refused);
        assert_eq!(with("127.0.0.1:8080", "http://127.0.0.1"), refused);
        assert_eq!(
            with("127.0.0.1:8080", "http://evil@127.0.0.1:8080"),
            refused
        );
        assert_eq!(
            with("127.0.0.1:8080", "http://127.0.0.1:8080/path"),
            refused
        );
        // A Host without a port is the origin scheme's default port.
        assert_eq!(with("sb.example", "https://sb.example"), Ok(()));
        assert_eq!(with("sb.example", "https://sb.example:443"), Ok(()));
        assert_eq!(with("sb.example", "http://sb.example:80"), Ok(()));
        assert_eq!(with("sb.example", "https://sb.example:8443"), refused);
        assert_eq!(with("[::1]:8080", "http://[::1]:8080"), Ok(()));
    }

    #[test]
    fn allow_list_entries_are_whole_origins() {
        let h = |origin: &'static str| headers(&[("host", "127.0.0.1:8080"), ("origin", origin)]);
        let allowed = ["https://app.example".to_owned()];
        assert_eq!(
            check_origin(&h("https://app.example:443"), &allowed),
            Ok(())
        );
        assert_eq!(check_origin(&h("HTTPS://APP.example"), &allowed), Ok(()));
        for other in [
            "http://app.example",
            "https://app.example:8443",
            "javascript://app.example",
            "https://app.example.evil",
        ] {
            assert!(check_origin(&h(other), &allowed).is_err(), "{other}");
        }
        assert_eq!(check_allowed_origins(&allowed), Ok(()));
        assert_eq!(check_allowed_origins(&["*".to_owned()]), Ok(()));
        assert_eq!(check_allowed_origins(&[String::new()]), Ok(()));
        for bad in [
            "app.example",
            "javascript://app.example",
            "https://a/b",
            "null",
        ] {
            let error = check_allowed_origins(&[bad.to_owned()]).unwrap_err();
            assert!(error.contains("scheme://host[:port]"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_handshake_needs_http_1_1_and_a_host() {
        let host = headers(&[("host", "127.0.0.1:8080")]);
        assert_eq!(check_request(Version::HTTP_11, &host), Ok(()));
        assert!(matches!(
            check_request(Version::HTTP_10, &host),
            Err(AppError::BadRequest(m)) if m.contains("HTTP/1.1")
        ));
        assert!(matches!(
            check_request(Version::HTTP_11, &headers(&[])),
            Err(AppError::BadRequest(m)) if m.contains("host")
        ));
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
