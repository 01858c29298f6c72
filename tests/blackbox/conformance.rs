//! RFC 6455 at the frame level, against the real server: a raw client
//! (`support::raw`) writes exactly the bytes of each case and reads the
//! server's frames as they come. Autobahn's suite needs Python 2, which
//! this project cannot install, so these are its cases that apply to a
//! server speaking JSON text messages without extensions:
//!
//! - fragmentation: a message in fragments, empty fragments, control frames
//!   between fragments, a multi-byte character cut by a fragment boundary;
//! - ping and pong: a ping answered with its payload, a pong nobody asked
//!   for ignored;
//! - the close handshake: the client's close echoed, and every malformed
//!   close refused with its code (a one-byte payload, a code no endpoint may
//!   send, a reason that is not UTF-8, an oversized or fragmented close),
//!   and nothing read after a close;
//! - limits: a message over the limit in fragments that are each within it;
//! - binary messages refused in band, the connection living on.
//!
//! Each close is asserted by its exact code. The other close paths have
//! tests of their own: protocol violations (1002) and invalid UTF-8 in
//! messages (1007) in `ws_guard::each_protocol_violation_is_closed_with_its_code`,
//! a frame over the limit (1009) and floods and silent clients (1008) in
//! `ws_guard`, logout and revoked sessions (1008) in `sessions`, shutdown
//! (1001) in `faults`.

use crate::support::Fixture;
use crate::support::raw::{
    Close, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PONG, OP_TEXT, RawClient, RawFrame, Received,
};

/// The default frame and message limit: a body of 64 KiB, six times that
/// and 4 KiB.
const MAX_FRAME: usize = 6 * 65_536 + 4096;

/// A `ping` message with a `ref`: the server answers it with an `ack`.
fn ping_message(reference: &str) -> String {
    format!(r#"{{"type":"ping","ref":"{reference}"}}"#)
}

/// A close frame's payload: the code, then the reason's bytes.
fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

/// Reads frames until the `ack` of `reference`, and returns the frames that
/// came before it. Panics when the connection closes first.
async fn until_ack(c: &mut RawClient, reference: &str) -> Vec<Received> {
    let mut before = Vec::new();
    let wanted = format!(r#""ref":"{reference}""#);
    loop {
        let frame = c.reader.next().await.unwrap_or_else(|| {
            panic!("the connection ended before the ack of {reference}: {before:?}")
        });
        assert_ne!(
            frame.opcode, OP_CLOSE,
            "closed before the ack of {reference}: {frame:?}"
        );
        if frame
            .text()
            .is_some_and(|t| t.contains(r#""type":"ack""#) && t.contains(&wanted))
        {
            return before;
        }
        before.push(frame);
    }
}

/// Sends `frames` on a fresh connection and returns the server's close.
async fn closed_by(fx: &Fixture, what: &str, frames: &[RawFrame]) -> Close {
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    for frame in frames {
        c.send(frame).await.unwrap();
    }
    let (close, _) = c.close().await;
    let close = close.unwrap_or_else(|| panic!("{what}: ended without a close frame"));
    assert!(
        c.reader.next().await.is_none(),
        "{what}: the server ends the connection after its close"
    );
    close
}

#[tokio::test]
async fn a_text_message_in_fragments_is_one_message() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    let message = ping_message("in-three");
    let (a, rest) = message.as_bytes().split_at(5);
    let (b, z) = rest.split_at(9);
    c.send(&RawFrame::new(OP_TEXT, a).fin(false)).await.unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, b).fin(false))
        .await
        .unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, z)).await.unwrap();
    let before = until_ack(&mut c, "in-three").await;
    assert!(errors(&before).is_empty(), "no error: {before:?}");
}

/// The `error` frames among `frames`. (A console is also sent news it did
/// not ask for, such as its own agent's state: only errors count.)
fn errors(frames: &[Received]) -> Vec<&str> {
    frames
        .iter()
        .filter_map(Received::text)
        .filter(|t| t.contains(r#""type":"error""#))
        .collect()
}

/// The next frame that is not a text message.
async fn next_control(c: &mut RawClient) -> Received {
    loop {
        let frame = c.reader.next().await.expect("a frame");
        if frame.text().is_none() {
            return frame;
        }
    }
}

#[tokio::test]
async fn empty_fragments_are_part_of_the_message() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    let message = ping_message("empties");
    c.send(&RawFrame::new(OP_TEXT, []).fin(false))
        .await
        .unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, message.as_bytes()).fin(false))
        .await
        .unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, [])).await.unwrap();
    until_ack(&mut c, "empties").await;
    // An empty message is one message too: not JSON, so an error, and the
    // connection lives on.
    c.send(&RawFrame::new(OP_TEXT, [])).await.unwrap();
    c.send(&RawFrame::text(&ping_message("after-empty")))
        .await
        .unwrap();
    let before = until_ack(&mut c, "after-empty").await;
    assert_eq!(
        errors(&before).len(),
        1,
        "the empty message is answered with an error: {before:?}"
    );
}

#[tokio::test]
async fn control_frames_between_fragments_are_answered_and_the_message_completes() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    let message = ping_message("around-a-ping");
    let (a, z) = message.as_bytes().split_at(10);
    c.send(&RawFrame::new(OP_TEXT, a).fin(false)).await.unwrap();
    c.send(&RawFrame::ping(*b"between")).await.unwrap();
    c.send(&RawFrame::new(OP_PONG, *b"unasked")).await.unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, z)).await.unwrap();
    let mut frames = until_ack(&mut c, "around-a-ping").await;
    // The pong may come before or after the ack: look past it too.
    if !frames.iter().any(|f| f.opcode == OP_PONG) {
        c.send(&RawFrame::text(&ping_message("flush")))
            .await
            .unwrap();
        frames.extend(until_ack(&mut c, "flush").await);
    }
    let pongs: Vec<&Received> = frames.iter().filter(|f| f.opcode == OP_PONG).collect();
    assert_eq!(pongs.len(), 1, "one pong: {frames:?}");
    assert_eq!(
        pongs[0].payload, b"between",
        "the pong carries the ping's payload"
    );
}

#[tokio::test]
async fn a_multibyte_character_cut_by_a_fragment_boundary_is_valid() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    // "é" is 0xc3 0xa9, "€" is 0xe2 0x82 0xac: cut inside both.
    let message = ping_message("café-€");
    let bytes = message.as_bytes();
    let e_acute = bytes.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    let euro = bytes
        .windows(3)
        .position(|w| w == [0xe2, 0x82, 0xac])
        .unwrap();
    c.send(&RawFrame::new(OP_TEXT, &bytes[..=e_acute]).fin(false))
        .await
        .unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, &bytes[e_acute + 1..euro + 2]).fin(false))
        .await
        .unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, &bytes[euro + 2..]))
        .await
        .unwrap();
    until_ack(&mut c, "café-€").await;
}

#[tokio::test]
async fn pings_are_answered_with_their_payload_and_unasked_pongs_ignored() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    for payload in [Vec::new(), b"hello".to_vec(), vec![0xa5; 125]] {
        c.send(&RawFrame::ping(payload.clone())).await.unwrap();
        let pong = next_control(&mut c).await;
        assert_eq!(pong.opcode, OP_PONG, "{pong:?}");
        assert!(pong.fin);
        assert_eq!(pong.payload, payload, "the pong echoes the ping");
    }
    c.send(&RawFrame::new(OP_PONG, *b"nobody asked"))
        .await
        .unwrap();
    let before = until_ack_after(&mut c, "after-pong").await;
    assert!(
        errors(&before).is_empty() && before.iter().all(|f| f.text().is_some()),
        "an unasked pong gets nothing: {before:?}"
    );
}

/// Sends a `ping` message and reads until its ack.
async fn until_ack_after(c: &mut RawClient, reference: &str) -> Vec<Received> {
    c.send(&RawFrame::text(&ping_message(reference)))
        .await
        .unwrap();
    until_ack(c, reference).await
}

#[tokio::test]
async fn the_clients_close_is_echoed_and_nothing_after_it_is_read() {
    let fx = Fixture::new(1, &[]).await;
    for (code, reason) in [
        (1000, &b"bye"[..]),
        (1001, b""),
        (3000, b"app"),
        (4999, b""),
    ] {
        let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
        c.send(&RawFrame::new(OP_CLOSE, close_payload(code, reason)))
            .await
            .unwrap();
        // A message after the close must not be acted on.
        c.send(&RawFrame::text(&ping_message("too-late")))
            .await
            .unwrap();
        let (close, before) = c.close().await;
        let close = close.unwrap_or_else(|| panic!("{code}: no close in reply"));
        assert_eq!(close.code, Some(code), "{code}: the close is echoed");
        assert!(
            !before
                .iter()
                .filter_map(Received::text)
                .any(|t| t.contains("too-late")),
            "{code}: nothing answered after the close: {before:?}"
        );
        assert!(
            c.reader.next().await.is_none(),
            "{code}: the server ends the connection"
        );
    }
}

#[tokio::test]
async fn a_close_without_a_code_is_answered_with_a_close() {
    let fx = Fixture::new(1, &[]).await;
    let close = closed_by(&fx, "empty close", &[RawFrame::new(OP_CLOSE, [])]).await;
    assert!(
        matches!(close.code, None | Some(1000)),
        "an empty close is answered empty or normal: {close:?}"
    );
}

#[tokio::test]
async fn each_malformed_close_is_refused_with_its_code() {
    let fx = Fixture::new(1, &[]).await;
    // 1004 is reserved; 1005, 1006 and 1015 are for reporting, never sent.
    let codes = [
        ("below the range", 999),
        ("reserved", 1004),
        ("never sent", 1005),
        ("never sent", 1006),
        ("never sent", 1015),
        ("above the range", 5000),
    ];
    let mut cases: Vec<(String, RawFrame, u16)> = codes
        .into_iter()
        .map(|(why, code)| {
            let frame = RawFrame::new(OP_CLOSE, close_payload(code, b""));
            (format!("code {code} ({why})"), frame, 1002)
        })
        .collect();
    cases.extend([
        (
            "a one-byte close payload".to_owned(),
            RawFrame::new(OP_CLOSE, [0x03]),
            1002,
        ),
        (
            "a reason that is not utf-8".to_owned(),
            RawFrame::new(OP_CLOSE, close_payload(1000, &[0xff, 0xfe])),
            1007,
        ),
        (
            "a close over 125 bytes".to_owned(),
            RawFrame::new(OP_CLOSE, close_payload(1000, &[b'x'; 124])),
            1002,
        ),
        (
            "a fragmented close".to_owned(),
            RawFrame::new(OP_CLOSE, close_payload(1000, b"")).fin(false),
            1002,
        ),
    ]);
    for (what, frame, code) in cases {
        let close = closed_by(&fx, &what, &[frame]).await;
        assert_eq!(close.code, Some(code), "{what}: {close:?}");
    }
}

#[tokio::test]
async fn a_message_over_the_limit_is_closed_with_1009_even_in_fragments_within_it() {
    let fx = Fixture::new(1, &[]).await;
    let half = vec![b' '; MAX_FRAME / 2 + 1];
    let close = closed_by(
        &fx,
        "two fragments, each half the limit and a byte",
        &[
            RawFrame::new(OP_TEXT, half.clone()).fin(false),
            RawFrame::new(OP_CONTINUATION, half),
        ],
    )
    .await;
    assert_eq!(close.code, Some(1009), "{close:?}");
}

#[tokio::test]
async fn a_binary_message_is_refused_in_band_and_the_connection_lives_on() {
    let fx = Fixture::new(1, &[]).await;
    let mut c = RawClient::connect(&fx.server.addr, &fx.agents[0].token).await;
    c.send(&RawFrame::new(OP_BINARY, [1, 2, 3]).fin(false))
        .await
        .unwrap();
    c.send(&RawFrame::new(OP_CONTINUATION, [4])).await.unwrap();
    let before = until_ack_after(&mut c, "after-binary").await;
    let errors = errors(&before);
    assert_eq!(errors.len(), 1, "one error for the message: {before:?}");
    assert!(
        errors[0].contains(r#""code":"bad_request""#),
        "{}",
        errors[0]
    );
}
