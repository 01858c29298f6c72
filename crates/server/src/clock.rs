//! The hub's clock: monotonic milliseconds that start at the Unix time of
//! process start, so presence versions follow wall time without ever going back.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use switchboard_core::presence::Millis;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: Instant,
    started_unix_ms: Millis,
}

impl Clock {
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

    pub fn now(&self) -> Millis {
        self.started_unix_ms + self.started.elapsed().as_millis() as Millis
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
