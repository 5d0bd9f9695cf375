//! Pub/sub fan-out: S subscribers on one channel, one publisher sending M
//! messages of B bytes; reports messages delivered per second (S x M over
//! the time from the first PUBLISH to the last message received by the
//! last subscriber). Run it against myongoredis and redis-server side by
//! side.
//!
//!     cargo run --release -p myongoredis-bench --example fanout -- 127.0.0.1:6379 [subscribers] [messages] [bytes]

use std::io::Write;
use std::net::TcpStream;
use std::sync::Barrier;
use std::time::Instant;

use bytes::BytesMut;
use common::{arg, read_frame};
use myongoredis_core::resp::encode_request;
use myongoredis_core::Frame;

mod common;

fn main() {
    let addr = common::addr();
    let subscribers: usize = arg(2, 1000);
    let messages: usize = arg(3, 1000);
    let bytes: usize = arg(4, 100);
    let payload = vec![b'x'; bytes];
    // Every subscriber connected and subscribed before the first PUBLISH.
    let ready = Barrier::new(subscribers + 1);
    let start = std::sync::OnceLock::<Instant>::new();
    let finish = std::thread::scope(|s| {
        let handles: Vec<_> = (0..subscribers)
            .map(|_| {
                let (addr, ready) = (&addr, &ready);
                s.spawn(move || {
                    let mut stream = TcpStream::connect(addr).expect("connects");
                    let mut out = BytesMut::new();
                    encode_request(&[b"SUBSCRIBE", b"fan"], &mut out);
                    stream.write_all(&out).expect("writes");
                    let mut buf = Vec::new();
                    read_frame(&mut stream, &mut buf);
                    ready.wait();
                    for _ in 0..messages {
                        match read_frame(&mut stream, &mut buf) {
                            Frame::Array(m) | Frame::Push(m) if m.len() == 3 => {}
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                    Instant::now()
                })
            })
            .collect();
        ready.wait();
        let mut publisher = TcpStream::connect(&addr).expect("connects");
        let mut buf = Vec::new();
        let mut out = BytesMut::new();
        start.set(Instant::now()).expect("once");
        for _ in 0..messages {
            out.clear();
            encode_request(&[b"PUBLISH", b"fan", &payload], &mut out);
            publisher.write_all(&out).expect("writes");
            match read_frame(&mut publisher, &mut buf) {
                Frame::Integer(n) if n as usize == subscribers => {}
                other => panic!("PUBLISH replied {other:?}, {subscribers} subscribers"),
            }
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("subscriber"))
            .max()
    });
    let start = *start.get().expect("started");
    let secs = finish
        .expect("subscribers")
        .duration_since(start)
        .as_secs_f64();
    let delivered = subscribers * messages;
    println!(
        "{delivered} messages of {bytes} B to {subscribers} subscribers in {secs:.2} s: {:.0} deliveries/s",
        delivered as f64 / secs
    );
}
