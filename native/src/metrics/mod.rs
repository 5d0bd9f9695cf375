//! `--metrics-addr`: the server's counters over HTTP, in the two formats
//! people already point tools at.
//!
//! * `GET /debug/vars` — expvar-style JSON, as the Go original served it
//!   ([`expvar`]): `cmdline`, `memstats`, then our counters.
//! * `GET /metrics` — Prometheus text exposition, version 0.0.4
//!   ([`prometheus`]), using redis_exporter's metric names wherever it has
//!   the same figure, so the usual Redis dashboards work unchanged.
//!
//! Anything else is `404`; a known path with another method is `405`.
//!
//! ## Why these crates
//! * **tiny_http** for HTTP: synchronous, no async runtime, a handful of
//!   small dependencies, and a `recv_timeout` that lets one plain thread
//!   poll the [`Shutdown`] flag between requests. The rest of the shell is
//!   thread-per-connection std code; pulling in tokio/hyper for two GET
//!   endpoints would double the dependency tree for nothing.
//! * **prometheus-client** (the Prometheus project's official Rust client)
//!   for the text format: its `prometheus_text` encoder writes the 0.0.4
//!   format with correct escaping, `_total` suffixes and cumulative
//!   histogram buckets. We only use it at scrape time (a fresh `Registry`
//!   per request, filled from one [`MetricsSnapshot`]); its types never
//!   appear on the command path, which keeps its plain relaxed atomics.
//!
//! ## Cost to the server
//! Nothing happens unless someone scrapes: one snapshot (a pass over the
//! atomics) and one render per request, on this module's own thread.
//! Requests are answered one at a time; a scraper that stops reading can
//! delay the next scrape, never a client command.

mod expvar;
mod prometheus;

use std::net::SocketAddr;
use std::time::Duration;

use crate::shutdown::Shutdown;
use crate::snapshot::MetricsSnapshot;

/// How long `serve` waits for a request before looking at the shutdown
/// flag again: the same pause as every other thread's (see
/// [`crate::shutdown::TICK`]), so shutdown is never held up by this one.
const POLL: Duration = crate::shutdown::TICK;

/// The Prometheus 0.0.4 text content type.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    ::prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Go's expvar answers with this content type.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A bound, not yet serving, metrics listener.
pub struct MetricsServer {
    http: tiny_http::Server,
    local_addr: SocketAddr,
}

/// Bind the metrics listener on `addr` (e.g. `127.0.0.1:9121`, or port 0
/// for a free one). Errors (address in use, bad address) are returned here,
/// before any serving starts, so the caller can refuse to start.
pub fn bind(addr: &str) -> Result<MetricsServer, String> {
    let http = tiny_http::Server::http(addr).map_err(|e| format!("metrics address {addr}: {e}"))?;
    let local_addr = http
        .server_addr()
        .to_ip()
        .ok_or_else(|| format!("metrics address {addr}: not an IP address"))?;
    Ok(MetricsServer { http, local_addr })
}

impl MetricsServer {
    /// The address actually bound (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Answer requests until `shutdown` is requested. `snapshot` is called
    /// once per scrape, so every figure in one response comes from the same
    /// instant.
    pub fn serve(self, snapshot: &(dyn Fn() -> MetricsSnapshot + Sync), shutdown: &Shutdown) {
        while !shutdown.is_requested() {
            let request = match self.http.recv_timeout(POLL) {
                Ok(Some(request)) => request,
                Ok(None) => continue,
                Err(e) => {
                    // The listener itself failed; there is nothing to retry.
                    eprintln!("myongoredis: metrics listener stopped: {e}");
                    return;
                }
            };
            let reply = route(request.method(), request.url(), snapshot);
            let mut response =
                tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
            for (name, value) in reply.headers {
                // Header names and values here are ASCII constants, which
                // `from_bytes` accepts; a failure would be a typo in this file.
                if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                {
                    response.add_header(header);
                }
            }
            // A scraper that hung up mid-response is its own problem.
            let _ = request.respond(response);
        }
    }
}

/// What to send back for one request; kept apart from tiny_http so the
/// routing is testable without sockets.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
}

impl Reply {
    fn ok(content_type: &'static str, body: String) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type", content_type)],
            body,
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8")],
            body: format!("{message}\n"),
        }
    }
}

fn route(method: &tiny_http::Method, url: &str, snapshot: &dyn Fn() -> MetricsSnapshot) -> Reply {
    // Scrapers may add a query string; it selects nothing here.
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let prometheus = match path {
        "/debug/vars" => false,
        "/metrics" => true,
        _ => return Reply::error(404, "404 page not found"),
    };
    if *method != tiny_http::Method::Get {
        let mut reply = Reply::error(405, "405 method not allowed");
        reply.headers.push(("Allow", "GET"));
        return reply;
    }
    if prometheus {
        Reply::ok(PROMETHEUS_CONTENT_TYPE, prometheus::render(snapshot()))
    } else {
        Reply::ok(JSON_CONTENT_TYPE, expvar::render(&snapshot()))
    }
}

/// A hand-built snapshot for the unit tests of both formats.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::observer::LockTotals;
    use crate::snapshot::MetricsSnapshot;
    use crate::stats::Log2Histogram;

    /// A log2 histogram holding `values`.
    pub fn histogram(values: &[u64]) -> Vec<u64> {
        let h = Log2Histogram::default();
        for &v in values {
            h.record(v);
        }
        h.snapshot()
    }

    pub fn snapshot(mode: &'static str, locks: u32) -> MetricsSnapshot {
        let lock_totals = (0..locks as u64)
            .map(|i| {
                let waits: Vec<u64> = (0..i + 1).map(|k| 300 + 1000 * k * k).collect();
                LockTotals {
                    acquisitions: 100 + i,
                    contended: waits.len() as u64,
                    wait_ns: waits.iter().sum(),
                    hold_ns: 50_000 + i,
                    max_wait_ns: *waits.iter().max().unwrap_or(&0),
                    wait_histogram: histogram(&waits),
                }
            })
            .collect();
        MetricsSnapshot {
            version: "0.1.0",
            redis_version: "7.0.15",
            mode,
            locks,
            process_id: 4242,
            tcp_port: 6379,
            uptime_secs: 12,
            cmdline: vec![
                "myongoredis".into(),
                "--mode".into(),
                mode.into(),
                "weird \"arg\"\n".into(),
            ],
            connected_clients: 3,
            maxclients: 10_000,
            total_connections: 7,
            rejected_connections: 1,
            total_commands: 1_234,
            ops_per_sec: 56,
            net_input_bytes: 10_000,
            net_output_bytes: 20_000,
            keyspace_hits: 400,
            keyspace_misses: 100,
            expired_keys: 9,
            keys: 42,
            expires: 5,
            used_memory: 123_456,
            allocator_allocated: 234_567,
            rss_bytes: 7_654_321,
            commands: vec![
                ("get", 600, 1_200),
                ("set", 634, 2_000),
                ("config|get", 1, 3),
            ],
            command_latency_ns: histogram(&[0, 1, 2, 900, 1_000, 1_500, 20_000, 1_000_000_000]),
            lock_totals,
            persistence: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Arc;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    }

    #[test]
    fn routes_known_paths_and_rejects_the_rest() {
        let snap = || fixture::snapshot("mutex", 1);
        let vars = route(&tiny_http::Method::Get, "/debug/vars", &snap);
        assert_eq!((vars.status, vars.headers[0].1), (200, JSON_CONTENT_TYPE));
        let metrics = route(&tiny_http::Method::Get, "/metrics?x=1", &snap);
        assert_eq!(
            (metrics.status, metrics.headers[0].1),
            (200, PROMETHEUS_CONTENT_TYPE)
        );
        assert_eq!(route(&tiny_http::Method::Get, "/", &snap).status, 404);
        assert_eq!(
            route(&tiny_http::Method::Get, "/metrics/", &snap).status,
            404
        );
        assert_eq!(route(&tiny_http::Method::Post, "/nope", &snap).status, 404);
        let post = route(&tiny_http::Method::Post, "/metrics", &snap);
        assert_eq!(post.status, 405);
        assert!(post.headers.contains(&("Allow", "GET")));
    }

    #[test]
    fn bind_reports_errors_before_serving() {
        let taken = bind("127.0.0.1:0").expect("binds");
        let err = bind(&taken.local_addr().to_string())
            .err()
            .expect("address in use");
        assert!(err.starts_with("metrics address 127.0.0.1:"), "{err}");
        assert!(bind("not an address").is_err());
    }

    #[test]
    fn serves_over_http_until_shutdown() {
        let server = bind("127.0.0.1:0").expect("binds");
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        // `request` pokes this address to wake an acceptor; nothing listens.
        let shutdown = Arc::new(Shutdown::new("127.0.0.1:9".parse().unwrap()));
        let (returned, serve_returned) = std::sync::mpsc::channel();
        {
            let shutdown = Arc::clone(&shutdown);
            std::thread::spawn(move || {
                server.serve(&|| fixture::snapshot("shard", 4), &shutdown);
                let _ = returned.send(());
            });
        }

        let metrics = get(addr, "GET /metrics HTTP/1.0\r\n\r\n");
        assert!(metrics.starts_with("HTTP/1.0 200 "), "{metrics}");
        assert!(
            metrics.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
            "{metrics}"
        );
        assert!(metrics.contains("\r\n\r\n# HELP "), "{metrics}");
        let vars = get(addr, "GET /debug/vars HTTP/1.0\r\n\r\n");
        let body = vars.split_once("\r\n\r\n").expect("a body").1;
        let json: serde_json::Value = serde_json::from_str(body).expect("valid JSON");
        assert_eq!(json["mode"], "shard");
        assert!(get(addr, "GET /other HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 "));

        shutdown.request();
        // A condition with a generous deadline, not a speed limit: a serve
        // loop that ignores the shutdown request never returns.
        serve_returned
            .recv_timeout(Duration::from_secs(60))
            .expect("serve returns after the shutdown request");
    }
}
