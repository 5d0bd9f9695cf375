//! `myongoredis`: a Redis-compatible server whose lock strategy is a flag.
//!
//! This binary is the *shell*: it owns sockets, threads, signals and the
//! clock, and hands every command to `myongoredis_core`'s executor. See
//! `server.rs` for the thread structure and `connection.rs` for the
//! per-client loop.

mod capture;
mod cli;
mod clock;
mod config_file;
mod connection;
mod hooks;
mod limits;
mod metrics;
mod observer;
mod server;
mod shutdown;
mod stats;
mod trace;

fn main() {
    let invocation = cli::parse();
    let config = match server::configure(&invocation) {
        Ok(config) => config,
        Err(e) => {
            // redis-server's own words, and its exit status.
            eprint!("{}", e.message());
            std::process::exit(1);
        }
    };
    match server::run(invocation, config) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("myongoredis: {e}");
            std::process::exit(1);
        }
    }
}
