//! Structured: an arbitrary command sequence, sent to a fresh store and to
//! the reference model, must get the same replies and leave the same state
//! (the check of the `model` property test, shared through the library).
#![no_main]

use libfuzzer_sys::fuzz_target;
use myongoredis_proptests::command::Command;
use myongoredis_proptests::harness::{check_against_model, Target};

fuzz_target!(|input: (u8, Vec<Command>)| {
    let (pick, commands) = input;
    // Long sequences add little beyond what shorter ones already reach.
    let commands = &commands[..commands.len().min(64)];
    let target = Target::ALL[usize::from(pick) % Target::ALL.len()];
    if let Err(report) = check_against_model(target, commands) {
        panic!("{report}");
    }
});
