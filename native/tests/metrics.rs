//! `--metrics-addr` end to end: the real binary, a real Redis client, and
//! plain HTTP/1.0 requests to `/debug/vars` and `/metrics` (loopback only,
//! every wait bounded).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use myongoredis_testsupport::ServerProcess;

/// The server started with `--metrics-addr 127.0.0.1:0`, killed on drop.
struct MetricsServer {
    server: ServerProcess,
    metrics: SocketAddr,
}

impl MetricsServer {
    /// Start the server and read its second stdout line, after `...
    /// listening on ADDR`: `metrics on http://ADDR`.
    fn start(mode: &str) -> MetricsServer {
        let server = ServerProcess::start(mode, &["--metrics-addr", "127.0.0.1:0"]);
        let metrics = server
            .next_stdout_line()
            .expect("server did not print its metrics line");
        assert!(metrics.starts_with("metrics on http://"), "{metrics:?}");
        let metrics = metrics
            .rsplit(' ')
            .next()
            .and_then(|a| a.strip_prefix("http://"))
            .and_then(|a| a.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no address in {metrics:?}"));
        MetricsServer { server, metrics }
    }

    fn client(&self) -> redis::Connection {
        self.server.client()
    }

    /// `GET path` over HTTP/1.0; returns (status, content type, body).
    fn get(&self, path: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.metrics).expect("metrics port connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.metrics
        )
        .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read to EOF");
        let (head, body) = response.split_once("\r\n\r\n").expect("headers end");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("status line in {head:?}"));
        let content_type = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            })
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        (status, content_type, body.to_string())
    }

    /// Scrape `/metrics` until `done` accepts it: counters are published
    /// per batch, possibly just after the reply went out.
    fn scrape_until(&self, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, content_type, body) = self.get("/metrics");
            assert_eq!(status, 200);
            assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
            let samples = parse_exposition(&body);
            if done(&samples) || Instant::now() > deadline {
                return samples;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parse with prometheus-parse, insisting that every line is a HELP, a
/// TYPE or a sample it understood, then flatten to samples.
fn parse_exposition(text: &str) -> Vec<Sample> {
    use prometheus_parse::{LineInfo, Scrape, Value};
    for line in text.lines() {
        assert!(
            !matches!(LineInfo::parse(line), LineInfo::Ignored | LineInfo::Empty),
            "not Prometheus text: {line:?}"
        );
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    let mut samples = Vec::new();
    for s in scrape.samples {
        let labels: Vec<(String, String)> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => {
                samples.push((s.metric, labels, v))
            }
            Value::Histogram(buckets) => {
                let counts: Vec<f64> = buckets.iter().map(|b| b.count).collect();
                assert!(
                    counts.windows(2).all(|w| w[0] <= w[1]),
                    "{} buckets are cumulative",
                    s.metric
                );
                assert_eq!(buckets.last().map(|b| b.less_than), Some(f64::INFINITY));
                let inf = counts.last().copied().unwrap_or(0.0);
                samples.push((format!("{}_bucket_inf", s.metric), labels, inf));
            }
            Value::Summary(_) => panic!("no summaries expected"),
        }
    }
    // +Inf equals _count for every histogram.
    for (name, labels, inf) in samples
        .iter()
        .filter(|(n, _, _)| n.ends_with("_bucket_inf"))
    {
        let count = name.replace("_bucket_inf", "_count");
        assert_eq!(
            find(&samples, &count, &labels_ref(labels)),
            Some(*inf),
            "{count}"
        );
    }
    samples
}

fn labels_ref(labels: &[(String, String)]) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The value of the one sample named `name` whose labels include `labels`.
fn find(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v);
    let first = found.next();
    assert!(found.next().is_none(), "more than one {name}{labels:?}");
    first
}

fn check_mode(mode: &str) {
    let server = MetricsServer::start(mode);
    let mut con = server.client();
    for i in 0..3 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .expect("SET");
    }
    let _: Option<String> = redis::cmd("GET").arg("k0").query(&mut con).expect("GET");
    let _: Option<String> = redis::cmd("GET")
        .arg("absent")
        .query(&mut con)
        .expect("GET");

    let samples =
        server.scrape_until(|s| find(s, "redis_commands_total", &[("cmd", "set")]) == Some(3.0));
    assert_eq!(
        find(&samples, "redis_commands_total", &[("cmd", "set")]),
        Some(3.0)
    );
    assert!(find(&samples, "redis_commands_total", &[("cmd", "get")]) >= Some(2.0));
    assert!(find(&samples, "redis_connected_clients", &[]) >= Some(1.0));
    assert!(find(&samples, "redis_commands_processed_total", &[]) >= Some(5.0));
    assert_eq!(find(&samples, "redis_db_keys", &[("db", "db0")]), Some(3.0));
    assert_eq!(find(&samples, "redis_up", &[]), Some(1.0));
    assert!(find(
        &samples,
        "redis_commands_duration_seconds_total",
        &[("cmd", "set")]
    )
    .is_some());
    assert_eq!(
        find(&samples, "myongoredis_info", &[("mode", mode)]),
        Some(1.0)
    );
    let locks = find(&samples, "myongoredis_locks", &[("mode", mode)]).expect("lock count");
    let per_lock = samples
        .iter()
        .filter(|(n, _, _)| n == "myongoredis_lock_acquisitions_total")
        .count();
    assert_eq!(per_lock as f64, locks, "one acquisitions series per lock");
    let acquired: f64 = samples
        .iter()
        .filter(|(n, _, _)| n == "myongoredis_lock_acquisitions_total")
        .map(|(_, _, v)| v)
        .sum();
    assert!(acquired >= 5.0, "every command took a lock: {acquired}");
    assert!(find(&samples, "myongoredis_command_duration_seconds_count", &[]) >= Some(5.0));
    assert!(find(
        &samples,
        "myongoredis_lock_wait_duration_seconds_count",
        &[("mode", mode)]
    )
    .is_some());

    let (status, content_type, body) = server.get("/debug/vars");
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let vars: serde_json::Value = serde_json::from_str(&body).expect("/debug/vars is JSON");
    let cmdline: Vec<&str> = vars["cmdline"]
        .as_array()
        .expect("cmdline")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(cmdline.contains(&"--metrics-addr"), "{cmdline:?}");
    assert!(vars["memstats"]["rss_bytes"].as_u64().expect("rss_bytes") > 0);
    assert!(vars["memstats"]["used_memory"].is_u64());
    assert_eq!(vars["mode"], mode);
    assert!(vars["connected_clients"].as_u64() >= Some(1));
    assert!(vars["total_commands_processed"].as_u64() >= Some(5));
    assert_eq!(vars["commands"]["set"]["calls"], 3);
    assert_eq!(vars["keys"], 3);
    assert!(vars["keyspace_misses"].as_u64() >= Some(1));
    assert_eq!(
        vars["lock_totals"].as_array().map(Vec::len),
        Some(locks as usize)
    );

    assert_eq!(server.get("/nope").0, 404);
}

#[test]
fn metrics_endpoints_in_mutex_mode() {
    check_mode("mutex");
}

#[test]
fn metrics_endpoints_in_rw_mode() {
    check_mode("rw");
}

#[test]
fn metrics_endpoints_in_shard_mode() {
    check_mode("shard");
}
