//! BITFIELD's arithmetic (overflow under WRAP, SAT and FAIL for signed and
//! unsigned widths, the 64-bit edges) and its commands; the expected values
//! were checked against redis-server 7.0.15.

use super::*;
use crate::testkit::*;

const U8: FieldType = FieldType {
    signed: false,
    bits: 8,
};
const I8: FieldType = FieldType {
    signed: true,
    bits: 8,
};
const I64: FieldType = FieldType {
    signed: true,
    bits: 64,
};
const U63: FieldType = FieldType {
    signed: false,
    bits: 63,
};

#[test]
fn unsigned_overflow_wraps_saturates_or_fails() {
    use Overflow::*;
    // INCRBY: the old value plus the increment.
    assert_eq!(apply(250, 10, U8, Wrap), Some(4));
    assert_eq!(apply(250, 10, U8, Sat), Some(255));
    assert_eq!(apply(250, 10, U8, Fail), None);
    assert_eq!(apply(250, 5, U8, Fail), Some(255));
    assert_eq!(apply(3, -5, U8, Wrap), Some(254));
    assert_eq!(apply(3, -5, U8, Sat), Some(0));
    assert_eq!(apply(3, -5, U8, Fail), None);
    assert_eq!(apply(3, -3, U8, Fail), Some(0));
    // SET: the value alone; a negative value is a huge u64, too high.
    assert_eq!(apply(-1, 0, U8, Wrap), Some(255));
    assert_eq!(apply(-1, 0, U8, Sat), Some(255));
    assert_eq!(apply(256, 0, U8, Wrap), Some(0));
    assert_eq!(apply(i64::MIN, 0, U63, Sat), Some(i64::MAX));
    assert_eq!(apply(i64::MAX, 1, U63, Wrap), Some(0));
    assert_eq!(apply(0, i64::MIN, U63, Sat), Some(0));
    assert_eq!(apply(0, i64::MIN, U63, Wrap), Some(0));
}

#[test]
fn signed_overflow_wraps_saturates_or_fails() {
    use Overflow::*;
    assert_eq!(apply(120, 10, I8, Wrap), Some(-126));
    assert_eq!(apply(120, 10, I8, Sat), Some(127));
    assert_eq!(apply(120, 10, I8, Fail), None);
    assert_eq!(apply(-120, -10, I8, Wrap), Some(126));
    assert_eq!(apply(-120, -10, I8, Sat), Some(-128));
    assert_eq!(apply(-128, 255, I8, Fail), Some(127));
    assert_eq!(apply(-128, 256, I8, Fail), None);
    assert_eq!(apply(-128, 256, I8, Sat), Some(127));
    assert_eq!(apply(200, 0, I8, Wrap), Some(-56));
    assert_eq!(apply(-129, 0, I8, Sat), Some(-128));
    // The 64-bit edges: no room above i64::MAX or below i64::MIN.
    assert_eq!(apply(i64::MAX, 1, I64, Wrap), Some(i64::MIN));
    assert_eq!(apply(i64::MAX, 1, I64, Sat), Some(i64::MAX));
    assert_eq!(apply(i64::MIN, -1, I64, Sat), Some(i64::MIN));
    assert_eq!(apply(i64::MIN, -1, I64, Fail), None);
    assert_eq!(apply(i64::MIN, i64::MAX, I64, Fail), Some(-1));
    assert_eq!(apply(-1, i64::MIN, I64, Sat), Some(i64::MIN));
    assert_eq!(apply(i64::MIN, 0, I64, Fail), Some(i64::MIN));
    // i1 holds -1 and 0.
    let i1 = FieldType {
        signed: true,
        bits: 1,
    };
    assert_eq!(apply(0, 1, i1, Wrap), Some(-1));
    assert_eq!(apply(-1, 1, i1, Fail), Some(0));
    assert_eq!(apply(0, 1, i1, Sat), Some(0));
}

#[test]
fn fields_cross_byte_boundaries_big_endian() {
    let mut v = vec![0u8; 2];
    write_field(&mut v, 7, 5, 23);
    assert_eq!(v, [0b0000_0001, 0b0111_0000]);
    assert_eq!(
        read_field(
            &v,
            7,
            FieldType {
                signed: false,
                bits: 5
            }
        ),
        23
    );
    assert_eq!(
        read_field(
            &v,
            7,
            FieldType {
                signed: true,
                bits: 5
            }
        ),
        -9
    );
    // Past the end reads as zeros.
    assert_eq!(read_field(&v, 12, I64), 0);
    assert_eq!(read_field(&[0xff; 8], 0, I64), -1);
}

#[test]
fn types_and_offsets_parse_as_redis() {
    assert_eq!(parse_type(b"i64"), Ok(I64));
    assert_eq!(parse_type(b"u63"), Ok(U63));
    assert_eq!(parse_type(b"i8\x00junk"), Ok(I8));
    for bad in [
        &b"u64"[..],
        b"i65",
        b"i0",
        b"I8",
        b"i",
        b"",
        b"i08",
        b"x8",
        b"u-1",
    ] {
        assert_eq!(
            parse_type(bad),
            Err(Frame::static_error(error::BITFIELD_TYPE)),
            "{bad:?}"
        );
    }
    assert_eq!(parse_offset(b"100", 8), Ok(100));
    assert_eq!(parse_offset(b"#3", 8), Ok(24));
    assert_eq!(parse_offset(b"4294967295", 8), Ok(4294967295));
    // #(2^58 + 1) of i64 wraps to bit 64, as in Redis.
    assert_eq!(parse_offset(b"#288230376151711745", 64), Ok(64));
    for bad in [&b"4294967296"[..], b"-1", b"#-1", b"##1", b"# 1", b"x"] {
        assert_eq!(
            parse_offset(bad, 8),
            Err(Frame::static_error(error::BIT_OFFSET)),
            "{bad:?}"
        );
    }
}

#[test]
fn bitfield_commands() {
    let null = Frame::Null;
    check_all_modes(&[
        (
            &["BITFIELD", "missing", "GET", "u8", "0"],
            arr(vec![int(0)]),
        ),
        (&["EXISTS", "missing"], int(0)),
        (&["BITFIELD", "missing"], arr(vec![])),
        (
            &["BITFIELD", "k", "SET", "i8", "#1", "-100", "GET", "u8", "8"],
            arr(vec![int(0), int(156)]),
        ),
        (&["STRLEN", "k"], int(2)),
        (
            &[
                "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "8", "-100", "OVERFLOW",
                "SAT", "INCRBY", "i8", "8", "-100",
            ],
            arr(vec![null.clone(), int(-128)]),
        ),
        (
            &[
                "BITFIELD", "k", "overflow", "wrap", "incrby", "u2", "100", "1",
            ],
            arr(vec![int(1)]),
        ),
        (&["STRLEN", "k"], int(13)),
        (
            &["BITFIELD", "k", "OVERFLOW", "BAD", "GET", "u8", "0"],
            err(error::BITFIELD_OVERFLOW_TYPE),
        ),
        (&["BITFIELD", "k", "GET", "u8"], err(error::SYNTAX)),
        (&["BITFIELD", "k", "SET", "u8", "0"], err(error::SYNTAX)),
        (
            &["BITFIELD", "k", "SET", "u8", "0", "x"],
            err(error::NOT_INTEGER),
        ),
        (
            &["BITFIELD", "k", "GET", "u64", "0"],
            err(error::BITFIELD_TYPE),
        ),
        (
            &["BITFIELD_RO", "k", "GET", "i8", "8"],
            arr(vec![int(-128)]),
        ),
        (
            &["BITFIELD_RO", "k", "GET", "i8", "8", "SET", "u8", "0", "1"],
            err(error::BITFIELD_RO_GET_ONLY),
        ),
        (
            &["BITFIELD_RO", "k", "SET", "u99", "0", "1"],
            err(error::BITFIELD_TYPE),
        ),
        (&["HSET", "h", "f", "v"], int(1)),
        (&["BITFIELD", "h", "GET", "u8", "0"], err(error::WRONGTYPE)),
        (
            &["BITFIELD", "h", "SET", "u8", "0", "1"],
            err(error::WRONGTYPE),
        ),
        (
            &["BITFIELD_RO", "h", "GET", "u8", "0"],
            err(error::WRONGTYPE),
        ),
    ]);
}

#[test]
fn bitfield_key_flags_follow_its_operations() {
    let args = |words: &[&str]| -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    };
    let flags = |words: &[&str]| bitfield_keys(&args(words))[0].flags;
    assert_eq!(flags(&["BITFIELD", "k"]), RO | ACCESS);
    assert_eq!(
        flags(&["BITFIELD", "k", "GET", "u8", "0", "OVERFLOW", "SAT"]),
        RO | ACCESS
    );
    assert_eq!(
        flags(&["BITFIELD", "k", "GET", "u8", "0", "set", "u8", "0", "1"]),
        RW | ACCESS | UPDATE
    );
    assert_eq!(flags(&["BITFIELD", "k", "GET", "u8"]), RW | ACCESS | UPDATE);
}

/// A BITFIELD (or BITOP) that changed the string is propagated as sent; one
/// that changed nothing (GETs only, a SET of the value already there, an
/// INCRBY that FAILed, an empty BITOP result over a missing destkey) is not
/// propagated at all, as in Redis.
#[test]
fn only_real_changes_are_propagated_verbatim() {
    let args = |words: &[&str]| -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    };
    for mut db in TestDb::all_modes() {
        for (command, propagated) in [
            (&["BITFIELD", "k", "GET", "u8", "0"][..], false),
            (&["BITFIELD", "k", "SET", "u8", "0", "5"], true),
            (
                &["BITFIELD", "k", "SET", "u8", "0", "5", "GET", "i4", "4"],
                false,
            ),
            (
                &[
                    "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300",
                ],
                false,
            ),
            (&["BITFIELD", "k", "INCRBY", "u8", "0", "1"], true),
            (&["BITFIELD", "k", "INCRBY", "u8", "0", "0"], false),
            (&["BITFIELD_RO", "k", "GET", "u8", "0"], false),
            (&["BITOP", "AND", "dst", "missing"], false),
            (&["BITOP", "OR", "dst", "k"], true),
            (&["BITOP", "AND", "dst", "missing"], true),
        ] {
            let argv = args(command);
            let (reply, executed) = db.exec.dispatch(&mut db.session, &argv, db.now_ms * 1000);
            assert!(!reply.is_error(), "{command:?}: {reply:?}");
            let sent: Vec<_> = executed.signal.propagate.iter().map(|p| &p.argv).collect();
            if propagated {
                assert_eq!(sent, vec![&argv], "{command:?}");
            } else {
                assert!(sent.is_empty(), "{command:?} propagated {sent:?}");
            }
        }
        assert_eq!(db.cmd(&["GET", "k"]), Frame::bulk(b"\x06"));
        assert_eq!(db.cmd(&["EXISTS", "dst"]), int(0));
    }
}
