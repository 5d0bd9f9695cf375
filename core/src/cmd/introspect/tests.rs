//! COMMAND GETKEYS / INFO against what redis-server 7.0.15 answers (the
//! differential corpus checks the same byte for byte; these pin the
//! shapes the table cannot reach yet, such as keynum commands).

use bytes::Bytes;

use super::*;
use crate::cmd::key_flags::*;
use crate::testkit::*;

fn argv(words: &str) -> Vec<Bytes> {
    words
        .split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn row(name: &'static str, arity: i32, flags: u32, keys: &'static [KeySpec]) -> CommandSpec {
    fn never(_: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
        Frame::Null
    }
    spec(
        name,
        arity,
        flags,
        keys,
        "generic",
        "",
        "",
        Handler::Server(never),
    )
}

/// ZUNIONSTORE's row as Redis declares it.
fn zunionstore() -> CommandSpec {
    const KEYS: &[KeySpec] = &[
        KeySpec::key(1, OW | UPDATE),
        KeySpec::index(2).keynum(0, 1, 1).flags(RO | ACCESS),
    ];
    row("zunionstore", -4, WRITE | DENYOOM, KEYS)
}

/// EVAL's: its keys are optional (`no_mandatory_keys`).
fn eval() -> CommandSpec {
    const KEYS: &[KeySpec] = &[KeySpec::index(2)
        .keynum(0, 1, 1)
        .flags(RW | ACCESS | UPDATE)];
    row("eval", -3, NOSCRIPT | STALE | NO_MANDATORY_KEYS, KEYS)
}

fn keys(words: &[&str]) -> Frame {
    arr(words.iter().map(|w| bulk(w)).collect())
}

#[test]
fn getkeys_follows_keynum_like_redis() {
    let z = zunionstore();
    let reply = |words: &str| keys_reply(&z, &argv(words), false);
    assert_eq!(reply("zunionstore dst 2 a b"), keys(&["dst", "a", "b"]));
    let invalid = Frame::static_error(error::GETKEYS_INVALID_ARGS);
    // numkeys 0, too large, negative, not a number: Redis 7.0.15 answers
    // "Invalid arguments" to each.
    for bad in ["0 a", "3 a b", "-1 a b", "x a b"] {
        assert_eq!(reply(&format!("zunionstore dst {bad}")), invalid, "{bad}");
    }
    assert_eq!(
        reply("zunionstore dst"),
        Frame::static_error(error::GETKEYS_ARITY)
    );
    // Without mandatory keys, no keys is an empty answer.
    let e = eval();
    assert_eq!(keys_reply(&e, &argv("eval s 0"), false), arr(vec![]));
    assert_eq!(keys_reply(&e, &argv("eval s 2 k"), false), arr(vec![]));
    assert_eq!(keys_reply(&e, &argv("eval s 1 k"), false), keys(&["k"]));
}

#[test]
fn getkeys_errors_in_redis_order() {
    let mut db = TestDb::new(crate::store::Mode::Shard, 4);
    let cases: &[(&[&str], Frame)] = &[
        (
            &["COMMAND", "GETKEYS", "nosuch", "a"],
            err("ERR Invalid command specified"),
        ),
        (
            &["COMMAND", "GETKEYS", "ping", "a"],
            err("ERR The command has no key arguments"),
        ),
        (
            &["COMMAND", "GETKEYS", "keys", "*"],
            err("ERR The command has no key arguments"),
        ),
        (
            &["COMMAND", "GETKEYS", "get", "a", "b"],
            err("ERR Invalid number of arguments specified for command"),
        ),
        (
            &["COMMAND", "GETKEYS", "mset", "a"],
            err("ERR Invalid number of arguments specified for command"),
        ),
        (
            &["COMMAND", "GETKEYS", "get"],
            err("ERR wrong number of arguments for 'command|getkeys' command"),
        ),
        (&["COMMAND", "GETKEYS", "GET", "k"], keys(&["k"])),
        (
            &["COMMAND", "GETKEYS", "mset", "a", "1", "b"],
            keys(&["a", "b"]),
        ),
        (
            &["COMMAND", "GETKEYS", "rename", "a", "b"],
            keys(&["a", "b"]),
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(&db.cmd(cmd), want, "{cmd:?}");
    }
}

#[test]
fn getkeysandflags_reports_each_specs_flags() {
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    let flags = |names: &[&'static str]| arr(names.iter().map(|n| Frame::simple(n)).collect());
    assert_eq!(
        db.cmd(&["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"]),
        arr(vec![
            arr(vec![bulk("a"), flags(&["RW", "access", "delete"])]),
            arr(vec![bulk("b"), flags(&["OW", "update"])]),
        ])
    );
    // SET's flags come from its finder: they depend on GET.
    assert_eq!(
        db.cmd(&["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v"]),
        arr(vec![arr(vec![bulk("k"), flags(&["OW", "update"])])])
    );
    assert_eq!(
        db.cmd(&["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get"]),
        arr(vec![arr(vec![
            bulk("k"),
            flags(&["RW", "access", "update"])
        ])])
    );
}

#[test]
fn info_prints_the_derived_triple_and_the_key_specs() {
    let mut db = TestDb::new(crate::store::Mode::Shard, 4);
    let Frame::Array(info) = db.cmd(&["COMMAND", "INFO", "rename", "nosuch"]) else {
        panic!("INFO is an array")
    };
    assert_eq!(info[1], Frame::Null);
    let Frame::Array(rename) = &info[0] else {
        panic!("an entry is an array")
    };
    assert_eq!(rename.len(), 10);
    assert_eq!(rename[..2], [bulk("rename"), int(3)]);
    assert_eq!(rename[3..6], [int(1), int(2), int(1)]);
    let index = |i| {
        arr(vec![
            bulk("type"),
            bulk("index"),
            bulk("spec"),
            arr(vec![bulk("index"), int(i)]),
        ])
    };
    let range = arr(vec![
        bulk("type"),
        bulk("range"),
        bulk("spec"),
        arr(vec![
            bulk("lastkey"),
            int(0),
            bulk("keystep"),
            int(1),
            bulk("limit"),
            int(0),
        ]),
    ]);
    let spec = |i, flags: &[&'static str]| {
        arr(vec![
            bulk("flags"),
            arr(flags.iter().map(|f| Frame::simple(f)).collect()),
            bulk("begin_search"),
            index(i),
            bulk("find_keys"),
            range.clone(),
        ])
    };
    assert_eq!(
        rename[8],
        arr(vec![
            spec(1, &["RW", "access", "delete"]),
            spec(2, &["OW", "update"])
        ])
    );
    // A keynum spec makes a command movablekeys, as in Redis.
    let Frame::Array(z) = command_info(&zunionstore()) else {
        unreachable!()
    };
    let names = ["write", "denyoom", "movablekeys"];
    // The reply model: a set (`~` in RESP3, an array in RESP2).
    assert_eq!(
        z[2],
        Frame::Set(names.iter().map(|n| Frame::simple(n)).collect())
    );
    assert_eq!(z[3..6], [int(1), int(1), int(1)]);
}

#[test]
fn count_and_docs() {
    let mut db = TestDb::new(crate::store::Mode::Rw, 1);
    let Frame::Integer(n) = db.cmd(&["COMMAND", "COUNT"]) else {
        panic!("COUNT is an integer")
    };
    assert_eq!(n as usize, crate::cmd::all().len());
    let Frame::Array(docs) = db.cmd(&["COMMAND", "DOCS", "set"]) else {
        panic!("DOCS is an array")
    };
    assert_eq!(docs[0], bulk("set"));
}

/// As redis-server 7.0.15 answers, for the filters whose answer does not
/// depend on commands this server lacks.
#[test]
fn command_list_and_its_filters() {
    let mut db = TestDb::new(crate::store::Mode::Rw, 1);
    let names = |db: &mut TestDb, args: &[&str]| match db.cmd(args) {
        Frame::Array(items) => items,
        other => panic!("{args:?}: {other:?}"),
    };
    let all = names(&mut db, &["COMMAND", "LIST"]);
    assert_eq!(all.len(), crate::cmd::all().len());
    assert!(all.contains(&bulk("get")) && all.contains(&bulk("client")));
    assert_eq!(
        names(
            &mut db,
            &["COMMAND", "LIST", "FILTERBY", "PATTERN", "getd*"]
        ),
        [bulk("getdel")]
    );
    assert_eq!(
        names(
            &mut db,
            &["command", "list", "filterby", "pattern", "GETD*"]
        ),
        [bulk("getdel")]
    );
    assert!(names(
        &mut db,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"]
    )
    .is_empty());
    assert!(names(
        &mut db,
        &["COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch"]
    )
    .is_empty());
    let strings = names(
        &mut db,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "STRING"],
    );
    assert!(strings.contains(&bulk("append")) && !strings.contains(&bulk("del")));
    for args in [
        &["COMMAND", "LIST", "FILTERBY"][..],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN"],
        &["COMMAND", "LIST", "FILTERBY", "FOO", "x"],
        &["COMMAND", "LIST", "x"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b"],
    ] {
        assert_eq!(db.cmd(args), err("ERR syntax error"), "{args:?}");
    }
}
