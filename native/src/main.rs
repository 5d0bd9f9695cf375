//! `myongoredis`: a Redis-compatible server whose lock strategy is a flag.
//!
//! This binary is the *shell*: it owns sockets, threads, signals and the
//! clock, and hands every command to `myongoredis_core`'s executor. See
//! `server.rs` for the thread structure and `connection.rs` for the
//! per-client loop.

mod capture;
mod cli;
mod clock;
mod connection;
mod hooks;
mod limits;
mod metrics;
mod observer;
mod server;
mod shutdown;
mod stats;
mod trace;

use clap::Parser;

fn main() {
    let args = cli::Args::parse();
    match server::run(args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("myongoredis: {e}");
            std::process::exit(1);
        }
    }
}
