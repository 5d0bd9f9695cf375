//! The exposition is checked three ways: by prometheus-parse (a third-party
//! reader), by a strict line grammar written here from the format's spec,
//! and by the histogram invariants Prometheus relies on.

use std::collections::{HashMap, HashSet};

use prometheus_parse::{LineInfo, Scrape, Value};

use super::*;
use crate::metrics::fixture;
use crate::stats::LOG2_BUCKETS;

/// Parse `text` with prometheus-parse, insisting that it understood every
/// line (it silently skips what it cannot read).
fn scrape(text: &str) -> Scrape {
    for line in text.lines() {
        assert!(
            !matches!(LineInfo::parse(line), LineInfo::Ignored | LineInfo::Empty),
            "prometheus-parse cannot read {line:?}"
        );
    }
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses")
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Split `{a="x",b="y\"z"}` into pairs, undoing the three escapes the
/// format allows (`\\`, `\"`, `\n`); panics on anything else.
fn parse_labels(mut rest: &str) -> (Vec<(String, String)>, &str) {
    let mut labels = Vec::new();
    rest = rest.strip_prefix('{').expect("labels start with {");
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        let (name, after) = rest.split_once("=\"").expect("label=\"value\"");
        assert!(
            is_name(name) && !name.starts_with("__"),
            "label name {name:?}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("escaped char").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("bad escape \\{other}"),
                },
                (_, '\n') => panic!("raw newline in label value"),
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// A sample line: name, labels, value.
type Line = (String, Vec<(String, String)>, f64);

/// Check the text format's grammar line by line; returns the samples and
/// each family's TYPE.
fn strict_parse(text: &str) -> (Vec<Line>, HashMap<String, String>) {
    assert!(text.ends_with('\n'), "the last line ends with a newline");
    let mut types = HashMap::new();
    let mut helps = HashSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP name text");
            assert!(
                is_name(name) && helps.insert(name.to_string()),
                "HELP {name}"
            );
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').expect("TYPE name type");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&ty),
                "{line}"
            );
            assert!(helps.contains(name), "HELP before TYPE for {name}");
            assert!(
                types.insert(name.to_string(), ty.to_string()).is_none(),
                "one TYPE for {name}"
            );
        } else {
            assert!(!line.starts_with('#'), "no other comments: {line}");
            let end = line.find(['{', ' ']).expect("a value");
            let name = &line[..end];
            assert!(is_name(name), "sample name {name:?}");
            let (labels, rest) = if line[end..].starts_with('{') {
                parse_labels(&line[end..])
            } else {
                (Vec::new(), &line[end..])
            };
            let value = rest.strip_prefix(' ').expect("a space before the value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
            };
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            assert!(
                types.contains_key(family),
                "TYPE before the samples of {name}"
            );
            samples.push((name.to_string(), labels, value));
        }
    }
    (samples, types)
}

fn value(samples: &[Line], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert_eq!(found.len(), 1, "one sample {name}{labels:?}");
    found[0]
}

/// Every histogram: bounds ascending and ending with +Inf, cumulative
/// counts never decreasing, +Inf equal to `_count`, a `_sum`.
fn check_histograms(text: &str, samples: &[Line], types: &HashMap<String, String>) -> usize {
    let parsed = scrape(text);
    let mut seen = 0;
    for sample in &parsed.samples {
        let Value::Histogram(buckets) = &sample.value else {
            continue;
        };
        seen += 1;
        assert_eq!(
            types.get(&sample.metric).map(String::as_str),
            Some("histogram")
        );
        let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "{} bounds ascend",
            sample.metric
        );
        assert_eq!(bounds.last(), Some(&f64::INFINITY));
        assert!(
            buckets.windows(2).all(|w| w[0].count <= w[1].count),
            "{} is cumulative",
            sample.metric
        );
        let labels: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let count = value(samples, &format!("{}_count", sample.metric), &labels);
        assert_eq!(
            buckets.last().map(|b| b.count),
            Some(count),
            "+Inf equals _count"
        );
        assert!(value(samples, &format!("{}_sum", sample.metric), &labels) >= 0.0);
    }
    seen
}

#[test]
fn every_line_parses_and_histograms_are_well_formed() {
    for (mode, locks) in [("mutex", 1), ("rw", 1), ("shard", 32)] {
        let text = render(fixture::snapshot(mode, locks));
        let (samples, types) = strict_parse(&text);
        // The command histogram and the lock-wait histogram, one series each.
        assert_eq!(check_histograms(&text, &samples, &types), 2, "{mode}");
        let lock_series = samples
            .iter()
            .filter(|(n, _, _)| n == "myongoredis_lock_acquisitions_total")
            .count();
        assert_eq!(lock_series, locks as usize);
    }
}

#[test]
fn uses_redis_exporter_names_types_and_labels() {
    let text = render(fixture::snapshot("mutex", 1));
    let (samples, types) = strict_parse(&text);
    let expect = [
        ("redis_up", "gauge", vec![], 1.0),
        ("redis_uptime_in_seconds", "gauge", vec![], 12.0),
        ("redis_process_id", "gauge", vec![], 4242.0),
        ("redis_connected_clients", "gauge", vec![], 3.0),
        ("redis_config_maxclients", "gauge", vec![], 10_000.0),
        ("redis_connections_received_total", "counter", vec![], 7.0),
        ("redis_rejected_connections_total", "counter", vec![], 1.0),
        ("redis_commands_processed_total", "counter", vec![], 1_234.0),
        ("redis_instantaneous_ops_per_sec", "gauge", vec![], 56.0),
        (
            "redis_commands_total",
            "counter",
            vec![("cmd", "set")],
            634.0,
        ),
        (
            "redis_commands_total",
            "counter",
            vec![("cmd", "config|get")],
            1.0,
        ),
        (
            "redis_commands_duration_seconds_total",
            "counter",
            vec![("cmd", "get")],
            0.0012,
        ),
        ("redis_net_input_bytes_total", "counter", vec![], 10_000.0),
        ("redis_net_output_bytes_total", "counter", vec![], 20_000.0),
        ("redis_keyspace_hits_total", "counter", vec![], 400.0),
        ("redis_keyspace_misses_total", "counter", vec![], 100.0),
        ("redis_expired_keys_total", "counter", vec![], 9.0),
        ("redis_db_keys", "gauge", vec![("db", "db0")], 42.0),
        ("redis_db_keys_expiring", "gauge", vec![("db", "db0")], 5.0),
        ("redis_memory_used_bytes", "gauge", vec![], 123_456.0),
        ("redis_memory_used_rss_bytes", "gauge", vec![], 7_654_321.0),
        (
            "redis_instance_info",
            "gauge",
            vec![("redis_version", "7.0.15"), ("tcp_port", "6379")],
            1.0,
        ),
        (
            "myongoredis_info",
            "gauge",
            vec![("mode", "mutex"), ("version", "0.1.0")],
            1.0,
        ),
        ("myongoredis_locks", "gauge", vec![("mode", "mutex")], 1.0),
        (
            "myongoredis_lock_acquisitions_total",
            "counter",
            vec![("mode", "mutex"), ("lock", "0")],
            100.0,
        ),
        (
            "myongoredis_lock_contended_total",
            "counter",
            vec![("mode", "mutex"), ("lock", "0")],
            1.0,
        ),
        (
            "myongoredis_lock_wait_seconds_total",
            "counter",
            vec![("lock", "0")],
            300e-9,
        ),
        (
            "myongoredis_lock_hold_seconds_total",
            "counter",
            vec![("lock", "0")],
            50e-6,
        ),
        (
            "myongoredis_lock_max_wait_seconds",
            "gauge",
            vec![("lock", "0")],
            300e-9,
        ),
    ];
    for (name, ty, labels, want) in expect {
        // The 0.0.4 TYPE line names a counter with its `_total`.
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(ty),
            "TYPE of {name}"
        );
        let got = value(&samples, name, &labels);
        assert!(
            (got - want).abs() <= want.abs() * 1e-9,
            "{name}{labels:?} = {got}, want {want}"
        );
    }
    let started = value(&samples, "redis_start_time_seconds", &[]);
    assert!(started > 1.6e9, "a plausible unix time: {started}");
}

#[test]
fn lock_wait_histogram_sums_all_shards() {
    let s = fixture::snapshot("shard", 4);
    let contended: u64 = s.lock_totals.iter().map(|t| t.contended).sum();
    let wait_ns: u64 = s.lock_totals.iter().map(|t| t.wait_ns).sum();
    let (samples, _) = strict_parse(&render(s));
    let mode = [("mode", "shard")];
    assert_eq!(
        value(
            &samples,
            "myongoredis_lock_wait_duration_seconds_count",
            &mode
        ),
        contended as f64
    );
    let sum = value(
        &samples,
        "myongoredis_lock_wait_duration_seconds_sum",
        &mode,
    );
    assert!((sum - wait_ns as f64 / 1e9).abs() < 1e-12);
    // Per lock: counters only; the histogram has no `lock` label.
    assert!(samples
        .iter()
        .filter(|(n, _, _)| n.starts_with("myongoredis_lock_wait_duration_seconds"))
        .all(|(_, l, _)| l.iter().all(|(k, _)| k != "lock")));
}

#[test]
fn log2_buckets_become_exact_inclusive_bounds() {
    let h = Log2Seconds::new(&fixture::histogram(&[]), 0.0);
    let bounds_ns: Vec<f64> = h
        .buckets
        .iter()
        .take(5)
        .map(|b| (b.0 * 1e9).round())
        .collect();
    assert_eq!(bounds_ns, vec![0.0, 1.0, 3.0, 7.0, 15.0]);
    assert_eq!(h.buckets.len(), TOP_BUCKET + 2);
    // A value lands in the first bucket whose bound is at least the value.
    for v in [0u64, 1, 2, 3, 4, 1000, 1023, 1024, (1 << TOP_BUCKET) - 1] {
        let h = Log2Seconds::new(&fixture::histogram(&[v]), 0.0);
        let i = h.buckets.iter().position(|b| b.1 == 1).expect("counted");
        let le_ns = (h.buckets[i].0 * 1e9).round() as u64;
        let below = if i == 0 {
            None
        } else {
            Some((h.buckets[i - 1].0 * 1e9).round() as u64)
        };
        assert!(
            v <= le_ns && below.is_none_or(|b| v > b),
            "{v} ns in le={le_ns}"
        );
    }
    // Beyond the top bound: only +Inf.
    let h = Log2Seconds::new(&fixture::histogram(&[1 << TOP_BUCKET, u64::MAX]), 0.0);
    assert_eq!(h.buckets.last(), Some(&(f64::INFINITY, 2)));
    assert_eq!(h.count, 2);
}

#[test]
fn label_values_are_escaped() {
    let mut s = fixture::snapshot("mutex", 1);
    s.commands.push(("we\"ird\\cmd\nx", 5, 10));
    let text = render(s);
    assert!(
        text.contains(r#"redis_commands_total{cmd="we\"ird\\cmd\nx"} 5"#),
        "{text}"
    );
    let (samples, _) = strict_parse(&text);
    assert_eq!(
        value(
            &samples,
            "redis_commands_total",
            &[("cmd", "we\"ird\\cmd\nx")]
        ),
        5.0
    );
}

#[test]
fn an_idle_server_renders_empty_families() {
    let mut s = fixture::snapshot("rw", 1);
    s.commands.clear();
    s.command_latency_ns = vec![0; LOG2_BUCKETS];
    s.lock_totals[0].wait_histogram = vec![0; LOG2_BUCKETS];
    let text = render(s);
    let (samples, types) = strict_parse(&text);
    assert_eq!(check_histograms(&text, &samples, &types), 2);
    assert_eq!(
        value(&samples, "myongoredis_command_duration_seconds_count", &[]),
        0.0
    );
}
