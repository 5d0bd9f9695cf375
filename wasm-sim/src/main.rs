//! `myongoredis-sim`: replay captures and simulate seeded workloads in
//! WebAssembly. See the crate docs (`lib.rs`) and README's walk-through.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use myongoredis_sim::guest::{self, Guest};
use myongoredis_sim::replay::{self, Runner};
use myongoredis_sim::simulate;
use myongoredis_sim::workload::Shape;
use myongoredis_sim::SimError;

#[derive(Parser)]
#[command(
    version,
    about = "Deterministic replay and simulation of myongoredis in WebAssembly"
)]
struct Cli {
    /// The guest module (default: $MYONGOREDIS_SIM_GUEST, else
    /// target/wasm32-wasip1/release/myongoredis-sim-guest.wasm under the
    /// repository).
    #[arg(long, global = true)]
    guest: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a capture (a --capture DIR, or its capture.log) in the wasm
    /// guest and compare every reply byte for byte.
    Replay {
        path: PathBuf,
        /// Also replay natively in this process, and print both speeds.
        #[arg(long)]
        native: bool,
        /// Replay natively only (no wasm guest needed).
        #[arg(long, conflicts_with = "native")]
        native_only: bool,
    },
    /// Run seeded workloads natively and in the wasm guest; demand
    /// identical bytes.
    Simulate {
        /// The first (or only) seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// How many seeds from --seed on (`N`), or a range `A..B` (B
        /// excluded).
        #[arg(long)]
        seeds: Option<String>,
        /// Clients per workload (default: chosen by the seed, 1-6).
        #[arg(long)]
        clients: Option<u32>,
        /// Commands per workload (default: chosen by the seed, 200-600).
        #[arg(long)]
        ops: Option<u32>,
        /// Replay natively only (no wasm guest needed).
        #[arg(long)]
        native_only: bool,
        /// Write the first seed's workload as a capture into this
        /// directory (for `replay`, or to read).
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Load an AOF (an appendonlydir, or one file) natively and in the
    /// wasm guest; demand the same keyspace.
    LoadAof {
        path: PathBuf,
        /// Load natively only and print the keyspace's size.
        #[arg(long)]
        native_only: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay {
            path,
            native,
            native_only,
        } => cmd_replay(&path, cli.guest.as_deref(), native, native_only),
        Command::LoadAof { path, native_only } => {
            cmd_load_aof(&path, cli.guest.as_deref(), native_only)
        }
        Command::Simulate {
            seed,
            seeds,
            clients,
            ops,
            native_only,
            save,
        } => {
            let shape = Shape { clients, ops };
            match seed_range(seed, seeds.as_deref()) {
                Ok(range) => cmd_simulate(range, shape, cli.guest.as_deref(), native_only, save),
                Err(e) => Err(SimError::Usage(e)),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("myongoredis-sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn cmd_load_aof(
    path: &Path,
    guest_flag: Option<&Path>,
    native_only: bool,
) -> Result<ExitCode, SimError> {
    let files = myongoredis_sim::aof::files(path)?;
    let guest = if native_only {
        None
    } else {
        Some(load_guest(guest_flag)?)
    };
    let loaded = myongoredis_sim::aof::load(&files, guest.as_ref())?;
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    println!(
        "myongoredis-sim load-aof {}: {} files, {bytes} bytes; keyspace {} bytes as commands",
        path.display(),
        files.len(),
        loaded.native.len()
    );
    match loaded.wasm {
        Some(wasm) if wasm == loaded.native => {
            println!("  native and wasm: identical");
            Ok(ExitCode::SUCCESS)
        }
        Some(wasm) => {
            let at = wasm
                .iter()
                .zip(&loaded.native)
                .position(|(a, b)| a != b)
                .unwrap_or(wasm.len().min(loaded.native.len()));
            println!("  native and wasm DIFFER from byte {at}");
            Ok(ExitCode::from(1))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn load_guest(flag: Option<&Path>) -> Result<Guest, SimError> {
    let started = Instant::now();
    let guest = Guest::load(&guest::guest_path(flag))?;
    eprintln!(
        "myongoredis-sim: compiled {} in {:.2} s",
        guest.path().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(guest)
}

fn cmd_replay(
    path: &Path,
    guest_flag: Option<&Path>,
    native: bool,
    native_only: bool,
) -> Result<ExitCode, SimError> {
    let loaded = replay::load(path)?;
    let h = &loaded.header;
    println!("myongoredis-sim replay {}", loaded.path.display());
    println!(
        "  capture:      server {}, mode {}, {} lock(s), seed {}, started at {} us",
        h.server,
        h.mode.name(),
        h.shards,
        h.seed,
        h.start_us
    );
    if loaded.truncated_tail > 0 {
        println!(
            "  note:         the last {} bytes are an unfinished record (capture cut short); ignored",
            loaded.truncated_tail
        );
    }
    if let Some(gap) = loaded.gap_at {
        println!(
            "  note:         record seq {gap} is missing (capture cut short); replaying seq 1..{gap} \
             and dropping the {} records after the gap",
            loaded.dropped
        );
    }
    replay::census(&loaded.records).print();
    let mut runners = Vec::new();
    if !native_only {
        runners.push(Runner::Wasm);
    }
    if native || native_only {
        runners.push(Runner::Native);
    }
    let guest = if native_only {
        None
    } else {
        Some(load_guest(guest_flag)?)
    };
    let mut diverged = false;
    for runner in runners {
        let replayed = replay::run(runner, guest.as_ref(), h, &loaded.records)?;
        let secs = replayed.elapsed.as_secs_f64();
        let fuel = replayed.fuel_used.map_or(String::new(), |f| {
            format!(
                ", {f} fuel = {} per record",
                f / loaded.records.len().max(1) as u64
            )
        });
        println!(
            "  {:<13} {} records in {:.3} s = {:.0} records/s{fuel}",
            format!("{runner:?}:").to_lowercase(),
            loaded.records.len(),
            secs,
            loaded.records.len() as f64 / secs.max(1e-9)
        );
        if let Some(d) = replay::compare(&loaded.records, &replayed.outcomes) {
            let line = loaded
                .lines
                .get(&d.seq)
                .map_or(String::new(), |l| format!(", line {l}"));
            println!(
                "DIVERGENCE ({runner:?}) at record seq {} ({}{line}): {}",
                d.seq,
                loaded.path.display(),
                d.what
            );
            diverged = true;
            break;
        }
    }
    if diverged {
        return Ok(ExitCode::from(1));
    }
    println!(
        "OK: {} records replayed, every compared reply identical",
        loaded.records.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--seed S` alone: S. `--seeds N`: S..S+N. `--seeds A..B`: A..B.
fn seed_range(seed: u64, seeds: Option<&str>) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("--seeds wants N or A..B, not {seeds:?}");
    match seeds {
        None => Ok(seed..seed + 1),
        Some(s) => match s.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                (a < b).then_some(a..b).ok_or_else(bad)
            }
            None => {
                let n: u64 = s.parse().map_err(|_| bad())?;
                Ok(seed..seed.saturating_add(n))
            }
        },
    }
}

fn cmd_simulate(
    seeds: std::ops::Range<u64>,
    shape: Shape,
    guest_flag: Option<&Path>,
    native_only: bool,
    save: Option<PathBuf>,
) -> Result<ExitCode, SimError> {
    if let Some(dir) = save {
        simulate::save(seeds.start, shape, &dir)?;
        println!(
            "saved seed {} as {}",
            seeds.start,
            dir.join(myongoredis_core::capture::FILE_NAME).display()
        );
    }
    let guest = if native_only {
        None
    } else {
        Some(load_guest(guest_flag)?)
    };
    let started = Instant::now();
    let (mut passed, mut failed, mut records) = (0u64, 0u64, 0usize);
    for seed in seeds.clone() {
        let result = simulate::run_seed(seed, shape, guest.as_ref())?;
        records += result.records;
        match result.failure {
            None => passed += 1,
            Some(why) => {
                failed += 1;
                println!("FAIL seed {seed}: {why}");
                let mut repro = format!("myongoredis-sim simulate --seed {seed}");
                if let Some(c) = shape.clients {
                    repro += &format!(" --clients {c}");
                }
                if let Some(o) = shape.ops {
                    repro += &format!(" --ops {o}");
                }
                println!("  reproduce: {repro}");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulate: seeds {}..{}: {passed} passed, {failed} failed ({} records, {:.2} s, {:.0} seeds/min, {})",
        seeds.start,
        seeds.end,
        records,
        secs,
        (passed + failed) as f64 * 60.0 / secs.max(1e-9),
        if guest.is_some() {
            "native and wasm"
        } else {
            "native only"
        }
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
