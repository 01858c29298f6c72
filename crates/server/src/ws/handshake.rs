//! Deciding an upgrade request before answering 101: the request line and
//! Host (RFC 6455 section 4.1), the Origin rule, the credentials (a
//! ticket, the Bearer header or the session cookie), the WebSocket
//! headers; and how a refusal is told (over HTTP, or in band to a browser).

use axum::http::header::{
    CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{HeaderMap, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::app::{AppError, Authenticated};
use crate::credentials;
use crate::origin::Origin;
use crate::refusals;
use crate::state::AppState;

/// An upgrade request that may proceed: the `Sec-WebSocket-Accept` value to
/// answer with, and who is connecting.
#[derive(Debug)]
pub struct Accepted {
    pub accept_key: String,
    pub who: Authenticated,
}

/// A refused upgrade, and how the client is told.
#[derive(Debug)]
pub enum Refusal {
    /// Over HTTP, the error's status and body, no upgrade: a malformed
    /// handshake, a disallowed Origin, or a request without Origin (a
    /// non-browser client, which can read an HTTP answer).
    Http(AppError),
    /// A browser's request from an allowed origin, refused for its
    /// credentials or ticket (401), its user's limits (429), a 2FA setup
    /// due (403) or a server that cannot take it (503). A browser shows
    /// JavaScript nothing of an HTTP refusal but a bare close 1006, so it
    /// is upgraded and then told in one `error` frame and a close whose
    /// code is 4000 + the status (see [`close_code`]).
    InBand { accept_key: String, error: AppError },
}

/// The upgrade decision, the one place it is taken (for upgrades answered
/// in `accept`, and for those that reach the router): an HTTP/1.1 request
/// with a Host, a valid version-13 upgrade, an allowed Origin, a server
/// not shutting down, valid credentials (a ticket in the query, else the
/// Bearer header or the session cookie), a user not cooling off after a
/// flood and below the cap on connections.
pub async fn decide(
    state: &AppState,
    version: Version,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Accepted, Refusal> {
    check_request(version, headers).map_err(Refusal::Http)?;
    let accept_key = accept_key(headers).map_err(Refusal::Http)?;
    check_origin(headers, &state.config.allowed_origins).map_err(Refusal::Http)?;
    match admit(state, headers, query).await {
        Ok(who) => Ok(Accepted { accept_key, who }),
        Err(error) if headers.contains_key(ORIGIN) => Err(Refusal::InBand { accept_key, error }),
        Err(error) => Err(Refusal::Http(error)),
    }
}

/// Who connects, if the server takes them now.
async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Authenticated, AppError> {
    if state.hub.is_shutting_down() {
        return Err(AppError::Unavailable("the server is shutting down"));
    }
    let who = match authenticate(state, headers, query).await {
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
    Ok(who)
}

/// A ticket in the query authenticates alone (a wrong one is refused
/// even beside a valid cookie); without one, the request's credentials.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Authenticated, AppError> {
    match ticket_of(query) {
        Some(ticket) => state.app.authenticate_ticket(ticket).await,
        None => {
            let credential = credentials::from_headers(headers);
            state.app.authenticate(credential.as_deref()).await
        }
    }
}

/// The `ticket` parameter of a query string. Tickets are made of
/// URL-safe characters, so one is taken as written.
pub fn ticket_of(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ticket="))
}

/// The close code telling a browser why its upgrade was refused: 4000 +
/// the HTTP status the refusal would have had (4401, 4403, 4429, 4503).
pub fn close_code(error: &AppError) -> u16 {
    4000 + refusals::status(error).as_u16()
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
    fn the_ticket_is_read_from_the_query() {
        assert_eq!(ticket_of(Some("ticket=sbt_abc")), Some("sbt_abc"));
        assert_eq!(ticket_of(Some("v=1&ticket=sbt_abc&x=2")), Some("sbt_abc"));
        assert_eq!(ticket_of(Some("ticket=")), Some(""));
        assert_eq!(ticket_of(Some("xticket=sbt_abc")), None);
        assert_eq!(ticket_of(None), None);
    }

    #[test]
    fn browser_refusals_close_with_4000_plus_their_status() {
        let codes = [
            close_code(&AppError::Unauthorized("no")),
            close_code(&AppError::TwoFactorRequired),
            close_code(&AppError::RateLimited { retry_after_ms: 1 }),
            close_code(&AppError::TooManyConnections { limit: 1 }),
            close_code(&AppError::Unavailable("shutting down")),
        ];
        assert_eq!(codes, [4401, 4403, 4429, 4429, 4503]);
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
