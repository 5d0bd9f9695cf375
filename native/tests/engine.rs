//! The engine through real sockets: the real binary on an ephemeral
//! loopback port, driven by the `redis` crate (and a raw RESP client where
//! exact bytes matter), in each of the three lock modes.

use std::thread;
use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess, MODES};
use redis::{Commands, Value};

fn bulk(s: &str) -> Frame {
    Frame::bulk(s.as_bytes())
}

#[test]
fn string_commands_in_every_mode() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut con = server.client();
        let _: () = con.set("greeting", "hello").unwrap();
        assert_eq!(con.get::<_, String>("greeting").unwrap(), "hello", "{mode}");
        assert_eq!(con.append::<_, _, i64>("greeting", " world").unwrap(), 11);
        assert_eq!(con.strlen::<_, i64>("greeting").unwrap(), 11);
        assert_eq!(
            con.getrange::<_, String>("greeting", 0, 4).unwrap(),
            "hello"
        );
        assert_eq!(
            con.setrange::<_, _, i64>("greeting", 6, "WORLD").unwrap(),
            11
        );
        assert_eq!(
            con.getset::<_, _, String>("greeting", "x").unwrap(),
            "hello WORLD"
        );
        assert_eq!(con.get_del::<_, String>("greeting").unwrap(), "x");
        assert!(!con.exists::<_, bool>("greeting").unwrap());
        assert_eq!(con.incr::<_, _, i64>("n", 1).unwrap(), 1);
        assert_eq!(con.incr::<_, _, i64>("n", 41).unwrap(), 42);
        assert_eq!(con.decr::<_, _, i64>("n", 2).unwrap(), 40);
        let f: String = redis::cmd("INCRBYFLOAT")
            .arg("f")
            .arg("10.5")
            .query(&mut con)
            .unwrap();
        assert_eq!(f, "10.5");
        let f: String = redis::cmd("INCRBYFLOAT")
            .arg("f")
            .arg("0.1")
            .query(&mut con)
            .unwrap();
        assert_eq!(f, "10.6");
        // MSET/MGET span several shards in shard mode.
        let pairs: Vec<(String, String)> = (0..20)
            .map(|i| (format!("m{i}"), format!("v{i}")))
            .collect();
        let _: () = con.mset(&pairs).unwrap();
        let keys: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
        let values: Vec<String> = con.mget(&keys).unwrap();
        assert_eq!(
            values,
            pairs.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()
        );
        assert!(!con
            .mset_nx::<_, _, bool>(&[("m0", "a"), ("fresh", "b")])
            .unwrap());
        assert!(!con.exists::<_, bool>("fresh").unwrap());
        assert!(con.set_nx::<_, _, bool>("fresh", "b").unwrap());
        assert!(!con.setbit::<_, bool>("bits", 7, true).unwrap());
        assert!(con.getbit::<_, bool>("bits", 7).unwrap());
        assert_eq!(con.bitcount::<_, i64>("bits").unwrap(), 1);
        let _: () = con.set_ex("ttl", "v", 100).unwrap();
        let _: () = con.pset_ex("pttl", "v", 100_000).unwrap();
        let v: Option<String> = redis::cmd("GETEX")
            .arg("ttl")
            .arg("PERSIST")
            .query(&mut con)
            .unwrap();
        assert_eq!(v.as_deref(), Some("v"));
        assert_eq!(con.ttl::<_, i64>("ttl").unwrap(), -1);
        assert!(con.pttl::<_, i64>("pttl").unwrap() > 99_000);
        let old: Option<String> = redis::cmd("SET")
            .arg("fresh")
            .arg("c")
            .arg("GET")
            .query(&mut con)
            .unwrap();
        assert_eq!(old.as_deref(), Some("b"));
    }
}

#[test]
fn keyspace_and_expire_commands_in_every_mode() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut con = server.client();
        for i in 0..50 {
            let _: () = con.set(format!("user:{i}"), i).unwrap();
        }
        let _: () = con.set("other", 1).unwrap();
        assert_eq!(
            con.exists::<_, i64>(&["user:1", "user:1", "nope"]).unwrap(),
            2,
            "{mode}"
        );
        let mut keys: Vec<String> = con.keys("user:*").unwrap();
        keys.sort();
        assert_eq!(keys.len(), 50);
        let mut scanned: Vec<String> = con
            .scan_match::<_, String>("user:*")
            .unwrap()
            .map(|k| k.unwrap())
            .collect();
        scanned.sort();
        scanned.dedup();
        assert_eq!(scanned, keys);
        assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 51);
        let t: String = redis::cmd("TYPE").arg("other").query(&mut con).unwrap();
        assert_eq!(t, "string");
        let r: Option<String> = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        assert!(r.is_some());
        let _: () = con.rename("user:0", "renamed").unwrap();
        assert!(!con.rename_nx::<_, _, bool>("user:1", "renamed").unwrap());
        assert_eq!(con.del::<_, i64>(&["user:1", "user:2", "nope"]).unwrap(), 2);
        assert_eq!(con.unlink::<_, i64>("user:3").unwrap(), 1);
        assert!(con.expire::<_, bool>("user:4", 100).unwrap());
        assert!(con.pexpire::<_, bool>("user:5", 100_000).unwrap());
        assert!(con.expire_at::<_, bool>("user:6", 4_000_000_000).unwrap());
        assert!(con
            .pexpire_at::<_, bool>("user:7", 4_000_000_000_000)
            .unwrap());
        assert_eq!(con.ttl::<_, i64>("user:4").unwrap(), 100);
        assert_eq!(con.ttl::<_, i64>("nope").unwrap(), -2);
        assert_eq!(
            redis::cmd("EXPIRETIME")
                .arg("user:6")
                .query::<i64>(&mut con)
                .unwrap(),
            4_000_000_000
        );
        assert_eq!(
            redis::cmd("PEXPIRETIME")
                .arg("user:7")
                .query::<i64>(&mut con)
                .unwrap(),
            4_000_000_000_000
        );
        assert!(con.persist::<_, bool>("user:4").unwrap());
        assert_eq!(con.ttl::<_, i64>("user:4").unwrap(), -1);
        let nx: i64 = redis::cmd("EXPIRE")
            .arg("user:5")
            .arg(10)
            .arg("NX")
            .query(&mut con)
            .unwrap();
        assert_eq!(nx, 0);
        let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 0);
    }
}

#[test]
fn server_commands_and_exact_error_bytes() {
    let server = ServerProcess::start("shard", &[]);
    let mut raw = Raw::connect(server.addr);
    assert_eq!(raw.call(&[b"PING"]), Frame::simple("PONG"));
    assert_eq!(raw.call(&[b"ECHO", b"\x00\xff"]), Frame::bulk(b"\x00\xff"));
    assert_eq!(raw.call(&[b"SELECT", b"0"]), Frame::ok());
    assert_eq!(
        raw.call(&[b"SELECT", b"16"]),
        Frame::static_error("ERR DB index is out of range")
    );
    assert_eq!(
        raw.call(&[b"FOO", b"bar"]),
        Frame::static_error("ERR unknown command 'FOO', with args beginning with: 'bar' ")
    );
    assert_eq!(
        raw.call(&[b"GET"]),
        Frame::static_error("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(raw.call(&[b"SET", b"s", b"abc"]), Frame::ok());
    assert_eq!(
        raw.call(&[b"INCR", b"s"]),
        Frame::static_error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        raw.call(&[b"SET", b"s", b"v", b"EX", b"0"]),
        Frame::static_error("ERR invalid expire time in 'set' command")
    );
    assert_eq!(raw.call(&[b"CLIENT", b"SETNAME", b"it"]), Frame::ok());
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), bulk("it"));
    assert!(matches!(raw.call(&[b"CLIENT", b"ID"]), Frame::Integer(n) if n > 0));
    assert!(matches!(raw.call(&[b"TIME"]), Frame::Array(v) if v.len() == 2));
    assert_eq!(
        raw.call(&[b"COMMAND", b"COUNT"]),
        Frame::Integer(myongoredis_core::cmd::all().len() as i64)
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"appendonly"]),
        Frame::Array(vec![bulk("appendonly"), bulk("no")])
    );
    assert_eq!(raw.call(&[b"QUIT"]), Frame::ok());
    assert!(raw.is_closed());
}

#[test]
fn inline_commands_and_protocol_errors() {
    let server = ServerProcess::start("mutex", &[]);
    let mut raw = Raw::connect(server.addr);
    // The seed's load generator (tcpkali) sends inline commands.
    raw.send_raw(b"SET key-1 value\r\nGET key-1\r\nSET \"a b\" 'c d'\r\nGET \"a b\"\r\n");
    assert_eq!(raw.read_frame(), Some(Frame::ok()));
    assert_eq!(raw.read_frame(), Some(bulk("value")));
    assert_eq!(raw.read_frame(), Some(Frame::ok()));
    assert_eq!(raw.read_frame(), Some(bulk("c d")));
    // After a protocol error Redis replies and closes the connection.
    for (bad, text) in [
        (
            &b"*1\r\nx\r\n"[..],
            "ERR Protocol error: expected '$', got 'x'",
        ),
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
        (
            b"SET \"unterminated\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
    ] {
        let mut raw = Raw::connect(server.addr);
        raw.send_raw(bad);
        assert_eq!(raw.read_frame(), Some(Frame::static_error(text)));
        assert!(raw.is_closed(), "closed after {text}");
    }
    // A huge announced bulk is not a reason to allocate it.
    let mut raw = Raw::connect(server.addr);
    raw.send_raw(b"*2\r\n$3\r\nGET\r\n$2000000000\r\n");
    raw.send_raw(b"abc");
    let mut fine = Raw::connect(server.addr);
    assert_eq!(fine.call(&[b"PING"]), Frame::simple("PONG"));
}

#[test]
fn pipelined_batches_are_answered_in_order() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut con = server.client();
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.set(format!("p{i}"), i).ignore();
            pipe.incr(format!("p{i}"), 1);
        }
        let replies: Vec<i64> = pipe.query(&mut con).unwrap();
        assert_eq!(replies, (1..=1000).collect::<Vec<i64>>(), "{mode}");
        // Raw: 10,000 PINGs in one write, one buffer of replies back.
        let mut raw = Raw::connect(server.addr);
        raw.send_raw(&b"*1\r\n$4\r\nPING\r\n".repeat(10_000));
        for _ in 0..10_000 {
            assert_eq!(raw.read_frame(), Some(Frame::simple("PONG")));
        }
    }
}

#[test]
fn fifty_clients_incr_shared_keys_exactly() {
    const CLIENTS: usize = 50;
    const INCRS: usize = 200;
    const KEYS: usize = 5;
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        thread::scope(|s| {
            for c in 0..CLIENTS {
                let server = &server;
                s.spawn(move || {
                    let mut con = server.client();
                    for i in 0..INCRS {
                        let _: i64 = con.incr(format!("counter:{}", (c + i) % KEYS), 1).unwrap();
                    }
                });
            }
        });
        let mut con = server.client();
        let total: i64 = (0..KEYS)
            .map(|k| con.get::<_, i64>(format!("counter:{k}")).unwrap())
            .sum();
        assert_eq!(total, (CLIENTS * INCRS) as i64, "{mode}");
        for k in 0..KEYS {
            let v: i64 = con.get(format!("counter:{k}")).unwrap();
            assert_eq!(v, (CLIENTS * INCRS / KEYS) as i64, "{mode} counter:{k}");
        }
    }
}

#[test]
fn expiry_is_observed_through_the_socket() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut con = server.client();
        let set_at = Instant::now();
        let _: () = con.pset_ex("short", "v", 150).unwrap();
        // Still there, unless this machine was so slow that 150 ms passed
        // already (then its absence is right too, and proves less).
        let early = con.get::<_, Option<String>>("short").unwrap();
        assert!(
            early.as_deref() == Some("v") || set_at.elapsed() >= Duration::from_millis(150),
            "{mode}: {early:?}"
        );
        // Keys nobody reads again: only the active cycle can remove them.
        for i in 0..200 {
            let _: () = con.pset_ex(format!("dead:{i}"), "v", 100).unwrap();
        }
        let _: () = con.set("alive", "v").unwrap();
        thread::sleep(Duration::from_millis(250));
        assert_eq!(
            con.get::<_, Option<String>>("short").unwrap(),
            None,
            "{mode}"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
            if n == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{mode}: active expiry left {n} keys"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_panicking_command_only_closes_its_own_connection() {
    let server = ServerProcess::start("shard", &["--debug-panic-on", "echo"]);
    let mut bystander = server.client();
    let _: () = bystander.set("k", "before").unwrap();
    let mut victim = Raw::connect(server.addr);
    let reply = victim.call(&[b"ECHO", b"boom"]);
    assert!(reply.is_error(), "{reply:?}");
    assert!(victim.is_closed());
    let _: () = bystander.set("k", "after").unwrap();
    assert_eq!(bystander.get::<_, String>("k").unwrap(), "after");
    let mut newcomer = server.client();
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut newcomer).unwrap(),
        "PONG"
    );
    let v: Value = redis::cmd("DBSIZE").query(&mut newcomer).unwrap();
    assert_eq!(v, Value::Int(1));
}

/// The `redis` crate speaking RESP3 (`?protocol=resp3`: it opens with
/// `HELLO 3`), in every mode: the handshake, nulls, maps and verbatim text
/// arrive as RESP3 types; a second connection on RESP2 sees the same data
/// in RESP2 shapes.
#[test]
fn resp3_clients_handshake_with_hello_3_and_get_resp3_types() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let url = format!("redis://{}/?protocol=resp3", server.addr);
        let client = redis::Client::open(url).expect("valid url");
        let mut con = client
            .get_connection_with_timeout(Duration::from_secs(10))
            .expect("a RESP3 connection: HELLO 3 answered");
        con.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let _: () = con.set("k", "v").unwrap();
        let got: Option<String> = con.get("k").unwrap();
        assert_eq!(got.as_deref(), Some("v"), "{mode}");
        let missing: Value = redis::cmd("GET").arg("nope").query(&mut con).unwrap();
        assert_eq!(missing, Value::Nil, "{mode}");
        let config: Value = redis::cmd("CONFIG")
            .arg("GET")
            .arg("timeout")
            .query(&mut con)
            .unwrap();
        assert!(
            matches!(&config, Value::Map(pairs) if pairs.len() == 1),
            "{mode}: CONFIG GET in RESP3 is a map, got {config:?}"
        );
        let info: Value = redis::cmd("INFO").arg("keyspace").query(&mut con).unwrap();
        assert!(
            matches!(&info, Value::VerbatimString { text, .. } if text.contains("db0:keys=1")),
            "{mode}: INFO in RESP3 is verbatim text, got {info:?}"
        );
        // The raw bytes, as redis-server 7.0 writes them.
        let mut raw = Raw::connect(server.addr);
        raw.send_raw(b"HELLO 3\r\nGET nope\r\nCONFIG GET timeout\r\n");
        assert!(matches!(raw.read_frame(), Some(Frame::Map(m)) if m.len() == 7));
        assert_eq!(raw.read_frame(), Some(Frame::Null));
        assert_eq!(
            raw.read_frame(),
            Some(Frame::Map(vec![(bulk("timeout"), bulk("0"))]))
        );
        // RESP2 on another connection: the same map as a flat array.
        let mut plain = server.client();
        let config: Value = redis::cmd("CONFIG")
            .arg("GET")
            .arg("timeout")
            .query(&mut plain)
            .unwrap();
        assert_eq!(
            config,
            Value::Array(vec![
                Value::BulkString(b"timeout".to_vec()),
                Value::BulkString(b"0".to_vec())
            ]),
            "{mode}"
        );
    }
}

/// SELECT, MOVE, COPY and SWAPDB through the socket, with a database count
/// set on the command line; INFO keyspace lists each database with keys.
#[test]
fn databases_through_the_socket() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &["--databases", "4"]);
        let mut con = server.client();
        let _: () = con.set("k", "in0").unwrap();
        let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
        assert_eq!(con.get::<_, Option<String>>("k").unwrap(), None, "{mode}");
        let _: () = con.set_ex("k3", "in3", 100).unwrap();
        let err = redis::cmd("SELECT")
            .arg(4)
            .query::<()>(&mut con)
            .unwrap_err();
        assert!(
            err.to_string().contains("DB index is out of range"),
            "{mode}: {err}"
        );
        let moved: i64 = redis::cmd("MOVE").arg("k3").arg(1).query(&mut con).unwrap();
        assert_eq!(moved, 1);
        let swapped: String = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut con).unwrap();
        assert_eq!(swapped, "OK");
        let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
        assert_eq!(con.get::<_, String>("k3").unwrap(), "in3", "{mode}");
        assert!(con.ttl::<_, i64>("k3").unwrap() > 0);
        let copied: i64 = redis::cmd("COPY")
            .arg("k3")
            .arg("c")
            .arg("DB")
            .arg(2)
            .query(&mut con)
            .unwrap();
        assert_eq!(copied, 1);
        let info: String = redis::cmd("INFO").arg("keyspace").query(&mut con).unwrap();
        let lines: Vec<&str> = info.lines().filter(|l| l.starts_with("db")).collect();
        assert_eq!(lines.len(), 3, "{mode}: {info}");
        assert!(lines[0].starts_with("db0:keys=1,expires=1,"), "{info}");
        assert!(lines[1].starts_with("db1:keys=1,expires=0,"), "{info}");
        assert!(lines[2].starts_with("db2:keys=1,expires=1,"), "{info}");
    }
}

/// SWAPDB holds every lock while it swaps: a client reading keys spread
/// over every shard never sees some from one database and some from the
/// other, however the swaps and reads interleave.
#[test]
fn swapdb_is_atomic_for_every_client() {
    const KEYS: usize = 64;
    const SWAPS: usize = 300;
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut con = server.client();
        let keys: Vec<String> = (0..KEYS).map(|i| format!("key:{i}")).collect();
        for (db, value) in [(0, "zero"), (1, "one")] {
            let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
            let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value)).collect();
            let _: () = con.mset(&pairs).unwrap();
        }
        let done = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut con = server.client();
                let mut reads = 0;
                // At least one read, then as many as the swaps leave time for.
                while reads == 0 || !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let values: Vec<String> = con.mget(&keys).unwrap();
                    assert!(
                        values.iter().all(|v| v == &values[0]),
                        "{mode}: a read saw two databases at once: {values:?}"
                    );
                    reads += 1;
                }
                reads
            });
            let mut swapper = server.client();
            for _ in 0..SWAPS {
                let _: () = redis::cmd("SWAPDB")
                    .arg(0)
                    .arg(1)
                    .query(&mut swapper)
                    .unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
    }
}

/// EXEC holds the union of its commands' locks: a transaction that moves
/// one unit between two keys in different shards never shows a reader
/// (who MGETs both) a total other than the start's, in any mode.
#[test]
fn exec_is_atomic_for_every_client() {
    const TRANSFERS: usize = 300;
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut con = server.client();
        // In shard mode these two names live in different shards of 32.
        let (a, b) = ("account:a", "account:b");
        let _: () = con.mset(&[(a, 1000), (b, 1000)]).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut con = server.client();
                let mut reads = 0;
                while reads == 0 || !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let (x, y): (i64, i64) = con.mget(&[a, b]).unwrap();
                    assert_eq!(x + y, 2000, "{mode}: saw half a transaction");
                    reads += 1;
                }
                reads
            });
            let mut writer = server.client();
            for i in 0..TRANSFERS {
                let (from, to) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let (x, y): (i64, i64) = redis::pipe()
                    .atomic()
                    .decr(from, 1)
                    .incr(to, 1)
                    .query(&mut writer)
                    .unwrap();
                assert_eq!(x + y, 2000, "{mode}");
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
    }
}

/// WATCH as applications use it: optimistic check-and-set, retried on a
/// null EXEC. Eight clients incrementing one counter by GET + SET inside
/// WATCH/MULTI/EXEC lose no increment, in any mode.
#[test]
fn watch_check_and_set_loses_no_update() {
    const CLIENTS: usize = 8;
    const INCRS: usize = 50;
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let aborted = std::sync::atomic::AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..CLIENTS {
                let (server, aborted) = (&server, &aborted);
                s.spawn(move || {
                    let mut con = server.client();
                    for _ in 0..INCRS {
                        loop {
                            let _: () = redis::cmd("WATCH").arg("cas").query(&mut con).unwrap();
                            let n: Option<i64> = con.get("cas").unwrap();
                            let done: Option<(String,)> = redis::pipe()
                                .atomic()
                                .set("cas", n.unwrap_or(0) + 1)
                                .query(&mut con)
                                .unwrap();
                            if done.is_some() {
                                break;
                            }
                            aborted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let mut con = server.client();
        let total: i64 = con.get("cas").unwrap();
        assert_eq!(total, (CLIENTS * INCRS) as i64, "{mode}");
        eprintln!(
            "{mode}: {} EXECs failed on a watched change and were retried",
            aborted.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}
