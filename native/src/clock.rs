//! The shell's clocks. `core` never reads a clock; these are the readings
//! it is given.

use std::cell::Cell;
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

/// One command's clock readings, shared by the shell's timing and the lock
/// observer of the same thread.
///
/// Four readings a command (the shell's start and end, the lock's
/// acquisition and release) were 8 % of a pipelined SET's CPU, and two of
/// them are a few instructions apart from the other two. So the shell
/// offers its start reading to the first lock stamp of the command, and
/// takes the lock's release stamp as its end when the command took a lock:
/// two readings. A lock span then starts with its command (some 50 ns
/// early: the command's lookup and arity check), and the command ends
/// when its last lock was released.
pub mod relay {
    use super::Cell;

    thread_local! {
        static OFFERED: Cell<Option<u64>> = const { Cell::new(None) };
        static LAST: Cell<u64> = const { Cell::new(0) };
    }

    /// The shell read the clock at `ns` to start a command.
    pub fn offer(ns: u64) {
        OFFERED.set(Some(ns));
        LAST.set(ns);
    }

    /// A lock stamp: the offered reading if there is one, else `read()`.
    pub fn stamp(read: impl FnOnce() -> u64) -> u64 {
        let ns = OFFERED.take().unwrap_or_else(read);
        LAST.set(ns);
        ns
    }

    /// The command is over: its end is the last lock stamp taken since
    /// `start`, or `read()` when it took no lock after starting.
    pub fn end(start: u64, read: impl FnOnce() -> u64) -> u64 {
        let offered = OFFERED.take();
        let last = LAST.get();
        if offered.is_none() && last > start {
            last
        } else {
            read()
        }
    }
}
