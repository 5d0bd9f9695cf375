//! Eviction replays byte-identical in wasm.
//!
//! For each lock mode, a server with `--maxmemory 1mb` and an evicting
//! policy is driven past its limit by two clients (pipelined writes of
//! 1 kB values, reads of keys that may be gone, WATCH on a key that gets
//! evicted), then asked for every key. The capture holds each eviction
//! (`V` records) where it took effect; the wasm replay deletes the same
//! keys at the same points, so every reply, including the final KEYS and
//! DBSIZE, is the same.
//!
//! Needs the guest module (built by the test command before `cargo test`);
//! without it the test says so and skips.

use std::path::Path;
use std::time::Duration;

use myongoredis_core::capture::Record;
use myongoredis_sim::guest::{self, Guest};
use myongoredis_sim::replay::{self, Runner};
use myongoredis_testsupport::ServerProcess;

fn start(mode: &str, policy: &str, capture: &Path) -> ServerProcess {
    let capture = capture.to_str().expect("a UTF-8 temp path");
    ServerProcess::start(
        mode,
        &[
            "--shards",
            "8",
            "--seed",
            "777",
            "--capture",
            capture,
            "--maxmemory",
            "1mb",
            "--maxmemory-policy",
            policy,
        ],
    )
}

fn drive(server: &ServerProcess) {
    let mut a = server.client();
    let mut b = server.client();
    let value = vec![b'x'; 1024];
    // WATCH a key that the writes below will evict: EXEC must fail, on the
    // server and in the replay alike.
    let () = redis::cmd("SET")
        .arg("watched")
        .arg("v")
        .query(&mut b)
        .expect("set");
    let () = redis::cmd("WATCH")
        .arg("watched")
        .query(&mut b)
        .expect("watch");
    for round in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            let key = format!("k{}", round * 100 + i);
            pipe.cmd("SET").arg(&key).arg(&value[..]).ignore();
            if i % 3 == 0 {
                pipe.cmd("SET")
                    .arg(format!("ttl{key}"))
                    .arg(&value[..])
                    .arg("EX")
                    .arg(1000 + i)
                    .ignore();
            }
        }
        let () = pipe.query(&mut a).expect("pipeline");
        // Reads of early keys: hits or misses, depending on evictions.
        let mut reads = redis::pipe();
        for i in (0..=round * 100).step_by(97) {
            reads.cmd("STRLEN").arg(format!("k{i}"));
        }
        let _: Vec<i64> = reads.query(&mut b).expect("reads");
    }
    let exec: redis::RedisResult<Option<Vec<String>>> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("watched")
        .arg("w")
        .query(&mut b);
    assert!(
        matches!(exec, Ok(None)),
        "{exec:?}: the watched key was evicted"
    );
    let _: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut a).expect("keys");
    let _: i64 = redis::cmd("DBSIZE").query(&mut a).expect("dbsize");
}

#[test]
fn evictions_replay_identically_in_wasm() {
    let guest_path = guest::guest_path(None);
    if !guest_path.exists() {
        println!(
            "SKIPPED: the wasm guest is not built ({} is missing)",
            guest_path.display()
        );
        return;
    }
    let guest = Guest::load(&guest_path).expect("the guest compiles");
    let scratch =
        std::env::temp_dir().join(format!("myongoredis-evict-test-{}", std::process::id()));
    for (mode, policy) in [
        ("mutex", "allkeys-lru"),
        ("rw", "allkeys-lfu"),
        ("shard", "allkeys-random"),
        ("shard", "allkeys-lru"),
    ] {
        let dir = scratch.join(format!("{mode}-{policy}"));
        let _ = std::fs::remove_dir_all(&dir);
        let mut server = start(mode, policy, &dir);
        drive(&server);
        let mut con = server.client();
        let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
        assert!(
            server.wait_exit(Duration::from_secs(30)).is_some(),
            "the server shuts down"
        );

        let loaded = replay::load(&dir).expect("the capture loads");
        assert_eq!(loaded.gap_at, None, "{mode} {policy}");
        let evictions = loaded
            .records
            .iter()
            .filter(|r| matches!(r, Record::Evict(_)))
            .count();
        assert!(evictions > 500, "{mode} {policy}: {evictions} evictions");
        let replayed = replay::run(Runner::Wasm, Some(&guest), &loaded.header, &loaded.records)
            .expect("the guest runs");
        if let Some(d) = replay::compare(&loaded.records, &replayed.outcomes) {
            panic!(
                "{mode} {policy}: replay diverged at seq {}: {}",
                d.seq, d.what
            );
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
