//! Running the guest (`myongoredis-sim-guest.wasm`) in wasmtime.
//!
//! The module is compiled once ([`Guest::load`]) and instantiated afresh
//! for every run, each in its own `Store`: no state leaks from one replay
//! into the next, and compiling (hundreds of milliseconds) is paid once
//! per process, not per seed.
//!
//! ## Why a run is deterministic
//! The WASI context comes from `deterministic-wasi-ctx`: wall and
//! monotonic clocks that always read 0, "secure" and "insecure" random
//! sources that are a fixed-seed PCG, no sockets, and `poll_oneoff` /
//! `sched_yield` replaced by versions that return at once (a sleep would
//! otherwise wait in real time). So even a clock read or a `HashMap` with
//! random state slipped into `core` by mistake could not make two runs
//! differ. The guest sees no files, no environment and no arguments;
//! stdin and stdout are in-memory pipes.
//!
//! ## Why a hang is reported, never waited on
//! Fuel: every wasm instruction costs about one unit, and a run gets a
//! budget proportional to its input ([`fuel_budget`]). Running out is a
//! trap (`Trap::OutOfFuel`), reported as [`GuestError::OutOfFuel`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, Linker, Module, Store, Trap};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

/// The environment variable that names the guest module.
pub const GUEST_ENV: &str = "MYONGOREDIS_SIM_GUEST";

/// Where `cargo build --release --target wasm32-wasip1 --manifest-path
/// wasm-sim/guest/Cargo.toml --target-dir target` puts the module,
/// relative to the repository root.
pub const GUEST_DEFAULT: &str = "target/wasm32-wasip1/release/myongoredis-sim-guest.wasm";

/// Fuel for a run: a fixed allowance (start-up, decoding) plus a generous
/// per-record one. Measured: a typical record costs about 5–40 thousand
/// units (`replay` prints the average); the allowance is a hundred times
/// more, so only a real hang, or a single command doing millions of
/// records' worth of work, runs out.
pub fn fuel_budget(records: usize, input_bytes: usize) -> u64 {
    const BASE: u64 = 500_000_000;
    const PER_RECORD: u64 = 4_000_000;
    const PER_INPUT_BYTE: u64 = 500;
    BASE + PER_RECORD * records as u64 + PER_INPUT_BYTE * input_bytes as u64
}

/// The module to load: `--guest`, else `$MYONGOREDIS_SIM_GUEST`, else the
/// default build location under the repository root.
pub fn guest_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(GUEST_ENV) {
        return PathBuf::from(p);
    }
    // CARGO_MANIFEST_DIR is wasm-sim/; the repository root is its parent.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join(GUEST_DEFAULT)
}

/// Why a guest run failed.
#[derive(Debug)]
pub enum GuestError {
    /// The module file could not be read or compiled.
    Load { path: PathBuf, reason: String },
    /// The fuel budget ran out: the guest hangs or loops.
    OutOfFuel { budget: u64 },
    /// The guest exited with a non-zero status.
    Exit { code: i32, stderr: String },
    /// Any other trap (a panic in core is an `unreachable` trap).
    Trap { reason: String, stderr: String },
}

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestError::Load { path, reason } => write!(
                f,
                "cannot load the guest module {}: {reason}\n  build it with: \
                 cargo build --release --target wasm32-wasip1 --manifest-path \
                 wasm-sim/guest/Cargo.toml --target-dir target\n  or point \
                 --guest / ${GUEST_ENV} at it",
                path.display()
            ),
            GuestError::OutOfFuel { budget } => write!(
                f,
                "the guest ran out of fuel ({budget} units): it hangs or loops"
            ),
            GuestError::Exit { code, stderr } => {
                write!(f, "the guest exited with status {code}: {}", stderr.trim())
            }
            GuestError::Trap { reason, stderr } => {
                write!(f, "the guest trapped: {reason}")?;
                if !stderr.trim().is_empty() {
                    write!(f, "\n  guest stderr: {}", stderr.trim())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for GuestError {}

/// A compiled guest, ready to run any number of times.
pub struct Guest {
    engine: Engine,
    module: Module,
    linker: Linker<WasiP1Ctx>,
    path: PathBuf,
}

/// What one run produced.
pub struct GuestRun {
    pub stdout: Vec<u8>,
    pub fuel_used: u64,
    /// Instantiation and execution (not compilation).
    pub elapsed: Duration,
}

impl Guest {
    /// Read and compile the module.
    pub fn load(path: &Path) -> Result<Guest, GuestError> {
        let load_err = |reason: String| GuestError::Load {
            path: path.to_path_buf(),
            reason,
        };
        let wasm = std::fs::read(path).map_err(|e| load_err(e.to_string()))?;
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| load_err(e.to_string()))?;
        let module = Module::new(&engine, &wasm).map_err(|e| load_err(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(|e| load_err(e.to_string()))?;
        deterministic_wasi_ctx::replace_scheduling_functions(&mut linker)
            .map_err(|e| load_err(e.to_string()))?;
        Ok(Guest {
            engine,
            module,
            linker,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run the guest once with `input` on stdin. `output_capacity` bounds
    /// stdout (a guest writing more gets a write error and exits 3);
    /// `fuel` bounds the work.
    pub fn run(
        &self,
        input: Vec<u8>,
        output_capacity: usize,
        fuel: u64,
    ) -> Result<GuestRun, GuestError> {
        let started = Instant::now();
        let stdout = MemoryOutputPipe::new(output_capacity);
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let mut builder = WasiCtxBuilder::new();
        deterministic_wasi_ctx::add_determinism_to_wasi_ctx_builder(&mut builder);
        builder
            .stdin(MemoryInputPipe::new(input))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .arg("myongoredis-sim-guest");
        let mut store = Store::new(&self.engine, builder.build_p1());
        let trap = |e: wasmtime::Error| GuestError::Trap {
            reason: format!("{e:#}"),
            stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
        };
        store.set_fuel(fuel).map_err(trap)?;
        let instance = self
            .linker
            .instantiate(&mut store, &self.module)
            .map_err(trap)?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(trap)?;
        let result = start.call(&mut store, ());
        let fuel_used = fuel - store.get_fuel().unwrap_or(0);
        match result {
            Ok(()) => {}
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<I32Exit>() {
                    if exit.0 != 0 {
                        return Err(GuestError::Exit {
                            code: exit.0,
                            stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
                        });
                    }
                } else if matches!(e.downcast_ref::<Trap>(), Some(Trap::OutOfFuel)) {
                    return Err(GuestError::OutOfFuel { budget: fuel });
                } else {
                    return Err(trap(e));
                }
            }
        }
        // The store (which holds the other clone of the pipe) goes first,
        // so the contents are not copied while still shared.
        drop(store);
        Ok(GuestRun {
            stdout: stdout.contents().to_vec(),
            fuel_used,
            elapsed: started.elapsed(),
        })
    }
}
