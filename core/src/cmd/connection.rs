//! Connection and server commands: PING, ECHO, QUIT, SELECT, TIME,
//! CLIENT, CONFIG, INFO, SHUTDOWN (COMMAND is in `introspect.rs`). None
//! of them touches a key, so none takes a lock (`Handler::Server`).

use bytes::Bytes;

use super::{int_arg, is_keyword, spec, NO_KEYS};
use crate::command::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::{Ctx, Flow};
use crate::frame::Frame;
use crate::info::{render, InfoSection};

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("ping", -1, FAST, NO_KEYS, "connection", "Returns the server's liveliness response.", "1.0.0", Handler::Server(ping)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    spec("echo", 2, LOADING | STALE | FAST, NO_KEYS, "connection", "Returns the given string.", "1.0.0", Handler::Server(echo)),
    spec("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, NO_KEYS, "connection", "Closes the connection.", "1.0.0", Handler::Server(quit)),
    spec("select", 2, LOADING | STALE | FAST, NO_KEYS, "connection", "Changes the selected database.", "1.0.0", Handler::Server(select)),
    spec("time", 1, LOADING | STALE | FAST, NO_KEYS, "server", "Returns the server time.", "2.6.0", Handler::Server(time)).with_tips(&["nondeterministic_output"]),
    spec("client", -2, 0, NO_KEYS, "connection", "A container for client connection commands.", "2.4.0", Handler::Server(client)),
    spec("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, NO_KEYS, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "1.0.0", Handler::Server(shutdown)),
    spec("info", -1, LOADING | STALE, NO_KEYS, "server", "Returns information and statistics about the server.", "1.0.0", Handler::Server(info)).with_tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    spec("config", -2, 0, NO_KEYS, "server", "A container for server configuration commands.", "2.0.0", Handler::Server(config)),
];

/// PING [message]
fn ping(_: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    match args {
        [_] => Frame::simple("PONG"),
        [_, msg] => Frame::Bulk(msg.clone()),
        _ => error::wrong_arity("ping"),
    }
}

/// ECHO message
fn echo(_: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    Frame::Bulk(args[1].clone())
}

/// QUIT: reply OK, then the shell closes the connection once the reply is
/// written.
fn quit(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    ctx.flow = Flow::Close;
    Frame::ok()
}

/// SELECT index: there is one database (`databases 1`), so only 0 is valid.
fn select(_: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    // Redis parses with getIntFromObjectOrReply: a valid i64 that does not
    // fit in an int is "not an integer or out of range" too.
    match int_arg(&args[1]) {
        Err(e) => e,
        Ok(i) if i32::try_from(i).is_err() => Frame::static_error(error::NOT_AN_INT),
        Ok(0) => Frame::ok(),
        Ok(_) => Frame::static_error(error::DB_INDEX_OUT_OF_RANGE),
    }
}

/// TIME: seconds and microseconds of the clock reading the shell passed in.
fn time(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    Frame::Array(vec![
        Frame::bulk((ctx.now_us / 1_000_000).to_string().as_bytes()),
        Frame::bulk((ctx.now_us % 1_000_000).to_string().as_bytes()),
    ])
}

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
///
/// Every option is accepted as Redis parses it; there is nothing to save
/// yet (no persistence), so NOSAVE and SAVE behave alike. On success there
/// is no reply: the shell stops accepting, finishes in-flight commands and
/// exits, and this client sees its connection close.
fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
    for arg in &args[1..] {
        if is_keyword(arg, "nosave") {
            nosave = true;
        } else if is_keyword(arg, "save") {
            save = true;
        } else if is_keyword(arg, "now") || is_keyword(arg, "force") {
            other = true;
        } else if is_keyword(arg, "abort") {
            abort = true;
        } else {
            return Frame::static_error(error::SYNTAX);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Frame::static_error(error::SYNTAX);
    }
    if abort {
        // A shutdown here is never left pending, so there is none to abort.
        return Frame::static_error("ERR No shutdown in progress.");
    }
    ctx.flow = Flow::Shutdown;
    Frame::ok()
}

/// A subcommand of a container command (CLIENT, COMMAND, CONFIG).
pub(super) type Sub = (&'static str, i32, fn(&mut Ctx<'_>, &[Bytes]) -> Frame);

/// Dispatch `args[1]` among `subs`, with Redis's errors for an unknown
/// subcommand and for a subcommand's wrong arity (`'config|get'`).
pub(super) fn subcommand(
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

/// CLIENT ID | GETNAME | SETNAME name
fn client(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    subcommand(
        ctx,
        args,
        "client",
        &[
            ("id", 2, |ctx, _| Frame::Integer(ctx.session.id as i64)),
            ("getname", 2, |ctx, _| match &ctx.session.name {
                Some(name) => Frame::Bulk(name.clone()),
                None => Frame::Null,
            }),
            ("setname", 3, client_setname),
        ],
    )
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let name = &args[2];
    // Names must survive CLIENT LIST's space-separated format: printable
    // ASCII without spaces. An empty name removes the name.
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Frame::static_error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        );
    }
    ctx.session.name = (!name.is_empty()).then(|| name.clone());
    Frame::ok()
}

/// CONFIG GET | SET | RESETSTAT | REWRITE (in `config.rs`).
fn config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    use super::config::{get, resetstat, rewrite, set};
    subcommand(
        ctx,
        args,
        "config",
        &[
            ("get", -3, get),
            ("set", -4, set),
            ("resetstat", 2, resetstat),
            ("rewrite", 2, rewrite),
        ],
    )
}

/// INFO [section ...]: the shell's sections plus `keyspace`, in a fixed
/// order whatever order they were asked in. `default` (or no argument)
/// selects the default sections, `all` and `everything` every section;
/// unknown names select nothing.
fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut sections = ctx
        .exec
        .hooks()
        .map(|h| h.info_sections(ctx.exec.store(), ctx.exec.config()))
        .unwrap_or_default();
    let keyspace = InfoSection {
        name: "keyspace",
        default: true,
        fields: keyspace_fields(ctx),
    };
    let at = sections
        .iter()
        .position(|s| s.name == "contention")
        .unwrap_or(sections.len());
    sections.insert(at, keyspace);
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let everything = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    sections.retain(|s| everything || (default && s.default) || wanted.iter().any(|w| w == s.name));
    Frame::Bulk(render(&sections).into())
}

/// `db0:keys=N,expires=M,avg_ttl=T`, only when the database has keys.
/// Each lock is taken on its own, so INFO never stops the whole server.
fn keyspace_fields(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    let store = ctx.exec.store();
    let (mut keys, mut expires, mut ttl_sum, mut ttl_n) = (0usize, 0usize, 0u64, 0u64);
    for lock in 0..store.lock_count() {
        let view = store.read(&[lock], "info");
        for ks in view.keyspaces() {
            keys += ks.len();
            expires += ks.volatile_len();
            if ks.avg_ttl() > 0 {
                ttl_sum += ks.avg_ttl();
                ttl_n += 1;
            }
        }
    }
    if keys == 0 {
        return vec![];
    }
    let avg_ttl = ttl_sum.checked_div(ttl_n).unwrap_or(0);
    vec![(
        "db0".into(),
        format!("keys={keys},expires={expires},avg_ttl={avg_ttl}"),
    )]
}

#[cfg(test)]
mod tests {
    use crate::exec::Flow;
    use crate::frame::Frame;
    use crate::testkit::*;

    #[test]
    fn ping_echo_select() {
        check_all_modes(&[
            (&["PING"], Frame::simple("PONG")),
            (&["ping", "hi"], bulk("hi")),
            (
                &["PING", "a", "b"],
                err("ERR wrong number of arguments for 'ping' command"),
            ),
            (&["ECHO", "x"], bulk("x")),
            (
                &["ECHO"],
                err("ERR wrong number of arguments for 'echo' command"),
            ),
            (&["SELECT", "0"], ok()),
            (&["SELECT", "1"], err("ERR DB index is out of range")),
            (&["SELECT", "-1"], err("ERR DB index is out of range")),
            (
                &["SELECT", "x"],
                err("ERR value is not an integer or out of range"),
            ),
            (
                &["SELECT", "4294967296"],
                err("ERR value is out of range, value must between -2147483648 and 2147483647"),
            ),
            (
                &["FOO", "a"],
                err("ERR unknown command 'FOO', with args beginning with: 'a' "),
            ),
        ]);
    }

    #[test]
    fn shutdown_options() {
        check_all_modes(&[
            (&["SHUTDOWN", "ABORT"], err("ERR No shutdown in progress.")),
            (&["SHUTDOWN", "NOSAVE", "SAVE"], err("ERR syntax error")),
            (&["SHUTDOWN", "ABORT", "NOW"], err("ERR syntax error")),
            (&["SHUTDOWN", "LATER"], err("ERR syntax error")),
        ]);
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        let args = [
            bytes::Bytes::from_static(b"SHUTDOWN"),
            bytes::Bytes::from_static(b"nosave"),
        ];
        assert_eq!(
            db.exec.dispatch(&mut db.session, &args, 0).1,
            Flow::Shutdown
        );
        let mut out = bytes::BytesMut::new();
        db.exec.execute(&mut db.session, &args, 0, &mut out);
        assert!(out.is_empty(), "SHUTDOWN sends no reply on success");
    }

    #[test]
    fn info_without_hooks_has_the_keyspace_section() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        assert_eq!(db.cmd(&["INFO"]), bulk("# Keyspace\r\n"));
        for i in 0..10 {
            db.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        db.cmd(&["EXPIRE", "k1", "100"]);
        assert_eq!(
            db.cmd(&["INFO", "KEYSPACE"]),
            bulk("# Keyspace\r\ndb0:keys=10,expires=1,avg_ttl=0\r\n")
        );
        assert_eq!(db.cmd(&["INFO", "nosuch"]), bulk(""));
        assert_eq!(
            db.cmd(&["CONFIG", "SET", "timeout", "5"]),
            err("ERR Unknown option or number of arguments for CONFIG SET - 'timeout'")
        );
        assert_eq!(db.cmd(&["CONFIG", "RESETSTAT"]), ok());
    }

    #[test]
    fn quit_closes_after_ok() {
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        let args = [bytes::Bytes::from_static(b"QUIT")];
        assert_eq!(
            db.exec.dispatch(&mut db.session, &args, 0),
            (ok(), Flow::Close)
        );
    }

    #[test]
    fn time_reports_the_injected_clock() {
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        db.now_ms = 1_700_000_000_123;
        assert_eq!(
            db.cmd(&["TIME"]),
            arr(vec![bulk("1700000000"), bulk("123000")])
        );
    }

    #[test]
    fn client_subcommands() {
        let mut db = TestDb::new(crate::store::Mode::Rw, 1);
        assert_eq!(db.cmd(&["CLIENT", "ID"]), int(db.session.id as i64));
        assert_eq!(db.cmd(&["CLIENT", "GETNAME"]), Frame::Null);
        assert_eq!(db.cmd(&["CLIENT", "SETNAME", "app-1"]), ok());
        assert_eq!(db.cmd(&["client", "getname"]), bulk("app-1"));
        assert_eq!(
            db.cmd(&["CLIENT", "SETNAME", "has space"]),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(db.cmd(&["CLIENT", "SETNAME", ""]), ok());
        assert_eq!(db.cmd(&["CLIENT", "GETNAME"]), Frame::Null);
        assert_eq!(
            db.cmd(&["CLIENT", "SETNAME"]),
            err("ERR wrong number of arguments for 'client|setname' command")
        );
        assert_eq!(
            db.cmd(&["CLIENT", "bogus"]),
            err("ERR unknown subcommand 'bogus'. Try CLIENT HELP.")
        );
        assert_eq!(
            db.cmd(&["CLIENT"]),
            err("ERR wrong number of arguments for 'client' command")
        );
    }

    #[test]
    fn config_get() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        assert_eq!(
            db.cmd(&["CONFIG", "GET", "save"]),
            arr(vec![bulk("save"), bulk("")])
        );
        assert_eq!(
            db.cmd(&["CONFIG", "GET", "MAXCLIENTS", "maxclients"]),
            arr(vec![bulk("MAXCLIENTS"), bulk("10000")])
        );
        assert_eq!(
            db.cmd(&["CONFIG", "GET"]),
            err("ERR wrong number of arguments for 'config|get' command")
        );
    }
}
