//! Command-line flags of `myongoredis-bench`.
//!
//! The defaults reproduce the seed's experiment: 50 clients, 10 seconds,
//! every mode, every workload, three alternating repeats.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::workload::WorkloadKind;

/// Load myongoredis in each lock mode (and, for reference, a real
/// redis-server) with the same workloads, and write `results.json` plus a
/// self-contained `report.html` that shows where the time went.
#[derive(Debug, Parser)]
#[command(version, after_long_help = WORKLOAD_HELP)]
pub struct Args {
    /// The myongoredis server binary to start once per mode [default: the
    /// `myongoredis` next to this executable].
    #[arg(long, value_name = "PATH")]
    pub server: Option<PathBuf>,

    /// Lock modes to start the server in, one server per mode.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "mutex,rw,shard"
    )]
    pub modes: Vec<ModeName>,

    /// I/O models to start each mode's server with (`--io`): a thread per
    /// connection, event loops, or both (the experiment's second axis:
    /// one row per mode × model, labelled `shard/loop`).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "threads")]
    pub io: Vec<IoName>,

    /// `--io-threads N` for servers with `--io loop` [default: the server's
    /// own, the number of cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub io_threads: Option<u32>,

    /// `--shards N` for the server in shard mode [default: the server's own, 32].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub shards: Option<u32>,

    /// Drive an already running server at HOST:PORT instead of starting one
    /// per mode (it is not stopped afterwards; its keys are overwritten).
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["server", "shards"])]
    pub target: Option<SocketAddr>,

    /// Also start this redis-server (`--port P --save '' --appendonly no`)
    /// as a reference row.
    #[arg(long, value_name = "PATH")]
    pub redis_server: Option<PathBuf>,

    /// Workloads to run (see below).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "seed,read-heavy,hot-key,uniform"
    )]
    pub workloads: Vec<WorkloadKind>,

    /// Concurrent connections, one load thread each.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub clients: u32,

    /// Requests each client sends before reading their replies (1 = wait
    /// for every reply, as the seed's clients effectively did).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub pipeline: u32,

    /// Length of each run: `10s`, `1.5s`, `500ms`, `2m`, or plain seconds.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Size of the shared key space of read-heavy and uniform.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub keys: u64,

    /// Bytes per value written by SET; the default, 5, is the seed's `value`.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub value_size: u32,

    /// Runs per mode and workload. Modes alternate (ABCABC...) so that noise
    /// from the machine falls on all of them alike; the report shows the
    /// median and the spread.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,

    /// Open loop, as tcpkali: per connection a writer thread streams
    /// requests without waiting and a reader thread verifies the replies.
    #[arg(long)]
    pub open_loop: bool,

    /// Directory for results.json, report.html and the servers' logs.
    #[arg(long, default_value = "bench-out", value_name = "DIR")]
    pub out: PathBuf,

    /// Have each mode's server record a contention trace
    /// (`--trace DIR/trace-MODE.json --trace-sample N`, one command in N),
    /// linked from the report with how to open it in Perfetto.
    #[arg(long, value_name = "N")]
    pub trace_sample: Option<u64>,

    /// Seed of the clients' key choices [default: from the clock; recorded
    /// in results.json so a run can be repeated].
    #[arg(long)]
    pub seed: Option<u64>,

    /// Instead of the report: run our generator and redis-benchmark in
    /// turns (--repeat rounds of --duration each) on one server (shard
    /// mode, or the one mode given with --modes, or --target), with the uniform
    /// workload, and print both rates, their ratio, and the CPU each
    /// generator and the server spent per request, which explains it.
    /// Try `--pipeline 16`, where the server's work dominates.
    #[arg(long, conflicts_with_all = ["redis_server", "trace_sample", "open_loop"])]
    pub cross_check: bool,

    /// The redis-benchmark for --cross-check [default: from PATH].
    #[arg(long, value_name = "PATH", requires = "cross_check")]
    pub redis_benchmark: Option<PathBuf>,

    /// No progress bars and no per-run lines (for CI); the summary table is
    /// still printed.
    #[arg(long)]
    pub quiet: bool,
}

/// The server's `--io` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoName {
    /// A thread per connection.
    Threads,
    /// Event loops.
    Loop,
}

impl IoName {
    pub fn as_str(self) -> &'static str {
        match self {
            IoName::Threads => "threads",
            IoName::Loop => "loop",
        }
    }
}

/// The server's `--mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeName {
    /// One global mutex.
    Mutex,
    /// One RwLock.
    Rw,
    /// N FNV-1a sharded mutexes.
    Shard,
}

impl ModeName {
    pub fn as_str(self) -> &'static str {
        match self {
            ModeName::Mutex => "mutex",
            ModeName::Rw => "rw",
            ModeName::Shard => "shard",
        }
    }
}

const WORKLOAD_HELP: &str = "\
Workloads (--workloads, comma-separated):
  seed        The seed's experiment, what its tcpkali line meant: client N sends the
              inline commands `SET key-N value\\r\\n` and `GET key-N\\r\\n` in turn, on
              its own key, so clients never touch each other's data and only the
              locks make them wait. The GET must return the value just set.
  read-heavy  90 % GET / 10 % SET on keys drawn uniformly from a shared space of
              --keys keys (filled before the first run): where rw should shine.
  hot-key     Every client on the same 4 keys, 50 % GET / 50 % SET: where sharding
              cannot help, because 4 keys live in at most 4 shards.
  uniform     50 % GET / 50 % SET on keys drawn uniformly from --keys keys.

All but seed send RESP multibulk, as client libraries do. Every reply is checked
(SET must answer +OK, GET the value or nil) and mismatches are counted as errors.
Throughput counts commands (a seed SET+GET pair is two).

Lock-wait share: the growth of the server's `lock_wait_us` (INFO contention)
during a run, divided by run time x clients: the share of the clients' time
spent waiting for a lock. n/a where the server has no such section (redis-server).

Reproduce the seed's experiment, with real Redis as a reference:
  myongoredis-bench --redis-server /usr/bin/redis-server --workloads seed";

/// Parse `10s`, `1.5s`, `500ms`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 10s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{text:?} must be more than 0 and at most a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_humantime() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn defaults_are_the_seed_experiment() {
        let args = Args::try_parse_from(["myongoredis-bench"]).expect("defaults parse");
        assert_eq!(args.clients, 50);
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(args.repeat, 3);
        assert_eq!(args.modes.len(), 3);
        assert_eq!(args.workloads.len(), 4);
        assert!(Args::try_parse_from(["b", "--target", "127.0.0.1:1", "--shards", "4"]).is_err());
    }
}
