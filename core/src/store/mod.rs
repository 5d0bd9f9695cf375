//! The store: the keyspace behind locks, in one of three strategies.
//!
//! This module is the experiment. The same commands run against
//!
//! | mode    | locks                                 | a read takes | a write takes |
//! |---------|---------------------------------------|--------------|---------------|
//! | `mutex` | one `Mutex<Keyspace>`                 | the mutex    | the mutex     |
//! | `rw`    | one `RwLock<Keyspace>`                | shared lock  | exclusive     |
//! | `shard` | N `Mutex<Keyspace>`, FNV-1a(key) % N  | its shard    | its shard     |
//!
//! `mutex` serializes everything: two GETs on different keys wait for each
//! other. `rw` lets readers overlap but a single writer stops everyone (and
//! an RwLock costs more per acquisition than a mutex). `shard` lets commands
//! on different keys run in parallel and makes two commands wait only when
//! their keys hash to the same shard; its shards are plain mutexes so the
//! experiment varies one thing at a time (rw *shares*, shard *splits*).
//!
//! Every acquisition goes through [`acquire`], which asks the injected
//! [`LockObserver`] for timestamps and reports a [`LockSpan`] when the lock
//! is released. `core` reads no clock: the observer is the shell's.

mod strategies;
mod view;

pub use strategies::{MutexStore, RwStore, ShardedStore};
pub use view::{Held, KeyOutsidePlan, ReadGuard, ReadView, View, WriteGuard, WriteView};

use std::sync::Arc;

use crate::hash::fnv1a32;

/// Which locking strategy a store uses (`--mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Mutex,
    Rw,
    Shard,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Mutex => "mutex",
            Mode::Rw => "rw",
            Mode::Shard => "shard",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "mutex" => Some(Mode::Mutex),
            "rw" => Some(Mode::Rw),
            "shard" => Some(Mode::Shard),
            _ => None,
        }
    }
}

/// What a command intends to do with the data behind a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

/// One lock acquisition, from the moment the thread asked for the lock to
/// the moment it let go. Times are whatever [`LockObserver::stamp`]
/// returned (the native shell: nanoseconds since start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockSpan {
    /// Lock index: the shard in shard mode, 0 otherwise.
    pub lock: u32,
    pub access: Access,
    /// The lock was held by someone else when asked for (`try_lock`
    /// failed), so the thread had to wait.
    pub contended: bool,
    pub wait_start: u64,
    pub acquired: u64,
    pub released: u64,
    /// The command (table name) that took the lock.
    pub command: &'static str,
}

impl LockSpan {
    pub fn wait(&self) -> u64 {
        self.acquired.saturating_sub(self.wait_start)
    }

    pub fn hold(&self) -> u64 {
        self.released.saturating_sub(self.acquired)
    }
}

/// The shell's window into the lock path.
///
/// `stamp` is the only clock `core` ever sees, and it is only used to
/// *report* (never to decide anything), so replies stay deterministic
/// whatever it returns.
pub trait LockObserver: Send + Sync {
    /// A monotonic timestamp. Called once before asking for a lock, once
    /// more only if the lock was contended, and once before releasing.
    fn stamp(&self) -> u64;
    /// Called once per acquisition, just before the lock is released.
    fn record(&self, span: &LockSpan);
}

/// An observer that records nothing: for tests and the simulator.
#[derive(Debug, Default)]
pub struct NoObserver;

impl LockObserver for NoObserver {
    fn stamp(&self) -> u64 {
        0
    }

    fn record(&self, _span: &LockSpan) {}
}

/// A keyspace behind locks. The three strategies implement it; the
/// executor only ever talks to `dyn Store`.
///
/// `locks` passed to [`Store::read`]/[`Store::write`] must be sorted
/// ascending and free of duplicates: taking locks in one global order is
/// what makes multi-key commands deadlock-free.
pub trait Store: Send + Sync {
    fn mode(&self) -> Mode;

    /// Number of locks (1 for mutex and rw, N for shard).
    fn lock_count(&self) -> u32;

    /// Number of databases behind every lock (`databases`): the valid
    /// indexes for SELECT, MOVE, SWAPDB and COPY ... DB are below it.
    fn databases(&self) -> u32;

    /// Lock the given locks for reading (shared where the strategy allows).
    fn read<'a>(&'a self, locks: &[u32], command: &'static str) -> ReadView<'a>;

    /// Lock the given locks for writing.
    fn write<'a>(&'a self, locks: &[u32], command: &'static str) -> WriteView<'a>;
}

/// The lock that guards `key` in a store of `lock_count` locks: FNV-1a
/// (32-bit, as the seed server) modulo the number of shards.
pub fn lock_of(key: &[u8], lock_count: u32) -> u32 {
    if lock_count <= 1 {
        0
    } else {
        fnv1a32(key) % lock_count
    }
}

/// Build the store for `mode` with `databases` numbered databases (the
/// `databases` config parameter). `shards` is used only by shard mode.
pub fn new_store(
    mode: Mode,
    shards: u32,
    databases: u32,
    observer: Arc<dyn LockObserver>,
) -> Box<dyn Store> {
    match mode {
        Mode::Mutex => Box::new(MutexStore::new(databases, observer)),
        Mode::Rw => Box::new(RwStore::new(databases, observer)),
        Mode::Shard => Box::new(ShardedStore::new(shards.max(1), databases, observer)),
    }
}

/// Take one lock through the instrumented path.
///
/// First a `try_lock`: if it succeeds the wait was zero and one timestamp
/// is saved. Only when it fails (the lock is *contended*) does the thread
/// block in `lock` and take a second timestamp when it gets in.
pub(crate) fn acquire<'a, G>(
    observer: &'a dyn LockObserver,
    lock: u32,
    access: Access,
    command: &'static str,
    try_lock: impl FnOnce() -> Option<G>,
    blocking_lock: impl FnOnce() -> G,
) -> Held<'a, G> {
    let wait_start = observer.stamp();
    let (guard, contended, acquired) = match try_lock() {
        Some(g) => (g, false, wait_start),
        None => {
            let g = blocking_lock();
            (g, true, observer.stamp())
        }
    };
    Held::new(
        guard,
        observer,
        LockSpan {
            lock,
            access,
            contended,
            wait_start,
            acquired,
            released: 0,
            command,
        },
    )
}

#[cfg(test)]
mod tests;
