//! `myongoredis-sim simulate`: one seed, three runs, one answer.
//!
//! For a seed, the workload ([`crate::workload`]) runs on a sequenced
//! executor in this process, the way the server runs commands; its replies
//! are the reference. The records are then replayed twice, natively
//! (proves the capture holds everything replay needs) and in the wasm
//! guest (proves the core gives the same bytes on another platform), and
//! both must match the reference byte for byte.

use std::time::{Duration, Instant};

use crate::guest::Guest;
use crate::replay::{self, Runner};
use crate::workload::{self, Shape};
use crate::SimError;

/// How one seed went.
pub struct SeedResult {
    pub seed: u64,
    pub records: usize,
    /// `None` when everything matched; else which run diverged and where.
    pub failure: Option<String>,
    pub elapsed: Duration,
}

/// Run seed `seed` (natively always; in wasm when a guest is given).
pub fn run_seed(seed: u64, shape: Shape, guest: Option<&Guest>) -> Result<SeedResult, SimError> {
    let started = Instant::now();
    let w = workload::run(seed, shape);
    let mut failure = None;
    let mut runners = vec![Runner::Native];
    if guest.is_some() {
        runners.push(Runner::Wasm);
    }
    for runner in runners {
        let replayed = match replay::run(runner, guest, &w.header, &w.records) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(format!("{runner:?} replay failed: {e}"));
                break;
            }
        };
        if let Some(d) = replay::compare(&w.records, &replayed.outcomes) {
            failure = Some(format!(
                "{runner:?} replay diverges from the native run at step seq {} \
                 (mode {} shards {}):\n  {}",
                d.seq,
                w.header.mode.name(),
                w.header.shards,
                d.what
            ));
            break;
        }
    }
    Ok(SeedResult {
        seed,
        records: w.records.len(),
        failure,
        elapsed: started.elapsed(),
    })
}

/// Write the workload of `seed` as a capture file, for `replay` and for
/// reading.
pub fn save(seed: u64, shape: Shape, path: &std::path::Path) -> Result<(), SimError> {
    let w = workload::run(seed, shape);
    let mut out = Vec::new();
    w.header.encode(&mut out);
    for r in &w.records {
        r.encode(&mut out);
    }
    std::fs::create_dir_all(path)
        .and_then(|()| std::fs::write(path.join(myongoredis_core::capture::FILE_NAME), out))
        .map_err(|e| SimError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}
