//! Counters: INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT.
//!
//! Redis has no number type: a counter is a string that parses as a
//! number. A missing key counts as 0. The result is stored as its text
//! (INCR `"007"` is an error, not 8: the stored text must be the canonical
//! form that `string2ll` accepts), and the key keeps its TTL.

use bytes::Bytes;

use super::long_double::LongDouble;
use super::string_at_mut;
use crate::cmd::{int_arg, parse_i64};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::Value;
use crate::signal::words::{KEEPTTL, SET};
use crate::store::{KeyOutsidePlan, WriteView};

/// INCR key
pub(super) fn incr(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    add_to_integer(ctx, view, &args[1], 1)
}

/// DECR key
pub(super) fn decr(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    add_to_integer(ctx, view, &args[1], -1)
}

/// INCRBY key increment
pub(super) fn incrby(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    match int_arg(&args[2]) {
        Ok(by) => add_to_integer(ctx, view, &args[1], by),
        Err(e) => Ok(e),
    }
}

/// DECRBY key decrement
pub(super) fn decrby(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    match int_arg(&args[2]) {
        Err(e) => Ok(e),
        // DECRBY adds the negated argument, and i64::MIN has no negation:
        // Redis 7 refuses it up front with an error of its own.
        Ok(i64::MIN) => Ok(Frame::static_error(error::DECREMENT_OVERFLOW)),
        Ok(by) => add_to_integer(ctx, view, &args[1], -by),
    }
}

/// Add `by` to the integer at `key` and reply with the sum.
fn add_to_integer(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    key: &Bytes,
    by: i64,
) -> Result<Frame, KeyOutsidePlan> {
    let mut ks = view.ks_mut(key)?;
    let current = match string_at_mut(&mut ks, key, ctx.now_ms()) {
        Ok(current) => current,
        Err(e) => return Ok(e),
    };
    let old = match current.as_deref() {
        None => 0,
        Some(text) => match parse_i64(text) {
            Some(old) => old,
            None => return Ok(Frame::static_error(error::NOT_INTEGER)),
        },
    };
    // Redis checks the same condition by hand before adding.
    let Some(new) = old.checked_add(by) else {
        return Ok(Frame::static_error(error::OVERFLOW));
    };
    let text = new.to_string().into_bytes();
    match current {
        Some(mut stored) => stored.assign(&text),
        None => ks.set(key, Value::String(text.into()), None),
    }
    Ok(Frame::Integer(new))
}

/// INCRBYFLOAT key increment: the sum as text (a bulk reply, not an
/// integer), computed and printed exactly as Redis does on x86-64; see
/// [`LongDouble`] for why that is not `f64`.
pub(super) fn incrbyfloat(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let mut ks = view.ks_mut(key)?;
    let current = match string_at_mut(&mut ks, key, ctx.now_ms()) {
        Ok(current) => current,
        Err(e) => return Ok(e),
    };
    // The stored value is parsed first, then the increment; either failing
    // gets the same error.
    let old = match current.as_deref() {
        None => Some(LongDouble::ZERO),
        Some(text) => LongDouble::parse(text),
    };
    let (Some(old), Some(by)) = (old, LongDouble::parse(&args[2])) else {
        return Ok(Frame::static_error(error::NOT_FLOAT));
    };
    let Some(sum) = old.checked_add(by) else {
        return Ok(Frame::static_error(error::NAN_OR_INFINITY));
    };
    let text = sum.to_human_string();
    let reply = Frame::bulk(&text);
    // Replaying the increment would redo the float arithmetic (on another
    // machine, maybe another long double): Redis propagates the result,
    // as `SET key <sum> KEEPTTL`.
    let rewritten = vec![SET, key.clone(), Bytes::copy_from_slice(&text), KEEPTTL];
    match current {
        Some(mut stored) => stored.assign(&text),
        None => ks.set(key, Value::String(text.into()), None),
    }
    ks.propagate_as(rewritten);
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use crate::testkit::*;

    const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    const OVERFLOW: &str = "ERR increment or decrement would overflow";
    const NOT_FLOAT: &str = "ERR value is not a valid float";
    const NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";

    #[test]
    fn incr_decr_count_from_zero_and_store_text() {
        check_all_modes(&[
            (&["INCR", "n"], int(1)),
            (&["INCR", "n"], int(2)),
            (&["DECR", "n"], int(1)),
            (&["DECR", "m"], int(-1)),
            (&["INCRBY", "n", "10"], int(11)),
            (&["INCRBY", "n", "-20"], int(-9)),
            (&["DECRBY", "n", "-9"], int(0)),
            (&["DECRBY", "n", "5"], int(-5)),
            (&["GET", "n"], bulk("-5")),
            (&["SET", "n", "41"], ok()),
            (&["INCR", "n"], int(42)),
            (&["GET", "n"], bulk("42")),
            (
                &["INCR"],
                err("ERR wrong number of arguments for 'incr' command"),
            ),
            (
                &["INCRBY", "n"],
                err("ERR wrong number of arguments for 'incrby' command"),
            ),
        ]);
    }

    #[test]
    fn incr_rejects_what_string2ll_rejects() {
        // Checked against redis-server 7.0.15.
        for bad in [
            " 1",
            "1 ",
            "1.0",
            "007",
            "+1",
            "-0",
            "",
            "abc",
            "9223372036854775808",
        ] {
            check_all_modes(&[
                (&["SET", "k", bad], ok()),
                (&["INCR", "k"], err(NOT_INTEGER)),
                (&["GET", "k"], bulk(bad)),
            ]);
        }
        check_all_modes(&[
            (&["INCRBY", "k", "abc"], err(NOT_INTEGER)),
            (&["INCRBY", "k", "01"], err(NOT_INTEGER)),
            (&["INCRBY", "k", "1.5"], err(NOT_INTEGER)),
            (&["DECRBY", "k", "x"], err(NOT_INTEGER)),
            (&["EXISTS", "k"], int(0)),
        ]);
        for mut db in TestDb::all_modes() {
            db.cmd_bytes(&[b"SET", b"k", b"1\x00"]);
            assert_eq!(db.cmd(&["INCR", "k"]), err(NOT_INTEGER));
        }
    }

    #[test]
    fn overflow_is_refused_and_changes_nothing() {
        check_all_modes(&[
            (&["SET", "k", "9223372036854775807"], ok()),
            (&["INCR", "k"], err(OVERFLOW)),
            (&["INCRBY", "k", "0"], int(i64::MAX)),
            (&["SET", "k", "-9223372036854775808"], ok()),
            (&["DECR", "k"], err(OVERFLOW)),
            (&["GET", "k"], bulk("-9223372036854775808")),
            (&["SET", "k", "-2"], ok()),
            (&["DECRBY", "k", "9223372036854775807"], err(OVERFLOW)),
            (&["DECRBY", "k", "9223372036854775806"], int(i64::MIN)),
            (
                &["DECRBY", "k", "-9223372036854775808"],
                err("ERR decrement would overflow"),
            ),
            (&["INCRBY", "k", "-9223372036854775808"], err(OVERFLOW)),
            (&["SET", "k", "0"], ok()),
            (&["INCRBY", "k", "-9223372036854775808"], int(i64::MIN)),
            (
                &["DECRBY", "missing", "-9223372036854775808"],
                err("ERR decrement would overflow"),
            ),
            (&["EXISTS", "missing"], int(0)),
        ]);
    }

    #[test]
    fn counters_keep_the_ttl() {
        for mut db in TestDb::all_modes() {
            db.cmd(&["SET", "k", "1", "EX", "100"]);
            assert_eq!(db.cmd(&["INCR", "k"]), int(2));
            assert_eq!(db.cmd(&["DECRBY", "k", "3"]), int(-1));
            assert_eq!(db.cmd(&["INCRBYFLOAT", "k", "1.5"]), bulk("0.5"));
            assert_eq!(db.cmd(&["TTL", "k"]), int(100));
            db.advance_ms(100_001);
            assert_eq!(
                db.cmd(&["INCR", "k"]),
                int(1),
                "an expired counter restarts at 0"
            );
            assert_eq!(db.cmd(&["TTL", "k"]), int(-1));
        }
    }

    #[test]
    fn incrbyfloat_matches_redis_digit_for_digit() {
        // Each reply taken from redis-server 7.0.15 on x86-64.
        check_all_modes(&[
            (&["INCRBYFLOAT", "f", "1"], bulk("1")),
            (&["INCRBYFLOAT", "f", "0.25"], bulk("1.25")),
            (&["SET", "f", "10.50"], ok()),
            (&["INCRBYFLOAT", "f", "0.1"], bulk("10.6")),
            (&["INCRBYFLOAT", "f", "-5"], bulk("5.6")),
            (&["SET", "f", "5.0e3"], ok()),
            (&["INCRBYFLOAT", "f", "2.0e2"], bulk("5200")),
            (&["GET", "f"], bulk("5200")),
            (&["SET", "f", "0.1"], ok()),
            (&["INCRBYFLOAT", "f", "0.2"], bulk("0.3")),
            (&["SET", "f", "200"], ok()),
            (&["INCRBYFLOAT", "f", "0.1"], bulk("200.10000000000000001")),
            (&["SET", "f", "5000.1"], ok()),
            (&["INCRBYFLOAT", "f", "2"], bulk("5002.10000000000000009")),
            (&["SET", "f", "1.5e-3"], ok()),
            (&["INCRBYFLOAT", "f", "0"], bulk("0.0015")),
            (&["SET", "f", "1"], ok()),
            (&["INCRBYFLOAT", "f", "1e-20"], bulk("1")),
            (&["SET", "f", "0x1p3"], ok()),
            (&["INCRBYFLOAT", "f", "0x.8"], bulk("8.5")),
            (&["SET", "f", "-0.0"], ok()),
            (&["INCRBYFLOAT", "f", "-1e-30"], bulk("0")),
            (&["SET", "f", "10"], ok()),
            (&["INCRBYFLOAT", "f", "-10"], bulk("0")),
            (&["INCRBYFLOAT", "f", "1."], bulk("1")),
            (&["INCRBYFLOAT", "f", ".5"], bulk("1.5")),
            (&["INCRBYFLOAT", "f", "+.5e1"], bulk("6.5")),
            (&["SET", "f", "17179869184"], ok()),
            (&["INCRBYFLOAT", "f", "1.5"], bulk("17179869185.5")),
            (
                &["INCRBYFLOAT", "f"],
                err("ERR wrong number of arguments for 'incrbyfloat' command"),
            ),
        ]);
    }

    #[test]
    fn incrbyfloat_errors() {
        check_all_modes(&[
            (&["SET", "f", "1"], ok()),
            (&["INCRBYFLOAT", "f", " 1"], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "1 "], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "abc"], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", ""], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "nan"], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "."], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "1e"], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "1e5000"], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "inf"], err(NAN_OR_INFINITY)),
            (&["INCRBYFLOAT", "f", "-Infinity"], err(NAN_OR_INFINITY)),
            (&["GET", "f"], bulk("1")),
            (&["SET", "f", "1e-4960"], ok()),
            (&["INCRBYFLOAT", "f", "0"], err(NOT_FLOAT)),
            (&["SET", "f", "abc"], ok()),
            (&["INCRBYFLOAT", "f", "xyz"], err(NOT_FLOAT)),
            (&["INCRBYFLOAT", "f", "inf"], err(NOT_FLOAT)),
            (&["SET", "f", "1e4932"], ok()),
            (&["INCRBYFLOAT", "f", "1e4932"], err(NAN_OR_INFINITY)),
            (&["INCRBYFLOAT", "missing", "inf"], err(NAN_OR_INFINITY)),
            (&["EXISTS", "missing"], int(0)),
        ]);
        for mut db in TestDb::all_modes() {
            db.cmd_bytes(&[b"SET", b"f", b"1\x002"]);
            assert_eq!(db.cmd(&["INCRBYFLOAT", "f", "1"]), err(NOT_FLOAT));
        }
    }
}
