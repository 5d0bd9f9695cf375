//! The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP.
//!
//! Each is its non-blocking twin plus waiting. One attempt runs like any
//! write command, under its keys' locks: the first key (in argument
//! order) that has something, and whose queue of blocked clients this
//! client heads, is served, and the client stops waiting. If none has,
//! the client is queued on every key ([`crate::blocking`]), the command
//! answers nothing ([`Flow::Block`]) and the shell parks the connection,
//! holding no lock, until a write to one of the keys or the deadline; then
//! the same request runs again. The deadline (Unix ms, from the first
//! attempt) is session state, so the attempt that finds it passed answers
//! the timeout's nil, and a replay of a capture blocks, wakes and times
//! out exactly as the server did. Inside EXEC nothing blocks: an empty
//! key answers nil at once, as in Redis.
//!
//! What is propagated is the non-blocking form (`LPOP key`, `LMOVE ...`,
//! `ZPOPMIN key`), as Redis rewrites it.

use bytes::Bytes;

use super::list::{end_arg, list_at, move_element, pop_n, End};
use super::zset::{pop_members, score_frame, zset_at};
use super::{int_arg, is_keyword, spec};
use crate::cmd::string::long_double::LongDouble;
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::{Ctx, Flow};
use crate::frame::Frame;
use crate::store::{KeyOutsidePlan, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("blpop", -3, WRITE | NOSCRIPT | BLOCKING, &[KeySpec::index(1).range(-2, 1, 0).flags(RW | ACCESS | DELETE)], "list", "Remove and get the first element in a list, or block until one is available", "2.0.0", Handler::Write(blpop)),
    spec("brpop", -3, WRITE | NOSCRIPT | BLOCKING, &[KeySpec::index(1).range(-2, 1, 0).flags(RW | ACCESS | DELETE)], "list", "Remove and get the last element in a list, or block until one is available", "2.0.0", Handler::Write(blpop)),
    spec("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, RW | INSERT)], "list", "Pop an element from a list, push it to another list and return it; or block until one is available", "2.2.0", Handler::Write(blmove)),
    spec("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, RW | INSERT)], "list", "Pop an element from a list, push it to another list and return it; or block until one is available", "6.2.0", Handler::Write(blmove)),
    spec("blmpop", -5, WRITE | BLOCKING, &[KeySpec::index(2).keynum(0, 1, 1).flags(RW | ACCESS | DELETE)], "list", "Pop elements from a list, or block until one is available", "7.0.0", Handler::Write(blmpop)),
    spec("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, &[KeySpec::index(1).range(-2, 1, 0).flags(RW | ACCESS | DELETE)], "sorted-set", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0", Handler::Write(bzpop)),
    spec("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, &[KeySpec::index(1).range(-2, 1, 0).flags(RW | ACCESS | DELETE)], "sorted-set", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0", Handler::Write(bzpop)),
    spec("bzmpop", -5, WRITE | BLOCKING, &[KeySpec::index(2).keynum(0, 1, 1).flags(RW | ACCESS | DELETE)], "sorted-set", "Remove and return members with scores in a sorted set or block until one is available", "7.0.0", Handler::Write(bzmpop)),
];

/// A timeout argument in seconds (decimals allowed) as milliseconds;
/// `None` for 0, which waits forever (Redis's getTimeoutFromObjectOrReply).
fn timeout_arg(arg: &[u8]) -> Result<Option<u64>, Frame> {
    let negative = || Frame::static_error("ERR timeout is negative");
    let parsed = LongDouble::parse(arg)
        .and_then(|_| std::str::from_utf8(arg).ok())
        .and_then(|s| s.trim().parse::<f64>().ok());
    let Some(seconds) = parsed else {
        return Err(Frame::static_error(
            "ERR timeout is not a float or out of range",
        ));
    };
    // Redis converts seconds × 1000 to a long long: a value past its
    // range (1e400, inf) comes out negative there, and is refused so.
    let ms = seconds * 1000.0;
    if seconds < 0.0 || !ms.is_finite() || ms >= i64::MAX as f64 {
        return Err(negative());
    }
    let ms = ms as u64;
    Ok((ms > 0).then_some(ms))
}

/// What serving one key gave.
enum Served {
    /// Nothing to take there.
    Empty,
    /// The reply (an element, or an error such as WRONGTYPE).
    Reply(Frame),
}

/// One attempt of a blocking command over `keys`: serve the first key
/// `serve` can, or queue and block, or time out. See the module comment.
fn attempt(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    keys: &[Bytes],
    timeout_ms: Option<u64>,
    mut serve: impl FnMut(&Ctx<'_>, &mut WriteView<'_>, &Bytes) -> Result<Served, KeyOutsidePlan>,
) -> Result<Frame, KeyOutsidePlan> {
    let (client, db, now) = (ctx.session.id, ctx.session.db, ctx.now_ms());
    let blocking = ctx.exec.blocking();
    for key in keys {
        // Clients queued on this key earlier are served first.
        if !blocking.may_serve(client, db, key) {
            continue;
        }
        if let Served::Reply(reply) = serve(ctx, view, key)? {
            if ctx.session.blocked.take().is_some() {
                blocking.dequeue(client);
            }
            return Ok(reply);
        }
    }
    let timed_out = match ctx.session.blocked {
        _ if ctx.in_exec => true,
        None => {
            ctx.session.blocked = Some(timeout_ms.map(|t| now.saturating_add(t)));
            blocking.enqueue(client, db, keys);
            false
        }
        Some(Some(deadline)) => now >= deadline,
        Some(None) => false,
    };
    if timed_out {
        if ctx.session.blocked.take().is_some() {
            blocking.dequeue(client);
        }
        return Ok(Frame::NullArray);
    }
    ctx.flow = Flow::Block;
    Ok(Frame::Null)
}

/// BLPOP / BRPOP key [key ...] timeout: `[key, element]`.
fn blpop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let timeout = match timeout_arg(&args[args.len() - 1]) {
        Ok(t) => t,
        Err(e) => return Ok(e),
    };
    let end = if ctx.spec.name == "blpop" {
        End::Head
    } else {
        End::Tail
    };
    let keys = args[1..args.len() - 1].to_vec();
    attempt(ctx, view, &keys, timeout, |ctx, view, key| {
        let now = ctx.now_ms();
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        match list_at(&ks, key, now) {
            Err(e) => return Ok(Served::Reply(e)),
            Ok(None) => return Ok(Served::Empty),
            Ok(Some(_)) => {}
        }
        let popped = match ks.list_mut(key, now, false) {
            Ok(Some(mut list)) => pop_n(&mut list, end, 1),
            _ => Vec::new(),
        };
        ks.remove_if_empty(key, now);
        let Some(element) = popped.into_iter().next() else {
            return Ok(Served::Empty);
        };
        let word: &'static [u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
        ks.propagate_as(vec![Bytes::from_static(word), key.clone()]);
        Ok(Served::Reply(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Bulk(element.into()),
        ])))
    })
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout and
/// BRPOPLPUSH source destination timeout: the element moved.
fn blmove(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (from, to) = if ctx.spec.name == "brpoplpush" {
        (End::Tail, End::Head)
    } else {
        match (end_arg(&args[3]), end_arg(&args[4])) {
            (Some(a), Some(b)) => (a, b),
            _ => return Ok(Frame::static_error(error::SYNTAX)),
        }
    };
    let timeout = match timeout_arg(&args[args.len() - 1]) {
        Ok(t) => t,
        Err(e) => return Ok(e),
    };
    let (src, dst) = (args[1].clone(), args[2].clone());
    let word = |end: End| Bytes::from_static(if end == End::Head { b"LEFT" } else { b"RIGHT" });
    let reply = attempt(
        ctx,
        view,
        std::slice::from_ref(&src),
        timeout,
        |ctx, view, key| {
            let now = ctx.now_ms();
            {
                let mut ks = view.ks_mut(key)?;
                ks.lookup(key, now);
                match list_at(&ks, key, now) {
                    Err(e) => return Ok(Served::Reply(e)),
                    Ok(None) => return Ok(Served::Empty),
                    Ok(Some(_)) => {}
                }
            }
            let reply = move_element(ctx, view, &src, &dst, from, to)?;
            if matches!(reply, Frame::Bulk(_)) {
                view.ks_mut(&src)?.propagate_as(vec![
                    Bytes::from_static(b"LMOVE"),
                    src.clone(),
                    dst.clone(),
                    word(from),
                    word(to),
                ]);
            }
            Ok(Served::Reply(reply))
        },
    )?;
    // Inside EXEC, an empty source is a plain nil (Redis's
    // CLIENT_DENY_BLOCKING path); a timeout is a nil array.
    Ok(if reply == Frame::NullArray && ctx.in_exec {
        Frame::Null
    } else {
        reply
    })
}

/// `numkeys key [key ...] <end> [COUNT n]` of BLMPOP/BZMPOP after the
/// timeout: the keys, the end word and the count.
fn mpop_args<'a>(args: &'a [Bytes], ends: [&str; 2]) -> Result<(&'a [Bytes], bool, u64), Frame> {
    let numkeys = match int_arg(&args[2]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err(Frame::static_error("ERR numkeys should be greater than 0")),
    };
    if numkeys > args.len() - 3 {
        return Err(Frame::static_error(error::SYNTAX));
    }
    let keys = &args[3..3 + numkeys];
    let rest = &args[3 + numkeys..];
    let second = match rest.first() {
        Some(w) if is_keyword(w, ends[0]) => false,
        Some(w) if is_keyword(w, ends[1]) => true,
        _ => return Err(Frame::static_error(error::SYNTAX)),
    };
    let mut count = 1;
    match &rest[1..] {
        [] => {}
        [opt, n] if is_keyword(opt, "count") => match int_arg(n) {
            Ok(n) if n > 0 => count = n as u64,
            _ => return Err(Frame::static_error("ERR count should be greater than 0")),
        },
        _ => return Err(Frame::static_error(error::SYNTAX)),
    }
    Ok((keys, second, count))
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let timeout = match timeout_arg(&args[1]) {
        Ok(t) => t,
        Err(e) => return Ok(e),
    };
    let (keys, right, count) = match mpop_args(args, ["left", "right"]) {
        Ok(a) => a,
        Err(e) => return Ok(e),
    };
    let end = if right { End::Tail } else { End::Head };
    let keys = keys.to_vec();
    attempt(ctx, view, &keys, timeout, |ctx, view, key| {
        let now = ctx.now_ms();
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        let popped = match ks.list_mut(key, now, false) {
            Err(_) => return Ok(Served::Reply(super::wrongtype())),
            Ok(None) => return Ok(Served::Empty),
            Ok(Some(mut list)) => pop_n(&mut list, end, count),
        };
        ks.remove_if_empty(key, now);
        let word: &'static [u8] = if right { b"RPOP" } else { b"LPOP" };
        ks.propagate_as(vec![
            Bytes::from_static(word),
            key.clone(),
            Bytes::from(popped.len().to_string()),
        ]);
        Ok(Served::Reply(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Array(popped.iter().map(|e| Frame::bulk(e)).collect()),
        ])))
    })
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout: `[key, member, score]`.
fn bzpop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let timeout = match timeout_arg(&args[args.len() - 1]) {
        Ok(t) => t,
        Err(e) => return Ok(e),
    };
    let max = ctx.spec.name == "bzpopmax";
    let keys = args[1..args.len() - 1].to_vec();
    attempt(ctx, view, &keys, timeout, |ctx, view, key| {
        let now = ctx.now_ms();
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        match zset_at(&ks, key, now) {
            Err(e) => return Ok(Served::Reply(e)),
            Ok(None) => return Ok(Served::Empty),
            Ok(Some(_)) => {}
        }
        let popped = match ks.zset_mut(key, now, false) {
            Ok(Some(mut z)) => pop_members(&mut z, max, 1),
            _ => Vec::new(),
        };
        ks.remove_if_empty(key, now);
        let Some((score, member)) = popped.into_iter().next() else {
            return Ok(Served::Empty);
        };
        let word: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        ks.propagate_as(vec![Bytes::from_static(word), key.clone()]);
        Ok(Served::Reply(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::bulk(&member),
            score_frame(score),
        ])))
    })
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let timeout = match timeout_arg(&args[1]) {
        Ok(t) => t,
        Err(e) => return Ok(e),
    };
    let (keys, max, count) = match mpop_args(args, ["min", "max"]) {
        Ok(a) => a,
        Err(e) => return Ok(e),
    };
    let keys = keys.to_vec();
    attempt(ctx, view, &keys, timeout, |ctx, view, key| {
        let now = ctx.now_ms();
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        let popped = match ks.zset_mut(key, now, false) {
            Err(_) => return Ok(Served::Reply(super::wrongtype())),
            Ok(None) => return Ok(Served::Empty),
            Ok(Some(mut z)) => pop_members(&mut z, max, count as usize),
        };
        ks.remove_if_empty(key, now);
        let word: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        ks.propagate_as(vec![
            Bytes::from_static(word),
            key.clone(),
            Bytes::from(popped.len().to_string()),
        ]);
        Ok(Served::Reply(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Array(
                popped
                    .into_iter()
                    .map(|(s, m)| Frame::Array(vec![Frame::bulk(&m), score_frame(s)]))
                    .collect(),
            ),
        ])))
    })
}
