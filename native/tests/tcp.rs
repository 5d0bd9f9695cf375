//! The TCP shell under hostile and unusual clients: real sockets, real
//! signals, loopback only, every test bounded in time.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess, CLOSE_DEADLINE};

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn slowloris_clients_are_cut_and_others_are_served() {
    let server = ServerProcess::start("shard", &["--io-timeout", "1000"]);
    let started = Instant::now();
    let mut stalled: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).expect("connect");
            s.write_all(b"*3\r\n$3\r\nSET").expect("partial request");
            s.set_read_timeout(Some(CLOSE_DEADLINE)).unwrap();
            s
        })
        .collect();
    // A well-behaved client is served while they stall.
    let mut good = server.client();
    for i in 0..100 {
        let _: () = redis::cmd("SET").arg("k").arg(i).query(&mut good).unwrap();
    }
    // Every stalled client is closed after the I/O deadline, without
    // having received any reply.
    for s in stalled.iter_mut() {
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("stalled client got {other:?}"),
        }
    }
    // Not before the deadline: a lower bound, which a slow machine only
    // makes easier to meet (the upper bound is CLOSE_DEADLINE, generous).
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "cut before the 1000 ms I/O deadline (900: two clocks): {elapsed:?}"
    );
    let v: i64 = redis::cmd("GET").arg("k").query(&mut good).unwrap();
    assert_eq!(v, 99);
}

/// A client that keeps sending one byte every 20 ms never completes its
/// request (it announces a 1000-byte value and sends at most 100 bytes of
/// it), so only the I/O deadline, measured from the request's first byte,
/// can close it: the server must close the connection while bytes still
/// arrive, long before the client runs out of bytes.
#[test]
fn a_trickling_client_is_cut_even_though_bytes_keep_coming() {
    let server = ServerProcess::start("mutex", &["--io-timeout", "500"]);
    let mut s = TcpStream::connect(server.addr).expect("connect");
    let request = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n";
    // Enough trickle to outlast the deadline many times over, yet never a
    // whole request.
    let trickle = request.chunks(1).chain(std::iter::repeat_n(&b"x"[..], 900));
    let mut refused = false;
    for chunk in trickle {
        if s.write_all(chunk).is_err() {
            refused = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        refused,
        "the server took 18 s of trickling without closing the connection"
    );
    let mut buf = [0u8; 8];
    s.set_read_timeout(Some(CLOSE_DEADLINE)).unwrap();
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("trickling client got {other:?}"),
    }
}

#[test]
fn maxclients_rejects_with_redis_error_and_frees_slots() {
    let server = ServerProcess::start("rw", &["--maxclients", "10"]);
    let mut clients: Vec<Raw> = (0..10).map(|_| Raw::connect(server.addr)).collect();
    for c in clients.iter_mut() {
        assert_eq!(c.call(&[b"PING"]), Frame::simple("PONG"));
    }
    let mut eleventh = Raw::connect(server.addr);
    assert_eq!(
        eleventh.read_frame(),
        Some(Frame::static_error("ERR max number of clients reached"))
    );
    assert!(eleventh.is_closed());
    // One client quits; a new one is accepted.
    let mut leaving = clients.pop().expect("ten clients");
    assert_eq!(leaving.call(&[b"QUIT"]), Frame::ok());
    assert!(leaving.is_closed());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut newcomer = Raw::connect(server.addr);
        match newcomer.call(&[b"PING"]) {
            f if f == Frame::simple("PONG") => break,
            f => {
                assert!(f.is_error(), "{f:?}");
                assert!(Instant::now() < deadline, "slot never freed");
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// `--timeout 2`: a client silent for two seconds is closed, one that
/// sends a PING every 200 ms (ten times within the timeout) is not.
#[test]
fn idle_clients_are_closed_and_active_ones_are_not() {
    let server = ServerProcess::start("shard", &["--timeout", "2"]);
    let mut idle = Raw::connect(server.addr);
    let mut active = Raw::connect(server.addr);
    assert_eq!(idle.call(&[b"PING"]), Frame::simple("PONG"));
    let done = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|scope| {
        let pinger = scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(active.call(&[b"PING"]), Frame::simple("PONG"));
                thread::sleep(Duration::from_millis(200));
            }
        });
        let closed = idle.is_closed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        pinger
            .join()
            .expect("the active client was served throughout");
        assert!(closed, "idle client still open after {:?}", CLOSE_DEADLINE);
    });
    assert_eq!(active.call(&[b"PING"]), Frame::simple("PONG"));
}

/// 20 clients pipeline INCRs on their own counters; SIGTERM arrives in the
/// middle. Every reply a client received is whole, the replies of each
/// client count 1, 2, 3, ... without a gap (no acknowledged command lost),
/// and the process exits 0.
#[test]
fn sigterm_under_load_loses_no_acknowledged_reply() {
    let dir = std::env::temp_dir().join(format!("myongoredis-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = ServerProcess::start("shard", &["--capture", dir.to_str().unwrap()]);
    let addr = server.addr;
    let received: Vec<(usize, usize)> = thread::scope(|s| {
        let workers: Vec<_> = (0..20)
            .map(|c| {
                s.spawn(move || {
                    let mut stream = TcpStream::connect(addr).expect("connect");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let batch = format!("*2\r\n$4\r\nINCR\r\n$4\r\nc{c:03}\r\n").repeat(64);
                    let (mut got, mut buf) = (0usize, Vec::new());
                    let mut chunk = [0u8; 65536];
                    'outer: loop {
                        if stream.write_all(batch.as_bytes()).is_err() {
                            break;
                        }
                        let target = got + 64;
                        while got < target {
                            match stream.read(&mut chunk) {
                                Ok(0) | Err(_) => break 'outer,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                            while let Ok(Some((frame, used))) =
                                myongoredis_core::resp::parse_frame(&buf)
                            {
                                buf.drain(..used);
                                got += 1;
                                assert_eq!(frame, Frame::Integer(got as i64), "client {c}");
                            }
                        }
                    }
                    assert!(buf.is_empty(), "client {c} saw a truncated reply: {buf:?}");
                    (c, got)
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(500));
        send_signal(server.pid(), "TERM");
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
    let total: usize = received.iter().map(|(_, got)| got).sum();
    for (c, got) in &received {
        assert!(
            *got >= 64,
            "client {c} got only {got} replies before shutdown"
        );
    }
    // The final state written: the capture holds every command the
    // server executed. Each client must have received exactly as many
    // replies as INCRs were executed on its key: every acknowledged reply
    // is in the final state, and every executed command was answered.
    let log = std::fs::read(dir.join("capture.log")).expect("capture written on shutdown");
    let capture = myongoredis_core::capture::decode(&log).expect("capture decodes");
    assert_eq!(
        capture.truncated_tail, 0,
        "a graceful shutdown closes the capture cleanly"
    );
    for (c, got) in &received {
        let key = format!("$4\r\nc{c:03}\r\n");
        let executed = capture
            .records
            .iter()
            .filter(|r| match r {
                myongoredis_core::capture::Record::Command(cmd) => {
                    cmd.request.windows(key.len()).any(|w| w == key.as_bytes())
                }
                _ => false,
            })
            .count();
        assert_eq!(
            executed, *got,
            "client {c}: executed {executed}, received {got}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "graceful shutdown: {} clients received {total} INCR replies, each client's \
         contiguous from 1, none truncated, equal to the INCRs in the capture; exit 0",
        received.len()
    );
}

#[test]
fn shutdown_command_stops_the_server_cleanly() {
    let mut server = ServerProcess::start("mutex", &[]);
    let mut bystander = Raw::connect(server.addr);
    assert_eq!(bystander.call(&[b"SET", b"k", b"v"]), Frame::ok());
    let mut admin = Raw::connect(server.addr);
    admin.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
    assert_eq!(admin.read_frame(), None, "no reply, the connection closes");
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
    assert!(bystander.is_closed());
}

#[test]
fn a_taken_port_is_a_one_line_error_and_exit_1() {
    let server = ServerProcess::start("mutex", &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_myongoredis"))
        .args(["--port", &server.addr.port().to_string()])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot listen on 127.0.0.1:"), "{stderr}");
}
