//! Capture a real session from the native server and replay it in wasm.
//!
//! For each lock mode: start `myongoredis --capture DIR` on an ephemeral
//! port, drive it with the `redis` crate (pipelines, keys with short TTLs
//! that the active cycle deletes, a read that meets an expired key, TIME,
//! CLIENT ID, CONFIG SET, INFO, an inline command and a protocol error),
//! shut it down gracefully, and replay the capture in the wasm guest:
//! every reply identical. Then change one byte
//! of one reply in the file: the replay must fail and name that record.
//!
//! Needs the guest module (built by the test command before `cargo test`);
//! without it the test says so and skips.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use myongoredis_core::capture::{self, Mark, Record};
use myongoredis_sim::guest::{self, Guest};
use myongoredis_sim::replay::{self, Runner};
use myongoredis_testsupport::ServerProcess;

/// Start the server in `mode`, capturing into `capture`.
fn start(mode: &str, capture: &Path) -> ServerProcess {
    let capture = capture.to_str().expect("a UTF-8 temp path");
    ServerProcess::start(
        mode,
        &["--shards", "8", "--seed", "12345", "--capture", capture],
    )
}

/// SHUTDOWN, then wait: a graceful exit flushes and syncs the capture.
fn shut_down(mut server: ServerProcess) {
    let mut con = server.client();
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
    match server.wait_exit(Duration::from_secs(20)) {
        Some(status) => assert!(status.success(), "server exit status {status}"),
        None => panic!("the server did not shut down"),
    }
}

/// A session that exercises what replay has to get right.
fn drive(server: &ServerProcess) {
    let mut a = server.client();
    let mut b = server.client();
    // A pipeline: 50 commands in one write, answered in one read.
    let mut pipe = redis::pipe();
    for i in 0..25 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        pipe.cmd("INCR").arg("counter").ignore();
    }
    let () = pipe.query(&mut a).expect("pipeline");
    // Keys with a short TTL, left alone: the active cycle deletes them.
    for i in 0..20 {
        let () = redis::cmd("SET")
            .arg(format!("short:{i}"))
            .arg("v")
            .arg("PX")
            .arg(40)
            .query(&mut b)
            .expect("set px");
    }
    // A key read after it expired (lazy expiry after a shared read).
    let () = redis::cmd("SET")
        .arg("blink")
        .arg("v")
        .arg("PX")
        .arg(1)
        .query(&mut a)
        .expect("set px 1");
    std::thread::sleep(Duration::from_millis(5));
    let gone: Option<String> = redis::cmd("GET").arg("blink").query(&mut b).expect("get");
    assert_eq!(gone, None);
    std::thread::sleep(Duration::from_millis(350));
    let mut pipe = redis::pipe();
    pipe.cmd("MGET").arg("key:1").arg("key:2").arg("short:3");
    pipe.cmd("DBSIZE");
    pipe.cmd("RANDOMKEY");
    pipe.cmd("TIME");
    pipe.cmd("CLIENT").arg("ID");
    pipe.cmd("CONFIG").arg("SET").arg("timeout").arg(300);
    pipe.cmd("CONFIG").arg("GET").arg("port");
    pipe.cmd("INFO").arg("keyspace");
    pipe.cmd("MSET").arg("x").arg(1).arg("y").arg(2);
    pipe.cmd("EXPIRE").arg("x").arg(100);
    pipe.cmd("TTL").arg("x");
    let _: Vec<redis::Value> = pipe.query(&mut b).expect("second pipeline");
    // A telnet-style client: an inline command, then a protocol error
    // (the server answers it and hangs up).
    let mut raw = std::net::TcpStream::connect(server.addr).expect("connects");
    raw.write_all(b"SET inline \"a b\"\r\n*1\r\n$x\r\n")
        .expect("write");
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).expect("read until closed");
    assert_eq!(
        answer,
        b"+OK\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    let x: i64 = redis::cmd("INCRBY")
        .arg("x")
        .arg(41)
        .query(&mut a)
        .expect("incrby");
    assert_eq!(x, 42);
}

#[test]
fn captured_sessions_replay_identically_in_wasm_and_tampering_is_caught() {
    let guest_path = guest::guest_path(None);
    if !guest_path.exists() {
        println!(
            "SKIPPED: the wasm guest is not built ({} is missing); build it with \
             cargo build --release --target wasm32-wasip1 --manifest-path \
             wasm-sim/guest/Cargo.toml --target-dir target",
            guest_path.display()
        );
        return;
    }
    let guest = Guest::load(&guest_path).expect("the guest compiles");
    let scratch =
        std::env::temp_dir().join(format!("myongoredis-capture-test-{}", std::process::id()));
    for mode in ["mutex", "rw", "shard"] {
        let dir = scratch.join(mode);
        let _ = std::fs::remove_dir_all(&dir);
        let server = start(mode, &dir);
        drive(&server);
        shut_down(server);

        let loaded = replay::load(&dir).expect("the capture loads");
        assert_eq!(
            loaded.truncated_tail, 0,
            "{mode}: a graceful shutdown ends on a whole line"
        );
        assert_eq!(loaded.gap_at, None, "{mode}");
        let census = replay::census(&loaded.records);
        assert!(census.commands.values().sum::<u64>() >= 80, "{mode}");
        assert_eq!(
            census.connections, 4,
            "{mode}: a, b, raw, and the one that sent SHUTDOWN"
        );
        assert_eq!(census.protocol_errors, 1, "{mode}");
        assert!(
            census.expiry_steps >= 1,
            "{mode}: the active cycle should have deleted the short keys"
        );
        assert_eq!(census.excluded.get("info"), Some(&1), "{mode}");

        let replayed = replay::run(Runner::Wasm, Some(&guest), &loaded.header, &loaded.records)
            .expect("the guest runs");
        if let Some(d) = replay::compare(&loaded.records, &replayed.outcomes) {
            panic!("{mode}: replay diverged at seq {}: {}", d.seq, d.what);
        }

        // Tamper: one byte of the reply to TIME (whose reply is compared:
        // the capture holds the clock it showed).
        let file = dir.join(capture::FILE_NAME);
        let text = std::fs::read_to_string(&file).expect("read capture");
        let target = loaded
            .records
            .iter()
            .find_map(|r| match r {
                Record::Command(c)
                    if c.mark == Mark::Compared && c.request.windows(4).any(|w| w == b"TIME") =>
                {
                    Some(c.seq)
                }
                _ => None,
            })
            .expect("the TIME record");
        let tampered: String = text
            .lines()
            .map(|line| {
                if line.starts_with(&format!("C {target} ")) {
                    // The reply is the last field; its last digit is a
                    // digit of TIME's microseconds.
                    let at = line.rfind(|c: char| c.is_ascii_digit()).expect("a digit");
                    let digit = line.as_bytes()[at];
                    let other = if digit == b'0' { '1' } else { '0' };
                    format!("{}{other}{}\n", &line[..at], &line[at + 1..])
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        assert_ne!(tampered, text);
        std::fs::write(&file, &tampered).expect("write");
        let loaded = replay::load(&dir).expect("still a valid capture");
        let replayed = replay::run(Runner::Wasm, Some(&guest), &loaded.header, &loaded.records)
            .expect("the guest runs");
        let d = replay::compare(&loaded.records, &replayed.outcomes).expect("tampering is caught");
        assert_eq!(d.seq, target, "{mode}: {}", d.what);

        // The command-line tool says the same, and exits 1. (Once: it
        // compiles the guest again, which is slow in a debug build.)
        if mode == "mutex" {
            check_cli_names(&guest_path, &dir, target);
        }

        // A capture cut mid-record (as by SIGKILL) still replays up to its
        // last whole record.
        let cut = &text.as_bytes()[..text.len() - 7];
        std::fs::write(&file, cut).expect("write");
        let loaded = replay::load(&dir).expect("a cut capture loads");
        assert!(loaded.truncated_tail > 0);
        let replayed = replay::run(Runner::Wasm, Some(&guest), &loaded.header, &loaded.records)
            .expect("the guest runs");
        assert!(
            replay::compare(&loaded.records, &replayed.outcomes).is_none(),
            "{mode}"
        );
    }

    // SIGKILL: no graceful flush. What reached the file replays; an
    // unfinished last line or records still queued are cut off, not read.
    let dir = scratch.join("killed");
    let mut server = start("shard", &dir);
    let mut con = server.client();
    for round in 0..20 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET").arg(format!("k{i}")).arg(round).ignore();
            pipe.cmd("INCR").arg("n").ignore();
        }
        let () = pipe.query(&mut con).expect("pipeline");
    }
    std::thread::sleep(Duration::from_millis(200));
    server.kill();
    let loaded = replay::load(&dir).expect("a killed server's capture loads");
    assert!(
        loaded.records.len() > 1000,
        "flushed while running: {} records",
        loaded.records.len()
    );
    let replayed = replay::run(Runner::Wasm, Some(&guest), &loaded.header, &loaded.records)
        .expect("the guest runs");
    assert!(replay::compare(&loaded.records, &replayed.outcomes).is_none());
    let _ = std::fs::remove_dir_all(&scratch);
}

/// `myongoredis-sim replay` on a tampered capture: exit 1, the record named.
fn check_cli_names(guest: &Path, dir: &Path, seq: u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_myongoredis-sim"))
        .arg("--guest")
        .arg(guest)
        .arg("replay")
        .arg(dir)
        .output()
        .expect("myongoredis-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("DIVERGENCE (Wasm) at record seq {seq} ")),
        "{stdout}"
    );
}
