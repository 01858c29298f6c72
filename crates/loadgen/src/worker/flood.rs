//! Fanout's flooders: connections that write malformed frames as fast as
//! the server reads them, from the warm-up until the worker stops. The
//! server answers each with an `error` frame, and its flood guard closes a
//! connection that keeps it up (1008); the flooder then opens a new one and
//! goes on, so the flood lasts the whole run however the server defends.
//! What they did is counted apart from the scenario's own figures.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::FutureExt;
use switchboard_proto::ServerFrame;
use tokio::sync::watch;

use super::conn::{self, Conn};
use super::shared::{Phase, Shared, stopped};
use super::{Ctx, End, SetupSignal, hold_until_run, ping};
use crate::clock::now_ns;
use crate::plan::Token;

/// What "malformed" means here, in turn: text that is not JSON, JSON of an
/// unknown `type`, and a `join` whose `conversation_id` is not a UUID. Each
/// is refused with `bad_request` while parsing, before any lookup, so the
/// flood costs the server what a hostile client can make it spend on one
/// connection without credentials for anything.
pub const MALFORMED: [&str; 3] = [
    "this is not json",
    r#"{"type":"no_such_frame","ref":"flood"}"#,
    r#"{"type":"join","ref":"flood","conversation_id":"not-a-uuid"}"#,
];

/// How long a flooder waits before trying again when it could not connect
/// (so a server that refuses does not turn the flooder into a busy loop).
const REDIAL_PAUSE: Duration = Duration::from_millis(100);

/// Where and as whom a flooder connects again.
pub(super) struct Dial<'a> {
    pub addr: SocketAddr,
    pub source_ip: Option<IpAddr>,
    pub token: &'a Token,
    pub timeout: Duration,
}

/// Holds the connection until the run starts, then floods until the worker
/// stops, reconnecting whenever the server ends the connection.
pub(super) async fn run(
    conn: &mut Conn,
    ctx: &mut Ctx,
    setup: &mut SetupSignal,
    dial: Dial<'_>,
) -> End {
    setup.done();
    if let Err(end) = hold_until_run(conn, ctx, &ping(), |_| None).await {
        return end;
    }
    let shared = &ctx.shared;
    let counters = &shared.counters;
    let mut phase = shared.phase();
    let mut sent = 0usize;
    loop {
        if flood(conn, shared, &mut phase, &mut sent).await == End::Stopped {
            return End::Stopped;
        }
        *conn = match redial(&dial, shared, &mut phase).await {
            Some(conn) => conn,
            None => return End::Stopped,
        };
        shared.count_at(&counters.flood_reconnects, now_ns());
    }
}

/// Writes malformed frames until the connection ends (`Closed`) or the
/// worker stops, reading the answers that are already there after each.
async fn flood(
    conn: &mut Conn,
    shared: &Shared,
    phase: &mut watch::Receiver<Phase>,
    sent: &mut usize,
) -> End {
    let counters = &shared.counters;
    loop {
        let text = MALFORMED[*sent % MALFORMED.len()];
        tokio::select! {
            () = stopped(phase) => return End::Stopped,
            written = conn.send_text(text) => if written.is_err() {
                return End::Closed;
            },
        }
        *sent += 1;
        shared.count_at(&counters.flood_frames, now_ns());
        while let Some(answer) = conn.recv().now_or_never() {
            match answer {
                Some((at, ServerFrame::Error(_))) => shared.count_at(&counters.flood_errors, at),
                Some(_) => {}
                None => return End::Closed,
            }
        }
    }
}

/// A new connection, or `None` once the worker stops.
async fn redial(
    dial: &Dial<'_>,
    shared: &Shared,
    phase: &mut watch::Receiver<Phase>,
) -> Option<Conn> {
    loop {
        let opened = tokio::select! {
            () = stopped(phase) => return None,
            opened = conn::open(dial.addr, dial.source_ip, dial.token, crate::plan::Wire::Switchboard, dial.timeout) => opened,
        };
        match opened {
            Ok(conn) => return Some(conn),
            Err(error) => {
                shared.note(&format!("flooder reconnect: {error:#}"));
                tokio::select! {
                    () = stopped(phase) => return None,
                    () = tokio::time::sleep(REDIAL_PAUSE) => {}
                }
            }
        }
    }
}
