//! Authentication: AUTH, and the part of ACL there is (WHOAMI, USERS).
//!
//! There is one user, Redis's `default`. Without `requirepass` it is
//! `nopass` (any password opens it, and clients start authenticated);
//! with one, it has that password, and a client must AUTH (or HELLO ...
//! AUTH) before any command without the `no_auth` flag (checked once, in
//! the executor, after arity: Redis 7.0's `processCommand` order).
//!
//! CONFIG SET requirepass changes what the next AUTH must prove; clients
//! already authenticated stay so, as in Redis.

use bytes::Bytes;

use super::{is_keyword, spec, subcommand, NO_KEYS};
use crate::cmd::{flags::*, CommandSpec, Handler};
use crate::config::named;
use crate::error;
use crate::exec::Ctx;
use crate::frame::Frame;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NO_KEYS, "connection", "Authenticates the connection.", "1.0.0", Handler::Server(auth)),
    spec("acl", -2, 0, NO_KEYS, "server", "A container for Access List Control commands.", "6.0.0", Handler::Server(acl)),
];

/// The only user.
pub const DEFAULT_USER: &str = "default";

/// AUTH ran with a password while none is configured (the default user is
/// `nopass`): Redis's hint that the client is misconfigured.
pub const AUTH_WITHOUT_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";

/// AUTH [username] password
fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let (user, password) = match args {
        [_, password] => {
            // The one-argument form is for `requirepass` (Redis's
            // `authCommand`): without a password it is a mistake.
            if !ctx.exec.password_required() {
                return Frame::static_error(AUTH_WITHOUT_PASSWORD);
            }
            (DEFAULT_USER.as_bytes(), password)
        }
        [_, user, password] => (&user[..], password),
        _ => return Frame::static_error(error::SYNTAX),
    };
    match authenticate(ctx, user, password) {
        Ok(()) => Frame::ok(),
        Err(e) => e,
    }
}

/// Check a user name and password (AUTH, HELLO AUTH), as Redis's
/// `ACLAuthenticateUser`: on success the client is authenticated; on
/// failure nothing changes (a client already authenticated stays so).
pub(crate) fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8]) -> Result<(), Frame> {
    let expected = ctx.exec.config().text(named("requirepass"));
    let opens = user == DEFAULT_USER.as_bytes()
        && (expected.is_empty() || same_password(password, expected.as_bytes()));
    if opens {
        ctx.session.authenticated = true;
        Ok(())
    } else {
        Err(Frame::static_error(error::WRONGPASS))
    }
}

/// Compare a password without an early exit: the time taken depends on
/// the length of what the client sent and not on where it first differs
/// from the password, so a client cannot find the password byte by byte
/// by timing its attempts.
///
/// Redis compares SHA-256 digests of the two (`ACLCheckPasswordHash` with
/// `time_independent_strcmp`); here the bytes themselves are compared, in
/// a loop over every byte the client sent, folding the differences (and
/// the length difference) into one value that is only tested at the end.
/// What may leak is the password's length (whether a position is inside
/// it), which Redis's own 7.0 also exposes through its hashing time.
fn same_password(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = (given.len() ^ expected.len()) as u64;
    for (i, &b) in given.iter().enumerate() {
        let e = expected.get(i).copied().unwrap_or(0);
        diff |= u64::from(b ^ e);
        // Keep the optimizer from turning the fold into an early exit.
        diff = std::hint::black_box(diff);
    }
    diff == 0
}

/// ACL WHOAMI | USERS. Other subcommands (SETUSER, LIST, CAT, ...) are not
/// implemented: they get Redis's unknown-subcommand error.
fn acl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    subcommand(
        ctx,
        args,
        "acl",
        &[
            ("whoami", 2, |_, _| Frame::bulk(DEFAULT_USER.as_bytes())),
            ("users", 2, |_, _| {
                Frame::Array(vec![Frame::bulk(DEFAULT_USER.as_bytes())])
            }),
        ],
    )
}

/// Is `arg` the keyword AUTH (HELLO's option)?
pub(crate) fn is_auth(arg: &[u8]) -> bool {
    is_keyword(arg, "auth")
}

#[cfg(test)]
mod tests {
    use super::same_password;
    use crate::frame::Frame;
    use crate::testkit::*;

    #[test]
    fn passwords_compare_whole() {
        assert!(same_password(b"secret", b"secret"));
        assert!(same_password(b"", b""));
        assert!(!same_password(b"secreT", b"secret"));
        assert!(!same_password(b"secret!", b"secret"));
        assert!(!same_password(b"secre", b"secret"));
        assert!(!same_password(b"", b"secret"));
        assert!(!same_password(b"secret", b""));
        // A NUL does not end the comparison (the password is bytes).
        assert!(!same_password(b"sec\0", b"sec"));
    }

    const NOAUTH: &str = "NOAUTH Authentication required.";

    /// Without a password, as redis-server 7.0.15 without requirepass.
    #[test]
    fn auth_without_a_password() {
        let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
        assert!(db.session.authenticated);
        assert_eq!(db.cmd(&["AUTH", "x"]), err(super::AUTH_WITHOUT_PASSWORD));
        assert_eq!(db.cmd(&["AUTH", "default", "anything"]), ok());
        assert_eq!(
            db.cmd(&["AUTH", "bob", "x"]),
            err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(db.cmd(&["AUTH", "a", "b", "c"]), err("ERR syntax error"));
        assert_eq!(
            db.cmd(&["AUTH"]),
            err("ERR wrong number of arguments for 'auth' command")
        );
        assert_eq!(db.cmd(&["ACL", "WHOAMI"]), bulk("default"));
        assert_eq!(
            db.cmd(&["acl", "users"]),
            Frame::Array(vec![bulk("default")])
        );
        assert_eq!(
            db.cmd(&["ACL", "LIST"]),
            err("ERR unknown subcommand 'LIST'. Try ACL HELP.")
        );
        assert_eq!(
            db.cmd(&["ACL", "WHOAMI", "x"]),
            err("ERR wrong number of arguments for 'acl|whoami' command")
        );
        assert_eq!(
            db.cmd(&["ACL"]),
            err("ERR wrong number of arguments for 'acl' command")
        );
    }

    /// With requirepass, as redis-server 7.0.15 --requirepass secret.
    #[test]
    fn requirepass_gates_every_command_but_the_no_auth_ones() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        assert_eq!(db.cmd(&["CONFIG", "SET", "requirepass", "secret"]), ok());
        // Connected before the password: still authenticated, as Redis.
        assert_eq!(db.cmd(&["PING"]), Frame::simple("PONG"));
        db.reconnect();
        assert!(!db.session.authenticated);
        // Unknown command and arity are checked first.
        assert_eq!(
            db.cmd(&["NOSUCH"]),
            err("ERR unknown command 'NOSUCH', with args beginning with: ")
        );
        assert_eq!(
            db.cmd(&["GET"]),
            err("ERR wrong number of arguments for 'get' command")
        );
        for args in [
            &["GET", "a"][..],
            &["PING"],
            &["CLIENT", "ID"],
            &["ACL", "WHOAMI"],
        ] {
            assert_eq!(db.cmd(args), err(NOAUTH), "{args:?}");
        }
        let wrongpass = err("WRONGPASS invalid username-password pair or user is disabled.");
        assert_eq!(db.cmd(&["AUTH", "bad"]), wrongpass);
        assert_eq!(db.cmd(&["AUTH", "default", "bad"]), wrongpass);
        assert_eq!(db.cmd(&["AUTH", "foo", "secret"]), wrongpass);
        assert_eq!(db.cmd(&["PING"]), err(NOAUTH));
        assert_eq!(db.cmd(&["AUTH", "secret"]), ok());
        assert_eq!(db.cmd(&["PING"]), Frame::simple("PONG"));
        // A failed AUTH does not log an authenticated client out.
        assert_eq!(db.cmd(&["AUTH", "bad"]), wrongpass);
        assert_eq!(db.cmd(&["PING"]), Frame::simple("PONG"));
        // RESET does.
        assert_eq!(db.cmd(&["RESET"]), Frame::simple("RESET"));
        assert_eq!(db.cmd(&["PING"]), err(NOAUTH));
        assert_eq!(db.cmd(&["AUTH", "default", "secret"]), ok());
        assert_eq!(
            db.cmd(&["CONFIG", "GET", "requirepass"]),
            Frame::Array(vec![bulk("requirepass"), bulk("secret")])
        );
        // A new password is what the next AUTH must prove.
        assert_eq!(db.cmd(&["CONFIG", "SET", "requirepass", "other"]), ok());
        db.reconnect();
        assert_eq!(db.cmd(&["AUTH", "secret"]), wrongpass);
        assert_eq!(db.cmd(&["AUTH", "other"]), ok());
        // HELLO: refused without AUTH; its AUTH authenticates at once, so
        // a later bad option fails the command but not the login (Redis's
        // helloCommand checks options one by one).
        db.reconnect();
        assert_eq!(
            db.cmd(&["HELLO", "3"]),
            err(crate::cmd::connection::HELLO_NOAUTH)
        );
        assert_eq!(db.cmd(&["HELLO", "2", "AUTH", "default", "bad"]), wrongpass);
        assert_eq!(
            db.cmd(&["HELLO", "3", "AUTH", "default", "other", "FOO"]),
            err("ERR Syntax error in HELLO option 'FOO'")
        );
        assert_eq!(db.session.protocol, crate::frame::Protocol::Resp2);
        assert_eq!(db.cmd(&["PING"]), Frame::simple("PONG"));
        // No password any more: a client that never authenticated passes.
        db.reconnect();
        assert_eq!(db.cmd(&["PING"]), err(NOAUTH));
        db.exec.config().set("requirepass", "").unwrap();
        assert_eq!(db.cmd(&["PING"]), Frame::simple("PONG"));
        db.reconnect();
        assert!(db.session.authenticated);
    }
}
