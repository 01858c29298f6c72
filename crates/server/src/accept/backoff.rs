//! Waiting after a failed `accept`: out of file descriptors, mostly, which
//! clears only when connections close. Retrying at once would spin, and
//! logging every failure would flood the log, so the wait doubles up to a
//! bound and one line is logged when an episode begins and one when it ends.

use std::time::Duration;

const FIRST_WAIT: Duration = Duration::from_millis(5);
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// The failures of the current episode (accept failing until it succeeds).
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    /// Counts a failure; returns how long to wait before accepting again.
    pub fn failed(&mut self) -> Duration {
        let doubling = self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        FIRST_WAIT.saturating_mul(1 << doubling).min(LONGEST_WAIT)
    }

    /// Whether the failure just counted began an episode (the one to log).
    pub fn is_new_episode(&self) -> bool {
        self.failures == 1
    }

    /// Counts a success; returns the failures of the episode it ends, if any.
    pub fn succeeded(&mut self) -> Option<u32> {
        let failures = std::mem::take(&mut self.failures);
        (failures > 0).then_some(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_a_bound_and_an_episode_ends_with_a_success() {
        let mut backoff = AcceptBackoff::default();
        assert_eq!(backoff.succeeded(), None);
        assert_eq!(backoff.failed(), Duration::from_millis(5));
        assert!(backoff.is_new_episode());
        assert_eq!(backoff.failed(), Duration::from_millis(10));
        assert!(!backoff.is_new_episode());
        assert_eq!(backoff.failed(), Duration::from_millis(20));
        for _ in 0..40 {
            assert!(backoff.failed() <= LONGEST_WAIT);
        }
        assert_eq!(backoff.failed(), LONGEST_WAIT);
        assert_eq!(backoff.succeeded(), Some(44));
        assert_eq!(backoff.failed(), Duration::from_millis(5));
        assert!(backoff.is_new_episode());
    }
}
