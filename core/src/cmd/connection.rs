//! Connection commands: HELLO, PING, ECHO, QUIT, SELECT, RESET (AUTH is
//! in `auth.rs`, CLIENT in `client.rs`). None of them touches a key, so
//! none takes a lock (`Handler::Server`).

use bytes::Bytes;

use super::{auth, client, int_arg, is_keyword, spec, NO_KEYS};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::{Ctx, Flow};
use crate::frame::{Frame, Protocol};
use crate::info::REDIS_VERSION;
use crate::session::ReplyMode;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NO_KEYS, "connection", "Handshake with Redis", "6.0.0", Handler::Server(hello)),
    spec("ping", -1, FAST, NO_KEYS, "connection", "Returns the server's liveliness response.", "1.0.0", Handler::Server(ping)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    spec("echo", 2, LOADING | STALE | FAST, NO_KEYS, "connection", "Returns the given string.", "1.0.0", Handler::Server(echo)),
    spec("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, NO_KEYS, "connection", "Closes the connection.", "1.0.0", Handler::Server(quit)),
    spec("select", 2, LOADING | STALE | FAST, NO_KEYS, "connection", "Changes the selected database.", "1.0.0", Handler::Server(select)),
    spec("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | OWN_LOCKS, NO_KEYS, "connection", "Resets the connection.", "6.2.0", Handler::Server(reset)),
];

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
///
/// The handshake current clients open with: it switches the connection's
/// protocol (RESP3 replies from this reply on) and describes the server.
/// As Redis's `helloCommand`: the version is checked first, then each
/// option in order, AUTH authenticating at once (so a later bad option
/// fails the command but leaves the client authenticated, as in Redis);
/// then a client still not authenticated is refused; only then are the
/// name and the protocol changed.
fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let mut protocol = None;
    if let Some(version) = args.get(1) {
        match super::parse_i64(version) {
            Some(2) => protocol = Some(Protocol::Resp2),
            Some(3) => protocol = Some(Protocol::Resp3),
            Some(_) => return Frame::static_error("NOPROTO unsupported protocol version"),
            None => {
                return Frame::static_error(
                    "ERR Protocol version is not an integer or out of range",
                )
            }
        }
    }
    let mut name = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if auth::is_auth(&args[i]) && more >= 2 {
            if let Err(e) = auth::authenticate(ctx, &args[i + 1], &args[i + 2]) {
                return e;
            }
            i += 3;
        } else if is_keyword(&args[i], "setname") && more >= 1 {
            if let Err(e) = client::valid_name(&args[i + 1]) {
                return e;
            }
            name = Some(&args[i + 1]);
            i += 2;
        } else {
            return Frame::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            ));
        }
    }
    if !ctx.session.authenticated {
        return Frame::static_error(HELLO_NOAUTH);
    }
    if let Some(name) = name {
        client::set_name(ctx, name);
    }
    if let Some(protocol) = protocol {
        ctx.session.protocol = protocol;
    }
    let proto = match ctx.session.protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    let field = |name: &'static str| Frame::Bulk(Bytes::from_static(name.as_bytes()));
    Frame::Map(vec![
        (field("server"), field("redis")),
        (field("version"), field(REDIS_VERSION)),
        (field("proto"), Frame::Integer(proto)),
        (field("id"), Frame::Integer(ctx.session.id as i64)),
        (field("mode"), field("standalone")),
        (field("role"), field("master")),
        (field("modules"), Frame::Array(Vec::new())),
    ])
}

/// HELLO from a client that has not authenticated, without AUTH.
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";

/// RESET: the connection as it was when it opened (Redis's
/// `clearClientConnectionState`): no transaction and no watches, no name,
/// RESP2, database 0, CLIENT REPLY ON, no-evict off, and not
/// authenticated if a password is set. The library name and version stay:
/// they still describe the client.
fn reset(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    ctx.exec.end_transaction(ctx.session);
    super::pubsub::unsubscribe_all(ctx.exec, ctx.session);
    let session = &mut *ctx.session;
    session.name = None;
    session.protocol = Protocol::Resp2;
    session.db = 0;
    session.reply = ReplyMode::On;
    session.no_evict = false;
    session.authenticated = !ctx.exec.password_required();
    Frame::simple("RESET")
}

/// PING [message]: in RESP2, a subscribed client gets `["pong", msg]`.
fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if ctx.session.subscribed() && ctx.session.protocol == Protocol::Resp2 {
        let msg = args.get(1).cloned().unwrap_or_default();
        return Frame::Array(vec![Frame::bulk(b"pong"), Frame::Bulk(msg)]);
    }
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

/// SELECT index: the database this connection's commands work in, from
/// 0 to `databases - 1`. Session state: nothing is locked or changed.
fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    // Redis parses with getIntFromObjectOrReply: a valid i64 that does not
    // fit in an int is "not an integer or out of range" too.
    match int_arg(&args[1]) {
        Err(e) => e,
        Ok(i) if i32::try_from(i).is_err() => Frame::static_error(error::NOT_AN_INT),
        Ok(i) if i != 0 && ctx.exec.cluster().is_some() => {
            Frame::static_error("ERR SELECT is not allowed in cluster mode")
        }
        Ok(i) => match super::server::db_index(ctx, i) {
            Some(db) => {
                ctx.session.db = db;
                Frame::ok()
            }
            None => Frame::static_error(error::DB_INDEX_OUT_OF_RANGE),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::Flow;
    use crate::frame::{Frame, Protocol};
    use crate::testkit::*;

    /// HELLO's replies and errors, as redis-server 7.0.15 gives them.
    #[test]
    fn hello_switches_the_protocol_and_describes_the_server() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        let id = db.session.id as i64;
        let reply = |proto: i64| {
            let field = |s: &str| bulk(s);
            Frame::Array(vec![
                field("server"),
                field("redis"),
                field("version"),
                field("7.0.15"),
                field("proto"),
                int(proto),
                field("id"),
                int(id),
                field("mode"),
                field("standalone"),
                field("role"),
                field("master"),
                field("modules"),
                Frame::Array(vec![]),
            ])
        };
        // RESP2: the map is a flat array; no protocol change without a version.
        assert_eq!(db.cmd(&["HELLO"]), reply(2));
        assert_eq!(db.session.protocol, Protocol::Resp2);
        // RESP3 from HELLO 3's own reply on: a map, and nulls are `_`.
        assert!(matches!(db.cmd(&["HELLO", "3"]), Frame::Map(m) if m.len() == 7));
        assert_eq!(db.session.protocol, Protocol::Resp3);
        assert_eq!(db.cmd(&["GET", "missing"]), Frame::Null);
        assert!(matches!(
            db.cmd(&["CONFIG", "GET", "timeout"]),
            Frame::Map(_)
        ));
        assert!(matches!(db.cmd(&["INFO", "keyspace"]), Frame::Verbatim(_)));
        // Errors change nothing.
        for (args, error) in [
            (&["HELLO", "4"][..], "NOPROTO unsupported protocol version"),
            (&["HELLO", "1"], "NOPROTO unsupported protocol version"),
            (
                &["HELLO", "x"],
                "ERR Protocol version is not an integer or out of range",
            ),
            (
                &["HELLO", "2", "FOO"],
                "ERR Syntax error in HELLO option 'FOO'",
            ),
            (
                &["HELLO", "2", "AUTH", "default"],
                "ERR Syntax error in HELLO option 'AUTH'",
            ),
            (
                &["HELLO", "2", "SETNAME"],
                "ERR Syntax error in HELLO option 'SETNAME'",
            ),
            (
                &["HELLO", "2", "AUTH", "bob", "pw"],
                "WRONGPASS invalid username-password pair or user is disabled.",
            ),
            (
                &["HELLO", "2", "SETNAME", "a b"],
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ),
        ] {
            assert_eq!(db.cmd(args), err(error), "{args:?}");
            assert_eq!(db.session.protocol, Protocol::Resp3, "{args:?}");
        }
        // The default user has no password (nopass): any password opens it.
        assert!(matches!(
            db.cmd(&["hello", "2", "auth", "default", "x", "setname", "app"]),
            Frame::Array(a) if a.len() == 14
        ));
        assert_eq!(db.session.protocol, Protocol::Resp2);
        assert_eq!(db.cmd(&["CLIENT", "GETNAME"]), bulk("app"));
    }

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
            (&["SELECT", "15"], ok()),
            (&["SELECT", "16"], err("ERR DB index is out of range")),
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
    fn quit_closes_after_ok() {
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        let args = [bytes::Bytes::from_static(b"QUIT")];
        let (reply, executed) = db.exec.dispatch(&mut db.session, &args, 0);
        assert_eq!((reply, executed.flow), (ok(), Flow::Close));
    }
}
