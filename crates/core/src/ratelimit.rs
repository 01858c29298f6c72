//! Per-connection rate limits, driven by the caller's clock: a token bucket
//! of frames, and the flood guard that closes a client who keeps exceeding it.

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

/// What the flood guard says of frames a connection sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Within the rate.
    Allowed,
    /// Over the rate: refuse them; a token is back after `retry_after_ms`.
    Refused { retry_after_ms: u64 },
    /// Over the rate for too long: close the connection.
    Flooded,
}

/// The rate limit of one connection, counted on every frame it sends, and
/// the patience it has with a client exceeding it.
///
/// Each refused frame is a strike. Strikes are a second bucket: it holds
/// `burst` of them and gives them back at a tenth of `burst` a second, so
/// a client that overshoots now and then is forgiven, and one that keeps
/// sending faster than the rate runs out of strikes and is closed; however
/// many frames pass in between, strikes only fade with time.
#[derive(Debug, Clone, Copy)]
pub struct FloodGuard {
    frames: TokenBucket,
    strikes: TokenBucket,
}

impl FloodGuard {
    pub fn new(per_sec: u32, burst: u32, now: Millis) -> Self {
        Self {
            frames: TokenBucket::new(per_sec, burst, now),
            strikes: TokenBucket::new((burst / 10).max(1), burst, now),
        }
    }

    /// Charges `frames` frames received now (a message and the fragments
    /// it came in).
    pub fn charge(&mut self, frames: u32, now: Millis) -> Charge {
        let mut verdict = Charge::Allowed;
        for _ in 0..frames {
            if let Err(wait_ms) = self.frames.try_take(now) {
                if self.strikes.try_take(now).is_err() {
                    return Charge::Flooded;
                }
                verdict = Charge::Refused {
                    retry_after_ms: wait_ms,
                };
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `per_sec` frames a second, evenly, for `secs` seconds; returns
    /// when the guard closed the connection (ms), if it did, and how many
    /// frames it refused.
    fn steady(guard: &mut FloodGuard, per_sec: u64, secs: u64) -> (Option<Millis>, u32) {
        let mut refused = 0;
        for i in 0..per_sec * secs {
            let now = i * 1000 / per_sec;
            match guard.charge(1, now) {
                Charge::Allowed => {}
                Charge::Refused { .. } => refused += 1,
                Charge::Flooded => return (Some(now), refused),
            }
        }
        (None, refused)
    }

    #[test]
    fn a_client_within_the_rate_is_never_refused() {
        let mut guard = FloodGuard::new(100, 200, 0);
        assert_eq!(steady(&mut guard, 100, 60), (None, 0));
    }

    #[test]
    fn a_sustained_flood_is_closed_within_a_few_seconds_although_frames_pass() {
        let mut guard = FloodGuard::new(100, 200, 0);
        let (closed, refused) = steady(&mut guard, 500, 10);
        let closed = closed.expect("five times the rate is a flood");
        assert!(closed < 2_000, "closed after {closed} ms");
        assert!(
            refused >= 200,
            "the burst of strikes is used up first ({refused})"
        );
    }

    #[test]
    fn strikes_fade_with_time() {
        let mut guard = FloodGuard::new(10, 20, 0);
        // Twice the burst at once: the second half is refused (20 strikes).
        let refused = (0..40)
            .filter(|_| guard.charge(1, 0) != Charge::Allowed)
            .count();
        assert_eq!(refused, 20);
        // Another such burst right away runs out of strikes...
        let mut again = guard;
        assert_eq!(again.charge(40, 2_000), Charge::Flooded);
        // ...but after ten quiet seconds the strikes are forgiven.
        assert_ne!(guard.charge(40, 12_000), Charge::Flooded);
    }

    #[test]
    fn a_message_in_many_fragments_costs_a_frame_each() {
        let mut guard = FloodGuard::new(10, 5, 0);
        assert_eq!(guard.charge(5, 0), Charge::Allowed);
        assert_eq!(
            guard.charge(1, 0),
            Charge::Refused {
                retry_after_ms: 100
            }
        );
    }

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
