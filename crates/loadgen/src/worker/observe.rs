//! The one loop of every connection that only reads once it is set up
//! (fanout observers, churn observers, inbox watchers and agents' consoles,
//! idle connections): heartbeats out, frames in, until the worker stops or
//! the connection ends. What a role does with a frame is its [`Watch`].

use switchboard_proto::ServerFrame;

use super::conn::Conn;
use super::shared::{Shared, stopped};
use super::{Ctx, End, hold_until_run, ping};
use crate::clock::Window;

/// What an observing role does with the frames it reads.
pub(super) trait Watch {
    /// A frame read before the run starts (the default ignores it).
    fn before_run(&mut self, _frame: &ServerFrame) {}

    /// The run started (the window may begin later, after the warm-up).
    fn run_started(&mut self, _shared: &Shared, _window: Window) {}

    /// A frame read once the run started, at `at_ns` (when it came off the
    /// socket, before parsing). `error` frames are counted by the loop and
    /// do not come here.
    fn during_run(&mut self, shared: &Shared, at_ns: u64, frame: ServerFrame);
}

/// A role with nothing to do with what it reads (idle connections).
pub(super) struct Ignore;

impl Watch for Ignore {
    fn during_run(&mut self, _: &Shared, _: u64, _: ServerFrame) {}
}

/// Holds a set-up connection until the run starts, then reads it until the
/// worker stops (`Stopped`) or the connection ends (`Closed`), pinging at
/// the connection's heartbeat throughout.
pub(super) async fn observe(conn: &mut Conn, ctx: &mut Ctx, watch: &mut impl Watch) -> End {
    let keepalive = ping();
    let window = match hold_until_run(conn, ctx, &keepalive, |frame| {
        watch.before_run(frame);
        None
    })
    .await
    {
        Ok(window) => window,
        Err(end) => return end,
    };
    let shared = ctx.shared.clone();
    watch.run_started(&shared, window);
    let mut phase = shared.phase();
    loop {
        tokio::select! {
            () = stopped(&mut phase) => return End::Stopped,
            _ = ctx.heartbeat.tick() => {
                if conn.send(&keepalive).await.is_err() {
                    return End::Closed;
                }
            }
            frame = conn.recv() => match frame {
                Some((at, ServerFrame::Error(error))) => shared.error_at(error.code.as_str(), at),
                Some((at, frame)) => watch.during_run(&shared, at, frame),
                None => return End::Closed,
            },
        }
    }
}
