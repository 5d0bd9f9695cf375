//! Command-line flags, named like redis-server's configuration directives.

use clap::{Parser, ValueEnum};
use myongoredis_core::Mode;

/// A Redis-compatible key-value server built to make lock contention
/// visible: the same server runs with one mutex, one RwLock, or N shards.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Args {
    /// TCP port to listen on; 0 picks a free port (printed at start-up).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,

    /// Locking strategy for the keyspace.
    #[arg(long, value_enum, default_value_t = ModeArg::Mutex)]
    pub mode: ModeArg,

    /// Number of shards (locks) in shard mode.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub shards: u32,

    /// Close a client after it has been idle this many seconds (0 = never),
    /// as redis-server's `timeout`.
    #[arg(long, default_value_t = 0)]
    pub timeout: u64,

    /// Deadline in milliseconds for a client that has sent part of a
    /// request and stalls (slowloris), or stops reading its replies.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub io_timeout: u64,

    /// Maximum number of connected clients; the next one receives
    /// "-ERR max number of clients reached" and is closed.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub maxclients: u64,

    /// TCP keepalive interval in seconds (0 = off), as redis-server's
    /// `tcp-keepalive`: dead peers are detected and their slots freed.
    #[arg(long, default_value_t = 300)]
    pub tcp_keepalive: u64,

    /// Record a Chrome Trace Event timeline of lock waits and holds,
    /// commands and socket I/O to FILE (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<String>,

    /// Record one command in N in the trace (1 = every command).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub trace_sample: u64,

    /// Serve /debug/vars (expvar JSON) and /metrics (Prometheus) over HTTP
    /// on this address, e.g. 127.0.0.1:9121. Off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,

    /// Record every connection's traffic (requests, replies, clock
    /// readings, global order) to DIR/capture.log, for
    /// `myongoredis-sim replay DIR`.
    #[arg(long, value_name = "DIR")]
    pub capture: Option<String>,

    /// Seed of the store's PRNG (RANDOMKEY, expiry sampling); random if not
    /// given. Printed at start-up so a run can be repeated.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Testing aid: a command name whose execution panics, to prove that a
    /// panic is contained to its connection.
    #[arg(long, hide = true)]
    pub debug_panic_on: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One global mutex: every command waits for every other.
    Mutex,
    /// One RwLock: reads share the lock, a write excludes everyone.
    Rw,
    /// N mutexes chosen by FNV-1a(key) % N: only same-shard commands wait.
    Shard,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Mutex => Mode::Mutex,
            ModeArg::Rw => Mode::Rw,
            ModeArg::Shard => Mode::Shard,
        }
    }
}
