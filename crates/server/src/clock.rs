//! The hub's clock, injected: monotonic milliseconds that start at the Unix
//! time of process start (so presence versions follow wall time without
//! ever going back), or a manual clock that tests move by hand.
//!
//! Every decision of the hub reads the time from here; the timers only say
//! when to look again. A test with a [`ManualClock`] advances it and calls
//! the hub's sweep itself, so idle lapses and graces happen exactly when the
//! test says, and no test waits for real time to pass.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard_core::presence::Millis;

/// Where the hub reads the time.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> Millis;
}

/// The process clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    started: Instant,
    started_unix_ms: Millis,
}

impl SystemClock {
    pub fn new() -> Self {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0);
        Self {
            started: Instant::now(),
            started_unix_ms: unix,
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        self.started_unix_ms + self.started.elapsed().as_millis() as Millis
    }
}

/// A clock that moves only when told to (tests). Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn starting_at(now: Millis) -> Self {
        Self(Arc::new(AtomicU64::new(now)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::starting_at(1_000);
        let other = clock.clone();
        assert_eq!(clock.now(), 1_000);
        other.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), 1_250);
    }

    #[test]
    fn the_system_clock_never_goes_back() {
        let clock = SystemClock::new();
        let a = clock.now();
        assert!(clock.now() >= a);
        assert!(a > 1_600_000_000_000, "roughly unix time: {a}");
    }
}
