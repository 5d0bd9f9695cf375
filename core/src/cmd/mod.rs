//! The commands, one file per group, as in Redis's `t_string.c`,
//! `db.c`, `expire.c`: each file holds its handlers *and* their
//! command-table rows ([`CommandSpec`]), so a command's arity, flags and key
//! specs sit beside its code.
//!
//! Every handler has one of three shapes (see [`Handler`]): a server
//! command sees only its context, a reader a [`ReadView`](crate::store::ReadView),
//! a writer a [`WriteView`](crate::store::WriteView).
//! A writer changes keys only through the
//! [`KeyspaceMut`](crate::keyspace::KeyspaceMut) its view hands out, so
//! every change is signalled (see [`crate::signal`]); a writer whose
//! verbatim replay would not reproduce its effect (a relative time, a float
//! sum) says what to propagate instead with
//! [`KeyspaceMut::propagate_as`](crate::keyspace::KeyspaceMut::propagate_as).
//! This module holds what they share: argument parsing with Redis's exact
//! rules and error texts.

//!
//! Layout: [`row`] is what a row is ([`CommandSpec`], [`Handler`],
//! [`flags`]), [`keyspec`] where a command's keys are, [`table`] every row
//! merged and looked up by name; then one file per group of commands.
//! Dependencies run one way: the executor reads the table, the table
//! collects the groups' rows, the groups use rows, key specs and the store.

pub mod keyspec;
pub mod pubsub;
pub mod row;
pub mod table;

pub mod auth;
pub mod blocking;
pub mod client;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod expire;
pub mod hash;
pub mod introspect;
pub mod keyspace;
pub mod list;
pub mod memory;
pub mod migrate;
pub mod server;
pub mod set;
pub mod string;
pub mod transaction;
pub mod zset;

pub use keyspec::{
    has_movable_keys, key_flags, keys_from_specs, legacy_range, Begin, BeginSearch, FindKeys,
    InvalidKeyArgs, KeyRef, KeyRefs, KeySpec,
};
pub use row::{flags, CommandSpec, Handler, KeyFinder};
pub use table::{all, lookup, position};

use bytes::Bytes;

use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;
use crate::keyspace::{Keyspace, Value};
use crate::store::{KeyOutsidePlan, ReadView};

/// Every group's rows; [`table::lookup`] merges and sorts them.
pub(crate) const GROUPS: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    auth::COMMANDS,
    client::COMMANDS,
    introspect::COMMANDS,
    server::COMMANDS,
    memory::COMMANDS,
    string::COMMANDS,
    keyspace::COMMANDS,
    expire::COMMANDS,
    transaction::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    list::COMMANDS,
    zset::COMMANDS,
    pubsub::COMMANDS,
    blocking::COMMANDS,
    cluster::COMMANDS,
    migrate::COMMANDS,
];

/// `WRONGTYPE Operation against a key holding the wrong kind of value`.
pub(crate) fn wrongtype() -> Frame {
    Frame::static_error(error::WRONGTYPE)
}

/// The value of one type at `key` (`project` picks it out of a [`Value`]:
/// `Value::as_hash`, ...): `Ok(None)` for a missing key, `Err(WRONGTYPE)`
/// for a key of another type. A read: it marks the key as used.
pub(crate) fn typed_at<'a, T: ?Sized>(
    ks: &'a Keyspace,
    key: &[u8],
    now_ms: u64,
    project: fn(&Value) -> Option<&T>,
) -> Result<Option<&'a T>, Frame> {
    match ks.get(key, now_ms) {
        None => Ok(None),
        Some(entry) => project(&entry.value).map(Some).ok_or_else(wrongtype),
    }
}

/// A read-only command's body over the value of one type at `key`: `f`
/// gets it (`None` for a missing key, which reads as empty); a key of
/// another type answers WRONGTYPE without calling `f`.
pub(crate) fn read_typed<T: ?Sized>(
    ctx: &Ctx<'_>,
    view: &ReadView<'_>,
    key: &[u8],
    project: fn(&Value) -> Option<&T>,
    f: impl FnOnce(Option<&T>) -> Frame,
) -> Result<Frame, KeyOutsidePlan> {
    Ok(match typed_at(view.ks(key)?, key, ctx.now_ms(), project) {
        Ok(value) => f(value),
        Err(e) => e,
    })
}

/// A command-table row. Arguments in the order Redis's command JSON lists
/// them: name, arity, flags, key specs, then the documentation (group,
/// summary, since) and the handler. Tips and a key finder, which few
/// commands have, are added with [`CommandSpec::with_tips`] and
/// [`CommandSpec::with_key_finder`].
#[allow(clippy::too_many_arguments)]
pub(crate) const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    group: &'static str,
    summary: &'static str,
    since: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        key_finder: None,
        tips: &[],
        group,
        summary,
        since,
        handler,
    }
}

/// Key specs of a command without keys.
pub(crate) const NO_KEYS: &[KeySpec] = &[];

/// Parse a signed 64-bit integer exactly as Redis's `string2ll`: an
/// optional `-`, then digits with no leading zero (except `0` itself); no
/// `+`, no spaces, no overflow. `-0` is rejected, as in Redis.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    // Accumulate as a negative number: its range is one larger, so
    // i64::MIN parses without a special case.
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub((d - b'0') as i64)?;
    }
    if negative {
        Some(v)
    } else {
        v.checked_neg()
    }
}

/// An integer argument, or Redis's "not an integer" error reply.
pub fn int_arg(s: &[u8]) -> Result<i64, Frame> {
    parse_i64(s).ok_or(Frame::static_error(error::NOT_INTEGER))
}

/// Parse a float as Redis's `string2ld`/`strtold` accept it: no leading
/// space, the whole string consumed, not NaN. `inf` and `-inf` parse
/// (commands then reject an infinite result themselves).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.len() >= 5 * 1024 || text.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// Case-insensitive comparison of an argument with an ASCII keyword
/// (`EX`, `NX`, `MATCH`, ...).
pub fn is_keyword(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// A subcommand of a container command (CLIENT, COMMAND, CONFIG).
pub(crate) type Sub = (&'static str, i32, fn(&mut Ctx<'_>, &[Bytes]) -> Frame);

/// Dispatch `args[1]` among `subs`, with Redis's errors for an unknown
/// subcommand and for a subcommand's wrong arity (`'config|get'`).
pub(crate) fn subcommand(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    container: &str,
    subs: &[Sub],
) -> Frame {
    let Some(&(name, arity, run)) = subs.iter().find(|(n, _, _)| is_keyword(&args[1], n)) else {
        return error::unknown_subcommand(&args[1], container);
    };
    let argc = args.len() as i32;
    if (arity >= 0 && argc != arity) || argc < -arity {
        return error::wrong_arity(&format!("{container}|{name}"));
    }
    run(ctx, args)
}

/// The commands whose first argument is a subcommand (dispatched by
/// [`subcommand`]).
pub const CONTAINERS: &[&str] = &[
    "acl", "client", "cluster", "command", "config", "memory", "object", "pubsub",
];

/// A command's full name as Redis 7 reports it (CLIENT LIST's `cmd=`):
/// `get`, or `client|list` for a subcommand; `None` for an unknown
/// command. A container without its subcommand is its own name.
pub fn full_name(args: &[Bytes]) -> Option<String> {
    let spec = lookup(args.first()?)?;
    match args.get(1) {
        Some(sub) if CONTAINERS.contains(&spec.name) => Some(format!(
            "{}|{}",
            spec.name,
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        )),
        _ => Some(spec.name.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_as_redis_reports_them() {
        let args = |words: &[&str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        assert_eq!(full_name(&args(&["GET", "k"])).as_deref(), Some("get"));
        assert_eq!(
            full_name(&args(&["Client", "LIST"])).as_deref(),
            Some("client|list")
        );
        assert_eq!(full_name(&args(&["CONFIG"])).as_deref(), Some("config"));
        assert_eq!(full_name(&args(&["nosuch"])), None);
        assert_eq!(full_name(&[]), None);
    }

    #[test]
    fn parse_i64_follows_string2ll() {
        for (s, v) in [
            ("0", Some(0)),
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1.0", None),
            ("abc", None),
        ] {
            assert_eq!(parse_i64(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn parse_f64_follows_strtold_rules() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-3"), Some(-3.0));
        assert_eq!(parse_f64(b"5e3"), Some(5000.0));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1x"), None);
        assert_eq!(parse_f64(b""), None);
    }
}
