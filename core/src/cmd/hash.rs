//! Hash commands (Redis's `t_hash.c`): a key holding field → value pairs.
//!
//! Every command takes its one key's lock, so in shard mode hashes on
//! different shards never wait for each other. The value lives in a
//! [`Hash`], compact (a listpack) until it outgrows
//! `hash-max-listpack-entries` / `-value`, then a hash table for good;
//! HGETALL lists a compact hash in insertion order, as Redis does.
//!
//! Writers edit the hash in place through a [`ValueMut`] guard, which
//! notes the key (write signal, WATCH) only when something really changes;
//! a hash left empty is deleted, as Redis never keeps one.

use bytes::Bytes;

use super::keyspace::{parse_cursor, parse_scan_options, scan_steps};
use super::string::long_double::LongDouble;
use super::{int_arg, is_keyword, parse_i64, spec};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::glob::glob_match;
use crate::keyspace::{Hash, Keyspace, Value, ValueMut};
use crate::signal::words;
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | UPDATE)], "hash", "Set the string value of a hash field", "2.0.0", Handler::Write(hset)),
    spec("hmset", -4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | UPDATE)], "hash", "Set multiple hash fields to multiple values", "2.0.0", Handler::Write(hset)),
    spec("hsetnx", 4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | INSERT)], "hash", "Set the value of a hash field, only if the field does not exist", "2.0.0", Handler::Write(hsetnx)),
    spec("hget", 3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "hash", "Get the value of a hash field", "2.0.0", Handler::Read(hget)),
    spec("hmget", -3, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "hash", "Get the values of all the given hash fields", "2.0.0", Handler::Read(hmget)),
    spec("hgetall", 2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "hash", "Get all the fields and values in a hash", "2.0.0", Handler::Read(hgetall)).with_tips(&["nondeterministic_output_order"]),
    spec("hkeys", 2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "hash", "Get all the fields in a hash", "2.0.0", Handler::Read(hkeys)).with_tips(&["nondeterministic_output_order"]),
    spec("hvals", 2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "hash", "Get all the values in a hash", "2.0.0", Handler::Read(hvals)).with_tips(&["nondeterministic_output_order"]),
    spec("hdel", -3, WRITE | FAST, &[KeySpec::key(1, RW | DELETE)], "hash", "Delete one or more hash fields", "2.0.0", Handler::Write(hdel)),
    spec("hlen", 2, READONLY | FAST, &[KeySpec::key(1, RO)], "hash", "Get the number of fields in a hash", "2.0.0", Handler::Read(hlen)),
    spec("hstrlen", 3, READONLY | FAST, &[KeySpec::key(1, RO)], "hash", "Get the length of the value of a hash field", "3.2.0", Handler::Read(hstrlen)),
    spec("hexists", 3, READONLY | FAST, &[KeySpec::key(1, RO)], "hash", "Determine if a hash field exists", "2.0.0", Handler::Read(hexists)),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "hash", "Increment the integer value of a hash field by the given number", "2.0.0", Handler::Write(hincrby)),
    spec("hincrbyfloat", 4, WRITE | DENYOOM | FAST, &[KeySpec::key(1, RW | ACCESS | UPDATE)], "hash", "Increment the float value of a hash field by the given amount", "2.6.0", Handler::Write(hincrbyfloat)),
    spec("hrandfield", -2, READONLY, &[KeySpec::key(1, RO | ACCESS)], "hash", "Get one or multiple random fields from a hash", "6.2.0", Handler::Read(hrandfield)).with_tips(&["nondeterministic_output"]),
    spec("hscan", -3, READONLY, &[KeySpec::key(1, RO | ACCESS)], "hash", "Incrementally iterate hash fields and associated values", "2.8.0", Handler::Read(hscan)).with_tips(&["nondeterministic_output"]),
];

use super::wrongtype;

/// The hash at `key`: `Ok(None)` if there is no live key, `Err(WRONGTYPE)`
/// for another type.
pub(crate) fn hash_at<'a>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a Hash>, Frame> {
    super::typed_at(ks, key, now_ms, Value::as_hash)
}

/// Run `f` on the hash at `key` for reading: a missing key reads as an
/// empty hash, another type is WRONGTYPE.
fn read_hash(
    ctx: &Ctx<'_>,
    view: &ReadView<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Hash>) -> Frame,
) -> Result<Frame, KeyOutsidePlan> {
    super::read_typed(ctx, view, key, Value::as_hash, f)
}

/// HSET key field value [field value ...] (and HMSET, which replies OK):
/// the number of fields that were new.
fn hset(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    if args.len() % 2 == 1 {
        return Ok(error::wrong_arity(ctx.spec.name));
    }
    let (key, limits) = (&args[1], ctx.exec.config().limits());
    let mut ks = view.ks_mut(key)?;
    let Ok(Some(mut hash)) = ks.hash_mut(key, ctx.now_ms(), true) else {
        return Ok(wrongtype());
    };
    // Redis's hashTypeTryConversion: one long argument converts the hash
    // before anything is stored.
    let longest = args[2..].iter().map(|a| a.len()).max().unwrap_or(0);
    hash.fit(longest, &limits);
    let created = args[2..]
        .chunks_exact(2)
        .filter(|pair| hash.set(&pair[0], &pair[1], &limits))
        .count();
    Ok(if ctx.spec.name == "hmset" {
        Frame::ok()
    } else {
        Frame::Integer(created as i64)
    })
}

/// HSETNX key field value: 1 if the field was set, 0 if it existed.
fn hsetnx(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, field, value) = (&args[1], &args[2], &args[3]);
    let limits = ctx.exec.config().limits();
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    match hash_at(&ks, key, now) {
        Err(e) => return Ok(e),
        Ok(Some(hash)) if hash.get(field).is_some() => return Ok(Frame::Integer(0)),
        Ok(_) => {}
    }
    let Ok(Some(mut hash)) = ks.hash_mut(key, now, true) else {
        return Ok(wrongtype());
    };
    hash.fit(field.len().max(value.len()), &limits);
    hash.set(field, value, &limits);
    Ok(Frame::Integer(1))
}

/// HGET key field
fn hget(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::bulk_or_null(h.and_then(|h| h.get(&args[2])))
    })
}

/// HMGET key field [field ...]: a nil for each missing field.
fn hmget(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Array(
            args[2..]
                .iter()
                .map(|f| Frame::bulk_or_null(h.and_then(|h| h.get(f))))
                .collect(),
        )
    })
}

/// HGETALL key: a map in RESP3, fields and values alternating in RESP2.
fn hgetall(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Map(
            h.into_iter()
                .flat_map(|h| h.iter())
                .map(|(f, v)| (Frame::bulk(f), Frame::bulk(v)))
                .collect(),
        )
    })
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Array(
            h.into_iter()
                .flat_map(|h| h.iter())
                .map(|(f, _)| Frame::bulk(f))
                .collect(),
        )
    })
}

/// HVALS key
fn hvals(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Array(
            h.into_iter()
                .flat_map(|h| h.iter())
                .map(|(_, v)| Frame::bulk(v))
                .collect(),
        )
    })
}

/// HLEN key
fn hlen(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Integer(h.map_or(0, |h| h.len() as i64))
    })
}

/// HSTRLEN key field: 0 for a missing field or key.
fn hstrlen(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Integer(
            h.and_then(|h| h.get(&args[2]))
                .map_or(0, |v| v.len() as i64),
        )
    })
}

/// HEXISTS key field
fn hexists(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    read_hash(ctx, view, &args[1], |h| {
        Frame::Integer(i64::from(h.is_some_and(|h| h.get(&args[2]).is_some())))
    })
}

/// HDEL key field [field ...]: how many were removed; the key goes with
/// its last field.
fn hdel(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let now = ctx.now_ms();
    let mut ks = view.ks_mut(key)?;
    let mut removed = 0;
    match ks.hash_mut(key, now, false) {
        Err(_) => return Ok(wrongtype()),
        Ok(None) => return Ok(Frame::Integer(0)),
        Ok(Some(mut hash)) => {
            for field in &args[2..] {
                // Only a field that is there is worth a write (and a note).
                if hash.get(field).is_some() && hash.remove(field) {
                    removed += 1;
                    if hash.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    ks.remove_if_empty(key, now);
    Ok(Frame::Integer(removed))
}

/// The value of `field` in a hash being edited, as text.
fn field_value<'h>(hash: &'h Option<ValueMut<'_, Hash>>, field: &[u8]) -> Option<&'h [u8]> {
    hash.as_ref().and_then(|h| h.get(field))
}

/// HINCRBY key field increment
fn hincrby(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, field) = (&args[1], &args[2]);
    let by = match int_arg(&args[3]) {
        Ok(by) => by,
        Err(e) => return Ok(e),
    };
    let limits = ctx.exec.config().limits();
    let mut ks = view.ks_mut(key)?;
    let Ok(hash) = ks.hash_mut(key, ctx.now_ms(), true) else {
        return Ok(wrongtype());
    };
    let old = match field_value(&hash, field) {
        None => 0,
        Some(text) => match parse_i64(text) {
            Some(n) => n,
            None => return Ok(Frame::static_error("ERR hash value is not an integer")),
        },
    };
    let Some(new) = old.checked_add(by) else {
        return Ok(Frame::static_error(
            "ERR increment or decrement would overflow",
        ));
    };
    if let Some(mut hash) = hash {
        hash.set(field, new.to_string().as_bytes(), &limits);
    }
    Ok(Frame::Integer(new))
}

/// HINCRBYFLOAT key field increment: the sum as text, computed and printed
/// as INCRBYFLOAT does; propagated as `HSET key field <sum>`.
fn hincrbyfloat(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let (key, field) = (&args[1], &args[2]);
    let Some(by) = LongDouble::parse(&args[3]) else {
        return Ok(Frame::static_error(error::NOT_FLOAT));
    };
    if matches!(by, LongDouble::Infinite { .. }) {
        return Ok(Frame::static_error("ERR value is NaN or Infinity"));
    }
    let limits = ctx.exec.config().limits();
    let mut ks = view.ks_mut(key)?;
    let Ok(hash) = ks.hash_mut(key, ctx.now_ms(), true) else {
        return Ok(wrongtype());
    };
    let old = match field_value(&hash, field) {
        None => LongDouble::ZERO,
        Some(text) => match LongDouble::parse(text) {
            Some(n) => n,
            None => return Ok(Frame::static_error("ERR hash value is not a float")),
        },
    };
    let Some(sum) = old.checked_add(by) else {
        return Ok(Frame::static_error(error::NAN_OR_INFINITY));
    };
    let text = sum.to_human_string();
    if let Some(mut hash) = hash {
        hash.set(field, &text, &limits);
    }
    let text = Bytes::from(text);
    ks.propagate_as(vec![words::HSET, key.clone(), field.clone(), text.clone()]);
    Ok(Frame::Bulk(text))
}

/// HRANDFIELD key [count [WITHVALUES]]
///
/// Without a count: one field, or nil. With a positive count: that many
/// distinct fields (all of them if the hash is smaller); negative: exactly
/// |count| fields, repeats allowed. WITHVALUES pairs each with its value
/// (pairs of a two-element array in RESP3). Draws come from the command's
/// seeded random stream, so a capture replays them.
fn hrandfield(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let (count, with_values) = match args.len() {
        2 => (None, false),
        3 | 4 => {
            if args.len() == 4 && !is_keyword(&args[3], "withvalues") {
                return Ok(Frame::static_error(error::SYNTAX));
            }
            match int_arg(&args[2]) {
                Ok(n) if args.len() == 4 && n < -(i64::MAX / 2) => {
                    return Ok(Frame::static_error("ERR value is out of range"))
                }
                Ok(i64::MIN) => {
                    return Ok(Frame::static_error(
                        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                    ))
                }
                Ok(n) => (Some(n), args.len() == 4),
                Err(e) => return Ok(e),
            }
        }
        _ => return Ok(Frame::static_error(error::SYNTAX)),
    };
    let hash = match hash_at(view.ks(key)?, key, ctx.now_ms()) {
        Ok(h) => h,
        Err(e) => return Ok(e),
    };
    let rng = ctx.rng();
    let Some(count) = count else {
        return Ok(Frame::bulk_or_null(
            hash.and_then(|h| h.random(rng)).map(|(f, _)| f),
        ));
    };
    let Some(hash) = hash.filter(|h| !h.is_empty()) else {
        return Ok(Frame::Array(vec![]));
    };
    let picks: Vec<(&[u8], &[u8])> = if count < 0 {
        (0..count.unsigned_abs())
            .filter_map(|_| hash.random(rng))
            .collect()
    } else if count as u64 >= hash.len() as u64 {
        hash.iter().collect()
    } else {
        // Distinct fields: a partial Fisher-Yates over the positions.
        let mut positions: Vec<usize> = (0..hash.len()).collect();
        let count = count as usize;
        for i in 0..count {
            let j = i + rng.below((positions.len() - i) as u64) as usize;
            positions.swap(i, j);
        }
        let mut chosen = positions[..count].to_vec();
        chosen.sort_unstable();
        let all: Vec<(&[u8], &[u8])> = hash.iter().collect();
        chosen.into_iter().map(|i| all[i]).collect()
    };
    Ok(if with_values {
        Frame::Pairs(
            picks
                .into_iter()
                .map(|(f, v)| (Frame::bulk(f), Frame::bulk(v)))
                .collect(),
        )
    } else {
        Frame::Array(picks.into_iter().map(|(f, _)| Frame::bulk(f)).collect())
    })
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]: fields and values; a
/// compact hash comes whole in one call (cursor 0), a hash table a few
/// buckets at a time with SCAN's guarantee.
fn hscan(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    let Some(cursor) = parse_cursor(&args[2]) else {
        return Ok(Frame::static_error(error::INVALID_CURSOR));
    };
    let hash = match hash_at(view.ks(&args[1])?, &args[1], ctx.now_ms()) {
        Ok(Some(h)) => h,
        Ok(None) => return Ok(scan_reply(0, vec![])),
        Err(e) => return Ok(e),
    };
    let opts = match parse_scan_options(args, true) {
        Ok(o) => o,
        Err(e) => return Ok(e),
    };
    let mut found = Vec::new();
    let cursor = scan_steps(cursor, opts.count, 2, &mut found, |cursor, found| {
        hash.scan(cursor, |f, v| {
            if opts.pattern.is_none_or(|p| glob_match(p, f, false)) {
                found.push(Frame::bulk(f));
                found.push(Frame::bulk(v));
            }
        })
    });
    Ok(scan_reply(cursor, found))
}

/// `[cursor, [items]]`, the reply of every SCAN-family command.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(cursor.to_string().into()),
        Frame::Array(items),
    ])
}

#[cfg(test)]
mod tests;
