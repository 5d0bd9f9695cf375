//! Set commands (Redis 7.0's `t_set.c`).
//!
//! A set is an intset (sorted integers) while its members are all
//! integers and few, then a hash table ([`Set`]). The multi-key commands
//! (SINTER, SUNION, SDIFF and their STORE forms, SINTERCARD, SMOVE) name
//! every key they read and write in their key specs, so the executor
//! locks all of them, in ascending order, before the command starts: in
//! shard mode an SINTERSTORE over keys in three shards holds those three
//! and is atomic for every client.
//!
//! Random picks (SPOP, SRANDMEMBER) come from the command's seeded stream;
//! SPOP is propagated as the SREM (or DEL) of what it popped, so replaying
//! the AOF does not depend on the stream.

use std::borrow::Cow;

use bytes::Bytes;

use super::hash::scan_reply;
use super::keyspace::{parse_cursor, parse_scan_options, scan_steps};
use super::{int_arg, is_keyword, spec};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::glob::glob_match;
use crate::keyspace::{Keyspace, Set, Value};
use crate::signal::words;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "set", "Add one or more members to a set", "1.0.0", Handler::Write(sadd)),
    spec("srem", -3, WRITE | FAST, &[KeySpec::key(1, RW | DELETE)], "set", "Remove one or more members from a set", "1.0.0", Handler::Write(srem)),
    spec("scard", 2, READONLY | FAST, &[KeySpec::key(1, RO)], "set", "Get the number of members in a set", "1.0.0", Handler::Read(scard)),
    spec("sismember", 3, READONLY | FAST, &[KeySpec::key(1, RO)], "set", "Determine if a given value is a member of a set", "1.0.0", Handler::Read(sismember)),
    spec("smismember", -3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "set", "Returns the membership associated with the given elements for a set", "6.2.0", Handler::Read(smismember)),
    spec("smembers", 2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "set", "Get all the members in a set", "1.0.0", Handler::Read(smembers)).with_tips(&["nondeterministic_output_order"]),
    spec("spop", -2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "set", "Remove and return one or multiple random members from a set", "1.0.0", Handler::Write(spop)).with_tips(&["nondeterministic_output"]),
    spec("srandmember", -2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "set", "Get one or multiple random members from a set", "1.0.0", Handler::Read(srandmember)).with_tips(&["nondeterministic_output"]),
    spec("smove", 4, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, RW | INSERT)], "set", "Move a member from one set to another", "1.0.0", Handler::Write(smove)),
    spec("sinter", -2, READONLY, &[KeySpec::index(1).range(-1, 1, 0).flags(RO | ACCESS)], "set", "Intersect multiple sets", "1.0.0", Handler::Read(sinter)).with_tips(&["nondeterministic_output_order"]),
    spec("sintercard", -3, READONLY, &[KeySpec::index(1).keynum(0, 1, 1).flags(RO | ACCESS)], "set", "Intersect multiple sets and return the cardinality of the result", "7.0.0", Handler::Read(sintercard)),
    spec("sinterstore", -3, WRITE | DENYOOM, &[KeySpec::key(1, RW | UPDATE), KeySpec::index(2).range(-1, 1, 0).flags(RO | ACCESS)], "set", "Intersect multiple sets and store the resulting set in a key", "1.0.0", Handler::Write(sinterstore)),
    spec("sunion", -2, READONLY, &[KeySpec::index(1).range(-1, 1, 0).flags(RO | ACCESS)], "set", "Add multiple sets", "1.0.0", Handler::Read(sunion)).with_tips(&["nondeterministic_output_order"]),
    spec("sunionstore", -3, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE), KeySpec::index(2).range(-1, 1, 0).flags(RO | ACCESS)], "set", "Add multiple sets and store the resulting set in a key", "1.0.0", Handler::Write(sunionstore)),
    spec("sdiff", -2, READONLY, &[KeySpec::index(1).range(-1, 1, 0).flags(RO | ACCESS)], "set", "Subtract multiple sets", "1.0.0", Handler::Read(sdiff)).with_tips(&["nondeterministic_output_order"]),
    spec("sdiffstore", -3, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE), KeySpec::index(2).range(-1, 1, 0).flags(RO | ACCESS)], "set", "Subtract multiple sets and store the resulting set in a key", "1.0.0", Handler::Write(sdiffstore)),
    spec("sscan", -3, READONLY, &[KeySpec::key(1, RO | ACCESS)], "set", "Incrementally iterate Set elements", "2.8.0", Handler::Read(sscan)).with_tips(&["nondeterministic_output"]),
];

use super::wrongtype;

/// The set at `key`: `Ok(None)` if there is no live key, `Err(WRONGTYPE)`
/// for another type.
fn set_at<'a>(ks: &'a Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'a Set>, Frame> {
    super::typed_at(ks, key, now_ms, Value::as_set)
}

fn members_frame<'a>(members: impl Iterator<Item = Cow<'a, [u8]>>) -> Vec<Frame> {
    members.map(|m| Frame::bulk(&m)).collect()
}

/// SADD key member [member ...]: how many were new.
fn sadd(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let limits = ctx.exec.config().limits();
    let mut ks = view.ks_mut(key)?;
    let Ok(Some(mut set)) = ks.set_mut(key, ctx.now_ms(), Some(&args[2])) else {
        return Ok(wrongtype());
    };
    let mut added = 0;
    for member in &args[2..] {
        if !set.contains(member) && set.add(member, &limits) {
            added += 1;
        }
    }
    Ok(Frame::Integer(added))
}

/// SREM key member [member ...]: how many were removed; the key goes with
/// its last member.
fn srem(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let mut removed = 0;
    match ks.set_mut(key, now, None) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(mut set)) => {
            for member in &args[2..] {
                if set.contains(member) && set.remove(member) {
                    removed += 1;
                    if set.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    ks.remove_if_empty(key, now);
    Ok(Frame::Integer(removed))
}

fn read_set(
    ctx: &Ctx<'_>,
    view: &ReadView<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Set>) -> Frame,
) -> Result<Frame, KeyOutsidePlan> {
    super::read_typed(ctx, view, key, Value::as_set, f)
}

/// SCARD key
fn scard(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_set(ctx, view, &args[1], |s| {
        Frame::Integer(s.map_or(0, |s| s.len() as i64))
    })
}

/// SISMEMBER key member
fn sismember(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_set(ctx, view, &args[1], |s| {
        Frame::Integer(i64::from(s.is_some_and(|s| s.contains(&args[2]))))
    })
}

/// SMISMEMBER key member [member ...]
fn smismember(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_set(ctx, view, &args[1], |s| {
        Frame::Array(
            args[2..]
                .iter()
                .map(|m| Frame::Integer(i64::from(s.is_some_and(|s| s.contains(m)))))
                .collect(),
        )
    })
}

/// SMEMBERS key: a set reply (RESP3 `~`).
fn smembers(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_set(ctx, view, &args[1], |s| {
        Frame::Set(s.map(|s| members_frame(s.iter())).unwrap_or_default())
    })
}

/// A count argument of SPOP/SRANDMEMBER, with Redis's errors (SPOP's is
/// `getPositiveLongFromObjectOrReply`: not a number is "must be positive"
/// too).
fn count_arg(arg: &Bytes, positive: bool) -> Result<i64, Frame> {
    let must_be_positive = || Frame::static_error("ERR value is out of range, must be positive");
    let n = match int_arg(arg) {
        Ok(n) => n,
        Err(_) if positive => return Err(must_be_positive()),
        Err(e) => return Err(e),
    };
    match n {
        i64::MIN => Err(Frame::static_error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        n if positive && n < 0 => Err(must_be_positive()),
        n => Ok(n),
    }
}

/// `count` distinct members drawn from `set` (a partial Fisher-Yates over
/// the positions), in the set's order.
fn distinct_sample(set: &Set, count: usize, rng: &crate::rng::Rng) -> Vec<Vec<u8>> {
    let members: Vec<Cow<'_, [u8]>> = set.iter().collect();
    let mut positions: Vec<usize> = (0..members.len()).collect();
    for i in 0..count {
        let j = i + rng.below((positions.len() - i) as u64) as usize;
        positions.swap(i, j);
    }
    let mut chosen = positions[..count].to_vec();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| members[i].to_vec()).collect()
}

/// SPOP key [count]: remove and return random members (a set reply with a
/// count). Propagated as `SREM key <popped...>`, or `DEL key` when the
/// whole set went, as Redis does.
fn spop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let count = match args.len() {
        2 => None,
        3 => match count_arg(&args[2], true) {
            Ok(n) => Some(n as u64),
            Err(e) => return Ok(e),
        },
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let now = ctx.now_ms();
    let rng = ctx.rng();
    let mut ks = view.ks_mut(key)?;
    let set = match ks.set_mut(key, now, None) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => {
            return Ok(if count.is_some() {
                Frame::Set(vec![])
            } else {
                Frame::Null
            });
        }
        Ok(Some(set)) => set,
    };
    let popped: Vec<Vec<u8>> = match count {
        None => set.random(rng).map(|m| m.to_vec()).into_iter().collect(),
        Some(0) => return Ok(Frame::Set(vec![])),
        Some(n) if n >= set.len() as u64 => set.iter().map(|m| m.to_vec()).collect(),
        Some(n) => distinct_sample(&set, n as usize, rng),
    };
    let whole = count.is_some_and(|n| n >= set.len() as u64);
    let mut set = set;
    for member in &popped {
        set.remove(member);
    }
    ks.remove_if_empty(key, now);
    if whole {
        ks.propagate_as(vec![words::DEL, key.clone()]);
    } else {
        let mut srem = vec![words::SREM, key.clone()];
        srem.extend(popped.iter().map(|m| Bytes::copy_from_slice(m)));
        ks.propagate_as(srem);
    }
    Ok(match count {
        None => Frame::bulk_or_null(popped.first().map(Vec::as_slice)),
        Some(_) => Frame::Set(popped.iter().map(|m| Frame::bulk(m)).collect()),
    })
}

/// SRANDMEMBER key [count]: like SPOP without removing; a negative count
/// allows repeats. Always an array reply with a count.
fn srandmember(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let count = match args.len() {
        2 => None,
        3 => match count_arg(&args[2], false) {
            Ok(n) => Some(n),
            Err(e) => return Ok(e),
        },
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let set = match set_at(view.ks(key)?, key, ctx.now_ms()) {
        Ok(s) => s,
        Err(e) => return Ok(e),
    };
    let rng = ctx.rng();
    let Some(count) = count else {
        return Ok(Frame::bulk_or_null(
            set.and_then(|s| s.random(rng)).as_deref(),
        ));
    };
    let Some(set) = set.filter(|s| !s.is_empty()) else {
        return Ok(Frame::Array(vec![]));
    };
    let members: Vec<Frame> = if count < 0 {
        (0..count.unsigned_abs())
            .filter_map(|_| set.random(rng).map(|m| Frame::bulk(&m)))
            .collect()
    } else if count as u64 >= set.len() as u64 {
        members_frame(set.iter())
    } else {
        distinct_sample(set, count as usize, rng)
            .iter()
            .map(|m| Frame::bulk(m))
            .collect()
    };
    Ok(Frame::Array(members))
}

/// SMOVE source destination member: 1 if moved. Both keys are locked, so
/// no client sees the member in both sets or in neither.
fn smove(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let now = ctx.now_ms();
    let limits = ctx.exec.config().limits();
    // Redis checks both types before anything else.
    // Redis looks both keys up (deleting expired ones), answers 0 for a
    // missing source whatever the destination is, then checks both types.
    view.ks_mut(src)?.lookup(src, now);
    view.ks_mut(dst)?.lookup(dst, now);
    let present = match set_at(view.ks(src)?, src, now) {
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(s)) => s.contains(member),
        Err(e) => return Ok(e),
    };
    if let Err(e) = set_at(view.ks(dst)?, dst, now) {
        return Ok(e);
    }
    if src == dst {
        return Ok(Frame::Integer(i64::from(present)));
    }
    if !present {
        return Ok(Frame::Integer(0));
    }
    {
        let mut ks = view.ks_mut(src)?;
        if let Ok(Some(mut set)) = ks.set_mut(src, now, None) {
            set.remove(member);
        }
        ks.remove_if_empty(src, now);
    }
    let mut ks = view.ks_mut(dst)?;
    if let Ok(Some(mut set)) = ks.set_mut(dst, now, Some(member)) {
        if !set.contains(member) {
            set.add(member, &limits);
        }
    }
    Ok(Frame::Integer(1))
}

/// The sets named by `keys` (`None` for a missing key); any key of
/// another type is WRONGTYPE, even after a missing one, as in Redis.
fn sets<'v>(
    ctx: &Ctx<'_>,
    view: &'v ReadView<'_>,
    keys: &[Bytes],
) -> Result<Result<Vec<Option<&'v Set>>, Frame>, KeyOutsidePlan> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        match set_at(view.ks(key)?, key, ctx.now_ms()) {
            Err(e) => return Ok(Err(e)),
            Ok(s) => out.push(s),
        }
    }
    Ok(Ok(out))
}

/// The members of the intersection, in the order of the smallest set.
fn intersection(sets: &[Option<&Set>], limit: usize) -> Vec<Vec<u8>> {
    if sets.iter().any(Option::is_none) {
        return vec![];
    }
    let mut sets: Vec<&Set> = sets.iter().flatten().copied().collect();
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return vec![];
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(&m)) {
            out.push(m.to_vec());
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// Which multi-set operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// The union or difference as a new set, built as Redis builds it (an
/// intset first, converting as members come), so its encoding and order
/// are Redis's.
fn combine(sets: &[Option<&Set>], op: Op, limits: &crate::keyspace::Limits) -> Set {
    let mut out = Set::Intset(Vec::new());
    match op {
        Op::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    out.add(&m, limits);
                }
            }
        }
        Op::Diff => {
            if let Some(Some(first)) = sets.first() {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(&m)) {
                        out.add(&m, limits);
                    }
                }
            }
        }
    }
    out
}

/// SINTER key [key ...]
fn sinter(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    Ok(match sets(ctx, view, &args[1..])? {
        Ok(sets) => Frame::Set(
            intersection(&sets, 0)
                .iter()
                .map(|m| Frame::bulk(m))
                .collect(),
        ),
        Err(e) => e,
    })
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let numkeys = match int_arg(&args[1]) {
        Ok(n) if n > 0 => n as u64,
        _ => return Ok(Frame::static_error("ERR numkeys should be greater than 0")),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Ok(Frame::static_error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys = &args[2..2 + numkeys as usize];
    let mut limit = 0;
    let mut i = 2 + numkeys as usize;
    while i < args.len() {
        if is_keyword(&args[i], "limit") && i + 1 < args.len() {
            match int_arg(&args[i + 1]) {
                Ok(n) if n >= 0 => limit = n as usize,
                Ok(_) => return Ok(Frame::static_error("ERR LIMIT can't be negative")),
                Err(e) => return Ok(e),
            }
            i += 2;
        } else {
            return Ok(Frame::static_error(error::SYNTAX));
        }
    }
    Ok(match sets(ctx, view, keys)? {
        Ok(sets) => Frame::Integer(intersection(&sets, limit).len() as i64),
        Err(e) => e,
    })
}

/// SUNION key [key ...]
fn sunion(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    set_op(ctx, view, args, Op::Union)
}

/// SDIFF key [key ...]: the first set minus the others.
fn sdiff(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    set_op(ctx, view, args, Op::Diff)
}

fn set_op(
    ctx: &Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
    op: Op,
) -> Result<Frame, KeyOutsidePlan> {
    let limits = ctx.exec.config().limits();
    Ok(match sets(ctx, view, &args[1..])? {
        Ok(sets) => Frame::Set(members_frame(combine(&sets, op, &limits).iter())),
        Err(e) => e,
    })
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the
/// size of the result, stored at `destination` (which is deleted when the
/// result is empty).
fn store(
    ctx: &Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
    op: Option<Op>,
) -> Result<Frame, KeyOutsidePlan> {
    let dst = &args[1];
    let now = ctx.now_ms();
    let limits = ctx.exec.config().limits();
    // Redis reads the sources one by one with lookupKeyRead, which
    // deletes an expired one (and propagates its DEL), and stops at the
    // first of another type: the keys after it are not looked at.
    for key in &args[2..] {
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        if let Err(e) = set_at(&ks, key, now) {
            return Ok(e);
        }
    }
    let result = {
        let read = view.lend();
        let sets = match sets(ctx, &read, &args[2..])? {
            Ok(sets) => sets,
            Err(e) => return Ok(e),
        };
        match op {
            None => {
                let mut out = Set::Intset(Vec::new());
                for m in intersection(&sets, 0) {
                    out.add(&m, &limits);
                }
                out
            }
            Some(op) => combine(&sets, op, &limits),
        }
    };
    let size = result.len() as i64;
    let mut ks = view.ks_mut(dst)?;
    if size == 0 {
        ks.remove(dst, now);
    } else {
        ks.set(dst, Value::Set(Box::new(result)), None);
    }
    Ok(Frame::Integer(size))
}

fn sinterstore(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    store(ctx, view, args, None)
}

fn sunionstore(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    store(ctx, view, args, Some(Op::Union))
}

fn sdiffstore(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    store(ctx, view, args, Some(Op::Diff))
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]: an intset comes whole.
fn sscan(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let Some(cursor) = parse_cursor(&args[2]) else {
        return Ok(Frame::static_error(error::INVALID_CURSOR));
    };
    let set = match set_at(view.ks(&args[1])?, &args[1], ctx.now_ms()) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(scan_reply(0, vec![])),
        Err(e) => return Ok(e),
    };
    let opts = match parse_scan_options(args, true) {
        Ok(o) => o,
        Err(e) => return Ok(e),
    };
    let mut found = Vec::new();
    let cursor = scan_steps(cursor, opts.count, 1, &mut found, |cursor, found| {
        set.scan(cursor, |m| {
            if opts.pattern.is_none_or(|p| glob_match(p, m, false)) {
                found.push(Frame::bulk(m));
            }
        })
    });
    Ok(scan_reply(cursor, found))
}

#[cfg(test)]
mod tests;
