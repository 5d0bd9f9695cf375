//! BITOP AND | OR | XOR | NOT destkey key [key ...] (Redis's
//! `bitopCommand`): a bitwise operation over strings, stored at destkey.
//!
//! The result is as long as the longest source; a shorter source, or a
//! missing key, counts as zero bytes past its end (so `AND` with a missing
//! key is all zeros, of the longest source's length). An empty result
//! deletes destkey. The reply is the result's length in bytes.
//!
//! The sources and destkey may live under different locks: the executor
//! takes every lock the key specs name before the handler runs and holds
//! them until it returns, so the read-then-store is atomic.

use bytes::Bytes;

use super::string_at;
use crate::cmd::is_keyword;
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Str, Value};
use crate::store::{KeyOutsidePlan, WriteView};

/// The operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

impl BitOp {
    fn parse(arg: &[u8]) -> Option<BitOp> {
        [
            ("and", BitOp::And),
            ("or", BitOp::Or),
            ("xor", BitOp::Xor),
            ("not", BitOp::Not),
        ]
        .into_iter()
        .find(|(name, _)| is_keyword(arg, name))
        .map(|(_, op)| op)
    }

    /// Fold one more source byte into the result byte.
    fn fold(self, acc: u8, byte: u8) -> u8 {
        match self {
            BitOp::And => acc & byte,
            BitOp::Or => acc | byte,
            BitOp::Xor => acc ^ byte,
            // NOT has a single source, inverted before any fold.
            BitOp::Not => acc,
        }
    }
}

/// BITOP op destkey key [key ...]
pub(super) fn bitop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let Some(op) = BitOp::parse(&args[1]) else {
        return Ok(Frame::static_error(error::SYNTAX));
    };
    let (dst, sources) = (&args[2], &args[3..]);
    if op == BitOp::Not && sources.len() != 1 {
        return Ok(Frame::static_error(error::BITOP_NOT_SINGLE_KEY));
    }
    let now = ctx.now_ms();
    // Redis reads each source with lookupKeyRead, which deletes an expired
    // one (and propagates its DEL); a source of another type stops the
    // command before anything is stored.
    let mut longest = 0;
    for key in sources {
        view.ks_mut(key)?.lookup(key, now);
        match string_at(view.ks(key)?, key, now) {
            Err(e) => return Ok(e),
            Ok(value) => longest = longest.max(value.map_or(0, |v| v.len())),
        }
    }
    let mut result = Vec::new();
    if longest > 0 {
        result = source_bytes(view, &sources[0], now, longest)?;
        if op == BitOp::Not {
            result.iter_mut().for_each(|b| *b = !*b);
        }
        for key in &sources[1..] {
            let value = string_at(view.ks(key)?, key, now)
                .ok()
                .flatten()
                .map_or(&[][..], Str::as_slice);
            // Past the end of a source its bytes are zeros.
            for (i, acc) in result.iter_mut().enumerate() {
                *acc = op.fold(*acc, value.get(i).copied().unwrap_or(0));
            }
        }
    }
    let mut ks = view.ks_mut(dst)?;
    if result.is_empty() {
        ks.remove(dst, now);
    } else {
        // Redis's setKey: an expired destkey is deleted first, and the new
        // value has no TTL.
        ks.lookup(dst, now);
        ks.set(dst, Value::String(result.into()), None);
    }
    Ok(Frame::Integer(longest as i64))
}

/// The string at `key` (checked to be one, or missing), zero-padded to
/// `len` bytes.
fn source_bytes(
    view: &WriteView<'_>,
    key: &[u8],
    now_ms: u64,
    len: usize,
) -> Result<Vec<u8>, KeyOutsidePlan> {
    let mut bytes = string_at(view.ks(key)?, key, now_ms)
        .ok()
        .flatten()
        .map_or_else(Vec::new, |s| s.to_vec());
    bytes.resize(len, 0);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use crate::frame::Frame;
    use crate::testkit::*;

    const NOT_SINGLE: &str = "ERR BITOP NOT must be called with a single source key.";

    #[test]
    fn bitop_pads_shorter_sources_with_zeros() {
        for mut db in TestDb::all_modes() {
            db.cmd_bytes(&[b"SET", b"a", b"\xf0\x0f\xff"]);
            db.cmd_bytes(&[b"SET", b"b", b"\x3c"]);
            assert_eq!(db.cmd(&["BITOP", "AND", "d", "a", "b"]), int(3));
            assert_eq!(db.cmd(&["GET", "d"]), Frame::bulk(b"\x30\x00\x00"));
            assert_eq!(db.cmd(&["BITOP", "or", "d", "a", "b"]), int(3));
            assert_eq!(db.cmd(&["GET", "d"]), Frame::bulk(b"\xfc\x0f\xff"));
            assert_eq!(db.cmd(&["BITOP", "XOR", "d", "a", "b", "a"]), int(3));
            assert_eq!(db.cmd(&["GET", "d"]), Frame::bulk(b"\x3c\x00\x00"));
            assert_eq!(db.cmd(&["BITOP", "NOT", "d", "b"]), int(1));
            assert_eq!(db.cmd(&["GET", "d"]), Frame::bulk(b"\xc3"));
            assert_eq!(db.cmd(&["BITOP", "AND", "d", "a", "missing"]), int(3));
            assert_eq!(db.cmd(&["GET", "d"]), Frame::bulk(b"\x00\x00\x00"));
            // A source may be the destination.
            assert_eq!(db.cmd(&["BITOP", "NOT", "a", "a"]), int(3));
            assert_eq!(db.cmd(&["GET", "a"]), Frame::bulk(b"\x0f\xf0\x00"));
        }
    }

    #[test]
    fn bitop_errors_and_empty_results() {
        check_all_modes(&[
            (&["SET", "d", "old", "EX", "100"], ok()),
            (&["SET", "s", "x"], ok()),
            (&["BITOP", "NOT", "d", "s", "s"], err(NOT_SINGLE)),
            (&["BITOP", "NAND", "d", "s"], err("ERR syntax error")),
            (&["HSET", "h", "f", "v"], int(1)),
            (
                &["BITOP", "OR", "d", "s", "h"],
                err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            ),
            (&["GET", "d"], bulk("old")),
            (&["BITOP", "OR", "d", "s"], int(1)),
            (&["TTL", "d"], int(-1)),
            (&["BITOP", "AND", "d", "missing", "also-missing"], int(0)),
            (&["EXISTS", "d"], int(0)),
            (&["SET", "e", ""], ok()),
            (&["BITOP", "NOT", "d", "e"], int(0)),
            (&["EXISTS", "d"], int(0)),
            (
                &["BITOP", "AND", "d"],
                err("ERR wrong number of arguments for 'bitop' command"),
            ),
        ]);
    }
}
