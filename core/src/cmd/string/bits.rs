//! Bit commands on strings (Redis's `bitops.c`): SETBIT, GETBIT, BITCOUNT.
//!
//! A string is also a bitmap: bit 0 is the most significant bit of the
//! first byte, so `SETBIT k 0 1` on an empty key gives the byte `0x80`.
//! Offsets beyond the end read as 0; SETBIT grows the string with zero
//! bytes, and keeps the key's TTL.

use bytes::Bytes;

use super::{clamp_range, string_at, string_at_mut};
use crate::cmd::{int_arg, is_keyword, parse_i64};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Str, Value};
use crate::resp::PROTO_MAX_BULK_LEN;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

/// A bit offset as Redis's `getBitOffsetFromArgument` reads it: an integer
/// from 0 to 2^32 - 1, the last bit of a string of proto-max-bulk-len
/// (512 MB) bytes.
fn bit_offset(arg: &[u8]) -> Result<u64, Frame> {
    match parse_i64(arg) {
        Some(n) if n >= 0 && (n >> 3) < PROTO_MAX_BULK_LEN => Ok(n as u64),
        _ => Err(Frame::static_error(error::BIT_OFFSET)),
    }
}

/// The byte that holds bit `offset`, and the mask of the bit in it.
fn locate(offset: u64) -> (usize, u8) {
    // offset < 2^32, so the byte index fits in usize even on wasm32.
    ((offset >> 3) as usize, 0x80 >> (offset & 7))
}

/// SETBIT key offset 0|1: set or clear one bit; replies with its old value.
pub(super) fn setbit(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let offset = match bit_offset(&args[2]) {
        Ok(offset) => offset,
        Err(e) => return Ok(e),
    };
    // Redis reads a whole integer, then accepts only 0 and 1.
    let on = match parse_i64(&args[3]) {
        Some(bit @ (0 | 1)) => bit == 1,
        _ => return Ok(Frame::static_error(error::BIT_VALUE)),
    };
    let (byte, mask) = locate(offset);
    let key = &args[1];
    let mut ks = view.ks_mut(key)?;
    let old = match string_at_mut(&mut ks, key, ctx.now_ms()) {
        Err(e) => return Ok(e),
        // Redis writes (and signals) only when the bit flips or the string
        // grows: setting a bit to the value it has changes nothing.
        Ok(Some(mut value)) => {
            value.unshare();
            let old = value.get(byte).is_some_and(|b| b & mask != 0);
            if old != on || value.len() <= byte {
                write_bit(value.make_mut(), byte, mask, on);
            }
            old
        }
        // Even clearing a bit creates the key, zero-filled up to that bit.
        Ok(None) => {
            let mut value = Vec::new();
            let old = write_bit(&mut value, byte, mask, on);
            ks.set(key, Value::String(Str::raw(value)), None);
            old
        }
    };
    Ok(Frame::Integer(old as i64))
}

/// Set the bit `mask` of byte `byte` to `on`, growing `value` with zero
/// bytes to reach it; returns the bit's old value.
fn write_bit(value: &mut Vec<u8>, byte: usize, mask: u8, on: bool) -> bool {
    if value.len() <= byte {
        value.resize(byte + 1, 0);
    }
    let old = value[byte] & mask != 0;
    if on {
        value[byte] |= mask;
    } else {
        value[byte] &= !mask;
    }
    old
}

/// GETBIT key offset: 0 past the end of the string or for a missing key.
pub(super) fn getbit(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let offset = match bit_offset(&args[2]) {
        Ok(offset) => offset,
        Err(e) => return Ok(e),
    };
    let key = &args[1];
    let value = match string_at(view.ks(key)?, key, ctx.now_ms()) {
        Err(e) => return Ok(e),
        Ok(value) => value.map_or(&[][..], Str::as_slice),
    };
    let (byte, mask) = locate(offset);
    let bit = value.get(byte).is_some_and(|b| b & mask != 0);
    Ok(Frame::Integer(bit as i64))
}

/// BITCOUNT key [start end [BYTE | BIT]]: the number of set bits, in the
/// whole string or in a range of bytes (or, since 7.0, of bits), indexes as
/// GETRANGE's.
pub(super) fn bitcount(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    // Redis looks the key up before it reads the range: a missing key is 0
    // whatever follows it, even a syntax error.
    let key = &args[1];
    let value = match string_at(view.ks(key)?, key, ctx.now_ms()) {
        Err(e) => return Ok(e),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(value)) => value.as_slice(),
    };
    let (start, end, in_bits) = match args.len() {
        2 => return Ok(Frame::Integer(popcount(value))),
        4 | 5 => {
            let (start, end) = match (int_arg(&args[2]), int_arg(&args[3])) {
                (Ok(start), Ok(end)) => (start, end),
                (Err(e), _) | (_, Err(e)) => return Ok(e),
            };
            // As in Redis, this empty range is noticed before the unit is
            // read: `BITCOUNT k -1 -2 FOO` is 0, not a syntax error.
            if start < 0 && end < 0 && start > end {
                return Ok(Frame::Integer(0));
            }
            let in_bits = match args.get(4) {
                None => false,
                Some(unit) if is_keyword(unit, "byte") => false,
                Some(unit) if is_keyword(unit, "bit") => true,
                Some(_) => return Ok(Frame::static_error(error::SYNTAX)),
            };
            (start, end, in_bits)
        }
        // A start without an end (or anything longer).
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let len = value.len() as i64 * if in_bits { 8 } else { 1 };
    let Some((start, end)) = clamp_range(start, end, len) else {
        return Ok(Frame::Integer(0));
    };
    if !in_bits {
        // clamp_range keeps both ends within 0..len.
        return Ok(Frame::Integer(popcount(
            &value[start as usize..=end as usize],
        )));
    }
    // Count the whole bytes the bit range touches, then take away the bits
    // of the first byte before `start` and of the last byte after `end`.
    let (first, last) = ((start >> 3) as usize, (end >> 3) as usize);
    let before_start = !(0xffu8 >> (start & 7));
    let after_end = 0x7fu8 >> (end & 7);
    let outside =
        (value[first] & before_start).count_ones() + (value[last] & after_end).count_ones();
    Ok(Frame::Integer(
        popcount(&value[first..=last]) - outside as i64,
    ))
}

/// The number of set bits in `bytes` (Redis's `redisPopcount`).
fn popcount(bytes: &[u8]) -> i64 {
    bytes.iter().map(|b| b.count_ones() as i64).sum()
}

#[cfg(test)]
mod tests {
    use crate::frame::Frame;
    use crate::testkit::*;

    const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
    const BIT_VALUE: &str = "ERR bit is not an integer or out of range";

    #[test]
    fn setbit_grows_with_zeros_and_returns_the_old_bit() {
        check_all_modes(&[
            (&["SETBIT", "k", "7", "1"], int(0)),
            (&["GET", "k"], bulk("\u{1}")),
            (&["SETBIT", "k", "7", "1"], int(1)),
            (&["SETBIT", "k", "7", "0"], int(1)),
            (&["SETBIT", "k", "7", "0"], int(0)),
            (&["SETBIT", "k", "1", "1"], int(0)),
            (&["GET", "k"], bulk("@")),
            (&["SETBIT", "z", "100", "0"], int(0)),
            (&["STRLEN", "z"], int(13)),
            (&["GETBIT", "z", "100"], int(0)),
        ]);
        for mut db in TestDb::all_modes() {
            assert_eq!(db.cmd(&["SETBIT", "b", "0", "1"]), int(0));
            assert_eq!(db.cmd(&["SETBIT", "b", "23", "1"]), int(0));
            assert_eq!(db.cmd(&["GET", "b"]), Frame::bulk(b"\x80\x00\x01"));
            db.cmd_bytes(&[b"SET", b"bin", b"\xff\x00"]);
            assert_eq!(db.cmd(&["SETBIT", "bin", "3", "0"]), int(1));
            assert_eq!(db.cmd(&["SETBIT", "bin", "15", "1"]), int(0));
            assert_eq!(db.cmd(&["GET", "bin"]), Frame::bulk(b"\xef\x01"));
        }
    }

    #[test]
    fn setbit_and_getbit_errors() {
        // Checked against redis-server 7.0.15.
        check_all_modes(&[
            (&["SETBIT", "k", "4294967296", "1"], err(BIT_OFFSET)),
            (&["SETBIT", "k", "-1", "1"], err(BIT_OFFSET)),
            (&["SETBIT", "k", "x", "1"], err(BIT_OFFSET)),
            (&["SETBIT", "k", "#1", "1"], err(BIT_OFFSET)),
            (&["SETBIT", "k", "0", "2"], err(BIT_VALUE)),
            (&["SETBIT", "k", "0", "-1"], err(BIT_VALUE)),
            (&["SETBIT", "k", "0", "x"], err(BIT_VALUE)),
            (&["SETBIT", "k", "0", "01"], err(BIT_VALUE)),
            (&["SETBIT", "k", "x", "2"], err(BIT_OFFSET)),
            (&["EXISTS", "k"], int(0)),
            (&["GETBIT", "k", "4294967296"], err(BIT_OFFSET)),
            (&["GETBIT", "missing", "x"], err(BIT_OFFSET)),
            (&["GETBIT", "missing", "4294967295"], int(0)),
            (
                &["SETBIT", "k", "0"],
                err("ERR wrong number of arguments for 'setbit' command"),
            ),
            (
                &["GETBIT", "k"],
                err("ERR wrong number of arguments for 'getbit' command"),
            ),
        ]);
        for mut db in TestDb::all_modes() {
            assert_eq!(
                db.cmd_bytes(&[b"SETBIT", b"k", b"1\x00abc", b"1"]),
                err(BIT_OFFSET)
            );
        }
    }

    #[test]
    fn setbit_keeps_the_ttl() {
        for mut db in TestDb::all_modes() {
            db.cmd(&["SET", "k", "a", "EX", "50"]);
            assert_eq!(db.cmd(&["SETBIT", "k", "100", "1"]), int(0));
            assert_eq!(db.cmd(&["TTL", "k"]), int(50));
            assert_eq!(db.cmd(&["GETBIT", "k", "100"]), int(1));
            assert_eq!(db.cmd(&["GETBIT", "k", "99"]), int(0));
        }
    }

    #[test]
    fn bitcount_bytes_and_bits() {
        check_all_modes(&[
            (&["SET", "k", "foobar"], ok()),
            (&["BITCOUNT", "k"], int(26)),
            (&["BITCOUNT", "k", "0", "0"], int(4)),
            (&["BITCOUNT", "k", "1", "1"], int(6)),
            (&["BITCOUNT", "k", "1", "1", "BYTE"], int(6)),
            (&["BITCOUNT", "k", "5", "30", "BIT"], int(17)),
            (&["BITCOUNT", "k", "0", "-1"], int(26)),
            (&["BITCOUNT", "k", "-2", "-1"], int(7)),
            (&["BITCOUNT", "k", "-100", "100"], int(26)),
            (&["BITCOUNT", "k", "-100", "-90", "bit"], int(0)),
            (&["BITCOUNT", "k", "3", "2"], int(0)),
            (
                &[
                    "BITCOUNT",
                    "k",
                    "9223372036854775807",
                    "-9223372036854775808",
                ],
                int(0),
            ),
            (
                &[
                    "BITCOUNT",
                    "k",
                    "-9223372036854775808",
                    "9223372036854775807",
                    "bit",
                ],
                int(26),
            ),
            (&["SET", "e", ""], ok()),
            (&["BITCOUNT", "e"], int(0)),
            (&["BITCOUNT", "e", "0", "-1", "BIT"], int(0)),
            (&["BITCOUNT", "missing"], int(0)),
        ]);
        for mut db in TestDb::all_modes() {
            db.cmd_bytes(&[b"SET", b"z", b"\xff\xf0\x00"]);
            for (start, end, want) in [
                ("1", "-1", 11),
                ("3", "14", 9),
                ("-5", "-2", 0),
                ("0", "0", 1),
                ("8", "11", 4),
                ("7", "8", 2),
                ("0", "100", 12),
                ("4", "3", 0),
            ] {
                assert_eq!(
                    db.cmd(&["BITCOUNT", "z", start, end, "BIT"]),
                    int(want),
                    "{start} {end}"
                );
            }
        }
    }

    #[test]
    fn bitcount_syntax_follows_redis_7_order() {
        // Checked against redis-server 7.0.15: a missing key answers 0
        // before any argument is looked at.
        check_all_modes(&[
            (&["BITCOUNT", "missing", "1"], int(0)),
            (&["BITCOUNT", "missing", "a", "b"], int(0)),
            (&["BITCOUNT", "missing", "1", "2", "3", "4"], int(0)),
            (&["SET", "k", "foobar"], ok()),
            (&["BITCOUNT", "k", "1"], err("ERR syntax error")),
            (
                &["BITCOUNT", "k", "1", "2", "3", "4"],
                err("ERR syntax error"),
            ),
            (
                &["BITCOUNT", "k", "a", "b"],
                err("ERR value is not an integer or out of range"),
            ),
            (
                &["BITCOUNT", "k", "0", "-1", "FOO"],
                err("ERR syntax error"),
            ),
            (&["BITCOUNT", "k", "-1", "-2", "FOO"], int(0)),
            (
                &["BITCOUNT"],
                err("ERR wrong number of arguments for 'bitcount' command"),
            ),
        ]);
    }
}
