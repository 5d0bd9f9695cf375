//! The GET/SET path allocates nothing per command in steady state.
//!
//! A counting global allocator (this test binary's own) counts every
//! `alloc` and `realloc` while one connection's [`Pipeline`] runs 10,000
//! pipelined SET and GET requests, after a warm-up that lets every buffer
//! reach its working size and every key exist. Arguments are slices of the
//! input buffer, the lock plan and key positions live in inline storage,
//! and replies are written straight into the output buffer: what is left
//! to allocate is only growth, which warm-up has done.
//!
//! Each lock mode is checked, with the observer the native server would
//! use replaced by [`NoObserver`] (the shell's own costs are the shell's).
//! Values are 16 bytes: a reply of up to 22 bytes is built inline
//! ([`myongoredis_core::Frame::ShortBulk`]); a longer GET reply costs one
//! copy of the value.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bytes::BytesMut;
use myongoredis_core::config::DEFAULT_DATABASES;
use myongoredis_core::resp::encode_request;
use myongoredis_core::{
    new_store, CaptureSink, Config, Executor, Flow, Mode, NoObserver, Pipeline, PlainShell,
};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is a side effect only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `rounds` × (SET key:i value:i, GET key:i), 16 per batch as
/// `redis-benchmark -P 16` sends them.
fn batches(rounds: usize) -> Vec<BytesMut> {
    let mut all = Vec::new();
    let mut batch = BytesMut::new();
    for i in 0..rounds {
        let key = format!("key:{:06}", i % 1000);
        let value = format!("value:{:010}", i);
        encode_request(&[b"SET", key.as_bytes(), value.as_bytes()], &mut batch);
        encode_request(&[b"GET", key.as_bytes()], &mut batch);
        if (i + 1) % 8 == 0 {
            all.push(std::mem::take(&mut batch));
        }
    }
    all.push(batch);
    all
}

fn run(exec: &Executor, pipeline: &mut Pipeline, out: &mut BytesMut, input: &[BytesMut]) -> usize {
    let mut replies = 0;
    for batch in input {
        pipeline.feed(batch);
        let (flow, executed) =
            pipeline.run_batch(exec, 1_700_000_000_000_000, out, &mut PlainShell);
        assert_eq!(flow, Flow::Continue);
        replies += executed;
        out.clear();
    }
    replies
}

#[test]
fn pipelined_get_and_set_allocate_nothing_in_steady_state() {
    for (mode, shards) in [(Mode::Mutex, 1), (Mode::Rw, 1), (Mode::Shard, 32)] {
        let exec = Executor::new(
            new_store(mode, shards, DEFAULT_DATABASES, Arc::new(NoObserver)),
            7,
            Config::with_defaults(),
        )
        // As the server runs without an AOF: a write's argv is built only
        // for a sink that takes it.
        .propagate_only_to_sinks();
        let mut pipeline = Pipeline::new(exec.new_session(), CaptureSink::Off);
        let mut out = BytesMut::with_capacity(64 * 1024);
        // Warm-up: every key exists, every buffer has grown.
        let warm = batches(4000);
        run(&exec, &mut pipeline, &mut out, &warm);
        let measured = batches(5000);
        ALLOCATIONS.store(0, Relaxed);
        COUNTING.store(true, Relaxed);
        let commands = run(&exec, &mut pipeline, &mut out, &measured);
        COUNTING.store(false, Relaxed);
        let allocations = ALLOCATIONS.load(Relaxed);
        assert_eq!(commands, 10_000);
        assert_eq!(
            allocations, 0,
            "{mode:?}: {allocations} allocations for {commands} commands"
        );
    }
}
