//! The edges of the HTTP listener, met by raw TCP clients: slow and
//! oversized bodies, too many connections from one address, running out of
//! file descriptors, routing errors, malformed WebSocket handshakes, the
//! Origin rule, the metrics listener, listen addresses by name.

use std::time::Duration;

use serde_json::Value;
use switchboard_testkit::{LogOptions, ServerProcess, serve_launch, wait_ready};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

use crate::support::server::{PASSWORD, binary};
use crate::support::{Fixture, TestServer};

/// The longest any expected answer may take; only a bound for failure.
const WAIT: Duration = Duration::from_secs(30);

/// An HTTP response as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// Reads one response: its head, and the body its `Content-Length` gives.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let read = async {
        let mut bytes = Vec::new();
        let end = loop {
            if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            read_more(stream, &mut bytes).await;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        while bytes.len() < end + length {
            read_more(stream, &mut bytes).await;
        }
        let status = head[9..12].parse().expect("a status");
        let body = serde_json::from_slice(&bytes[end..end + length]).unwrap_or(Value::Null);
        Answer { status, head, body }
    };
    timeout(WAIT, read).await.expect("an answer in time")
}

/// Appends what the socket has; the response must not be cut short.
async fn read_more(stream: &mut TcpStream, bytes: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await.expect("read");
    assert!(n > 0, "closed before the whole response: {bytes:?}");
    bytes.extend_from_slice(&chunk[..n]);
}

/// Waits for the server to close the connection.
async fn closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    let read = timeout(WAIT, stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection is closed in time");
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(&server.addr).await.expect("connect")
}

/// Sends `request` on a new connection and reads the answer.
async fn exchange(server: &TestServer, request: &str) -> Answer {
    let mut stream = connect(server).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    read_answer(&mut stream).await
}

fn login_head(server: &TestServer, length: usize) -> String {
    format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        server.addr
    )
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_cut_and_its_connection_closed() {
    let server = TestServer::start(&[("SWITCHBOARD_BODY_IDLE_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server).await;
    let head = login_head(&server, 81_000);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"email\":").await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.body["error"]["code"], "bad_request");
    closed(&mut stream).await;
}

#[tokio::test]
async fn a_trickled_body_is_cut_by_the_request_deadline() {
    let server = TestServer::start(&[("SWITCHBOARD_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(login_head(&server, 81_000).as_bytes())
        .await
        .unwrap();
    // A byte every 100 ms: never silent for the idle timeout (10 s), until
    // the server answers.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        while writer.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let read = timeout(WAIT, reader.read_to_end(&mut answer)).await;
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "closed in time");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    // Body timeouts far beyond the test's wait: only a refusal that does
    // not wait for the body can arrive.
    let server = TestServer::start(&[
        ("SWITCHBOARD_BODY_IDLE_TIMEOUT_SECS", "600"),
        ("SWITCHBOARD_REQUEST_TIMEOUT_SECS", "600"),
        ("SWITCHBOARD_MAX_MESSAGE_BYTES", "1024"),
    ])
    .await;
    let mut stream = connect(&server).await;
    let head = login_head(&server, 10_000_000);
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(answer.body["error"]["code"], "too_large");
    assert_eq!(answer.body["error"]["max_bytes"], 1024 + 16 * 1024);
    closed(&mut stream).await;
}

/// A connection from `ip` (any address of 127.0.0.0/8 is this machine).
async fn connect_from(ip: &str, server: &TestServer) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(server.addr.parse().unwrap()).await.unwrap()
}

fn healthz(server: &TestServer) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr)
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_connections() {
    let server = TestServer::start(&[
        ("SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "3"),
        ("SWITCHBOARD_HEAD_TIMEOUT_SECS", "600"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&server).await);
    }
    // The fourth from 127.0.0.1 is told why, and closed.
    let mut fourth = connect(&server).await;
    let answer = read_answer(&mut fourth).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.body["error"]["code"], "unavailable");
    assert_eq!(
        answer.body["error"]["message"],
        "too many connections from this address"
    );
    closed(&mut fourth).await;

    // Another address is not affected.
    let mut other = connect_from("127.0.0.2", &server).await;
    other.write_all(healthz(&server).as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut other).await.status, 200);

    // A connection that closes gives its place back.
    drop(held.pop());
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = exchange(&server, &healthz(&server)).await;
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 503);
        assert!(
            Instant::now() < deadline,
            "the closed connection's place came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How often a log line with this message was written.
fn count(log: &[String], message: &str) -> usize {
    log.iter().filter(|l| l.contains(message)).count()
}

#[tokio::test]
async fn out_of_files_the_listener_backs_off_logs_once_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("switchboard.db").display());
    let mut launch = serve_launch(
        binary().as_ref(),
        &database,
        [
            ("SWITCHBOARD_HEAD_TIMEOUT_SECS", "1"),
            ("SWITCHBOARD_MAX_CONNECTIONS_PER_IP", "10000"),
        ],
    );
    // A process that may open 64 files, whatever the server would raise
    // its soft limit to.
    launch.args = vec![
        "-c".into(),
        "ulimit -n 64 && exec \"$0\" serve".into(),
        binary().into(),
    ];
    launch.program = "/bin/sh".into();
    let server = ServerProcess::start(&launch, &LogOptions::default())
        .await
        .expect("server starts");
    let addr = server.addr();

    // Silent clients until accepting fails.
    let mut silent = Vec::new();
    while count(&server.log_lines(), "accept failed") == 0 {
        assert!(silent.len() < 1000, "accept never failed");
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    // The head timeout cuts them; the server accepts again and answers.
    wait_ready(&reqwest::Client::new(), &server.http_base(), WAIT)
        .await
        .expect("the server answers again");
    let log = server.log_lines();
    let failed = count(&log, "accept failed");
    let resumed: Vec<u64> = log
        .iter()
        .filter(|l| l.contains("accepting connections again"))
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap();
            line["fields"]["failures"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(
        failed,
        resumed.len(),
        "one line when an episode begins, one when it ends"
    );
    assert!(
        resumed.iter().sum::<u64>() > failed as u64,
        "failures in an episode are counted, not each logged: {resumed:?}"
    );
    drop(silent);
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let server = TestServer::start(&[]).await;
    let main = reqwest::get(server.http("/metrics")).await.unwrap();
    assert_eq!(main.status(), 404);
    let body: Value = main.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    let metrics = format!("http://{}", server.metrics_addr());
    let text = reqwest::get(format!("{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("switchboard_connections"), "{text}");
    let api = reqwest::get(format!("{metrics}/healthz")).await.unwrap();
    assert_eq!(
        api.status(),
        404,
        "the metrics listener serves nothing else"
    );

    // Without the setting, metrics are served nowhere.
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("switchboard.db").display());
    let no_settings: [(&str, &str); 0] = [];
    let launch = serve_launch(binary().as_ref(), &database, no_settings);
    let quiet = ServerProcess::start(&launch, &LogOptions::default())
        .await
        .expect("server starts");
    assert_eq!(count(&quiet.log_lines(), "serving metrics"), 0);
}

#[tokio::test]
async fn routing_errors_have_the_json_error_shape() {
    let fx = Fixture::new(0, &[]).await;
    let response = reqwest::Client::new()
        .delete(fx.server.http("/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");

    let (status, body) = fx
        .server
        .call(
            &fx.owner.token,
            "POST",
            "/v1/conversations/not-a-uuid/resolve",
            Value::Null,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

fn upgrade(token: &str, version: &str, extra: &str) -> String {
    format!(
        "GET /v1/ws {version}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn a_websocket_handshake_needs_http_1_1_a_host_and_a_web_origin() {
    let fx = Fixture::new(1, &[]).await;
    let (server, token) = (&fx.server, &fx.agents[0].token);
    let host = format!("Host: {}\r\n", server.addr);

    let old = exchange(server, &upgrade(token, "HTTP/1.0", &host)).await;
    assert_eq!(
        (old.status, &old.body["error"]["code"]),
        (400, &"bad_request".into()),
        "{old:?}"
    );
    let hostless = exchange(server, &upgrade(token, "HTTP/1.1", "")).await;
    assert_eq!(hostless.status, 400, "{hostless:?}");

    let origin = |scheme: &str| format!("{host}Origin: {scheme}://{}\r\n", server.addr);
    let foreign = exchange(server, &upgrade(token, "HTTP/1.1", &origin("javascript"))).await;
    assert_eq!(foreign.status, 403, "{foreign:?}");
    assert_eq!(foreign.body["error"]["code"], "forbidden");
    let same = exchange(server, &upgrade(token, "HTTP/1.1", &origin("http"))).await;
    assert_eq!(same.status, 101, "{}", same.head);
}

#[tokio::test]
async fn a_listen_address_may_be_a_host_name() {
    let server = TestServer::start(&[("SWITCHBOARD_LISTEN", "localhost:0")]).await;
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    assert_eq!(exchange(&server, &healthz(&server)).await.status, 200);

    let refused = std::process::Command::new(binary())
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("HOST:PORT"), "{error}");
}

#[tokio::test]
async fn refused_sign_ins_are_logged_without_the_password() {
    let fx = Fixture::new(0, &[]).await;
    let response = reqwest::Client::new()
        .post(fx.server.http("/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@acme.test", "password": "guess-1234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let deadline = Instant::now() + WAIT;
    let line = loop {
        let log = fx.server.log();
        if let Some(line) = log.iter().find(|l| l.contains("sign-in refused")) {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "a refused sign-in is logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let line: Value = serde_json::from_str(&line).unwrap();
    let fields = &line["fields"];
    assert!(
        fields["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{line}"
    );
    assert!(
        fields["email"]
            .as_str()
            .unwrap()
            .contains("owner@acme.test"),
        "{line}"
    );
    assert_eq!(line["level"], "WARN");
    let log = fx.server.log().join("\n");
    assert!(!log.contains("guess-1234"), "the password is never logged");
    assert!(!log.contains(PASSWORD), "nor any other");
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_head_timeout() {
    let server = TestServer::start(&[("SWITCHBOARD_HEAD_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server).await;
    stream.write_all(healthz(&server).as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut stream).await.status, 200);
    closed(&mut stream).await;
}
