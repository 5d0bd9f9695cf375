//! The shell's side of INFO, CONFIG SET, CONFIG RESETSTAT and CONFIG
//! REWRITE, and the one [`MetricsSnapshot`] that INFO, `/debug/vars` and
//! `/metrics` all render.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use myongoredis_core::command;
use myongoredis_core::config::{named, Param, Value};
use myongoredis_core::info::{InfoSection, ServerHooks};
use myongoredis_core::{Config, Mode, Store};

use crate::limits::{ClientSlots, Deadlines};
use crate::observer::LockStats;
use crate::stats::{Log2Histogram, MetricsSnapshot, ServerStats};

/// The Redis version whose behaviour this server reproduces.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

pub struct ShellHooks {
    pub stats: Arc<ServerStats>,
    pub locks: Arc<LockStats>,
    pub slots: Arc<ClientSlots>,
    pub deadlines: Arc<Deadlines>,
    pub mode: Mode,
    pub lock_count: u32,
    pub port: u16,
    /// The config file the server started from (absolute), for CONFIG
    /// REWRITE and INFO's `config_file`.
    pub config_file: Option<PathBuf>,
}

impl ShellHooks {
    /// Read every figure once. Keyspace figures take each lock in turn
    /// (never all at once), so a scrape never stops the whole server.
    pub fn snapshot(&self, store: &dyn Store) -> MetricsSnapshot {
        let s = &self.stats;
        let (mut keys, mut expires, mut expired) = (0u64, 0u64, 0u64);
        for lock in 0..store.lock_count() {
            let view = store.read(&[lock], "info");
            for ks in view.keyspaces() {
                keys += ks.len() as u64;
                expires += ks.volatile_len() as u64;
                expired += ks.expired_total();
            }
        }
        let all = command::all();
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
            used_memory: heap_in_use(),
            rss_bytes: rss_bytes(),
            commands,
            command_latency_ns: s.command_latency_ns.snapshot(),
            lock_totals: self.locks.snapshot(),
        }
    }
}

impl ServerHooks for ShellHooks {
    fn info_sections(&self, store: &dyn Store, config: &Config) -> Vec<InfoSection> {
        let file = self.config_file.as_deref();
        info_sections(&self.snapshot(store), &ConfigFields::read(config, file))
    }

    /// The parameters whose row says `Apply::Shell`: both change live
    /// state that connection threads read without taking the config lock.
    fn apply_config(&self, param: &'static Param, value: &Value) -> Result<(), String> {
        match (param.name, value) {
            // Connection threads re-read the idle limit at every wait.
            ("timeout", Value::Int(secs)) => self.deadlines.idle_secs.store(*secs as u64, Relaxed),
            // Clients over a lowered limit stay; new ones are refused.
            ("maxclients", Value::Int(max)) => self.slots.set_max(*max as usize),
            _ => return Err(format!("the shell cannot apply {} at run time", param.name)),
        }
        Ok(())
    }

    fn rewrite_config(&self, config: &Config) -> Result<(), String> {
        match &self.config_file {
            Some(path) => crate::config_file::rewrite_file(path, config),
            None => Err(myongoredis_core::cmd::config::NO_CONFIG_FILE.to_string()),
        }
    }

    fn reset_stats(&self, store: &dyn Store) {
        self.stats.reset();
        self.locks.reset();
        let expired: u64 = (0..store.lock_count())
            .map(|lock| {
                let view = store.read(&[lock], "resetstat");
                view.keyspaces().map(|ks| ks.expired_total()).sum::<u64>()
            })
            .sum();
        self.stats.expired_keys_baseline.store(expired, Relaxed);
    }
}

/// The INFO fields that report configuration, read from the registry
/// (never restated here: INFO and CONFIG GET cannot disagree).
pub struct ConfigFields {
    pub tcp_port: String,
    pub hz: String,
    pub config_file: String,
    pub maxclients: String,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
}

impl ConfigFields {
    pub fn read(config: &Config, file: Option<&std::path::Path>) -> ConfigFields {
        let text = |name| config.value(named(name)).to_string();
        ConfigFields {
            tcp_port: text("port"),
            hz: text("hz"),
            config_file: file.map(|f| f.display().to_string()).unwrap_or_default(),
            maxclients: text("maxclients"),
            maxmemory: config.int(named("maxmemory")) as u64,
            maxmemory_policy: text("maxmemory-policy"),
        }
    }
}

/// INFO's sections from a snapshot, in Redis's order, with Redis's field
/// names where Redis has the figure.
pub fn info_sections(m: &MetricsSnapshot, c: &ConfigFields) -> Vec<InfoSection> {
    let f =
        |pairs: Vec<(&str, String)>| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut sections = vec![
        InfoSection {
            name: "server",
            default: true,
            fields: f(vec![
                ("redis_version", m.redis_version.to_string()),
                ("myongoredis_version", m.version.to_string()),
                ("redis_mode", "standalone".into()),
                ("os", format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)),
                ("arch_bits", (usize::BITS).to_string()),
                ("multiplexing_api", "thread-per-connection".into()),
                ("process_id", m.process_id.to_string()),
                ("tcp_port", c.tcp_port.clone()),
                ("uptime_in_seconds", m.uptime_secs.to_string()),
                ("uptime_in_days", (m.uptime_secs / 86_400).to_string()),
                // Redis's dynamic-hz can raise `hz` above `configured_hz`
                // under load; here the cycle always runs at the configured
                // rate.
                ("hz", c.hz.clone()),
                ("configured_hz", c.hz.clone()),
                ("config_file", c.config_file.clone()),
                ("lock_mode", m.mode.to_string()),
            ]),
        },
        InfoSection {
            name: "clients",
            default: true,
            fields: f(vec![
                ("connected_clients", m.connected_clients.to_string()),
                ("maxclients", c.maxclients.clone()),
                ("blocked_clients", "0".into()),
            ]),
        },
        InfoSection {
            name: "memory",
            default: true,
            fields: f(vec![
                ("used_memory", m.used_memory.to_string()),
                ("used_memory_human", human_bytes(m.used_memory)),
                ("used_memory_rss", m.rss_bytes.to_string()),
                ("used_memory_rss_human", human_bytes(m.rss_bytes)),
                ("maxmemory", c.maxmemory.to_string()),
                ("maxmemory_policy", c.maxmemory_policy.clone()),
                ("mem_allocator", "libc".into()),
            ]),
        },
        InfoSection {
            name: "stats",
            default: true,
            fields: f(vec![
                ("total_connections_received", m.total_connections.to_string()),
                ("total_commands_processed", m.total_commands.to_string()),
                ("instantaneous_ops_per_sec", m.ops_per_sec.to_string()),
                ("total_net_input_bytes", m.net_input_bytes.to_string()),
                ("total_net_output_bytes", m.net_output_bytes.to_string()),
                ("rejected_connections", m.rejected_connections.to_string()),
                ("expired_keys", m.expired_keys.to_string()),
                ("keyspace_hits", m.keyspace_hits.to_string()),
                ("keyspace_misses", m.keyspace_misses.to_string()),
            ]),
        },
        InfoSection {
            name: "commandstats",
            default: false,
            fields: m
                .commands
                .iter()
                .map(|(name, calls, usec)| {
                    let per_call = *usec as f64 / (*calls).max(1) as f64;
                    (
                        format!("cmdstat_{name}"),
                        format!("calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls=0,failed_calls=0"),
                    )
                })
                .collect(),
        },
    ];
    sections.push(contention_section(m));
    sections
}

/// Our own section: how much the lock strategy made threads wait.
fn contention_section(m: &MetricsSnapshot) -> InfoSection {
    let sum = |f: fn(&crate::observer::LockTotals) -> u64| m.lock_totals.iter().map(f).sum::<u64>();
    let mut histogram = vec![0u64; 65];
    for t in &m.lock_totals {
        for (i, c) in t.wait_histogram.iter().enumerate() {
            histogram[i] += c;
        }
    }
    let q = |p: f64| Log2Histogram::quantile(&histogram, p) / 1000;
    let mut fields: Vec<(String, String)> = vec![
        ("contention_mode".into(), m.mode.to_string()),
        ("contention_locks".into(), m.locks.to_string()),
        (
            "lock_acquisitions".into(),
            sum(|t| t.acquisitions).to_string(),
        ),
        ("lock_contended".into(), sum(|t| t.contended).to_string()),
        (
            "lock_wait_us".into(),
            (sum(|t| t.wait_ns) / 1000).to_string(),
        ),
        (
            "lock_hold_us".into(),
            (sum(|t| t.hold_ns) / 1000).to_string(),
        ),
        ("lock_wait_p50_us".into(), q(0.5).to_string()),
        ("lock_wait_p99_us".into(), q(0.99).to_string()),
        (
            "lock_wait_max_us".into(),
            (m.lock_totals
                .iter()
                .map(|t| t.max_wait_ns)
                .max()
                .unwrap_or(0)
                / 1000)
                .to_string(),
        ),
    ];
    for (lock, t) in top_locks_by_wait(m, 5) {
        fields.push((
            format!("lock{lock}"),
            format!(
                "acquisitions={},contended={},wait_us={},hold_us={}",
                t.acquisitions,
                t.contended,
                t.wait_ns / 1000,
                t.hold_ns / 1000
            ),
        ));
    }
    InfoSection {
        name: "contention",
        default: true,
        fields,
    }
}

/// The `n` locks with the most waiting, most first.
pub fn top_locks_by_wait(
    m: &MetricsSnapshot,
    n: usize,
) -> Vec<(usize, &crate::observer::LockTotals)> {
    let mut locks: Vec<_> = m.lock_totals.iter().enumerate().collect();
    locks.sort_by(|a, b| b.1.wait_ns.cmp(&a.1.wait_ns).then(a.0.cmp(&b.0)));
    locks.truncate(n);
    locks
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2}{}", UNITS[unit])
}

/// Bytes the allocator has handed out and not yet taken back: our
/// `used_memory` (Redis counts its allocations the same way, in zmalloc).
fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics; it takes
    // no pointers and is safe to call from any thread.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

/// Resident set size from /proc/self/statm (pages × page size).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}
