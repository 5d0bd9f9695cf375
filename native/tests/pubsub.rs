//! Pub/sub through real sockets: messages reach other clients' connections
//! (including ones idle in a read), in publish order, as RESP2 arrays or
//! RESP3 pushes; a subscriber that never reads is disconnected at its
//! output limit while the publisher never waits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, ServerProcess, MODES};

fn bulk(s: &str) -> Frame {
    Frame::bulk(s.as_bytes())
}

fn message(channel: &str, payload: &str) -> Frame {
    Frame::Array(vec![bulk("message"), bulk(channel), bulk(payload)])
}

#[test]
fn messages_reach_channel_and_pattern_subscribers_in_order() {
    for mode in MODES {
        let server = ServerProcess::start(mode, &[]);
        let mut sub = Raw::connect(server.addr);
        assert_eq!(
            sub.call(&[b"SUBSCRIBE", b"news"]),
            Frame::Array(vec![bulk("subscribe"), bulk("news"), Frame::Integer(1)])
        );
        let mut psub = Raw::connect(server.addr);
        psub.call(&[b"HELLO", b"3"]);
        assert_eq!(
            psub.call(&[b"PSUBSCRIBE", b"n*"]),
            Frame::Push(vec![bulk("psubscribe"), bulk("n*"), Frame::Integer(1)])
        );
        let mut publisher = Raw::connect(server.addr);
        for i in 0..100 {
            let payload = format!("m{i}");
            assert_eq!(
                publisher.call(&[b"PUBLISH", b"news", payload.as_bytes()]),
                Frame::Integer(2),
                "{mode}"
            );
        }
        for i in 0..100 {
            let payload = format!("m{i}");
            assert_eq!(sub.read_frame(), Some(message("news", &payload)), "{mode}");
            assert_eq!(
                psub.read_frame(),
                Some(Frame::Push(vec![
                    bulk("pmessage"),
                    bulk("n*"),
                    bulk("news"),
                    bulk(&payload)
                ])),
                "{mode}"
            );
        }
        assert_eq!(
            publisher.call(&[b"PUBSUB", b"NUMSUB", b"news"]),
            Frame::Array(vec![bulk("news"), Frame::Integer(1)])
        );
        // A subscriber that leaves stops counting.
        drop(sub);
        let deadline = Instant::now() + Duration::from_secs(30);
        while publisher.call(&[b"PUBLISH", b"news", b"x"]) != Frame::Integer(1) {
            assert!(
                Instant::now() < deadline,
                "{mode}: the closed subscriber still counts"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn fan_out_to_many_subscribers() {
    const SUBSCRIBERS: usize = 200;
    let server = ServerProcess::start("shard", &[]);
    let mut subs: Vec<Raw> = (0..SUBSCRIBERS)
        .map(|_| {
            let mut s = Raw::connect(server.addr);
            s.call(&[b"SUBSCRIBE", b"fan"]);
            s
        })
        .collect();
    let mut publisher = Raw::connect(server.addr);
    for i in 0..10 {
        let payload = format!("p{i}");
        assert_eq!(
            publisher.call(&[b"PUBLISH", b"fan", payload.as_bytes()]),
            Frame::Integer(SUBSCRIBERS as i64)
        );
    }
    for sub in &mut subs {
        for i in 0..10 {
            assert_eq!(sub.read_frame(), Some(message("fan", &format!("p{i}"))));
        }
    }
}

/// A subscriber that never reads fills its socket, then its outbox; past
/// 32 MB it is disconnected. Every PUBLISH is answered meanwhile: the
/// publisher never waits for it.
#[test]
fn a_subscriber_that_never_reads_is_dropped_at_its_limit() {
    let server = ServerProcess::start("shard", &[]);
    let mut slow = TcpStream::connect(server.addr).expect("connects");
    slow.write_all(b"SUBSCRIBE flood\r\n").expect("sends");
    let mut publisher = Raw::connect(server.addr);
    // Subscribed once PUBLISH counts it; from then on it reads nothing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while publisher.call(&[b"PUBLISH", b"flood", b"hello"]) != Frame::Integer(1) {
        assert!(
            Instant::now() < deadline,
            "the subscription never took effect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let payload = vec![b'x'; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut published = 0;
    loop {
        let receivers = publisher.call(&[b"PUBLISH", b"flood", &payload]);
        published += 1;
        if receivers == Frame::Integer(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still subscribed after {published} messages"
        );
        // 64 kB × 1,024 = 64 MB, past the 32 MB limit plus socket buffers.
        assert!(published < 4096, "never disconnected");
    }
    assert!(
        published > 32 * 16,
        "dropped before its limit: {published} messages"
    );
    // What reached the socket before the limit can still be read; then
    // the connection ends.
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut chunk = vec![0u8; 1 << 16];
    let closed = loop {
        match slow.read(&mut chunk) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) => {
                break e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut
            }
        }
    };
    assert!(closed, "the subscriber's connection stayed open");
}
