//! maxmemory against the real server: every policy holds a 20 MB limit
//! while 200 MB of data are written, noeviction refuses with OOM while
//! reads go on, volatile policies leave persistent keys alone, LRU and LFU
//! keep a hot set, and INFO's used_memory tracks what the process holds.
//!
//! Nothing here asserts speed: limits are asserted on byte counts, and
//! every wait has a generous deadline.

use std::time::Duration;

use myongoredis_testsupport::{ServerProcess, MODES};
use redis::Value;

const LIMIT: u64 = 20 * 1024 * 1024;
/// A value of 10 kB: 200 MB is 20,480 of them.
const VALUE_BYTES: usize = 10 * 1024;
const WRITTEN: usize = 200 * 1024 * 1024;

fn client(server: &ServerProcess) -> redis::Connection {
    let con = server.client();
    con.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    con
}

/// One field of INFO, as a number.
fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let text: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
}

/// Write `count` keys `prefix{i}` of [`VALUE_BYTES`] in pipelines of 64,
/// with `extra` arguments after the value (`EX 1000`); calls `check`
/// after every pipeline. Every reply must be OK.
fn write_keys(
    con: &mut redis::Connection,
    prefix: &str,
    count: usize,
    extra: &[&str],
    mut check: impl FnMut(&mut redis::Connection),
) {
    let value = vec![b'v'; VALUE_BYTES];
    for start in (0..count).step_by(64) {
        let mut pipe = redis::pipe();
        for i in start..(start + 64).min(count) {
            pipe.cmd("SET")
                .arg(format!("{prefix}{i}"))
                .arg(&value[..])
                .arg(extra);
        }
        let replies: Vec<Value> = pipe.query(con).expect("SET pipeline");
        for reply in replies {
            assert_eq!(reply, Value::Okay);
        }
        check(con);
    }
}

#[test]
fn every_policy_holds_20mb_while_200mb_are_written() {
    let policies = [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ];
    for (i, policy) in policies.iter().enumerate() {
        // Each policy in one mode, the modes in turn: the suite's time
        // stays bounded, and each mode meets several policies.
        let mode = MODES[i % MODES.len()];
        let server =
            ServerProcess::start(mode, &["--maxmemory", "20mb", "--maxmemory-policy", policy]);
        let mut con = client(&server);
        let rss_before = info_field(&mut con, "memory", "used_memory_rss");
        let extra: &[&str] = if policy.starts_with("volatile") {
            &["EX", "100000"]
        } else {
            &[]
        };
        let mut peak = 0;
        write_keys(&mut con, "k", WRITTEN / VALUE_BYTES, extra, |con| {
            let used = info_field(con, "memory", "used_memory");
            peak = peak.max(used);
        });
        // One pipeline's worth over at most: 64 values and a table that
        // doubled.
        assert!(
            peak <= LIMIT + 64 * 11 * 1024 + 64 * 1024,
            "{policy} ({mode}): used_memory peaked at {peak}"
        );
        let evicted = info_field(&mut con, "stats", "evicted_keys");
        assert!(evicted > 15_000, "{policy} ({mode}): {evicted} evicted");
        let rss_after = info_field(&mut con, "memory", "used_memory_rss");
        let growth = rss_after.saturating_sub(rss_before);
        assert!(
            growth < 4 * LIMIT,
            "{policy} ({mode}): RSS grew by {growth} bytes for a 20 MB limit"
        );
    }
}

#[test]
fn noeviction_refuses_writes_with_oom_and_serves_reads() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &["--maxmemory", "2mb"]);
        let mut con = client(&server);
        let value = vec![b'v'; VALUE_BYTES];
        let mut refused = None;
        for i in 0..1_000 {
            match redis::cmd("SET")
                .arg(format!("k{i}"))
                .arg(&value[..])
                .query::<()>(&mut con)
            {
                Ok(()) => {}
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("a write is refused past 2 MB");
        assert_eq!(e.code(), Some("OOM"), "{mode}: {e}");
        assert!(
            e.to_string()
                .contains("command not allowed when used memory > 'maxmemory'"),
            "{e}"
        );
        let got: Vec<u8> = redis::cmd("GET").arg("k0").query(&mut con).expect("GET");
        assert_eq!(got, value, "{mode}: reads still work");
        let deleted: i64 = redis::cmd("DEL")
            .arg("k0")
            .arg("k1")
            .query(&mut con)
            .expect("DEL");
        assert_eq!(deleted, 2);
        assert_eq!(info_field(&mut con, "stats", "evicted_keys"), 0);
        // Raising the limit at run time lets writes in again.
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("0")
            .query(&mut con)
            .expect("CONFIG SET");
        let _: () = redis::cmd("SET")
            .arg("again")
            .arg(&value[..])
            .query(&mut con)
            .expect("SET");
    }
}

#[test]
fn volatile_policies_never_evict_persistent_keys() {
    for (i, policy) in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ]
    .iter()
    .enumerate()
    {
        let mode = MODES[i % MODES.len()];
        let server = ServerProcess::start(mode, &["--maxmemory-policy", policy]);
        let mut con = client(&server);
        write_keys(&mut con, "keep", 500, &[], |_| {});
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("10mb")
            .query(&mut con)
            .expect("CONFIG SET");
        write_keys(&mut con, "ttl", 3_000, &["EX", "100000"], |_| {});
        let kept: i64 = (0..500)
            .map(|i| {
                redis::cmd("EXISTS")
                    .arg(format!("keep{i}"))
                    .query::<i64>(&mut con)
                    .expect("EXISTS")
            })
            .sum();
        assert_eq!(kept, 500, "{policy} ({mode})");
        assert!(info_field(&mut con, "stats", "evicted_keys") > 1_000);
    }
}

#[test]
fn lru_and_lfu_keep_a_hot_tenth_of_the_keys() {
    for (i, policy) in ["allkeys-lru", "allkeys-lfu"].iter().enumerate() {
        let mode = MODES[i % MODES.len()];
        let server =
            ServerProcess::start(mode, &["--maxmemory", "20mb", "--maxmemory-policy", policy]);
        let mut con = client(&server);
        // About 1,900 values fit: fill up to the limit, with a tenth of
        // them hot.
        let hot: Vec<String> = (0..190).map(|i| format!("k{i}")).collect();
        write_keys(&mut con, "k", 1_900, &[], |_| {});
        // Then write as much again while reading the hot keys.
        let value = vec![b'v'; VALUE_BYTES];
        for round in 0..1_900 / 19 {
            let mut pipe = redis::pipe();
            for j in 0..19 {
                pipe.cmd("SET")
                    .arg(format!("new{}", round * 19 + j))
                    .arg(&value[..])
                    .ignore();
            }
            for key in &hot {
                pipe.cmd("EXISTS").arg(key).ignore();
                pipe.cmd("STRLEN").arg(key).ignore();
            }
            let () = pipe.query(&mut con).expect("pipeline");
        }
        let alive: i64 = hot
            .iter()
            .map(|k| {
                redis::cmd("EXISTS")
                    .arg(k)
                    .query::<i64>(&mut con)
                    .expect("EXISTS")
            })
            .sum();
        assert!(
            alive * 100 >= 90 * hot.len() as i64,
            "{policy} ({mode}): {alive} of {} hot keys survived",
            hot.len()
        );
    }
}

#[test]
fn used_memory_tracks_the_rss_the_data_costs() {
    let server = ServerProcess::start("shard", &[]);
    let mut con = client(&server);
    let rss_before = info_field(&mut con, "memory", "used_memory_rss");
    let used_before = info_field(&mut con, "memory", "used_memory");
    let n = 200_000;
    for start in (0..n).step_by(1_000) {
        let mut pipe = redis::pipe();
        for i in start..start + 1_000 {
            pipe.cmd("SET")
                .arg(format!("key:{i:012}"))
                .arg(format!("v{i:015}"))
                .ignore();
        }
        let () = pipe.query(&mut con).expect("SET pipeline");
    }
    let rss = info_field(&mut con, "memory", "used_memory_rss") - rss_before;
    let used = info_field(&mut con, "memory", "used_memory") - used_before;
    let ratio = used as f64 / rss as f64;
    assert!(
        (0.85..=1.15).contains(&ratio),
        "used_memory grew by {used}, RSS by {rss} (ratio {ratio:.2})"
    );
}
