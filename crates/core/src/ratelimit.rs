//! A token bucket for per-connection rate limits, driven by the caller's clock.

use crate::presence::Millis;

/// Allows `burst` frames at once and `per_sec` frames per second sustained.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    /// Tokens scaled by 1000 so that refills need no floating point.
    milli_tokens: u64,
    last: Millis,
    per_sec: u32,
    burst: u32,
}

impl TokenBucket {
    pub fn new(per_sec: u32, burst: u32, now: Millis) -> Self {
        Self {
            milli_tokens: u64::from(burst) * 1000,
            last: now,
            per_sec,
            burst,
        }
    }

    /// Take one token. `Err(wait_ms)` says how long until one is available.
    pub fn try_take(&mut self, now: Millis) -> Result<(), u64> {
        let elapsed = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        let cap = u64::from(self.burst) * 1000;
        self.milli_tokens = (self.milli_tokens + elapsed * u64::from(self.per_sec)).min(cap);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            Ok(())
        } else if self.per_sec == 0 {
            Err(u64::MAX)
        } else {
            let missing = 1000 - self.milli_tokens;
            Err(missing.div_ceil(u64::from(self.per_sec)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_until_refilled() {
        let mut bucket = TokenBucket::new(10, 3, 0);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(0), Ok(()));
        }
        assert_eq!(bucket.try_take(0), Err(100));
        assert_eq!(bucket.try_take(50), Err(50));
        assert_eq!(bucket.try_take(100), Ok(()));
    }

    #[test]
    fn never_holds_more_than_the_burst() {
        let mut bucket = TokenBucket::new(100, 2, 0);
        assert_eq!(bucket.try_take(1_000_000), Ok(()));
        assert_eq!(bucket.try_take(1_000_000), Ok(()));
        assert!(bucket.try_take(1_000_000).is_err());
    }

    #[test]
    fn a_clock_going_back_does_not_mint_tokens() {
        let mut bucket = TokenBucket::new(10, 1, 1_000);
        assert_eq!(bucket.try_take(1_000), Ok(()));
        assert!(bucket.try_take(500).is_err());
        assert!(bucket.try_take(1_000).is_err());
    }
}
