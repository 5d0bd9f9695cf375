//! The command line: `myongoredis [redis.conf] [--flag value ...]`, as
//! redis-server's.
//!
//! Two kinds of flags. The shell's own (`--mode`, `--trace`, ...) are
//! fields of [`Args`]. Every configuration parameter of the registry
//! (`myongoredis_core::config::PARAMS`: `--port`, `--bind`, `--timeout`,
//! `--maxclients`, `--tcp-keepalive`, `--hz`, ...) is a flag generated from
//! its row, checked by the row's own parser, and applied after the config
//! file, so a flag overrides the file as it does for redis-server.

use std::path::PathBuf;

use clap::{Arg, ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use myongoredis_core::config::PARAMS;
use myongoredis_core::Mode;

/// A Redis-compatible key-value server built to make lock contention
/// visible: the same server runs with one mutex, one RwLock, or N shards.
///
/// The shell's own flags; [`Invocation`] is the whole command line.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Args {
    /// Locking strategy for the keyspace.
    #[arg(long, value_enum, default_value_t = ModeArg::Mutex)]
    pub mode: ModeArg,

    /// Number of shards (locks) in shard mode.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub shards: u32,

    /// I/O model: a thread per connection (the seed's baseline), or
    /// `--io-threads` event loops, each serving many connections.
    #[arg(long, value_enum, default_value_t = IoArg::Threads)]
    pub io: IoArg,

    /// Event loops with `--io loop` (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub io_threads: Option<u32>,

    /// Deadline in milliseconds for a client that has sent part of a
    /// request and stalls (slowloris), or stops reading its replies.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub io_timeout: u64,

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

    /// Testing aid: protected mode treats every client as remote (not on
    /// the loopback interface), so its refusal can be tested on loopback.
    #[arg(long, hide = true)]
    pub debug_peers_are_remote: bool,

    /// Testing aid: the AOF's incr file "fills the disk" at this many
    /// bytes: a write that would grow it further fails with ENOSPC, as on
    /// a full disk, until the file is rewritten.
    #[arg(long, hide = true)]
    pub debug_aof_disk_full_at: Option<u64>,
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

/// How connections are served (see native/src/event_loop.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoArg {
    /// One thread per connection, blocking in `read`.
    Threads,
    /// N event loops (epoll), each owning its connections.
    Loop,
}

impl IoArg {
    pub fn name(self) -> &'static str {
        match self {
            IoArg::Threads => "threads",
            IoArg::Loop => "loop",
        }
    }
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

/// The whole command line.
#[derive(Debug)]
pub struct Invocation {
    pub args: Args,
    /// The redis.conf to read first (and CONFIG REWRITE writes back).
    pub config_file: Option<PathBuf>,
    /// `--name value` for registry parameters, checked, in table order.
    pub overrides: Vec<(&'static str, String)>,
}

/// The parser: [`Args`] plus a positional config file plus one flag per
/// registry parameter.
fn command() -> clap::Command {
    let mut command = Args::command().arg(
        Arg::new("config-file")
            .value_name("REDIS.CONF")
            .value_parser(clap::value_parser!(PathBuf))
            .help("A config file in redis.conf syntax, read before the flags"),
    );
    for param in PARAMS {
        command = command.arg(
            Arg::new(param.name)
                .long(param.name)
                .value_name("VALUE")
                .help(param.help)
                // `--save ""`, and a negative number reaches the row's
                // parser to be refused with Redis's message.
                .allow_hyphen_values(true)
                .value_parser(move |text: &str| param.parse(text).map(|_| text.to_string())),
        );
    }
    command
}

/// Parse `std::env::args`; on a bad command line print clap's message and
/// exit (2, or 0 for `--help` and `--version`).
pub fn parse() -> Invocation {
    let matches = command().get_matches();
    invocation(&matches).unwrap_or_else(|e| e.exit())
}

fn invocation(matches: &ArgMatches) -> Result<Invocation, clap::Error> {
    Ok(Invocation {
        args: Args::from_arg_matches(matches)?,
        config_file: matches.get_one::<PathBuf>("config-file").cloned(),
        overrides: PARAMS
            .iter()
            .filter_map(|p| Some((p.name, matches.get_one::<String>(p.name)?.clone())))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_from(words: &[&str]) -> Result<Invocation, clap::Error> {
        let matches = command()
            .try_get_matches_from(std::iter::once("myongoredis").chain(words.iter().copied()))?;
        invocation(&matches)
    }

    #[test]
    fn registry_flags_and_a_config_file() {
        let inv = parse_from(&[
            "/etc/redis.conf",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--mode",
            "shard",
            "--shards",
            "4",
            "--timeout",
            "5",
            "--save",
            "",
            "--hz",
            "50",
        ])
        .expect("valid");
        assert_eq!(inv.config_file, Some(PathBuf::from("/etc/redis.conf")));
        assert_eq!(inv.args.mode, ModeArg::Shard);
        assert_eq!(inv.args.shards, 4);
        assert_eq!(
            inv.overrides,
            [
                ("bind", "127.0.0.1".to_string()),
                ("hz", "50".to_string()),
                ("port", "0".to_string()),
                ("save", String::new()),
                ("timeout", "5".to_string()),
            ]
        );
        let plain = parse_from(&[]).expect("valid");
        assert!(plain.config_file.is_none() && plain.overrides.is_empty());
    }

    #[test]
    fn values_are_checked_by_the_registry() {
        for (words, reason) in [
            (
                &["--port", "70000"][..],
                "argument must be between 0 and 65535 inclusive",
            ),
            (
                &["--timeout", "-1"][..],
                "argument must be between 0 and 2147483647 inclusive",
            ),
            (
                &["--maxclients", "x"][..],
                "argument couldn't be parsed into an integer",
            ),
            (&["--daemonize", "yes"][..], "only 'no' is supported"),
            (
                &["--maxmemory-samples", "0"][..],
                "argument must be between 1 and 2147483647 inclusive",
            ),
        ] {
            let err = parse_from(words).expect_err("refused").to_string();
            assert!(err.contains(reason), "{words:?}: {err}");
        }
        assert!(parse_from(&["--nosuch", "1"]).is_err());
        assert!(parse_from(&["--io-timeout", "0"]).is_err());
    }
}
