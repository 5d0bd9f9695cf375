//! Round trips through the writer and the reader for every type and
//! encoding, and damaged files (truncated at every byte, every byte
//! flipped): always an error, never a panic. Files built by hand and
//! files saved by redis-server are in [`load`].

use super::encode::{put_len, put_string};
use super::lzf::Compressor;
use super::*;
use crate::keyspace::{Hash, Limits, List, NodeLimit, Set, Value, ZSet};

pub(super) fn limits() -> Limits {
    Limits::default()
}

fn string(s: &[u8]) -> Value {
    Value::String(s.into())
}

pub(super) fn hash(n: usize, value_len: usize) -> Value {
    let mut h = Hash::default();
    for i in 0..n {
        let v = format!("{i:0>width$}", width = value_len);
        h.set(format!("field{i}").as_bytes(), v.as_bytes(), &limits());
    }
    Value::Hash(Box::new(h))
}

pub(super) fn set(members: &[String]) -> Value {
    let mut s = Set::for_member(members[0].as_bytes());
    for m in members {
        s.add(m.as_bytes(), &limits());
    }
    Value::Set(Box::new(s))
}

pub(super) fn list(n: usize) -> Value {
    let elements: Vec<String> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                i.to_string()
            } else {
                format!("element-{i}")
            }
        })
        .collect();
    Value::List(Box::new(List::from_elements(
        elements.iter().map(|e| e.as_bytes()),
        NodeLimit::default(),
    )))
}

pub(super) fn zset(n: usize) -> Value {
    let mut z = ZSet::default();
    let l = limits();
    for i in 0..n {
        let score = match i % 5 {
            0 => i as f64,
            1 => i as f64 / 3.0,
            2 => -(i as f64) * 1e20,
            3 => f64::INFINITY,
            _ => f64::NEG_INFINITY,
        };
        z.insert(
            score,
            format!("m{i}").as_bytes(),
            l.zset_entries,
            l.zset_value,
        );
    }
    Value::ZSet(Box::new(z))
}

/// Every type in both encodings, plus the string encodings.
fn sample() -> Vec<(u32, Vec<u8>, Value, Option<u64>)> {
    let ints: Vec<String> = (-5..20).map(|i| (i * 1000).to_string()).collect();
    let big_ints: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let words: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    vec![
        (0, b"int".to_vec(), string(b"12345"), None),
        (
            0,
            b"negative".to_vec(),
            string(b"-7"),
            Some(1_700_000_123_456),
        ),
        (0, b"big int".to_vec(), string(b"9223372036854775807"), None),
        (0, b"not canonical".to_vec(), string(b"007"), None),
        (0, b"empty".to_vec(), string(b""), None),
        (
            0,
            b"long".to_vec(),
            Value::String(b"abc".repeat(100).into()),
            None,
        ),
        (
            0,
            b"noise".to_vec(),
            Value::String((0..=255u8).collect::<Vec<u8>>().into()),
            None,
        ),
        (0, vec![0, 1, 2, 255, b'\n'], string(b"binary key"), None),
        (0, b"1234".to_vec(), string(b"integer key"), None),
        (
            3,
            b"hash small".to_vec(),
            hash(10, 3),
            Some(1_800_000_000_000),
        ),
        (3, b"hash wide".to_vec(), hash(3, 100), None),
        (3, b"hash big".to_vec(), hash(600, 2), None),
        (3, b"set ints".to_vec(), set(&ints), None),
        (3, b"set many ints".to_vec(), set(&big_ints), None),
        (3, b"set words".to_vec(), set(&words), None),
        (15, b"list small".to_vec(), list(5), None),
        (15, b"list big".to_vec(), list(5000), None),
        (15, b"zset small".to_vec(), zset(10), None),
        (15, b"zset big".to_vec(), zset(300), None),
    ]
}

pub(super) fn write(entries: &[(u32, Vec<u8>, Value, Option<u64>)]) -> Vec<u8> {
    let aux = Aux::redis_7_0(1_700_000_000, 1_000_000, false);
    let mut w = Writer::new(Vec::new(), &aux, NodeLimit::default()).unwrap();
    let mut db = None;
    for (d, key, value, deadline) in entries {
        if db != Some(*d) {
            let keys = entries.iter().filter(|e| e.0 == *d).count() as u64;
            let expires = entries
                .iter()
                .filter(|e| e.0 == *d && e.3.is_some())
                .count() as u64;
            w.select_db(*d, keys, expires).unwrap();
            db = Some(*d);
        }
        w.entry(key, value, *deadline).unwrap();
    }
    w.finish().unwrap()
}

pub(super) fn read(bytes: &[u8], limits: &Limits) -> Result<(Aux, Vec<Loaded>), RdbError> {
    let mut out = Vec::new();
    let aux = load(bytes, limits, |l| {
        out.push(l);
        Ok(())
    })?;
    Ok((aux, out))
}

#[test]
fn every_type_and_encoding_round_trips() {
    let entries = sample();
    let bytes = write(&entries);
    let (aux, loaded) = read(&bytes, &limits()).unwrap();
    assert_eq!(aux, Aux::redis_7_0(1_700_000_000, 1_000_000, false));
    assert_eq!(loaded.len(), entries.len());
    for ((db, key, value, deadline), l) in entries.iter().zip(&loaded) {
        let name = String::from_utf8_lossy(key);
        assert_eq!(
            (l.db, &l.key[..], l.deadline_ms),
            (*db, &key[..], *deadline),
            "{name}"
        );
        assert_eq!(&l.value, value, "{name}");
        assert_eq!(l.value.encoding(), value.encoding(), "{name}");
        // The payload range is exactly the value's encoding.
        assert_eq!(
            value_payload(value, NodeLimit::default()).1,
            bytes[l.payload.clone()],
            "{name}"
        );
    }
    let types: Vec<u8> = loaded.iter().map(|l| l.rdb_type).collect();
    use rdb_type::*;
    for t in [
        STRING,
        HASH_LISTPACK,
        HASH,
        SET_INTSET,
        SET,
        LIST_QUICKLIST_2,
        ZSET_LISTPACK,
        ZSET_2,
    ] {
        assert!(types.contains(&t), "type {t} written");
    }
    // Writing what was read gives a file of the same size (hash tables
    // may iterate in another order) that reads back the same.
    let again: Vec<_> = loaded
        .into_iter()
        .map(|l| (l.db, l.key.to_vec(), l.value, l.deadline_ms))
        .collect();
    let rewritten = write(&again);
    assert_eq!(rewritten.len(), bytes.len());
    let (_, reloaded) = read(&rewritten, &limits()).unwrap();
    for ((_, _, value, _), l) in entries.iter().zip(&reloaded) {
        assert_eq!(&l.value, value);
    }
}

/// The head of a file as redis-server 7.0.15 writes it for SAVE: aux
/// values that are integers are integer-encoded strings.
#[test]
fn header_and_aux_fields_are_byte_exact() {
    let bytes = Writer::new(
        Vec::new(),
        &Aux::redis_7_0(1_700_000_000, 0, true),
        NodeLimit::default(),
    )
    .unwrap()
    .finish()
    .unwrap();
    let mut want = b"REDIS0010".to_vec();
    want.extend(b"\xfa\x09redis-ver\x067.0.15");
    want.extend(b"\xfa\x0aredis-bits\xc0\x40");
    want.extend(b"\xfa\x05ctime\xc2");
    want.extend(1_700_000_000i32.to_le_bytes());
    want.extend(b"\xfa\x08used-mem\xc0\x00");
    want.extend(b"\xfa\x08aof-base\xc0\x01");
    want.push(0xff);
    let crc = crc64::crc64(0, &want);
    want.extend(crc.to_le_bytes());
    assert_eq!(bytes, want);
}

#[test]
fn strings_use_redis_s_encodings() {
    let enc = |s: &[u8]| {
        let mut out = Vec::new();
        put_string(&mut out, s, &mut Compressor::new());
        out
    };
    assert_eq!(enc(b"0"), [0xC0, 0]);
    assert_eq!(enc(b"-1"), [0xC0, 0xFF]);
    assert_eq!(enc(b"1000"), [0xC1, 0xE8, 0x03]);
    assert_eq!(enc(b"-2147483648"), [0xC2, 0, 0, 0, 0x80]);
    assert_eq!(
        enc(b"2147483648"),
        b"\x0a2147483648",
        "does not fit 32 bits"
    );
    assert_eq!(enc(b"+1"), b"\x02+1");
    assert_eq!(
        enc(&[b'a'; 30]),
        [0xC3, 9, 30, 0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']
    );
    let mut len = Vec::new();
    for n in [63u64, 64, 16383, 16384, 1 << 32] {
        len.clear();
        put_len(&mut len, n);
        assert_eq!(
            len.len(),
            match n {
                63 => 1,
                64 | 16383 => 2,
                16384 => 5,
                _ => 9,
            },
            "{n}"
        );
    }
}

/// A small file holding every encoding, for the exhaustive damage tests.
fn small_file() -> Vec<u8> {
    let ints: Vec<String> = (0..5).map(|i| i.to_string()).collect();
    let words: Vec<String> = (0..5).map(|i| format!("w{i}")).collect();
    write(&[
        (0, b"s".to_vec(), string(b"12"), Some(1_700_000_000_000)),
        (
            0,
            b"lz".to_vec(),
            Value::String(b"xy".repeat(20).into()),
            None,
        ),
        (1, b"h".to_vec(), hash(2, 1), None),
        (1, b"H".to_vec(), hash(2, 70), None),
        (1, b"i".to_vec(), set(&ints), None),
        (1, b"w".to_vec(), set(&words), None),
        (2, b"l".to_vec(), list(4), None),
        (2, b"z".to_vec(), zset(3), None),
        (2, b"Z".to_vec(), zset(130), None),
    ])
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let bytes = small_file();
    assert!(read(&bytes, &limits()).is_ok());
    for cut in 0..bytes.len() {
        assert!(read(&bytes[..cut], &limits()).is_err(), "cut at {cut}");
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    let bytes = small_file();
    let mut damaged = bytes.clone();
    for i in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            damaged[i] ^= flip;
            assert!(read(&damaged, &limits()).is_err(), "byte {i} ^ {flip:#x}");
            damaged[i] ^= flip;
        }
    }
}

#[test]
fn checksum_zero_means_not_checked() {
    let mut bytes = small_file();
    let n = bytes.len();
    bytes[n - 8..].fill(0);
    assert!(read(&bytes, &limits()).is_ok());
    bytes[n - 1] = 1;
    let err = read(&bytes, &limits()).unwrap_err();
    assert!(err.message.contains("checksum"), "{err}");
}

/// Lists are cut into nodes as Redis's quicklist fills them: with
/// `list-max-listpack-size 3`, 7 elements make nodes of 3, 3 and 1.
#[test]
fn list_nodes_follow_the_quicklist_fill_rule() {
    let elements: Vec<String> = (0..7).map(|i| format!("e{i}")).collect();
    let value = Value::List(Box::new(List::from_elements(
        elements.iter().map(|e| e.as_bytes()),
        NodeLimit::Entries(3),
    )));
    let (t, payload) = value_payload(&value, NodeLimit::Entries(3));
    assert_eq!(t, rdb_type::LIST_QUICKLIST_2);
    assert_eq!(payload[0], 3, "three nodes");
    // Node 1: container 2, then a 19-byte listpack: header 6, three
    // entries of 4 (encoding, 2 bytes, back-length), terminator.
    assert_eq!(&payload[1..3], [2, 6 + 3 * 4 + 1]);
    let (_, default_nodes) = value_payload(&list(5000), NodeLimit::default());
    assert!(default_nodes[0] & 0x3f > 1, "a big list has several nodes");
}

mod load;
