//! BITFIELD and BITFIELD_RO (Redis's `bitfieldGeneric`): a string as an
//! array of integers of any width from 1 to 64 bits, at any bit offset.
//!
//! `BITFIELD key [GET type offset] [SET type offset value]
//! [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...`
//!
//! * A type is `iN` (signed, N in 1..=64) or `uN` (unsigned, N in 1..=63:
//!   a u64 could not be replied as a RESP integer).
//! * An offset is a bit offset, or `#K` for the K-th field of that width
//!   (`#2` of an `i8` is bit 16).
//! * Bit 0 is the most significant bit of the first byte (as SETBIT's),
//!   and a field is stored big-endian across byte boundaries.
//! * OVERFLOW applies to the SET and INCRBY after it: WRAP (the default)
//!   wraps around as C's fixed-width arithmetic does, SAT clamps to the
//!   type's minimum or maximum, FAIL leaves the field alone and replies nil.
//!
//! Every operation is parsed (and every error reported) before the key is
//! looked at. Writes grow the string with zero bytes up to the farthest bit
//! any SET or INCRBY reaches, once, before the operations run; a command of
//! GETs only never creates the key. The reply is one entry per GET, SET
//! (the old value) and INCRBY (the new value).

use std::ops::{Deref, DerefMut};

use bytes::Bytes;

use super::{string_at, string_at_mut};
use crate::cmd::{is_keyword, key_flags::*, parse_i64, KeyRef, KeyRefs};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Str, Value};
use crate::resp::PROTO_MAX_BULK_LEN;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

/// What a SET or INCRBY does when the result does not fit its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// A field's type: `iN` or `uN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldType {
    signed: bool,
    bits: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One parsed operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    kind: OpKind,
    ty: FieldType,
    /// The first bit of the field.
    offset: u64,
    /// The OVERFLOW in force where the operation was written.
    overflow: Overflow,
}

/// BITFIELD key [GET type offset] [SET type offset value] ...
pub(super) fn bitfield(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let ops = match parse_ops(&args[2..]) {
        Ok(ops) => ops,
        Err(e) => return Ok(e),
    };
    let (key, now) = (&args[1], ctx.now_ms());
    let mut ks = view.ks_mut(key)?;
    // The farthest bit a SET or INCRBY writes; `None` for GETs only.
    // Offsets are below 2^32 and widths at most 64: no overflow.
    let Some(last_bit) = ops
        .iter()
        .filter(|op| op.kind != OpKind::Get)
        .map(|op| op.offset + op.ty.bits as u64 - 1)
        .max()
    else {
        // Only GETs: Redis looks the key up for reading, which in a write
        // command still deletes it if expired; the key is never created.
        ks.lookup(key, now);
        return Ok(match string_at(&ks, key, now) {
            Err(e) => e,
            Ok(value) => run_gets(value.map_or(&[][..], Str::as_slice), &ops),
        });
    };
    // The offset check bounds the string, not checkStringLength: Redis
    // lets a field that starts at the last valid bit (2^32 - 1) end up to
    // 63 bits later, so the string can reach 512 MB + 8 bytes; so can this.
    let len = (last_bit >> 3) as usize + 1;
    let replies = match string_at_mut(&mut ks, key, now) {
        Err(e) => return Ok(e),
        Ok(Some(mut value)) => {
            value.unshare();
            if value.len() < len {
                // Growing is noted as a change even if every operation
                // then FAILs. Redis grows the string too but signals
                // nothing then (no WATCH touch, no propagation), which
                // leaves its replicas without the zero bytes; here the
                // growth is propagated like any other change.
                value.make_mut().resize(len, 0);
            }
            run_all(&mut value, &ops)
        }
        // Like SETBIT, a write creates the key zero-filled up to the last
        // bit written, even if every operation then FAILs (then, as for
        // growth above, Redis does not signal the new key; this does).
        Ok(None) => {
            let mut value = vec![0; len];
            let replies = run_all(&mut value, &ops);
            ks.set(key, Value::String(Str::raw(value)), None);
            replies
        }
    };
    Ok(Frame::Array(replies))
}

/// BITFIELD_RO key [GET type offset ...]
pub(super) fn bitfield_ro(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let ops = match parse_ops(&args[2..]) {
        Ok(ops) => ops,
        Err(e) => return Ok(e),
    };
    // Parsed in full first, as BITFIELD's: a bad type after a SET is that
    // error, not this one.
    if ops.iter().any(|op| op.kind != OpKind::Get) {
        return Ok(Frame::static_error(error::BITFIELD_RO_GET_ONLY));
    }
    let key = &args[1];
    Ok(match string_at(view.ks(key)?, key, ctx.now_ms()) {
        Err(e) => e,
        Ok(value) => run_gets(value.map_or(&[][..], Str::as_slice), &ops),
    })
}

/// BITFIELD's key finder (Redis's `bitfieldGetKeys`): the key is read-only
/// when the operations are GETs (and OVERFLOWs) only, read-write otherwise;
/// arguments that do not parse count as a write, to be safe.
pub(super) fn bitfield_keys(args: &[Bytes]) -> KeyRefs {
    let mut readonly = true;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - i - 1;
        let arg = &args[i];
        if is_keyword(arg, "get") && more >= 2 {
            i += 3;
        } else if is_keyword(arg, "overflow") && more >= 1 {
            i += 2;
        } else {
            // SET, INCRBY, or a syntax error.
            readonly = false;
            break;
        }
    }
    let flags = if readonly {
        RO | ACCESS
    } else {
        RW | ACCESS | UPDATE
    };
    smallvec::smallvec![KeyRef { pos: 1, flags }]
}

// ---------------------------------------------------------------------------
// Parsing

/// Parse the operations after the key, in order, stopping at the first
/// error as Redis does.
fn parse_ops(args: &[Bytes]) -> Result<Vec<Op>, Frame> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let more = args.len() - i - 1;
        let sub = &args[i];
        let (kind_of, takes_value): (fn(i64) -> OpKind, bool) =
            if is_keyword(sub, "get") && more >= 2 {
                (|_| OpKind::Get, false)
            } else if is_keyword(sub, "set") && more >= 3 {
                (OpKind::Set, true)
            } else if is_keyword(sub, "incrby") && more >= 3 {
                (OpKind::IncrBy, true)
            } else if is_keyword(sub, "overflow") && more >= 1 {
                let name = &args[i + 1];
                overflow = [
                    ("wrap", Overflow::Wrap),
                    ("sat", Overflow::Sat),
                    ("fail", Overflow::Fail),
                ]
                .into_iter()
                .find(|(n, _)| is_keyword(name, n))
                .map(|(_, o)| o)
                .ok_or(Frame::static_error(error::BITFIELD_OVERFLOW_TYPE))?;
                i += 2;
                continue;
            } else {
                return Err(Frame::static_error(error::SYNTAX));
            };
        let ty = parse_type(&args[i + 1])?;
        let offset = parse_offset(&args[i + 2], ty.bits)?;
        let value = if takes_value {
            crate::cmd::int_arg(&args[i + 3])?
        } else {
            0
        };
        ops.push(Op {
            kind: kind_of(value),
            ty,
            offset,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(ops)
}

/// `iN` or `uN` (Redis's `getBitfieldTypeFromArgument`). The letter is
/// lowercase only; the number is read as a C string (up to a NUL byte).
fn parse_type(arg: &[u8]) -> Result<FieldType, Frame> {
    let bad = || Frame::static_error(error::BITFIELD_TYPE);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    let digits = arg[1..].split(|&b| b == 0).next().unwrap_or_default();
    match parse_i64(digits) {
        Some(bits) if bits >= 1 && bits <= if signed { 64 } else { 63 } => Ok(FieldType {
            signed,
            bits: bits as u32,
        }),
        _ => Err(bad()),
    }
}

/// A bit offset, or `#K` for K fields of `bits` bits (Redis's
/// `getBitOffsetFromArgument` with `hash`). Redis multiplies with C's
/// wrapping 64-bit arithmetic and only then checks the range, so a huge
/// `#K` can wrap to a small valid offset; this does the same, defined.
/// The result is always below 2^32 (512 MB of bits).
fn parse_offset(arg: &[u8], bits: u32) -> Result<u64, Frame> {
    let bad = || Frame::static_error(error::BIT_OFFSET);
    let (hash, digits) = match arg.split_first() {
        Some((b'#', rest)) => (true, rest),
        _ => (false, arg),
    };
    let mut offset = parse_i64(digits).ok_or_else(bad)?;
    if hash {
        offset = offset.wrapping_mul(bits as i64);
    }
    if offset < 0 || (offset >> 3) >= PROTO_MAX_BULK_LEN {
        return Err(bad());
    }
    Ok(offset as u64)
}

// ---------------------------------------------------------------------------
// Running

/// The replies of GETs over `value` (bits past its end read as 0).
fn run_gets(value: &[u8], ops: &[Op]) -> Frame {
    Frame::Array(
        ops.iter()
            .map(|op| Frame::Integer(read_field(value, op.offset, op.ty)))
            .collect(),
    )
}

/// Run one operation on `value`, which already reaches every bit it
/// writes: its reply, and the new field value to store if the field
/// changes. A no-op SET or INCRBY (or a failed one) writes nothing, so the
/// key is not modified by it.
fn step(value: &[u8], op: &Op) -> (Frame, Option<i64>) {
    let old = read_field(value, op.offset, op.ty);
    // Redis checks a SET's value alone (value v, increment 0) and an
    // INCRBY's old value plus the increment; SET replies the old value,
    // INCRBY the new one.
    let (base, incr, reply_old) = match op.kind {
        OpKind::Get => return (Frame::Integer(old), None),
        OpKind::Set(v) => (v, 0, true),
        OpKind::IncrBy(by) => (old, by, false),
    };
    let Some(new) = apply(base, incr, op.ty, op.overflow) else {
        return (Frame::Null, None);
    };
    let reply = Frame::Integer(if reply_old { old } else { new });
    (reply, (new != old).then_some(new))
}

/// Run every operation on a string long enough for all of them: a fresh
/// `Vec`, or a [`StringMut`](crate::keyspace::StringMut) that notes the
/// key only when it is written through.
fn run_all<V>(value: &mut V, ops: &[Op]) -> Vec<Frame>
where
    V: DerefMut,
    V::Target: AsRef<[u8]> + AsMut<[u8]>,
{
    ops.iter()
        .map(|op| {
            let (reply, write) = step(value.deref().as_ref(), op);
            if let Some(new) = write {
                write_field(
                    value.deref_mut().as_mut(),
                    op.offset,
                    op.ty.bits,
                    new as u64,
                );
            }
            reply
        })
        .collect()
}

/// `value + incr` stored in a field of type `ty`, or `None` when it
/// overflows under FAIL. Signed values travel as `i64`, unsigned ones as
/// their `u64` bits reinterpreted (a field is at most 63 bits unsigned,
/// so the reply is never negative).
fn apply(value: i64, incr: i64, ty: FieldType, overflow: Overflow) -> Option<i64> {
    let checked = if ty.signed {
        signed_overflow(value, incr, ty.bits, overflow)
    } else {
        unsigned_overflow(value as u64, incr, ty.bits, overflow).map(|v| v as i64)
    };
    match checked {
        None => Some(value.wrapping_add(incr)),
        Some(_) if overflow == Overflow::Fail => None,
        Some(limit) => Some(limit),
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `None` if `value + incr` fits
/// in `bits` unsigned bits, else the value WRAP or SAT gives (unused for
/// FAIL). A SET passes its value with `incr` 0, so a negative value (a
/// huge `u64`) overflows.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    // As in Redis, both are computed in u64 and read as i64.
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let high = if value > max || (incr > 0 && incr > max_incr) {
        true
    } else if incr < 0 && incr < min_incr {
        false
    } else {
        return None;
    };
    Some(match overflow {
        Overflow::Sat if high => max,
        Overflow::Sat => 0,
        _ => value.wrapping_add(incr as u64) & !(u64::MAX << bits),
    })
}

/// Redis's `checkSignedBitfieldOverflow`: `None` if `value + incr` fits in
/// `bits` signed bits, else the value WRAP (two's complement, truncated
/// and sign-extended) or SAT gives (unused for FAIL). Redis's conditions
/// are kept as written; the subtractions that may wrap in C are done with
/// wrapping arithmetic here, and only read where C's would not overflow.
fn signed_overflow(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let high = if value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr)
    {
        true
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        false
    } else {
        return None;
    };
    Some(match overflow {
        Overflow::Sat if high => max,
        Overflow::Sat => min,
        _ => {
            let mut c = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let mask = u64::MAX << bits;
                if c & (1u64 << (bits - 1)) != 0 {
                    c |= mask;
                } else {
                    c &= !mask;
                }
            }
            c as i64
        }
    })
}

/// The field of type `ty` at bit `offset`: sign-extended for `iN`. Bits
/// past the end of `value` read as 0.
fn read_field(value: &[u8], offset: u64, ty: FieldType) -> i64 {
    let mut v: u64 = 0;
    for bit in offset..offset + ty.bits as u64 {
        let byte = value.get((bit >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1) as u64;
    }
    if ty.signed && ty.bits < 64 && v & (1u64 << (ty.bits - 1)) != 0 {
        v |= u64::MAX << ty.bits;
    }
    v as i64
}

/// Store the low `bits` bits of `v` at bit `offset` of `value`, which is
/// long enough.
fn write_field(value: &mut [u8], offset: u64, bits: u32, v: u64) {
    for j in 0..bits as u64 {
        let on = v >> (bits as u64 - 1 - j) & 1 == 1;
        let bit = offset + j;
        let mask = 0x80u8 >> (bit & 7);
        let byte = &mut value[(bit >> 3) as usize];
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

#[cfg(test)]
mod tests;
