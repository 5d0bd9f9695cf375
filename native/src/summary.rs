//! The contention summary printed on stderr at a clean exit: five lines,
//! and a sixth naming the shards that waited most when there are several
//! locks. It reads a snapshot and prints; it never touches a counter.

use crate::observer::LockTotals;
use crate::snapshot::MetricsSnapshot;
use crate::stats::Log2Histogram;

/// The one-screen contention summary printed on a clean exit.
pub fn print(m: &MetricsSnapshot) {
    let sum = |f: fn(&LockTotals) -> u64| m.lock_totals.iter().map(f).sum::<u64>();
    let (acquisitions, contended) = (sum(|t| t.acquisitions), sum(|t| t.contended));
    let histogram = m.wait_histogram();
    let us = |ns: u64| ns as f64 / 1000.0;
    let mut out = format!(
        "myongoredis: contention summary ({} mode, {} lock{})\n  \
         commands        {}\n  \
         lock acquisitions {acquisitions}, contended {contended} ({:.1} %)\n  \
         lock wait total {:.1} ms, hold total {:.1} ms\n  \
         wait p50 ≤ {:.1} µs, p99 ≤ {:.1} µs, max {:.1} µs (contended acquisitions)\n",
        m.mode,
        m.locks,
        if m.locks == 1 { "" } else { "s" },
        m.total_commands,
        if acquisitions == 0 {
            0.0
        } else {
            contended as f64 * 100.0 / acquisitions as f64
        },
        sum(|t| t.wait_ns) as f64 / 1e6,
        sum(|t| t.hold_ns) as f64 / 1e6,
        us(Log2Histogram::quantile(&histogram, 0.5)),
        us(Log2Histogram::quantile(&histogram, 0.99)),
        us(m.lock_totals
            .iter()
            .map(|t| t.max_wait_ns)
            .max()
            .unwrap_or(0)),
    );
    let waited: Vec<_> = m
        .top_locks_by_wait(5)
        .into_iter()
        .filter(|(_, t)| t.wait_ns > 0)
        .collect();
    if m.locks > 1 && !waited.is_empty() {
        out.push_str("  top locks by wait:");
        for (lock, t) in waited {
            out.push_str(&format!(
                " #{lock} {:.1} ms ({} waits);",
                t.wait_ns as f64 / 1e6,
                t.contended
            ));
        }
        out.push('\n');
    }
    eprint!("{out}");
}
