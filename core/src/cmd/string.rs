//! String commands (Redis's `t_string.c` and the bit commands of
//! `bitops.c`): SET and its relatives, GET and its relatives, counters,
//! ranges and bits.
//!
//! A string is binary-safe bytes of at most 512 MB (`proto-max-bulk-len`);
//! commands that grow one (APPEND, SETRANGE, SETBIT) check that limit
//! before allocating. Integers and floats are not a separate type: INCR
//! parses the stored text, adds, and stores the canonical text of the
//! result, as Redis's replies (and GET afterwards) show it.
//!
//! TTL rules, as in Redis: a command that *replaces* the value (SET without
//! KEEPTTL, SETEX, MSET, GETSET, ...) drops the old TTL; a command that
//! *modifies* it (APPEND, SETRANGE, SETBIT, INCR and friends) keeps it.
//! Here that falls out of the code: replacing goes through
//! [`KeyspaceMut::set`] with a new deadline, modifying edits the stored bytes
//! in place and never touches the deadline.
//!
//! This file holds the command table of the whole group, the helpers every
//! string command shares, and the single-key GET/SET family; the
//! multi-key commands, the counters, the range commands and the bit
//! commands live in the submodules below.

mod bitfield;
mod bitop;
mod bitpos;
mod bits;
mod counter;
mod getex;
mod lcs;
pub(crate) mod long_double;
mod multi;
mod range;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use super::{int_arg, is_keyword, spec};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeyRef, KeyRefs, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Keyspace, KeyspaceMut, Str, StringMut, Value};
use crate::resp::PROTO_MAX_BULK_LEN;
use crate::signal::number;
use crate::signal::words::{DEL, PXAT, SET};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};
use bitfield::{bitfield, bitfield_keys, bitfield_ro};
use bitop::bitop;
use bitpos::bitpos;
use bits::{bitcount, getbit, setbit};
use counter::{decr, decrby, incr, incrby, incrbyfloat};
use getex::getex;
use lcs::lcs;
use multi::{mget, mset, msetnx};
use range::{append, getrange, setrange, strlen};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "string", "Get the value of a key", "1.0.0", Handler::Read(get)),
    spec("set", -3, WRITE | DENYOOM, &[KeySpec::key(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS).notes("RW and ACCESS due to the optional `GET` argument")], "string", "Set the string value of a key", "1.0.0", Handler::Write(set)).with_key_finder(set_keys),
    spec("getset", 3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "string", "Set the string value of a key and return its old value", "1.0.0", Handler::Write(getset)),
    spec("getdel", 2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "string", "Get the value of a key and delete the key", "6.2.0", Handler::Write(getdel)),
    spec("getex", -2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE).notes("RW and UPDATE because it changes the TTL")], "string", "Get the value of a key and optionally set its expiration", "6.2.0", Handler::Write(getex)),
    spec("setnx", 3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, OW | INSERT)], "string", "Set the value of a key, only if the key does not exist", "1.0.0", Handler::Write(setnx)),
    spec("setex", 4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE)], "string", "Set the value and expiration of a key", "2.0.0", Handler::Write(setex)),
    spec("psetex", 4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE)], "string", "Set the value and expiration in milliseconds of a key", "2.6.0", Handler::Write(psetex)),
    spec("mset", -3, WRITE | DENYOOM, &[KeySpec::index(1).range(-1, 2, 0).flags(OW | UPDATE)], "string", "Set multiple keys to multiple values", "1.0.1", Handler::Write(mset)).with_tips(&["request_policy:multi_shard", "response_policy:all_succeeded"]),
    spec("msetnx", -3, WRITE | DENYOOM, &[KeySpec::index(1).range(-1, 2, 0).flags(OW | INSERT)], "string", "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", Handler::Write(msetnx)).with_tips(&["request_policy:multi_shard", "response_policy:agg_min"]),
    spec("mget", -2, READONLY | FAST, &[KeySpec::index(1).range(-1, 1, 0).flags(RO | ACCESS)], "string", "Get the values of all the given keys", "1.0.0", Handler::Read(mget)).with_tips(&["request_policy:multi_shard"]),
    spec("append", 3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "string", "Append a value to a key", "2.0.0", Handler::Write(append)),
    spec("strlen", 2, READONLY | FAST, &[KeySpec::key(1, RO)], "string", "Get the length of the value stored in a key", "2.2.0", Handler::Read(strlen)),
    spec("getrange", 4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "string", "Get a substring of the string stored at a key", "2.4.0", Handler::Read(getrange)),
    spec("setrange", 4, WRITE | DENYOOM, &[KeySpec::key(1, RW | UPDATE)], "string", "Overwrite part of a string at key starting at the specified offset", "2.2.0", Handler::Write(setrange)),
    spec("incr", 2, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "string", "Increment the integer value of a key by one", "1.0.0", Handler::Write(incr)),
    spec("decr", 2, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "string", "Decrement the integer value of a key by one", "1.0.0", Handler::Write(decr)),
    spec("incrby", 3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "string", "Increment the integer value of a key by the given amount", "1.0.0", Handler::Write(incrby)),
    spec("decrby", 3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "string", "Decrement the integer value of a key by the given number", "1.0.0", Handler::Write(decrby)),
    spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "string", "Increment the float value of a key by the given amount", "2.6.0", Handler::Write(incrbyfloat)),
    spec("setbit", 4, WRITE | DENYOOM, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "bitmap", "Sets or clears the bit at offset in the string value stored at key", "2.2.0", Handler::Write(setbit)),
    spec("getbit", 3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "bitmap", "Returns the bit value at offset in the string value stored at key", "2.2.0", Handler::Read(getbit)),
    spec("bitcount", -2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "bitmap", "Count set bits in a string", "2.6.0", Handler::Read(bitcount)),
    spec("bitpos", -3, READONLY, &[KeySpec::key(1, RO | ACCESS)], "bitmap", "Find first bit set or clear in a string", "2.8.7", Handler::Read(bitpos)),
    spec("bitop", -4, WRITE | DENYOOM, &[KeySpec::key(2, OW | UPDATE), KeySpec::index(3).range(-1, 1, 0).flags(RO | ACCESS)], "bitmap", "Perform bitwise operations between strings", "2.6.0", Handler::Write(bitop)),
    spec("bitfield", -2, WRITE | DENYOOM, &[KeySpec::key(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS).notes("This command allows both access and modification of the key")], "bitmap", "Perform arbitrary bitfield integer operations on strings", "3.2.0", Handler::Write(bitfield)).with_key_finder(bitfield_keys),
    spec("bitfield_ro", -2, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "bitmap", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", "6.0.0", Handler::Read(bitfield_ro)),
    spec("lcs", -3, READONLY, &[KeySpec::index(1).range(1, 1, 0).flags(RO | ACCESS)], "string", "Find longest common substring", "7.0.0", Handler::Read(lcs)),
];

// ---------------------------------------------------------------------------
// What every string command shares

/// The string stored at `key`: `Ok(None)` if there is no live key,
/// `Err(WRONGTYPE)` if the key holds another type.
pub(crate) fn string_at<'a>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a Str>, Frame> {
    match ks.get(key, now_ms) {
        None => Ok(None),
        Some(entry) => entry
            .value
            .as_string()
            .map(Some)
            .ok_or(Frame::static_error(error::WRONGTYPE)),
    }
}

/// [`string_at`] for modification, in place (so the key keeps its TTL).
/// A key whose deadline has passed is deleted first and reads as absent.
/// Writing through the [`StringMut`] signals the key as modified.
fn string_at_mut<'s>(
    ks: &'s mut KeyspaceMut<'_>,
    key: &'s Bytes,
    now_ms: u64,
) -> Result<Option<StringMut<'s>>, Frame> {
    ks.string_mut(key, now_ms)
        .map_err(|_| Frame::static_error(error::WRONGTYPE))
}

/// What GET replies for `key` (Redis's `getGenericCommand`, which GETSET,
/// GETDEL and `SET ... GET` reuse): the value, nil, or WRONGTYPE as `Err`
/// so the caller stops before changing anything.
fn get_reply(ks: &Keyspace, key: &[u8], now_ms: u64) -> Result<Frame, Frame> {
    string_at(ks, key, now_ms).map(|value| value.map_or(Frame::Null, |v| Frame::short_bulk(v)))
}

/// [`get_reply`] in a write command: like Redis's `lookupKeyWrite`, it
/// deletes the key first if its deadline passed, so that the deletion is
/// signalled (and propagated as `DEL`) before the command's own change.
fn get_reply_mut(ks: &mut KeyspaceMut<'_>, key: &[u8], now_ms: u64) -> Result<Frame, Frame> {
    ks.lookup(key, now_ms);
    get_reply(ks, key, now_ms)
}

/// Redis's `checkStringLength`: may a string of `len` bytes grow by `more`?
/// The limit is `proto-max-bulk-len`, the same one the protocol parser
/// enforces on a single argument.
fn check_string_length(len: u64, more: u64) -> Result<(), Frame> {
    match len.checked_add(more) {
        Some(total) if total <= PROTO_MAX_BULK_LEN as u64 => Ok(()),
        _ => Err(Frame::static_error(error::STRING_TOO_LONG)),
    }
}

/// Redis's index rules for GETRANGE and BITCOUNT over `len` units (bytes,
/// or bits): negative indexes count from the end, both ends are then
/// clamped into the string, and the range is inclusive. `None` when it is
/// empty. Two negative indexes in the wrong order are empty *before*
/// clamping, so `-1 -5` is empty rather than the last unit.
fn clamp_range(start: i64, end: i64, len: i64) -> Option<(i64, i64)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    // `len` is at most 2^32 (bits of 512 MB) and the index is negative:
    // the sum cannot overflow.
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    (start <= end).then_some((start, end))
}

// ---------------------------------------------------------------------------
// GET and SET, and their relatives

/// GET key
fn get(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    Ok(get_reply(view.ks(key)?, key, ctx.now_ms()).unwrap_or_else(|wrongtype| wrongtype))
}

/// SET's key finder (Redis's `setGetKeys`): the key is always argument 1,
/// but whether SET reads it depends on the GET option, so the flags do too:
/// RW, ACCESS, UPDATE with GET; OW, UPDATE without. Options start at
/// argument 3, and an option is compared as C's `char *` sees it (up to a
/// NUL byte), as in Redis.
fn set_keys(args: &[Bytes]) -> KeyRefs {
    let get = args.iter().skip(3).any(|arg| {
        let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
        is_keyword(arg, "get")
    });
    let flags = if get {
        RW | ACCESS | UPDATE
    } else {
        OW | UPDATE
    };
    smallvec::smallvec![KeyRef { pos: 1, flags }]
}

/// When a SET-family command makes its key expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the key's current TTL (KEEPTTL).
    Keep,
    /// Expire at this Unix time in milliseconds.
    At(u64),
}

/// The options of SET, parsed as Redis's `parseExtendedStringArgumentsOrReply`.
#[derive(Debug, Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    /// (unit is seconds, relative, the argument) for EX/PX/EXAT/PXAT.
    expire: Option<(TimeArg, &'a [u8])>,
}

/// Which of EX / PX / EXAT / PXAT was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeArg {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl TimeArg {
    fn parse(arg: &[u8]) -> Option<TimeArg> {
        [
            ("ex", TimeArg::Ex),
            ("px", TimeArg::Px),
            ("exat", TimeArg::ExAt),
            ("pxat", TimeArg::PxAt),
        ]
        .into_iter()
        .find(|(k, _)| is_keyword(arg, k))
        .map(|(_, t)| t)
    }

    /// Convert the argument to an absolute deadline in milliseconds, as
    /// Redis's `getExpireMillisecondsOrReply`: the number must be a
    /// positive integer, seconds are multiplied without overflow, relative
    /// times are added to now, and the result must stay positive.
    pub(crate) fn deadline(self, arg: &[u8], now_ms: u64, command: &str) -> Result<u64, Frame> {
        let n = int_arg(arg)?;
        let seconds = matches!(self, TimeArg::Ex | TimeArg::ExAt);
        if n <= 0 || (seconds && n > i64::MAX / 1000) {
            return Err(error::invalid_expire(command));
        }
        let mut ms = if seconds { n * 1000 } else { n };
        if matches!(self, TimeArg::Ex | TimeArg::Px) {
            // Redis adds with C's wrapping signed arithmetic and then
            // rejects a non-positive result; do the same without UB.
            ms = ms.wrapping_add(now_ms as i64);
        }
        if ms <= 0 {
            return Err(error::invalid_expire(command));
        }
        Ok(ms as u64)
    }
}

fn parse_set_options(args: &[Bytes]) -> Option<SetOptions<'_>> {
    let mut o = SetOptions::default();
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        let has_next = i + 1 < args.len();
        // Each option is accepted only if it does not conflict with one
        // already seen; a conflict, or anything unknown, is a syntax error.
        if is_keyword(opt, "nx") && !o.xx {
            o.nx = true;
        } else if is_keyword(opt, "xx") && !o.nx {
            o.xx = true;
        } else if is_keyword(opt, "get") {
            o.get = true;
        } else if is_keyword(opt, "keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if let Some(t) = TimeArg::parse(opt) {
            // The same unit may repeat (the last wins); a different one, or
            // KEEPTTL, may not. A time unit needs an argument after it.
            let compatible = o.expire.is_none_or(|(seen, _)| seen == t);
            if o.keepttl || !compatible || !has_next {
                return None;
            }
            o.expire = Some((t, &args[i + 1]));
            i += 1;
        } else {
            return None;
        }
        i += 1;
    }
    Some(o)
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ts-ms | KEEPTTL]
fn set(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let Some(opts) = parse_set_options(args) else {
        return Ok(Frame::static_error(error::SYNTAX));
    };
    let now = ctx.now_ms();
    // The expire time is validated before anything else happens.
    let expiry = match opts.expire {
        Some((unit, arg)) => match unit.deadline(arg, now, "set") {
            Ok(at) => Expiry::At(at),
            Err(e) => return Ok(e),
        },
        None if opts.keepttl => Expiry::Keep,
        None => Expiry::Clear,
    };
    let key = &args[1];
    let mut ks = view.ks_mut(key)?;
    // With GET, the reply is the old value, whether or not the SET happens;
    // a non-string old value aborts the command with WRONGTYPE.
    let old = if opts.get {
        match get_reply_mut(&mut ks, key, now) {
            Ok(old) => Some(old),
            Err(e) => return Ok(e),
        }
    } else {
        None
    };
    // lookup, not contains: like Redis's lookup, it deletes an expired key.
    let exists = ks.lookup(key, now).is_some();
    if (opts.nx && exists) || (opts.xx && !exists) {
        return Ok(old.unwrap_or(Frame::Null));
    }
    set_string(&mut ks, key, &args[2], expiry, now);
    if let Expiry::At(at) = expiry {
        // A relative time would mean another deadline when replayed later:
        // Redis propagates every SET with a deadline as an absolute one,
        // without the NX/XX/GET that no longer matter.
        ks.propagate_as(vec![SET, key.clone(), args[2].clone(), PXAT, number(at)]);
    } else if opts.get {
        // GET changes the reply, not the data: propagated without it.
        let without_get = args
            .iter()
            .enumerate()
            .filter(|(i, arg)| *i < 3 || !is_keyword(arg, "get"))
            .map(|(_, arg)| arg.clone());
        ks.propagate_as(without_get.collect());
    }
    Ok(old.unwrap_or(Frame::ok()))
}

/// Store a string under `key` with the given expiry rule.
pub(crate) fn set_string(
    ks: &mut KeyspaceMut<'_>,
    key: &Bytes,
    value: &[u8],
    expiry: Expiry,
    now_ms: u64,
) {
    let expire_at = match expiry {
        Expiry::Clear => None,
        Expiry::At(at) => Some(at),
        Expiry::Keep => ks.get(key, now_ms).and_then(|e| e.expire_at()),
    };
    // Copied straight into its Str: inline when short, one exact
    // allocation otherwise.
    ks.set(key, Value::String(Str::copy_from(value)), expire_at);
}

/// GETSET key value: SET that replies with the old value (and, like SET,
/// drops the old TTL).
fn getset(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, now) = (&args[1], ctx.now_ms());
    let mut ks = view.ks_mut(key)?;
    let old = match get_reply_mut(&mut ks, key, now) {
        Ok(old) => old,
        Err(e) => return Ok(e),
    };
    set_string(&mut ks, key, &args[2], Expiry::Clear, now);
    // Propagated as the SET it is (Redis rewrites argv[0]).
    ks.propagate_as(vec![SET, key.clone(), args[2].clone()]);
    Ok(old)
}

/// GETDEL key
fn getdel(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, now) = (&args[1], ctx.now_ms());
    let mut ks = view.ks_mut(key)?;
    let old = match get_reply_mut(&mut ks, key, now) {
        Ok(old) => old,
        Err(e) => return Ok(e),
    };
    if ks.remove(key, now).is_some() {
        ks.propagate_as(vec![DEL, key.clone()]);
    }
    Ok(old)
}

/// SETNX key value: 1 if it set the key, 0 if the key existed.
fn setnx(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, now) = (&args[1], ctx.now_ms());
    let mut ks = view.ks_mut(key)?;
    if ks.lookup(key, now).is_some() {
        return Ok(Frame::Integer(0));
    }
    set_string(&mut ks, key, &args[2], Expiry::Clear, now);
    Ok(Frame::Integer(1))
}

/// SETEX key seconds value
fn setex(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    set_expiring(ctx, view, args, TimeArg::Ex)
}

/// PSETEX key milliseconds value
fn psetex(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    set_expiring(ctx, view, args, TimeArg::Px)
}

/// SETEX and PSETEX are `SET key value EX|PX time`, with the time first
/// and the command's own name in the invalid-time error.
fn set_expiring(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
    unit: TimeArg,
) -> Result<Frame, KeyOutsidePlan> {
    let (key, now) = (&args[1], ctx.now_ms());
    let at = match unit.deadline(&args[2], now, ctx.spec.name) {
        Ok(at) => at,
        Err(e) => return Ok(e),
    };
    let mut ks = view.ks_mut(key)?;
    ks.lookup(key, now);
    set_string(&mut ks, key, &args[3], Expiry::At(at), now);
    // Propagated as `SET key value PXAT <deadline>`, as Redis does.
    ks.propagate_as(vec![SET, key.clone(), args[3].clone(), PXAT, number(at)]);
    Ok(Frame::ok())
}
