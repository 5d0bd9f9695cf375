//! A consistent snapshot of every database without a fork, and without
//! stopping every writer for the whole copy: an AOF rewrite's base (and an
//! RDB save) is written from it.
//!
//! Redis forks: the child sees the memory as it was at the fork, and the
//! parent goes on (copy-on-write pages are the price). Here the snapshot
//! is taken lock by lock:
//! 1. Every lock is taken at once, for a moment: the snapshot's instant.
//!    The caller's `at_snapshot` runs there (the AOF switches to a new incr
//!    file), and every lock is marked *pending*.
//! 2. The locks are released. The snapshot thread then copies one lock's
//!    keyspaces at a time, under that lock alone.
//! 3. A writer that gets a lock still marked pending copies that lock's
//!    keyspaces first, before it changes anything ([`Executor::barrier`]).
//!    So every lock's part is copied before the first change after the
//!    instant: the parts together are the dataset at that instant.
//!
//! A writer thus waits at most for one lock's copy, in shard mode a 32nd
//! of the dataset; readers never wait. With one lock (mutex, rw) the
//! first writer after the instant waits for the whole copy, as before.
//! The copy's format is the caller's (`encode`): commands for an AOF
//! base, RDB records for a dump; each part stands alone (it selects its
//! own databases), so parts are concatenated in lock order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::exec::Executor;
use crate::keyspace::{Databases, NodeLimit};
use crate::rdb::crc64::crc64;
use crate::rdb::encode::{put_len, put_string, put_value};
use crate::rdb::lzf::Compressor;
use crate::rdb::{opcode, Aux, RDB_VERSION};
use crate::store::WriteView;

/// Writes one lock's databases (all of them) at `now_ms`.
pub type Encode = dyn Fn(&Databases, u64, &mut Vec<u8>) + Send + Sync;

/// A snapshot in progress: which locks still have to be copied, and the
/// copies.
pub struct Snapshot {
    pending: Vec<AtomicBool>,
    parts: Vec<Mutex<Vec<u8>>>,
    now_ms: u64,
    encode: Box<Encode>,
}

impl Snapshot {
    /// Copy `lock`'s databases if nobody has yet. The caller holds that
    /// lock (shared or exclusive), so nothing changes during the copy.
    pub(crate) fn take_part(&self, lock: u32, dbs: &Databases) {
        let i = lock as usize;
        if self.pending[i].swap(false, Ordering::AcqRel) {
            let mut part = Vec::new();
            (self.encode)(dbs, self.now_ms, &mut part);
            *self.parts[i].lock().unwrap_or_else(PoisonError::into_inner) = part;
        }
    }
}

impl Executor {
    /// Before a writer changes anything under `view`'s locks: copy the
    /// share of any of them a snapshot still waits for. One atomic load
    /// while no snapshot runs.
    pub(crate) fn barrier(&self, view: &WriteView<'_>) {
        if !self.snapshot_active.load(Ordering::Acquire) {
            return;
        }
        let current = self.snapshot_slot().clone();
        if let Some(snapshot) = current {
            for (lock, dbs) in view.databases_by_lock() {
                snapshot.take_part(lock, dbs);
            }
        }
    }

    fn set_snapshot(&self, snapshot: Option<Arc<Snapshot>>) {
        self.snapshot_active
            .store(snapshot.is_some(), Ordering::Release);
        *self.snapshot_slot() = snapshot;
    }

    fn snapshot_slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Snapshot>>> {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The dataset at one instant, as `encode` writes each lock's share,
    /// in lock order. `at_snapshot` runs at that instant, with every lock
    /// held. See the module comment.
    pub fn snapshot(
        &self,
        now_ms: u64,
        encode: Box<Encode>,
        at_snapshot: impl FnOnce(),
    ) -> Vec<Vec<u8>> {
        let store = self.store();
        let count = store.lock_count();
        let snapshot = Arc::new(Snapshot {
            pending: (0..count).map(|_| AtomicBool::new(true)).collect(),
            parts: (0..count).map(|_| Mutex::new(Vec::new())).collect(),
            now_ms,
            encode,
        });
        {
            let all: Vec<u32> = (0..count).collect();
            let _every_lock = store.read(&all, "snapshot");
            at_snapshot();
            self.set_snapshot(Some(snapshot.clone()));
        }
        for lock in 0..count {
            let view = store.read(&[lock], "snapshot");
            for (lock, dbs) in view.databases_by_lock() {
                snapshot.take_part(lock, dbs);
            }
        }
        self.set_snapshot(None);
        snapshot
            .parts
            .iter()
            .map(|p| std::mem::take(&mut *p.lock().unwrap_or_else(PoisonError::into_inner)))
            .collect()
    }
}

/// One lock's databases as RDB records (`SELECTDB`, `RESIZEDB`, then each
/// live key): a part of [`Executor::snapshot_rdb`]'s file. A database
/// spread over several locks gets one `SELECTDB` per part; loaders (ours
/// and Redis's) take them as they come.
pub fn rdb_part(dbs: &Databases, now_ms: u64, list_node: NodeLimit, out: &mut Vec<u8>) {
    let mut lzf = Compressor::new();
    for (db, ks) in dbs.iter() {
        let (keys, expires) = ks.iter(now_ms).fold((0u64, 0u64), |(k, e), (_, entry)| {
            (k + 1, e + u64::from(entry.expire_at().is_some()))
        });
        if keys == 0 {
            continue;
        }
        out.push(opcode::SELECTDB);
        put_len(out, u64::from(db));
        out.push(opcode::RESIZEDB);
        put_len(out, keys);
        put_len(out, expires);
        for (key, entry) in ks.iter(now_ms) {
            if let Some(at) = entry.expire_at() {
                out.push(opcode::EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            }
            let type_at = out.len();
            out.push(0);
            put_string(out, key, &mut lzf);
            out[type_at] = put_value(out, &entry.value, list_node, &mut lzf);
        }
    }
}

impl Executor {
    /// The dataset at one instant as an RDB file (Redis 7.0, version 10),
    /// read lock by lock through [`Executor::snapshot`]: SAVE, BGSAVE and
    /// an AOF's RDB base. `at_snapshot` runs at the instant, every lock
    /// held.
    pub fn snapshot_rdb(&self, now_ms: u64, aof_base: bool, at_snapshot: impl FnOnce()) -> Vec<u8> {
        let list_node = self.config().limits().list_node;
        let encode =
            move |dbs: &Databases, now: u64, out: &mut Vec<u8>| rdb_part(dbs, now, list_node, out);
        let parts = self.snapshot(now_ms, Box::new(encode), at_snapshot);
        rdb_file(parts, now_ms, aof_base)
    }
}

/// A whole RDB file around `parts` ([`rdb_part`]s in lock order): the
/// magic and Redis 7.0's aux fields, the parts, `EOF` and the CRC64.
pub fn rdb_file(parts: Vec<Vec<u8>>, now_ms: u64, aof_base: bool) -> Vec<u8> {
    let body: usize = parts.iter().map(Vec::len).sum();
    let mut file = Vec::with_capacity(body + 128);
    file.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    let mut lzf = Compressor::new();
    for (name, value) in &Aux::redis_7_0(now_ms / 1000, 0, aof_base).fields {
        file.push(opcode::AUX);
        put_string(&mut file, name, &mut lzf);
        put_string(&mut file, value, &mut lzf);
    }
    for part in parts {
        file.extend_from_slice(&part);
    }
    file.push(opcode::EOF);
    let crc = crc64(0, &file);
    file.extend_from_slice(&crc.to_le_bytes());
    file
}
