//! Server-wide counters: what INFO, `/debug/vars`, `/metrics` and the
//! shutdown summary report.
//!
//! Everything is a relaxed atomic bumped at most once per *batch* of
//! commands per connection (never once per command on a shared line), so
//! the statistics do not become a contention point of their own in the
//! experiment they are measuring.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

/// How many buckets a [`Log2Histogram`] has: one per possible bit length
/// of a `u64` nanosecond value (1 to 64), plus one for zero. Every copy of
/// a histogram (a connection's local counts, a snapshot, the merged waits
/// of all locks) has this width, so bucket `i` means the same everywhere.
pub const LOG2_BUCKETS: usize = 65;

/// A histogram with power-of-two buckets: bucket `i` counts values in
/// `[2^(i-1), 2^i)` (bucket 0 counts zeros). [`LOG2_BUCKETS`] atomics,
/// lock-free, good to a factor of two, which is what a contention summary
/// needs.
pub struct Log2Histogram {
    buckets: [AtomicU64; LOG2_BUCKETS],
}

impl Default for Log2Histogram {
    fn default() -> Self {
        Log2Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Log2Histogram {
    pub fn record(&self, value: u64) {
        let bucket = 64 - value.leading_zeros() as usize;
        self.buckets[bucket].fetch_add(1, Relaxed);
    }

    /// Add counts gathered elsewhere (a connection's local histogram).
    pub fn add_counts(&self, counts: &[u64; LOG2_BUCKETS]) {
        for (b, &c) in self.buckets.iter().zip(counts) {
            if c > 0 {
                b.fetch_add(c, Relaxed);
            }
        }
    }

    /// Counts per bucket.
    pub fn snapshot(&self) -> Vec<u64> {
        self.buckets.iter().map(|b| b.load(Relaxed)).collect()
    }

    /// The upper bound of bucket `i` (exclusive): values recorded in
    /// bucket `i` are below this.
    pub fn bucket_limit(i: usize) -> u64 {
        if i >= 64 {
            u64::MAX
        } else {
            1u64 << i
        }
    }

    /// An upper bound of the `q` quantile (0..=1), from a snapshot.
    pub fn quantile(counts: &[u64], q: f64) -> u64 {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::bucket_limit(i);
            }
        }
        u64::MAX
    }

    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Relaxed);
        }
    }
}

/// Counters of the TCP shell and of command execution.
pub struct ServerStats {
    pub started: Instant,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub total_commands: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    /// Changes to the dataset ever made, as Redis counts `server.dirty`
    /// (one per changed key; see core's `WriteSignal::dirty`): the save
    /// points and `rdb_changes_since_last_save` compare it with its value
    /// at the last save. Folded from the connections like the counters
    /// above, so it may lag a connection's last writes by a fold.
    pub dirty: AtomicU64,
    /// The keyspaces count expired keys themselves; this is their total at
    /// the last CONFIG RESETSTAT, subtracted when reporting.
    pub expired_keys_baseline: AtomicU64,
    /// Per command name: calls and total microseconds (INFO commandstats,
    /// `redis_commands_total`, `redis_commands_duration_seconds_total`).
    /// Indexed by the command's position in the command table.
    pub per_command: Box<[CommandCounters]>,
    /// Command latency in nanoseconds.
    pub command_latency_ns: Log2Histogram,
    /// ops/s, sampled once a second by the stats thread.
    ops_per_sec: Mutex<OpsSampler>,
}

#[derive(Default)]
pub struct CommandCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
}

#[derive(Default)]
struct OpsSampler {
    last_total: u64,
    last_at: Option<Instant>,
    rate: u64,
}

impl ServerStats {
    pub fn new(commands: usize) -> Self {
        ServerStats {
            started: Instant::now(),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            total_commands: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            expired_keys_baseline: AtomicU64::new(0),
            per_command: (0..commands).map(|_| CommandCounters::default()).collect(),
            command_latency_ns: Log2Histogram::default(),
            ops_per_sec: Mutex::new(OpsSampler::default()),
        }
    }

    /// Called about once a second: updates instantaneous ops/s.
    pub fn sample_ops(&self) -> u64 {
        let total = self.total_commands.load(Relaxed);
        let now = Instant::now();
        let mut s = self.ops_per_sec.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = s.last_at {
            let secs = now.duration_since(at).as_secs_f64();
            if secs > 0.0 {
                s.rate = ((total - s.last_total.min(total)) as f64 / secs) as u64;
            }
        }
        s.last_total = total;
        s.last_at = Some(now);
        s.rate
    }

    pub fn ops_per_sec(&self) -> u64 {
        self.ops_per_sec
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rate
    }

    /// CONFIG RESETSTAT: zero the counters that Redis zeroes.
    pub fn reset(&self) {
        for c in [
            &self.total_connections,
            &self.rejected_connections,
            &self.total_commands,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.keyspace_hits,
            &self.keyspace_misses,
        ] {
            c.store(0, Relaxed);
        }
        for c in self.per_command.iter() {
            c.calls.store(0, Relaxed);
            c.usec.store(0, Relaxed);
        }
        self.command_latency_ns.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_histogram_quantiles_are_upper_bounds() {
        let h = Log2Histogram::default();
        for v in [0, 1, 2, 3, 100, 1000, 1000, 1000, 1000, 1000] {
            h.record(v);
        }
        let counts = h.snapshot();
        assert_eq!(counts.iter().sum::<u64>(), 10);
        // The 5th of 10 sorted values is 100, in the bucket below 128.
        assert_eq!(Log2Histogram::quantile(&counts, 0.5), 128);
        assert_eq!(Log2Histogram::quantile(&counts, 0.6), 1024);
        assert_eq!(Log2Histogram::quantile(&counts, 0.1), 1);
        assert_eq!(Log2Histogram::quantile(&counts, 0.3), 4);
        assert_eq!(Log2Histogram::quantile(&[0; LOG2_BUCKETS], 0.5), 0);
    }
}
