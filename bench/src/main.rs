//! `myongoredis-bench`: the seed's experiment as one reproducible command.
//!
//! The seed started the server in one mode, loaded it with tcpkali for
//! ten seconds, looked at a trace, and repeated that per mode, comparing
//! by eye. This binary does all of it: it starts the release server once
//! per mode (and a real redis-server as a reference), runs the same
//! workloads against each with its own load generator (a thread per
//! client, every reply checked, latencies in an HDR histogram), reads the
//! server's lock counters before and after every run, alternates the rows
//! so the machine's noise falls on all of them alike, and writes
//! `results.json` and a self-contained `report.html`.
//!
//! Layout: `cli` (flags), `workload` (what is sent and what must come
//! back), `client` (a connection), `load` (one measured run), `servers`
//! (starting and stopping them), `info` (INFO contention), `report` and
//! `reading` (the figures and their plain-language reading), `charts` and
//! `html` (the page).
//!
//! It never leaves load running: every run is bounded by `--duration`,
//! every socket operation by a timeout, and the servers die with it.

mod charts;
mod cli;
mod client;
mod cross_check;
mod html;
mod info;
mod load;
mod reading;
mod report;
mod servers;
mod workload;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{Args, IoName};
use report::{Config, Git, Machine, Results, RunResult};
use servers::Server;
use workload::{value_of_size, Prefill};

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("myongoredis-bench: {e}");
            std::process::exit(1);
        }
    }
}

/// Exit code when the bench finished but counted wrong replies or a
/// server did not exit cleanly: the report is written either way.
const EXIT_ERRORS_COUNTED: i32 = 2;

fn run(args: &Args) -> Result<i32, String> {
    let started = SystemTime::now();
    let logs = args.out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    if args.cross_check {
        return cross_check::run(args, &logs);
    }
    let seed = args.seed.unwrap_or_else(|| {
        started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let loadavg_before = read_trimmed("/proc/loadavg");
    let value = value_of_size(args.value_size as usize);

    let mut servers = start_servers(args, &logs)?;
    say(
        args,
        &format!("seed {seed}; results in {}", args.out.display()),
    );

    // Fill the shared key spaces once per server, before any measurement.
    let mut spaces: Vec<Prefill> = Vec::new();
    for space in args.workloads.iter().filter_map(|w| w.prefill(args.keys)) {
        if !spaces.contains(&space) {
            spaces.push(space);
        }
    }
    for server in &servers {
        for &space in &spaces {
            say(
                args,
                &format!("{}: filling {} keys", server.row.label, space.count()),
            );
            client::prefill(server.addr(), space, &value)
                .map_err(|e| format!("filling keys on {}: {e}", server.row.label))?;
        }
    }

    // Repeat-major, then workload, then row: ABCABC, so a slow minute on
    // the machine lands on every row rather than on one.
    let total = args.repeat as usize * args.workloads.len() * servers.len();
    let mut runs = Vec::with_capacity(total);
    for repeat in 1..=args.repeat {
        for &w in &args.workloads {
            for server in &servers {
                let order = runs.len() + 1;
                let spec = load::LoadSpec {
                    addr: server.addr(),
                    workload: w,
                    clients: args.clients,
                    pipeline: args.pipeline,
                    keys: args.keys,
                    value: value.clone(),
                    seed: seed.wrapping_add(u64::from(repeat)),
                    duration: args.duration,
                    open_loop: args.open_loop,
                };
                let prefix = format!(
                    "[{order}/{total}] {} {} #{repeat}",
                    server.row.label,
                    w.name()
                );
                let result = measure(args, &spec, server, order, repeat, &prefix)?;
                runs.push(result);
            }
        }
    }

    for server in &mut servers {
        server.stop();
    }
    let rows: Vec<_> = servers.iter().map(|s| s.row.clone()).collect();
    let summary = report::summarize(&rows, &args.workloads, &runs);
    let machine = Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model: cpu_model(),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        loadavg_before,
        loadavg_after: read_trimmed("/proc/loadavg"),
    };
    let reading = reading::reading(
        &rows,
        &args.workloads,
        &summary,
        &reading::Context {
            nproc: machine.nproc,
            clients: args.clients,
            loadavg: machine.loadavg_before.as_deref(),
        },
    );
    let started_unix_s = started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let results = Results {
        tool: "myongoredis-bench",
        version: env!("CARGO_PKG_VERSION"),
        command_line: command_line(),
        started_unix_s,
        started_utc: utc(started_unix_s),
        finished_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine,
        git: git(),
        config: Config {
            workloads: args.workloads.clone(),
            clients: args.clients,
            pipeline: args.pipeline,
            duration_s: args.duration.as_secs_f64(),
            keys: args.keys,
            value_size: args.value_size,
            repeat: args.repeat,
            open_loop: args.open_loop,
            seed,
        },
        rows,
        runs,
        summary,
        reading,
    };
    write_outputs(&args.out, &results)?;

    println!("{}", report::console_table(&results.summary));
    for line in &results.reading {
        println!("* {line}");
    }
    println!(
        "\nwrote {0}/results.json and {0}/report.html",
        args.out.display()
    );

    let errors: u64 = results.summary.iter().map(|s| s.errors).sum();
    let unclean = results
        .rows
        .iter()
        .filter(|r| r.exit.as_deref().is_some_and(|e| e != "exit 0"))
        .count();
    if unclean > 0 {
        eprintln!("myongoredis-bench: {unclean} server(s) did not exit cleanly (see the report)");
    }
    Ok(if errors > 0 || unclean > 0 {
        EXIT_ERRORS_COUNTED
    } else {
        0
    })
}

fn say(args: &Args, line: &str) {
    if !args.quiet {
        eprintln!("{line}");
    }
}

/// One server per row: `--target`, or one per mode; then redis-server.
fn start_servers(args: &Args, logs: &Path) -> Result<Vec<Server>, String> {
    let mut servers = Vec::new();
    if let Some(addr) = args.target {
        servers.push(Server::existing(addr)?);
    } else {
        let binary = server_binary(args)?;
        let mut modes = args.modes.clone();
        modes.dedup();
        let mut ios = args.io.clone();
        ios.dedup();
        // Rows are named by mode alone while there is one I/O model (the
        // thread model, the default), else `mode/io`.
        let named_by_io = ios != [IoName::Threads];
        for mode in modes {
            for &io in &ios {
                let label = if named_by_io {
                    format!("{}/{}", mode.as_str(), io.as_str())
                } else {
                    mode.as_str().to_string()
                };
                // On error, the servers already started are killed by Drop.
                let trace = args.trace_sample.map(|n| {
                    let file = format!("trace-{}.json", label.replace('/', "-"));
                    (args.out.join(file), n)
                });
                let io = (io, args.io_threads);
                servers.push(Server::start_mode(
                    &binary,
                    mode,
                    io,
                    args.shards,
                    logs,
                    trace,
                    label,
                )?);
            }
        }
    }
    if let Some(path) = &args.redis_server {
        servers.push(Server::start_redis(path, logs)?);
    }
    for s in &servers {
        say(
            args,
            &format!(
                "{}: {} at {}",
                s.row.label,
                s.row.version.as_deref().unwrap_or("?"),
                s.addr()
            ),
        );
    }
    Ok(servers)
}

/// `--server`, or the `myongoredis` next to this executable.
fn server_binary(args: &Args) -> Result<PathBuf, String> {
    match &args.server {
        Some(path) => Ok(path.clone()),
        None => Ok(std::env::current_exe()
            .map_err(|e| format!("cannot find my own executable: {e}"))?
            .with_file_name("myongoredis")),
    }
}

/// One run with its progress bar and its INFO contention snapshots.
fn measure(
    args: &Args,
    spec: &load::LoadSpec,
    server: &Server,
    order: usize,
    repeat: u32,
    prefix: &str,
) -> Result<RunResult, String> {
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(spec.duration.as_millis() as u64);
        // The template is a constant known to be valid.
        let style = ProgressStyle::with_template("{prefix:<36} [{bar:30}] {msg}")
            .expect("valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(prefix.to_string());
        bar
    };
    let before = info::contention(server.addr());
    let measured = load::run(spec, |elapsed, ops| {
        bar.set_position(elapsed.as_millis() as u64);
        let secs = elapsed.as_secs_f64().max(0.001);
        bar.set_message(format!(
            "{:.1}/{:.0} s  {} ops/s",
            elapsed.as_secs_f64().min(spec.duration.as_secs_f64()),
            spec.duration.as_secs_f64(),
            report::fmt_ops(ops as f64 / secs)
        ));
    })
    .map_err(|e| format!("{prefix}: {e}"))?;
    let after = info::contention(server.addr());
    bar.finish_and_clear();
    let contention = before.zip(after).map(|(b, a)| b.delta(&a));
    let result = RunResult::new(
        order,
        &server.row.label,
        spec.workload,
        repeat,
        spec.clients,
        &measured,
        contention,
    );
    say(
        args,
        &format!(
            "{prefix:<36} {:>9} ops/s  p99 {:>9}  lock wait {:>6}  errors {}",
            report::fmt_ops(result.ops_per_sec),
            report::fmt_us(result.latency_us.p99),
            report::fmt_share(result.lock_wait_share_pct),
            result.errors.total()
        ),
    );
    Ok(result)
}

fn write_outputs(out: &Path, results: &Results) -> Result<(), String> {
    let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    let write = |name: &str, body: &str| {
        let path: PathBuf = out.join(name);
        std::fs::write(&path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("results.json", &json)?;
    write("report.html", &html::render(results))
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// The revision of the checkout the bench binary was built in (it lives
/// under its `target/`), or of the current directory.
fn git() -> Option<Git> {
    let exe_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let ask = |dir: &Path, args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let dir = [exe_dir, PathBuf::from(".")]
        .into_iter()
        .find(|d| ask(d, &["rev-parse", "HEAD"]).is_some())?;
    Some(Git {
        revision: ask(&dir, &["rev-parse", "HEAD"])?,
        dirty: ask(&dir, &["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.is_empty()),
    })
}

/// This process's arguments, quoted for a POSIX shell.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
            if plain {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-11-24 22:46:14 UTC` from Unix seconds (Howard Hinnant's
/// days-to-civil algorithm), to avoid a date crate for one line.
fn utc(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
