//! `GET /metrics`: the Prometheus text exposition format, version 0.0.4.
//!
//! ## Names
//! Where oliver006/redis_exporter (what Redis users already scrape, and
//! what the common Grafana dashboards query) has a metric for the same
//! figure, we use its exact name, type and labels: `redis_connected_clients`,
//! `redis_commands_total{cmd="get"}`, `redis_db_keys{db="db0"}`, ... (the
//! full list is [`redis_exporter_families`]). A dashboard built for
//! redis_exporter therefore works against us directly, no exporter needed.
//!
//! What redis_exporter cannot know, lock contention and latency
//! histograms, is ours and is prefixed `myongoredis_`; every such series
//! carries a `mode` label (`mutex`, `rw`, `shard`) so runs of different
//! modes can sit side by side in one Prometheus. See [`own_families`].
//! Figures redis_exporter already names (connections, bytes, keys, expired
//! keys, calls per command) are *not* repeated under our prefix: two names
//! for one counter would make every `sum()` over a job count it twice.
//!
//! ## Histograms from log2 buckets
//! The server keeps latencies in [`Log2Histogram`]s: bucket `i` counts
//! integer nanoseconds in `[2^(i-1), 2^i)`, bucket 0 counts zeros.
//! Prometheus bucket bounds are inclusive (`le`, "at most"), so the exact
//! bound of log2 bucket `i` is `2^i - 1` ns: `le="0"`, `1e-09`, `3e-09`,
//! `7e-09`, ... seconds. Buckets are cumulative, end with `+Inf`, and the
//! set of bounds is the same on every scrape (up to [`TOP_BUCKET`]), which
//! `histogram_quantile` over `rate()` needs.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeMetric,
    MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::observer::LockTotals;
use crate::snapshot::MetricsSnapshot;
use crate::stats::Log2Histogram;

/// The highest log2 bucket exposed with its own bound: `2^36 - 1` ns, about
/// 69 s. Anything slower is only in `+Inf`. Lock waits and commands are
/// nanoseconds to milliseconds; 37 bounds cover that with room to spare
/// while keeping a histogram to 40 lines instead of 67.
pub const TOP_BUCKET: usize = 36;

/// The text of one snapshot. A fresh [`Registry`] per scrape: the server
/// never holds prometheus-client types, it only hands over a snapshot.
pub fn render(snapshot: MetricsSnapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition(snapshot)));
    let mut text = String::new();
    // The encoder only fails when its writer does, and a String never does.
    prometheus_text::encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

/// The whole exposition as one prometheus-client [`Collector`]: every
/// value is a constant read from the snapshot.
#[derive(Debug)]
struct Exposition(MetricsSnapshot);

impl Collector for Exposition {
    fn encode(&self, mut out: DescriptorEncoder) -> fmt::Result {
        redis_exporter_families(&self.0, &mut out)?;
        own_families(&self.0, &mut out)
    }
}

/// The families redis_exporter also exports, under its names. Its `_total`
/// names are counters (`total_commands_processed` → `..._total`); what it
/// exports as gauges stays a gauge here.
fn redis_exporter_families(s: &MetricsSnapshot, out: &mut DescriptorEncoder) -> fmt::Result {
    // Registered names of counters omit `_total`: the encoder appends it.
    gauge(
        out,
        "redis_up",
        "1 if the server answered this scrape (always, when served by the server itself)",
        1,
    )?;
    // redis_exporter's labels, less the three we have no value for
    // (`redis_build_id`, `maxmemory_policy`, `run_id`): to PromQL a missing
    // label and an empty one are the same thing.
    family(
        out,
        "redis_instance_info",
        "Information about the Redis instance",
        MetricType::Gauge,
        [(
            vec![
                ("role", "master".to_string()),
                ("redis_version", s.redis_version.to_string()),
                ("redis_mode", "standalone".to_string()),
                (
                    "os",
                    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
                ),
                ("tcp_port", s.tcp_port.to_string()),
                ("process_id", s.process_id.to_string()),
            ],
            ConstGauge::new(1),
        )],
    )?;
    gauge(
        out,
        "redis_uptime_in_seconds",
        "Seconds since the server started",
        s.uptime_secs,
    )?;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs().saturating_sub(s.uptime_secs));
    gauge(
        out,
        "redis_start_time_seconds",
        "Start time of the server since unix epoch in seconds",
        started,
    )?;
    gauge(
        out,
        "redis_process_id",
        "Process id of the server",
        s.process_id,
    )?;

    gauge(
        out,
        "redis_connected_clients",
        "Client connections open now",
        s.connected_clients,
    )?;
    gauge(
        out,
        "redis_config_maxclients",
        "The maxclients setting: connections beyond it are refused",
        s.maxclients,
    )?;
    counter(
        out,
        "redis_connections_received",
        "Connections accepted since start",
        s.total_connections,
    )?;
    counter(
        out,
        "redis_rejected_connections",
        "Connections refused because of maxclients",
        s.rejected_connections,
    )?;

    counter(
        out,
        "redis_commands_processed",
        "Commands executed since start",
        s.total_commands,
    )?;
    // redis_exporter dropped this gauge (it asks for rate() of the counter
    // above); older versions exported it under this name, and INFO has it.
    gauge(
        out,
        "redis_instantaneous_ops_per_sec",
        "Commands per second over the last second, as in INFO",
        s.ops_per_sec,
    )?;
    family(
        out,
        "redis_commands",
        "Total number of calls per command",
        MetricType::Counter,
        s.commands
            .iter()
            .map(|&(cmd, calls, _)| (cmd_label(cmd), ConstCounter::new(calls))),
    )?;
    family(
        out,
        "redis_commands_duration_seconds",
        "Total amount of time in seconds spent per command",
        MetricType::Counter,
        s.commands
            .iter()
            .map(|&(cmd, _, usec)| (cmd_label(cmd), ConstCounter::new(usec as f64 / 1e6))),
    )?;

    counter(
        out,
        "redis_net_input_bytes",
        "Bytes read from clients",
        s.net_input_bytes,
    )?;
    counter(
        out,
        "redis_net_output_bytes",
        "Bytes written to clients",
        s.net_output_bytes,
    )?;
    counter(
        out,
        "redis_keyspace_hits",
        "Lookups of keys that existed",
        s.keyspace_hits,
    )?;
    counter(
        out,
        "redis_keyspace_misses",
        "Lookups of keys that did not exist",
        s.keyspace_misses,
    )?;
    counter(
        out,
        "redis_expired_keys",
        "Keys removed because their TTL passed",
        s.expired_keys,
    )?;
    let db0 = || vec![("db", "db0".to_string())];
    family(
        out,
        "redis_db_keys",
        "Total number of keys by DB",
        MetricType::Gauge,
        [(db0(), ConstGauge::new(s.keys))],
    )?;
    family(
        out,
        "redis_db_keys_expiring",
        "Total number of expiring keys by DB",
        MetricType::Gauge,
        [(db0(), ConstGauge::new(s.expires))],
    )?;

    gauge(
        out,
        "redis_memory_used_bytes",
        "Bytes held by keys and values, by our own accounting",
        s.used_memory,
    )?;
    gauge(
        out,
        "redis_memory_used_rss_bytes",
        "Resident set size of the process",
        s.rss_bytes,
    )
}

/// Our own families: the lock each command takes, and how long it waited.
fn own_families(s: &MetricsSnapshot, out: &mut DescriptorEncoder) -> fmt::Result {
    let mode = || ("mode", s.mode.to_string());
    family(
        out,
        "myongoredis",
        "The server's version and lock mode",
        MetricType::Info,
        [(vec![("version", s.version.to_string()), mode()], Info)],
    )?;
    family(
        out,
        "myongoredis_locks",
        "Locks guarding the keyspace: 1 in mutex and rw mode, the shard count in shard mode",
        MetricType::Gauge,
        [(vec![mode()], ConstGauge::new(s.locks))],
    )?;

    // Per lock (per shard in shard mode): counters only, since 32 shards
    // times 40 histogram lines would drown the page.
    family(
        out,
        "myongoredis_lock_acquisitions",
        "Times the lock was taken",
        MetricType::Counter,
        per_lock(s, |t| ConstCounter::new(t.acquisitions)),
    )?;
    family(
        out,
        "myongoredis_lock_contended",
        "Acquisitions that found the lock held and had to wait",
        MetricType::Counter,
        per_lock(s, |t| ConstCounter::new(t.contended)),
    )?;
    family(
        out,
        "myongoredis_lock_wait_seconds",
        "Time spent waiting for the lock (contended acquisitions only)",
        MetricType::Counter,
        per_lock(s, |t| ConstCounter::new(t.wait_ns as f64 / 1e9)),
    )?;
    family(
        out,
        "myongoredis_lock_hold_seconds",
        "Time the lock was held",
        MetricType::Counter,
        per_lock(s, |t| ConstCounter::new(t.hold_ns as f64 / 1e9)),
    )?;
    family(
        out,
        "myongoredis_lock_max_wait_seconds",
        "Longest single wait for the lock since start",
        MetricType::Gauge,
        per_lock(s, |t| ConstGauge::new(t.max_wait_ns as f64 / 1e9)),
    )?;

    // One wait histogram per mode, summed over the locks.
    let mut waits = vec![0u64; s.lock_totals.first().map_or(0, |t| t.wait_histogram.len())];
    for t in &s.lock_totals {
        for (sum, c) in waits.iter_mut().zip(&t.wait_histogram) {
            *sum += c;
        }
    }
    let wait_sum_ns: u64 = s.lock_totals.iter().map(|t| t.wait_ns).sum();
    family(
        out,
        "myongoredis_lock_wait_duration_seconds",
        "Wait of contended lock acquisitions, all locks together",
        MetricType::Histogram,
        [(
            vec![mode()],
            Log2Seconds::new(&waits, wait_sum_ns as f64 / 1e9),
        )],
    )?;

    // The snapshot has no latency sum; the commandstats total is the same
    // execution time measured in microseconds, so `_sum / _count` is the
    // mean latency to within a microsecond per command.
    let usec: u64 = s.commands.iter().map(|&(_, _, usec)| usec).sum();
    family(
        out,
        "myongoredis_command_duration_seconds",
        "Command execution latency",
        MetricType::Histogram,
        [(
            vec![mode()],
            Log2Seconds::new(&s.command_latency_ns, usec as f64 / 1e6),
        )],
    )
}

/// Labels of one series.
type Labels = Vec<(&'static str, String)>;

/// One series per lock, labelled with the mode and the lock's index (its
/// shard number in shard mode, always 0 otherwise).
fn per_lock<'a, M>(
    s: &'a MetricsSnapshot,
    value: impl Fn(&LockTotals) -> M + 'a,
) -> impl Iterator<Item = (Labels, M)> + 'a {
    s.lock_totals.iter().enumerate().map(move |(lock, t)| {
        (
            vec![("mode", s.mode.to_string()), ("lock", lock.to_string())],
            value(t),
        )
    })
}

/// redis_exporter's `cmd` label: the lowercase command name.
fn cmd_label(cmd: &str) -> Labels {
    vec![("cmd", cmd.to_ascii_lowercase())]
}

fn gauge(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl EncodeGaugeValue,
) -> fmt::Result {
    ConstGauge::new(value).encode(out.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn counter(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl EncodeCounterValue,
) -> fmt::Result {
    ConstCounter::new(value).encode(out.encode_descriptor(name, help, None, MetricType::Counter)?)
}

/// One family: HELP and TYPE once, then one sample (or, for histograms,
/// one group of samples) per label set.
fn family<M: EncodeMetric>(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric_type: MetricType,
    series: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    let mut metric = out.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in series {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// The value of an info metric: its labels are the information.
struct Info;

impl EncodeMetric for Info {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        let no_more_labels: [(&str, &str); 0] = [];
        encoder.encode_info(&no_more_labels)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Info
    }
}

/// A [`Log2Histogram`] snapshot (nanoseconds) as a Prometheus histogram in
/// seconds.
struct Log2Seconds {
    /// `(inclusive upper bound in seconds, count in this bucket alone)`;
    /// the encoder makes them cumulative. The last bound is `+Inf`.
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum_seconds: f64,
}

impl Log2Seconds {
    fn new(counts: &[u64], sum_seconds: f64) -> Log2Seconds {
        let split = counts.len().min(TOP_BUCKET + 1);
        let mut buckets: Vec<(f64, u64)> = (0..=TOP_BUCKET)
            .map(|i| {
                // Integer nanoseconds below 2^i are at most 2^i - 1.
                let le_ns = Log2Histogram::bucket_limit(i) - 1;
                (le_ns as f64 / 1e9, counts.get(i).copied().unwrap_or(0))
            })
            .collect();
        buckets.push((f64::INFINITY, counts[split..].iter().sum()));
        Log2Seconds {
            buckets,
            count: counts.iter().sum(),
            sum_seconds,
        }
    }
}

impl EncodeMetric for Log2Seconds {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        encoder.encode_histogram::<NoLabelSet>(self.sum_seconds, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests;
