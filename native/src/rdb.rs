//! RDB snapshots (`<dir>/<dbfilename>`, default `dump.rdb`): SAVE,
//! BGSAVE, the save points (`save 3600 1 300 100`), the final save of
//! SHUTDOWN and SIGTERM, and loading at start-up when the AOF is off.
//!
//! The format is core's (`core/src/rdb/`, Redis 7.0's version 10); this
//! file only decides when, and moves the bytes to disk as Redis does: into
//! `temp-<pid>.rdb`, fsync, rename over the old file, fsync of the
//! directory, so a crash mid-save leaves the previous file whole.
//!
//! There is no fork: a save reads the dataset lock by lock through core's
//! snapshot (`core/src/snapshot.rs`), so a writer waits at most while one
//! lock's share is copied, and readers never wait.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::Instant;

use myongoredis_core::Executor;

use crate::clock::unix_now_us;

/// SHUTDOWN's choice for the final save.
const SHUTDOWN_DEFAULT: u8 = 0;
const SHUTDOWN_SAVE: u8 = 1;
const SHUTDOWN_NOSAVE: u8 = 2;

/// The RDB file and what INFO persistence says of it.
pub struct Rdb {
    dir: PathBuf,
    path: PathBuf,
    /// A save is running (SAVE, BGSAVE or a save point): one at a time.
    saving: AtomicBool,
    /// BGSAVE SCHEDULE while a rewrite ran: run it next.
    pub scheduled: AtomicBool,
    /// Unix seconds of the last successful save (LASTSAVE); the start
    /// time before the first, as Redis.
    last_save_s: AtomicU64,
    last_ok: AtomicBool,
    saves: AtomicU64,
    /// The last background save's duration (-1 before the first), and
    /// when the current one started (Unix ms, 0 when none runs).
    last_bgsave_secs: AtomicI64,
    bgsave_started_ms: AtomicU64,
    /// The server's dirty count when the last save started: the changes
    /// since then are what the save points count.
    dirty_at_save: AtomicU64,
    loaded_keys: AtomicU64,
    loaded_expired: AtomicU64,
    /// What SHUTDOWN asked for (SAVE, NOSAVE, or neither).
    shutdown_choice: AtomicU8,
}

impl Rdb {
    pub fn new(dir: &Path, dbfilename: &str) -> Rdb {
        Rdb {
            dir: dir.to_path_buf(),
            path: dir.join(dbfilename),
            saving: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
            last_save_s: AtomicU64::new(unix_now_us() / 1_000_000),
            last_ok: AtomicBool::new(true),
            saves: AtomicU64::new(0),
            last_bgsave_secs: AtomicI64::new(-1),
            bgsave_started_ms: AtomicU64::new(0),
            dirty_at_save: AtomicU64::new(0),
            loaded_keys: AtomicU64::new(0),
            loaded_expired: AtomicU64::new(0),
            shutdown_choice: AtomicU8::new(SHUTDOWN_DEFAULT),
        }
    }

    /// Load `dump.rdb` if there is one (start-up, AOF off). A file that
    /// cannot be loaded stops the server: starting empty would let the
    /// next save overwrite the data.
    pub fn load_at_startup(&self, exec: &Executor) -> Result<(), String> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "Fatal error loading the DB: can't read {}: {e}. Exiting.",
                    self.path.display()
                ))
            }
        };
        let started = Instant::now();
        let now_ms = unix_now_us() / 1000;
        let stats = exec.load_rdb(&bytes, now_ms).map_err(|e| {
            format!(
                "Fatal error loading the DB {}: {e}. Exiting.",
                self.path.display()
            )
        })?;
        self.loaded_keys.store(stats.keys, Relaxed);
        self.loaded_expired.store(stats.expired, Relaxed);
        eprintln!(
            "myongoredis: DB loaded from disk: {:.3} seconds ({} keys, {} expired keys skipped)",
            started.elapsed().as_secs_f64(),
            stats.keys,
            stats.expired
        );
        Ok(())
    }

    /// Claim the right to save (one save at a time).
    pub fn begin(&self) -> bool {
        !self.saving.swap(true, Relaxed)
    }

    pub fn saving(&self) -> bool {
        self.saving.load(Relaxed)
    }

    /// Write the file (after [`Rdb::begin`]); `background` for BGSAVE's
    /// INFO fields. `dirty` is the server's dirty count now.
    pub fn save(&self, exec: &Executor, dirty: u64, background: bool) -> Result<(), String> {
        let started = Instant::now();
        let now_ms = unix_now_us() / 1000;
        if background {
            self.bgsave_started_ms.store(now_ms, Relaxed);
        }
        let result = self.write(exec, now_ms);
        match &result {
            Ok(()) => {
                self.last_save_s.store(now_ms / 1000, Relaxed);
                self.dirty_at_save.store(dirty, Relaxed);
                self.saves.fetch_add(1, Relaxed);
                eprintln!(
                    "myongoredis: DB saved on disk ({}, {:.3} seconds)",
                    self.path.display(),
                    started.elapsed().as_secs_f64()
                );
            }
            Err(e) => eprintln!("myongoredis: {e}"),
        }
        self.last_ok.store(result.is_ok(), Relaxed);
        if background {
            self.last_bgsave_secs
                .store(started.elapsed().as_secs() as i64, Relaxed);
            self.bgsave_started_ms.store(0, Relaxed);
        }
        self.saving.store(false, Relaxed);
        result
    }

    fn write(&self, exec: &Executor, now_ms: u64) -> Result<(), String> {
        let temp = self.dir.join(format!("temp-{}.rdb", std::process::id()));
        let failed = |e: io::Error| {
            let _ = fs::remove_file(&temp);
            format!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                temp.display(),
                self.dir.display()
            )
        };
        // Lock by lock (core's snapshot), then to disk with no lock held.
        let bytes = exec.snapshot_rdb(now_ms, false, || {});
        let mut file = File::create(&temp).map_err(failed)?;
        file.write_all(&bytes).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        fs::rename(&temp, &self.path).map_err(failed)?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(failed)
    }

    /// Is a save point due: `changes` changes and `seconds` since the
    /// last save? (`save` is Redis's list of such pairs.)
    pub fn due(&self, points: &[(u64, u64)], dirty: u64) -> bool {
        let changed = dirty.saturating_sub(self.dirty_at_save.load(Relaxed));
        let since = (unix_now_us() / 1_000_000).saturating_sub(self.last_save_s.load(Relaxed));
        // A failed save is retried after 5 s, not at once
        // (CONFIG_BGSAVE_RETRY_DELAY).
        let retry_ok = self.last_ok.load(Relaxed) || since >= 5;
        retry_ok
            && points
                .iter()
                .any(|&(seconds, changes)| changed >= changes && since >= seconds)
    }

    pub fn lastsave(&self) -> u64 {
        self.last_save_s.load(Relaxed)
    }

    /// SHUTDOWN SAVE / NOSAVE / neither.
    pub fn set_shutdown_choice(&self, save: Option<bool>) {
        let choice = match save {
            Some(true) => SHUTDOWN_SAVE,
            Some(false) => SHUTDOWN_NOSAVE,
            None => SHUTDOWN_DEFAULT,
        };
        self.shutdown_choice.store(choice, Relaxed);
    }

    /// Does the final save happen? SAVE: yes; NOSAVE: no; otherwise when
    /// save points are configured, as Redis (SIGTERM included).
    pub fn save_on_shutdown(&self, has_save_points: bool) -> bool {
        match self.shutdown_choice.load(Relaxed) {
            SHUTDOWN_SAVE => true,
            SHUTDOWN_NOSAVE => false,
            _ => has_save_points,
        }
    }

    /// Can a file be created where the RDB goes? SHUTDOWN checks before it
    /// agrees to stop, so that its error can still reach the client.
    pub fn check_writable(&self) -> Result<(), String> {
        let probe = self
            .dir
            .join(format!("temp-{}-probe.rdb", std::process::id()));
        File::create(&probe)
            .and_then(|mut f| f.write_all(b""))
            .map_err(|e| format!("can't write to {}: {e}", self.dir.display()))?;
        let _ = fs::remove_file(&probe);
        Ok(())
    }

    /// INFO persistence's RDB fields, with Redis's names.
    pub fn info_fields(&self, dirty: u64) -> Vec<(&'static str, String)> {
        let started = self.bgsave_started_ms.load(Relaxed);
        let current = match started {
            0 => -1,
            at => ((unix_now_us() / 1000).saturating_sub(at) / 1000) as i64,
        };
        let ok = if self.last_ok.load(Relaxed) {
            "ok"
        } else {
            "err"
        };
        vec![
            (
                "rdb_changes_since_last_save",
                dirty
                    .saturating_sub(self.dirty_at_save.load(Relaxed))
                    .to_string(),
            ),
            ("rdb_bgsave_in_progress", u8::from(started != 0).to_string()),
            (
                "rdb_last_save_time",
                self.last_save_s.load(Relaxed).to_string(),
            ),
            ("rdb_last_bgsave_status", ok.into()),
            (
                "rdb_last_bgsave_time_sec",
                self.last_bgsave_secs.load(Relaxed).to_string(),
            ),
            ("rdb_current_bgsave_time_sec", current.to_string()),
            ("rdb_saves", self.saves.load(Relaxed).to_string()),
            (
                "rdb_last_load_keys_expired",
                self.loaded_expired.load(Relaxed).to_string(),
            ),
            (
                "rdb_last_load_keys_loaded",
                self.loaded_keys.load(Relaxed).to_string(),
            ),
        ]
    }
}
