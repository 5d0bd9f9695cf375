//! Expiry commands (Redis's `expire.c`): EXPIRE, PEXPIRE, EXPIREAT,
//! PEXPIREAT set a key's deadline; TTL, PTTL, EXPIRETIME, PEXPIRETIME read
//! it; PERSIST removes it.
//!
//! A deadline is stored as an absolute Unix time in milliseconds, whatever
//! the command's unit. Relative commands add the clock reading of the
//! command (`ctx.now_ms()`, injected by the shell), which is why a replayed
//! session expires the same keys at the same step. The key then disappears
//! lazily or actively (see [`crate::keyspace`]).

use bytes::Bytes;

use super::{int_arg, is_keyword, spec};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::signal::number;
use crate::signal::words::{DEL, PEXPIREAT};
use crate::store::{KeyOutsidePlan, ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("expire", -3, WRITE | FAST, &[KeySpec::key(1, RW | UPDATE)], "generic", "Set a key's time to live in seconds", "1.0.0", Handler::Write(expire)),
    spec("pexpire", -3, WRITE | FAST, &[KeySpec::key(1, RW | UPDATE)], "generic", "Set a key's time to live in milliseconds", "2.6.0", Handler::Write(pexpire)),
    spec("expireat", -3, WRITE | FAST, &[KeySpec::key(1, RW | UPDATE)], "generic", "Set the expiration for a key as a UNIX timestamp", "1.2.0", Handler::Write(expireat)),
    spec("pexpireat", -3, WRITE | FAST, &[KeySpec::key(1, RW | UPDATE)], "generic", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", Handler::Write(pexpireat)),
    spec("ttl", 2, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "generic", "Get the time to live for a key in seconds", "1.0.0", Handler::Read(ttl)).with_tips(&["nondeterministic_output"]),
    spec("pttl", 2, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "generic", "Get the time to live for a key in milliseconds", "2.6.0", Handler::Read(pttl)).with_tips(&["nondeterministic_output"]),
    spec("expiretime", 2, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "generic", "Get the expiration Unix timestamp for a key", "7.0.0", Handler::Read(expiretime)),
    spec("pexpiretime", 2, READONLY | FAST, &[KeySpec::key(1, RO | ACCESS)], "generic", "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", Handler::Read(pexpiretime)),
    spec("persist", 2, WRITE | FAST, &[KeySpec::key(1, RW | UPDATE)], "generic", "Remove the expiration from a key", "2.2.0", Handler::Write(persist)),
];

/// The unit of EXPIRE-family arguments and of TTL-family replies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// Whether the EXPIRE-family argument counts from now or from the epoch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Now,
    Epoch,
}

/// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    expire_generic(ctx, view, args, Base::Now, Unit::Seconds)
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    expire_generic(ctx, view, args, Base::Now, Unit::Millis)
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
fn expireat(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    expire_generic(ctx, view, args, Base::Epoch, Unit::Seconds)
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
fn pexpireat(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    expire_generic(ctx, view, args, Base::Epoch, Unit::Millis)
}

/// The conditions of Redis 7.0's EXPIRE options.
#[derive(Default)]
struct Conditions {
    /// NX: only if the key has no deadline.
    nx: bool,
    /// XX: only if the key has a deadline.
    xx: bool,
    /// GT: only if the new deadline is later (no deadline counts as
    /// infinitely late, so GT never applies to a persistent key).
    gt: bool,
    /// LT: only if the new deadline is earlier (a persistent key: always).
    lt: bool,
}

/// Parse the options after the time argument, as Redis's
/// `parseExtendedExpireArgumentsOrReply`: any order, repeats allowed, then
/// the incompatible combinations are rejected.
fn parse_conditions(options: &[Bytes]) -> Result<Conditions, Frame> {
    let mut c = Conditions::default();
    for opt in options {
        if is_keyword(opt, "nx") {
            c.nx = true;
        } else if is_keyword(opt, "xx") {
            c.xx = true;
        } else if is_keyword(opt, "gt") {
            c.gt = true;
        } else if is_keyword(opt, "lt") {
            c.lt = true;
        } else {
            return Err(error::unsupported_option(opt));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(Frame::static_error(error::EXPIRE_NX_AND_OTHERS));
    }
    if c.gt && c.lt {
        return Err(Frame::static_error(error::EXPIRE_GT_AND_LT));
    }
    Ok(c)
}

impl Conditions {
    /// May the deadline `when` replace `current` (`None`: persistent)?
    fn allow(&self, current: Option<i64>, when: i64) -> bool {
        match current {
            None => !(self.xx || self.gt),
            Some(current) => {
                !(self.nx || (self.gt && when <= current) || (self.lt && when >= current))
            }
        }
    }
}

/// Redis's `expireGenericCommand`.
///
/// Negative times are allowed (only overflow is an error): a deadline that
/// is not in the future deletes the key at once and replies 1, as if it had
/// been set and had expired (Redis's `checkAlreadyExpired`). The order of
/// checks is Redis's, so the same bad command gets the same error: options
/// first, then the number, then the overflow, then the key.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
    base: Base,
    unit: Unit,
) -> Result<Frame, KeyOutsidePlan> {
    let conditions = match parse_conditions(&args[3..]) {
        Ok(c) => c,
        Err(e) => return Ok(e),
    };
    let n = match int_arg(&args[2]) {
        Ok(n) => n,
        Err(e) => return Ok(e),
    };
    let now = i64::try_from(ctx.now_ms()).unwrap_or(i64::MAX);
    let basetime = if base == Base::Now { now } else { 0 };
    let ms = match unit {
        Unit::Seconds => n.checked_mul(1000),
        Unit::Millis => Some(n),
    };
    // Redis rejects only `when > LLONG_MAX - basetime`; with basetime >= 0
    // and n >= LLONG_MIN / 1000 * 1000 the sum cannot underflow, so
    // `checked_add` fails exactly where Redis reports the error.
    let Some(when) = ms.and_then(|ms| ms.checked_add(basetime)) else {
        return Ok(error::invalid_expire(ctx.spec.name));
    };
    let key = &args[1];
    let mut ks = view.ks_mut(key)?;
    let Some(entry) = ks.lookup(key, ctx.now_ms()) else {
        return Ok(Frame::Integer(0));
    };
    // Deadlines are stored as u64 but always fit an i64 (every command that
    // sets one checks it), so this conversion never saturates in practice.
    let current = entry
        .expire_at()
        .map(|at| i64::try_from(at).unwrap_or(i64::MAX));
    if !conditions.allow(current, when) {
        return Ok(Frame::Integer(0));
    }
    if when <= now {
        ks.remove(key, ctx.now_ms());
        ks.propagate_as(vec![DEL, key.clone()]);
    } else {
        // `when > now >= 0` here, so the conversion is lossless.
        ks.set_expire(key, Some(when as u64), ctx.now_ms());
        // Relative times and seconds are propagated as the absolute
        // deadline in ms (Redis rewrites argv[0] and argv[2] only, so the
        // NX/XX/GT/LT options stay); PEXPIREAT already is one.
        if ctx.spec.name != "pexpireat" {
            let mut argv = Vec::with_capacity(args.len());
            argv.extend([PEXPIREAT, key.clone(), number(when as u64)]);
            argv.extend(args[3..].iter().cloned());
            ks.propagate_as(argv);
        }
    }
    Ok(Frame::Integer(1))
}

/// TTL key: seconds left, -1 without a deadline, -2 without a key.
fn ttl(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    ttl_generic(ctx, view, args, Unit::Seconds, Base::Now)
}

/// PTTL key: milliseconds left.
fn pttl(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Result<Frame, KeyOutsidePlan> {
    ttl_generic(ctx, view, args, Unit::Millis, Base::Now)
}

/// EXPIRETIME key: the deadline as Unix seconds.
fn expiretime(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    ttl_generic(ctx, view, args, Unit::Seconds, Base::Epoch)
}

/// PEXPIRETIME key: the deadline as Unix milliseconds.
fn pexpiretime(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    ttl_generic(ctx, view, args, Unit::Millis, Base::Epoch)
}

/// Redis's `ttlGenericCommand`.
///
/// Seconds are *rounded*, not truncated: `(ms + 500) / 1000`. Right after
/// `EXPIRE k 10` a few milliseconds have passed, and truncation would show
/// 9; rounding shows the 10 the client just set, and a key with 400 ms left
/// shows 0 rather than pretending a whole second remains.
fn ttl_generic(
    ctx: &mut Ctx<'_>,
    view: &ReadView<'_>,
    args: &[Bytes],
    unit: Unit,
    base: Base,
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let now = ctx.now_ms();
    let Some(entry) = view.ks(key)?.peek(key, now) else {
        return Ok(Frame::Integer(-2));
    };
    let Some(at) = entry.expire_at() else {
        return Ok(Frame::Integer(-1));
    };
    // A live key has `at >= now`, so the difference is never negative.
    let ms = match base {
        Base::Now => at.saturating_sub(now),
        Base::Epoch => at,
    };
    // In u64, so a deadline near i64::MAX rounds up instead of overflowing
    // (Redis 7.0 replies 9223372036854776 for EXPIRETIME of such a key).
    let value = match unit {
        Unit::Millis => ms,
        Unit::Seconds => ms.saturating_add(500) / 1000,
    };
    Ok(Frame::Integer(i64::try_from(value).unwrap_or(i64::MAX)))
}

/// PERSIST key: 1 if a deadline was removed, 0 if the key is missing or
/// had none.
fn persist(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let key = &args[1];
    let now = ctx.now_ms();
    // True only if the key is live and had a deadline: otherwise nothing
    // changed and nothing is signalled.
    let had_deadline = view.ks_mut(key)?.set_expire(key, None, now);
    Ok(Frame::Integer(i64::from(had_deadline)))
}

#[cfg(test)]
mod tests;
