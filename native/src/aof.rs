//! `--appendonly yes`: every write, appended to a file as the command
//! that redoes it, so that a restart (or a crash) loses nothing that was
//! acknowledged, within the `appendfsync` policy.
//!
//! ## On disk, as Redis 7.0 lays it out
//! `<dir>/<appenddirname>/` (default `appendonlydir`) holds
//! * a **base** file, `appendonly.aof.<n>.base.rdb` (an RDB snapshot;
//!   `.base.aof`, commands, with `aof-use-rdb-preamble no`);
//! * one or more **incr** files, `appendonly.aof.<n>.incr.aof`: the
//!   commands written since the base, in RESP (`*3\r\n$3\r\nSET\r\n...`);
//! * the **manifest**, `appendonly.aof.manifest`, one line per file:
//!   `file appendonly.aof.1.base.rdb seq 1 type b`, then the incr files
//!   (`type i`) in order. It is replaced atomically (a temp file, fsync,
//!   rename), so at every moment it names a complete set of files.
//!
//! Loading reads the base, then every incr file in manifest order, and
//! runs each command as a client with no connection (Redis's "fake
//! client"). Nothing expires while loading (Redis's `keyIsExpired` says
//! no while `server.loading`): here the commands run at clock 0, and the
//! AOF holds only absolute deadlines (`PXAT`, `PEXPIREAT`), so a load is
//! a pure function of the files — the same state natively and in wasm.
//!
//! ## The write path
//! The executor hands every write's effect to [`Aof::feed`] while the
//! write still holds its key locks (see core's `signal.rs`): the commands
//! are encoded into one shared buffer under a short mutex, so writes to
//! one key are in the file in the order they took effect. This mutex is
//! the one lock every write in every shard takes: the price of one
//! ordered file, and visible in a profile as such.
//!
//! A writer thread takes the whole buffer at once, writes it, and
//! applies the policy:
//! * `always`: fdatasync, then tells the connections waiting for that
//!   offset. A connection answers a batch that wrote only once its writes
//!   are on disk; everything buffered while one fsync runs goes out in
//!   the next one (group commit), so one fsync serves many clients.
//! * `everysec` (default): fdatasync at most once a second. Replies do not
//!   wait; the writer writes as soon as there is data, so a killed process
//!   loses almost nothing and a machine crash about a second.
//! * `no`: the kernel decides.
//!
//! A failed write or fsync (disk full, I/O error) stops acknowledging
//! writes: write commands get Redis's `-MISCONF Errors writing to the AOF
//! file: ...` until a retry succeeds; reads go on. Under `always`, as in
//! Redis, the server exits instead: replies it already promised cannot be
//! taken back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use myongoredis_core::aof::{load_file, End, FileType, Manifest, ManifestFile};
use myongoredis_core::signal::{Propagate, Propagated};
use myongoredis_core::Executor;

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always = 0,
    EverySec = 1,
    No = 2,
}

impl Fsync {
    pub fn parse(name: &str) -> Fsync {
        match name {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// Where the files are and how they are written (from the config).
#[derive(Clone, Debug)]
pub struct AofConfig {
    /// `<dir>/<appenddirname>`.
    pub dir: PathBuf,
    /// `appendfilename`: the files' common prefix.
    pub filename: String,
    pub fsync: Fsync,
    /// `aof-use-rdb-preamble`: the base file is an RDB snapshot.
    pub rdb_base: bool,
    /// `aof-load-truncated`: a last file cut short is loaded up to its
    /// last complete command (and truncated there), not refused.
    pub load_truncated: bool,
    /// Hidden `--debug-aof-disk-full-at`: the incr file cannot grow past
    /// this many bytes (ENOSPC), to test what a full disk does.
    pub disk_full_at: Option<u64>,
}

/// The manifest's file name for `appendfilename`.
fn manifest_name(filename: &str) -> String {
    format!("{filename}.manifest")
}

/// Replace `dir/name` with `contents` atomically: a temp file, fsync,
/// rename, fsync of the directory (so the rename itself survives a crash).
fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!("temp-{name}"));
    let mut file = File::create(&temp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&temp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

/// Encode one command as RESP, as the AOF holds it.
fn encode_command(args: &[Bytes], out: &mut Vec<u8>) {
    fn line(out: &mut Vec<u8>, tag: u8, n: usize) {
        out.push(tag);
        out.extend_from_slice(n.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    line(out, b'*', args.len());
    for arg in args {
        line(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Whether the AOF can be written: shared with the hooks, which refuse
/// writes (MISCONF) while it cannot.
#[derive(Debug, Default)]
pub struct AofStatus {
    /// Set while the last write or fsync failed: one atomic load per
    /// write command in the common case.
    failing: AtomicBool,
    /// That error, for the reply and INFO.
    error: Mutex<Option<String>>,
    /// The AOF is on (`aof_enabled`).
    enabled: AtomicBool,
    /// The AOF's size in bytes, base and incr files (`aof_current_size`).
    current_size: AtomicU64,
    /// The base file's size (`aof_base_size`).
    base_size: AtomicU64,
    /// Bytes fed and not yet written (`aof_buffer_length`).
    buffered: AtomicU64,
    /// A rewrite is running (`aof_rewrite_in_progress`).
    rewriting: AtomicBool,
    /// Rewrites done (`aof_rewrites`), the last one's duration in seconds
    /// (`aof_last_rewrite_time_sec`, -1 before the first) and outcome.
    rewrites: AtomicU64,
    last_rewrite_secs: std::sync::atomic::AtomicI64,
    last_rewrite_failed: AtomicBool,
    /// How long the last rewrite held every lock (writers waited): the
    /// figure a fork-less rewrite must keep small. Not a Redis field.
    last_rewrite_stall_us: AtomicU64,
}

impl AofStatus {
    /// The error writes get while the AOF cannot be written.
    pub fn write_denied(&self) -> Option<String> {
        if !self.failing.load(Relaxed) {
            return None;
        }
        lock(&self.error)
            .as_ref()
            .map(|e| format!("MISCONF Errors writing to the AOF file: {e}"))
    }

    /// INFO persistence's AOF fields, with Redis's names.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let enabled = self.enabled.load(Relaxed);
        let status = if self.failing.load(Relaxed) {
            "err"
        } else {
            "ok"
        };
        let rewrite_status = if self.last_rewrite_failed.load(Relaxed) {
            "err"
        } else {
            "ok"
        };
        let last_secs = match self.rewrites.load(Relaxed) {
            0 => -1,
            _ => self.last_rewrite_secs.load(Relaxed),
        };
        let mut fields = vec![
            ("aof_enabled", u8::from(enabled).to_string()),
            (
                "aof_rewrite_in_progress",
                u8::from(self.rewriting.load(Relaxed)).to_string(),
            ),
            ("aof_rewrite_scheduled", "0".into()),
            ("aof_last_rewrite_time_sec", last_secs.to_string()),
            ("aof_last_bgrewrite_status", rewrite_status.into()),
            ("aof_rewrites", self.rewrites.load(Relaxed).to_string()),
            (
                "aof_rewrite_last_stall_us",
                self.last_rewrite_stall_us.load(Relaxed).to_string(),
            ),
            ("aof_last_write_status", status.into()),
        ];
        if enabled {
            fields.extend([
                (
                    "aof_current_size",
                    self.current_size.load(Relaxed).to_string(),
                ),
                ("aof_base_size", self.base_size.load(Relaxed).to_string()),
                ("aof_pending_rewrite", "0".into()),
                ("aof_buffer_length", self.buffered.load(Relaxed).to_string()),
                ("aof_pending_bio_fsync", "0".into()),
                ("aof_delayed_fsync", "0".into()),
            ]);
        }
        fields
    }

    fn failed(&self, e: &io::Error) {
        // strerror's text, as Redis shows it: without Rust's " (os error N)".
        let text = e.to_string();
        let text = match text.rfind(" (os error ") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
        *lock(&self.error) = Some(text);
        self.failing.store(true, Relaxed);
    }

    fn recovered(&self) {
        if self.failing.swap(false, Relaxed) {
            eprintln!("myongoredis: AOF write error looks solved, can write again");
            *lock(&self.error) = None;
        }
    }
}

/// What the writers fed and the writer thread has not taken yet.
struct Pending {
    bytes: Vec<u8>,
    /// The database the file is in after `bytes` (a `SELECT` goes before a
    /// command for another one; `None` at the start of a file).
    selected: Option<u32>,
    /// Bytes ever fed: the offset a waiting `always` client needs synced.
    fed: u64,
    /// A rewrite switched to a new incr file: the first `cut` bytes of
    /// `bytes` still belong to the old one, the rest to this file.
    next_file: Option<(File, usize)>,
}

/// The state shared by the writers (connection threads, under their
/// locks), the writer thread and INFO.
struct Shared {
    pending: Mutex<Pending>,
    /// Rung when `pending` gains bytes, or to stop.
    data: Condvar,
    /// Offset (in bytes fed) that is on disk by the policy's standard:
    /// fsynced under `always`, written otherwise.
    done: Mutex<u64>,
    done_cv: Condvar,
    status: Arc<AofStatus>,
    stop: AtomicBool,
    /// The `appendfsync` policy (CONFIG SET changes it live).
    fsync: std::sync::atomic::AtomicU8,
    /// fsyncs performed.
    fsyncs: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn fsync(&self) -> Fsync {
        match self.fsync.load(Relaxed) {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            _ => Fsync::No,
        }
    }
}

impl Propagate for Shared {
    fn feed(&self, commands: &[Propagated]) {
        let mut p = lock(&self.pending);
        let was_empty = p.bytes.is_empty();
        let before = p.bytes.len();
        for command in commands {
            if p.selected != Some(command.db) {
                p.selected = Some(command.db);
                let db = Bytes::from(command.db.to_string());
                encode_command(&[Bytes::from_static(b"SELECT"), db], &mut p.bytes);
            }
            encode_command(&command.argv, &mut p.bytes);
        }
        p.fed += (p.bytes.len() - before) as u64;
        if was_empty {
            self.data.notify_one();
        }
    }
}

/// An open AOF: the feed for the executor and the writer thread.
pub struct Aof {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    config: AofConfig,
    /// The files as the manifest on disk names them; changed only by a
    /// rewrite (one at a time: `rewriting`).
    manifest: Mutex<Manifest>,
    rewriting: AtomicBool,
}

/// What loading found, for the log and INFO.
#[derive(Debug, Default)]
pub struct Loaded {
    pub files: usize,
    pub commands: u64,
    pub bytes: u64,
}

impl Aof {
    /// Load the AOF in `config.dir` (if any) into `exec`, then open it for
    /// appending, creating the directory, an empty base and the first incr
    /// file as Redis does on a first start. The executor is fed from then
    /// on.
    pub fn open(
        config: AofConfig,
        status: Arc<AofStatus>,
        exec: &Executor,
    ) -> Result<(Aof, Loaded), String> {
        let dir = &config.dir;
        let manifest_path = dir.join(manifest_name(&config.filename));
        let mut manifest = match fs::read(&manifest_path) {
            Ok(bytes) => Manifest::parse(&String::from_utf8_lossy(&bytes))
                .map_err(|e| format!("Fatal AOF manifest file error: {e}"))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => {
                return Err(format!(
                    "Fatal error: can't open the AOF manifest file {} for reading: {e}",
                    manifest_path.display()
                ))
            }
        };
        let loaded = load(&config, &manifest, exec)?;
        fs::create_dir_all(dir).map_err(|e| {
            format!(
                "Can't open or create append-only dir {}: {e}",
                dir.display()
            )
        })?;
        let fail = |e: io::Error| format!("Can't open the append-only file: {e}");
        let mut base_size = 0;
        if manifest.base.is_none() && manifest.incr.is_empty() {
            // A first start: the (empty) dataset becomes the base, so the
            // incr files always have one to apply to.
            let seq = Manifest::next_seq(&manifest.history, None);
            let ext = if config.rdb_base { "rdb" } else { "aof" };
            let name = format!("{}.{seq}.base.{ext}", config.filename);
            let bytes = base_snapshot(&config, exec).map_err(fail)?;
            write_atomically(dir, &name, &bytes).map_err(fail)?;
            base_size = bytes.len() as u64;
            manifest.base = Some(ManifestFile {
                name,
                seq,
                kind: FileType::Base,
            });
        } else if let Some(base) = &manifest.base {
            base_size = fs::metadata(dir.join(&base.name))
                .map(|m| m.len())
                .unwrap_or(0);
        }
        if manifest.incr.is_empty() {
            let seq = Manifest::next_seq(&manifest.incr, None);
            manifest.incr.push(ManifestFile {
                name: format!("{}.{seq}.incr.aof", config.filename),
                seq,
                kind: FileType::Incr,
            });
        }
        let incr = manifest.incr.last().expect("an incr file").name.clone();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&incr))
            .map_err(fail)?;
        // The incr file exists before the manifest names it.
        file.sync_all().map_err(fail)?;
        write_atomically(
            dir,
            &manifest_name(&config.filename),
            manifest.render().as_bytes(),
        )
        .map_err(fail)?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                bytes: Vec::with_capacity(64 * 1024),
                selected: None,
                fed: 0,
                next_file: None,
            }),
            data: Condvar::new(),
            done: Mutex::new(0),
            done_cv: Condvar::new(),
            status,
            stop: AtomicBool::new(false),
            fsync: std::sync::atomic::AtomicU8::new(config.fsync as u8),
            fsyncs: AtomicU64::new(0),
        });
        let writer = thread::Builder::new()
            .name("aof".into())
            .spawn({
                let shared = shared.clone();
                let full_at = config.disk_full_at;
                move || write_loop(&shared, file, full_at)
            })
            .map_err(|e| format!("cannot start the AOF thread: {e}"))?;
        shared.status.enabled.store(true, Relaxed);
        let size = loaded.bytes.max(base_size);
        shared.status.current_size.store(size, Relaxed);
        shared.status.base_size.store(base_size, Relaxed);
        exec.set_propagate(shared.clone())?;
        let aof = Aof {
            shared,
            writer: Mutex::new(Some(writer)),
            config,
            manifest: Mutex::new(manifest),
            rewriting: AtomicBool::new(false),
        };
        Ok((aof, loaded))
    }

    /// Bytes fed so far: after a batch that wrote, the offset to wait for.
    pub fn fed(&self) -> u64 {
        lock(&self.shared.pending).fed
    }

    /// Under `always`, wait until everything fed up to `offset` is on disk
    /// (a connection calls this before it answers a batch that wrote).
    /// Other policies return at once.
    pub fn wait_durable(&self, offset: u64) {
        if self.shared.fsync() != Fsync::Always {
            return;
        }
        let done = lock(&self.shared.done);
        drop(
            self.shared
                .done_cv
                .wait_while(done, |done| {
                    *done < offset && !self.shared.stop.load(Relaxed)
                })
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// The `appendfsync` policy now.
    pub fn fsync(&self) -> Fsync {
        self.shared.fsync()
    }

    /// CONFIG SET appendfsync: from the next write on.
    pub fn set_fsync(&self, policy: Fsync) {
        self.shared.fsync.store(policy as u8, Relaxed);
        self.shared.data.notify_one();
    }

    /// Is a rewrite running?
    pub fn rewriting(&self) -> bool {
        self.rewriting.load(Relaxed)
    }

    /// Is a rewrite running? Set it running if not (BGREWRITEAOF's check:
    /// one rewrite at a time).
    pub fn begin_rewrite(&self) -> bool {
        let started = !self.rewriting.swap(true, Relaxed);
        if started {
            self.shared.status.rewriting.store(true, Relaxed);
        }
        started
    }

    /// Does the AOF's growth since the last rewrite call for one
    /// (`auto-aof-rewrite-percentage`, `auto-aof-rewrite-min-size`)?
    pub fn wants_rewrite(&self, percentage: u64, min_size: u64) -> bool {
        let status = &self.shared.status;
        let current = status.current_size.load(Relaxed);
        if percentage == 0 || current <= min_size || self.rewriting.load(Relaxed) {
            return false;
        }
        let base = status.base_size.load(Relaxed).max(1);
        current.saturating_mul(100) / base >= 100 + percentage
    }

    /// Rewrite the AOF (after [`Aof::begin_rewrite`]): the dataset as a
    /// new base file, a new incr file for the writes from that moment on,
    /// the manifest switched to them, the old files deleted.
    ///
    /// There is no fork: the snapshot is read under every lock at once
    /// (see core's `rewrite.rs`), and at that moment, with no write in
    /// flight, the feed switches to the new incr file. A crash at any
    /// point loses nothing: the new incr file is in the manifest (beside
    /// the old base and incr files) before any write goes to it, and the
    /// manifest names the new base only once that is on disk.
    pub fn rewrite(&self, exec: &Executor, now_ms: u64) -> Result<(), String> {
        let started = Instant::now();
        let result = self.rewrite_files(exec, now_ms);
        let status = &self.shared.status;
        status
            .last_rewrite_secs
            .store(started.elapsed().as_secs() as i64, Relaxed);
        status.last_rewrite_failed.store(result.is_err(), Relaxed);
        status
            .rewrites
            .fetch_add(u64::from(result.is_ok()), Relaxed);
        status.rewriting.store(false, Relaxed);
        self.rewriting.store(false, Relaxed);
        result
    }

    fn rewrite_files(&self, exec: &Executor, now_ms: u64) -> Result<(), String> {
        let dir = &self.config.dir;
        let filename = &self.config.filename;
        let manifest_file = manifest_name(filename);
        let fail = |what: &str, e: io::Error| format!("{what}: {e}");
        // 1. The new incr file, named in the manifest before it is used.
        let mut manifest = lock(&self.manifest).clone();
        let seq = Manifest::next_seq(&manifest.incr, None);
        let incr = ManifestFile {
            name: format!("{filename}.{seq}.incr.aof"),
            seq,
            kind: FileType::Incr,
        };
        let new_incr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&incr.name))
            .and_then(|f| f.sync_all().map(|()| f))
            .map_err(|e| fail("Can't open the new incr AOF file", e))?;
        manifest.incr.push(incr.clone());
        write_atomically(dir, &manifest_file, manifest.render().as_bytes())
            .map_err(|e| fail("Can't persist the AOF manifest", e))?;
        *lock(&self.manifest) = manifest.clone();

        // 2. The snapshot; the switch happens at its instant, with every
        // lock held. A writer may then wait for one lock's share to be
        // copied: the longest copy is the longest such wait.
        let mut new_incr = Some(new_incr);
        let mut instant_hold = Duration::ZERO;
        let longest_part = Arc::new(AtomicU64::new(0));
        let longest = longest_part.clone();
        let rdb_base = self.config.rdb_base;
        let list_node = exec.config().limits().list_node;
        let encode =
            move |dbs: &myongoredis_core::keyspace::Databases, now: u64, out: &mut Vec<u8>| {
                let started = Instant::now();
                if rdb_base {
                    myongoredis_core::snapshot::rdb_part(dbs, now, list_node, out);
                } else {
                    myongoredis_core::rewrite::encode_databases(dbs, now, out);
                }
                longest.fetch_max(started.elapsed().as_micros() as u64, Relaxed);
            };
        let parts = exec.snapshot(now_ms, Box::new(encode), || {
            let started = Instant::now();
            let mut p = lock(&self.shared.pending);
            let cut = p.bytes.len();
            p.next_file = new_incr.take().map(|f| (f, cut));
            p.selected = None;
            self.shared.data.notify_one();
            instant_hold = started.elapsed();
        });
        let base = if rdb_base {
            myongoredis_core::snapshot::rdb_file(parts, now_ms, true)
        } else {
            parts.concat()
        };
        let stall = instant_hold + Duration::from_micros(longest_part.load(Relaxed));
        let status = &self.shared.status;
        status
            .last_rewrite_stall_us
            .store(stall.as_micros() as u64, Relaxed);

        // 3. The new base, then the manifest that makes it current.
        let base_seq = manifest.base.as_ref().map_or(0, |b| b.seq) + 1;
        let ext = if self.config.rdb_base { "rdb" } else { "aof" };
        let base_file = ManifestFile {
            name: format!("{filename}.{base_seq}.base.{ext}"),
            seq: base_seq,
            kind: FileType::Base,
        };
        write_atomically(dir, &base_file.name, &base)
            .map_err(|e| fail("Can't write the rewritten base AOF file", e))?;
        let current = Manifest {
            base: Some(base_file),
            history: Vec::new(),
            incr: vec![incr.clone()],
        };
        write_atomically(dir, &manifest_file, current.render().as_bytes())
            .map_err(|e| fail("Can't persist the AOF manifest", e))?;
        *lock(&self.manifest) = current;

        // 4. The old base and incr files are history.
        let old = manifest
            .base
            .iter()
            .chain(&manifest.incr)
            .chain(&manifest.history);
        for file in old.filter(|f| f.name != incr.name) {
            let _ = fs::remove_file(dir.join(&file.name));
        }
        let incr_len = fs::metadata(dir.join(&incr.name)).map_or(0, |m| m.len());
        status.base_size.store(base.len() as u64, Relaxed);
        status
            .current_size
            .store(base.len() as u64 + incr_len, Relaxed);
        eprintln!(
            "myongoredis: background AOF rewrite finished successfully ({} bytes of base, writers stalled {} us)",
            base.len(),
            stall.as_micros()
        );
        Ok(())
    }

    /// Write and sync everything fed, stop the writer. Called when no
    /// connection is left (a graceful shutdown).
    pub fn finish(&self) -> Result<(), String> {
        self.shared.stop.store(true, Relaxed);
        self.shared.data.notify_one();
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
        match self.shared.status.write_denied() {
            Some(e) => Err(format!("the AOF could not be written: {e}")),
            None => Ok(()),
        }
    }
}

/// The writer thread: take what was fed, write it, sync per the policy.
fn write_loop(shared: &Shared, mut file: File, disk_full_at: Option<u64>) {
    let mut last_sync = Instant::now();
    let mut unsynced = false;
    // What is being written. Swapped with the feed's buffer, so that both
    // keep their capacity; after a failed write it keeps the unwritten
    // bytes, and what was fed meanwhile is appended to them.
    let mut chunk: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    loop {
        let (end, rotate) = {
            let mut p = lock(&shared.pending);
            // Under everysec, wake at least once a second to sync.
            while p.bytes.is_empty()
                && chunk.is_empty()
                && p.next_file.is_none()
                && !shared.stop.load(Relaxed)
            {
                let (next, timeout) = shared
                    .data
                    .wait_timeout(p, Duration::from_millis(1000))
                    .unwrap_or_else(PoisonError::into_inner);
                p = next;
                if timeout.timed_out() && unsynced {
                    break;
                }
            }
            let mut rotate = None;
            if let Some((next, cut)) = p.next_file.take() {
                // A rewrite began: what was fed before it goes to the old
                // file, the rest waits for the new one.
                chunk.extend(p.bytes.drain(..cut));
                rotate = Some(next);
            } else if chunk.is_empty() {
                std::mem::swap(&mut chunk, &mut p.bytes);
            } else {
                chunk.extend_from_slice(&p.bytes);
                p.bytes.clear();
            }
            (p.fed - p.bytes.len() as u64, rotate)
        };
        let stopping = shared.stop.load(Relaxed);
        let mut result = Ok(());
        if !chunk.is_empty() {
            result = match disk_full_at {
                Some(full) if file_len + chunk.len() as u64 > full => {
                    Err(io::Error::from_raw_os_error(28)) // ENOSPC
                }
                _ => file.write_all(&chunk),
            };
            match &result {
                Ok(()) => {
                    let status = &shared.status;
                    status.current_size.fetch_add(chunk.len() as u64, Relaxed);
                    file_len += chunk.len() as u64;
                    let buffered = lock(&shared.pending).bytes.len() as u64;
                    status.buffered.store(buffered, Relaxed);
                    chunk.clear();
                    unsynced = true;
                }
                // Part of the chunk may be in the file: cut it off, so the
                // retry does not write it twice (Redis truncates too).
                Err(_) => {
                    let _ = file.set_len(file_len);
                }
            }
        }
        let sync_now = match shared.fsync() {
            // The old incr file is complete: on disk before the switch.
            _ if rotate.is_some() => unsynced,
            Fsync::Always => unsynced,
            Fsync::EverySec => {
                unsynced && (stopping || last_sync.elapsed() >= Duration::from_secs(1))
            }
            Fsync::No => unsynced && stopping,
        };
        if result.is_ok() && sync_now {
            result = file.sync_data();
            if result.is_ok() {
                shared.fsyncs.fetch_add(1, Relaxed);
                last_sync = Instant::now();
                unsynced = false;
            }
        }
        match result {
            Ok(()) => {
                shared.status.recovered();
                *lock(&shared.done) = end;
                shared.done_cv.notify_all();
                if let Some(next) = rotate {
                    file = next;
                    file_len = 0;
                }
            }
            Err(e) => {
                eprintln!("myongoredis: error writing to the AOF file: {e}");
                if shared.fsync() == Fsync::Always {
                    // Clients wait for this fsync to be answered; the
                    // writes they made cannot be un-made. Redis exits here.
                    eprintln!(
                        "myongoredis: can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
                    );
                    std::process::exit(1);
                }
                shared.status.failed(&e);
                if let Some(next) = rotate {
                    // Retry the old file's tail first, then switch.
                    lock(&shared.pending).next_file = Some((next, 0));
                }
                if stopping {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        }
        if stopping && lock(&shared.pending).bytes.is_empty() {
            return;
        }
    }
}

/// The base file's contents for the current dataset (a first start, so an
/// empty one): an RDB file with the `aof-base` aux field, or, without the
/// RDB preamble, commands (none).
fn base_snapshot(config: &AofConfig, exec: &Executor) -> io::Result<Vec<u8>> {
    Ok(if config.rdb_base {
        exec.snapshot_rdb(crate::clock::unix_now_us() / 1000, true, || {})
    } else {
        Vec::new()
    })
}

/// Load the files the manifest names into `exec`, as Redis 7.0's
/// `loadAppendOnlyFiles`: base, then incr files in order.
fn load(config: &AofConfig, manifest: &Manifest, exec: &Executor) -> Result<Loaded, String> {
    let files: Vec<&ManifestFile> = manifest.base.iter().chain(&manifest.incr).collect();
    let mut loaded = Loaded::default();
    for (i, file) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = config.dir.join(&file.name);
        let bytes = fs::read(&path).map_err(|e| {
            format!(
                "Fatal error: can't open the append log file {} for reading: {e}",
                file.name
            )
        })?;
        let started = Instant::now();
        let outcome = load_file(exec, &file.name, &bytes)?;
        loaded.files += 1;
        loaded.commands += outcome.commands;
        match outcome.end {
            End::Complete => {}
            End::Cut { valid_up_to, why } => {
                if !config.load_truncated {
                    return Err(format!(
                        "{why}Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                        file.name
                    ));
                }
                if !last {
                    return Err(format!(
                        "{why}!!! Warning: short read while loading the AOF file {}!!!\nFatal error: the truncated file is not the last file",
                        file.name
                    ));
                }
                eprintln!(
                    "myongoredis: {why}!!! Warning: short read while loading the AOF file {}!!!",
                    file.name
                );
                eprintln!(
                    "myongoredis: !!! Truncating the AOF {} at offset {valid_up_to} !!!",
                    file.name
                );
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(valid_up_to))
                    .map_err(|e| format!("Error truncating the AOF file {}: {e}", file.name))?;
                eprintln!(
                    "myongoredis: AOF {} loaded anyway because aof-load-truncated is enabled",
                    file.name
                );
            }
        }
        loaded.bytes += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let kind = if file.kind == FileType::Base {
            "base"
        } else {
            "incr"
        };
        eprintln!(
            "myongoredis: DB loaded from {kind} file {}: {:.3} seconds",
            file.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_resp_arrays() {
        let mut out = Vec::new();
        encode_command(
            &[Bytes::from_static(b"SET"), Bytes::from_static(b"k")],
            &mut out,
        );
        assert_eq!(out, b"*2\r\n$3\r\nSET\r\n$1\r\nk\r\n");
    }
}
