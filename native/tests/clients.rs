//! Connection-level commands against the real binary: requirepass and
//! AUTH, protected mode, CLIENT LIST / KILL / PAUSE / REPLY across live
//! connections. Loopback only; every wait is for a condition, bounded by a
//! generous deadline, never a measured duration.

use std::thread;
use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess};

/// How long a test waits for a condition another thread brings about.
const CONDITION_DEADLINE: Duration = Duration::from_secs(30);

fn ok() -> Frame {
    Frame::ok()
}

fn err(text: &str) -> Frame {
    Frame::Error(text.as_bytes().to_vec().into())
}

fn bulk(text: &str) -> Frame {
    Frame::bulk(text.as_bytes())
}

fn call(con: &mut Raw, args: &[&str]) -> Frame {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    con.call(&args)
}

/// CLIENT LIST's lines, each as its `key=value` fields.
fn client_list(con: &mut Raw) -> Vec<Vec<(String, String)>> {
    let Frame::Bulk(text) = call(con, &["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST is a bulk string in RESP2")
    };
    String::from_utf8_lossy(&text)
        .lines()
        .map(|line| {
            line.split(' ')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn field<'l>(client: &'l [(String, String)], key: &str) -> &'l str {
    client
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {client:?}"))
}

/// The CLIENT LIST entry of client `id`, if it is connected.
fn entry(con: &mut Raw, id: i64) -> Option<Vec<(String, String)>> {
    client_list(con)
        .into_iter()
        .find(|c| field(c, "id") == id.to_string())
}

fn client_id(con: &mut Raw) -> i64 {
    match call(con, &["CLIENT", "ID"]) {
        Frame::Integer(id) => id,
        other => panic!("CLIENT ID gave {other:?}"),
    }
}

/// Poll until `condition` holds; false if it never did within the deadline.
fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < CONDITION_DEADLINE {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

const NOAUTH: &str = "NOAUTH Authentication required.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

#[test]
fn requirepass_makes_clients_authenticate_and_a_new_password_applies_to_new_auths() {
    let server = ServerProcess::start("shard", &["--requirepass", "secret"]);
    let mut a = Raw::connect(server.addr);
    assert_eq!(call(&mut a, &["GET", "k"]), err(NOAUTH));
    assert_eq!(call(&mut a, &["AUTH", "wrong"]), err(WRONGPASS));
    assert_eq!(call(&mut a, &["SET", "k", "v"]), err(NOAUTH));
    assert_eq!(call(&mut a, &["AUTH", "secret"]), ok());
    assert_eq!(call(&mut a, &["SET", "k", "v"]), ok());
    let mut b = Raw::connect(server.addr);
    assert_eq!(call(&mut b, &["AUTH", "default", "secret"]), ok());
    assert_eq!(
        call(&mut a, &["CONFIG", "SET", "requirepass", "changed"]),
        ok()
    );
    // Clients already authenticated stay so.
    assert_eq!(call(&mut b, &["GET", "k"]), bulk("v"));
    // New ones must prove the new password.
    let mut c = Raw::connect(server.addr);
    assert_eq!(call(&mut c, &["AUTH", "secret"]), err(WRONGPASS));
    assert!(matches!(
        call(&mut c, &["HELLO", "3", "AUTH", "default", "changed"]),
        Frame::Map(_)
    ));
    assert_eq!(call(&mut c, &["GET", "k"]), bulk("v"));
    // RESET logs out.
    assert_eq!(call(&mut c, &["RESET"]), Frame::simple("RESET"));
    assert_eq!(call(&mut c, &["GET", "k"]), err(NOAUTH));
    // Without a password, a new client needs no AUTH.
    assert_eq!(call(&mut a, &["CONFIG", "SET", "requirepass", ""]), ok());
    let mut d = Raw::connect(server.addr);
    assert_eq!(call(&mut d, &["GET", "k"]), bulk("v"));
    // A client library with the password in its URL.
    let url = format!("redis://:changed@{}/", server.addr);
    assert_eq!(
        call(&mut a, &["CONFIG", "SET", "requirepass", "changed"]),
        ok()
    );
    let mut lib = redis::Client::open(url)
        .expect("url")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connects with its password");
    let v: String = redis::cmd("GET").arg("k").query(&mut lib).expect("GET");
    assert_eq!(v, "v");
}

#[test]
fn protected_mode_refuses_remote_clients_without_a_password() {
    const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.";
    // Every peer is treated as remote (a hidden testing flag): this is
    // what a client from another host would get.
    let server = ServerProcess::start("mutex", &["--debug-peers-are-remote"]);
    let mut refused = Raw::connect(server.addr);
    let Some(Frame::Error(reply)) = refused.read_frame() else {
        panic!("a refused client reads an error")
    };
    assert!(reply.starts_with(&DENIED[1..]), "{reply:?}");
    assert!(refused.is_closed());
    // A password, or protected mode off, lets them in.
    let server = ServerProcess::start(
        "mutex",
        &["--debug-peers-are-remote", "--requirepass", "pw"],
    );
    let mut con = Raw::connect(server.addr);
    assert_eq!(call(&mut con, &["AUTH", "pw"]), ok());
    let server = ServerProcess::start(
        "mutex",
        &["--debug-peers-are-remote", "--protected-mode", "no"],
    );
    let mut con = Raw::connect(server.addr);
    assert_eq!(call(&mut con, &["PING"]), Frame::simple("PONG"));
    // And on loopback, the default, nobody is refused.
    let server = ServerProcess::start("mutex", &[]);
    let mut con = Raw::connect(server.addr);
    assert_eq!(
        call(&mut con, &["CONFIG", "GET", "protected-mode"]),
        Frame::Array(vec![bulk("protected-mode"), bulk("yes")])
    );
}

#[test]
fn client_kill_closes_another_live_connection_at_once() {
    let server = ServerProcess::start("rw", &[]);
    let mut victim = Raw::connect(server.addr);
    let mut killer = Raw::connect(server.addr);
    let victim_id = client_id(&mut victim);
    assert_eq!(call(&mut victim, &["CLIENT", "SETNAME", "victim"]), ok());
    // Acknowledged before the kill: must survive it.
    assert_eq!(call(&mut victim, &["SET", "before-kill", "1"]), ok());
    let seen = entry(&mut killer, victim_id).expect("the victim is listed");
    assert_eq!(field(&seen, "name"), "victim");
    assert_eq!(field(&seen, "cmd"), "set");
    assert_eq!(field(&seen, "flags"), "N");
    assert_eq!(field(&seen, "user"), "default");
    // The victim is now blocked in a read: the kill must still close it.
    assert_eq!(
        call(
            &mut killer,
            &["CLIENT", "KILL", "ID", &victim_id.to_string()]
        ),
        Frame::Integer(1)
    );
    assert!(victim.is_closed(), "the killed client is closed");
    assert!(eventually(|| entry(&mut killer, victim_id).is_none()));
    assert_eq!(call(&mut killer, &["GET", "before-kill"]), bulk("1"));
    // The old form, by address, answers +OK.
    let mut other = Raw::connect(server.addr);
    let other_id = client_id(&mut other);
    let addr = field(&entry(&mut killer, other_id).expect("listed"), "addr").to_string();
    assert_eq!(call(&mut killer, &["CLIENT", "KILL", &addr]), ok());
    assert!(other.is_closed());
    assert_eq!(
        call(&mut killer, &["CLIENT", "KILL", &addr]),
        err("ERR No such client")
    );
    // Killing oneself: the reply arrives, then the connection closes.
    let me = client_id(&mut killer).to_string();
    assert_eq!(
        call(&mut killer, &["CLIENT", "KILL", "ID", &me, "SKIPME", "no"]),
        Frame::Integer(1)
    );
    assert!(killer.is_closed());
}

#[test]
fn client_pause_write_holds_writes_until_unpause() {
    let server = ServerProcess::start("shard", &[]);
    let mut admin = Raw::connect(server.addr);
    let mut writer = Raw::connect(server.addr);
    let writer_id = client_id(&mut writer);
    assert_eq!(
        call(&mut admin, &["CLIENT", "PAUSE", "600000", "WRITE"]),
        ok()
    );
    // Reads go on.
    assert_eq!(call(&mut writer, &["GET", "k"]), Frame::Null);
    // A write waits: the writer shows as blocked, and the key is unset.
    writer.send_raw(b"SET k v\r\n");
    assert!(eventually(
        || entry(&mut admin, writer_id).is_some_and(|c| field(&c, "flags") == "b")
    ));
    assert_eq!(call(&mut admin, &["GET", "k"]), Frame::Null);
    assert_eq!(call(&mut admin, &["CLIENT", "UNPAUSE"]), ok());
    assert_eq!(writer.read_frame(), Some(ok()));
    assert_eq!(call(&mut admin, &["GET", "k"]), bulk("v"));
    // A client held by a pause can be killed; its held command never runs.
    assert_eq!(
        call(&mut admin, &["CLIENT", "PAUSE", "600000", "WRITE"]),
        ok()
    );
    writer.send_raw(b"SET k changed\r\n");
    assert!(eventually(
        || entry(&mut admin, writer_id).is_some_and(|c| field(&c, "flags") == "b")
    ));
    assert_eq!(
        call(
            &mut admin,
            &["CLIENT", "KILL", "ID", &writer_id.to_string()]
        ),
        Frame::Integer(1)
    );
    assert!(writer.is_closed());
    assert!(eventually(|| entry(&mut admin, writer_id).is_none()));
    assert_eq!(call(&mut admin, &["CLIENT", "UNPAUSE"]), ok());
    assert_eq!(call(&mut admin, &["GET", "k"]), bulk("v"));
}

#[test]
fn client_pause_all_ends_at_its_deadline_and_held_commands_then_run() {
    let server = ServerProcess::start("mutex", &[]);
    let mut admin = Raw::connect(server.addr);
    let mut held = Raw::connect(server.addr);
    // A short pause (its length is not measured: only that it ends).
    assert_eq!(call(&mut admin, &["CLIENT", "PAUSE", "200", "ALL"]), ok());
    held.send_raw(b"SET after-pause 1\r\nGET after-pause\r\n");
    assert_eq!(held.read_frame(), Some(ok()));
    assert_eq!(held.read_frame(), Some(bulk("1")));
    assert_eq!(call(&mut admin, &["GET", "after-pause"]), bulk("1"));
}

#[test]
fn client_reply_off_and_skip_over_tcp() {
    let server = ServerProcess::start("mutex", &[]);
    let mut con = Raw::connect(server.addr);
    // Every reply that should be dropped would arrive before +OK and fail
    // the comparisons below.
    con.send_raw(
        b"CLIENT REPLY OFF\r\nSET k v\r\nGET k\r\nNOSUCH\r\nCLIENT REPLY ON\r\n\
          CLIENT REPLY SKIP\r\nGET k\r\nPING\r\n",
    );
    assert_eq!(con.read_frame(), Some(ok()));
    assert_eq!(con.read_frame(), Some(Frame::simple("PONG")));
    assert_eq!(call(&mut con, &["GET", "k"]), bulk("v"));
}
