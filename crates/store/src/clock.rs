//! What "now" is for the store: the backend's own clock in production, or
//! a clock a test sets and moves.
//!
//! Every time the store records or judges (a lease's end, a message's time,
//! when an agent went offline, whether a login session expired) is read
//! from one [`StoreClock`]. By default that is the backend's clock: the
//! process clock on SQLite (one process owns the file), the database's
//! clock on Postgres (leases are shared by every node, so they are judged
//! on the one clock the nodes share, never on a node's). A test whose point
//! is not the database clock gives the store a [`ManualClock`] instead and
//! moves it: a lease lapses when the test advances the clock past it, two
//! writes get different times when the test says so, and nothing sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The clock a store reads; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreClock {
    /// The backend's own clock: the process clock on SQLite, the
    /// database's (`now()`, `clock_timestamp()`) on Postgres. What
    /// production runs.
    #[default]
    Backend,
    /// A clock that stands still until the test moves it, shared by every
    /// clone (tests only).
    Manual(ManualClock),
}

impl From<ManualClock> for StoreClock {
    fn from(clock: ManualClock) -> Self {
        Self::Manual(clock)
    }
}

impl StoreClock {
    /// The time as SQLite records it: unix milliseconds on the process
    /// clock, or the manual clock's.
    pub(crate) fn millis(&self) -> i64 {
        match self {
            Self::Backend => Utc::now().timestamp_millis(),
            Self::Manual(clock) => clock.millis(),
        }
    }

    /// The time a Postgres statement binds as its clock: `None` lets the
    /// statement read the database's clock.
    pub(crate) fn fixed(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Backend => None,
            Self::Manual(clock) => Some(clock.now()),
        }
    }
}

/// A clock for tests: it starts at a given instant (by default the current
/// time) and moves only when told, with millisecond precision (the
/// precision the store records). Clones share one reading, so the test keeps
/// one and hands another to the store through
/// [`StoreOptions::clock`](crate::StoreOptions::clock):
///
/// ```
/// use std::time::Duration;
/// use switchboard_store::{ManualClock, StoreOptions};
///
/// let clock = ManualClock::new();
/// let options = StoreOptions {
///     clock: clock.clone().into(),
///     ..StoreOptions::default()
/// };
/// let before = clock.now();
/// clock.advance(Duration::from_secs(30)); // past a 30 s lease
/// assert_eq!(clock.now() - before, chrono::Duration::seconds(30));
/// # drop(options);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at the current time (whole milliseconds).
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock standing at `at` (truncated to whole milliseconds).
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self(Arc::new(AtomicI64::new(at.timestamp_millis())))
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        let millis = self.millis();
        // only `advance` moves it, and it stays within chrono's range
        DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves it forward by `by` (whole milliseconds; it never goes back).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let last = DateTime::<Utc>::MAX_UTC.timestamp_millis();
        // fetch_update only fails when the closure says no, which it never does
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(by).min(last))
            });
    }

    fn millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Two handles are equal when they are the same clock.
impl PartialEq for ManualClock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ManualClock {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_stands_still_until_advanced_and_clones_share_it() {
        let start = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let clock = ManualClock::starting_at(start);
        let store_side = StoreClock::from(clock.clone());
        assert_eq!(store_side.millis(), 1_700_000_000_123);
        assert_eq!(store_side.fixed(), Some(start));

        clock.advance(Duration::from_millis(1500));
        assert_eq!(store_side.millis(), 1_700_000_001_623);
        assert_eq!(clock.now(), start + chrono::Duration::milliseconds(1500));

        // sub-millisecond steps are below the store's precision
        clock.advance(Duration::from_micros(999));
        assert_eq!(store_side.millis(), 1_700_000_001_623);
    }

    #[test]
    fn it_keeps_whole_milliseconds_and_never_overflows() {
        let start = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let clock = ManualClock::starting_at(start);
        assert_eq!(clock.now().timestamp_micros(), 1_700_000_000_123_000);
        clock.advance(Duration::MAX);
        let last = DateTime::<Utc>::MAX_UTC.timestamp_millis();
        assert_eq!(clock.now().timestamp_millis(), last);
    }

    #[test]
    fn the_default_is_the_backends_clock() {
        let clock = StoreClock::default();
        assert_eq!(clock, StoreClock::Backend);
        assert_eq!(clock.fixed(), None, "postgres reads its own clock");
        let before = Utc::now().timestamp_millis();
        let read = clock.millis();
        assert!(read >= before && read <= Utc::now().timestamp_millis());
        assert_ne!(
            StoreClock::from(ManualClock::new()),
            StoreClock::from(ManualClock::new()),
            "two manual clocks are two clocks"
        );
    }
}
