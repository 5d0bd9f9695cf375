//! The native [`LockObserver`]: timestamps lock acquisitions with the
//! monotonic clock and keeps per-lock totals in atomics.
//!
//! Counters are per lock and cache-line padded, so in shard mode threads
//! working on different shards do not contend on the statistics of the
//! contention they are measuring.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crossbeam::utils::CachePadded;
use myongoredis_core::{LockObserver, LockSpan};

use crate::clock::Monotonic;

/// Totals for one lock.
#[derive(Debug, Default)]
pub struct LockCounters {
    pub acquisitions: AtomicU64,
    pub contended: AtomicU64,
    pub wait_ns: AtomicU64,
    pub hold_ns: AtomicU64,
}

/// A plain copy of [`LockCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockTotals {
    pub acquisitions: u64,
    pub contended: u64,
    pub wait_ns: u64,
    pub hold_ns: u64,
}

pub struct LockStats {
    clock: Monotonic,
    locks: Box<[CachePadded<LockCounters>]>,
}

impl LockStats {
    pub fn new(clock: Monotonic, lock_count: u32) -> Self {
        LockStats {
            clock,
            locks: (0..lock_count.max(1))
                .map(|_| CachePadded::default())
                .collect(),
        }
    }

    /// Per-lock totals, in lock order.
    pub fn snapshot(&self) -> Vec<LockTotals> {
        self.locks
            .iter()
            .map(|c| LockTotals {
                acquisitions: c.acquisitions.load(Relaxed),
                contended: c.contended.load(Relaxed),
                wait_ns: c.wait_ns.load(Relaxed),
                hold_ns: c.hold_ns.load(Relaxed),
            })
            .collect()
    }
}

impl LockObserver for LockStats {
    fn stamp(&self) -> u64 {
        self.clock.now_ns()
    }

    fn record(&self, span: &LockSpan) {
        // Spans for locks outside the table cannot happen (the store and
        // this table are built with the same count); ignore rather than
        // panic inside a lock's drop.
        let Some(c) = self.locks.get(span.lock as usize) else {
            return;
        };
        c.acquisitions.fetch_add(1, Relaxed);
        if span.contended {
            c.contended.fetch_add(1, Relaxed);
            c.wait_ns.fetch_add(span.wait(), Relaxed);
        }
        c.hold_ns.fetch_add(span.hold(), Relaxed);
    }
}
