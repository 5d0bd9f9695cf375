//! INFO's shell-side sections: the figures only the server process knows
//! (clients, memory, stats, commandstats, contention), rendered from one
//! [`MetricsSnapshot`] in Redis's order with Redis's field names.
//!
//! Core renders the keyspace section and assembles the reply; this module
//! only turns figures into fields and never reads a counter itself.

use myongoredis_core::config::named;
use myongoredis_core::info::InfoSection;
use myongoredis_core::memory::human;
use myongoredis_core::Config;

use crate::observer::LockTotals;
use crate::snapshot::MetricsSnapshot;
use crate::stats::Log2Histogram;

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
                // Redis counts every allocation of the process in
                // used_memory; here it is the data's own count (keys,
                // values, tables), the figure maxmemory is held to, and
                // the allocator's total is allocator_allocated.
                ("used_memory", m.used_memory.to_string()),
                ("used_memory_human", human(m.used_memory)),
                ("used_memory_rss", m.rss_bytes.to_string()),
                ("used_memory_rss_human", human(m.rss_bytes)),
                ("used_memory_dataset", m.used_memory.to_string()),
                ("allocator_allocated", m.allocator_allocated.to_string()),
                ("maxmemory", c.maxmemory.to_string()),
                ("maxmemory_human", human(c.maxmemory)),
                ("maxmemory_policy", c.maxmemory_policy.clone()),
                (
                    "mem_fragmentation_ratio",
                    format!("{:.2}", m.rss_bytes as f64 / m.used_memory.max(1) as f64),
                ),
                ("mem_not_counted_for_evict", "0".into()),
                ("mem_allocator", "libc".into()),
            ]),
        },
        InfoSection {
            name: "persistence",
            default: true,
            fields: f(std::iter::once(("loading", "0".to_string()))
                .chain(m.persistence.iter().cloned())
                .collect()),
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
    let sum = |f: fn(&LockTotals) -> u64| m.lock_totals.iter().map(f).sum::<u64>();
    let histogram = m.wait_histogram();
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
    for (lock, t) in m.top_locks_by_wait(5) {
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
