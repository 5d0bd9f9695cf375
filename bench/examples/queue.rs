//! A job queue: P producers RPUSH N jobs each onto one list, C consumers
//! take them with BLPOP (timeout 0, so a consumer waits while the queue
//! is empty); reports jobs delivered per second, from the first push to
//! the last job received. Every job is checked to arrive exactly once.
//! Run it against myongoredis and redis-server side by side.
//!
//!     cargo run --release -p myongoredis-bench --example queue -- 127.0.0.1:6379 [consumers] [producers] [jobs per producer]
//!
//! Producers push one job per request (no pipelining), as a web worker
//! enqueueing a job would; consumers are blocked most of the time when
//! producers are the bottleneck, so this measures the wake-up path: a
//! push, the waiter woken, its retried pop, the reply.

use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Instant;

use common::{arg, call};
use myongoredis_core::Frame;

mod common;

fn main() {
    let addr = common::addr();
    let consumers: usize = arg(2, 50);
    let producers: usize = arg(3, 4);
    let jobs: usize = arg(4, 25_000);
    let total = producers * jobs;
    let key = b"bench:queue";
    {
        let mut setup = TcpStream::connect(&addr).expect("connects");
        call(&mut setup, &mut Vec::new(), &[b"DEL", key]);
    }
    // Every consumer connected before the first push.
    let ready = Barrier::new(consumers + producers);
    let taken = AtomicUsize::new(0);
    let start = std::sync::OnceLock::<Instant>::new();
    let (seen, finish) = std::thread::scope(|s| {
        let consumer_handles: Vec<_> = (0..consumers)
            .map(|_| {
                let (addr, ready, taken) = (&addr, &ready, &taken);
                s.spawn(move || {
                    let mut stream = TcpStream::connect(addr).expect("connects");
                    let mut buf = Vec::new();
                    let mut got = Vec::new();
                    ready.wait();
                    // A consumer stops once every job is taken: the last
                    // one to notice pushes a "stop" for each other one.
                    loop {
                        match call(&mut stream, &mut buf, &[b"BLPOP", key, b"0"]) {
                            Frame::Array(kv) if kv.len() == 2 => {
                                let Frame::Bulk(job) = &kv[1] else {
                                    panic!("BLPOP replied {kv:?}")
                                };
                                if &job[..] == b"stop" {
                                    break;
                                }
                                got.push(job.clone());
                                if taken.fetch_add(1, Ordering::Relaxed) + 1 == total {
                                    let mut args: Vec<&[u8]> = vec![b"RPUSH", key];
                                    args.extend(std::iter::repeat_n(&b"stop"[..], consumers - 1));
                                    if consumers > 1 {
                                        call(&mut stream, &mut buf, &args);
                                    }
                                    break;
                                }
                            }
                            other => panic!("BLPOP replied {other:?}"),
                        }
                    }
                    (got, Instant::now())
                })
            })
            .collect();
        for p in 0..producers {
            let (addr, ready, start) = (&addr, &ready, &start);
            s.spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connects");
                let mut buf = Vec::new();
                ready.wait();
                let _ = start.set(Instant::now());
                for j in 0..jobs {
                    let job = format!("job:{p}:{j}");
                    match call(&mut stream, &mut buf, &[b"RPUSH", key, job.as_bytes()]) {
                        Frame::Integer(_) => {}
                        other => panic!("RPUSH replied {other:?}"),
                    }
                }
            });
        }
        let mut seen = Vec::with_capacity(total);
        let mut finish = None;
        for h in consumer_handles {
            let (got, at) = h.join().expect("consumer");
            seen.extend(got);
            finish = finish.max(Some(at));
        }
        (seen, finish.expect("consumers"))
    });
    let before = seen.len();
    let mut seen = seen;
    seen.sort();
    seen.dedup();
    assert!(
        seen.len() == before && before == total,
        "{before} jobs received, {} distinct, {total} pushed",
        seen.len()
    );
    let secs = finish
        .duration_since(*start.get().expect("started"))
        .as_secs_f64();
    println!(
        "{total} jobs from {producers} producers to {consumers} BLPOP consumers in {secs:.2} s: {:.0} jobs/s",
        total as f64 / secs
    );
}
