//! The shell's clocks. `core` never reads a clock; these are the readings
//! it is given.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock time in Unix microseconds: what commands see as "now"
/// (expiry deadlines are absolute Unix times, as in Redis).
pub fn unix_now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A monotonic clock in nanoseconds since `origin`, for measuring lock
/// waits and holds (immune to wall-clock jumps).
#[derive(Clone, Copy, Debug)]
pub struct Monotonic {
    origin: Instant,
}

impl Monotonic {
    pub fn new() -> Self {
        Monotonic {
            origin: Instant::now(),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}
