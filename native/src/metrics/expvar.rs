//! `GET /debug/vars`: expvar-style JSON, the shape Go's `expvar` serves and
//! the Go original exposed.
//!
//! Like expvar, one flat JSON object of named variables: `cmdline` (the
//! process arguments) and `memstats` (memory figures) first, then our own
//! counters under the names `INFO` uses for them (`connected_clients`,
//! `total_commands_processed`, `keyspace_hits`, ...), so a reader who knows
//! one surface knows the other. Three nested ones: `commands` (INFO's
//! commandstats), `command_latency_ns` and `lock_totals` (one entry per
//! lock, in lock order: one in `mutex`/`rw` mode, one per shard in `shard`).
//!
//! Go's `memstats` describes the Go heap; we have no GC, so ours holds what
//! the process can read cheaply about itself: our own `used_memory`
//! accounting, and the kernel's view from `/proc/self/status` (resident and
//! virtual size with their peaks, data segment, threads). On systems without
//! `/proc` only the first two fields are present.

use serde::Serialize;

use crate::snapshot::MetricsSnapshot;
use crate::stats::Log2Histogram;

/// The JSON text of one snapshot.
pub fn render(s: &MetricsSnapshot) -> String {
    let vars = Vars {
        cmdline: &s.cmdline,
        memstats: MemStats::read(s),
        version: s.version,
        redis_version: s.redis_version,
        mode: s.mode,
        locks: s.locks,
        process_id: s.process_id,
        tcp_port: s.tcp_port,
        uptime_in_seconds: s.uptime_secs,
        connected_clients: s.connected_clients,
        maxclients: s.maxclients,
        total_connections_received: s.total_connections,
        rejected_connections: s.rejected_connections,
        total_commands_processed: s.total_commands,
        instantaneous_ops_per_sec: s.ops_per_sec,
        total_net_input_bytes: s.net_input_bytes,
        total_net_output_bytes: s.net_output_bytes,
        keyspace_hits: s.keyspace_hits,
        keyspace_misses: s.keyspace_misses,
        expired_keys: s.expired_keys,
        keys: s.keys,
        expires: s.expires,
        used_memory: s.used_memory,
        commands: Commands(&s.commands),
        command_latency_ns: Latency::of(&s.command_latency_ns),
        lock_totals: s
            .lock_totals
            .iter()
            .enumerate()
            .map(|(lock, t)| LockVars {
                lock,
                acquisitions: t.acquisitions,
                contended: t.contended,
                wait_ns: t.wait_ns,
                hold_ns: t.hold_ns,
                max_wait_ns: t.max_wait_ns,
                wait_ns_histogram: Latency::of(&t.wait_histogram),
            })
            .collect(),
    };
    // Laid out as Go's expvar does: one variable per line, each value
    // compact, so `curl` output is readable and `jq` still works.
    // Serializing plain structs of numbers, strings and string-keyed maps
    // cannot fail, and a struct always becomes an object.
    let serde_json::Value::Object(vars) =
        serde_json::to_value(&vars).expect("plain data serializes")
    else {
        unreachable!("a struct serializes to an object")
    };
    let lines: Vec<String> = vars
        .iter()
        .map(|(name, value)| format!("{}: {value}", serde_json::Value::from(name.as_str())))
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

#[derive(Serialize)]
struct Vars<'a> {
    cmdline: &'a [String],
    memstats: MemStats,
    version: &'a str,
    redis_version: &'a str,
    mode: &'a str,
    /// How many locks the store has: 1, or the shard count.
    locks: u32,
    process_id: u32,
    tcp_port: u16,
    uptime_in_seconds: u64,
    connected_clients: u64,
    maxclients: u64,
    total_connections_received: u64,
    rejected_connections: u64,
    total_commands_processed: u64,
    instantaneous_ops_per_sec: u64,
    total_net_input_bytes: u64,
    total_net_output_bytes: u64,
    keyspace_hits: u64,
    keyspace_misses: u64,
    expired_keys: u64,
    keys: u64,
    expires: u64,
    used_memory: u64,
    commands: Commands<'a>,
    command_latency_ns: Latency,
    lock_totals: Vec<LockVars>,
}

/// INFO's commandstats as an object keyed by command name, in command-table
/// order, commands with calls only: `{"get": {"calls": .., "usec": ..,
/// "usec_per_call": ..}, ...}`.
struct Commands<'a>(&'a [(&'static str, u64, u64)]);

#[derive(Serialize)]
struct CommandStats {
    calls: u64,
    usec: u64,
    usec_per_call: f64,
}

impl Serialize for Commands<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|&(name, calls, usec)| {
            let stats = CommandStats {
                calls,
                usec,
                usec_per_call: if calls == 0 {
                    0.0
                } else {
                    usec as f64 / calls as f64
                },
            };
            (name, stats)
        }))
    }
}

#[derive(Serialize)]
struct LockVars {
    lock: usize,
    acquisitions: u64,
    contended: u64,
    wait_ns: u64,
    hold_ns: u64,
    max_wait_ns: u64,
    /// Wait of contended acquisitions only.
    wait_ns_histogram: Latency,
}

/// A log2 histogram for people: its count, upper bounds of the usual
/// quantiles (good to a factor of two, see [`Log2Histogram`]) and the
/// non-empty buckets as `[upper bound (exclusive), count]` pairs.
#[derive(Serialize)]
struct Latency {
    count: u64,
    p50: u64,
    p99: u64,
    p999: u64,
    buckets: Vec<(u64, u64)>,
}

impl Latency {
    fn of(counts: &[u64]) -> Latency {
        Latency {
            count: counts.iter().sum(),
            p50: Log2Histogram::quantile(counts, 0.5),
            p99: Log2Histogram::quantile(counts, 0.99),
            p999: Log2Histogram::quantile(counts, 0.999),
            buckets: counts
                .iter()
                .enumerate()
                .filter(|&(_, &c)| c > 0)
                .map(|(i, &c)| (Log2Histogram::bucket_limit(i), c))
                .collect(),
        }
    }
}

/// Memory and process figures, after Go's `runtime.MemStats` in spirit.
#[derive(Serialize)]
struct MemStats {
    /// Bytes held by keys and values, by our own accounting (INFO's
    /// `used_memory`).
    used_memory: u64,
    /// Resident set size, as the snapshot read it (INFO's `used_memory_rss`).
    rss_bytes: u64,
    #[serde(flatten)]
    process: Option<ProcStatus>,
}

impl MemStats {
    fn read(s: &MetricsSnapshot) -> MemStats {
        MemStats {
            used_memory: s.used_memory,
            rss_bytes: s.rss_bytes,
            process: std::fs::read_to_string("/proc/self/status")
                .ok()
                .map(|text| ProcStatus::parse(&text)),
        }
    }
}

/// The cheap lines of `/proc/self/status` (see proc(5)); the kernel gives
/// sizes in kB, we give bytes.
#[derive(Serialize, Default, Debug, PartialEq)]
struct ProcStatus {
    /// `VmHWM`: the highest resident set size so far.
    rss_peak_bytes: u64,
    /// `RssAnon`: resident anonymous memory (the heap, stacks).
    rss_anon_bytes: u64,
    /// `VmSize` and `VmPeak`: address space reserved, now and at most.
    virtual_bytes: u64,
    virtual_peak_bytes: u64,
    /// `VmData`: the data segment plus anonymous mappings.
    data_bytes: u64,
    /// `Threads`: one per connection plus the acceptor, expiry, stats
    /// and this metrics thread.
    threads: u64,
    voluntary_ctxt_switches: u64,
    nonvoluntary_ctxt_switches: u64,
}

impl ProcStatus {
    fn parse(text: &str) -> ProcStatus {
        let mut p = ProcStatus::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let mut words = value.split_whitespace();
            let Some(Ok(n)) = words.next().map(str::parse::<u64>) else {
                continue;
            };
            let n = if words.next() == Some("kB") {
                n * 1024
            } else {
                n
            };
            let field = match key {
                "VmHWM" => &mut p.rss_peak_bytes,
                "RssAnon" => &mut p.rss_anon_bytes,
                "VmSize" => &mut p.virtual_bytes,
                "VmPeak" => &mut p.virtual_peak_bytes,
                "VmData" => &mut p.data_bytes,
                "Threads" => &mut p.threads,
                "voluntary_ctxt_switches" => &mut p.voluntary_ctxt_switches,
                "nonvoluntary_ctxt_switches" => &mut p.nonvoluntary_ctxt_switches,
                _ => continue,
            };
            *field = n;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture;

    #[test]
    fn renders_valid_json_with_the_expvar_fields() {
        let s = fixture::snapshot("shard", 4);
        let text = render(&s);
        assert!(
            text.starts_with("{\n\"cmdline\": [\"myongoredis\","),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        // One variable per line, between the braces.
        let inner: Vec<&str> = text.lines().skip(1).take_while(|l| *l != "}").collect();
        assert!(inner.iter().all(|l| l.starts_with('"')), "{text}");
        assert_eq!(
            inner.len(),
            json.as_object().map_or(0, |o| o.len()),
            "{text}"
        );
        assert_eq!(json["cmdline"][3], "weird \"arg\"\n");
        assert_eq!(json["memstats"]["used_memory"], 123_456);
        assert_eq!(json["memstats"]["rss_bytes"], 7_654_321);
        if cfg!(target_os = "linux") {
            assert!(json["memstats"]["threads"].as_u64().unwrap() >= 1);
            assert!(json["memstats"]["rss_peak_bytes"].as_u64().unwrap() > 0);
        }
        for (field, want) in [
            ("mode", serde_json::json!("shard")),
            ("locks", 4.into()),
            ("connected_clients", 3.into()),
            ("total_commands_processed", 1_234.into()),
            ("instantaneous_ops_per_sec", 56.into()),
            ("keys", 42.into()),
            ("expires", 5.into()),
            ("expired_keys", 9.into()),
            ("keyspace_hits", 400.into()),
            ("keyspace_misses", 100.into()),
            ("total_net_input_bytes", 10_000.into()),
            ("total_net_output_bytes", 20_000.into()),
            ("rejected_connections", 1.into()),
        ] {
            assert_eq!(json[field], want, "{field}");
        }
        assert_eq!(json["commands"]["set"]["calls"], 634);
        assert_eq!(json["commands"]["get"]["usec_per_call"], 2.0);
        assert_eq!(json["command_latency_ns"]["count"], 8);
        let locks = json["lock_totals"].as_array().expect("an array");
        assert_eq!(locks.len(), 4);
        assert_eq!(locks[3]["lock"], 3);
        assert_eq!(locks[3]["contended"], 4);
        assert_eq!(locks[3]["wait_ns_histogram"]["count"], 4);
    }

    #[test]
    fn latency_lists_non_empty_buckets_by_exclusive_upper_bound() {
        let l = Latency::of(&fixture::histogram(&[0, 3, 3, 1000]));
        assert_eq!(l.count, 4);
        assert_eq!(l.buckets, vec![(1, 1), (4, 2), (1024, 1)]);
        assert_eq!((l.p50, l.p99), (4, 1024));
    }

    #[test]
    fn parses_proc_status_lines() {
        let text = "Name:\tmyongoredis\nVmPeak:\t  20 kB\nVmSize:\t  10 kB\nVmHWM:\t 3 kB\n\
                    RssAnon:\t 2 kB\nVmData:\t 5 kB\nThreads:\t7\nvoluntary_ctxt_switches:\t11\n\
                    nonvoluntary_ctxt_switches:\t1\nSigQ:\t0/1\n";
        assert_eq!(
            ProcStatus::parse(text),
            ProcStatus {
                rss_peak_bytes: 3 * 1024,
                rss_anon_bytes: 2 * 1024,
                virtual_bytes: 10 * 1024,
                virtual_peak_bytes: 20 * 1024,
                data_bytes: 5 * 1024,
                threads: 7,
                voluntary_ctxt_switches: 11,
                nonvoluntary_ctxt_switches: 1,
            }
        );
    }
}
