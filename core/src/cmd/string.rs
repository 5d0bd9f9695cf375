//! String commands (Redis's `t_string.c`): SET and its relatives, GET and
//! its relatives, counters, ranges and bits.
//!
//! A string is binary-safe bytes of at most 512 MB (`proto-max-bulk-len`);
//! commands that grow one (APPEND, SETRANGE, SETBIT) check that limit
//! before allocating.

use bytes::Bytes;

use super::{int_arg, is_keyword, spec};
use crate::command::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Keyspace, Value};
use crate::store::{ReadView, WriteView};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, (1, 1, 1), "string", "Returns the string value of a key.", "1.0.0", Handler::Read(get)),
    spec("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "1.0.0", Handler::Write(set)),
];

/// The string stored at `key`: `Ok(None)` if there is no live key,
/// `Err(WRONGTYPE)` if the key holds another type.
pub(crate) fn string_at<'a>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<&'a Vec<u8>>, Frame> {
    match ks.get(key, now_ms) {
        None => Ok(None),
        Some(entry) => entry
            .value
            .as_string()
            .map(Some)
            .ok_or(Frame::static_error(error::WRONGTYPE)),
    }
}

/// GET key
fn get(ctx: &mut Ctx<'_>, view: &ReadView<'_>, args: &[Bytes]) -> Frame {
    let key = &args[1];
    match string_at(view.ks(key), key, ctx.now_ms()) {
        Ok(value) => Frame::bulk_or_null(value.map(Vec::as_slice)),
        Err(e) => e,
    }
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
fn set(ctx: &mut Ctx<'_>, view: &mut WriteView<'_>, args: &[Bytes]) -> Frame {
    let Some(opts) = parse_set_options(args) else {
        return Frame::static_error(error::SYNTAX);
    };
    let now = ctx.now_ms();
    // The expire time is validated before anything else happens.
    let expiry = match opts.expire {
        Some((unit, arg)) => match unit.deadline(arg, now, "set") {
            Ok(at) => Expiry::At(at),
            Err(e) => return e,
        },
        None if opts.keepttl => Expiry::Keep,
        None => Expiry::Clear,
    };
    let key = &args[1];
    let ks = view.ks_mut(key);
    // With GET, the reply is the old value, whether or not the SET happens;
    // a non-string old value aborts the command with WRONGTYPE.
    let old = if opts.get {
        match string_at(ks, key, now) {
            Ok(v) => Some(Frame::bulk_or_null(v.map(Vec::as_slice))),
            Err(e) => return e,
        }
    } else {
        None
    };
    let exists = ks.contains(key, now);
    if (opts.nx && exists) || (opts.xx && !exists) {
        return old.unwrap_or(Frame::Null);
    }
    set_string(ks, key, args[2].to_vec(), expiry, now);
    old.unwrap_or(Frame::ok())
}

/// Store a string under `key` with the given expiry rule.
pub(crate) fn set_string(
    ks: &mut Keyspace,
    key: &[u8],
    value: Vec<u8>,
    expiry: Expiry,
    now_ms: u64,
) {
    let expire_at = match expiry {
        Expiry::Clear => None,
        Expiry::At(at) => Some(at),
        Expiry::Keep => ks.get(key, now_ms).and_then(|e| e.expire_at()),
    };
    ks.set(key, Value::String(value), expire_at);
}

#[cfg(test)]
mod tests {
    use crate::frame::Frame;
    use crate::testkit::*;

    #[test]
    fn get_and_set() {
        check_all_modes(&[
            (&["GET", "k"], Frame::Null),
            (&["SET", "k", "v"], ok()),
            (&["GET", "k"], bulk("v")),
            (
                &["get", "k", "extra"],
                err("ERR wrong number of arguments for 'get' command"),
            ),
            (
                &["SET", "k"],
                err("ERR wrong number of arguments for 'set' command"),
            ),
        ]);
    }

    #[test]
    fn set_options_follow_redis() {
        check_all_modes(&[
            (&["SET", "k", "1", "NX"], ok()),
            (&["SET", "k", "2", "NX"], Frame::Null),
            (&["SET", "k", "3", "XX", "GET"], bulk("1")),
            (&["SET", "missing", "3", "XX", "GET"], Frame::Null),
            (&["SET", "k", "4", "NX", "XX"], err("ERR syntax error")),
            (
                &["SET", "k", "4", "EX", "10", "PX", "100"],
                err("ERR syntax error"),
            ),
            (
                &["SET", "k", "4", "EX", "10", "KEEPTTL"],
                err("ERR syntax error"),
            ),
            (&["SET", "k", "4", "EX"], err("ERR syntax error")),
            (
                &["SET", "k", "4", "EX", "0"],
                err("ERR invalid expire time in 'set' command"),
            ),
            (
                &["SET", "k", "4", "EX", "-5"],
                err("ERR invalid expire time in 'set' command"),
            ),
            (
                &["SET", "k", "4", "EX", "x"],
                err("ERR value is not an integer or out of range"),
            ),
            (
                &["SET", "k", "4", "EX", "9223372036854776"],
                err("ERR invalid expire time in 'set' command"),
            ),
            (
                &["SET", "k", "4", "PX", "9223372036854775807"],
                err("ERR invalid expire time in 'set' command"),
            ),
            (&["SET", "k", "4", "EX", "10", "EX", "20"], ok()),
            (&["SET", "k", "5", "KEEPTTL"], ok()),
            (&["GET", "k"], bulk("5")),
        ]);
    }

    #[test]
    fn set_expiry_is_lazy_and_exact_to_the_millisecond() {
        for mut db in TestDb::all_modes() {
            assert_eq!(db.cmd(&["SET", "k", "v", "PX", "100"]), ok());
            db.advance_ms(100);
            assert_eq!(db.cmd(&["GET", "k"]), bulk("v"), "alive at the deadline");
            db.advance_ms(1);
            assert_eq!(db.cmd(&["GET", "k"]), Frame::Null);
            let past = (db.now_ms - 1).to_string();
            assert_eq!(db.cmd(&["SET", "k", "v", "PXAT", &past]), ok());
            assert_eq!(db.cmd(&["GET", "k"]), Frame::Null);
        }
    }
}
