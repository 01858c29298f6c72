//! Mistakes put back on purpose, for the simulation's mutation checks
//! (`switchboard-sim`): each switch, when on, breaks one rule the way a
//! plausible bug would, so that the simulation can show it finds the bug.
//! Only built with the `mutations` feature, which only the simulation's
//! tests turn on; every switch is off unless a test turns it on.

use std::sync::atomic::{AtomicBool, Ordering};

/// A message of a user the room believes active is delivered to the
/// other viewers before the store has taken it (invariant 2: a `send` is
/// acknowledged, and delivered, only after the commit), at the seq it
/// would have.
pub static DELIVER_BEFORE_COMMIT: AtomicBool = AtomicBool::new(false);

pub(crate) fn on(switch: &AtomicBool) -> bool {
    switch.load(Ordering::Relaxed)
}
