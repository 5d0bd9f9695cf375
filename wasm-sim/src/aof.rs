//! `myongoredis-sim load-aof`: an AOF is a history too. The same files
//! are loaded natively and in the wasm guest, and the keyspaces they give
//! (written out as an AOF rewrite would write them) must be the same
//! bytes: loading is deterministic, whatever the clock or the machine.

use std::path::{Path, PathBuf};

use myongoredis_core::aof::{self, Manifest};

use crate::guest::{fuel_budget, Guest};
use crate::SimError;

/// The files of an AOF, in load order: an `appendonlydir` (its manifest's
/// base and incr files) or a single file.
pub fn files(path: &Path) -> Result<Vec<(String, Vec<u8>)>, SimError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| SimError::Io {
            path,
            reason: e.to_string(),
        }
    };
    if !path.is_dir() {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        return Ok(vec![(name, std::fs::read(path).map_err(io(path))?)]);
    }
    let manifest_path = std::fs::read_dir(path)
        .map_err(io(path))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "manifest"))
        .ok_or_else(|| SimError::Usage(format!("no manifest in {}", path.display())))?;
    let text = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let manifest = Manifest::parse(&text).map_err(|reason| SimError::Capture {
        path: manifest_path.clone(),
        reason,
    })?;
    manifest
        .base
        .iter()
        .chain(&manifest.incr)
        .map(|f| {
            let file: PathBuf = path.join(&f.name);
            Ok((f.name.clone(), std::fs::read(&file).map_err(io(&file))?))
        })
        .collect()
}

/// What loading gave: the keyspace natively, and in wasm when a guest
/// was given.
pub struct Loaded {
    pub native: Vec<u8>,
    pub wasm: Option<Vec<u8>>,
}

pub fn load(files: &[(String, Vec<u8>)], guest: Option<&Guest>) -> Result<Loaded, SimError> {
    let native = aof::replay(files).map_err(SimError::GuestOutput)?;
    let wasm = match guest {
        Some(guest) => {
            let input = aof::encode_replay_input(files);
            let fuel = fuel_budget(input.len() / 16, input.len());
            let run = guest.run(input, native.len() * 2 + 1024, fuel)?;
            Some(run.stdout)
        }
        None => None,
    };
    Ok(Loaded { native, wasm })
}
