//! Sorted-set commands (Redis 7.0's `t_zset.c`).
//!
//! Members are ordered by (score, member); ranks and "the i-th member" are
//! O(log n) in the large encoding ([`ZSet`]). Scores print as Redis 7.0
//! prints them (`%.17g`): RESP3 double replies, bulk strings in RESP2.
//! Multi-key commands (ZUNIONSTORE, ZINTER, ZDIFF, ZRANGESTORE, ZMPOP ...)
//! name every key in their key specs, so the executor locks them all in
//! ascending order and each runs atomically in every lock mode.

mod parse;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use bytes::Bytes;

use super::hash::scan_reply;
use super::keyspace::{parse_cursor, parse_scan_options, scan_steps};
use super::{int_arg, is_keyword, spec};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::glob::glob_match;
use crate::keyspace::zset::{cmp_entry, format_score};
use crate::keyspace::{Keyspace, Value, ZSet};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};
use parse::{lex_bound, parse_score, score_bound, Bound, Lex, NOT_FLOAT};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | UPDATE)], "sorted-set", "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0", Handler::Write(zadd)),
    spec("zincrby", 4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "sorted-set", "Increment the score of a member in a sorted set", "1.2.0", Handler::Write(zincrby)),
    spec("zrem", -3, WRITE | FAST, &[KeySpec::key(1, RW | DELETE)], "sorted-set", "Remove one or more members from a sorted set", "1.2.0", Handler::Write(zrem)),
    spec("zcard", 2, READONLY | FAST, &[KeySpec::key(1, RO)], "sorted-set", "Get the number of members in a sorted set", "1.2.0", Handler::Read(zcard)),
    spec("zscore", 3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Get the score associated with the given member in a sorted set", "1.2.0", Handler::Read(zscore)),
    spec("zmscore", -3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Get the score associated with the given members in a sorted set", "6.2.0", Handler::Read(zmscore)),
    spec("zrank", 3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Determine the index of a member in a sorted set", "2.0.0", Handler::Read(zrank)),
    spec("zrevrank", 3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0", Handler::Read(zrank)),
    spec("zcount", 4, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Count the members in a sorted set with scores within the given values", "2.0.0", Handler::Read(zcount)),
    spec("zlexcount", 4, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Count the number of members in a sorted set between a given lexicographical range", "2.8.9", Handler::Read(zcount)),
    spec("zrange", -4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Return a range of members in a sorted set", "1.2.0", Handler::Read(zrange)),
    spec("zrangebyscore", -4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Return a range of members in a sorted set, by score", "1.0.5", Handler::Read(zrange)),
    spec("zrevrangebyscore", -4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0", Handler::Read(zrange)),
    spec("zrangebylex", -4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Return a range of members in a sorted set, by lexicographical range", "2.8.9", Handler::Read(zrange)),
    spec("zrevrangebylex", -4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9", Handler::Read(zrange)),
    spec("zrevrange", -4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0", Handler::Read(zrange)),
    spec("zrangestore", -5, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE), KeySpec::key(2, RO | ACCESS)], "sorted-set", "Store a range of members from sorted set into another key", "6.2.0", Handler::Write(zrangestore)),
    spec("zremrangebyrank", 4, WRITE, &[KeySpec::key(1, RW | DELETE)], "sorted-set", "Remove all members in a sorted set within the given indexes", "2.0.0", Handler::Write(zremrange)),
    spec("zremrangebyscore", 4, WRITE, &[KeySpec::key(1, RW | DELETE)], "sorted-set", "Remove all members in a sorted set within the given scores", "1.2.0", Handler::Write(zremrange)),
    spec("zremrangebylex", 4, WRITE, &[KeySpec::key(1, RW | DELETE)], "sorted-set", "Remove all members in a sorted set between the given lexicographical range", "2.8.9", Handler::Write(zremrange)),
    spec("zpopmin", -2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "sorted-set", "Remove and return members with the lowest scores in a sorted set", "5.0.0", Handler::Write(zpop)),
    spec("zpopmax", -2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "sorted-set", "Remove and return members with the highest scores in a sorted set", "5.0.0", Handler::Write(zpop)),
    spec("zmpop", -4, WRITE, &[KeySpec::index(1).keynum(0, 1, 1).flags(RW | ACCESS | DELETE)], "sorted-set", "Remove and return members with scores in a sorted set", "7.0.0", Handler::Write(zmpop)),
    spec("zrandmember", -2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Get one or multiple random elements from a sorted set", "6.2.0", Handler::Read(zrandmember)).with_tips(&["nondeterministic_output"]),
    spec("zunion", -3, READONLY, &[KeySpec::index(1).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Add multiple sorted sets", "6.2.0", Handler::Read(zsetop)),
    spec("zinter", -3, READONLY, &[KeySpec::index(1).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Intersect multiple sorted sets", "6.2.0", Handler::Read(zsetop)),
    spec("zdiff", -3, READONLY, &[KeySpec::index(1).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Subtract multiple sorted sets", "6.2.0", Handler::Read(zsetop)),
    spec("zunionstore", -4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE), KeySpec::index(2).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", Handler::Write(zsetopstore)),
    spec("zinterstore", -4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE), KeySpec::index(2).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", Handler::Write(zsetopstore)),
    spec("zdiffstore", -4, WRITE | DENYOOM, &[KeySpec::key(1, OW | UPDATE), KeySpec::index(2).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", Handler::Write(zsetopstore)),
    spec("zintercard", -3, READONLY, &[KeySpec::index(1).keynum(0, 1, 1).flags(RO | ACCESS)], "sorted-set", "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", Handler::Read(zintercard)),
    spec("zscan", -3, READONLY, &[KeySpec::key(1, RO | ACCESS)], "sorted-set", "Incrementally iterate sorted sets elements and associated scores", "2.8.0", Handler::Read(zscan)).with_tips(&["nondeterministic_output"]),
];

/// A member and its score.
pub(super) type Scored = (f64, Box<[u8]>);

use super::wrongtype;

/// A score as a reply: a RESP3 double, a bulk string in RESP2.
pub(super) fn score_frame(d: f64) -> Frame {
    Frame::Double(format_score(d).into())
}

pub(super) fn zset_at<'a>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a ZSet>, Frame> {
    super::typed_at(ks, key, now_ms, Value::as_zset)
}

/// `zset-max-listpack-entries` and `-value` (from the config's lock-free
/// copy).
fn limits(ctx: &Ctx<'_>) -> (usize, usize) {
    let l = ctx.exec.config().limits();
    (l.zset_entries, l.zset_value)
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is_keyword(a, "nx") {
            nx = true;
        } else if is_keyword(a, "xx") {
            xx = true;
        } else if is_keyword(a, "gt") {
            gt = true;
        } else if is_keyword(a, "lt") {
            lt = true;
        } else if is_keyword(a, "ch") {
            ch = true;
        } else if is_keyword(a, "incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || pairs.len() % 2 == 1 {
        return Ok(Frame::static_error(error::SYNTAX));
    }
    if nx && xx {
        return Ok(Frame::static_error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Ok(Frame::static_error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs.len() > 2 {
        return Ok(Frame::static_error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        match parse_score(&pair[0]) {
            Some(s) => scores.push(s),
            None => return Ok(Frame::static_error(NOT_FLOAT)),
        }
    }
    let (max_entries, max_value) = limits(ctx);
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    ks.lookup(key, now);
    match zset_at(&ks, key, now) {
        Err(e) => return Ok(e),
        Ok(None) if xx => return Ok(if incr { Frame::Null } else { Frame::Integer(0) }),
        Ok(_) => {}
    }
    let Ok(Some(mut z)) = ks.zset_mut(key, now, true) else {
        return Ok(wrongtype());
    };
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for (pair, &score) in pairs.chunks_exact(2).zip(&scores) {
        let member = &pair[1][..];
        match z.score(member) {
            Some(current) => {
                if nx {
                    continue;
                }
                let new = if incr { current + score } else { score };
                if new.is_nan() {
                    return Ok(Frame::static_error(
                        "ERR resulting score is not a number (NaN)",
                    ));
                }
                if (gt && new <= current) || (lt && new >= current) {
                    continue;
                }
                incr_result = Some(new);
                if new != current {
                    z.insert(new, member, max_entries, max_value);
                    changed += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(score, member, max_entries, max_value);
                added += 1;
                incr_result = Some(score);
            }
        }
    }
    ks.remove_if_empty(key, now);
    Ok(if incr {
        incr_result.map_or(Frame::Null, score_frame)
    } else {
        Frame::Integer(if ch { added + changed } else { added })
    })
}

/// ZINCRBY key increment member
fn zincrby(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, member) = (&args[1], &args[3]);
    let Some(by) = parse_score(&args[2]) else {
        return Ok(Frame::static_error(NOT_FLOAT));
    };
    let (max_entries, max_value) = limits(ctx);
    let mut ks = view.ks_mut(key)?;
    let Ok(Some(mut z)) = ks.zset_mut(key, ctx.now_ms(), true) else {
        return Ok(wrongtype());
    };
    // A new member's score is the increment itself (so -0 stays -0 in
    // the reply), as Redis's zsetAdd sets it.
    let new = z.score(member).map_or(by, |current| current + by);
    if new.is_nan() {
        return Ok(Frame::static_error(
            "ERR resulting score is not a number (NaN)",
        ));
    }
    z.insert(new, member, max_entries, max_value);
    Ok(score_frame(new))
}

/// ZREM key member [member ...]
fn zrem(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let mut removed = 0;
    match ks.zset_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(mut z)) => {
            for m in &args[2..] {
                if z.score(m).is_some() && z.remove(m) {
                    removed += 1;
                }
            }
        }
    }
    ks.remove_if_empty(key, now);
    Ok(Frame::Integer(removed))
}

fn read_zset(
    ctx: &Ctx<'_>,
    view: &ReadView<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&ZSet>) -> Frame,
) -> Result<Frame, KeyOutsidePlan> {
    super::read_typed(ctx, view, key, Value::as_zset, f)
}

fn zcard(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_zset(ctx, view, &args[1], |z| {
        Frame::Integer(z.map_or(0, |z| z.len() as i64))
    })
}

fn zscore(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_zset(ctx, view, &args[1], |z| {
        z.and_then(|z| z.score(&args[2]))
            .map_or(Frame::Null, score_frame)
    })
}

fn zmscore(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_zset(ctx, view, &args[1], |z| {
        Frame::Array(
            args[2..]
                .iter()
                .map(|m| z.and_then(|z| z.score(m)).map_or(Frame::Null, score_frame))
                .collect(),
        )
    })
}

/// ZRANK / ZREVRANK key member
fn zrank(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let rev = ctx.spec.name == "zrevrank";
    read_zset(ctx, view, &args[1], |z| {
        let Some(z) = z else {
            return Frame::Null;
        };
        match z.rank(&args[2]) {
            Some(r) if rev => Frame::Integer((z.len() - 1 - r) as i64),
            Some(r) => Frame::Integer(r as i64),
            None => Frame::Null,
        }
    })
}

/// The ranks `from..to` of the members between two bounds.
fn span(z: &ZSet, min: &Bound, max: &Bound) -> (usize, usize) {
    let from = z.count_before(&|s, m| min.is_below(s, m));
    let to = z.count_before(&|s, m| !max.is_above(s, m));
    (from, to.max(from))
}

/// ZCOUNT key min max / ZLEXCOUNT key min max
fn zcount(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let lex = ctx.spec.name == "zlexcount";
    let (min, max) = match bounds(&args[2], &args[3], lex) {
        Ok(b) => b,
        Err(e) => return Ok(e),
    };
    read_zset(ctx, view, &args[1], |z| {
        Frame::Integer(z.map_or(0, |z| {
            let (a, b) = span(z, &min, &max);
            (b - a) as i64
        }))
    })
}

fn bounds(min: &[u8], max: &[u8], lex: bool) -> Result<(Bound, Bound), Frame> {
    if lex {
        match (lex_bound(min), lex_bound(max)) {
            (Some(a), Some(b)) => Ok((Bound::Lex(a), Bound::Lex(b))),
            _ => Err(Frame::static_error(
                "ERR min or max not valid string range item",
            )),
        }
    } else {
        match (score_bound(min), score_bound(max)) {
            (Some(a), Some(b)) => Ok((Bound::Score(a.0, a.1), Bound::Score(b.0, b.1))),
            _ => Err(Frame::static_error("ERR min or max is not a float")),
        }
    }
}

/// What a ZRANGE-family command asks for.
struct RangeQuery {
    kind: Kind,
    rev: bool,
    limit: Option<(i64, i64)>,
    withscores: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// Parse the ZRANGE family's arguments after `key start stop` (`opts`),
/// for command `name` (the old forms fix the kind and direction).
fn parse_range_query(name: &str, opts: &[Bytes]) -> Result<RangeQuery, Frame> {
    let (mut kind, mut rev) = match name {
        "zrangebyscore" => (Kind::Score, false),
        "zrevrangebyscore" => (Kind::Score, true),
        "zrangebylex" => (Kind::Lex, false),
        "zrevrangebylex" => (Kind::Lex, true),
        "zrevrange" => (Kind::Rank, true),
        _ => (Kind::Rank, false),
    };
    let modern = matches!(name, "zrange" | "zrangestore");
    let (mut limit, mut withscores) = (None, false);
    let mut i = 0;
    while i < opts.len() {
        let a = &opts[i];
        let left = opts.len() - i - 1;
        if is_keyword(a, "withscores") && name != "zrangestore" {
            withscores = true;
        } else if is_keyword(a, "limit") && left >= 2 {
            let (off, cnt) = match (int_arg(&opts[i + 1]), int_arg(&opts[i + 2])) {
                (Ok(o), Ok(c)) => (o, c),
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            limit = Some((off, cnt));
            i += 2;
        } else if modern && is_keyword(a, "byscore") {
            kind = Kind::Score;
        } else if modern && is_keyword(a, "bylex") {
            kind = Kind::Lex;
        } else if modern && is_keyword(a, "rev") {
            rev = true;
        } else {
            return Err(Frame::static_error(error::SYNTAX));
        }
        i += 1;
    }
    if limit.is_some() && kind == Kind::Rank {
        return Err(Frame::static_error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(Frame::static_error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(RangeQuery {
        kind,
        rev,
        limit,
        withscores,
    })
}

/// The members a range query selects, in reply order. `start`/`stop` are
/// the query's two bounds as given (max first for a reversed score or lex
/// query).
fn select(z: &ZSet, q: &RangeQuery, start: &[u8], stop: &[u8]) -> Result<Vec<Scored>, Frame> {
    let len = z.len();
    let (from, to) = match q.kind {
        Kind::Rank => {
            let (a, b) = match (int_arg(start), int_arg(stop)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            let n = len as i64;
            let (mut a, mut b) = (if a < 0 { n + a } else { a }, if b < 0 { n + b } else { b });
            if a < 0 {
                a = 0;
            }
            if a > b || a >= n {
                return Ok(vec![]);
            }
            if b >= n {
                b = n - 1;
            }
            // Reversed ranks count from the top.
            if q.rev {
                (len - 1 - b as usize, len - a as usize)
            } else {
                (a as usize, b as usize + 1)
            }
        }
        Kind::Score | Kind::Lex => {
            let (lo, hi) = if q.rev { (stop, start) } else { (start, stop) };
            let (min, max) = bounds(lo, hi, q.kind == Kind::Lex)?;
            span(z, &min, &max)
        }
    };
    let mut picked = z.range(from, to);
    if q.rev {
        picked.reverse();
    }
    if let Some((offset, count)) = q.limit {
        if offset < 0 {
            return Ok(vec![]);
        }
        let skip = offset as usize;
        picked = if count < 0 {
            picked.into_iter().skip(skip).collect()
        } else {
            picked.into_iter().skip(skip).take(count as usize).collect()
        };
    }
    Ok(picked)
}

/// Parse the range without a key: Redis's `zrangeGenericCommand` parses
/// it before it looks the key up, so a bad range is reported even for a
/// key of another type. Selecting from an empty set parses exactly what
/// [`select`] will.
fn check_range(q: &RangeQuery, start: &[u8], stop: &[u8]) -> Result<(), Frame> {
    select(&ZSet::default(), q, start, stop).map(drop)
}

fn members_reply(picked: Vec<Scored>, withscores: bool) -> Frame {
    if withscores {
        Frame::Pairs(
            picked
                .into_iter()
                .map(|(s, m)| (Frame::bulk(&m), score_frame(s)))
                .collect(),
        )
    } else {
        Frame::Array(picked.into_iter().map(|(_, m)| Frame::bulk(&m)).collect())
    }
}

/// ZRANGE and its older forms (ZRANGEBYSCORE, ZREVRANGE, ...).
fn zrange(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let q = match parse_range_query(ctx.spec.name, &args[4..]) {
        Ok(q) => q,
        Err(e) => return Ok(e),
    };
    if let Err(e) = check_range(&q, &args[2], &args[3]) {
        return Ok(e);
    }
    read_zset(ctx, view, &args[1], |z| {
        let empty = ZSet::default();
        match select(z.unwrap_or(&empty), &q, &args[2], &args[3]) {
            Ok(picked) => members_reply(picked, q.withscores),
            Err(e) => e,
        }
    })
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
fn zrangestore(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (dst, src) = (&args[1], &args[2]);
    let q = match parse_range_query("zrangestore", &args[5..]) {
        Ok(q) => q,
        Err(e) => return Ok(e),
    };
    if let Err(e) = check_range(&q, &args[3], &args[4]) {
        return Ok(e);
    }
    let now = ctx.now_ms();
    view.ks_mut(src)?.lookup(src, now);
    let picked = {
        let read = view.lend();
        let empty = ZSet::default();
        let z = match zset_at(read.ks(src)?, src, now) {
            Ok(z) => z.cloned().unwrap_or(empty),
            Err(e) => return Ok(e),
        };
        match select(&z, &q, &args[3], &args[4]) {
            Ok(p) => p,
            Err(e) => return Ok(e),
        }
    };
    store_result(ctx, view, dst, picked)
}

/// Store `elements` at `dst` as a new sorted set (or delete `dst` when
/// empty); reply with the size.
fn store_result(
    ctx: &Ctx<'_>,
    view: &mut WriteView<'_>,
    dst: &Bytes,
    mut elements: Vec<Scored>,
) -> Result<Frame, KeyOutsidePlan> {
    let (max_entries, max_value) = limits(ctx);
    elements.sort_by(|a, b| cmp_entry((a.0, &a.1), (b.0, &b.1)));
    let size = elements.len() as i64;
    let mut ks = view.ks_mut(dst)?;
    if size == 0 {
        ks.remove(dst, ctx.now_ms());
    } else {
        let z = ZSet::from_elements(&elements, max_entries, max_value);
        ks.set(dst, Value::ZSet(Box::new(z)), None);
    }
    Ok(Frame::Integer(size))
}

/// ZREMRANGEBYRANK / BYSCORE / BYLEX key min max: how many were removed.
fn zremrange(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let kind = match ctx.spec.name {
        "zremrangebyrank" => Kind::Rank,
        "zremrangebyscore" => Kind::Score,
        _ => Kind::Lex,
    };
    let q = RangeQuery {
        kind,
        rev: false,
        limit: None,
        withscores: false,
    };
    // Bounds are checked before the key is looked up, as Redis does.
    if kind != Kind::Rank {
        if let Err(e) = bounds(&args[2], &args[3], kind == Kind::Lex) {
            return Ok(e);
        }
    } else if let Err(e) = int_arg(&args[2]).and(int_arg(&args[3])) {
        return Ok(e);
    }
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let removed = match ks.zset_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(z)) => {
            let picked = match select(&z, &q, &args[2], &args[3]) {
                Ok(p) => p,
                Err(e) => return Ok(e),
            };
            if !picked.is_empty() {
                let mut z = z;
                for (_, m) in &picked {
                    z.remove(m);
                }
            }
            picked.len()
        }
    };
    ks.remove_if_empty(key, now);
    Ok(Frame::Integer(removed as i64))
}

/// Pop up to `count` members from the low (`max` false) or high end.
pub(super) fn pop_members(z: &mut ZSet, max: bool, count: usize) -> Vec<Scored> {
    let len = z.len();
    let count = count.min(len);
    let mut picked = if max {
        z.range(len - count, len)
    } else {
        z.range(0, count)
    };
    if max {
        picked.reverse();
    }
    for (_, m) in &picked {
        z.remove(m);
    }
    picked
}

/// ZPOPMIN / ZPOPMAX key [count]
fn zpop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let max = ctx.spec.name == "zpopmax";
    let count = match args.len() {
        2 => None,
        3 => match int_arg(&args[2]) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => {
                return Ok(Frame::static_error(
                    "ERR value is out of range, must be positive",
                ))
            }
        },
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let picked = match ks.zset_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Array(vec![])),
        Ok(Some(mut z)) => pop_members(&mut z, max, count.unwrap_or(1)),
    };
    ks.remove_if_empty(key, now);
    Ok(match count {
        // One member: a flat [member, score] in both protocols.
        None => Frame::Array(
            picked
                .into_iter()
                .flat_map(|(s, m)| [Frame::bulk(&m), score_frame(s)])
                .collect(),
        ),
        Some(_) => members_reply(picked, true),
    })
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let numkeys = match int_arg(&args[1]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Ok(Frame::static_error("ERR numkeys should be greater than 0")),
    };
    if numkeys > args.len() - 2 {
        return Ok(Frame::static_error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys = &args[2..2 + numkeys];
    let rest = &args[2 + numkeys..];
    let max = match rest.first() {
        Some(w) if is_keyword(w, "min") => false,
        Some(w) if is_keyword(w, "max") => true,
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let mut count = 1;
    match &rest[1..] {
        [] => {}
        [opt, n] if is_keyword(opt, "count") => match int_arg(n) {
            Ok(n) if n > 0 => count = n as usize,
            _ => return Ok(Frame::static_error("ERR count should be greater than 0")),
        },
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    }
    let now = ctx.now_ms();
    for key in keys {
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        let picked = match ks.zset_mut(key, now, false) {
            Err(_) => return Ok(wrongtype()),
            Ok(None) => continue,
            Ok(Some(mut z)) => pop_members(&mut z, max, count),
        };
        ks.remove_if_empty(key, now);
        let word = if max { "ZPOPMAX" } else { "ZPOPMIN" };
        ks.propagate_as(vec![
            Bytes::from_static(word.as_bytes()),
            key.clone(),
            Bytes::from(picked.len().to_string()),
        ]);
        return Ok(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Array(
                picked
                    .into_iter()
                    .map(|(s, m)| Frame::Array(vec![Frame::bulk(&m), score_frame(s)]))
                    .collect(),
            ),
        ]));
    }
    Ok(Frame::NullArray)
}

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let (count, withscores) = match args.len() {
        2 => (None, false),
        3 | 4 => {
            if args.len() == 4 && !is_keyword(&args[3], "withscores") {
                return Ok(Frame::static_error(error::SYNTAX));
            }
            match int_arg(&args[2]) {
                Ok(i64::MIN) => {
                    return Ok(Frame::static_error(
                        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    ))
                }
                Ok(n) if args.len() == 4 && n < -(i64::MAX / 2) => {
                    return Ok(Frame::static_error("ERR value is out of range"))
                }
                Ok(n) => (Some(n), args.len() == 4),
                Err(e) => return Ok(e),
            }
        }
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let z = match zset_at(view.ks(key)?, key, ctx.now_ms()) {
        Ok(z) => z,
        Err(e) => return Ok(e),
    };
    let rng = ctx.rng();
    let Some(count) = count else {
        return Ok(match z.filter(|z| !z.is_empty()) {
            Some(z) => {
                let i = rng.below(z.len() as u64) as usize;
                Frame::bulk(&z.range(i, i + 1)[0].1)
            }
            None => Frame::Null,
        });
    };
    let Some(z) = z.filter(|z| !z.is_empty()) else {
        return Ok(Frame::Array(vec![]));
    };
    let len = z.len();
    let picked: Vec<Scored> = if count < 0 {
        (0..count.unsigned_abs())
            .map(|_| {
                let i = rng.below(len as u64) as usize;
                z.range(i, i + 1).remove(0)
            })
            .collect()
    } else if count as usize >= len {
        z.all()
    } else {
        let mut positions: Vec<usize> = (0..len).collect();
        for i in 0..count as usize {
            let j = i + rng.below((len - i) as u64) as usize;
            positions.swap(i, j);
        }
        let mut chosen = positions[..count as usize].to_vec();
        chosen.sort_unstable();
        chosen
            .into_iter()
            .map(|i| z.range(i, i + 1).remove(0))
            .collect()
    };
    Ok(members_reply(picked, withscores))
}

/// The inputs of a ZUNION/ZINTER/ZDIFF: sorted sets, or plain sets (every
/// member scored 1), parsed with WEIGHTS, AGGREGATE and WITHSCORES.
struct SetOp {
    keys: Vec<Bytes>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn parse_setop(args: &[Bytes], numkeys_at: usize, diff: bool, store: bool) -> Result<SetOp, Frame> {
    let numkeys = int_arg(&args[numkeys_at])?;
    if numkeys < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(Frame::error(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = numkeys_at + 1;
    if numkeys as usize > args.len() - first {
        return Err(Frame::static_error(error::SYNTAX));
    }
    let keys = args[first..first + numkeys as usize].to_vec();
    let mut op = SetOp {
        weights: vec![1.0; keys.len()],
        keys,
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    let mut i = first + numkeys as usize;
    while i < args.len() {
        let left = args.len() - i - 1;
        if !diff && is_keyword(&args[i], "weights") && left >= op.keys.len() {
            for w in 0..op.keys.len() {
                match parse_score(&args[i + 1 + w]) {
                    Some(x) => op.weights[w] = x,
                    None => return Err(Frame::static_error("ERR weight value is not a float")),
                }
            }
            i += op.keys.len();
        } else if !diff && is_keyword(&args[i], "aggregate") && left >= 1 {
            let a = &args[i + 1];
            op.aggregate = if is_keyword(a, "sum") {
                Aggregate::Sum
            } else if is_keyword(a, "min") {
                Aggregate::Min
            } else if is_keyword(a, "max") {
                Aggregate::Max
            } else {
                return Err(Frame::static_error(error::SYNTAX));
            };
            i += 1;
        } else if !store && is_keyword(&args[i], "withscores") {
            op.withscores = true;
        } else {
            return Err(Frame::static_error(error::SYNTAX));
        }
        i += 1;
    }
    Ok(op)
}

/// An input's members and scores (a set's members all score 1).
fn input(ks: &Keyspace, key: &[u8], now_ms: u64) -> Result<Option<Vec<Scored>>, Frame> {
    match ks.get(key, now_ms) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::ZSet(z) => Ok(Some(z.all())),
            Value::Set(s) => Ok(Some(s.iter().map(|m| (1.0, Box::from(&m[..]))).collect())),
            _ => Err(wrongtype()),
        },
    }
}

fn combine(a: f64, b: f64, how: Aggregate) -> f64 {
    let r = match how {
        Aggregate::Sum => a + b,
        Aggregate::Min => a.min(b),
        Aggregate::Max => a.max(b),
    };
    // inf + -inf: Redis makes it 0.
    if r.is_nan() {
        0.0
    } else {
        r
    }
}

/// The result of ZUNION / ZINTER / ZDIFF over `op`'s inputs.
fn compute(
    view: &ReadView<'_>,
    now_ms: u64,
    op: &SetOp,
    which: &str,
) -> Result<Result<Vec<Scored>, Frame>, KeyOutsidePlan> {
    let mut inputs = Vec::with_capacity(op.keys.len());
    for key in &op.keys {
        match input(view.ks(key)?, key, now_ms) {
            Ok(i) => inputs.push(i),
            Err(e) => return Ok(Err(e)),
        }
    }
    let weighted = |i: usize, s: f64| {
        let r = s * op.weights[i];
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let mut out: Vec<Scored> = Vec::new();
    match which {
        "union" => {
            let mut acc: crate::dict::Dict<f64> = crate::dict::Dict::new();
            let mut order: Vec<Box<[u8]>> = Vec::new();
            for (i, elements) in inputs.iter().enumerate() {
                for (s, m) in elements.iter().flatten() {
                    let s = weighted(i, *s);
                    match acc.get_mut(m) {
                        Some(v) => *v = combine(*v, s, op.aggregate),
                        None => {
                            acc.insert(m, s);
                            order.push(m.clone());
                        }
                    }
                }
            }
            out = order
                .into_iter()
                .map(|m| (*acc.get(&m).unwrap_or(&0.0), m))
                .collect();
        }
        "inter" => {
            if inputs.iter().all(Option::is_some) {
                let lookups: Vec<crate::dict::Dict<f64>> = inputs
                    .iter()
                    .map(|e| {
                        let mut d = crate::dict::Dict::new();
                        for (s, m) in e.iter().flatten() {
                            d.insert(m, *s);
                        }
                        d
                    })
                    .collect();
                if let Some(Some(first)) = inputs.first() {
                    'member: for (s, m) in first {
                        let mut score = weighted(0, *s);
                        for (i, d) in lookups.iter().enumerate().skip(1) {
                            match d.get(m) {
                                Some(x) => score = combine(score, weighted(i, *x), op.aggregate),
                                None => continue 'member,
                            }
                        }
                        out.push((score, m.clone()));
                    }
                }
            }
        }
        _ => {
            if let Some(Some(first)) = inputs.first() {
                for (s, m) in first {
                    let elsewhere = inputs[1..]
                        .iter()
                        .flatten()
                        .any(|e| e.iter().any(|(_, x)| x == m));
                    if !elsewhere {
                        out.push((*s, m.clone()));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| cmp_entry((a.0, &a.1), (b.0, &b.1)));
    Ok(Ok(out))
}

fn op_name(name: &str) -> &'static str {
    if name.starts_with("zunion") {
        "union"
    } else if name.starts_with("zinter") {
        "inter"
    } else {
        "diff"
    }
}

/// ZUNION / ZINTER / ZDIFF numkeys key [key ...] [options] [WITHSCORES]
fn zsetop(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let which = op_name(ctx.spec.name);
    let op = match parse_setop(args, 1, which == "diff", false) {
        Ok(op) => op,
        Err(e) => return Ok(e),
    };
    Ok(match compute(view, ctx.now_ms(), &op, which)? {
        Ok(out) => members_reply(out, op.withscores),
        Err(e) => e,
    })
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE destination numkeys key ...
fn zsetopstore(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let which = op_name(ctx.spec.name);
    let op = match parse_setop(args, 2, which == "diff", true) {
        Ok(op) => op,
        Err(e) => return Ok(e),
    };
    let now = ctx.now_ms();
    // One by one, as Redis: an expired source is deleted, and the first
    // of another type stops the command before the next is looked at.
    for key in &op.keys {
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        if let Err(e) = input(&ks, key, now) {
            return Ok(e);
        }
    }
    let out = match compute(&view.lend(), now, &op, which)? {
        Ok(out) => out,
        Err(e) => return Ok(e),
    };
    store_result(ctx, view, &args[1], out)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let numkeys = match int_arg(&args[1]) {
        Ok(n) if n > 0 => n as usize,
        Ok(_) => {
            return Ok(Frame::static_error(
                "ERR at least 1 input key is needed for 'zintercard' command",
            ))
        }
        Err(e) => return Ok(e),
    };
    if numkeys > args.len() - 2 {
        return Ok(Frame::static_error(error::SYNTAX));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
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
    let op = SetOp {
        keys: args[2..2 + numkeys].to_vec(),
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    Ok(match compute(view, ctx.now_ms(), &op, "inter")? {
        Ok(out) => Frame::Integer(if limit == 0 {
            out.len()
        } else {
            out.len().min(limit)
        } as i64),
        Err(e) => e,
    })
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: a compact sorted set
/// comes whole, a large one a few buckets at a time.
fn zscan(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let Some(mut cursor) = parse_cursor(&args[2]) else {
        return Ok(Frame::static_error(error::INVALID_CURSOR));
    };
    let z = match zset_at(view.ks(&args[1])?, &args[1], ctx.now_ms()) {
        Ok(Some(z)) => z,
        Ok(None) => return Ok(scan_reply(0, vec![])),
        Err(e) => return Ok(e),
    };
    let opts = match parse_scan_options(args, true) {
        Ok(o) => o,
        Err(e) => return Ok(e),
    };
    let keep = |m: &[u8]| opts.pattern.is_none_or(|p| glob_match(p, m, false));
    let mut found = Vec::new();
    match z.dict() {
        None => {
            for (s, m) in z.all() {
                if keep(&m) {
                    found.push(Frame::bulk(&m));
                    found.push(Frame::bulk(format_score(s).as_bytes()));
                }
            }
            cursor = 0;
        }
        Some(dict) => {
            cursor = scan_steps(cursor, opts.count, 2, &mut found, |cursor, found| {
                dict.scan(cursor, |m, s| {
                    if keep(m) {
                        found.push(Frame::bulk(m));
                        found.push(Frame::bulk(format_score(*s).as_bytes()));
                    }
                })
            });
        }
    }
    Ok(scan_reply(cursor, found))
}

/// A bound compared against (score, member): helper for [`span`].
impl Bound {
    /// Is the element below the range's lower end?
    fn is_below(&self, s: f64, m: &[u8]) -> bool {
        match self {
            Bound::Score(x, excl) => {
                if *excl {
                    s <= *x
                } else {
                    s < *x
                }
            }
            Bound::Lex(l) => match l {
                Lex::Min => false,
                Lex::Max => true,
                Lex::Incl(b) => m < &b[..],
                Lex::Excl(b) => m <= &b[..],
            },
        }
    }

    /// Is the element above the range's upper end?
    fn is_above(&self, s: f64, m: &[u8]) -> bool {
        match self {
            Bound::Score(x, excl) => {
                if *excl {
                    s >= *x
                } else {
                    s > *x
                }
            }
            Bound::Lex(l) => match l {
                Lex::Min => true,
                Lex::Max => false,
                Lex::Incl(b) => m.cmp(&b[..]) == Ordering::Greater,
                Lex::Excl(b) => m >= &b[..],
            },
        }
    }
}
