//! `myongoredis-sim-guest`: myongoredis-core as a WASI command.
//!
//! stdin: a capture (header and records, already in sequence order and
//! without gaps; the host sorts and checks them). stdout: one outcome line
//! per record that produces one (see `myongoredis_core::replay::Outcome`).
//! Or AOF files to load (`myongoredis_core::aof::REPLAY_MAGIC` first):
//! stdout is then the keyspace they give, as `aof::replay` writes it.
//! The whole replay logic is `myongoredis_core::replay::Replayer`, the same
//! code the host runs natively; this file only moves bytes.
//!
//! Exit status: 0 after the last record; 2 if the input is not a
//! capture (the reason on stderr); 3 if stdout could not be written (the
//! host's output pipe is full).
//!
//! It never reads a clock or asks for randomness, and the host would not
//! give it real ones anyway: its WASI context is deterministic.

use std::io::{Read, Write};
use std::process::ExitCode;

use myongoredis_core::{aof, capture};
use myongoredis_core::replay::Replayer;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("myongoredis-sim-guest: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    // An AOF to load (`myongoredis-sim load-aof`): the keyspace it gives.
    if input.starts_with(aof::REPLAY_MAGIC) {
        let state = aof::decode_replay_input(&input).and_then(|files| aof::replay(&files));
        return match state {
            Ok(state) => match std::io::stdout().lock().write_all(&state) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("myongoredis-sim-guest: cannot write stdout: {e}");
                    ExitCode::from(3)
                }
            },
            Err(e) => {
                eprintln!("myongoredis-sim-guest: {e}");
                ExitCode::from(2)
            }
        };
    }
    let capture = match capture::decode(&input) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("myongoredis-sim-guest: {e}");
            return ExitCode::from(2);
        }
    };
    drop(input);
    let mut replayer = Replayer::new(&capture.header);
    // Outcomes are gathered and written with one call: a write is a host
    // call, and one per record would cost more than the replay itself.
    let mut out = Vec::with_capacity(capture.records.len() * 16);
    for record in &capture.records {
        if let Some(outcome) = replayer.apply(record) {
            outcome.encode(&mut out);
        }
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(&out).and_then(|()| stdout.flush()) {
        eprintln!("myongoredis-sim-guest: cannot write stdout: {e}");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
