//! One clock for every process of a run: `CLOCK_MONOTONIC` in nanoseconds.
//!
//! It is system-wide on Linux, so a timestamp written into a message body by
//! one process can be subtracted from a reading taken in another (a worker,
//! or the coordinator that sets the measure window).

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// Nanoseconds on `CLOCK_MONOTONIC`.
pub fn now_ns() -> u64 {
    let at = clock_gettime(ClockId::Monotonic);
    (at.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(at.tv_nsec as u64)
}

/// Sleeps until the monotonic clock reads `at_ns` (at once if it has).
pub async fn sleep_until_ns(at_ns: u64) {
    let now = now_ns();
    if at_ns > now {
        tokio::time::sleep(Duration::from_nanos(at_ns - now)).await;
    }
}

/// `seconds` as nanoseconds (negative and NaN count as zero).
pub fn secs_to_ns(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1e9) as u64
    } else {
        0
    }
}

/// The half-open measure window `[start_ns, end_ns)`, on [`now_ns`]'s clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Window {
    pub fn contains(&self, at_ns: u64) -> bool {
        at_ns >= self.start_ns && at_ns < self.end_ns
    }

    pub fn seconds(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward() {
        let a = now_ns();
        let b = now_ns();
        assert!(a > 0 && b >= a);
    }

    #[test]
    fn windows_are_half_open() {
        let window = Window {
            start_ns: 10,
            end_ns: 20,
        };
        assert!(!window.contains(9));
        assert!(window.contains(10));
        assert!(window.contains(19));
        assert!(!window.contains(20));
        assert_eq!(secs_to_ns(1.5), 1_500_000_000);
        assert_eq!(secs_to_ns(-1.0), 0);
        assert!(
            (Window {
                start_ns: 0,
                end_ns: 2_500_000_000
            }
            .seconds()
                - 2.5)
                .abs()
                < 1e-9
        );
    }
}
