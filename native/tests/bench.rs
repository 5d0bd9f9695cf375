//! `myongoredis-bench` end to end: the real bench binary starts the real
//! server, and its load generator is checked against redis-benchmark.
//!
//! The tests in this file take turns (one lock): two load generators on
//! two cores at once would measure each other, not the server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

/// Serializes the tests of this file (see the module comment).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh output directory under the system's temp dir.
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("myongoredis-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Run the bench with `flags` (space-separated) and `extra`, plus
/// `--out DIR --quiet`.
fn bench(out: &Path, flags: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_myongoredis-bench"))
        .args(flags.split_whitespace())
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .expect("the bench binary runs")
}

/// [`bench`] with `--server` set to the server binary built with this test.
fn bench_with_server(out: &Path, flags: &str, extra: &[&str]) -> Output {
    let server = ["--server", env!("CARGO_BIN_EXE_myongoredis")];
    bench(out, flags, &[&server[..], extra].concat())
}

fn results(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    serde_json::from_str(&text).expect("results.json is valid JSON")
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "bench failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A program on PATH, or where Debian installs it.
fn find_program(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    on_path.or_else(|| Some(Path::new("/usr/bin").join(name)).filter(|p| p.is_file()))
}

#[test]
fn short_run_of_every_workload_in_every_mode_writes_results_and_an_offline_report() {
    let _turn = turn();
    let out = out_dir("all");
    let redis = find_program("redis-server");
    let redis_arg = redis.as_ref().map(|p| p.display().to_string());
    let extra: Vec<&str> = match &redis_arg {
        Some(path) => vec!["--redis-server", path.as_str()],
        None => {
            eprintln!("redis-server not found: the reference row is not tested");
            vec![]
        }
    };
    let flags = "--modes mutex,rw,shard --duration 1s --repeat 1 --keys 10000";
    let output = bench_with_server(&out, flags, &extra);
    assert_ok(&output);

    let r = results(&out);
    let rows = r["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3 + usize::from(redis.is_some()));
    for row in rows {
        assert_eq!(
            row["exit"], "exit 0",
            "a server did not stop cleanly: {row}"
        );
    }
    let runs = r["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4 * rows.len(), "one run per workload and row");
    for run in runs {
        assert!(run["ops"].as_u64().unwrap_or(0) > 0, "no ops in {run}");
        assert_eq!(run["errors"]["io_errors"], 0, "{run}");
        assert_eq!(run["errors"]["error_replies"], 0, "{run}");
        assert_eq!(run["errors"]["wrong_replies"], 0, "{run}");
        assert!(
            run["latency_us"]["p99"].as_f64().unwrap_or(0.0) > 0.0,
            "{run}"
        );
        // Our server reports INFO contention; redis-server does not.
        let ours = run["row"] != "redis-server";
        assert_eq!(run["lock_wait_share_pct"].is_number(), ours, "{run}");
    }
    let summary = r["summary"].as_array().expect("summary");
    assert_eq!(summary.len(), runs.len());
    for s in summary {
        assert!(
            s["ops_per_sec"]["median"].as_f64().unwrap_or(0.0) > 0.0,
            "{s}"
        );
    }
    assert!(r["machine"]["nproc"].as_u64().unwrap_or(0) >= 1);
    assert!(r["command_line"]
        .as_str()
        .unwrap_or("")
        .contains("--repeat 1"));
    assert!(!r["reading"].as_array().expect("reading").is_empty());

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg"), "no inline chart");
    for url in ["http://", "https://", "xmlns"] {
        assert!(
            !html.contains(url),
            "the report must load nothing: found {url:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn open_loop_seed_checks_every_reply() {
    let _turn = turn();
    let out = out_dir("open");
    let flags = "--modes shard --workloads seed --open-loop --duration 1s --repeat 1 --clients 10";
    let output = bench_with_server(&out, flags, &[]);
    assert_ok(&output);
    let r = results(&out);
    let run = &r["runs"][0];
    assert!(run["ops"].as_u64().unwrap_or(0) > 0, "{run}");
    assert_eq!(run["errors"]["wrong_replies"], 0, "{run}");
    assert_eq!(r["config"]["open_loop"], true);
    let _ = std::fs::remove_dir_all(&out);
}

/// Depth of the cross-check's pipelines.
///
/// At depth 1 on two shared cores, a run is bound by CPU, and half of that
/// CPU is the load generator's own system calls: two generators then differ
/// by their own cost per request (measured here: redis-benchmark, whose
/// event loop re-arms epoll around every request, spent 23 µs of CPU per
/// request and made the server spend 21; ours 17 and 16), not by what they
/// make of the server. At depth 16 the system calls are shared by 16
/// requests, the server's work dominates, and both measure the server.
const CROSS_CHECK_PIPELINE: u32 = 16;

/// Requests per second of redis-benchmark's SET and GET tests together:
/// total requests over total time, comparable with a 50/50 mix.
fn redis_benchmark_rate(program: &Path, port: u16, requests: u64, keys: u64) -> f64 {
    // One event-loop thread per core: with the default single thread,
    // redis-benchmark is itself the bottleneck on a two-core machine
    // (measured: its thread ran 75 % of the time and waited for a CPU most
    // of the rest). Our generator spreads over every core too.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let flags = format!(
        "-h 127.0.0.1 -p {port} -c 50 -P {CROSS_CHECK_PIPELINE} -d 3 -t set,get --csv \
         --threads {threads} -n {requests} -r {keys}"
    );
    let output = Command::new(program)
        .args(flags.split_whitespace())
        .output()
        .expect("redis-benchmark runs");
    assert!(
        output.status.success(),
        "redis-benchmark failed: {output:?}"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let rates: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("\"SET\"") || l.starts_with("\"GET\""))
        .filter_map(|l| l.split(',').nth(1))
        .filter_map(|v| v.trim_matches('"').parse().ok())
        .collect();
    assert_eq!(rates.len(), 2, "no SET and GET rates in:\n{text}");
    2.0 / (1.0 / rates[0] + 1.0 / rates[1])
}

/// Other processes' share of the machine's CPU time, to tell whether a
/// throughput comparison means anything.
///
/// Two load generators agree only when both get the CPU they ask for. On a
/// machine busy with other work they do not, and not alike: a thread that
/// always has work (redis-benchmark's event loop) is treated by the
/// scheduler as a CPU hog and waits behind everyone else, while 50 threads
/// that each sleep on a socket are woken promptly. So the CPU time spent
/// outside this test (the test, its children and the server) is measured
/// from /proc around each comparison, and busy rounds do not count.
struct CpuMeter {
    server_pid: u32,
    start: [u64; 3],
}

impl CpuMeter {
    /// (busy jiffies of all CPUs, all jiffies, jiffies of ours)
    fn sample(server_pid: u32) -> [u64; 3] {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let field = |i: usize| cpu.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
        let all = busy + field(3) + field(4);
        // utime, stime, cutime, cstime: fields 14-17 of /proc/PID/stat,
        // counted after the command name, which may contain spaces.
        let times = |path: String| -> u64 {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let after = text.rsplit(')').next().unwrap_or("");
            after
                .split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        };
        let ours = times("/proc/self/stat".into()) + times(format!("/proc/{server_pid}/stat"));
        [busy, all, ours]
    }

    fn start(server_pid: u32) -> CpuMeter {
        CpuMeter {
            server_pid,
            start: Self::sample(server_pid),
        }
    }

    /// Share (0..1) of all CPU time since `start` that others used.
    fn foreign_share(&self) -> f64 {
        let end = Self::sample(self.server_pid);
        let busy = end[0].saturating_sub(self.start[0]);
        let all = end[1].saturating_sub(self.start[1]).max(1);
        let ours = end[2].saturating_sub(self.start[2]);
        busy.saturating_sub(ours) as f64 / all as f64
    }
}

/// Above this share of the CPUs used by other processes, the machine is
/// too busy for two load generators to be compared.
const QUIET_ENOUGH: f64 = 0.10;

#[test]
fn load_generator_agrees_with_redis_benchmark_within_15_percent_when_the_machine_is_quiet() {
    let Some(redis_benchmark) = find_program("redis-benchmark") else {
        eprintln!("SKIPPED: redis-benchmark is not installed (apt-get install redis-tools)");
        return;
    };
    let _turn = turn();
    let server = common::Server::start("shard", &[]);
    let port = server.addr.port();
    const KEYS: u64 = 100_000;
    let flags = format!(
        "--target {} --workloads uniform --clients 50 --pipeline {CROSS_CHECK_PIPELINE} \
         --duration 2s --repeat 1 --keys {KEYS} --value-size 3",
        server.addr
    );
    let ours = |round: usize| {
        let out = out_dir(&format!("xcheck-{round}"));
        let output = bench(&out, &flags, &[]);
        assert_ok(&output);
        let rate = results(&out)["runs"][0]["ops_per_sec"].as_f64();
        let _ = std::fs::remove_dir_all(&out);
        rate.expect("ops/s in results.json")
    };
    // Alternate the two, and compare each one's best round among those
    // run while the machine was quiet enough.
    let (mut best_ours, mut best_theirs) = (0.0f64, 0.0f64);
    for round in 0..3 {
        let meter = CpuMeter::start(server.pid());
        let mine = ours(round);
        // About two seconds of redis-benchmark too: one for SET, one for GET.
        let requests = (mine as u64).clamp(10_000, 5_000_000);
        let theirs = redis_benchmark_rate(&redis_benchmark, port, requests, KEYS);
        let foreign = meter.foreign_share();
        eprintln!(
            "round {round}: myongoredis-bench {mine:.0} ops/s, redis-benchmark {theirs:.0} ops/s, \
             other processes used {:.0} % of the CPUs",
            foreign * 100.0
        );
        if foreign <= QUIET_ENOUGH {
            best_ours = best_ours.max(mine);
            best_theirs = best_theirs.max(theirs);
        }
    }
    if best_theirs == 0.0 {
        eprintln!(
            "SKIPPED the 15 % assertion: other processes used more than {:.0} % of the CPUs in \
             every round (see CpuMeter)",
            QUIET_ENOUGH * 100.0
        );
        return;
    }
    let ratio = best_ours / best_theirs;
    assert!(
        (0.85..=1.15).contains(&ratio),
        "myongoredis-bench measured {best_ours:.0} ops/s, redis-benchmark {best_theirs:.0} ({ratio:.2}×)"
    );
}
