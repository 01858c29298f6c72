//! What browsers need of the REST API, and what they must be kept from
//! (docs/BROWSERS.md): CORS for the origins the operator listed in
//! `SWITCHBOARD_ALLOWED_ORIGINS`, and the CSRF guard that holds every
//! cookie-authenticated, state-changing request to proof that the user's
//! own page sent it. Both are layers over every route; the decisions are
//! plain functions of the request's method and headers.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, HOST, ORIGIN, REFERER, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::credentials;
use crate::origin::Origin;
use crate::state::AppState;

/// The header a page sets to show a script, not a form, sent the request:
/// a page of another origin cannot set it without a CORS preflight.
pub const X_REQUESTED_WITH: HeaderName = HeaderName::from_static("x-requested-with");

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-Requested-With";
const EXPOSE_HEADERS: &str = "Retry-After, Content-Disposition, Location";
/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// CORS: a request from a listed origin gets its origin back, with
/// credentials allowed and the headers a console reads exposed; a
/// preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
/// here, 204, with the methods and headers allowed. Other origins get no
/// CORS header at all (the browser then keeps the answer from the page),
/// and every answer varies by `Origin`, so no cache hands one origin's
/// answer to another.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let allowed = cors_origin(request.headers(), &state.config.allowed_origins);
    let mut response = if is_preflight(request.method(), request.headers()) {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if allowed.is_some() {
            let headers = response.headers_mut();
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        }
        response
    } else {
        let mut response = next.run(request).await;
        if allowed.is_some() {
            let expose = HeaderValue::from_static(EXPOSE_HEADERS);
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        }
        response
    };
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        let yes = HeaderValue::from_static("true");
        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, yes);
    }
    response
}

/// The `Origin` to answer with, when it is one the operator listed. `*`
/// lists none: with credentials allowed it would let every site on the
/// web act and read as any signed-in user.
pub fn cors_origin(headers: &HeaderMap, allowed: &[String]) -> Option<HeaderValue> {
    let value = headers.get(ORIGIN)?;
    let origin = Origin::parse(value.to_str().ok()?)?;
    origin.is_listed(allowed).then(|| value.clone())
}

fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// The CSRF guard: see [`csrf_refusal`]. A refusal is 403 with code
/// `csrf`, before the route is looked at, so nothing is done.
pub async fn csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let refusal = csrf_refusal(
        request.method(),
        request.headers(),
        &state.config.allowed_origins,
    );
    match refusal {
        None => next.run(request).await,
        Some(reason) => {
            tracing::debug!(reason, method = %request.method(), path = %request.uri().path(), "refused by the csrf guard");
            let body = serde_json::json!({ "error": { "code": "csrf", "message": reason } });
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
    }
}

/// Why a request must be refused as a possible cross-site forgery, if it
/// must. Only a request authenticated by the session cookie (which the
/// browser attaches whoever's page asks) with a method other than GET,
/// HEAD and OPTIONS is judged; it must both
/// - carry `Content-Type: application/json` or an `X-Requested-With`
///   header, which a page cannot send to another origin without a CORS
///   preflight (an HTML form or a `text/plain` fetch can carry neither);
/// - come from a trusted page: an `Origin` (or without one, a `Referer`)
///   of the server's own host or listed in `SWITCHBOARD_ALLOWED_ORIGINS`.
///
/// Bearer-authenticated and unauthenticated requests pass: nothing a
/// browser adds by itself vouches for them.
pub fn csrf_refusal(
    method: &Method,
    headers: &HeaderMap,
    allowed: &[String],
) -> Option<&'static str> {
    let safe = [Method::GET, Method::HEAD, Method::OPTIONS];
    if safe.contains(method) || !credentials::by_cookie(headers) {
        return None;
    }
    if !is_json(headers) && !headers.contains_key(X_REQUESTED_WITH) {
        return Some("a request signed in by cookie must be json or carry x-requested-with");
    }
    let page = match headers.get(ORIGIN) {
        Some(origin) => origin.to_str().ok().and_then(Origin::parse),
        None => headers
            .get(REFERER)
            .and_then(|referer| referer.to_str().ok())
            .and_then(Origin::of_url),
    };
    let host = headers.get(HOST).and_then(|host| host.to_str().ok());
    match page {
        Some(page) if page.is_trusted(host, allowed) => None,
        _ => Some("a request signed in by cookie must come from an allowed origin"),
    }
}

/// Whether the body is declared `application/json` (parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::headers;

    const COOKIE: (&str, &str) = ("cookie", "switchboard_session=sbs_x");
    const HOST_: (&str, &str) = ("host", "api.example:8080");

    fn judged(method: Method, pairs: &[(&'static str, &'static str)]) -> Option<&'static str> {
        let allowed = ["https://app.example".to_owned()];
        csrf_refusal(&method, &headers(pairs), &allowed)
    }

    #[test]
    fn a_cookie_post_needs_json_or_the_header_and_a_trusted_page() {
        let own = ("origin", "http://api.example:8080");
        let json = ("content-type", "Application/JSON; charset=utf-8");
        let xrw = ("x-requested-with", "switchboard-console");
        assert_eq!(judged(Method::POST, &[COOKIE, HOST_, own, json]), None);
        assert_eq!(judged(Method::DELETE, &[COOKIE, HOST_, own, xrw]), None);
        let listed = ("origin", "https://app.example");
        assert_eq!(judged(Method::PATCH, &[COOKIE, HOST_, listed, json]), None);
        let text = ("content-type", "text/plain");
        assert!(judged(Method::POST, &[COOKIE, HOST_, own, text]).is_some());
        let form = ("content-type", "application/x-www-form-urlencoded");
        assert!(judged(Method::PUT, &[COOKIE, HOST_, own, form]).is_some());
        assert!(judged(Method::POST, &[COOKIE, HOST_, own]).is_some());
        let evil = ("origin", "https://evil.example");
        assert!(judged(Method::POST, &[COOKIE, HOST_, evil, json]).is_some());
        assert!(judged(Method::POST, &[COOKIE, HOST_, ("origin", "null"), xrw]).is_some());
        assert!(
            judged(Method::POST, &[COOKIE, HOST_, json]).is_some(),
            "neither origin nor referer"
        );
    }

    #[test]
    fn without_origin_the_referer_speaks() {
        let json = ("content-type", "application/json");
        let own = ("referer", "http://api.example:8080/conversations/1");
        assert_eq!(judged(Method::POST, &[COOKIE, HOST_, json, own]), None);
        let evil = ("referer", "https://evil.example/page");
        assert!(judged(Method::POST, &[COOKIE, HOST_, json, evil]).is_some());
        let both = [COOKIE, HOST_, json, ("origin", "https://evil.example"), own];
        assert!(judged(Method::POST, &both).is_some(), "origin wins");
    }

    #[test]
    fn safe_methods_bearer_and_anonymous_requests_pass() {
        let evil = ("origin", "https://evil.example");
        let text = ("content-type", "text/plain");
        for safe in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(judged(safe, &[COOKIE, HOST_, evil, text]), None);
        }
        let bearer = ("authorization", "Bearer sbs_x");
        assert_eq!(
            judged(Method::POST, &[bearer, COOKIE, HOST_, evil, text]),
            None
        );
        assert_eq!(judged(Method::POST, &[HOST_, evil, text]), None);
    }

    #[test]
    fn cors_answers_listed_origins_only_and_never_for_the_star() {
        let listed = ["https://app.example".to_owned(), "*".to_owned()];
        let from = |origin: &'static str| cors_origin(&headers(&[("origin", origin)]), &listed);
        assert_eq!(
            from("https://app.example"),
            Some(HeaderValue::from_static("https://app.example"))
        );
        assert_eq!(from("https://evil.example"), None);
        assert_eq!(from("null"), None);
        assert_eq!(cors_origin(&headers(&[]), &listed), None);
    }
}
