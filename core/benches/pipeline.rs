//! What a command costs the engine, without sockets: the path a pipelined
//! GET/SET takes through [`Pipeline`] (parse, look up, plan locks, lock,
//! run, signal, encode), per lock mode, and the request parser alone.
//!
//! `cargo bench -p myongoredis-core --bench pipeline`. The server's own
//! figures (with sockets, against redis-server) come from
//! `bench/scripts/io.sh` and `myongoredis-bench`; this isolates the part
//! the lock modes and the allocation diet change.

use std::hint::black_box;
use std::sync::Arc;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use myongoredis_core::config::DEFAULT_DATABASES;
use myongoredis_core::resp::{encode_request, parse_request_in};
use myongoredis_core::{
    new_store, CaptureSink, Config, Executor, Mode, NoObserver, Pipeline, PlainShell,
};

const NOW_US: u64 = 1_700_000_000_000_000;

/// 8 × (SET key:i value, GET key:i): one `redis-benchmark -P 16` batch.
fn batch(round: usize) -> BytesMut {
    let mut out = BytesMut::new();
    for i in 0..8 {
        let key = format!("key:{:06}", (round * 8 + i) % 10_000);
        encode_request(&[b"SET", key.as_bytes(), b"value:0000000001"], &mut out);
        encode_request(&[b"GET", key.as_bytes()], &mut out);
    }
    out
}

fn pipeline(c: &mut Criterion) {
    let batches: Vec<BytesMut> = (0..1250).map(batch).collect();
    let mut group = c.benchmark_group("pipeline-16");
    group.throughput(Throughput::Elements(16));
    for (name, mode, shards) in [
        ("mutex", Mode::Mutex, 1),
        ("rw", Mode::Rw, 1),
        ("shard", Mode::Shard, 32),
    ] {
        let exec = Executor::new(
            new_store(mode, shards, DEFAULT_DATABASES, Arc::new(NoObserver)),
            7,
            Config::with_defaults(),
        )
        .propagate_only_to_sinks();
        let mut pipeline = Pipeline::new(exec.new_session(), CaptureSink::Off);
        let mut out = BytesMut::with_capacity(64 * 1024);
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                pipeline.feed(&batches[next % batches.len()]);
                next += 1;
                let ran = pipeline.run_batch(&exec, NOW_US, &mut out, &mut PlainShell);
                out.clear();
                black_box(ran)
            })
        });
    }
    group.finish();
}

fn parser(c: &mut Criterion) {
    let mut request = BytesMut::new();
    encode_request(&[b"SET", b"key:000042", b"value:0000000001"], &mut request);
    let mut ranges = Vec::new();
    c.bench_function("parse SET", |b| {
        b.iter(|| black_box(parse_request_in(black_box(&request), &mut ranges)))
    });
}

criterion_group!(benches, pipeline, parser);
criterion_main!(benches);
