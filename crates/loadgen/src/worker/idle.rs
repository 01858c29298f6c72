//! The idle scenario's connection: nothing but heartbeats.

use super::conn::Conn;
use super::observe::{Ignore, observe};
use super::{Ctx, End, SetupSignal};

pub(super) async fn run(conn: &mut Conn, ctx: &mut Ctx, setup: &mut SetupSignal) -> End {
    setup.done();
    observe(conn, ctx, &mut Ignore).await
}
