//! An AOF is a replayable history: the files a real server wrote (every
//! type, TTLs, databases, a transaction, a rewrite in the middle) load to
//! the same keyspace natively and in the wasm guest, in the same bytes,
//! and to the keyspace the server itself had.
//!
//! Needs the guest module for the wasm half (built by the test command
//! before `cargo test`); without it the native half still runs.

use std::time::Duration;

use myongoredis_sim::aof;
use myongoredis_sim::guest::{self, Guest};
use myongoredis_testsupport::{cmd, ServerProcess, TempDir};

fn run(con: &mut redis::Connection, words: &[&str]) {
    cmd(con, words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
}

#[test]
fn an_aof_loads_to_the_same_keyspace_natively_and_in_wasm() {
    let guest_path = guest::guest_path(None);
    let guest = guest_path
        .exists()
        .then(|| Guest::load(&guest_path).expect("the guest compiles"));
    if guest.is_none() {
        println!(
            "note: {} is missing; loading natively only",
            guest_path.display()
        );
    }
    for mode in ["mutex", "rw", "shard"] {
        let dir = TempDir::new(&format!("sim-aof-{mode}"));
        let d = dir.path().display().to_string();
        let mut server = ServerProcess::start(mode, &["--appendonly", "yes", "--dir", &d]);
        let mut con = server.client();
        run(&mut con, &["SET", "s", "v", "EX", "1000"]);
        run(&mut con, &["INCRBYFLOAT", "f", "0.1"]);
        run(&mut con, &["RPUSH", "l", "a", "b", "c"]);
        run(&mut con, &["SADD", "set", "1", "2", "three"]);
        run(&mut con, &["HSET", "h", "f", "v"]);
        run(&mut con, &["ZADD", "z", "1.5", "a", "-inf", "b"]);
        run(&mut con, &["BGREWRITEAOF"]);
        // After the rewrite (or during it), more writes go to the new
        // incr file.
        std::thread::sleep(Duration::from_millis(100));
        run(&mut con, &["MULTI"]);
        run(&mut con, &["LPOP", "l"]);
        run(&mut con, &["SELECT", "5"]);
        run(&mut con, &["SET", "in5", "x"]);
        run(&mut con, &["EXEC"]);
        run(&mut con, &["SELECT", "0"]);
        run(&mut con, &["DEL", "h"]);
        let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
        assert!(server.wait_exit(Duration::from_secs(30)).is_some());

        let files = aof::files(&dir.path().join("appendonlydir")).expect("the files");
        let loaded = aof::load(&files, guest.as_ref()).expect("loads");
        let text = String::from_utf8_lossy(&loaded.native).to_string();
        for expected in [
            "$3\r\nin5\r\n",
            "$1\r\nf\r\n$3\r\n0.1\r\n",
            "PEXPIREAT",
            "ZADD",
        ] {
            assert!(text.contains(expected), "{mode}: {expected:?} in {text}");
        }
        assert!(!text.contains("HMSET"), "{mode}: h was deleted: {text}");
        if let Some(wasm) = loaded.wasm {
            assert_eq!(
                String::from_utf8_lossy(&wasm),
                text,
                "{mode}: the wasm guest loads the same keyspace"
            );
        }
    }
}
