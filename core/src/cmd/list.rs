//! List commands (Redis 7.0's `t_list.c`), without the blocking pops.
//!
//! A list is a quicklist ([`List`]): pushes and pops at either end are
//! O(1), indexing walks the nodes. Every command locks the keys its key
//! specs name, so LMOVE between two shards, or LMPOP over several, is
//! atomic in every mode. A list left empty is deleted, as Redis never
//! keeps one.

use bytes::Bytes;

use super::{int_arg, is_keyword, spec};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Keyspace, List, Value};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("lpush", -3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "list", "Prepend one or multiple elements to a list", "1.0.0", Handler::Write(push)),
    spec("rpush", -3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "list", "Append one or multiple elements to a list", "1.0.0", Handler::Write(push)),
    spec("lpushx", -3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "list", "Prepend an element to a list, only if the list exists", "2.2.0", Handler::Write(push)),
    spec("rpushx", -3, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "list", "Append an element to a list, only if the list exists", "2.2.0", Handler::Write(push)),
    spec("lpop", -2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "list", "Remove and get the first elements in a list", "1.0.0", Handler::Write(pop)),
    spec("rpop", -2, WRITE | FAST, &[KeySpec::key(1, RW | ACCESS | DELETE)], "list", "Remove and get the last elements in a list", "1.0.0", Handler::Write(pop)),
    spec("llen", 2, READONLY | FAST, &[KeySpec::key(1, RO)], "list", "Get the length of a list", "1.0.0", Handler::Read(llen)),
    spec("lrange", 4, READONLY, &[KeySpec::key(1, RO | ACCESS)], "list", "Get a range of elements from a list", "1.0.0", Handler::Read(lrange)),
    spec("lindex", 3, READONLY, &[KeySpec::key(1, RO | ACCESS)], "list", "Get an element from a list by its index", "1.0.0", Handler::Read(lindex)),
    spec("lset", 4, WRITE | DENYOOM, &[KeySpec::key(1, RW | UPDATE)], "list", "Set the value of an element in a list by its index", "1.0.0", Handler::Write(lset)),
    spec("linsert", 5, WRITE | DENYOOM, &[KeySpec::key(1, RW | INSERT)], "list", "Insert an element before or after another element in a list", "2.2.0", Handler::Write(linsert)),
    spec("lrem", 4, WRITE, &[KeySpec::key(1, RW | DELETE)], "list", "Remove elements from a list", "1.0.0", Handler::Write(lrem)),
    spec("ltrim", 4, WRITE, &[KeySpec::key(1, RW | DELETE)], "list", "Trim a list to the specified range", "1.0.0", Handler::Write(ltrim)),
    spec("lpos", -3, READONLY, &[KeySpec::key(1, RO | ACCESS)], "list", "Return the index of matching elements on a list", "6.0.6", Handler::Read(lpos)),
    spec("lmove", 5, WRITE | DENYOOM, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, RW | INSERT)], "list", "Pop an element from a list, push it to another list and return it", "6.2.0", Handler::Write(lmove)),
    spec("rpoplpush", 3, WRITE | DENYOOM, &[KeySpec::key(1, RW | ACCESS | DELETE), KeySpec::key(2, RW | INSERT)], "list", "Remove the last element in a list, prepend it to another list and return it", "1.2.0", Handler::Write(lmove)),
    spec("lmpop", -4, WRITE, &[KeySpec::index(1).keynum(0, 1, 1).flags(RW | ACCESS | DELETE)], "list", "Pop elements from a list", "7.0.0", Handler::Write(lmpop)),
];

use super::wrongtype;

/// The list at `key`: `Ok(None)` if missing, `Err(WRONGTYPE)` for another
/// type.
pub(super) fn list_at<'a>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a List>, Frame> {
    super::typed_at(ks, key, now_ms, Value::as_list)
}

/// A Redis list index (negative from the tail) as a position, if inside.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

/// Which end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Head,
    Tail,
}

pub(super) fn end_arg(arg: &[u8]) -> Option<End> {
    if is_keyword(arg, "left") {
        Some(End::Head)
    } else if is_keyword(arg, "right") {
        Some(End::Tail)
    } else {
        None
    }
}

/// LPUSH / RPUSH key element [element ...] and the X forms (only onto an
/// existing list): the new length.
fn push(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let name = ctx.spec.name;
    let (head, only_existing) = (name.starts_with('l'), name.ends_with('x'));
    let limit = ctx.exec.config().limits().list_node;
    let mut ks = view.ks_mut(key)?;
    let mut list = match ks.list_mut(key, ctx.now_ms(), !only_existing) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(list)) => list,
    };
    for element in &args[2..] {
        if head {
            list.push_front(element, limit);
        } else {
            list.push_back(element, limit);
        }
    }
    Ok(Frame::Integer(list.len() as i64))
}

/// LPOP / RPOP key [count]: one element (or nil), or with a count an array
/// of up to `count` (nil for a missing key).
fn pop(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let end = if ctx.spec.name == "lpop" {
        End::Head
    } else {
        End::Tail
    };
    let count = match args.len() {
        2 => None,
        3 => match int_arg(&args[2]) {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => {
                return Ok(Frame::static_error(
                    "ERR value is out of range, must be positive",
                ))
            }
        },
        _ => return Ok(error::wrong_arity(ctx.spec.name)),
    };
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let popped = match ks.list_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => {
            return Ok(if count.is_some() {
                Frame::NullArray
            } else {
                Frame::Null
            })
        }
        Ok(Some(_)) if count == Some(0) => return Ok(Frame::Array(vec![])),
        Ok(Some(mut list)) => pop_n(&mut list, end, count.unwrap_or(1)),
    };
    ks.remove_if_empty(key, now);
    Ok(match count {
        None => Frame::bulk_or_null(popped.first().map(Vec::as_slice)),
        Some(_) => Frame::Array(popped.iter().map(|e| Frame::bulk(e)).collect()),
    })
}

/// Up to `n` elements popped from `end`, in the order popped.
pub(super) fn pop_n(list: &mut List, end: End, n: u64) -> Vec<Vec<u8>> {
    let n = n.min(list.len() as u64) as usize;
    (0..n)
        .filter_map(|_| match end {
            End::Head => list.pop_front(),
            End::Tail => list.pop_back(),
        })
        .collect()
}

fn read_list(
    ctx: &Ctx<'_>,
    view: &ReadView<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&List>) -> Frame,
) -> Result<Frame, KeyOutsidePlan> {
    super::read_typed(ctx, view, key, Value::as_list, f)
}

/// LLEN key
fn llen(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_list(ctx, view, &args[1], |l| {
        Frame::Integer(l.map_or(0, |l| l.len() as i64))
    })
}

/// LRANGE key start stop (inclusive, negative from the tail).
fn lrange(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let (start, stop) = match (int_arg(&args[2]), int_arg(&args[3])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Ok(e),
    };
    read_list(ctx, view, &args[1], |l| {
        let Some(l) = l else {
            return Frame::Array(vec![]);
        };
        match clamp_range(start, stop, l.len()) {
            Some((a, b)) => Frame::Array(l.range(a, b).into_iter().map(Frame::bulk).collect()),
            None => Frame::Array(vec![]),
        }
    })
}

/// Redis's range rule (LRANGE, LTRIM): negative indexes from the tail,
/// start clamped to 0, end to the last element; `None` when empty.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut stop = if stop < 0 { len + stop } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

/// LINDEX key index
fn lindex(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    // Redis looks the key up first: a missing key is nil and another
    // type WRONGTYPE, whatever the index says.
    read_list(ctx, view, &args[1], |l| match (l, int_arg(&args[2])) {
        (None, _) => Frame::Null,
        (Some(_), Err(e)) => e,
        (Some(l), Ok(index)) => {
            Frame::bulk_or_null(position(index, l.len()).and_then(|i| l.get(i)))
        }
    })
}

/// LSET key index element
fn lset(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let mut ks = view.ks_mut(key)?;
    // The key first, then the index, as Redis checks them.
    Ok(match ks.list_mut(key, ctx.now_ms(), false) {
        Err(_) => wrongtype(),
        Ok(None) => Frame::static_error(error::NO_SUCH_KEY),
        Ok(Some(_)) if int_arg(&args[2]).is_err() => int_arg(&args[2]).unwrap_err(),
        Ok(Some(mut list)) => match int_arg(&args[2]).ok().and_then(|i| position(i, list.len())) {
            Some(i) => {
                list.set(i, &args[3]);
                Frame::ok()
            }
            None => Frame::static_error("ERR index out of range"),
        },
    })
}

/// Rebuild `list` from `elements` (LINSERT, LREM, LTRIM: O(n), as in
/// Redis, which moves the elements after the change).
fn rebuild(list: &mut List, elements: Vec<Vec<u8>>, limit: crate::keyspace::NodeLimit) {
    *list = List::from_elements(elements.iter().map(Vec::as_slice), limit);
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 if the
/// pivot is not there, 0 if the key is missing.
fn linsert(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let after = if is_keyword(&args[2], "after") {
        true
    } else if is_keyword(&args[2], "before") {
        false
    } else {
        return Ok(Frame::static_error(error::SYNTAX));
    };
    let (pivot, element) = (&args[3], &args[4]);
    let limit = ctx.exec.config().limits().list_node;
    let mut ks = view.ks_mut(key)?;
    let list = match ks.list_mut(key, ctx.now_ms(), false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(list)) => list,
    };
    let Some(at) = list.iter().position(|e| e == &pivot[..]) else {
        return Ok(Frame::Integer(-1));
    };
    let mut elements: Vec<Vec<u8>> = list.iter().map(<[u8]>::to_vec).collect();
    elements.insert(if after { at + 1 } else { at }, element.to_vec());
    let mut list = list;
    rebuild(&mut list, elements, limit);
    Ok(Frame::Integer(list.len() as i64))
}

/// LREM key count element: remove up to |count| matches from the head
/// (count > 0), the tail (count < 0), or all (0).
fn lrem(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let count = match int_arg(&args[2]) {
        Ok(n) => n,
        Err(e) => return Ok(e),
    };
    let element = &args[3][..];
    let limit = ctx.exec.config().limits().list_node;
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let removed = match ks.list_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(list)) => {
            let max = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut elements: Vec<Vec<u8>> = list.iter().map(<[u8]>::to_vec).collect();
            let mut removed = 0;
            let matches: Vec<usize> = if count >= 0 {
                elements
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| *e == element)
                    .map(|(i, _)| i)
                    .take(max)
                    .collect()
            } else {
                elements
                    .iter()
                    .enumerate()
                    .rev()
                    .filter(|(_, e)| *e == element)
                    .map(|(i, _)| i)
                    .take(max)
                    .collect()
            };
            if !matches.is_empty() {
                let drop: std::collections::BTreeSet<usize> = matches.into_iter().collect();
                removed = drop.len();
                let mut i = 0;
                elements.retain(|_| {
                    let keep = !drop.contains(&i);
                    i += 1;
                    keep
                });
                let mut list = list;
                rebuild(&mut list, elements, limit);
            }
            removed
        }
    };
    ks.remove_if_empty(key, now);
    Ok(Frame::Integer(removed as i64))
}

/// LTRIM key start stop: keep only that range (the key goes if empty).
fn ltrim(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let (start, stop) = match (int_arg(&args[2]), int_arg(&args[3])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Ok(e),
    };
    let limit = ctx.exec.config().limits().list_node;
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    match ks.list_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::ok()),
        Ok(Some(list)) => {
            let keep = clamp_range(start, stop, list.len());
            // Trimming nothing is no change (Redis signals anyway, and so
            // do we: it always calls signalModifiedKey).
            let elements: Vec<Vec<u8>> = match keep {
                Some((a, b)) => list.range(a, b).into_iter().map(<[u8]>::to_vec).collect(),
                None => Vec::new(),
            };
            let mut list = list;
            rebuild(&mut list, elements, limit);
        }
    }
    ks.remove_if_empty(key, now);
    Ok(Frame::ok())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<u64>, 0u64);
    let mut i = 3;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Ok(Frame::static_error(error::SYNTAX));
        };
        let n = match int_arg(value) {
            Ok(n) => n,
            Err(e) => return Ok(e),
        };
        if is_keyword(&args[i], "rank") {
            if n == 0 {
                return Ok(Frame::static_error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            rank = n;
        } else if is_keyword(&args[i], "count") {
            if n < 0 {
                return Ok(Frame::static_error("ERR COUNT can't be negative"));
            }
            count = Some(n as u64);
        } else if is_keyword(&args[i], "maxlen") {
            if n < 0 {
                return Ok(Frame::static_error("ERR MAXLEN can't be negative"));
            }
            maxlen = n as u64;
        } else {
            return Ok(Frame::static_error(error::SYNTAX));
        }
        i += 2;
    }
    let element = &args[2][..];
    read_list(ctx, view, &args[1], |l| {
        let Some(l) = l else {
            return if count.is_some() {
                Frame::Array(vec![])
            } else {
                Frame::Null
            };
        };
        let len = l.len();
        let wanted = match count {
            Some(0) => usize::MAX,
            Some(n) => n as usize,
            None => 1,
        };
        // Redis 7.0 negates the rank in C: -LLONG_MIN wraps to itself, a
        // negative rank every match reaches, so it acts as -1.
        let mut skip = if rank == i64::MIN {
            0
        } else {
            rank.unsigned_abs() - 1
        };
        let mut found = Vec::new();
        let limit = if maxlen == 0 {
            usize::MAX
        } else {
            maxlen as usize
        };
        let mut visit = |index: usize, e: &[u8]| {
            if e == element {
                if skip > 0 {
                    skip -= 1;
                } else {
                    found.push(index);
                }
            }
            found.len() < wanted
        };
        if rank > 0 {
            for (i, e) in l.iter().enumerate().take(limit) {
                if !visit(i, e) {
                    break;
                }
            }
        } else {
            for (n, e) in l.iter().rev().enumerate().take(limit) {
                if !visit(len - 1 - n, e) {
                    break;
                }
            }
        }
        match count {
            Some(_) => Frame::Array(
                found
                    .into_iter()
                    .map(|i| Frame::Integer(i as i64))
                    .collect(),
            ),
            None => found
                .first()
                .map_or(Frame::Null, |&i| Frame::Integer(i as i64)),
        }
    })
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT and RPOPLPUSH source
/// destination: the element moved, or nil. Both keys are locked, so the
/// element is never in both lists or in neither.
fn lmove(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (src, dst) = (&args[1], &args[2]);
    let (from, to) = if ctx.spec.name == "rpoplpush" {
        (End::Tail, End::Head)
    } else {
        match (end_arg(&args[3]), end_arg(&args[4])) {
            (Some(a), Some(b)) => (a, b),
            _ => return Ok(Frame::static_error(error::SYNTAX)),
        }
    };
    move_element(ctx, view, src, dst, from, to)
}

/// LMOVE's work once its arguments are parsed (BLMOVE serves with it too):
/// the element moved, or nil for a missing source.
pub(super) fn move_element(
    ctx: &Ctx<'_>,
    view: &mut WriteView<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Frame, KeyOutsidePlan> {
    let now = ctx.now_ms();
    let limit = ctx.exec.config().limits().list_node;
    {
        let mut ks = view.ks_mut(src)?;
        ks.lookup(src, now);
        match list_at(&ks, src, now) {
            Err(e) => return Ok(e),
            Ok(None) => return Ok(Frame::Null),
            Ok(Some(_)) => {}
        }
    }
    {
        let mut ks = view.ks_mut(dst)?;
        ks.lookup(dst, now);
        if let Err(e) = list_at(&ks, dst, now) {
            return Ok(e);
        }
    }
    let element = {
        let mut ks = view.ks_mut(src)?;
        match ks.list_mut(src, now, false) {
            Ok(Some(mut list)) => pop_n(&mut list, from, 1).pop(),
            _ => None,
        }
    };
    let Some(element) = element else {
        return Ok(Frame::Null);
    };
    {
        let mut ks = view.ks_mut(dst)?;
        if let Ok(Some(mut list)) = ks.list_mut(dst, now, true) {
            match to {
                End::Head => list.push_front(&element, limit),
                End::Tail => list.push_back(&element, limit),
            }
        }
    }
    // The source goes only now, after the push, as in Redis: a list
    // rotated onto itself (source = destination) with one element keeps
    // its key, and so its TTL.
    view.ks_mut(src)?.remove_if_empty(src, now);
    Ok(Frame::Bulk(element.into()))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pop from the
/// first non-empty list: `[key, [elements]]`, or nil. Propagated as
/// `LPOP|RPOP key count`, as Redis does.
fn lmpop(
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
    let Some(end) = rest.first().and_then(|a| end_arg(a)) else {
        return Ok(Frame::static_error(error::SYNTAX));
    };
    let mut count = 1u64;
    match &rest[1..] {
        [] => {}
        [opt, n] if is_keyword(opt, "count") => match int_arg(n) {
            Ok(n) if n > 0 => count = n as u64,
            _ => return Ok(Frame::static_error("ERR count should be greater than 0")),
        },
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    }
    let now = ctx.now_ms();
    for key in keys {
        let mut ks = view.ks_mut(key)?;
        ks.lookup(key, now);
        let popped = match ks.list_mut(key, now, false) {
            Err(_) => return Ok(wrongtype()),
            Ok(None) => continue,
            Ok(Some(mut list)) => pop_n(&mut list, end, count),
        };
        ks.remove_if_empty(key, now);
        let word = if end == End::Head { "LPOP" } else { "RPOP" };
        ks.propagate_as(vec![
            Bytes::from_static(word.as_bytes()),
            key.clone(),
            Bytes::from(popped.len().to_string()),
        ]);
        return Ok(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Array(popped.iter().map(|e| Frame::bulk(e)).collect()),
        ]));
    }
    Ok(Frame::NullArray)
}

#[cfg(test)]
mod tests;
