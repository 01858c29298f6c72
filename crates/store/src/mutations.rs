//! Mistakes put back on purpose, for the simulation's mutation checks
//! (`switchboard-sim`): each switch, when on, breaks one rule the way a
//! plausible bug would, so that the simulation can show it finds the bug.
//! Only built with the `mutations` feature, which only the simulation's
//! tests turn on; every switch is off unless a test turns it on.

use std::sync::atomic::{AtomicBool, Ordering};

/// A grant of the active role keeps the fencing epoch instead of bumping
/// it (invariant 1: "a number that grows with every grant").
pub static GRANT_KEEPS_EPOCH: AtomicBool = AtomicBool::new(false);

pub(crate) fn on(switch: &AtomicBool) -> bool {
    switch.load(Ordering::Relaxed)
}
