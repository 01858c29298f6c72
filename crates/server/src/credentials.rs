//! Where a request carries its credentials, read in this one place for
//! every route and for the WebSocket upgrade: `Authorization: Bearer
//! <token>`, else the session cookie, looked for in every `Cookie` header.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};

/// The name of the HttpOnly cookie set by login.
pub const SESSION_COOKIE: &str = "switchboard_session";

/// The credential a request carries, if any. An `Authorization` header that
/// is not a Bearer token counts as none, even with a cookie beside it; one
/// that is not text is ignored.
pub fn from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Whether the request's credential is the session cookie, which a
/// browser attaches by itself (so a page of another site can make it
/// send one): a session cookie and no `Authorization` header. The CSRF
/// guard (`http::browser`) holds only such requests to its rule.
pub fn by_cookie(headers: &HeaderMap) -> bool {
    !headers.contains_key(AUTHORIZATION) && from_headers(headers).is_some()
}

/// Request headers made of `(name, value)` pairs, for tests of what a
/// request carries.
#[cfg(test)]
pub(crate) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, axum::http::HeaderValue::from_static(value));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_wins_over_the_cookie() {
        let both = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "switchboard_session=xyz"),
        ]);
        assert_eq!(from_headers(&both).as_deref(), Some("abc"));
        let spaced = headers(&[("authorization", "bearer  abc ")]);
        assert_eq!(from_headers(&spaced).as_deref(), Some("abc"));
        let basic = headers(&[
            ("authorization", "Basic abc"),
            ("cookie", "switchboard_session=xyz"),
        ]);
        assert_eq!(from_headers(&basic), None);
        assert!(!by_cookie(&both) && !by_cookie(&basic));
        assert!(by_cookie(&headers(&[(
            "cookie",
            "switchboard_session=xyz"
        )])));
        assert!(!by_cookie(&headers(&[("cookie", "switchboard_session=")])));
    }

    #[test]
    fn the_cookie_is_found_among_others_in_any_cookie_header() {
        let one = headers(&[("cookie", "theme=dark; switchboard_session=xyz; other=1")]);
        assert_eq!(from_headers(&one).as_deref(), Some("xyz"));
        let split = headers(&[
            ("cookie", "theme=dark"),
            ("cookie", "switchboard_session=xyz"),
        ]);
        assert_eq!(from_headers(&split).as_deref(), Some("xyz"));
        assert_eq!(from_headers(&headers(&[("cookie", "theme=dark")])), None);
        assert_eq!(from_headers(&HeaderMap::new()), None);
    }
}
