//! The commands that treat a string as an array of bytes: APPEND, STRLEN,
//! GETRANGE, SETRANGE. The writers edit the stored bytes in place, so the
//! key keeps its TTL.

use bytes::Bytes;

use super::{check_string_length, clamp_range, string_at, string_at_mut};
use crate::cmd::int_arg;
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Str, Value};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

/// APPEND key value: the length after appending.
pub(super) fn append(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, tail) = (&args[1], &args[2]);
    let mut ks = view.ks_mut(key)?;
    Ok(match string_at_mut(&mut ks, key, ctx.now_ms()) {
        Err(e) => e,
        // A new key holds just the argument, which the protocol already
        // limited to proto-max-bulk-len.
        Ok(None) => {
            ks.set(key, Value::String(Str::copy_from(tail)), None);
            Frame::Integer(tail.len() as i64)
        }
        // Even an empty tail counts as a change, as in Redis.
        Ok(Some(mut value)) => match check_string_length(value.len() as u64, tail.len() as u64) {
            Err(e) => e,
            Ok(()) => {
                value.make_mut().extend_from_slice(tail);
                Frame::Integer(value.len() as i64)
            }
        },
    })
}

/// STRLEN key: 0 for a missing key.
pub(super) fn strlen(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    Ok(match string_at(view.ks(key)?, key, ctx.now_ms()) {
        Err(e) => e,
        Ok(value) => Frame::Integer(value.map_or(0, |v| v.len()) as i64),
    })
}

/// GETRANGE key start end: the bytes from `start` to `end` inclusive,
/// indexes as in [`clamp_range`]; an empty string (never nil) when the
/// range or the key is empty.
pub(super) fn getrange(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    // Redis parses both indexes before it looks at the key.
    let (start, end) = match (int_arg(&args[2]), int_arg(&args[3])) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(e), _) | (_, Err(e)) => return Ok(e),
    };
    let key = &args[1];
    let value = match string_at(view.ks(key)?, key, ctx.now_ms()) {
        Err(e) => return Ok(e),
        Ok(value) => value.map_or(&[][..], Str::as_slice),
    };
    Ok(match clamp_range(start, end, value.len() as i64) {
        // clamp_range keeps both ends within 0..len.
        Some((start, end)) => Frame::bulk(&value[start as usize..=end as usize]),
        None => Frame::bulk(b""),
    })
}

/// SETRANGE key offset value: overwrite from `offset`, padding with zero
/// bytes if the string is shorter; replies with the new length.
pub(super) fn setrange(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let offset = match int_arg(&args[2]) {
        Err(e) => return Ok(e),
        Ok(offset) if offset < 0 => return Ok(Frame::static_error(error::OFFSET_OUT_OF_RANGE)),
        Ok(offset) => offset as u64,
    };
    let (key, patch) = (&args[1], &args[3]);
    let mut ks = view.ks_mut(key)?;
    Ok(match string_at_mut(&mut ks, key, ctx.now_ms()) {
        Err(e) => e,
        // Writing nothing creates nothing: no key, length 0.
        Ok(None) if patch.is_empty() => Frame::Integer(0),
        Ok(None) => {
            if let Err(e) = check_string_length(offset, patch.len() as u64) {
                return Ok(e);
            }
            let mut value = Vec::new();
            write_at(&mut value, offset as usize, patch);
            let len = value.len();
            ks.set(key, Value::String(Str::raw(value)), None);
            Frame::Integer(len as i64)
        }
        // Nor does it change an existing string, however large the offset.
        Ok(Some(value)) if patch.is_empty() => Frame::Integer(value.len() as i64),
        Ok(Some(mut value)) => {
            if let Err(e) = check_string_length(offset, patch.len() as u64) {
                return Ok(e);
            }
            write_at(value.make_mut(), offset as usize, patch);
            Frame::Integer(value.len() as i64)
        }
    })
}

/// Copy `patch` into `value` at `offset`, growing `value` with zero bytes
/// as needed. The caller has checked `offset + patch.len()` against the
/// maximum string size, so it fits in memory terms and in `usize`.
fn write_at(value: &mut Vec<u8>, offset: usize, patch: &[u8]) {
    let end = offset + patch.len();
    if value.len() < end {
        value.resize(end, 0);
    }
    value[offset..end].copy_from_slice(patch);
}

#[cfg(test)]
mod tests {
    use crate::frame::Frame;
    use crate::testkit::*;

    #[test]
    fn append_creates_grows_and_keeps_the_ttl() {
        check_all_modes(&[
            (&["APPEND", "k", "Hello"], int(5)),
            (&["APPEND", "k", " World"], int(11)),
            (&["GET", "k"], bulk("Hello World")),
            (&["APPEND", "k", ""], int(11)),
            (&["APPEND", "empty", ""], int(0)),
            (&["EXISTS", "empty"], int(1)),
            (
                &["APPEND", "k"],
                err("ERR wrong number of arguments for 'append' command"),
            ),
        ]);
        for mut db in TestDb::all_modes() {
            db.cmd(&["SET", "k", "a", "PX", "100"]);
            assert_eq!(db.cmd(&["APPEND", "k", "b"]), int(2));
            db.advance_ms(100);
            assert_eq!(db.cmd(&["GET", "k"]), bulk("ab"), "TTL kept");
            db.advance_ms(1);
            assert_eq!(db.cmd(&["APPEND", "k", "c"]), int(1), "expired: a new key");
            assert_eq!(db.cmd(&["PTTL", "k"]), int(-1));
        }
    }

    #[test]
    fn append_and_strlen_are_binary_safe() {
        for mut db in TestDb::all_modes() {
            assert_eq!(db.cmd_bytes(&[b"APPEND", b"k", b"\x00\xff"]), int(2));
            assert_eq!(db.cmd_bytes(&[b"APPEND", b"k", b"\r\n"]), int(4));
            assert_eq!(db.cmd_bytes(&[b"GET", b"k"]), Frame::bulk(b"\x00\xff\r\n"));
            assert_eq!(db.cmd_bytes(&[b"STRLEN", b"k"]), int(4));
        }
    }

    #[test]
    fn strlen() {
        check_all_modes(&[
            (&["STRLEN", "missing"], int(0)),
            (&["SET", "k", "hello"], ok()),
            (&["STRLEN", "k"], int(5)),
            (&["INCRBY", "n", "-123"], int(-123)),
            (&["STRLEN", "n"], int(4)),
            (
                &["STRLEN"],
                err("ERR wrong number of arguments for 'strlen' command"),
            ),
        ]);
    }

    #[test]
    fn getrange_clamps_like_redis_7() {
        // Every expectation checked against redis-server 7.0.15.
        check_all_modes(&[
            (&["GETRANGE", "missing", "0", "1"], bulk("")),
            (
                &["GETRANGE", "missing", "a", "b"],
                err("ERR value is not an integer or out of range"),
            ),
            (&["SET", "k", "hello"], ok()),
            (&["GETRANGE", "k", "0", "-1"], bulk("hello")),
            (&["GETRANGE", "k", "0", "100"], bulk("hello")),
            (&["GETRANGE", "k", "-100", "-3"], bulk("hel")),
            (&["GETRANGE", "k", "-3", "-1"], bulk("llo")),
            (&["GETRANGE", "k", "4", "4"], bulk("o")),
            (&["GETRANGE", "k", "5", "5"], bulk("")),
            (&["GETRANGE", "k", "5", "3"], bulk("")),
            (&["GETRANGE", "k", "-1", "-5"], bulk("")),
            (&["GETRANGE", "k", "1", "-9223372036854775808"], bulk("")),
            (
                &[
                    "GETRANGE",
                    "k",
                    "-9223372036854775808",
                    "9223372036854775807",
                ],
                bulk("hello"),
            ),
            (
                &["GETRANGE", "k", "0", "x"],
                err("ERR value is not an integer or out of range"),
            ),
            (
                &["GETRANGE", "k", "1.5", "2"],
                err("ERR value is not an integer or out of range"),
            ),
            (&["SET", "e", ""], ok()),
            (&["GETRANGE", "e", "0", "-1"], bulk("")),
            (&["GETRANGE", "e", "-1", "0"], bulk("")),
            (
                &["GETRANGE", "k", "0"],
                err("ERR wrong number of arguments for 'getrange' command"),
            ),
        ]);
    }

    #[test]
    fn setrange_pads_and_overwrites() {
        check_all_modes(&[
            (&["SETRANGE", "k", "0", "Hello World"], int(11)),
            (&["SETRANGE", "k", "6", "Redis"], int(11)),
            (&["GET", "k"], bulk("Hello Redis")),
            (&["SETRANGE", "k", "11", "!"], int(12)),
            (&["GET", "k"], bulk("Hello Redis!")),
            (&["SETRANGE", "k", "1000", ""], int(12)),
            (&["SETRANGE", "missing", "5", ""], int(0)),
            (&["EXISTS", "missing"], int(0)),
            (
                &["SETRANGE", "missing", "-1", ""],
                err("ERR offset is out of range"),
            ),
            (
                &["SETRANGE", "k", "-1", "x"],
                err("ERR offset is out of range"),
            ),
            (
                &["SETRANGE", "k", "abc", "x"],
                err("ERR value is not an integer or out of range"),
            ),
            (
                &["SETRANGE", "k", "536870912", "a"],
                err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
            ),
            (
                &["SETRANGE", "k", "536870911", "ab"],
                err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
            ),
            (
                &["SETRANGE", "missing", "9223372036854775807", "a"],
                err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
            ),
            (&["SETRANGE", "missing", "536870912", ""], int(0)),
            (&["SETRANGE", "k", "536870912", ""], int(12)),
            (&["EXISTS", "missing"], int(0)),
            (
                &["SETRANGE", "k", "0"],
                err("ERR wrong number of arguments for 'setrange' command"),
            ),
        ]);
        for mut db in TestDb::all_modes() {
            assert_eq!(db.cmd(&["SETRANGE", "z", "3", "ab"]), int(5));
            assert_eq!(db.cmd(&["GET", "z"]), Frame::bulk(b"\x00\x00\x00ab"));
            assert_eq!(
                db.cmd_bytes(&[b"SETRANGE", b"z", b"1", b"\xff\x00"]),
                int(5)
            );
            assert_eq!(db.cmd(&["GET", "z"]), Frame::bulk(b"\x00\xff\x00ab"));
        }
    }

    #[test]
    fn setrange_keeps_the_ttl() {
        for mut db in TestDb::all_modes() {
            db.cmd(&["SET", "k", "hello", "EX", "10"]);
            assert_eq!(db.cmd(&["SETRANGE", "k", "0", "J"]), int(5));
            assert_eq!(db.cmd(&["TTL", "k"]), int(10));
            assert_eq!(db.cmd(&["GET", "k"]), bulk("Jello"));
        }
    }
}
