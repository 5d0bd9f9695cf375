//! Seeing contention from outside: the trace file, INFO, CONFIG SET and
//! CONFIG RESETSTAT, through the real binary.

use std::collections::BTreeMap;
use std::process::Command;
use std::thread;
use std::time::Duration;

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess};
use serde_json::Value;

/// 20 clients hammering 4 keys for `ms` milliseconds.
fn load(server: &ServerProcess, ms: u64) {
    let until = std::time::Instant::now() + Duration::from_millis(ms);
    thread::scope(|s| {
        for c in 0..20 {
            s.spawn(move || {
                let mut con = server.client();
                let mut i = 0u64;
                while std::time::Instant::now() < until {
                    let _: i64 = redis::cmd("INCR")
                        .arg(format!("hot{}", (c + i) % 4))
                        .query(&mut con)
                        .unwrap();
                    let _: Option<String> = redis::cmd("GET").arg("hot0").query(&mut con).unwrap();
                    i += 1;
                }
            });
        }
    });
}

fn kill(pid: u32, signal: &str) {
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill")
        .success());
}

fn trace_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("myongoredis-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

#[test]
fn a_trace_of_a_load_run_has_tracks_spans_and_counters() {
    let path = trace_path("load.json");
    let mut server = ServerProcess::start(
        "shard",
        &["--shards", "4", "--trace", path.to_str().unwrap()],
    );
    load(&server, 1500);
    kill(server.pid(), "TERM");
    assert!(server
        .wait_exit(Duration::from_secs(10))
        .expect("exits")
        .success());
    let text = std::fs::read_to_string(&path).expect("trace file");
    let events: Vec<Value> = serde_json::from_str(&text).expect("the trace is strict JSON");

    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        let key = format!(
            "{}:{}",
            e["ph"].as_str().unwrap_or("?"),
            e["name"].as_str().unwrap_or("?")
        );
        *kinds.entry(key).or_default() += 1;
    }
    for kind in [
        "M:process_name",
        "M:thread_name",
        "X:lock hold",
        "X:incr",
        "X:get",
        "X:read",
        "X:write",
        "C:ops/s",
        "C:connected clients",
    ] {
        assert!(kinds.contains_key(kind), "no {kind} event; have {kinds:?}");
    }
    let process = events.iter().find(|e| e["name"] == "process_name").unwrap();
    assert!(process["args"]["name"]
        .as_str()
        .unwrap()
        .contains("mode=shard"));
    // A track per connection thread, or (`--io loop`) per event loop.
    let evented = process["args"]["name"]
        .as_str()
        .unwrap()
        .contains("io=loop");
    let (prefix, at_least) = if evented { ("loop ", 1) } else { ("conn ", 20) };
    let conn_tracks = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter(|e| e["args"]["name"].as_str().unwrap_or("").starts_with(prefix))
        .count();
    assert!(conn_tracks >= at_least, "{conn_tracks} {prefix}tracks");

    // Every wait span names its lock and command, and lock spans carry
    // the shard index; spans on one track nest or are disjoint.
    for e in events
        .iter()
        .filter(|e| e["name"] == "lock wait" || e["name"] == "lock hold")
    {
        assert!(e["args"]["lock"].as_u64().unwrap() < 4, "{e}");
        assert!(e["args"]["cmd"].is_string(), "{e}");
    }
    let mut tracks: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let ts = e["ts"].as_f64().unwrap();
        let end = ts + e["dur"].as_f64().unwrap();
        tracks
            .entry(e["tid"].as_u64().unwrap())
            .or_default()
            .push((ts, end));
    }
    const SLACK: f64 = 0.002; // µs: timestamps are printed to the nanosecond
    for (tid, mut spans) in tracks {
        spans.sort_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap()
                .then(b.1.partial_cmp(&a.1).unwrap())
        });
        let mut open: Vec<f64> = Vec::new();
        for (start, end) in spans {
            while open.last().is_some_and(|&e| e <= start + SLACK) {
                open.pop();
            }
            if let Some(&parent_end) = open.last() {
                assert!(
                    end <= parent_end + SLACK,
                    "track {tid}: span {start}..{end} overlaps its parent ending {parent_end}"
                );
            }
            open.push(end);
        }
    }
}

#[test]
fn a_killed_server_leaves_a_trace_that_parses_as_written() {
    let path = trace_path("killed.json");
    let mut server = ServerProcess::start("mutex", &["--trace", path.to_str().unwrap()]);
    load(&server, 800);
    // Kill it mid-run (clients connected, counters still being written),
    // but between the writer's writes: Linux may stop a multi-page write()
    // part-way when SIGKILL arrives, so the guarantee is "strict JSON
    // whenever the writer is not inside a write", and that is what this
    // checks. (A kill inside a write truncates only the last line.)
    let _idle_client = server.client();
    thread::sleep(Duration::from_millis(600));
    kill(server.pid(), "KILL");
    server
        .wait_exit(Duration::from_secs(30))
        .expect("SIGKILL ends the server");
    let text = std::fs::read_to_string(&path).expect("trace file");
    let events: Vec<Value> =
        serde_json::from_str(&text).expect("strict JSON without appending anything");
    assert!(
        events.iter().any(|e| e["name"] == "lock hold"),
        "{} events",
        events.len()
    );
}

fn info(raw: &mut Raw, section: &str) -> BTreeMap<String, String> {
    let Frame::Bulk(text) = raw.call(&[b"INFO", section.as_bytes()]) else {
        panic!("INFO replies with a bulk string")
    };
    String::from_utf8(text.to_vec())
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// INFO `section` once `ready` holds, or panics after a generous deadline.
fn wait_for_info(
    raw: &mut Raw,
    section: &str,
    ready: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let fields = info(raw, section);
        if ready(&fields) {
            return fields;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "INFO {section} never got there: {fields:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn info_sections_report_real_figures() {
    let server = ServerProcess::start("shard", &["--shards", "8"]);
    let mut raw = Raw::connect(server.addr);
    for i in 0..10 {
        raw.call(&[b"SET", format!("k{i}").as_bytes(), b"v"]);
    }
    raw.call(&[b"EXPIRE", b"k1", b"100"]);
    raw.call(&[b"GET", b"k2"]);
    raw.call(&[b"GET", b"missing"]);
    // A connection folds its statistics into the server's totals at most
    // every 100 ms (and on its idle tick): wait until the hit is counted.
    let all = wait_for_info(&mut raw, "everything", |all| all["keyspace_hits"] == "1");
    assert_eq!(all["redis_version"], "7.0.15");
    assert_eq!(all["process_id"], server.pid().to_string());
    assert_eq!(all["tcp_port"], server.addr.port().to_string());
    assert_eq!(all["connected_clients"], "1");
    assert!(all["total_commands_processed"].parse::<u64>().unwrap() >= 13);
    assert_eq!(all["keyspace_hits"], "1");
    assert_eq!(all["keyspace_misses"], "1");
    assert!(all["used_memory"].parse::<u64>().unwrap() > 0);
    // avg_ttl is the active cycle's running estimate (0 until it samples).
    let db0 = &all["db0"];
    assert!(db0.starts_with("keys=10,expires=1,avg_ttl="), "{db0}");
    let avg_ttl: u64 = db0.rsplit('=').next().unwrap().parse().unwrap();
    assert!(
        avg_ttl == 0 || (99_000..=100_000).contains(&avg_ttl),
        "{db0}"
    );
    assert_eq!(all["contention_mode"], "shard");
    assert_eq!(all["contention_locks"], "8");
    assert!(all["lock_acquisitions"].parse::<u64>().unwrap() >= 13);
    assert!(
        all["cmdstat_set"].starts_with("calls=10,"),
        "{}",
        all["cmdstat_set"]
    );
    // Sections can be asked for one by one.
    let clients = info(&mut raw, "clients");
    assert!(clients.contains_key("connected_clients") && !clients.contains_key("redis_version"));
    // CONFIG RESETSTAT zeroes the counters.
    assert_eq!(raw.call(&[b"CONFIG", b"RESETSTAT"]), Frame::ok());
    let stats = info(&mut raw, "stats");
    assert_eq!(stats["keyspace_hits"], "0");
    assert!(stats["total_commands_processed"].parse::<u64>().unwrap() <= 2);
}

#[test]
fn config_set_applies_at_run_time() {
    let server = ServerProcess::start("rw", &[]);
    let mut admin = Raw::connect(server.addr);
    let mut idle = Raw::connect(server.addr);
    assert_eq!(idle.call(&[b"PING"]), Frame::simple("PONG"));
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"timeout", b"1"]),
        Frame::ok()
    );
    assert_eq!(
        admin.call(&[b"CONFIG", b"GET", b"timeout"]),
        Frame::Array(vec![Frame::bulk(b"timeout"), Frame::bulk(b"1")])
    );
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"timeout", b"abc"]),
        Frame::static_error("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer")
    );
    assert!(
        idle.is_closed(),
        "idle client survived CONFIG SET timeout 1"
    );
    let mut admin = Raw::connect(server.addr);
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"timeout", b"0", b"maxclients", b"1"]),
        Frame::ok()
    );
    let mut second = Raw::connect(server.addr);
    assert_eq!(
        second.read_frame(),
        Some(Frame::static_error("ERR max number of clients reached"))
    );
}

/// A transaction in the trace: one `exec` slice, and inside it the holds
/// of every shard its commands touch, taken together (issue: "the trace
/// shows an EXEC as one slice holding several locks").
#[test]
fn an_exec_is_one_slice_holding_several_locks() {
    let path = trace_path("exec.json");
    let mut server = ServerProcess::start(
        "shard",
        &["--shards", "4", "--trace", path.to_str().unwrap()],
    );
    let mut raw = Raw::connect(server.addr);
    raw.call(&[b"MULTI"]);
    // Eight keys: with four shards, more than one is all but certain.
    for i in 0..8 {
        raw.call(&[b"SET", format!("k{i}").as_bytes(), b"v"]);
    }
    raw.call(&[b"EXEC"]);
    drop(raw);
    kill(server.pid(), "TERM");
    assert!(server
        .wait_exit(Duration::from_secs(10))
        .expect("exits")
        .success());
    let text = std::fs::read_to_string(&path).expect("trace file");
    let events: Vec<Value> = serde_json::from_str(&text).expect("the trace is strict JSON");
    let exec = events
        .iter()
        .find(|e| e["ph"] == "X" && e["name"] == "exec")
        .expect("an exec slice");
    let (tid, start) = (&exec["tid"], exec["ts"].as_f64().unwrap());
    let end = start + exec["dur"].as_f64().unwrap() + 0.002;
    let held: std::collections::BTreeSet<u64> = events
        .iter()
        .filter(|e| e["name"] == "lock hold" && &e["tid"] == tid && e["args"]["cmd"] == "exec")
        .filter(|e| e["ts"].as_f64().unwrap() >= start - 0.002 && e["ts"].as_f64().unwrap() <= end)
        .map(|e| e["args"]["lock"].as_u64().unwrap())
        .collect();
    assert!(held.len() >= 2, "the exec slice holds locks {held:?}");
}
