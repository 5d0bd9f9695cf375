//! Tests of the keyspace commands, in every lock mode (including 8 shards,
//! so multi-key commands and SCAN's cursor really span keyspaces).

use std::collections::BTreeSet;

use super::parse_cursor;
use crate::frame::Frame;
use crate::store::{lock_of, Mode};
use crate::testkit::*;

/// The bulk strings of an array reply, sorted (KEYS' order is the dict's,
/// which differs between modes).
fn sorted(reply: Frame) -> Vec<String> {
    let Frame::Array(items) = reply else {
        panic!("not an array: {reply:?}");
    };
    let mut out: Vec<String> = items
        .into_iter()
        .map(|f| match f {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

/// One SCAN call: (next cursor, keys).
fn scan_once(db: &mut TestDb, cursor: u64, extra: &[&str]) -> (u64, Vec<String>) {
    let cursor = cursor.to_string();
    let mut args = vec!["SCAN", cursor.as_str()];
    args.extend_from_slice(extra);
    let reply = db.cmd(&args);
    let Frame::Array(mut parts) = reply else {
        panic!("SCAN reply {reply:?}");
    };
    assert_eq!(parts.len(), 2);
    let keys = sorted(parts.pop().unwrap_or(Frame::Null));
    let Some(Frame::Bulk(c)) = parts.pop() else {
        panic!("SCAN cursor is not a bulk string");
    };
    let next = std::str::from_utf8(&c).ok().and_then(|s| s.parse().ok());
    (next.expect("numeric cursor"), keys)
}

/// A whole SCAN iteration; every key it returned (with repeats).
fn scan_all(db: &mut TestDb, extra: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor = 0;
    loop {
        let (next, keys) = scan_once(db, cursor, extra);
        all.extend(keys);
        if next == 0 {
            return all;
        }
        cursor = next;
    }
}

fn fill(db: &mut TestDb, prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|i| {
            let key = format!("{prefix}{i}");
            assert_eq!(db.cmd(&["SET", &key, "v"]), ok());
            key
        })
        .collect()
}

#[test]
fn del_unlink_exists_type() {
    check_all_modes(&[
        (&["EXISTS", "a"], int(0)),
        (&["TYPE", "a"], Frame::simple("none")),
        (&["SET", "a", "1"], ok()),
        (&["SET", "b", "2"], ok()),
        (&["SET", "c", "3"], ok()),
        (&["TYPE", "a"], Frame::simple("string")),
        (&["EXISTS", "a", "a", "b", "nope"], int(3)),
        (&["DEL", "a", "a", "nope"], int(1)),
        (&["EXISTS", "a"], int(0)),
        (&["UNLINK", "b", "c", "d"], int(2)),
        (&["DBSIZE"], int(0)),
        (
            &["DEL"],
            err("ERR wrong number of arguments for 'del' command"),
        ),
        (
            &["UNLINK"],
            err("ERR wrong number of arguments for 'unlink' command"),
        ),
        (
            &["EXISTS"],
            err("ERR wrong number of arguments for 'exists' command"),
        ),
        (
            &["TYPE"],
            err("ERR wrong number of arguments for 'type' command"),
        ),
        (
            &["TYPE", "a", "b"],
            err("ERR wrong number of arguments for 'type' command"),
        ),
    ]);
}

#[test]
fn expired_keys_are_absent_for_every_command() {
    for mut db in TestDb::all_modes() {
        assert_eq!(db.cmd(&["SET", "k", "v", "PX", "10"]), ok());
        assert_eq!(db.cmd(&["SET", "live", "v"]), ok());
        db.advance_ms(11);
        assert_eq!(db.cmd(&["EXISTS", "k"]), int(0));
        assert_eq!(db.cmd(&["TYPE", "k"]), Frame::simple("none"));
        assert_eq!(sorted(db.cmd(&["KEYS", "*"])), ["live"]);
        assert_eq!(scan_all(&mut db, &[]), ["live"]);
        for _ in 0..20 {
            assert_eq!(db.cmd(&["RANDOMKEY"]), bulk("live"));
        }
        assert_eq!(db.cmd(&["RENAME", "k", "x"]), err("ERR no such key"));
        assert_eq!(db.cmd(&["DEL", "k"]), int(0));
        assert_eq!(db.cmd(&["DBSIZE"]), int(1));
    }
}

#[test]
fn keys_matches_globs_across_shards() {
    for mut db in TestDb::all_modes() {
        for k in [
            "hello",
            "hallo",
            "hxllo",
            "hllo",
            "heeello",
            "user:1:name",
            "user:2:age",
            "",
        ] {
            assert_eq!(db.cmd(&["SET", k, "v"]), ok());
        }
        let keys = |db: &mut TestDb, p: &str| sorted(db.cmd(&["KEYS", p]));
        // `*` returns every key, even the empty one (which the matcher alone
        // would not match, in Redis too).
        assert_eq!(keys(&mut db, "*").len(), 8);
        assert_eq!(keys(&mut db, "**").len(), 7);
        assert_eq!(keys(&mut db, "h?llo"), ["hallo", "hello", "hxllo"]);
        assert_eq!(
            keys(&mut db, "h*llo"),
            ["hallo", "heeello", "hello", "hllo", "hxllo"]
        );
        assert_eq!(keys(&mut db, "h[ae]llo"), ["hallo", "hello"]);
        assert_eq!(keys(&mut db, "h[^e]llo"), ["hallo", "hxllo"]);
        assert_eq!(keys(&mut db, "h[a-b]llo"), ["hallo"]);
        assert_eq!(keys(&mut db, "user:*:name"), ["user:1:name"]);
        assert_eq!(keys(&mut db, r"user\:1*"), ["user:1:name"]);
        assert!(keys(&mut db, "nothing*").is_empty());
        assert_eq!(
            db.cmd(&["KEYS"]),
            err("ERR wrong number of arguments for 'keys' command")
        );
        assert_eq!(
            db.cmd(&["KEYS", "a", "b"]),
            err("ERR wrong number of arguments for 'keys' command")
        );
    }
}

#[test]
fn scan_errors_match_redis() {
    check_all_modes(&[
        (
            &["SCAN"],
            err("ERR wrong number of arguments for 'scan' command"),
        ),
        (&["SCAN", "x"], err("ERR invalid cursor")),
        (&["SCAN", " 1"], err("ERR invalid cursor")),
        (&["SCAN", "1 "], err("ERR invalid cursor")),
        (&["SCAN", "0x1"], err("ERR invalid cursor")),
        (&["SCAN", "+"], err("ERR invalid cursor")),
        (&["SCAN", "18446744073709551616"], err("ERR invalid cursor")),
        // The cursor is checked before the options.
        (&["SCAN", "x", "COUNT", "0"], err("ERR invalid cursor")),
        (&["SCAN", "0", "COUNT", "0"], err("ERR syntax error")),
        (&["SCAN", "0", "COUNT", "-1"], err("ERR syntax error")),
        (
            &["SCAN", "0", "COUNT", "x"],
            err("ERR value is not an integer or out of range"),
        ),
        (&["SCAN", "0", "COUNT"], err("ERR syntax error")),
        (&["SCAN", "0", "MATCH"], err("ERR syntax error")),
        (&["SCAN", "0", "TYPE"], err("ERR syntax error")),
        (&["SCAN", "0", "FOO", "bar"], err("ERR syntax error")),
        (&["SCAN", "0"], arr(vec![bulk("0"), arr(vec![])])),
        (
            &["SCAN", "0", "COUNT", "9223372036854775807"],
            arr(vec![bulk("0"), arr(vec![])]),
        ),
    ]);
}

#[test]
fn any_cursor_is_safe_and_leads_to_the_end() {
    for mut db in TestDb::all_modes() {
        fill(&mut db, "k", 100);
        for start in [
            1,
            7,
            8,
            9,
            255,
            12_345_678_901_234,
            u64::MAX / 8,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut cursor = start;
            for step in 0.. {
                assert!(step < 1000, "cursor {start} never ends");
                let (next, _) = scan_once(&mut db, cursor, &["COUNT", "3"]);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
    }
}

#[test]
fn cursor_parses_like_strtoul() {
    for (s, want) in [
        ("0", Some(0)),
        ("", Some(0)),
        ("007", Some(7)),
        ("+5", Some(5)),
        ("-0", Some(0)),
        ("-1", Some(u64::MAX)),
        ("-18446744073709551615", Some(1)),
        ("18446744073709551615", Some(u64::MAX)),
        ("5\0garbage", Some(5)),
        ("18446744073709551616", None),
        ("-", None),
        ("+", None),
        (" 1", None),
        ("\x0b1", None),
        ("1 ", None),
        ("1x", None),
        ("0x10", None),
    ] {
        assert_eq!(parse_cursor(s.as_bytes()), want, "{s:?}");
    }
}

#[test]
fn scan_returns_every_key_for_every_count_in_every_mode() {
    for mut db in TestDb::all_modes() {
        let keys = fill(&mut db, "key:", 300);
        for count in 1..=100 {
            let count = count.to_string();
            let seen = scan_all(&mut db, &["COUNT", &count]);
            let unique: BTreeSet<String> = seen.iter().cloned().collect();
            assert_eq!(
                unique,
                keys,
                "COUNT {count} in {:?}",
                db.exec.store().mode()
            );
            // Without resizes between calls each key comes exactly once.
            assert_eq!(seen.len(), keys.len(), "COUNT {count}: duplicates");
        }
    }
}

#[test]
fn scan_cursor_is_zero_only_at_the_end_and_count_is_a_hint() {
    let mut db = TestDb::new(Mode::Shard, 8);
    fill(&mut db, "k", 200);
    let mut cursor = 0;
    let mut calls = 0;
    loop {
        let (next, keys) = scan_once(&mut db, cursor, &["COUNT", "5"]);
        calls += 1;
        // Whole buckets are returned, so a reply may exceed COUNT a little.
        assert!(keys.len() <= 5 + 8, "{} keys", keys.len());
        if next == 0 {
            break;
        }
        assert!(calls < 1000);
        cursor = next;
    }
    assert!(calls >= 200 / 13, "{calls} calls");
}

#[test]
fn scan_never_misses_stable_keys_while_others_come_and_go() {
    for mut db in TestDb::all_modes() {
        let stable = fill(&mut db, "stable:", 200);
        let mut cursor = 0;
        let mut seen = BTreeSet::new();
        let mut step = 0;
        loop {
            let (next, keys) = scan_once(&mut db, cursor, &["COUNT", "3"]);
            seen.extend(keys);
            // Churn between calls: grow every table, then shrink them, and
            // delete some transient keys while the scan is under way.
            step += 1;
            if step == 5 {
                fill(&mut db, "transient:", 2000);
            }
            if step == 40 {
                for i in 0..2000 {
                    db.cmd(&["DEL", &format!("transient:{i}")]);
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let missing: Vec<_> = stable.difference(&seen).collect();
        assert!(
            missing.is_empty(),
            "{:?} missed {missing:?}",
            db.exec.store().mode()
        );
    }
}

#[test]
fn scan_filters_by_pattern_type_and_expiry() {
    for mut db in TestDb::all_modes() {
        fill(&mut db, "user:", 50);
        fill(&mut db, "order:", 50);
        assert_eq!(db.cmd(&["SET", "", "empty"]), ok());
        assert_eq!(db.cmd(&["PEXPIRE", "user:7", "5"]), int(1));
        db.advance_ms(6);
        let users = scan_all(&mut db, &["MATCH", "user:*"]);
        assert_eq!(users.len(), 49);
        assert!(users.iter().all(|k| k.starts_with("user:")) && !users.contains(&"user:7".into()));
        // `*` disables the pattern, so the empty key is returned as well.
        assert_eq!(scan_all(&mut db, &["MATCH", "*"]).len(), 100);
        assert_eq!(
            scan_all(&mut db, &["TYPE", "STRING", "COUNT", "7"]).len(),
            100
        );
        assert_eq!(scan_all(&mut db, &["TYPE", "string\0x"]).len(), 100);
        assert!(scan_all(&mut db, &["TYPE", "list"]).is_empty());
        assert!(scan_all(&mut db, &["TYPE", "none"]).is_empty());
        assert_eq!(
            scan_all(&mut db, &["MATCH", "order:1?", "COUNT", "1000"]).len(),
            10
        );
    }
}

#[test]
fn randomkey_draws_live_keys_deterministically() {
    check_all_modes(&[(&["RANDOMKEY"], Frame::Null)]);
    let sequence = |mode: Mode, shards: u32| {
        let mut db = TestDb::new(mode, shards);
        let keys = fill(&mut db, "r", 40);
        let drawn: Vec<Frame> = (0..200).map(|_| db.cmd(&["RANDOMKEY"])).collect();
        let distinct: BTreeSet<String> = drawn
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(distinct.is_subset(&keys));
        assert!(distinct.len() > 30, "only {} distinct keys", distinct.len());
        drawn
    };
    for (mode, shards) in [
        (Mode::Mutex, 1),
        (Mode::Rw, 1),
        (Mode::Shard, 1),
        (Mode::Shard, 8),
    ] {
        assert_eq!(sequence(mode, shards), sequence(mode, shards), "{mode:?}");
    }
    // One keyspace: the modes draw the same keys from the same seed.
    assert_eq!(sequence(Mode::Mutex, 1), sequence(Mode::Shard, 1));
    assert_eq!(
        TestDb::new(Mode::Mutex, 1).cmd(&["RANDOMKEY", "x"]),
        err("ERR wrong number of arguments for 'randomkey' command")
    );
}

#[test]
fn randomkey_finds_the_live_key_among_many_dead_ones() {
    for mut db in TestDb::all_modes() {
        for i in 0..300 {
            assert_eq!(db.cmd(&["SET", &format!("dead{i}"), "v", "PX", "1"]), ok());
        }
        assert_eq!(db.cmd(&["SET", "alive", "v"]), ok());
        db.advance_ms(2);
        // Most draws hit dead keys; the fallback still finds the live one.
        for _ in 0..20 {
            assert_eq!(db.cmd(&["RANDOMKEY"]), bulk("alive"));
        }
        assert_eq!(db.cmd(&["DEL", "alive"]), int(1));
        assert_eq!(db.cmd(&["RANDOMKEY"]), Frame::Null);
    }
}

#[test]
fn rename_and_renamenx() {
    check_all_modes(&[
        (&["RENAME", "nope", "x"], err("ERR no such key")),
        (&["RENAME", "nope", "nope"], err("ERR no such key")),
        (&["RENAMENX", "nope", "x"], err("ERR no such key")),
        (&["SET", "a", "1"], ok()),
        (&["RENAME", "a", "a"], ok()),
        (&["RENAMENX", "a", "a"], int(0)),
        (&["SET", "b", "2"], ok()),
        (&["RENAMENX", "a", "b"], int(0)),
        (&["GET", "a"], bulk("1")),
        (&["EXPIRE", "b", "100"], int(1)),
        // The source's (missing) TTL replaces the destination's.
        (&["RENAME", "a", "b"], ok()),
        (&["GET", "b"], bulk("1")),
        (&["EXISTS", "a"], int(0)),
        (&["TTL", "b"], int(-1)),
        (&["EXPIRE", "b", "50"], int(1)),
        (&["RENAMENX", "b", "c"], int(1)),
        (&["TTL", "c"], int(50)),
        (&["EXISTS", "b"], int(0)),
        (
            &["RENAME", "c"],
            err("ERR wrong number of arguments for 'rename' command"),
        ),
        (
            &["RENAMENX", "c", "d", "e"],
            err("ERR wrong number of arguments for 'renamenx' command"),
        ),
    ]);
}

#[test]
fn rename_moves_values_across_shards() {
    let mut db = TestDb::new(Mode::Shard, 8);
    let shard = |k: &str| lock_of(k.as_bytes(), 8);
    let mut moved = 0;
    for i in 0..40 {
        let (src, dst) = (format!("src{i}"), format!("dst{i}"));
        assert_eq!(db.cmd(&["SET", &src, &src, "PX", "5000"]), ok());
        assert_eq!(db.cmd(&["SET", &dst, "old"]), ok());
        assert_eq!(db.cmd(&["RENAME", &src, &dst]), ok());
        assert_eq!(db.cmd(&["GET", &dst]), bulk(&src));
        assert_eq!(db.cmd(&["PTTL", &dst]), int(5000));
        assert_eq!(db.cmd(&["EXISTS", &src]), int(0));
        moved += usize::from(shard(&src) != shard(&dst));
    }
    assert!(moved > 20, "only {moved} cross-shard renames");
    // Everything renamed is reachable through KEYS and SCAN, in its new shard.
    let expected: Vec<String> = sorted(db.cmd(&["KEYS", "dst*"]));
    assert_eq!(expected.len(), 40);
    assert_eq!(db.cmd(&["DBSIZE"]), int(40));
    let mut scanned = scan_all(&mut db, &["COUNT", "1"]);
    scanned.sort();
    assert_eq!(scanned, expected);
}

/// Sixteen databases: each SELECTed database has its own keys, and every
/// whole-database command (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB) sees
/// only the selected one; FLUSHALL empties all.
#[test]
fn databases_are_separate_keyspaces() {
    for mut db in TestDb::all_modes() {
        let mode = db.exec.store().mode();
        for i in 0..20 {
            db.cmd(&["SET", &format!("zero{i}"), "0"]);
        }
        assert_eq!(db.cmd(&["SELECT", "5"]), ok());
        assert_eq!(db.cmd(&["DBSIZE"]), int(0), "{mode:?}");
        assert_eq!(db.cmd(&["GET", "zero1"]), Frame::Null);
        assert_eq!(db.cmd(&["RANDOMKEY"]), Frame::Null);
        db.cmd(&["SET", "five", "5"]);
        assert_eq!(sorted(db.cmd(&["KEYS", "*"])), ["five"]);
        assert_eq!(scan_once(&mut db, 0, &["COUNT", "1000"]).1, ["five"]);
        assert_eq!(db.cmd(&["SELECT", "0"]), ok());
        assert_eq!(db.cmd(&["DBSIZE"]), int(20));
        assert_eq!(db.cmd(&["FLUSHDB"]), ok());
        assert_eq!(db.cmd(&["DBSIZE"]), int(0));
        db.cmd(&["SELECT", "5"]);
        assert_eq!(
            db.cmd(&["GET", "five"]),
            bulk("5"),
            "FLUSHDB is per database"
        );
        db.cmd(&["FLUSHALL"]);
        assert_eq!(db.cmd(&["DBSIZE"]), int(0));
    }
}

/// MOVE and COPY ... DB take keys across databases with their deadline;
/// Redis's replies and errors, in Redis's order of checks.
#[test]
fn move_and_copy_between_databases() {
    check_all_modes(&[
        (&["SET", "k", "v"], ok()),
        (&["PEXPIRE", "k", "100000"], int(1)),
        (
            &["MOVE", "k", "x"],
            err("ERR value is not an integer or out of range"),
        ),
        (&["MOVE", "k", "16"], err("ERR DB index is out of range")),
        (&["MOVE", "k", "-1"], err("ERR DB index is out of range")),
        (
            &["MOVE", "k", "0"],
            err("ERR source and destination objects are the same"),
        ),
        (
            &["MOVE", "missing", "0"],
            err("ERR source and destination objects are the same"),
        ),
        (&["MOVE", "missing", "1"], int(0)),
        (&["MOVE", "k", "1"], int(1)),
        (&["EXISTS", "k"], int(0)),
        (&["SET", "k", "again"], ok()),
        (&["MOVE", "k", "1"], int(0)),
        (&["SELECT", "1"], ok()),
        (&["GET", "k"], bulk("v")),
        (&["PTTL", "k"], int(100000)),
        (
            &["COPY", "k", "k"],
            err("ERR source and destination objects are the same"),
        ),
        (
            &["COPY", "k", "k", "DB", "1"],
            err("ERR source and destination objects are the same"),
        ),
        (&["COPY", "k", "k", "DB", "0"], int(0)),
        (&["COPY", "k", "k", "DB", "0", "REPLACE"], int(1)),
        (&["COPY", "k", "c", "DB"], err("ERR syntax error")),
        (
            &["COPY", "k", "c", "DB", "99"],
            err("ERR DB index is out of range"),
        ),
        (&["COPY", "k", "c", "bogus"], err("ERR syntax error")),
        (&["COPY", "nope", "c"], int(0)),
        (&["COPY", "k", "c"], int(1)),
        (&["GET", "c"], bulk("v")),
        (&["PTTL", "c"], int(100000)),
        (&["SELECT", "0"], ok()),
        (&["GET", "k"], bulk("v")),
        (&["PTTL", "k"], int(100000)),
    ]);
}

/// SWAPDB exchanges two databases for every client at once.
#[test]
fn swapdb_exchanges_databases() {
    check_all_modes(&[
        (&["SET", "a", "in0"], ok()),
        (&["SELECT", "3"], ok()),
        (&["SET", "b", "in3"], ok()),
        (&["SWAPDB", "0", "3"], ok()),
        (&["GET", "a"], bulk("in0")),
        (&["GET", "b"], Frame::Null),
        (&["SELECT", "0"], ok()),
        (&["GET", "b"], bulk("in3")),
        (&["SWAPDB", "0", "0"], ok()),
        (&["DBSIZE"], int(1)),
        (&["SWAPDB", "x", "0"], err("ERR invalid first DB index")),
        (&["SWAPDB", "0", "x"], err("ERR invalid second DB index")),
        (&["SWAPDB", "x", "y"], err("ERR invalid first DB index")),
        (&["SWAPDB", "0", "16"], err("ERR DB index is out of range")),
        (&["SWAPDB", "-1", "0"], err("ERR DB index is out of range")),
        (
            &["SWAPDB", "0", "4294967296"],
            err("ERR invalid second DB index"),
        ),
    ]);
}

/// OBJECT IDLETIME counts seconds since the last use; reads and writes use
/// a key, TYPE/EXISTS/TTL/OBJECT do not.
#[test]
fn idletime_follows_uses_not_peeks() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["SET", "k", "v"]);
        db.advance_ms(5_000);
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "k"]), int(5));
        db.cmd(&["TYPE", "k"]);
        db.cmd(&["EXISTS", "k"]);
        db.cmd(&["TTL", "k"]);
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "k"]), int(5));
        db.cmd(&["GET", "k"]);
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "k"]), int(0));
        db.advance_ms(2_500);
        db.cmd(&["APPEND", "k", "x"]);
        db.advance_ms(1_000);
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "k"]), int(1));
        assert_eq!(db.cmd(&["OBJECT", "IDLETIME", "nosuch"]), Frame::Null);
    }
}
