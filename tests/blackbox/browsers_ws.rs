//! Browsers and the WebSocket (docs/BROWSERS.md, proto/PROTOCOL.md
//! "Connecting"): tickets (`POST /v1/ws/ticket`, `GET /v1/ws?ticket=`),
//! and refusals a browser's JavaScript can read (one `error` frame, then
//! a close 44xx whose reason is the code), on both upgrade paths: the
//! accept loop's (a fresh connection) and the router's (an upgrade on a
//! kept-alive connection).

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::client::{Ended, WAIT};
use crate::support::cluster::Cluster;
use crate::support::{Fixture, TestServer, WsClient};

/// A page the operator listed in `SWITCHBOARD_ALLOWED_ORIGINS`.
const CONSOLE: &str = "http://console.test:5173";

/// `token` makes a ticket; the status and answer.
async fn make_ticket(server: &TestServer, token: &str) -> (u16, Value) {
    server
        .call(token, "POST", "/v1/ws/ticket", Value::Null)
        .await
}

/// A ticket `token` makes (which must succeed).
async fn ticket(server: &TestServer, token: &str) -> String {
    let (status, made) = make_ticket(server, token).await;
    assert_eq!(status, 200, "{made}");
    made["ticket"].as_str().expect("a ticket").to_owned()
}

/// The upgrade request with `ticket` in the query and, for a browser,
/// an `Origin`; no other credentials.
fn with_ticket(server: &TestServer, ticket: &str, origin: Option<&str>) -> Request {
    let url = format!("{}?ticket={ticket}", server.ws_url());
    let mut request = url.into_client_request().expect("a request");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("an origin"));
    }
    request
}

/// The HTTP status of a refused upgrade.
async fn refused_over_http(request: Request) -> u16 {
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("upgraded; expected an HTTP refusal"),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// What a refused browser sees after the 101: the one frame (as JSON),
/// then the close code and reason; nothing else comes.
async fn refused_in_band<S>(mut ws: WebSocketStream<S>) -> (Value, u16, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut next = async || {
        tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("a frame")
            .expect("a websocket frame")
    };
    let frame = match next().await {
        Message::Text(text) => serde_json::from_str(&text).expect("json"),
        other => panic!("expected the error frame first, got {other:?}"),
    };
    let (code, reason) = match next().await {
        Message::Close(Some(close)) => (u16::from(close.code), close.reason.to_string()),
        other => panic!("expected the close, got {other:?}"),
    };
    (frame, code, reason)
}

/// A fresh connection's upgrade (the accept loop's path) that must be
/// refused in band.
async fn refused_fresh(request: Request) -> (Value, u16, String) {
    let (ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("a browser's refusal is upgraded");
    assert_eq!(response.status(), 101);
    refused_in_band(ws).await
}

/// The error frame a refusal sends: exactly `type`, `code` and a message
/// (and `retry_after_ms` where it applies).
fn assert_error_frame(frame: &Value, code: &str) {
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], code, "{frame}");
    assert!(frame["message"].is_string(), "{frame}");
    let mut keys: Vec<&str> = frame
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "type"], "{frame}");
}

/// A ticket (made with the Bearer token) opens one WebSocket as its
/// user; used again it is refused: in band to a browser, over HTTP
/// without an Origin.
#[tokio::test]
async fn a_ticket_opens_one_websocket() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_ALLOWED_ORIGINS", CONSOLE)]).await;
    let server = &fx.server;
    let agent = &fx.agents[0];
    let response = reqwest::Client::new()
        .post(server.http("/v1/ws/ticket"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .expect("ticket");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let made: Value = response.json().await.expect("json");
    let ticket = made["ticket"].as_str().expect("a ticket").to_owned();
    assert!(ticket.starts_with("sbt_") && ticket.len() > 40, "{made}");
    assert_eq!(made["expires_in_ms"], 30_000);

    let client = WsClient::open(with_ticket(server, &ticket, Some(CONSOLE)))
        .await
        .expect("the ticket opens the websocket");
    assert_eq!(client.welcome.user.id, agent.id);

    let (frame, code, reason) = refused_fresh(with_ticket(server, &ticket, Some(CONSOLE))).await;
    assert_error_frame(&frame, "unauthorized");
    assert_eq!((code, reason.as_str()), (4401, "unauthorized"));
    assert_eq!(
        refused_over_http(with_ticket(server, &ticket, None)).await,
        401
    );
    let unknown = "sbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        refused_over_http(with_ticket(server, unknown, None)).await,
        401
    );
}

/// A connection opened with a ticket is its session's: signing out
/// closes it like one opened with the token.
#[tokio::test]
async fn signing_out_closes_what_the_ticket_opened() {
    let fx = Fixture::new(1, &[]).await;
    let server = &fx.server;
    let session = server.login("agent0@acme.test").await;
    let made = ticket(server, &session).await;
    let mut client = WsClient::open(with_ticket(server, &made, None))
        .await
        .expect("opens");
    let (status, _) = server
        .call(&session, "POST", "/v1/auth/logout", Value::Null)
        .await;
    assert_eq!(status, 204);
    assert_eq!(client.closed().await, Ended::Closed(Some(1008)));
}

/// A ticket is refused even beside a valid cookie when it is not good:
/// it authenticates alone.
#[tokio::test]
async fn a_bad_ticket_is_not_rescued_by_the_cookie() {
    let fx = Fixture::new(1, &[]).await;
    let server = &fx.server;
    let mut request = with_ticket(server, "sbt_wrong", None);
    let cookie = format!("switchboard_session={}", fx.agents[0].token);
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    assert_eq!(refused_over_http(request).await, 401);
}

/// Signing out voids the session's tickets; an expired ticket is
/// refused; API keys make none; without credentials, none.
#[tokio::test]
async fn tickets_die_with_their_session_and_their_time() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_WS_TICKET_TTL_SECS", "1")]).await;
    let server = &fx.server;
    let session = server.login("agent0@acme.test").await;
    let voided = ticket(server, &session).await;
    let (status, _) = server
        .call(&session, "POST", "/v1/auth/logout", Value::Null)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        refused_over_http(with_ticket(server, &voided, None)).await,
        401
    );

    let (status, made) = make_ticket(server, &fx.agents[0].token).await;
    assert_eq!((status, &made["expires_in_ms"]), (200, &json!(1000)));
    let late = made["ticket"].as_str().unwrap().to_owned();
    // the ticket's whole life, and then some: it has expired by any clock
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        refused_over_http(with_ticket(server, &late, None)).await,
        401
    );

    let (status, refused) = server
        .call("sbs_nobody", "POST", "/v1/ws/ticket", Value::Null)
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (401, &json!("unauthorized"))
    );
    let grants = json!([{"role": "viewer", "group_id": root_group(server, &fx.owner.token).await}]);
    let (status, key) = server
        .call(
            &fx.owner.token,
            "POST",
            "/v1/api-keys",
            json!({"name": "ci", "grants": grants}),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let key = key["key"].as_str().expect("the key");
    let (status, refused) = make_ticket(server, key).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden"))
    );
}

async fn root_group(server: &TestServer, token: &str) -> String {
    let (status, groups) = server.call(token, "GET", "/v1/groups", Value::Null).await;
    assert_eq!(status, 200, "{groups}");
    let root = groups
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["parent_id"].is_null());
    root.expect("the root")["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// A browser signed in by cookie makes its ticket from its own page with
/// the console's request; another site's form cannot.
#[tokio::test]
async fn a_cookie_makes_a_ticket_from_the_consoles_page_only() {
    let fx = Fixture::new(1, &[]).await;
    let server = &fx.server;
    let cookie = format!("switchboard_session={}", fx.agents[0].token);
    let own = server.http("").trim_end_matches('/').to_owned();
    let post = |origin: String, content_type: &'static str| {
        reqwest::Client::new()
            .post(server.http("/v1/ws/ticket"))
            .header("cookie", cookie.clone())
            .header("origin", origin)
            .header("content-type", content_type)
            .body("{}")
            .send()
    };
    let forged = post("https://evil.example".into(), "text/plain")
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    let forged: Value = forged.json().await.expect("json");
    assert_eq!(forged["error"]["code"], "csrf");
    let console = post(own, "application/json").await.expect("post");
    assert_eq!(console.status(), 200);
    let made: Value = console.json().await.expect("json");
    let ticket = made["ticket"].as_str().expect("a ticket");
    WsClient::open(with_ticket(server, ticket, None))
        .await
        .expect("opens");
}

/// Browser refusals are told in band on the accept loop's path: bad
/// cookie (4401), over the per-user cap (4429, `rate_limited`); a
/// disallowed Origin stays an HTTP 403, and requests without Origin keep
/// their HTTP refusals.
#[tokio::test]
async fn browser_refusals_are_frames_and_close_codes() {
    let env = [
        ("SWITCHBOARD_ALLOWED_ORIGINS", CONSOLE),
        ("SWITCHBOARD_MAX_CONNECTIONS_PER_USER", "1"),
    ];
    let fx = Fixture::new(1, &env).await;
    let server = &fx.server;
    let browser = |cookie: &str, origin: &str| {
        let mut request = server.ws_url().into_client_request().unwrap();
        let h = request.headers_mut();
        h.insert(
            "cookie",
            format!("switchboard_session={cookie}").parse().unwrap(),
        );
        h.insert("origin", origin.parse().unwrap());
        request
    };
    let (frame, code, reason) = refused_fresh(browser("sbs_expired", CONSOLE)).await;
    assert_error_frame(&frame, "unauthorized");
    assert_eq!((code, reason.as_str()), (4401, "unauthorized"));
    assert_eq!(
        refused_over_http(browser("sbs_expired", "https://evil.example")).await,
        403
    );

    let token = &fx.agents[0].token;
    let _first = WsClient::open(browser(token, CONSOLE))
        .await
        .expect("the first connection");
    let (frame, code, reason) = refused_fresh(browser(token, CONSOLE)).await;
    assert_error_frame(&frame, "rate_limited");
    assert_eq!((code, reason.as_str()), (4429, "rate_limited"));
    let mut bearer = server.ws_url().into_client_request().unwrap();
    bearer
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(refused_over_http(bearer).await, 429);
}

/// A socket that has had one plain request answered and is kept alive:
/// its next request reaches the router, not the accept loop.
async fn kept_alive(server: &TestServer) -> TcpStream {
    let addr = server
        .http("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let complete = |answer: &[u8]| {
        let text = String::from_utf8_lossy(answer);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let length: usize = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })?
            .parse()
            .ok()?;
        (body.len() >= length).then_some(())
    };
    while complete(&answer).is_none() {
        let mut buffer = [0; 1024];
        let read = tokio::time::timeout(WAIT, stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "the server closed the kept-alive connection");
        answer.extend_from_slice(&buffer[..read]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    stream
}

/// The router's path (an upgrade on a kept-alive connection) takes
/// tickets and refuses browsers in band alike.
#[tokio::test]
async fn the_routers_upgrade_path_takes_tickets_and_refuses_in_band() {
    let fx = Fixture::new(1, &[("SWITCHBOARD_ALLOWED_ORIGINS", CONSOLE)]).await;
    let server = &fx.server;
    let ticket = ticket(server, &fx.agents[0].token).await;
    let socket = MaybeTlsStream::Plain(kept_alive(server).await);
    let (mut ws, response) =
        tokio_tungstenite::client_async(with_ticket(server, &ticket, Some(CONSOLE)), socket)
            .await
            .expect("upgraded on the router's path");
    assert_eq!(response.status(), 101);
    let welcome = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("in time");
    let welcome: Value = match welcome.expect("a frame").expect("a frame") {
        Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected welcome, got {other:?}"),
    };
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["user"]["id"], json!(fx.agents[0].id));

    let socket = MaybeTlsStream::Plain(kept_alive(server).await);
    let (ws, response) =
        tokio_tungstenite::client_async(with_ticket(server, &ticket, Some(CONSOLE)), socket)
            .await
            .expect("a browser's refusal is upgraded");
    assert_eq!(response.status(), 101);
    let (frame, code, reason) = refused_in_band(ws).await;
    assert_error_frame(&frame, "unauthorized");
    assert_eq!((code, reason.as_str()), (4401, "unauthorized"));
}

/// A ticket made on one node opens the WebSocket on another, once.
#[tokio::test]
async fn a_ticket_made_on_one_node_works_on_another() {
    let cluster = Cluster::start(2, 1, &[]).await;
    let made_on_a = ticket(cluster.node(0), &cluster.agents[0].token).await;
    let client = WsClient::open(with_ticket(cluster.node(1), &made_on_a, None))
        .await
        .expect("node b takes node a's ticket");
    assert_eq!(client.welcome.user.id, cluster.agents[0].id);
    let again = with_ticket(cluster.node(0), &made_on_a, None);
    assert_eq!(refused_over_http(again).await, 401);
}
