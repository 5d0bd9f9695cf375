//! Parser + executor: arbitrary bytes as one connection's traffic to a
//! fresh store. Nothing may panic, whatever the commands do.
//!
//! The input is served as the connection's read buffer, unchanged (so the
//! seed corpus is raw captured traffic): at most [`MAX_COMMANDS`] commands,
//! the clock moving 1 ms per command. Its length picks the store (mutex,
//! rw, shard with 1, 2 or 32 shards), so every store sees every kind of
//! input. Every reply must be a well-formed RESP2 frame sequence.
//!
//! SETRANGE / SETBIT with offsets past 1 MiB are skipped (see
//! `small_memory`): half a gigabyte per command is Redis's documented
//! limit, and would only exhaust libFuzzer's memory budget.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use myongoredis_core::resp::parse_frame;
use myongoredis_proptests::command::T0_MS;
use myongoredis_proptests::harness::Target;
use myongoredis_proptests::wire::{serve, small_memory};

/// Bounds the work per input: a short input can hold many tiny commands.
const MAX_COMMANDS: usize = 256;

fuzz_target!(|traffic: &[u8]| {
    let target = Target::ALL[traffic.len() % Target::ALL.len()];
    let exec = target.executor(traffic.len() as u64);
    let mut session = exec.new_session();
    let mut out = BytesMut::new();
    let served = serve(
        &exec,
        &mut session,
        traffic,
        T0_MS * 1000,
        MAX_COMMANDS,
        small_memory,
        &mut out,
    );
    assert!(served.consumed <= traffic.len());
    // Then one run of the active-expiry cycle over what is left.
    exec.active_expire_cycle(T0_MS + 10_000);

    // The replies parse back as whole frames, one after the other.
    let mut replies = &out[..];
    while !replies.is_empty() {
        match parse_frame(replies) {
            Ok(Some((_, used))) => replies = &replies[used..],
            other => panic!(
                "malformed reply stream at {:?}: {other:?}",
                &replies[..replies.len().min(64)]
            ),
        }
    }
});
