//! BITFIELD (`bitops.c`), transcribed operation by operation.

use myongoredis_core::Frame;

use super::{err, int, parse_num, Entry, Model, NOT_INTEGER};
use crate::command::{FieldOp, OVERFLOWS};

const BFOVERFLOW_WRAP: usize = 0;
const BFOVERFLOW_SAT: usize = 1;
const BFOVERFLOW_FAIL: usize = 2;

/// One parsed operation of `bitfieldGeneric`.
struct BitfieldOp {
    /// 0 GET, 1 SET, 2 INCRBY.
    opcode: u8,
    sign: bool,
    bits: u64,
    offset: u64,
    i64: i64,
    owtype: usize,
}

impl Model {
    /// Redis's `bitfieldGeneric`: parse every operation (the first bad one
    /// is the reply), then look the key up, for reading if all are GETs
    /// (a missing key is not created), else for writing, created or grown
    /// with zeros up to the farthest bit written; then run them in order.
    pub(super) fn bitfield(&mut self, key: &[u8], ops: &[FieldOp]) -> Frame {
        let mut parsed = Vec::new();
        let mut owtype = BFOVERFLOW_WRAP;
        let mut readonly = true;
        let mut highest_write_offset = 0u64;
        for op in ops {
            let (opcode, ty, offset, value) = match *op {
                FieldOp::Overflow(i) => {
                    match usize::from(i) % OVERFLOWS.len() {
                        n @ (BFOVERFLOW_WRAP | BFOVERFLOW_SAT | BFOVERFLOW_FAIL) => owtype = n,
                        _ => return err("ERR Invalid OVERFLOW type specified"),
                    }
                    continue;
                }
                FieldOp::Get(t, o) => (0, t, o, None),
                FieldOp::Set(t, o, n) => (1, t, o, Some(n)),
                FieldOp::IncrBy(t, o, n) => (2, t, o, Some(n)),
            };
            // getBitfieldTypeFromArgument
            if ty.bits < 1 || (ty.signed && ty.bits > 64) || (!ty.signed && ty.bits > 63) {
                return err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
            }
            let (bits, offset) = (u64::from(ty.bits), u64::from(offset));
            let mut i64 = 0;
            if opcode != 0 {
                readonly = false;
                highest_write_offset = highest_write_offset.max(offset + bits - 1);
                match value.and_then(parse_num) {
                    Some(v) => i64 = v,
                    None => return err(NOT_INTEGER),
                }
            }
            parsed.push(BitfieldOp {
                opcode,
                sign: ty.signed,
                bits,
                offset,
                i64,
                owtype,
            });
        }
        // Looked up after the parse: a bad operation wins over WRONGTYPE.
        let existing = match self.lookup_string(key) {
            Err(e) => return e,
            Ok(value) => value.cloned(),
        };
        let mut p = if readonly {
            existing.unwrap_or_default()
        } else {
            let byte = (highest_write_offset >> 3) as usize;
            if existing.is_none() {
                self.insert(key, Entry::string(Vec::new()));
            }
            let value = self.string_mut(key);
            if value.len() < byte + 1 {
                value.resize(byte + 1, 0);
            }
            value.clone()
        };
        let mut replies = Vec::new();
        for op in &parsed {
            if op.opcode == 0 {
                let v = if op.sign {
                    get_signed_bitfield(&p, op.offset, op.bits)
                } else {
                    get_unsigned_bitfield(&p, op.offset, op.bits) as i64
                };
                replies.push(int(v));
            } else if op.sign {
                let oldval = get_signed_bitfield(&p, op.offset, op.bits);
                let (overflow, newval, retval) = if op.opcode == 2 {
                    let (o, wrapped) =
                        check_signed_bitfield_overflow(oldval, op.i64, op.bits, op.owtype);
                    let newval = if o != 0 {
                        wrapped
                    } else {
                        oldval.wrapping_add(op.i64)
                    };
                    (o, newval, newval)
                } else {
                    let (o, wrapped) =
                        check_signed_bitfield_overflow(op.i64, 0, op.bits, op.owtype);
                    (o, if o != 0 { wrapped } else { op.i64 }, oldval)
                };
                if overflow != 0 && op.owtype == BFOVERFLOW_FAIL {
                    replies.push(Frame::Null);
                } else {
                    replies.push(int(retval));
                    set_unsigned_bitfield(&mut p, op.offset, op.bits, newval as u64);
                }
            } else {
                let oldval = get_unsigned_bitfield(&p, op.offset, op.bits);
                let (overflow, newval, retval) = if op.opcode == 2 {
                    let (o, wrapped) =
                        check_unsigned_bitfield_overflow(oldval, op.i64, op.bits, op.owtype);
                    let newval = if o != 0 {
                        wrapped
                    } else {
                        oldval.wrapping_add(op.i64 as u64)
                    };
                    (o, newval, newval)
                } else {
                    let (o, wrapped) =
                        check_unsigned_bitfield_overflow(op.i64 as u64, 0, op.bits, op.owtype);
                    (o, if o != 0 { wrapped } else { op.i64 as u64 }, oldval)
                };
                if overflow != 0 && op.owtype == BFOVERFLOW_FAIL {
                    replies.push(Frame::Null);
                } else {
                    replies.push(int(retval as i64));
                    set_unsigned_bitfield(&mut p, op.offset, op.bits, newval);
                }
            }
        }
        if !readonly {
            *self.string_mut(key) = p;
        }
        Frame::Array(replies)
    }
}

impl Model {
    /// The string at `key`, which the caller has just made sure is one.
    fn string_mut(&mut self, key: &[u8]) -> &mut Vec<u8> {
        match self.lookup_string(key) {
            Ok(Some(value)) => value,
            _ => unreachable!("the caller stored a string at this key"),
        }
    }
}

/// `getUnsignedBitfield`, reading past the end as zeros (GET's 9-byte
/// zero-padded buffer).
fn get_unsigned_bitfield(p: &[u8], mut offset: u64, bits: u64) -> u64 {
    let mut value = 0u64;
    for _ in 0..bits {
        let byteval = u64::from(p.get((offset >> 3) as usize).copied().unwrap_or(0));
        let bit = 7 - (offset & 7);
        value = (value << 1) | ((byteval >> bit) & 1);
        offset += 1;
    }
    value
}

fn get_signed_bitfield(p: &[u8], offset: u64, bits: u64) -> i64 {
    let mut value = get_unsigned_bitfield(p, offset, bits) as i64;
    if bits < 64 && value & (1i64 << (bits - 1)) != 0 {
        value |= -1i64 << bits;
    }
    value
}

fn set_unsigned_bitfield(p: &mut [u8], mut offset: u64, bits: u64, value: u64) {
    for j in 0..bits {
        let bitval = u8::from(value & (1u64 << (bits - 1 - j)) != 0);
        let byte = (offset >> 3) as usize;
        let bit = 7 - (offset & 7);
        p[byte] = (p[byte] & !(1 << bit)) | (bitval << bit);
        offset += 1;
    }
}

/// `checkUnsignedBitfieldOverflow`: (1 overflow, -1 underflow, 0 fits;
/// the WRAP or SAT value).
fn check_unsigned_bitfield_overflow(value: u64, incr: i64, bits: u64, owtype: usize) -> (i32, u64) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap =
        || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits as u32).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        (
            1,
            if owtype == BFOVERFLOW_SAT {
                max
            } else {
                wrap()
            },
        )
    } else if incr < 0 && incr < minincr {
        (-1, if owtype == BFOVERFLOW_SAT { 0 } else { wrap() })
    } else {
        (0, 0)
    }
}

/// `checkSignedBitfieldOverflow`.
fn check_signed_bitfield_overflow(value: i64, incr: i64, bits: u64, owtype: usize) -> (i32, i64) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (
            1,
            if owtype == BFOVERFLOW_SAT {
                max
            } else {
                wrap()
            },
        )
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        (
            -1,
            if owtype == BFOVERFLOW_SAT {
                min
            } else {
                wrap()
            },
        )
    } else {
        (0, 0)
    }
}
