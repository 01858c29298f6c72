//! Browsers and the REST API (docs/BROWSERS.md): CORS for the listed
//! origins only, and the CSRF guard on every state-changing route. The
//! routes are read from the OpenAPI description, so a route added later
//! is swept too.

use reqwest::header::HeaderMap;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Fixture, TestServer};

/// A page the operator listed in `SWITCHBOARD_ALLOWED_ORIGINS`.
const CONSOLE: &str = "http://console.test:5173";
/// A page of another site.
const EVIL: &str = "https://evil.example";

fn listed() -> [(&'static str, &'static str); 1] {
    [("SWITCHBOARD_ALLOWED_ORIGINS", CONSOLE)]
}

/// The server's own origin, as its page would send it.
fn own(server: &TestServer) -> String {
    server.http("").trim_end_matches('/').to_owned()
}

/// What a browser page sends: the session cookie, a content type, an
/// `Origin`, and `body` as is.
async fn from_page(
    server: &TestServer,
    method: &Method,
    path: &str,
    session: &str,
    content_type: &str,
    origin: &str,
) -> Response {
    reqwest::Client::new()
        .request(method.clone(), server.http(path))
        .header("cookie", format!("switchboard_session={session}"))
        .header("content-type", content_type)
        .header("origin", origin)
        .body("{}")
        .send()
        .await
        .expect("request")
}

/// The status and error code of an answer (code empty when none).
async fn outcome(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
    (status, code)
}

fn csrf() -> (u16, String) {
    (403, "csrf".to_owned())
}

/// Every state-changing method and path of the OpenAPI description, with
/// `{id}` (and any other parameter) a fresh UUID; sign-out last, since a
/// request that passes the guard ends the session.
async fn unsafe_routes(server: &TestServer) -> Vec<(Method, String, String)> {
    let doc: Value = reqwest::get(server.http("/v1/openapi.json"))
        .await
        .expect("openapi")
        .json()
        .await
        .expect("openapi json");
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "head", "options"].contains(&method.as_str()) {
                continue;
            }
            let concrete = fill(path);
            let method: Method = method.to_uppercase().parse().expect("a method");
            routes.push((method, path.clone(), concrete));
        }
    }
    routes.sort_by_key(|(_, path, _)| path == "/v1/auth/logout");
    routes
}

/// `path` with each `{parameter}` a fresh UUID.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.starts_with('{') {
                Uuid::now_v7().to_string()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The account's audit log as the owner reads it: what a refused request
/// must not have added to.
async fn audit(fx: &Fixture) -> Value {
    let (status, log) = fx
        .server
        .call(&fx.owner.token, "GET", "/v1/audit", Value::Null)
        .await;
    assert_eq!(status, 200, "{log}");
    log
}

/// The sweep: on every state-changing route, a cookie-signed request in
/// `text/plain` from another site is refused 403 `csrf` and changes
/// nothing (the audit log and the session stay as they were), and so are
/// JSON from another site and `text/plain` from the server's own page;
/// JSON from the server's own page gets past the guard.
#[tokio::test]
async fn every_state_changing_route_refuses_a_cross_site_form() {
    let fx = Fixture::new(0, &listed()).await;
    let server = &fx.server;
    let session = server.login("owner@acme.test").await;
    let routes = unsafe_routes(server).await;
    let named: Vec<&str> = routes.iter().map(|(_, path, _)| path.as_str()).collect();
    for must in [
        "/v1/auth/logout",
        "/v1/conversations/{id}/resolve",
        "/v1/conversations/{id}/reopen",
        "/v1/ws/ticket",
    ] {
        assert!(named.contains(&must), "{must} is swept: {named:?}");
    }
    let before = audit(&fx).await;
    let mut wrong = Vec::new();
    let forged = [("text/plain", EVIL), ("application/json", EVIL)];
    let own_page = own(server);
    for (method, path, concrete) in &routes {
        for (content_type, origin) in forged.iter().chain([&("text/plain", own_page.as_str())]) {
            let refused = from_page(server, method, concrete, &session, content_type, origin);
            let got = outcome(refused.await).await;
            if got != csrf() {
                wrong.push(format!(
                    "{method} {path} {content_type} from {origin}: {got:?}"
                ));
            }
        }
    }
    assert_eq!(
        audit(&fx).await,
        before,
        "a refused request changed nothing"
    );
    let (status, _) = fx.server.call(&session, "GET", "/v1/me", Value::Null).await;
    assert_eq!(status, 200, "the session outlived the refused sign-out");
    for (method, path, concrete) in &routes {
        let json = "application/json";
        let passed = from_page(server, method, concrete, &session, json, &own(server)).await;
        let got = outcome(passed).await;
        if got == csrf() {
            wrong.push(format!("{method} {path} own page, json: {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Resolve and reopen: a cross-site form changes nothing; the console's
/// request (JSON from its own page, or any body with `X-Requested-With`,
/// or from a listed origin) does.
#[tokio::test]
async fn resolve_and_reopen_need_the_consoles_request() {
    let fx = Fixture::new(0, &listed()).await;
    let server = &fx.server;
    let session = server.login("owner@acme.test").await;
    let conversation = fx.conversation("+15550100").await;
    let status_of = || async {
        let path = format!("/v1/conversations/{conversation}");
        let (code, card) = server
            .call(&fx.owner.token, "GET", &path, Value::Null)
            .await;
        assert_eq!(code, 200, "{card}");
        card["status"].as_str().expect("a status").to_owned()
    };
    let resolve = format!("/v1/conversations/{conversation}/resolve");
    let reopen = format!("/v1/conversations/{conversation}/reopen");

    for (content_type, origin) in [("text/plain", EVIL), ("application/json", EVIL)] {
        let refused = from_page(
            server,
            &Method::POST,
            &resolve,
            &session,
            content_type,
            origin,
        );
        assert_eq!(
            outcome(refused.await).await,
            csrf(),
            "{content_type} from {origin}"
        );
    }
    let own = own(server);
    let plain_own = from_page(
        server,
        &Method::POST,
        &resolve,
        &session,
        "text/plain",
        &own,
    );
    assert_eq!(
        outcome(plain_own.await).await,
        csrf(),
        "text/plain from its own page"
    );
    assert_eq!(status_of().await, "open");
    let done = from_page(
        server,
        &Method::POST,
        &resolve,
        &session,
        "application/json",
        CONSOLE,
    );
    assert_eq!(done.await.status(), 200, "json from the listed console");
    assert_eq!(status_of().await, "resolved");

    let refused = from_page(server, &Method::POST, &reopen, &session, "text/plain", EVIL);
    assert_eq!(outcome(refused.await).await, csrf());
    assert_eq!(status_of().await, "resolved");
    let console = reqwest::Client::new()
        .post(server.http(&reopen))
        .header("cookie", format!("switchboard_session={session}"))
        .header("x-requested-with", "switchboard-console")
        .header("referer", format!("{own}/conversations/{conversation}"))
        .send()
        .await
        .expect("reopen");
    assert_eq!(
        console.status(),
        200,
        "x-requested-with, own page by its referer"
    );
    assert_eq!(status_of().await, "open");
}

/// Sign-out: refused from another site (the session lives on), done from
/// the console's page.
#[tokio::test]
async fn signing_out_needs_the_consoles_request() {
    let fx = Fixture::new(0, &[]).await;
    let server = &fx.server;
    let session = server.login("owner@acme.test").await;
    let me = || async { server.call(&session, "GET", "/v1/me", Value::Null).await.0 };
    let refused = from_page(
        server,
        &Method::POST,
        "/v1/auth/logout",
        &session,
        "text/plain",
        EVIL,
    );
    assert_eq!(outcome(refused.await).await, csrf());
    assert_eq!(me().await, 200);
    let own = own(server);
    let done = from_page(
        server,
        &Method::POST,
        "/v1/auth/logout",
        &session,
        "application/json",
        &own,
    );
    assert_eq!(done.await.status(), 204);
    assert_eq!(me().await, 401);
}

/// A Bearer token, which no page gets sent by itself, is not held to the
/// rule; neither is a request without credentials.
#[tokio::test]
async fn bearer_and_anonymous_requests_are_not_held_to_the_rule() {
    let fx = Fixture::new(0, &[]).await;
    let server = &fx.server;
    let conversation = fx.conversation("+15550100").await;
    let resolved = reqwest::Client::new()
        .post(server.http(&format!("/v1/conversations/{conversation}/resolve")))
        .bearer_auth(&fx.owner.token)
        .header("content-type", "text/plain")
        .header("origin", EVIL)
        .send()
        .await
        .expect("resolve");
    assert_eq!(resolved.status(), 200);
    let anonymous = reqwest::Client::new()
        .post(server.http("/v1/auth/login"))
        .header("origin", EVIL)
        .json(&json!({"email": "owner@acme.test", "password": "wrong password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(outcome(anonymous).await, (401, "unauthorized".to_owned()));
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("text"))
}

/// A listed origin gets CORS with credentials: the preflight is answered
/// 204 with what may be sent, the answer names the origin and exposes
/// the headers a console reads; any other origin gets no CORS header.
#[tokio::test]
async fn cors_answers_the_listed_origins_only() {
    let fx = Fixture::new(0, &listed()).await;
    let server = &fx.server;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(Method::OPTIONS, server.http("/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, x-requested-with",
            )
            .send()
    };
    let answer = preflight(CONSOLE).await.expect("preflight");
    assert_eq!(answer.status(), 204);
    let h = answer.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(CONSOLE));
    assert_eq!(header(h, "access-control-allow-credentials"), Some("true"));
    assert_eq!(
        header(h, "access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE")
    );
    assert_eq!(
        header(h, "access-control-allow-headers"),
        Some("Authorization, Content-Type, X-Requested-With")
    );
    assert!(header(h, "access-control-max-age").is_some());
    assert_eq!(header(h, "vary"), Some("Origin"));
    let foreign = preflight(EVIL).await.expect("preflight");
    assert_eq!(
        header(foreign.headers(), "access-control-allow-origin"),
        None
    );
    assert_eq!(
        header(foreign.headers(), "access-control-allow-methods"),
        None
    );

    let login = |origin: &'static str| {
        http.post(server.http("/v1/auth/login"))
            .header("origin", origin)
            .json(
                &json!({"email": "owner@acme.test", "password": crate::support::server::PASSWORD}),
            )
            .send()
    };
    let signed_in = login(CONSOLE).await.expect("login");
    assert_eq!(signed_in.status(), 200);
    let h = signed_in.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(CONSOLE));
    assert_eq!(header(h, "access-control-allow-credentials"), Some("true"));
    assert_eq!(
        header(h, "access-control-expose-headers"),
        Some("Retry-After, Content-Disposition, Location")
    );
    assert!(header(h, "vary").is_some_and(|v| v.contains("Origin")));
    let elsewhere = login(EVIL).await.expect("login");
    assert_eq!(elsewhere.status(), 200, "CORS is the browser's to enforce");
    assert_eq!(
        header(elsewhere.headers(), "access-control-allow-origin"),
        None
    );
    assert_eq!(
        header(elsewhere.headers(), "access-control-allow-credentials"),
        None
    );
}

/// `*` lets any origin open a WebSocket but reflects no origin in CORS:
/// with credentials that would hand every site the user's API.
#[tokio::test]
async fn the_star_grants_no_cors() {
    let server = TestServer::start(&[("SWITCHBOARD_ALLOWED_ORIGINS", "*")]).await;
    let answer = reqwest::Client::new()
        .request(Method::OPTIONS, server.http("/v1/auth/login"))
        .header("origin", EVIL)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        None
    );
    assert_eq!(
        header(answer.headers(), "access-control-allow-credentials"),
        None
    );
}
