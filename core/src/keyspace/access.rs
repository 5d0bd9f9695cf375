//! The access clock every entry carries: what eviction ranks keys by.
//!
//! One 32-bit word per entry, read two ways as in Redis's `robj.lru`
//! field, depending on `maxmemory-policy`:
//!
//! * **LRU** (every policy but the LFU ones): the time of the last access,
//!   Unix milliseconds truncated to 32 bits. Idle time is `now - stamp`,
//!   exact for 49 days (Redis keeps seconds in 24 bits, 194 days).
//!   Millisecond resolution lets eviction tell apart keys used within the
//!   same second, which Redis's one-second clock cannot.
//! * **LFU**: Redis's logarithmic frequency counter. The low 8 bits are a
//!   Morris counter (0..=255) that an access increments with probability
//!   `1 / ((counter - 5) × lfu-log-factor + 1)`; the high 16 bits the
//!   minute of the last decrement. The counter loses one for every
//!   `lfu-decay-time` minutes without access. New keys start at 5, so they
//!   are not evicted before they had a chance to be used.
//!
//! Reads update the clock under a *shared* lock (rw mode), so it is an
//! atomic updated with compare-and-swap. The LRU update is a maximum, which
//! concurrent readers reach in any order. The LFU increment's coin flip is
//! not from a shared random stream (readers would race for it) but a hash
//! of the key, the time and the counter: a pure function, so replay flips
//! the same coins.

use std::sync::atomic::{AtomicU32, Ordering};

/// How the clock word is read, from `maxmemory-policy`, `lfu-log-factor`
/// and `lfu-decay-time`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClockKind {
    #[default]
    Lru,
    Lfu {
        log_factor: u32,
        /// Minutes per decrement; 0: never decay.
        decay_minutes: u32,
    },
}

/// Redis's `LFU_INIT_VAL`: a new key's counter.
pub const LFU_INIT: u32 = 5;

impl ClockKind {
    /// The clock of a key created at `now_ms`.
    pub fn fresh(self, now_ms: u64) -> u32 {
        match self {
            ClockKind::Lru => now_ms as u32,
            ClockKind::Lfu { .. } => (minutes(now_ms) << 8) | LFU_INIT,
        }
    }

    /// Record an access to the key `key` at `now_ms` (Redis's
    /// `updateLFU`, or the LRU stamp).
    pub fn touch(self, clock: &AtomicU32, key: &[u8], now_ms: u64) {
        match self {
            ClockKind::Lru => {
                clock.fetch_max(now_ms as u32, Ordering::Relaxed);
            }
            ClockKind::Lfu { .. } => {
                // The closure always returns Some, so this cannot fail.
                let _ = clock.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                    let counter = self.log_incr(self.decayed(old, now_ms), key, now_ms);
                    Some((minutes(now_ms) << 8) | counter)
                });
            }
        }
    }

    /// The counter after decay (Redis's `LFUDecrAndReturn`): OBJECT FREQ.
    pub fn decayed(self, word: u32, now_ms: u64) -> u32 {
        let ClockKind::Lfu { decay_minutes, .. } = self else {
            return 0;
        };
        let counter = word & 0xff;
        if decay_minutes == 0 {
            return counter;
        }
        let periods = elapsed_minutes(word >> 8, now_ms) / decay_minutes;
        counter.saturating_sub(periods)
    }

    /// Redis's `LFULogIncr`, with a deterministic coin.
    fn log_incr(self, counter: u32, key: &[u8], now_ms: u64) -> u32 {
        let ClockKind::Lfu { log_factor, .. } = self else {
            return counter;
        };
        if counter >= 255 {
            return 255;
        }
        let base = counter.saturating_sub(LFU_INIT) as f64;
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        let r = coin(key, now_ms, counter);
        if r < p {
            counter + 1
        } else {
            counter
        }
    }

    /// Milliseconds since the key was last used, by an LRU clock word
    /// (OBJECT IDLETIME, and the LRU policies' rank).
    pub fn idle_ms(word: u32, now_ms: u64) -> u64 {
        u64::from((now_ms as u32).wrapping_sub(word))
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, ClockKind::Lfu { .. })
    }

    /// The clock of a key RESTOREd with IDLETIME or FREQ (Redis's
    /// `objectSetLRUOrLFU`): under an LFU policy the counter is `freq`,
    /// under LRU the last use is `idle_ms` ago; the other hint is ignored,
    /// and `None` without the hint that counts.
    pub fn restored(self, idle_ms: Option<u64>, freq: Option<u8>, now_ms: u64) -> Option<u32> {
        match self {
            ClockKind::Lfu { .. } => freq.map(|f| (minutes(now_ms) << 8) | u32::from(f)),
            ClockKind::Lru => idle_ms.map(|idle| now_ms.saturating_sub(idle) as u32),
        }
    }
}

/// Minutes since the epoch, in the 16 bits Redis keeps.
fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// Minutes from `then` (16 bits) to now, across the 16-bit wrap
/// (Redis's `LFUTimeElapsed`).
fn elapsed_minutes(then: u32, now_ms: u64) -> u32 {
    let now = minutes(now_ms);
    if now >= then {
        now - then
    } else {
        65_535 - then + now
    }
}

/// A number in [0, 1) from the key, the time and the counter: SplitMix64
/// of an FNV-1a hash.
fn coin(key: &[u8], now_ms: u64, counter: u32) -> f64 {
    let mut z =
        u64::from(crate::hash::fnv1a32(key)) ^ now_ms.rotate_left(17) ^ u64::from(counter) << 48;
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const LFU: ClockKind = ClockKind::Lfu {
        log_factor: 10,
        decay_minutes: 1,
    };

    #[test]
    fn lru_keeps_the_latest_access() {
        let clock = AtomicU32::new(ClockKind::Lru.fresh(5_000));
        ClockKind::Lru.touch(&clock, b"k", 9_000);
        ClockKind::Lru.touch(&clock, b"k", 7_000);
        assert_eq!(
            ClockKind::idle_ms(clock.load(Ordering::Relaxed), 10_000),
            1_000
        );
    }

    #[test]
    fn lfu_counts_logarithmically_and_decays() {
        let clock = AtomicU32::new(LFU.fresh(0));
        assert_eq!(LFU.decayed(clock.load(Ordering::Relaxed), 0), LFU_INIT);
        for i in 0..100_000u64 {
            LFU.touch(&clock, b"hot", i);
        }
        let hot = LFU.decayed(clock.load(Ordering::Relaxed), 100_000);
        // Redis's table for lfu-log-factor 10: 100k hits give about 100
        // (not 255: the counter is logarithmic).
        assert!((60..=140).contains(&hot), "{hot}");
        // Ten minutes later, ten decrements.
        assert_eq!(
            LFU.decayed(clock.load(Ordering::Relaxed), 100_000 + 600_000),
            hot - 10
        );
    }

    #[test]
    fn the_coin_is_a_pure_function() {
        assert_eq!(coin(b"a", 1, 2), coin(b"a", 1, 2));
        assert_ne!(coin(b"a", 1, 2), coin(b"b", 1, 2));
        assert!((0.0..1.0).contains(&coin(b"x", 99, 7)));
    }
}
