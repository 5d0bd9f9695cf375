//! Blocking pops through real sockets: a blocked client wakes on another
//! client's push, clients blocked on one key are served first come first
//! served, a timeout answers nil, a client that leaves while blocked does
//! not swallow an element, and the waiting holds no lock (other clients'
//! commands on the same key run meanwhile).

use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess, MODES};

fn bulk(s: &str) -> Frame {
    Frame::bulk(s.as_bytes())
}

/// Send a command without reading its reply (it blocks).
fn send(raw: &mut Raw, words: &[&str]) {
    let mut out = bytes::BytesMut::new();
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    myongoredis_core::resp::encode_request(&args, &mut out);
    raw.send_raw(&out);
}

/// Wait until `n` clients are blocked (CLIENT LIST shows flag b).
fn wait_blocked(probe: &mut Raw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Frame::Bulk(list) = probe.call(&[b"CLIENT", b"LIST"]) else {
            panic!("CLIENT LIST");
        };
        let blocked = String::from_utf8_lossy(&list)
            .lines()
            .filter(|l| {
                l.split(' ')
                    .any(|f| f.starts_with("flags=") && f.contains('b'))
            })
            .count();
        if blocked >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{blocked} of {n} clients blocked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_push_wakes_the_oldest_waiter_first() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut probe = Raw::connect(server.addr);
        let mut first = Raw::connect(server.addr);
        send(&mut first, &["BLPOP", "jobs", "other", "0"]);
        wait_blocked(&mut probe, 1);
        let mut second = Raw::connect(server.addr);
        send(&mut second, &["BLPOP", "jobs", "0"]);
        wait_blocked(&mut probe, 2);
        // No lock is held while they wait.
        assert_eq!(probe.call(&[b"LLEN", b"jobs"]), Frame::Integer(0), "{mode}");
        assert_eq!(probe.call(&[b"RPUSH", b"jobs", b"j1"]), Frame::Integer(1));
        assert_eq!(
            first.read_frame(),
            Some(Frame::Array(vec![bulk("jobs"), bulk("j1")])),
            "{mode}: the oldest waiter gets the first job"
        );
        assert_eq!(probe.call(&[b"RPUSH", b"jobs", b"j2"]), Frame::Integer(1));
        assert_eq!(
            second.read_frame(),
            Some(Frame::Array(vec![bulk("jobs"), bulk("j2")]))
        );
        // The served clients work normally again.
        assert_eq!(first.call(&[b"PING"]), Frame::simple("PONG"));
    }
}

#[test]
fn timeouts_moves_and_sorted_sets() {
    let server = ServerProcess::start("shard", &[]);
    let mut probe = Raw::connect(server.addr);
    let mut c = Raw::connect(server.addr);
    assert_eq!(c.call(&[b"BRPOP", b"nothing", b"0.05"]), Frame::NullArray);
    // BLMOVE between two shards, woken by a push.
    send(&mut c, &["BLMOVE", "src:a", "dst:b", "LEFT", "RIGHT", "10"]);
    wait_blocked(&mut probe, 1);
    probe.call(&[b"LPUSH", b"src:a", b"x"]);
    assert_eq!(c.read_frame(), Some(bulk("x")));
    assert_eq!(
        probe.call(&[b"LRANGE", b"dst:b", b"0", b"-1"]),
        Frame::Array(vec![bulk("x")])
    );
    // BZPOPMAX, woken by ZADD.
    send(&mut c, &["BZPOPMAX", "board", "10"]);
    wait_blocked(&mut probe, 1);
    probe.call(&[b"ZADD", b"board", b"7", b"ann", b"9", b"bob"]);
    assert_eq!(
        c.read_frame(),
        Some(Frame::Array(vec![bulk("board"), bulk("bob"), bulk("9")]))
    );
}

#[test]
fn a_client_that_leaves_while_blocked_takes_nothing() {
    let server = ServerProcess::start("shard", &[]);
    let mut probe = Raw::connect(server.addr);
    let mut gone = Raw::connect(server.addr);
    send(&mut gone, &["BLPOP", "q", "0"]);
    wait_blocked(&mut probe, 1);
    let mut stays = Raw::connect(server.addr);
    send(&mut stays, &["BLPOP", "q", "0"]);
    wait_blocked(&mut probe, 2);
    drop(gone);
    // Once the server noticed, one client is left blocked.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Frame::Bulk(list) = probe.call(&[b"CLIENT", b"LIST"]) else {
            panic!("CLIENT LIST");
        };
        if String::from_utf8_lossy(&list).lines().count() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed client is still listed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    probe.call(&[b"RPUSH", b"q", b"only"]);
    assert_eq!(
        stays.read_frame(),
        Some(Frame::Array(vec![bulk("q"), bulk("only")]))
    );
}

/// K producers push distinct items while M consumers BRPOP them: every
/// item is delivered exactly once, in every mode.
#[test]
fn every_item_is_delivered_exactly_once() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 8;
    const ITEMS: usize = 250;
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let received = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..CONSUMERS {
                let (server, received) = (&server, &received);
                s.spawn(move || {
                    let mut c = Raw::connect(server.addr);
                    // Until the queue stays empty for a second: all done.
                    while let Frame::Array(reply) = c.call(&[b"BRPOP", b"queue", b"1"]) {
                        let Frame::Bulk(item) = &reply[1] else {
                            panic!("BRPOP replied {reply:?}");
                        };
                        received.lock().unwrap().push(item.to_vec());
                    }
                });
            }
            for p in 0..PRODUCERS {
                let server = &server;
                s.spawn(move || {
                    let mut c = Raw::connect(server.addr);
                    for i in 0..ITEMS {
                        let item = format!("p{p}:{i}");
                        c.call(&[b"LPUSH", b"queue", item.as_bytes()]);
                    }
                });
            }
        });
        let mut got = received.into_inner().unwrap();
        got.sort();
        let mut want: Vec<Vec<u8>> = (0..PRODUCERS)
            .flat_map(|p| (0..ITEMS).map(move |i| format!("p{p}:{i}").into_bytes()))
            .collect();
        want.sort();
        assert_eq!(got.len(), want.len(), "{mode}: items lost or duplicated");
        assert_eq!(got, want, "{mode}");
    }
}

#[test]
fn shutdown_answers_blocked_clients_before_closing() {
    for mode in MODES {
        let mut server = ServerProcess::start(mode, &[]);
        let mut probe = Raw::connect(server.addr);
        let mut waiter = Raw::connect(server.addr);
        send(&mut waiter, &["BLPOP", "jobs", "0"]);
        wait_blocked(&mut probe, 1);
        probe.send_raw(b"SHUTDOWN NOSAVE\r\n");
        assert_eq!(
            waiter.read_frame(),
            Some(Frame::error(
                myongoredis_core::blocking::UNBLOCKED_BY_SHUTDOWN
            )),
            "{mode}"
        );
        assert!(waiter.is_closed(), "{mode}: then the connection closes");
        assert!(
            server.wait_exit(Duration::from_secs(30)).is_some(),
            "{mode}: the server exits"
        );
    }
}
