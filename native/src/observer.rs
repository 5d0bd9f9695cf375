//! The native [`LockObserver`]: timestamps lock acquisitions with the
//! monotonic clock, keeps per-lock totals in atomics, and hands sampled
//! spans to the trace.
//!
//! Counters are per lock and cache-line padded, so in shard mode threads
//! working on different shards do not contend on the statistics of the
//! contention they are measuring.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crossbeam::utils::CachePadded;
use myongoredis_core::{LockObserver, LockSpan};

use crate::clock::Monotonic;
use crate::stats::Log2Histogram;
use crate::trace::Tracer;

/// Totals for one lock.
#[derive(Default)]
pub struct LockCounters {
    pub acquisitions: AtomicU64,
    pub contended: AtomicU64,
    pub wait_ns: AtomicU64,
    pub hold_ns: AtomicU64,
    pub max_wait_ns: AtomicU64,
    /// Wait of contended acquisitions, in nanoseconds.
    pub wait_histogram: Log2Histogram,
}

/// A plain copy of [`LockCounters`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockTotals {
    pub acquisitions: u64,
    pub contended: u64,
    pub wait_ns: u64,
    pub hold_ns: u64,
    pub max_wait_ns: u64,
    pub wait_histogram: Vec<u64>,
}

pub struct LockStats {
    clock: Monotonic,
    locks: Box<[CachePadded<LockCounters>]>,
    tracer: Option<Arc<Tracer>>,
}

impl LockStats {
    pub fn new(clock: Monotonic, lock_count: u32, tracer: Option<Arc<Tracer>>) -> Self {
        LockStats {
            clock,
            locks: (0..lock_count.max(1))
                .map(|_| CachePadded::default())
                .collect(),
            tracer,
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
                max_wait_ns: c.max_wait_ns.load(Relaxed),
                wait_histogram: c.wait_histogram.snapshot(),
            })
            .collect()
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in self.locks.iter() {
            for a in [
                &c.acquisitions,
                &c.contended,
                &c.wait_ns,
                &c.hold_ns,
                &c.max_wait_ns,
            ] {
                a.store(0, Relaxed);
            }
            c.wait_histogram.reset();
        }
    }
}

impl LockObserver for LockStats {
    fn stamp(&self) -> u64 {
        crate::clock::relay::stamp(|| self.clock.now_ns())
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
            let wait = span.wait();
            c.contended.fetch_add(1, Relaxed);
            c.wait_ns.fetch_add(wait, Relaxed);
            c.max_wait_ns.fetch_max(wait, Relaxed);
            c.wait_histogram.record(wait);
        }
        c.hold_ns.fetch_add(span.hold(), Relaxed);
        if let Some(tracer) = &self.tracer {
            tracer.lock_span(span);
        }
    }
}
