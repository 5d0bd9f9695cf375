//! `myongoredis-bench` end to end: the real bench binary starts the real
//! server, every reply of its load generator is checked, and its outputs
//! (results.json, report.html, the cross-check's lines) are complete.
//! Nothing here asserts a rate: throughput belongs to benchmarks.
//!
//! The tests in this file take turns (one lock): two load generators on
//! two cores at once would measure each other, not the server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use myongoredis_testsupport::server_binary;
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

/// [`bench`] with `--server` set to the server binary of this build (the
/// server is another package's binary: testsupport finds or builds it).
fn bench_with_server(out: &Path, flags: &str, extra: &[&str]) -> Output {
    let binary = server_binary();
    let server = ["--server", binary.to_str().expect("a UTF-8 target path")];
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

/// `--cross-check` runs both generators on one server and prints what
/// each measured. Only the function is tested here: every reply of ours
/// was right (exit 0, not 2) and both rates and the explanation are
/// printed. How the two rates compare is the machine's business, so it is
/// read by a person, never asserted (see the module doc of
/// `src/bench/cross_check.rs`).
#[test]
fn cross_check_prints_both_generators_rates_and_their_cpu_per_request() {
    if find_program("redis-benchmark").is_none() {
        eprintln!("SKIPPED: redis-benchmark is not installed (apt-get install redis-tools)");
        return;
    }
    let _turn = turn();
    let out = out_dir("xcheck");
    let flags = "--cross-check --duration 1s --repeat 2 --keys 1000 --clients 10 --pipeline 16";
    let output = bench_with_server(&out, flags, &[]);
    assert_ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for round in ["round 1:", "round 2:"] {
        assert!(stdout.contains(round), "{round} missing:\n{stdout}");
    }
    for generator in ["myongoredis-bench", "redis-benchmark"] {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(generator))
            .collect();
        assert_eq!(lines.len(), 2, "one {generator} line per round:\n{stdout}");
        for line in lines {
            assert!(
                line.contains("ops/s") && line.contains("µs CPU/request"),
                "{line}"
            );
            // The server is ours, so its CPU per request is known.
            assert!(!line.contains("server   n/a"), "{line}");
        }
    }
    assert_eq!(stdout.matches("  ratio ").count(), 2, "{stdout}");
    assert!(stdout.contains("how to read it"), "{stdout}");
    assert!(
        !out.join("results.json").exists(),
        "a cross-check writes no report"
    );
    let _ = std::fs::remove_dir_all(&out);
}
