use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use crate::clients::{ClientInfo, ClientRegistry, KillFilter, Killed, PauseMode};
use crate::exec::Flow;
use crate::frame::{Frame, Protocol};
use crate::session::{ReplyMode, Session};
use crate::testkit::*;

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

/// Replies as the client receives them: through `execute`, which drops
/// what CLIENT REPLY says to drop.
fn wire(db: &mut TestDb, commands: &[&[&str]]) -> String {
    let mut out = BytesMut::new();
    for args in commands {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        db.exec
            .execute(&mut db.session, &args, db.now_ms * 1000, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// As redis-server 7.0.15 answers the same sequence.
#[test]
fn client_reply_off_and_skip_drop_replies() {
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    let got = wire(
        &mut db,
        &[
            &["CLIENT", "REPLY", "OFF"],
            &["PING"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "ON"],
            &["PING"],
            &["CLIENT", "REPLY", "SKIP"],
            &["PING"],
            &["PING", "2"],
            &["CLIENT", "REPLY", "OFF"],
            &["CLIENT", "REPLY", "SKIP"],
            &["PING", "3"],
            &["CLIENT", "REPLY", "ON"],
            &["CLIENT", "REPLY", "SKIP"],
            &["GET"],
            &["PING", "4"],
        ],
    );
    assert_eq!(got, "+OK\r\n+PONG\r\n$1\r\n2\r\n+OK\r\n$1\r\n4\r\n");
    assert_eq!(db.session.reply, ReplyMode::On);
    assert_eq!(
        wire(
            &mut db,
            &[&["CLIENT", "REPLY", "FOO"], &["CLIENT", "REPLY", "ON", "x"]]
        ),
        "-ERR syntax error\r\n-ERR wrong number of arguments for 'client|reply' command\r\n"
    );
    // RESET turns replies back on.
    assert_eq!(
        wire(
            &mut db,
            &[&["CLIENT", "REPLY", "OFF"], &["RESET"], &["PING"]]
        ),
        "+RESET\r\n+PONG\r\n"
    );
}

#[test]
fn setinfo_no_evict_and_reset() {
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    assert_eq!(db.cmd(&["CLIENT", "SETINFO", "lib-name", "redis-py"]), ok());
    assert_eq!(db.cmd(&["CLIENT", "SETINFO", "LIB-VER", "8.0.0"]), ok());
    assert_eq!(db.session.lib_name.as_deref(), Some(&b"redis-py"[..]));
    assert_eq!(db.session.lib_ver.as_deref(), Some(&b"8.0.0"[..]));
    assert_eq!(
        db.cmd(&["CLIENT", "SETINFO", "foo", "x"]),
        err("ERR Unrecognized option 'foo'")
    );
    assert_eq!(
        db.cmd(&["CLIENT", "SETINFO", "Lib-Name", "a b"]),
        err("ERR Lib-Name cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        db.cmd(&["CLIENT", "SETINFO", "lib-name"]),
        err("ERR wrong number of arguments for 'client|setinfo' command")
    );
    assert_eq!(db.cmd(&["CLIENT", "NO-EVICT", "on"]), ok());
    assert!(db.session.no_evict);
    assert_eq!(
        db.cmd(&["CLIENT", "NO-EVICT", "x"]),
        err("ERR syntax error")
    );
    assert_eq!(
        db.cmd(&["CLIENT", "NO-EVICT"]),
        err("ERR wrong number of arguments for 'client|no-evict' command")
    );
    assert_eq!(db.cmd(&["CLIENT", "SETNAME", "app"]), ok());
    assert!(matches!(db.cmd(&["HELLO", "3"]), Frame::Map(_)));
    db.session.db = 5;
    assert_eq!(
        db.cmd(&["RESET", "x"]),
        err("ERR wrong number of arguments for 'reset' command")
    );
    assert_eq!(db.cmd(&["RESET"]), Frame::simple("RESET"));
    let s = &db.session;
    assert_eq!(
        (s.name.clone(), s.protocol, s.db, s.no_evict),
        (None, Protocol::Resp2, 0, false)
    );
    assert!(s.authenticated);
    // The library still describes the client.
    assert_eq!(s.lib_name.as_deref(), Some(&b"redis-py"[..]));
}

/// Errors that come before the registry is asked, as redis-server 7.0.15
/// gives them; without a registry the rest is an error of its own.
#[test]
fn list_kill_pause_argument_errors() {
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    for (args, want) in [
        (
            &["CLIENT", "LIST", "TYPE", "foo"][..],
            "ERR Unknown client type 'foo'",
        ),
        (&["CLIENT", "LIST", "ID", "x"], "ERR Invalid client ID"),
        (&["CLIENT", "LIST", "ID"], "ERR syntax error"),
        (&["CLIENT", "LIST", "foo"], "ERR syntax error"),
        (&["CLIENT", "LIST", "TYPE"], "ERR syntax error"),
        (
            &["CLIENT", "INFO", "x"],
            "ERR wrong number of arguments for 'client|info' command",
        ),
        (
            &["CLIENT", "KILL"],
            "ERR wrong number of arguments for 'client|kill' command",
        ),
        (
            &["CLIENT", "KILL", "ID", "x"],
            "ERR client-id should be greater than 0",
        ),
        (
            &["CLIENT", "KILL", "ID", "0"],
            "ERR client-id should be greater than 0",
        ),
        (&["CLIENT", "KILL", "SKIPME", "maybe"], "ERR syntax error"),
        (
            &["CLIENT", "KILL", "TYPE", "foo"],
            "ERR Unknown client type 'foo'",
        ),
        (
            &["CLIENT", "KILL", "USER", "nobody"],
            "ERR No such user 'nobody'",
        ),
        (&["CLIENT", "KILL", "FOO", "bar"], "ERR syntax error"),
        (&["CLIENT", "KILL", "a", "b", "c"], "ERR syntax error"),
        (&["CLIENT", "KILL", "MAXAGE", "10"], "ERR syntax error"),
        (
            &["CLIENT", "PAUSE"],
            "ERR wrong number of arguments for 'client|pause' command",
        ),
        (
            &["CLIENT", "PAUSE", "x"],
            "ERR timeout is not an integer or out of range",
        ),
        (&["CLIENT", "PAUSE", "-1"], "ERR timeout is negative"),
        (
            &["CLIENT", "PAUSE", "10", "FOO"],
            "ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
        (
            &["CLIENT", "PAUSE", "x", "FOO"],
            "ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
        (
            &["CLIENT", "PAUSE", "10", "ALL", "x"],
            "ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.",
        ),
        (
            &["CLIENT", "UNPAUSE", "x"],
            "ERR wrong number of arguments for 'client|unpause' command",
        ),
    ] {
        assert_eq!(db.cmd(args), err(want), "{args:?}");
    }
    assert_eq!(db.cmd(&["CLIENT", "LIST"]), err(super::NO_REGISTRY));
    assert_eq!(db.cmd(&["CLIENT", "PAUSE", "10"]), err(super::NO_REGISTRY));
}

/// A registry of two clients (ids 1 and 2, the test's session is 1) that
/// records what it was asked.
#[derive(Default)]
struct FakeRegistry {
    killed: Mutex<Vec<u64>>,
    paused: Mutex<Vec<(u64, PauseMode)>>,
}

fn info(id: u64, port: u16) -> ClientInfo {
    ClientInfo {
        id,
        addr: format!("127.0.0.1:{port}"),
        laddr: "127.0.0.1:6379".into(),
        fd: id as i64 + 7,
        name: None,
        age: 0,
        idle: 7,
        blocked: false,
        no_evict: false,
        multi: None,
        dirty_cas: false,
        db: 0,
        qbuf: 0,
        rbs: 16384,
        cmd: "NULL".into(),
        resp: 2,
        lib_name: None,
        lib_ver: None,
    }
}

impl ClientRegistry for FakeRegistry {
    fn list(&self, _: &Session) -> Vec<ClientInfo> {
        vec![info(1, 5001), info(2, 5002)]
    }

    fn kill(&self, me: &Session, filter: &KillFilter) -> Killed {
        let mut killed = Killed::default();
        for c in self.list(me) {
            if filter.matches(&c) && !(filter.skip_me && c.id == me.id) {
                killed.count += 1;
                killed.me |= c.id == me.id;
                self.killed.lock().unwrap().push(c.id);
            }
        }
        killed
    }

    fn pause(&self, until_ms: u64, mode: PauseMode) {
        self.paused.lock().unwrap().push((until_ms, mode));
    }

    fn unpause(&self) {
        self.paused.lock().unwrap().clear();
    }
}

fn with_registry() -> (TestDb, Arc<FakeRegistry>) {
    let registry = Arc::new(FakeRegistry::default());
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    let exec = std::mem::replace(
        &mut db.exec,
        crate::exec::Executor::new(
            crate::store::new_store(
                crate::store::Mode::Mutex,
                1,
                crate::config::DEFAULT_DATABASES,
                Arc::new(crate::store::NoObserver),
            ),
            1,
            crate::exec::Config::with_defaults(),
        ),
    );
    db.exec = exec.with_clients(registry.clone());
    db.session = Session::new(1);
    (db, registry)
}

#[test]
fn list_and_info_describe_the_asking_client_as_it_is_now() {
    let (mut db, _) = with_registry();
    assert_eq!(db.cmd(&["CLIENT", "SETNAME", "me"]), ok());
    let Frame::Bulk(text) = db.cmd(&["CLIENT", "LIST"]) else {
        panic!()
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with('\n'));
    assert!(lines[0].starts_with("id=1 addr=127.0.0.1:5001 "));
    assert!(lines[0].contains(" name=me ") && lines[0].contains(" cmd=client|list "));
    assert!(lines[1].contains(" name= ") && lines[1].contains(" cmd=NULL "));
    // The asking client is running a command: not idle.
    assert!(lines[0].contains(" idle=0 ") && lines[1].contains(" idle=7 "));
    let only = |db: &mut TestDb, args: &[&str]| match db.cmd(args) {
        Frame::Bulk(t) => String::from_utf8_lossy(&t)
            .lines()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        only(&mut db, &["CLIENT", "LIST", "ID", "2", "9", "2"]),
        ["id=2", "id=2"]
    );
    assert_eq!(
        only(&mut db, &["CLIENT", "LIST", "TYPE", "normal"]),
        ["id=1", "id=2"]
    );
    assert!(only(&mut db, &["CLIENT", "LIST", "TYPE", "pubsub"]).is_empty());
    let Frame::Bulk(me) = db.cmd(&["client", "info"]) else {
        panic!()
    };
    assert!(
        me.starts_with(b"id=1 ")
            && me.ends_with(b" cmd=client|info user=default redir=-1 resp=2 lib-name= lib-ver=\n")
    );
    // RESP3: a verbatim string, as Redis's addReplyVerbatim.
    db.session.protocol = Protocol::Resp3;
    assert!(matches!(db.cmd(&["CLIENT", "INFO"]), Frame::Verbatim(_)));
}

#[test]
fn kill_forms_and_replies() {
    let (mut db, registry) = with_registry();
    let kill = |db: &mut TestDb, args: &[&str]| {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        db.exec.dispatch(&mut db.session, &args, 0)
    };
    let (reply, done) = kill(&mut db, &["CLIENT", "KILL", "127.0.0.1:5002"]);
    assert_eq!((reply, done.flow), (ok(), Flow::Continue));
    let (reply, _) = kill(&mut db, &["CLIENT", "KILL", "127.0.0.1:9"]);
    assert_eq!(reply, err("ERR No such client"));
    // New form: skips the asker by default, counts.
    assert_eq!(
        kill(&mut db, &["CLIENT", "KILL", "TYPE", "normal"]).0,
        int(1)
    );
    assert_eq!(
        kill(&mut db, &["CLIENT", "KILL", "USER", "default", "ID", "1"]).0,
        int(0)
    );
    assert_eq!(*registry.killed.lock().unwrap(), [2, 2]);
    // Killing oneself: the reply, then the connection closes.
    let (reply, done) = kill(&mut db, &["CLIENT", "KILL", "ID", "1", "SKIPME", "no"]);
    assert_eq!((reply, done.flow), (int(1), Flow::Close));
    let (reply, done) = kill(&mut db, &["CLIENT", "KILL", "127.0.0.1:5001"]);
    assert_eq!((reply, done.flow), (ok(), Flow::Close));
}

#[test]
fn pause_hands_the_deadline_to_the_shell() {
    let (mut db, registry) = with_registry();
    assert_eq!(db.cmd(&["CLIENT", "PAUSE", "100"]), ok());
    assert_eq!(db.cmd(&["CLIENT", "PAUSE", "5", "write"]), ok());
    assert_eq!(db.cmd(&["CLIENT", "PAUSE", "0"]), ok());
    // As 7.0.15: no overflow check; the wrapped end is already past.
    assert_eq!(db.cmd(&["CLIENT", "PAUSE", "9223372036854775807"]), ok());
    let now = db.now_ms;
    assert_eq!(
        *registry.paused.lock().unwrap(),
        [
            (now + 100, PauseMode::All),
            (now + 5, PauseMode::Write),
            (0, PauseMode::All),
            (0, PauseMode::All)
        ]
    );
    assert_eq!(db.cmd(&["CLIENT", "UNPAUSE"]), ok());
    assert!(registry.paused.lock().unwrap().is_empty());
}
