//! `--io loop` where it differs from a thread per connection: one loop
//! thread serves many clients, so nothing one client waits for may stall
//! the loop's others. Each test runs a single loop (`--io-threads 1`), so
//! every client shares it, in each lock mode.
//!
//! (Everything else, from the differential corpus to pub/sub, runs under
//! both models: scripts/test runs the server's integration tests a second
//! time with `MYONGOREDIS_TEST_IO=loop`.)

use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess, MODES};

const ONE_LOOP: &[&str] = &["--io", "loop", "--io-threads", "1"];

fn request(words: &[&str]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    myongoredis_core::resp::encode_request(&args, &mut out);
    out.to_vec()
}

fn call(raw: &mut Raw, words: &[&str]) -> Frame {
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    raw.call(&args)
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// Wait until CLIENT LIST shows `n` clients with flag `b` (blocked in a
/// pop, or held by a pause).
fn wait_flagged_b(probe: &mut Raw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Frame::Bulk(list) = call(probe, &["CLIENT", "LIST"]) else {
            panic!("CLIENT LIST");
        };
        let flagged = String::from_utf8_lossy(&list)
            .lines()
            .filter(|l| {
                l.split(' ')
                    .any(|f| f.starts_with("flags=") && f.contains('b'))
            })
            .count();
        if flagged >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{flagged} of {n} flagged b");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_start_up_line_names_the_io_model() {
    let server = ServerProcess::start("shard", ONE_LOOP);
    let mut probe = Raw::connect(server.addr);
    assert_eq!(call(&mut probe, &["PING"]), Frame::Simple("PONG".into()));
    drop(server);
    let out = std::process::Command::new(myongoredis_testsupport::server_binary())
        .args(["--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--io <IO>") && help.contains("--io-threads"),
        "{help}"
    );
}

#[test]
fn a_blocked_pop_does_not_stall_its_loop() {
    for mode in MODES {
        let server = ServerProcess::start(mode, ONE_LOOP);
        let mut consumer = Raw::connect(server.addr);
        let mut other = Raw::connect(server.addr);
        consumer.send_raw(&request(&["BLPOP", "jobs", "0"]));
        wait_flagged_b(&mut other, 1);
        // The loop that holds the blocked client serves its neighbour.
        assert_eq!(call(&mut other, &["SET", "k", "v"]), ok(), "{mode}");
        assert_eq!(call(&mut other, &["GET", "k"]), Frame::bulk(b"v"), "{mode}");
        assert_eq!(
            call(&mut other, &["LPUSH", "jobs", "j1"]),
            Frame::Integer(1)
        );
        assert_eq!(
            consumer.read_frame(),
            Some(Frame::Array(vec![Frame::bulk(b"jobs"), Frame::bulk(b"j1")])),
            "{mode}"
        );
        // And a timeout fires while nobody else talks to the loop.
        assert_eq!(
            call(&mut consumer, &["BLPOP", "empty", "0.05"]),
            Frame::NullArray,
            "{mode}"
        );
    }
}

#[test]
fn a_pause_holds_writes_while_reads_and_unpause_go_through() {
    for mode in MODES {
        let server = ServerProcess::start(mode, ONE_LOOP);
        let mut admin = Raw::connect(server.addr);
        let mut writer = Raw::connect(server.addr);
        assert_eq!(
            call(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"]),
            ok()
        );
        writer.send_raw(&request(&["SET", "k", "held"]));
        wait_flagged_b(&mut admin, 1);
        // Same loop: a read is served while the write waits, and so is
        // the UNPAUSE that releases it. Were the loop asleep in the
        // writer's pause, this would hang for the pause's 60 seconds.
        assert_eq!(call(&mut admin, &["GET", "k"]), Frame::Null, "{mode}");
        assert_eq!(call(&mut admin, &["CLIENT", "UNPAUSE"]), ok());
        assert_eq!(writer.read_frame(), Some(ok()), "{mode}");
        assert_eq!(call(&mut admin, &["GET", "k"]), Frame::bulk(b"held"));
    }
}

/// `used_memory_rss` from INFO memory.
fn rss(probe: &mut Raw) -> u64 {
    let Frame::Bulk(info) = call(probe, &["INFO", "memory"]) else {
        panic!("INFO");
    };
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("used_memory_rss:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory_rss")
}

#[test]
fn a_client_that_stops_reading_neither_stalls_the_loop_nor_grows_without_bound() {
    let server = ServerProcess::start("shard", ONE_LOOP);
    let mut probe = Raw::connect(server.addr);
    let value = "x".repeat(1 << 20);
    assert_eq!(call(&mut probe, &["SET", "big", &value]), ok());
    let before = rss(&mut probe);
    // 400 MB of replies asked for, none read.
    let mut greedy = Raw::connect(server.addr);
    let gets: Vec<u8> = (0..400).flat_map(|_| request(&["GET", "big"])).collect();
    greedy.send_raw(&gets);
    for i in 0..50 {
        assert_eq!(
            call(&mut probe, &["SET", &format!("k{i}"), "v"]),
            ok(),
            "the loop serves others while one client's replies back up"
        );
    }
    let grown = rss(&mut probe).saturating_sub(before);
    assert!(
        grown < 100 << 20,
        "RSS grew by {grown} bytes holding a slow reader's replies"
    );
    // The replies were held, not lost: the first one arrives whole.
    assert_eq!(greedy.read_frame(), Some(Frame::bulk(value.as_bytes())));
}

#[test]
fn two_thousand_clients_share_two_loops() {
    let server = ServerProcess::start("shard", &["--io", "loop", "--io-threads", "2"]);
    let mut clients: Vec<Raw> = (0..2000).map(|_| Raw::connect(server.addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send_raw(&request(&["SET", &format!("key:{i}"), &i.to_string()]));
    }
    for c in &mut clients {
        assert_eq!(c.read_frame(), Some(ok()));
    }
    let mut probe = Raw::connect(server.addr);
    assert_eq!(call(&mut probe, &["DBSIZE"]), Frame::Integer(2000));
    let Frame::Bulk(info) = call(&mut probe, &["INFO", "clients"]) else {
        panic!("INFO");
    };
    assert!(
        String::from_utf8_lossy(&info).contains("connected_clients:2001"),
        "{}",
        String::from_utf8_lossy(&info)
    );
    for (i, c) in clients.iter_mut().enumerate().step_by(97) {
        assert_eq!(
            call(c, &["GET", &format!("key:{i}")]),
            Frame::bulk(i.to_string().as_bytes())
        );
    }
}
