//! `myongoredis`: a Redis-compatible server whose lock strategy is a flag,
//! as a library with one entry point, [`run`].
//!
//! This crate is the *shell*: it owns sockets, threads, signals, files and
//! the clock, and hands every command to `myongoredis_core`'s executor. It
//! must never decide a reply itself (that is core's, so the simulator
//! replays the same bytes) and never print to stdout on its own: the
//! start-up line is the caller's, told the bound address through
//! `on_ready`, so an embedding or a test learns the port without parsing
//! output. The `myongoredis` binary (`main.rs`) is a thin caller.
//!
//! Reading order: `server.rs` (the threads and their lifetimes),
//! `connection.rs` (one client), `clients.rs` (every client: CLIENT
//! LIST / KILL / PAUSE, protected mode), `limits.rs` and `shutdown.rs`; then what
//! it reports: `stats.rs` and `observer.rs` (counters), `snapshot.rs` (one
//! reading of them), `info.rs`, `metrics/` and `summary.rs` (three ways to
//! show it), `memory.rs`; and what it records: `trace.rs`, `capture.rs`.

mod aof;
mod capture;
pub mod cli;
mod clients;
mod clock;
mod cluster;
mod config_file;
mod connection;
mod event_loop;
mod hooks;
mod info;
mod limits;
mod memory;
mod metrics;
mod observer;
mod outbox;
mod rdb;
mod server;
mod shutdown;
mod snapshot;
mod stats;
mod summary;
mod trace;

use std::net::SocketAddr;

pub use cli::Invocation;
pub use config_file::LoadError;
pub use myongoredis_core::{Config, Mode};
pub use server::run;

/// What a server is started with: the command line and the configuration
/// registry built from it.
pub struct ServerConfig {
    pub invocation: Invocation,
    /// The registry's values at start-up (CONFIG GET reads them, CONFIG
    /// SET changes them while the server runs).
    pub registry: Config,
}

impl ServerConfig {
    /// The registry's values at start-up: defaults, then the config file
    /// (if any), then the `--name value` flags, as redis-server applies
    /// them. The error is redis-server's own message ([`LoadError::message`]).
    pub fn from_invocation(invocation: Invocation) -> Result<ServerConfig, LoadError> {
        let registry = Config::with_defaults();
        if let Some(path) = &invocation.config_file {
            config_file::load(&registry, path)?;
        }
        for (name, value) in &invocation.overrides {
            // Already checked by the flag's parser (the same row's).
            registry.set(name, value).map_err(|reason| {
                LoadError::Line(myongoredis_core::config::file::FileError {
                    line: 0,
                    text: format!("--{name} {value}"),
                    reason,
                })
            })?;
        }
        Ok(ServerConfig {
            invocation,
            registry,
        })
    }
}

/// The server is listening: what [`run`] tells `on_ready` before it
/// accepts the first client.
#[derive(Clone, Debug)]
pub struct Ready {
    /// The address really bound (`--port 0` picks a free port).
    pub addr: SocketAddr,
    /// The HTTP metrics endpoint's address, with `--metrics-addr`.
    pub metrics_addr: Option<SocketAddr>,
    pub mode: Mode,
    /// `--shards` (reported in shard mode only).
    pub shards: u32,
    /// The store's PRNG seed, so the run can be repeated with `--seed`.
    pub seed: u64,
    /// The I/O model (`threads` or `loop`) and, for `loop`, how many.
    pub io: &'static str,
    pub io_threads: usize,
}

impl Ready {
    /// `myongoredis 0.1.0 mode=shard shards=32 io=loop loops=2 seed=N
    /// listening on 127.0.0.1:6379`: the line CI, scripts and the test kit
    /// read.
    pub fn startup_line(&self) -> String {
        let io = match self.io {
            "loop" => format!("io=loop loops={}", self.io_threads),
            io => format!("io={io}"),
        };
        format!(
            "myongoredis {} {} {io} seed={} listening on {}",
            env!("CARGO_PKG_VERSION"),
            server::describe(self.mode, self.shards),
            self.seed,
            self.addr
        )
    }
}
