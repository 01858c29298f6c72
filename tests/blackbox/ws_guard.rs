//! The WebSocket's guard rails, seen from the wire: the size limits in both
//! directions, the flood guard on every kind of frame, the close code of
//! each protocol violation, heartbeats a client library keeps by itself,
//! the cool-off of a user closed for flooding, and the cap on connections
//! per user.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_proto::ErrorCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::client::WAIT;
use crate::support::raw::{
    Close, OP_BINARY, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, RawClient, RawFrame, Received,
};
use crate::support::{Fixture, TestServer};

/// The default limits: a body of 64 KiB, a frame of six times that and 4 KiB.
const MAX_BODY: usize = 65_536;
const MAX_FRAME: usize = 6 * MAX_BODY + 4096;

fn close_of(code: u16, reason: &str) -> Option<Close> {
    Some(Close {
        code: Some(code),
        reason: reason.into(),
    })
}

fn texts(frames: &[Received]) -> Vec<&str> {
    frames.iter().filter_map(Received::text).collect()
}

#[tokio::test]
async fn a_body_just_over_the_limit_is_answered_too_large_and_the_connection_lives_on() {
    let fx = Fixture::new(1, &[]).await;
    let conversation = fx.conversation("+15550900").await;
    let mut c = fx.connect(&fx.agents[0]).await;
    c.join(conversation).await;
    let refused = c
        .say(conversation, "big", &"x".repeat(MAX_BODY + 1))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::TooLarge);
    assert_eq!(refused.max_bytes, Some(MAX_BODY as u64));
    let fits = c.say(conversation, "fits", &"x".repeat(MAX_BODY)).await;
    assert_eq!(fits.unwrap().body.map(|b| b.len()), Some(MAX_BODY));
}

/// JSON spends six bytes on a control character: a maximal body of them
/// is accepted, and reaches the others in a frame within the frame limit.
#[tokio::test]
async fn a_maximal_body_of_escaped_characters_is_accepted_and_delivered_within_the_frame_limit() {
    let fx = Fixture::new(2, &[]).await;
    let conversation = fx.conversation("+15550901").await;
    let mut writer = fx.connect(&fx.agents[0]).await;
    writer.join(conversation).await;
    let mut observer = RawClient::connect(&fx.server.addr, &fx.agents[1].token).await;
    let join = format!(r#"{{"type":"join","ref":"j","conversation_id":"{conversation}"}}"#);
    observer.send(&RawFrame::text(&join)).await.unwrap();

    let body = "\u{1}".repeat(MAX_BODY);
    let sent = writer.say(conversation, "escaped", &body).await.unwrap();
    assert_eq!(sent.body.as_deref(), Some(body.as_str()));

    let delivered = loop {
        let frame = observer.reader.next().await.expect("the message event");
        if frame
            .text()
            .is_some_and(|t| t.starts_with(r#"{"type":"message""#))
        {
            break frame;
        }
    };
    let size = delivered.payload.len();
    assert!(
        size > 6 * MAX_BODY,
        "the body went out escaped ({size} bytes)"
    );
    assert!(
        size <= MAX_FRAME,
        "a {size}-byte frame is over the documented limit"
    );
}

#[tokio::test]
async fn a_frame_over_the_frame_limit_is_closed_with_1009() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    let pad = "x".repeat(MAX_FRAME);
    let frame = RawFrame::text(&format!(r#"{{"type":"ping","pad":"{pad}"}}"#));
    let _ = c.send(&frame).await; // the server may close before it has all of it
    assert_eq!(c.close().await.0, close_of(1009, "frame too large"));
}

#[tokio::test]
async fn a_frame_limit_too_small_for_the_body_limit_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("sb.db").display());
    let output = tokio::process::Command::new(crate::support::server::binary())
        .arg("serve")
        .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_DATABASE_URL", &database)
        .env("SWITCHBOARD_MAX_FRAME_BYTES", "65536")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(WAIT, output)
        .await
        .expect("the server exits")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("max frame bytes (65536) must be at least 6 x max message bytes (65536)"),
        "{stderr}"
    );
}

/// A small rate so that floods are quick: 20 frames a second, bursts of 20.
const SLOW: &[(&str, &str)] = &[
    ("SWITCHBOARD_RATE_LIMIT_PER_SEC", "20"),
    ("SWITCHBOARD_RATE_LIMIT_BURST", "20"),
];

/// Every kind of frame counts: valid text, binary and ping frames sent at
/// five times the rate close the connection with 1008, although some of
/// them pass all along.
#[tokio::test]
async fn a_sustained_flood_of_any_kind_of_frame_is_closed_with_1008() {
    let fx = Fixture::new(3, SLOW).await;
    let floods = [
        RawFrame::text(r#"{"type":"ping"}"#),
        RawFrame::new(OP_BINARY, *b"bin"),
        RawFrame::ping(*b"p"),
    ];
    // One user each: a user closed for flooding cools off.
    for (frame, agent) in floods.into_iter().zip(&fx.agents) {
        let c = RawClient::connect(&fx.server.addr, &agent.token).await;
        let (close, before) = c.flood(&frame, 100, WAIT).await;
        assert_eq!(
            close,
            close_of(1008, "rate limit exceeded"),
            "opcode {}",
            frame.opcode
        );
        if frame.opcode == OP_TEXT {
            let refused = texts(&before);
            assert!(
                refused
                    .iter()
                    .any(|t| t.contains(r#""code":"rate_limited""#)),
                "refused with rate_limited before the close: {refused:?}"
            );
        }
        if frame.opcode == OP_PING {
            assert!(
                before.iter().any(|f| f.opcode == OP_PONG),
                "pings were answered"
            );
        }
    }
}

/// A flooder closed with 1008 who reconnects at once would get a fresh
/// guard and flood again: the user is refused at the upgrade for the
/// cool-off (429 `rate_limited`, saying how long), others are not, and
/// afterwards they may connect again.
#[tokio::test]
async fn a_user_closed_for_flooding_cools_off_before_connecting_again() {
    let mut settings = SLOW.to_vec();
    settings.push(("SWITCHBOARD_FLOOD_COOLOFF_SECS", "2"));
    let fx = Fixture::new(2, &settings).await;
    let (addr, ann) = (&fx.server.addr, &fx.agents[0].token);
    let flooder = RawClient::connect(addr, ann).await;
    let (close, _) = flooder
        .flood(&RawFrame::text(r#"{"type":"ping"}"#), 100, WAIT)
        .await;
    assert_eq!(close, close_of(1008, "rate limit exceeded"));

    let refused = RawClient::upgrade(addr, ann).await.unwrap_err();
    assert_eq!(refused.status, 429);
    let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let wait = body["error"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!(wait > 0 && wait <= 2_000, "retry after {wait} ms");
    // Another user is not concerned.
    RawClient::connect(addr, &fx.agents[1].token).await;
    // After the cool-off, the flooder may connect again.
    reconnects_within_the_wait(&fx.server, ann).await;
}

/// A message that never ends, in empty fragments, is closed as a flood
/// (it would never grow past the size limit).
#[tokio::test]
async fn a_flood_of_empty_continuation_frames_is_closed_with_1008() {
    let fx = Fixture::new(1, SLOW).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    let start = RawFrame::text(r#"{"type":"ping""#).fin(false);
    c.send(&start).await.unwrap();
    let fragment = RawFrame::new(OP_CONTINUATION, []).fin(false);
    let (close, _) = c.flood(&fragment, 1000, WAIT).await;
    assert_eq!(close, close_of(1008, "rate limit exceeded"));
}

#[tokio::test]
async fn a_client_within_the_rate_is_never_refused_nor_closed() {
    let fx = Fixture::new(1, SLOW).await;
    let mut c = fx.connect(&fx.agents[0]).await;
    // Two frames every 150 ms: two thirds of the rate.
    let mut tick = tokio::time::interval(Duration::from_millis(150));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..30 {
        tick.tick().await;
        c.send_raw(WsMessage::Ping(vec![1].into())).await.unwrap();
        c.send_text(format!(r#"{{"type":"ping","ref":"calm{i}"}}"#))
            .await;
        c.answer(&format!("calm{i}"))
            .await
            .expect("within the rate, every frame is served");
    }
}

/// RFC 6455 section 7.4.1: each violation gets its close code before the
/// connection ends.
#[tokio::test]
async fn each_protocol_violation_is_closed_with_its_code() {
    let fx = Fixture::new(1, &[]).await;
    let ping = br#"{"type":"ping"}"#;
    let cases: Vec<(&str, Vec<RawFrame>, u16)> = vec![
        (
            "invalid utf-8",
            vec![RawFrame::new(OP_TEXT, [b'"', 0xff, 0xfe, b'"'])],
            1007,
        ),
        (
            "invalid utf-8 in a first fragment",
            vec![RawFrame::new(OP_TEXT, [0xc3, 0x28]).fin(false)],
            1007,
        ),
        (
            "invalid utf-8 across fragments",
            vec![
                RawFrame::new(OP_TEXT, [b'"', 0xe2, 0x82]).fin(false),
                RawFrame::new(OP_CONTINUATION, [0x28, b'"']),
            ],
            1007,
        ),
        (
            "an unmasked frame",
            vec![RawFrame::new(OP_TEXT, *ping).unmasked()],
            1002,
        ),
        (
            "RSV1 set",
            vec![RawFrame::new(OP_TEXT, *ping).rsv(0b100)],
            1002,
        ),
        (
            "RSV2 set",
            vec![RawFrame::new(OP_TEXT, *ping).rsv(0b010)],
            1002,
        ),
        (
            "RSV3 set",
            vec![RawFrame::new(OP_TEXT, *ping).rsv(0b001)],
            1002,
        ),
        (
            "a reserved data opcode",
            vec![RawFrame::new(0x3, *ping)],
            1002,
        ),
        (
            "a reserved control opcode",
            vec![RawFrame::new(0xB, [])],
            1002,
        ),
        (
            "a ping over 125 bytes",
            vec![RawFrame::ping([7; 126])],
            1002,
        ),
        (
            "a fragmented ping",
            vec![RawFrame::ping(*b"p").fin(false)],
            1002,
        ),
        (
            "an orphan continuation",
            vec![RawFrame::new(OP_CONTINUATION, *ping)],
            1002,
        ),
        (
            "a new message inside a fragmented one",
            vec![
                RawFrame::new(OP_TEXT, *b"{").fin(false),
                RawFrame::new(OP_TEXT, *ping),
            ],
            1002,
        ),
    ];
    for (what, frames, code) in cases {
        let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
        for frame in &frames {
            c.send(frame).await.unwrap();
        }
        let (close, _) = c.close().await;
        let close = close.unwrap_or_else(|| panic!("{what}: ended without a close frame"));
        assert_eq!(close.code, Some(code), "{what}: {close:?}");
        assert!(
            c.reader.next().await.is_none(),
            "{what}: the server ends the connection"
        );
    }
}

/// A heartbeat of one second, so that a test sees several.
const QUICK_HEARTBEAT: &[(&str, &str)] = &[("SWITCHBOARD_HEARTBEAT_MS", "1000")];

/// A client that sends nothing but answers the server's pings (every
/// library does by itself) stays connected through several heartbeats.
#[tokio::test]
async fn a_client_that_only_answers_pings_stays_connected() {
    let fx = Fixture::new(1, QUICK_HEARTBEAT).await;
    let mut request = fx.server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", fx.agents[0].token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut pings = 0;
    while pings < 4 {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the server pings a silent client")
            .expect("still connected")
            .expect("no error");
        match message {
            WsMessage::Ping(_) => pings += 1,
            WsMessage::Text(_) => {} // the welcome
            other => panic!("unexpected {other:?} after {pings} pings"),
        }
    }
    ws.send(WsMessage::Text(r#"{"type":"ping","ref":"alive"}"#.into()))
        .await
        .unwrap();
    let answer = loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WsMessage::Text(text) => break text,
            WsMessage::Ping(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(answer.as_str(), r#"{"type":"ack","ref":"alive"}"#);
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed_with_1008() {
    let fx = Fixture::new(1, QUICK_HEARTBEAT).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    let (close, before) = c.close().await;
    assert!(
        before.iter().any(|f| f.opcode == OP_PING),
        "pinged before being closed: {before:?}"
    );
    assert_eq!(close, close_of(1008, "heartbeat timeout"));
    fx.server
        .expect_log(&[
            "websocket closed by the server",
            "heartbeat timeout",
            &fx.agents[0].id.to_string(),
        ])
        .await;
}

#[tokio::test]
async fn a_user_at_the_connection_cap_is_refused_before_the_upgrade() {
    let fx = Fixture::new(2, &[("SWITCHBOARD_MAX_CONNECTIONS_PER_USER", "2")]).await;
    let (addr, ann) = (&fx.server.addr, &fx.agents[0].token);
    let first = RawClient::connect(addr, ann).await;
    let _second = RawClient::connect(addr, ann).await;
    let refused = RawClient::upgrade(addr, ann).await.unwrap_err();
    assert_eq!(refused.status, 429);
    let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        body["error"]["message"],
        "too many connections for this user (at most 2); close one first"
    );
    // Another user is not concerned.
    RawClient::connect(addr, &fx.agents[1].token).await;
    // Once a connection is gone, there is room again.
    drop(first);
    reconnects_within_the_wait(&fx.server, ann).await;
}

async fn reconnects_within_the_wait(server: &TestServer, token: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while RawClient::upgrade(&server.addr, token).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed connection still counts"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
