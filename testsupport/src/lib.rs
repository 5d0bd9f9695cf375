//! `myongoredis-testsupport`: what every integration test suite needs to
//! start a real process and talk to it.
//!
//! * [`ServerProcess`]: the real `myongoredis` binary on `--port 0`, its
//!   port read from the start-up line, killed when dropped.
//! * [`RealRedis`]: the Debian `redis-server`, the reference, on a free
//!   loopback port; a suite skips with a message when it is not installed.
//! * [`Raw`]: a raw RESP connection, for exact reply bytes that a client
//!   library would interpret away.
//!
//! It is a dev-dependency only and never published: nothing in a shipped
//! binary may depend on it. It must never bind anything but 127.0.0.1,
//! never leave a process running after its owner is dropped, and never
//! assert that something was fast: every wait here is for a condition,
//! with a generous deadline.

mod dump;
mod raw;
mod real_redis;
mod server_process;
mod temp_dir;

pub use dump::{dump, populate};
pub use raw::{Raw, CLOSE_DEADLINE};
pub use real_redis::RealRedis;
pub use server_process::{server_binary, ServerProcess, IO_ENV};
pub use temp_dir::TempDir;

/// The three lock strategies, for tests that run once per mode.
pub const MODES: [&str; 3] = ["mutex", "rw", "shard"];

/// Send a command with the `redis` crate and return its raw reply value.
pub fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}
