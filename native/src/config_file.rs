//! The config file on disk: read at start-up (following `include`), and
//! written back by CONFIG REWRITE.
//!
//! `core` turns text into values and values into text
//! (`myongoredis_core::config::file`); this module owns the file: opening
//! it, reporting a bad line as redis-server does, and replacing it
//! atomically so a crash mid-rewrite never leaves half a config.

use std::io::Write;
use std::path::{Path, PathBuf};

use myongoredis_core::config::file::{rewrite, FileError};
use myongoredis_core::Config;

use crate::snapshot::REDIS_COMPAT_VERSION;

/// Why the server could not start from its config.
#[derive(Debug)]
pub enum LoadError {
    /// A line redis-server would refuse.
    Line(FileError),
    /// The file (or an included one) could not be read.
    Open { path: String, error: std::io::Error },
}

impl From<FileError> for LoadError {
    fn from(e: FileError) -> LoadError {
        LoadError::Line(e)
    }
}

impl LoadError {
    /// What redis-server prints on stderr before it exits 1.
    pub fn message(&self) -> String {
        match self {
            LoadError::Line(e) => e.fatal_message(REDIS_COMPAT_VERSION),
            LoadError::Open { path, error } => {
                format!("Fatal error, can't open config file '{path}': {error}\n")
            }
        }
    }
}

/// How deep `include` may nest: a file that includes itself is refused
/// instead of recursing until the stack runs out.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Apply the file at `path`, and the files it includes, to `config`.
pub fn load(config: &Config, path: &Path) -> Result<(), LoadError> {
    load_nested(config, &path.to_string_lossy(), 0)
}

fn load_nested(config: &Config, path: &str, depth: usize) -> Result<(), LoadError> {
    let open_error = |error| LoadError::Open {
        path: path.to_string(),
        error,
    };
    if depth > MAX_INCLUDE_DEPTH {
        return Err(open_error(std::io::Error::other(
            "too many nested includes",
        )));
    }
    let text = std::fs::read_to_string(path).map_err(open_error)?;
    config.load_conf(&text, &mut |included: &str| {
        load_nested(config, included, depth + 1)
    })
}

/// The path CONFIG REWRITE writes and INFO reports: absolute, as Redis
/// makes it at start-up (a later `chdir` must not move it).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// CONFIG REWRITE: the file's new text from its old text and the current
/// values, written to a temporary file beside it and renamed over it
/// (Redis's `rewriteConfigOverwriteFile`). A missing file is rewritten
/// from nothing. The error is the reply's text after `ERR `.
pub fn rewrite_file(path: &Path, config: &Config) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("Rewriting config file: {e}");
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(fail(e)),
    };
    let new = rewrite(&old, &config.snapshot());
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = PathBuf::from(temp_name);
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(new.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(e));
    }
    Ok(())
}
