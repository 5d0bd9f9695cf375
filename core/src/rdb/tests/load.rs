//! Loading files this writer never produces: built by hand in the older
//! encodings Redis 7.0 still reads, with contents that must be refused,
//! and saved by redis-server 7.0.15 itself.

use super::super::encode::{put_len, put_string};
use super::super::legacy::tests::{ziplist, zipmap};
use super::super::listpack::ListpackWriter;
use super::super::lzf::Compressor;
use super::super::*;
use super::{hash, limits, read, set, write, zset};
use crate::keyspace::{Hash, Limits, List, NodeLimit, Value, ZSet};

/// Build a file by hand (version `version`, no checksum check when 0).
fn handmade(version: u32, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = format!("REDIS{version:04}").into_bytes();
    body(&mut out);
    out.push(opcode::EOF);
    if version >= 5 {
        out.extend(0u64.to_le_bytes());
    }
    out
}

fn s(out: &mut Vec<u8>, bytes: &[u8]) {
    put_string(out, bytes, &mut Compressor::new());
}

fn hash_of(pairs: &[(&str, &str)]) -> Value {
    let mut h = Hash::default();
    for (f, v) in pairs {
        h.set(f.as_bytes(), v.as_bytes(), &limits());
    }
    Value::Hash(Box::new(h))
}

fn zset_of(pairs: &[(f64, &str)]) -> Value {
    let mut z = ZSet::default();
    for (score, m) in pairs {
        z.insert(*score, m.as_bytes(), 128, 64);
    }
    Value::ZSet(Box::new(z))
}

fn list_of(elements: &[&str]) -> Value {
    Value::List(Box::new(List::from_elements(
        elements.iter().map(|e| e.as_bytes()),
        NodeLimit::default(),
    )))
}

#[test]
fn older_encodings_load() {
    let bytes = handmade(6, |f| {
        // LIST (1), with an old EXPIRETIME in seconds.
        f.push(opcode::EXPIRETIME);
        f.extend(1_600_000_000i32.to_le_bytes());
        f.push(rdb_type::LIST);
        s(f, b"list1");
        put_len(f, 3);
        for e in [&b"a"[..], b"12", b"c"] {
            s(f, e);
        }
        // ZSET (3): scores as text, 254 = +inf.
        f.push(rdb_type::ZSET);
        s(f, b"zset3");
        put_len(f, 2);
        s(f, b"one");
        f.extend(b"\x031.5");
        s(f, b"top");
        f.push(254);
        // FREQ and IDLE before an entry are skipped.
        f.extend([opcode::FREQ, 5, opcode::IDLE, 7]);
        f.push(rdb_type::HASH_ZIPMAP);
        s(f, b"zipmap");
        s(f, &zipmap(&[(b"f", b"v"), (b"n", b"7")]));
        f.push(rdb_type::LIST_ZIPLIST);
        s(f, b"ziplist list");
        s(f, &ziplist(&[b"x", b"-3", b"y"]));
        f.push(rdb_type::ZSET_ZIPLIST);
        s(f, b"ziplist zset");
        s(f, &ziplist(&[b"a", b"2", b"b", b"1.25"]));
        f.push(rdb_type::HASH_ZIPLIST);
        s(f, b"ziplist hash");
        s(f, &ziplist(&[b"k", b"100000", b"k2", b"v2"]));
        f.push(rdb_type::LIST_QUICKLIST);
        s(f, b"quicklist");
        put_len(f, 2);
        s(f, &ziplist(&[b"1", b"2"]));
        s(f, &ziplist(&[b"three"]));
    });
    let (aux, loaded) = read(&bytes, &limits()).unwrap();
    assert_eq!(aux.rdb_version, 6);
    let got: Vec<(String, Value)> = loaded
        .iter()
        .map(|l| {
            (
                String::from_utf8_lossy(&l.key).into_owned(),
                l.value.clone(),
            )
        })
        .collect();
    let want = vec![
        ("list1".into(), list_of(&["a", "12", "c"])),
        (
            "zset3".into(),
            zset_of(&[(1.5, "one"), (f64::INFINITY, "top")]),
        ),
        ("zipmap".into(), hash_of(&[("f", "v"), ("n", "7")])),
        ("ziplist list".into(), list_of(&["x", "-3", "y"])),
        ("ziplist zset".into(), zset_of(&[(2.0, "a"), (1.25, "b")])),
        (
            "ziplist hash".into(),
            hash_of(&[("k", "100000"), ("k2", "v2")]),
        ),
        ("quicklist".into(), list_of(&["1", "2", "three"])),
    ];
    assert_eq!(got, want);
    assert_eq!(loaded[0].deadline_ms, Some(1_600_000_000_000));
    assert_eq!(loaded[0].offset, 9, "the entry starts at its EXPIRETIME");
    assert_eq!(loaded[1].deadline_ms, None, "a deadline belongs to one key");
    assert_eq!(loaded[2].value.encoding(), "listpack");
}

/// Encodings follow the loading server's limits, as `rdbLoadObject`
/// converts them.
#[test]
fn loading_converts_by_the_config_limits() {
    let entries = vec![
        (0, b"h".to_vec(), hash(5, 2), None),
        (
            0,
            b"i".to_vec(),
            set(&(0..5).map(|i| i.to_string()).collect::<Vec<_>>()),
            None,
        ),
        (0, b"z".to_vec(), zset(5), None),
        (0, b"big hash".to_vec(), hash(600, 2), None),
        (0, b"big zset".to_vec(), zset(300), None),
    ];
    let bytes = write(&entries);
    let tight = Limits {
        hash_entries: 3,
        set_intset_entries: 3,
        zset_entries: 3,
        ..limits()
    };
    let (_, loaded) = read(&bytes, &tight).unwrap();
    let encodings: Vec<&str> = loaded.iter().map(|l| l.value.encoding()).collect();
    assert_eq!(
        encodings,
        [
            "hashtable",
            "hashtable",
            "skiplist",
            "hashtable",
            "skiplist"
        ]
    );
    let loose = Limits {
        hash_entries: 1000,
        zset_entries: 1000,
        ..limits()
    };
    let (_, loaded) = read(&bytes, &loose).unwrap();
    let encodings: Vec<&str> = loaded.iter().map(|l| l.value.encoding()).collect();
    assert_eq!(
        encodings,
        ["listpack", "intset", "listpack", "listpack", "listpack"]
    );
    for ((_, _, value, _), l) in entries.iter().zip(&loaded) {
        assert_eq!(&l.value, value);
    }
}

#[test]
fn unsupported_and_malformed_contents_are_named() {
    let err_of = |bytes: Vec<u8>| read(&bytes, &limits()).unwrap_err().message;
    let one = |t: u8| {
        handmade(10, |f| {
            f.push(t);
            s(f, b"k");
            put_len(f, 0);
        })
    };
    assert!(err_of(one(rdb_type::STREAM_LISTPACKS_2)).contains("streams"));
    assert!(err_of(one(rdb_type::MODULE_2)).contains("module"));
    assert!(err_of(one(8)).contains("unknown value type 8"));
    assert!(err_of(handmade(10, |f| f.push(opcode::MODULE_AUX))).contains("module aux"));
    assert!(err_of(handmade(10, |f| f.push(opcode::FUNCTION2))).contains("functions"));
    assert!(err_of(handmade(11, |_| {})).contains("version 11"));
    assert!(err_of(b"RIDES0010\xff".to_vec()).contains("REDIS"));
    // A count larger than the file is refused before any allocation.
    let huge = handmade(10, |f| {
        f.push(rdb_type::SET);
        s(f, b"k");
        put_len(f, 1 << 40);
    });
    assert!(err_of(huge).contains("more than"));
    // An LZF string claiming a terabyte.
    let bomb = handmade(10, |f| {
        f.push(rdb_type::STRING);
        s(f, b"k");
        f.push(0xC3);
        put_len(f, 2);
        put_len(f, 1 << 40);
        f.extend([0x00, b'a']);
    });
    assert!(err_of(bomb).contains("LZF"));
    let dup = handmade(10, |f| {
        f.push(rdb_type::SET);
        s(f, b"k");
        put_len(f, 2);
        s(f, b"x");
        s(f, b"x");
    });
    assert!(err_of(dup).contains("duplicate"));
    let nan = handmade(10, |f| {
        f.push(rdb_type::ZSET_2);
        s(f, b"k");
        put_len(f, 1);
        s(f, b"m");
        f.extend(f64::NAN.to_le_bytes());
    });
    assert!(err_of(nan).contains("NaN"));
    let mut odd = ListpackWriter::new();
    odd.push(b"field");
    let odd_hash = handmade(10, |f| {
        f.push(rdb_type::HASH_LISTPACK);
        s(f, b"k");
        s(f, &odd.finish());
    });
    assert!(err_of(odd_hash).contains("pairs"));
}

#[test]
fn empty_collections_are_skipped() {
    let bytes = handmade(10, |f| {
        f.push(rdb_type::HASH);
        s(f, b"empty hash");
        put_len(f, 0);
        f.push(rdb_type::LIST_QUICKLIST_2);
        s(f, b"empty list");
        put_len(f, 0);
        f.push(rdb_type::STRING);
        s(f, b"kept");
        s(f, b"v");
    });
    let (_, loaded) = read(&bytes, &limits()).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(&loaded[0].key[..], b"kept");
}

/// Saved by redis-server 7.0.15 (SAVE) after: `SET int 12345`, `SET neg
/// -7`, `SET big 9223372036854775807`, `SET long` (`abc` × 40), `SET ttl v
/// PXAT 4102444800000`, `HSET hs f1 v1 n 2 neg -3`, `HSET hw f` (`W` × 70),
/// `SADD si 1 2 3 -5 100000`, `SADD sw apple banana 42`, `RPUSH l a b 1 2
/// -3 1000000 ""`, `ZADD zs 1 a 2.5 b -inf c inf d`, `ZADD zl 1` (`M` ×
/// 70) `2 b`, then `SET three 3` in database 3 and `SADD s15 x` in 15.
const EVERY_TYPE: &[u8] = include_bytes!("../testdata/redis-7.0.15-every-type.rdb");
/// The same server with `list-max-listpack-size 4` and the hash, sorted
/// set and intset limits at 4: `RPUSH ql 1 2 3 4 5 6 7 8 9 ten eleven`,
/// `HSET hb a 1 b 2 c 3 d 4 e 5`, `ZADD zb 1 a 2 b 3 c 4 d 5 e`, `SADD sb
/// 1 2 3 4 5`, and `SET k v PXAT 4102444800000` in database 1.
const SMALL_LIMITS: &[u8] = include_bytes!("../testdata/redis-7.0.15-small-limits.rdb");

#[test]
fn files_written_by_redis_server_load_and_re_encode_byte_for_byte() {
    let small = Limits {
        hash_entries: 4,
        set_intset_entries: 4,
        zset_entries: 4,
        list_node: NodeLimit::Entries(4),
        ..limits()
    };
    for (file, limits) in [(EVERY_TYPE, limits()), (SMALL_LIMITS, small)] {
        let (aux, loaded) = read(file, &limits).unwrap();
        assert_eq!(aux.get("redis-ver"), Some(&b"7.0.15"[..]));
        assert_eq!(aux.get("aof-base"), Some(&b"0"[..]));
        for l in &loaded {
            let name = String::from_utf8_lossy(&l.key);
            let (t, ours) = value_payload(&l.value, limits.list_node);
            let theirs = &file[l.payload.clone()];
            assert_eq!(t, l.rdb_type, "{name}");
            if matches!(t, rdb_type::SET | rdb_type::HASH) {
                // Hash tables: each server iterates in its own order.
                assert_eq!(ours.len(), theirs.len(), "{name}");
            } else {
                assert_eq!(ours, theirs, "{name}");
            }
        }
    }
    let (_, loaded) = read(EVERY_TYPE, &limits()).unwrap();
    let get = |key: &str| {
        loaded
            .iter()
            .find(|l| &l.key[..] == key.as_bytes())
            .unwrap()
    };
    assert_eq!(
        get("zs").value,
        zset_of(&[
            (1.0, "a"),
            (2.5, "b"),
            (f64::NEG_INFINITY, "c"),
            (f64::INFINITY, "d")
        ])
    );
    assert_eq!(
        get("l").value,
        list_of(&["a", "b", "1", "2", "-3", "1000000", ""])
    );
    assert_eq!(get("long").value, Value::String(b"abc".repeat(40).into()));
    assert_eq!(
        get("hs").value,
        hash_of(&[("f1", "v1"), ("n", "2"), ("neg", "-3")])
    );
    assert_eq!(get("ttl").deadline_ms, Some(4_102_444_800_000));
    assert_eq!((get("three").db, get("s15").db), (3, 15));
    assert_eq!(get("si").value.encoding(), "intset");
    assert_eq!(get("zl").value.encoding(), "skiplist");
}

/// An RDB 9 file in the encodings Redis 5 wrote (ziplist hash, sorted set
/// and quicklist nodes, a zipmap hash, a one-ziplist list, LIST with an
/// EXPIRETIME in seconds, ZSET with a text score), built by hand and
/// accepted by redis-check-rdb 7.0.15 ("7 keys read, 1 expires").
const OLDER_ENCODINGS: &[u8] = include_bytes!("../testdata/older-encodings.rdb");

#[test]
fn a_file_in_redis_5_encodings_loads() {
    let (aux, loaded) = read(OLDER_ENCODINGS, &limits()).unwrap();
    assert_eq!(aux.rdb_version, 9);
    assert_eq!(aux.get("redis-ver"), Some(&b"5.0.7"[..]));
    let got: Vec<(&[u8], &Value)> = loaded.iter().map(|l| (&l.key[..], &l.value)).collect();
    assert_eq!(
        got,
        [
            (&b"hz"[..], &hash_of(&[("f", "v"), ("n", "7")])),
            (b"zz", &zset_of(&[(1.0, "a"), (2.5, "b")])),
            (b"ql", &list_of(&["1", "x", "300"])),
            (b"zm", &hash_of(&[("k", "v")])),
            (b"zl", &list_of(&["a", "b"])),
            (b"l1", &list_of(&["x", "y"])),
            (b"z3", &zset_of(&[(1.5, "m")])),
        ]
    );
    assert_eq!(loaded[5].deadline_ms, Some(2_000_000_000_000));
}
