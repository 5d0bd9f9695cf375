//! EXEC throughput: N clients each run `MULTI; INCR a; INCR b; EXEC` on a
//! random pair of K keys, as fast as the server answers, for a while.
//! Point it at any server (myongoredis in any mode, or redis-server) and
//! compare the rates side by side, in one run, alternating.
//!
//!     cargo run --release -p myongoredis-bench --example transactions -- 127.0.0.1:6379 [clients] [keys] [seconds]
//!
//! Every EXEC's reply is checked (two integers), so a wrong answer fails
//! the run instead of counting as throughput. Prints transactions per
//! second.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use myongoredis_core::resp::{encode_request, parse_frame};
use myongoredis_core::Frame;

use common::arg;

mod common;

fn main() {
    let addr = common::addr();
    let clients: u64 = arg(2, 50);
    let keys: u64 = arg(3, 1000);
    let seconds: u64 = arg(4, 10);
    let done = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (addr, done, total) = (&addr, &done, &total);
            s.spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connects");
                stream.set_nodelay(true).expect("nodelay");
                let mut state = c.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut next = move || {
                    // xorshift64: a cheap, per-client random stream.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state
                };
                let (mut out, mut buf) = (BytesMut::new(), Vec::new());
                let mut chunk = vec![0u8; 4096];
                while !done.load(Relaxed) {
                    let (a, b) = (
                        format!("k:{}", next() % keys),
                        format!("k:{}", next() % keys),
                    );
                    out.clear();
                    encode_request(&[b"MULTI"], &mut out);
                    encode_request(&[b"INCR", a.as_bytes()], &mut out);
                    encode_request(&[b"INCR", b.as_bytes()], &mut out);
                    encode_request(&[b"EXEC"], &mut out);
                    stream.write_all(&out).expect("writes");
                    let mut replies = Vec::with_capacity(4);
                    while replies.len() < 4 {
                        match parse_frame(&buf) {
                            Ok(Some((frame, used))) => {
                                buf.drain(..used);
                                replies.push(frame);
                            }
                            Ok(None) => {
                                let n = stream.read(&mut chunk).expect("reads");
                                assert!(n > 0, "the server closed the connection");
                                buf.extend_from_slice(&chunk[..n]);
                            }
                            Err(e) => panic!("bad reply: {e:?}"),
                        }
                    }
                    match &replies[3] {
                        Frame::Array(r)
                            if r.len() == 2 && r.iter().all(|f| matches!(f, Frame::Integer(_))) => {
                        }
                        other => panic!("EXEC replied {other:?}"),
                    }
                    total.fetch_add(1, Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_secs(seconds));
        done.store(true, Relaxed);
    });
    let secs = start.elapsed().as_secs_f64();
    let n = total.load(Relaxed);
    println!(
        "{n} transactions in {secs:.1} s: {:.0} EXEC/s ({clients} clients, {keys} keys)",
        n as f64 / secs
    );
}
