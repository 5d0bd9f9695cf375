//! Connection commands: PING, ECHO, QUIT, SELECT, CLIENT. None of them
//! touches a key, so none takes a lock (`Handler::Server`).

use bytes::Bytes;

use super::{int_arg, spec, subcommand, NO_KEYS};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::error;
use crate::exec::{Ctx, Flow};
use crate::frame::Frame;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("ping", -1, FAST, NO_KEYS, "connection", "Returns the server's liveliness response.", "1.0.0", Handler::Server(ping)).with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    spec("echo", 2, LOADING | STALE | FAST, NO_KEYS, "connection", "Returns the given string.", "1.0.0", Handler::Server(echo)),
    spec("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, NO_KEYS, "connection", "Closes the connection.", "1.0.0", Handler::Server(quit)),
    spec("select", 2, LOADING | STALE | FAST, NO_KEYS, "connection", "Changes the selected database.", "1.0.0", Handler::Server(select)),
    spec("client", -2, 0, NO_KEYS, "connection", "A container for client connection commands.", "2.4.0", Handler::Server(client)),
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
    fn quit_closes_after_ok() {
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        let args = [bytes::Bytes::from_static(b"QUIT")];
        let (reply, executed) = db.exec.dispatch(&mut db.session, &args, 0);
        assert_eq!((reply, executed.flow), (ok(), Flow::Close));
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
}
