//! The store's seeded PRNG.
//!
//! Redis draws random numbers for RANDOMKEY, for the active-expiry sampler
//! and for eviction sampling. Here they come from SplitMix64 seeded by the
//! shell (`--seed`, or a value the shell picked and recorded), never from the
//! OS: given the same seed and the same commands, the same keys are drawn,
//! natively and inside WebAssembly.
//!
//! The state is one `AtomicU64` advanced by `fetch_add`, so a draw needs no
//! lock and `&self` suffices (RANDOMKEY runs under a *read* lock in rw mode).
//!
//! ## Forks: one stream per consumer, for replay
//! Two RANDOMKEYs running side by side under a shared lock would interleave
//! their draws from one stream, and no record of "the position before the
//! command" could reproduce which draws each got. So every consumer (one
//! command, one active-expiry step) takes a single draw from the shared
//! stream with [`Rng::fork`] and seeds a private stream with it. One atomic
//! draw cannot interleave with anything: the position it was taken at is
//! all a capture records, and [`Rng::set_position`] lets replay put the
//! shared stream back there before running the same consumer.

use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64 (Steele, Lea, Flood 2014): a counter plus a strong mixer.
#[derive(Debug)]
pub struct Rng {
    state: AtomicU64,
}

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: AtomicU64::new(seed),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        // Relaxed: the only property needed is that each draw gets a
        // distinct counter value; `fetch_add` guarantees that.
        mix(self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA))
    }

    /// A number in `0..n` (`n > 0`). The modulo bias is below 2^-40 for the
    /// table sizes used here, far under anything a sampler could notice.
    pub fn below(&self, n: u64) -> u64 {
        debug_assert!(n > 0);
        self.next_u64() % n.max(1)
    }

    /// The current position, for recording in a capture.
    pub fn position(&self) -> u64 {
        self.state.load(Ordering::Relaxed)
    }

    /// Move the stream to `position` (one that [`Rng::position`] or
    /// [`Rng::fork`] reported): replay does this before re-running a
    /// consumer that drew random numbers when it was captured.
    pub fn set_position(&self, position: u64) {
        self.state.store(position, Ordering::Relaxed);
    }

    /// Take one draw and return a private stream seeded with it, together
    /// with the position the draw was taken at. `set_position(p)` followed
    /// by `fork()` gives the same private stream again.
    pub fn fork(&self) -> (u64, Rng) {
        let position = self.state.fetch_add(GAMMA, Ordering::Relaxed);
        (position, Rng::new(mix(position.wrapping_add(GAMMA))))
    }
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_reference_values() {
        let (a, b) = (Rng::new(1234567), Rng::new(1234567));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        // Reference output of SplitMix64 seeded with 1234567.
        assert_eq!(xs[0], 6457827717110365317);
        assert_eq!(xs[1], 3203168211198807973);
        assert!(Rng::new(1).below(10) < 10);
    }

    #[test]
    fn set_position_then_fork_reproduces_the_private_stream() {
        let rng = Rng::new(7);
        rng.next_u64();
        let (at, child) = rng.fork();
        let drawn: Vec<u64> = (0..3).map(|_| child.next_u64()).collect();
        rng.next_u64();
        rng.set_position(at);
        let (again, child) = rng.fork();
        assert_eq!(again, at);
        assert_eq!((0..3).map(|_| child.next_u64()).collect::<Vec<_>>(), drawn);
        // A fork is one draw of the shared stream.
        let (a, b) = (Rng::new(9), Rng::new(9));
        a.fork();
        b.next_u64();
        assert_eq!(a.position(), b.position());
    }
}
