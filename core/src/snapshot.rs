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
use crate::keyspace::Databases;
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
