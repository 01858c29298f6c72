//! The idle scenario's connection: nothing but heartbeats.

use super::conn::Conn;
use super::shared::stopped;
use super::{Ctx, End, SetupSignal, hold_until_run, ping};

pub(super) async fn run(conn: &mut Conn, ctx: &mut Ctx, setup: &mut SetupSignal) -> End {
    setup.done();
    let keepalive = ping();
    if let Err(end) = hold_until_run(conn, ctx, &keepalive, |_| None).await {
        return end;
    }
    let mut phase = ctx.shared.phase();
    loop {
        tokio::select! {
            () = stopped(&mut phase) => return End::Stopped,
            _ = ctx.heartbeat.tick() => {
                if conn.send(&keepalive).await.is_err() {
                    return End::Closed;
                }
            }
            frame = conn.recv() => {
                if frame.is_none() {
                    return End::Closed;
                }
            }
        }
    }
}
