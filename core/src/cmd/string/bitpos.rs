//! BITPOS key bit [start [end [BYTE | BIT]]] (Redis's `bitposCommand`):
//! the position of the first bit set to 1, or cleared to 0, in a string
//! or in a range of it.
//!
//! Redis scans words, then bytes, with masks for the partial bytes at the
//! edges of a BIT range; the answer is that of the plain definition below,
//! which is what this file computes:
//! * the first bit equal to `bit` in the range, as an absolute position;
//! * none, looking for 1: -1 (there is no 1 anywhere in the range);
//! * none, looking for 0, without an explicit end: the string is taken as
//!   zero-padded on the right, so the answer is the bit just after the
//!   range; *with* an explicit end the user asked about that range only,
//!   and the answer is -1.
//!
//! A missing key is an infinite run of zeros: 0 for bit 0, -1 for bit 1.

use bytes::Bytes;

use super::string_at;
use crate::cmd::{int_arg, is_keyword};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::store::{KeyOutsidePlan, ReadView};

/// BITPOS key bit [start [end [BYTE | BIT]]]
pub(super) fn bitpos(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    // Redis 7.0 reads the bit, then looks the key up, and only then reads
    // the range: a missing key answers before a bad range is noticed.
    let bit = match int_arg(&args[2]) {
        Ok(bit @ (0 | 1)) => bit == 1,
        Ok(_) => return Ok(Frame::static_error(error::BIT_ARGUMENT)),
        Err(e) => return Ok(e),
    };
    let key = &args[1];
    let value = match string_at(view.ks(key)?, key, ctx.now_ms()) {
        Err(e) => return Ok(e),
        Ok(None) => return Ok(Frame::Integer(if bit { -1 } else { 0 })),
        Ok(Some(value)) => value.as_slice(),
    };
    Ok(match bit_range(value.len() as i64, &args[3..]) {
        Err(e) => e,
        Ok(None) => Frame::Integer(-1),
        Ok(Some(range)) => Frame::Integer(first_bit(value, bit, range)),
    })
}

/// The range BITPOS searches, in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BitRange {
    /// First bit, inclusive.
    start: i64,
    /// Last bit, inclusive.
    end: i64,
    /// The user gave an end: a clear bit past it does not count.
    end_given: bool,
}

/// Read `[start [end [BYTE | BIT]]]` for a string of `len` bytes, in
/// Redis's order (start, then the unit, then end); `Ok(None)` for an
/// empty range.
fn bit_range(len: i64, rest: &[Bytes]) -> Result<Option<BitRange>, Frame> {
    let (start, end, in_bits) = match rest {
        [] => (0, len - 1, false),
        [start, more @ ..] if more.len() <= 2 => {
            let start = int_arg(start)?;
            let in_bits = match more.get(1) {
                None => false,
                Some(unit) if is_keyword(unit, "bit") => true,
                Some(unit) if is_keyword(unit, "byte") => false,
                Some(_) => return Err(Frame::static_error(error::SYNTAX)),
            };
            let end = match more.first() {
                Some(end) => Some(int_arg(end)?),
                None => None,
            };
            // `len` is at most 2^29, so every sum below fits.
            let total = if in_bits { len * 8 } else { len };
            // Without an end the range runs past the last unit (clamped
            // to it just below).
            let end = end.unwrap_or(if in_bits { len * 8 + 7 } else { len - 1 });
            let start = if start < 0 {
                total.saturating_add(start)
            } else {
                start
            }
            .max(0);
            let end = if end < 0 {
                total.saturating_add(end)
            } else {
                end
            }
            .max(0)
            .min(total - 1);
            (start, end, in_bits)
        }
        _ => return Err(Frame::static_error(error::SYNTAX)),
    };
    if start > end {
        return Ok(None);
    }
    let (start, end) = if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    };
    Ok(Some(BitRange {
        start,
        end,
        end_given: rest.len() >= 2,
    }))
}

/// The answer of BITPOS over a non-empty range of `value` (see the module
/// comment for the rules when there is no such bit).
fn first_bit(value: &[u8], bit: bool, range: BitRange) -> i64 {
    let (first_byte, last_byte) = ((range.start >> 3) as usize, (range.end >> 3) as usize);
    // A byte that cannot hold the bit looked for (0x00 when looking for a
    // 1, 0xff for a 0) is skipped whole; the edges are checked bit by bit.
    let skip = if bit { 0x00 } else { 0xff };
    for (i, &byte) in value[first_byte..=last_byte].iter().enumerate() {
        if byte == skip {
            continue;
        }
        let base = ((first_byte + i) as i64) << 3;
        let from = (range.start - base).max(0);
        let to = (range.end - base).min(7);
        if let Some(k) = (from..=to).find(|k| (byte & (0x80 >> k) != 0) == bit) {
            return base + k;
        }
    }
    if bit || range.end_given {
        -1
    } else {
        range.end + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    fn find(value: &[u8], bit: bool, start: i64, end: i64, end_given: bool) -> i64 {
        first_bit(
            value,
            bit,
            BitRange {
                start,
                end,
                end_given,
            },
        )
    }

    #[test]
    fn first_bit_at_the_edges_of_a_bit_range() {
        let v = [0xff, 0xf0, 0x00];
        assert_eq!(find(&v, false, 0, 23, false), 12);
        assert_eq!(find(&v, true, 0, 23, false), 0);
        assert_eq!(find(&v, true, 12, 23, false), -1);
        // Bits 3..=11 are all set: no 0 in the range given...
        assert_eq!(find(&v, false, 3, 11, true), -1);
        // ...and, without an end, the bit after the range.
        assert_eq!(find(&[0xff], false, 0, 7, false), 8);
        assert_eq!(find(&[0xff, 0xff], false, 5, 15, false), 16);
        // A range inside one byte is masked on both sides.
        assert_eq!(find(&[0b0110_0000], true, 3, 6, true), -1);
        assert_eq!(find(&[0b0110_0000], true, 2, 6, true), 2);
        assert_eq!(find(&[0b1001_1111], false, 3, 6, true), -1);
        assert_eq!(find(&[0b1001_1111], false, 2, 6, true), 2);
    }

    #[test]
    fn ranges_follow_redis_7_rules() {
        let args = |words: &[&str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        let range = |start, end, end_given| {
            Ok(Some(BitRange {
                start,
                end,
                end_given,
            }))
        };
        assert_eq!(bit_range(3, &[]), range(0, 23, false));
        assert_eq!(bit_range(3, &args(&["1"])), range(8, 23, false));
        assert_eq!(bit_range(3, &args(&["-1", "-1"])), range(16, 23, true));
        assert_eq!(bit_range(3, &args(&["2", "-100", "bit"])), Ok(None));
        assert_eq!(
            bit_range(3, &args(&["5", "100", "BIT"])),
            range(5, 23, true)
        );
        assert_eq!(bit_range(0, &[]), Ok(None));
        assert_eq!(
            bit_range(3, &args(&["x"])),
            Err(Frame::static_error(error::NOT_INTEGER))
        );
        assert_eq!(
            bit_range(3, &args(&["-9223372036854775808", "9223372036854775807"])),
            range(0, 23, true)
        );
    }

    #[test]
    fn bitpos_through_the_executor() {
        const BIT_ARGUMENT: &str = "ERR The bit argument must be 1 or 0.";
        check_all_modes(&[
            (&["BITPOS", "missing", "0"], int(0)),
            (&["BITPOS", "missing", "1"], int(-1)),
            (&["BITPOS", "missing", "1", "x", "y", "z"], int(-1)),
            (&["BITPOS", "missing", "2"], err(BIT_ARGUMENT)),
            (&["SET", "e", ""], ok()),
            (&["BITPOS", "e", "0"], int(-1)),
            (&["SET", "k", "\u{7f}"], ok()),
            (&["BITPOS", "k", "0"], int(0)),
            (&["BITPOS", "k", "1"], int(1)),
            (&["BITPOS", "k", "1", "0", "0", "BYTE"], int(1)),
            (
                &["BITPOS", "k", "1", "0", "0", "foo"],
                err("ERR syntax error"),
            ),
            (
                &["BITPOS", "k", "1", "0", "x", "foo"],
                err("ERR syntax error"),
            ),
            (&["HSET", "h", "f", "v"], int(1)),
            (
                &["BITPOS", "h", "1", "x"],
                err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            ),
        ]);
    }
}
