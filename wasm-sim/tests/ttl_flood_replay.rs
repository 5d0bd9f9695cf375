//! A TTL flood, captured natively and replayed in wasm.
//!
//! Writes that store a key with a TTL reclaim dead keys of their keyspace
//! as they go (`Keyspace::reclaim_expired`): a cursor kept in the
//! keyspace, moved by nothing but those writes. Replay must then delete
//! the same keys at the same points. For each lock mode: start
//! `myongoredis --capture DIR`, write rounds of keys with a 3 ms TTL from
//! two clients (each round after the previous one's keys died, so the
//! writes find dead keys to reclaim), end with DBSIZE and KEYS *, shut
//! down, and replay the capture in the wasm guest: every reply identical,
//! so the keyspace is too.
//!
//! Needs the guest module (built by the test command before `cargo test`);
//! without it the test says so and skips.

use std::path::Path;
use std::time::Duration;

use myongoredis_sim::guest::{self, Guest};
use myongoredis_sim::replay::{self, Runner};
use myongoredis_testsupport::ServerProcess;

const ROUNDS: usize = 30;
const KEYS_PER_ROUND: usize = 200;

/// SHUTDOWN, then wait: a graceful exit flushes and syncs the capture.
fn shut_down(mut server: ServerProcess) {
    let mut con = server.client();
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
    match server.wait_exit(Duration::from_secs(30)) {
        Some(status) => assert!(status.success(), "server exit status {status}"),
        None => panic!("the server did not shut down"),
    }
}

/// The flood; returns DBSIZE at the end.
fn flood(server: &ServerProcess) -> u64 {
    let mut clients = [server.client(), server.client()];
    for round in 0..ROUNDS {
        let mut pipe = redis::pipe();
        for i in 0..KEYS_PER_ROUND {
            let key = format!("flood:{round}:{i}");
            if i % 10 == 0 {
                // EXPIRE stores a deadline too.
                pipe.cmd("SET").arg(&key).arg("v").ignore();
                pipe.cmd("PEXPIRE").arg(&key).arg(3).ignore();
            } else {
                pipe.cmd("SET").arg(&key).arg("v").arg("PX").arg(3).ignore();
            }
        }
        let () = pipe
            .query(&mut clients[round % 2])
            .expect("a round of SET PX");
        // Every key of this round is dead before the next round writes.
        std::thread::sleep(Duration::from_millis(5));
    }
    let dbsize: u64 = redis::cmd("DBSIZE").query(&mut clients[1]).expect("dbsize");
    let _: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut clients[0])
        .expect("keys");
    dbsize
}

fn capture_and_replay(guest: &Guest, mode: &str, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let capture = dir.to_str().expect("a UTF-8 temp path");
    let server = ServerProcess::start(
        mode,
        // `--hz 1`: the first active cycle runs a second after start, so
        // (on a machine that writes the flood in less) the reclaiming
        // here is the writes' own.
        &[
            "--shards",
            "8",
            "--seed",
            "777",
            "--hz",
            "1",
            "--capture",
            capture,
        ],
    );
    let dbsize = flood(&server);
    shut_down(server);
    // Dead keys wait for the writes' walk to come round, about a pass
    // (a few rounds): far fewer than were written. (A bound, not a
    // speed: if the active cycle runs too, it only deletes more.)
    let written = (ROUNDS * KEYS_PER_ROUND) as u64;
    assert!(
        dbsize < written / 2,
        "{mode}: {dbsize} of {written} keys left"
    );

    let loaded = replay::load(dir).expect("the capture loads");
    assert_eq!(loaded.gap_at, None, "{mode}");
    let replayed = replay::run(Runner::Wasm, Some(guest), &loaded.header, &loaded.records)
        .expect("the guest runs");
    if let Some(d) = replay::compare(&loaded.records, &replayed.outcomes) {
        panic!("{mode}: replay diverged at seq {}: {}", d.seq, d.what);
    }
}

#[test]
fn a_ttl_flood_reclaimed_by_writes_replays_identically_in_wasm() {
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
        std::env::temp_dir().join(format!("myongoredis-ttl-flood-{}", std::process::id()));
    for mode in ["mutex", "rw", "shard"] {
        capture_and_replay(&guest, mode, &scratch.join(mode));
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
