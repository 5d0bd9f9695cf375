//! # myongoredis-sim
//!
//! The deterministic simulator: the same `myongoredis-core` that serves
//! clients in the native server, compiled to `wasm32-wasip1` (the guest,
//! `wasm-sim/guest`) and run here inside wasmtime.
//!
//! * `replay DIR` takes a capture written by `myongoredis --capture DIR`
//!   and replays it in the guest in sequence order, each command with the
//!   clock reading it saw, comparing every reply byte for byte.
//! * `simulate --seed S` generates a seeded multi-client workload, runs it
//!   natively in this process and in the guest, and demands identical
//!   bytes; a failing seed is a one-line reproducer.
//!
//! The guest runs with a deterministic WASI context (no real clock or
//! randomness reachable) and a fuel budget, so a hang is reported rather
//! than waited for. See `guest.rs`.
//!
//! Never: talk to the network, or let the wall clock into a replay (the
//! host measures its own speed, nothing more).

pub mod aof;
pub mod guest;
pub mod replay;
pub mod simulate;
pub mod workload;

use std::path::PathBuf;

/// Everything that can stop the simulator short of a divergence.
#[derive(Debug)]
pub enum SimError {
    Io {
        path: PathBuf,
        reason: String,
    },
    /// A capture that cannot be read: the file, and the line/record.
    Capture {
        path: PathBuf,
        reason: String,
    },
    Guest(guest::GuestError),
    /// The guest's stdout is not a list of outcomes.
    GuestOutput(String),
    Usage(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Io { path, reason } => write!(f, "{}: {reason}", path.display()),
            SimError::Capture { path, reason } => write!(f, "{}: {reason}", path.display()),
            SimError::Guest(e) => e.fmt(f),
            SimError::GuestOutput(e) => write!(f, "unreadable guest output: {e}"),
            SimError::Usage(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for SimError {}

impl From<guest::GuestError> for SimError {
    fn from(e: guest::GuestError) -> Self {
        SimError::Guest(e)
    }
}
