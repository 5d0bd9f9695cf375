//! Every propagation rule against what Redis itself writes.
//!
//! The expected commands are what redis-server 7.0.15 wrote to its
//! `appendonlydir/*.incr.aof` for the same sessions (`--appendonly yes`,
//! active expiry off with `DEBUG SET-ACTIVE-EXPIRE 0` where a test needs a
//! key to expire lazily), with Redis's absolute times replaced by the
//! test clock's. `MULTI`/`EXEC` around a lazily expired key's `DEL` and the
//! command that met it are checked through [`WriteSignal::transaction`].

use bytes::Bytes;

use super::WriteSignal;
use crate::testkit::TestDb;

/// The test clock's start ([`TestDb`]), in ms.
const T: u64 = 1_700_000_000_000;

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

/// Run one command; what it signalled.
fn run(db: &mut TestDb, words: &[&str]) -> WriteSignal {
    let argv = args(words);
    db.exec
        .dispatch(&mut db.session, &argv, db.now_ms * 1000)
        .1
        .signal
}

/// The propagated commands, one string per command, words joined by
/// spaces (as the AOF lists them), prefixed `dbN:` outside database 0.
fn shown(signal: &WriteSignal) -> Vec<String> {
    signal
        .propagate
        .iter()
        .map(|p| {
            let words: Vec<String> = p
                .argv
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            match p.db {
                0 => words.join(" "),
                db => format!("db{db}: {}", words.join(" ")),
            }
        })
        .collect()
}

/// Run `(command, expected propagation)` steps in every mode.
fn check(steps: &[(&str, &[&str])]) {
    for mut db in TestDb::all_modes() {
        for (command, want) in steps {
            let words: Vec<&str> = command.split(' ').collect();
            let words: Vec<&str> = words
                .iter()
                .map(|w| if *w == "''" { "" } else { w })
                .collect();
            let signal = run(&mut db, &words);
            assert_eq!(
                shown(&signal),
                *want,
                "{command} in {:?}",
                db.exec.store().mode()
            );
            // Propagated iff a key changed (or the keyspace was flushed).
            assert_eq!(
                signal.propagate.is_empty(),
                !signal.changed_data(),
                "{command}"
            );
        }
    }
}

fn at(offset_ms: u64) -> String {
    (T + offset_ms).to_string()
}

#[test]
fn set_propagates_a_deadline_as_pxat_and_drops_get() {
    let (b, c) = (
        format!("SET b v PXAT {}", at(100_000)),
        format!("SET c v PXAT {}", at(100_000)),
    );
    check(&[
        ("set a 1", &["set a 1"]),
        ("set a 2 NX", &[]),
        ("set b v EX 100 GET", &[&b]),
        ("set c v PX 100000 NX", &[&c]),
        ("set c2 v EXAT 99999999999 XX", &[]),
        ("set d v KEEPTTL", &["set d v KEEPTTL"]),
        ("set e v PXAT 1", &["SET e v PXAT 1"]),
        ("set g 3 GET", &["set g 3"]),
        ("set g 4 XX GET", &["set g 4 XX"]),
        (
            "set y v EX 1000 NX GET",
            &[&format!("SET y v PXAT {}", at(1_000_000))],
        ),
        ("set x v EX 0", &[]),
    ]);
}

#[test]
fn setex_psetex_getset_setnx() {
    check(&[
        ("setex f 100 v", &[&format!("SET f v PXAT {}", at(100_000))]),
        (
            "psetex g 100000 v",
            &[&format!("SET g v PXAT {}", at(100_000))],
        ),
        ("setnx g z", &[]),
        ("setnx h z", &["setnx h z"]),
        ("getset h 2", &["SET h 2"]),
    ]);
}

#[test]
fn incrbyfloat_propagates_its_result() {
    check(&[
        ("incrbyfloat i 1.5", &["SET i 1.5 KEEPTTL"]),
        ("incrbyfloat i 1e2", &["SET i 101.5 KEEPTTL"]),
        ("set j v", &["set j v"]),
        ("incrbyfloat j 1", &[]),
        ("incr n", &["incr n"]),
        ("decrby n 5", &["decrby n 5"]),
        ("incrby sp2 0", &["incrby sp2 0"]),
    ]);
}

#[test]
fn getex_and_getdel() {
    check(&[
        ("set a 1", &["set a 1"]),
        ("getex a EX 100", &[&format!("PEXPIREAT a {}", at(100_000))]),
        ("getex a PERSIST", &["PERSIST a"]),
        ("getex a PERSIST", &[]),
        ("getex a", &[]),
        ("getex a PXAT 1", &["DEL a"]),
        ("getex missing EX 10", &[]),
        ("set b v", &["set b v"]),
        ("getdel b", &["DEL b"]),
        ("getdel b", &[]),
    ]);
}

#[test]
fn expire_family_propagates_pexpireat_or_del() {
    check(&[
        ("set c v", &["set c v"]),
        ("expire c 100", &[&format!("PEXPIREAT c {}", at(100_000))]),
        (
            "pexpire c 100000",
            &[&format!("PEXPIREAT c {}", at(100_000))],
        ),
        ("expireat c 99999999999", &["PEXPIREAT c 99999999999000"]),
        (
            "pexpireat c 99999999999999",
            &["pexpireat c 99999999999999"],
        ),
        ("expire c 100 NX", &[]),
        ("expire c -1", &["DEL c"]),
        ("expire nokey 10", &[]),
        ("set g 1", &["set g 1"]),
        (
            "expire g 100 NX",
            &[&format!("PEXPIREAT g {} NX", at(100_000))],
        ),
        (
            "pexpire g 200000 GT",
            &[&format!("PEXPIREAT g {} GT", at(200_000))],
        ),
        ("expireat g 99999999999 LT", &[]),
        ("set e v", &["set e v"]),
        ("pexpireat e 1", &["DEL e"]),
        (
            "set p v EX 100",
            &[&format!("SET p v PXAT {}", at(100_000))],
        ),
        ("persist p", &["persist p"]),
        ("persist p", &[]),
    ]);
}

#[test]
fn keyspace_and_multi_key_commands_propagate_verbatim_when_they_change_something() {
    check(&[
        ("set p v", &["set p v"]),
        ("del p nosuch", &["del p nosuch"]),
        ("del nosuch", &[]),
        ("unlink nosuch", &[]),
        ("mset m1 1 m2 2", &["mset m1 1 m2 2"]),
        ("msetnx m1 1 m3 3", &[]),
        ("msetnx m4 1 m3 3", &["msetnx m4 1 m3 3"]),
        ("rename m4 n2", &["rename m4 n2"]),
        ("renamenx m1 m2", &[]),
        ("rename m1 m1", &[]),
        ("rename nosuch z", &[]),
        ("renamenx m1 g2", &["renamenx m1 g2"]),
    ]);
}

#[test]
fn string_edits_propagate_only_real_changes() {
    check(&[
        ("append ap x", &["append ap x"]),
        ("setrange ap 0 y", &["setrange ap 0 y"]),
        ("setrange ap 5 ''", &[]),
        ("setrange miss 0 ''", &[]),
        ("append ap ''", &["append ap "]),
        ("setbit sb 1 1", &["setbit sb 1 1"]),
        ("setbit sb 1 1", &[]),
        ("setbit sb 20 0", &["setbit sb 20 0"]),
    ]);
}

#[test]
fn flushes_always_propagate() {
    check(&[
        ("set z 1", &["set z 1"]),
        ("flushall", &["flushall"]),
        ("flushall", &["flushall"]),
        ("flushdb", &["flushdb"]),
    ]);
}

/// Redis 7.0.15 (active expiry off) wrote, for the keys l1..l9 set with
/// `PX 10` and this session 100 ms later: `DEL l1`; `MULTI, DEL l2,
/// set l2 new, EXEC`; `MULTI, DEL l3, DEL l4, EXEC`; `DEL l5`; `DEL l6`;
/// `MULTI, DEL l7, set l7 x NX, EXEC`; `DEL l8`; `MULTI, DEL l9,
/// SET l9 1 KEEPTTL, EXEC`.
#[test]
fn lazily_expired_keys_are_propagated_as_del_before_the_command() {
    for mut db in TestDb::all_modes() {
        for k in ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9"] {
            run(&mut db, &["set", k, "v", "PX", "10"]);
        }
        db.advance_ms(100);
        let steps: &[(&[&str], &[&str])] = &[
            (&["get", "l1"], &["DEL l1"]),
            (
                &["set", "l2", "new"],
                &["MULTI", "DEL l2", "set l2 new", "EXEC"],
            ),
            (
                &["mget", "l3", "x", "l4"],
                &["MULTI", "DEL l3", "DEL l4", "EXEC"],
            ),
            (&["del", "l5"], &["DEL l5"]),
            (&["exists", "l6"], &["DEL l6"]),
            (
                &["set", "l7", "x", "NX"],
                &["MULTI", "DEL l7", "set l7 x NX", "EXEC"],
            ),
            (&["rename", "l8", "z"], &["DEL l8"]),
            (
                &["incrbyfloat", "l9", "1"],
                &["MULTI", "DEL l9", "SET l9 1 KEEPTTL", "EXEC"],
            ),
        ];
        for (command, want) in steps {
            let signal = run(&mut db, command);
            let wrapped = WriteSignal {
                propagate: signal.transaction(),
                ..WriteSignal::default()
            };
            assert_eq!(&shown(&wrapped), want, "{command:?}");
            let own = want
                .iter()
                .any(|w| !w.starts_with("DEL") && !["MULTI", "EXEC"].contains(w));
            assert_eq!(signal.dirty, u64::from(own), "{command:?}");
            assert_eq!(signal.modified[0], command[1], "the expired key first");
        }
    }
}

/// The active cycle's deletions are signalled by its step (Redis 7.0.15
/// wrote `DEL act` from its own cycle).
#[test]
fn actively_expired_keys_are_propagated_as_del() {
    for mut db in TestDb::all_modes() {
        run(&mut db, &["set", "act", "v", "PX", "50"]);
        run(&mut db, &["set", "live", "v"]);
        db.advance_ms(100);
        let mut dels = Vec::new();
        db.exec.active_expire_cycle_with(db.now_ms, |step| {
            dels.extend(shown(&step.signal));
            assert_eq!(step.signal.dirty, 0, "expiry is not dirty, as in Redis");
        });
        assert_eq!(dels, ["DEL act"]);
    }
}

#[test]
fn modified_keys_are_the_keys_that_really_changed() {
    for mut db in TestDb::all_modes() {
        let modified = |db: &mut TestDb, words: &[&str]| run(db, words).modified.to_vec();
        assert_eq!(modified(&mut db, &["set", "a", "1"]), args(&["a"]));
        assert!(modified(&mut db, &["set", "a", "2", "NX"]).is_empty());
        assert!(modified(&mut db, &["del", "missing"]).is_empty());
        assert!(modified(&mut db, &["get", "a"]).is_empty());
        let mset = run(&mut db, &["mset", "k1", "1", "k2", "2", "k1", "3"]);
        assert_eq!(mset.modified.to_vec(), args(&["k1", "k2", "k1"]));
        assert_eq!(mset.dirty, 3, "MSET counts every pair, as Redis's dirty");
        let rename = run(&mut db, &["rename", "k1", "k3"]);
        assert_eq!(rename.modified.to_vec(), args(&["k1", "k3"]));
        assert_eq!(rename.dirty, 1, "a rename is one change");
        assert_eq!(
            modified(&mut db, &["del", "k2", "k3", "nope"]),
            args(&["k2", "k3"])
        );
        let flush = run(&mut db, &["flushall"]);
        assert!(flush.flushed && flush.modified.is_empty());
        assert_eq!(flush.dirty, 1, "the one key left");
    }
}

/// Commands propagate in the database they ran in; MOVE and COPY ... DB
/// verbatim from the source database (Redis's `call()` propagates the
/// client's argv in its selected db), a key they expire in the target
/// database as a DEL there; SWAPDB always (it dirties the server even for
/// one database with itself).
#[test]
fn database_commands_propagate_with_their_database() {
    check(&[
        ("select 2", &[]),
        ("set a 1", &["db2: set a 1"]),
        ("move a 3", &["db2: move a 3"]),
        ("move a 3", &[]),
        ("select 3", &[]),
        ("copy a b db 0", &["db3: copy a b db 0"]),
        ("copy a b db 0", &[]),
        ("copy a b db 0 replace", &["db3: copy a b db 0 replace"]),
        ("swapdb 0 1", &["db3: swapdb 0 1"]),
        ("swapdb 4 4", &["db3: swapdb 4 4"]),
        ("flushdb", &["db3: flushdb"]),
        ("select 1", &[]),
        ("dbsize", &[]),
    ]);
}

/// A MOVE that meets an expired key in the target database deletes it
/// there, so the stream selects that database for the DEL, then returns
/// to the source for the MOVE.
#[test]
fn a_key_expired_in_the_target_database_is_deleted_there() {
    for mut db in TestDb::all_modes() {
        run(&mut db, &["select", "1"]);
        run(&mut db, &["set", "k", "old", "px", "10"]);
        run(&mut db, &["select", "0"]);
        run(&mut db, &["set", "k", "new"]);
        db.now_ms += 20;
        let signal = run(&mut db, &["move", "k", "1"]);
        assert_eq!(shown(&signal), ["db1: DEL k", "move k 1"]);
        assert_eq!(signal.dirty, 1);
    }
}
