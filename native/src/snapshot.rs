//! The one [`MetricsSnapshot`] that INFO, `/debug/vars`, `/metrics` and
//! the exit summary all render: every figure read once, so one report is
//! internally consistent and the surfaces cannot disagree.

use std::sync::atomic::Ordering::Relaxed;

use myongoredis_core::{cmd, Store};

use crate::hooks::ShellHooks;
use crate::memory;
use crate::observer::LockTotals;
use crate::stats::LOG2_BUCKETS;

/// The Redis version whose behaviour this server reproduces (core's, so
/// that INFO and HELLO say the same).
pub use myongoredis_core::info::REDIS_VERSION as REDIS_COMPAT_VERSION;

/// Everything the reporting surfaces (INFO, `/debug/vars`, `/metrics`)
/// show, read once so that one report is internally consistent.
#[derive(Clone, Debug)]
pub struct MetricsSnapshot {
    pub version: &'static str,
    /// Redis compatibility level reported as `redis_version`.
    pub redis_version: &'static str,
    pub mode: &'static str,
    pub locks: u32,
    pub process_id: u32,
    pub tcp_port: u16,
    pub uptime_secs: u64,
    pub cmdline: Vec<String>,
    pub connected_clients: u64,
    pub maxclients: u64,
    pub total_connections: u64,
    pub rejected_connections: u64,
    pub total_commands: u64,
    pub ops_per_sec: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub keys: u64,
    pub expires: u64,
    /// Estimated bytes held by keys and values (our own accounting).
    /// What the data holds, by the core's own count (the figure
    /// maxmemory is compared with).
    pub used_memory: u64,
    /// What the allocator has handed out, all of the process included.
    pub allocator_allocated: u64,
    /// Resident set size of the process, from /proc (0 where unknown).
    pub rss_bytes: u64,
    /// (command name, calls, total microseconds), commands with calls only.
    pub commands: Vec<(&'static str, u64, u64)>,
    /// Command latency histogram (nanoseconds, log2 buckets).
    pub command_latency_ns: Vec<u64>,
    /// Per lock, in lock order.
    pub lock_totals: Vec<LockTotals>,
    /// INFO persistence's fields after `loading` (RDB's, then AOF's).
    pub persistence: Vec<(&'static str, String)>,
}

impl MetricsSnapshot {
    /// The wait histograms of every lock added up: how long contended
    /// acquisitions waited, whichever lock they waited for.
    pub fn wait_histogram(&self) -> Vec<u64> {
        let mut histogram = vec![0u64; LOG2_BUCKETS];
        for t in &self.lock_totals {
            for (i, c) in t.wait_histogram.iter().enumerate() {
                histogram[i] += c;
            }
        }
        histogram
    }

    /// The `n` locks with the most waiting, most first.
    pub fn top_locks_by_wait(&self, n: usize) -> Vec<(usize, &LockTotals)> {
        let mut locks: Vec<_> = self.lock_totals.iter().enumerate().collect();
        locks.sort_by(|a, b| b.1.wait_ns.cmp(&a.1.wait_ns).then(a.0.cmp(&b.0)));
        locks.truncate(n);
        locks
    }
}

impl ShellHooks {
    /// Read every figure once. Keyspace figures take each lock in turn
    /// (never all at once), so a scrape never stops the whole server.
    pub fn snapshot(&self, store: &dyn Store) -> MetricsSnapshot {
        let s = &self.stats;
        let (mut keys, mut expires, mut expired) = (0u64, 0u64, 0u64);
        let mut used_memory = 0u64;
        for lock in 0..store.lock_count() {
            let view = store.read(&[lock], "info");
            used_memory += view.databases().map(|dbs| dbs.used_memory()).sum::<u64>();
            for (_, ks) in view.databases().flat_map(|dbs| dbs.iter()) {
                keys += ks.len() as u64;
                expires += ks.volatile_len() as u64;
                expired += ks.expired_total();
            }
        }
        let all = cmd::all();
        let commands = s
            .per_command
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let calls = c.calls.load(Relaxed);
                (calls > 0).then(|| (all[i].name, calls, c.usec.load(Relaxed)))
            })
            .collect();
        MetricsSnapshot {
            version: env!("CARGO_PKG_VERSION"),
            redis_version: REDIS_COMPAT_VERSION,
            mode: self.mode.name(),
            locks: self.lock_count,
            process_id: std::process::id(),
            tcp_port: self.port,
            uptime_secs: s.started.elapsed().as_secs(),
            cmdline: std::env::args().collect(),
            connected_clients: self.slots.in_use() as u64,
            maxclients: self.slots.max() as u64,
            total_connections: s.total_connections.load(Relaxed),
            rejected_connections: s.rejected_connections.load(Relaxed),
            total_commands: s.total_commands.load(Relaxed),
            ops_per_sec: s.ops_per_sec(),
            net_input_bytes: s.net_input_bytes.load(Relaxed),
            net_output_bytes: s.net_output_bytes.load(Relaxed),
            keyspace_hits: s.keyspace_hits.load(Relaxed),
            keyspace_misses: s.keyspace_misses.load(Relaxed),
            // Keys removed by expiry (lazily or by the active cycle),
            // counted by the keyspaces themselves, minus what RESETSTAT
            // zeroed.
            expired_keys: expired.saturating_sub(s.expired_keys_baseline.load(Relaxed)),
            keys,
            expires,
            used_memory,
            allocator_allocated: memory::heap_in_use(),
            rss_bytes: memory::rss_bytes(),
            commands,
            command_latency_ns: s.command_latency_ns.snapshot(),
            lock_totals: self.locks.snapshot(),
            persistence: {
                let mut fields = self.rdb.info_fields(s.dirty.load(Relaxed));
                fields.extend(self.aof_status.info_fields());
                fields
            },
        }
    }
}
