//! The three locking strategies.
//!
//! A poisoned lock (a thread panicked while holding it) is entered anyway:
//! Rust's memory safety guarantees the keyspace is still a valid structure,
//! and refusing service to every other client because one command panicked
//! is worse than the risk of one half-applied command. The shell reports
//! the panic to the client that caused it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, TryLockError};

use crossbeam_utils::CachePadded;

use super::view::{ReadGuard, View, WriteGuard};
use super::{acquire, Access, LockObserver, Mode, ReadView, Store, WriteView};
use crate::keyspace::Databases;

fn try_mutex(m: &Mutex<Databases>) -> Option<MutexGuard<'_, Databases>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

fn lock_mutex(m: &Mutex<Databases>) -> MutexGuard<'_, Databases> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One `Mutex` around the whole keyspace: the baseline.
pub struct MutexStore {
    keyspace: Mutex<Databases>,
    databases: u32,
    observer: Arc<dyn LockObserver>,
}

impl MutexStore {
    pub fn new(databases: u32, observer: Arc<dyn LockObserver>) -> Self {
        MutexStore {
            keyspace: Mutex::new(Databases::new(databases)),
            databases: databases.max(1),
            observer,
        }
    }

    fn lock<'a, G>(
        &'a self,
        access: Access,
        command: &'static str,
        wrap: impl Fn(MutexGuard<'a, Databases>) -> G,
    ) -> View<'a, G> {
        let m = &self.keyspace;
        let held = acquire(
            &*self.observer,
            0,
            access,
            command,
            || try_mutex(m).map(&wrap),
            || wrap(lock_mutex(m)),
        );
        View::new(1, smallvec::smallvec![(0, held)])
    }
}

impl Store for MutexStore {
    fn mode(&self) -> Mode {
        Mode::Mutex
    }

    fn lock_count(&self) -> u32 {
        1
    }

    fn databases(&self) -> u32 {
        self.databases
    }

    fn read<'a>(&'a self, _locks: &[u32], command: &'static str) -> ReadView<'a> {
        self.lock(Access::Read, command, ReadGuard::Mutex)
    }

    fn write<'a>(&'a self, _locks: &[u32], command: &'static str) -> WriteView<'a> {
        self.lock(Access::Write, command, WriteGuard::Mutex)
    }
}

/// One `RwLock` around the whole keyspace: readers share it.
pub struct RwStore {
    keyspace: RwLock<Databases>,
    databases: u32,
    observer: Arc<dyn LockObserver>,
}

impl RwStore {
    pub fn new(databases: u32, observer: Arc<dyn LockObserver>) -> Self {
        RwStore {
            keyspace: RwLock::new(Databases::new(databases)),
            databases: databases.max(1),
            observer,
        }
    }
}

impl Store for RwStore {
    fn mode(&self) -> Mode {
        Mode::Rw
    }

    fn lock_count(&self) -> u32 {
        1
    }

    fn databases(&self) -> u32 {
        self.databases
    }

    fn read<'a>(&'a self, _locks: &[u32], command: &'static str) -> ReadView<'a> {
        let rw = &self.keyspace;
        let held = acquire(
            &*self.observer,
            0,
            Access::Read,
            command,
            || match rw.try_read() {
                Ok(g) => Some(ReadGuard::Shared(g)),
                Err(TryLockError::Poisoned(p)) => Some(ReadGuard::Shared(p.into_inner())),
                Err(TryLockError::WouldBlock) => None,
            },
            || ReadGuard::Shared(rw.read().unwrap_or_else(PoisonError::into_inner)),
        );
        View::new(1, smallvec::smallvec![(0, held)])
    }

    fn write<'a>(&'a self, _locks: &[u32], command: &'static str) -> WriteView<'a> {
        let rw = &self.keyspace;
        let held = acquire(
            &*self.observer,
            0,
            Access::Write,
            command,
            || match rw.try_write() {
                Ok(g) => Some(WriteGuard::Exclusive(g)),
                Err(TryLockError::Poisoned(p)) => Some(WriteGuard::Exclusive(p.into_inner())),
                Err(TryLockError::WouldBlock) => None,
            },
            || WriteGuard::Exclusive(rw.write().unwrap_or_else(PoisonError::into_inner)),
        );
        View::new(1, smallvec::smallvec![(0, held)])
    }
}

/// N mutexes, each owning the keys whose FNV-1a hash falls in its shard.
pub struct ShardedStore {
    /// `CachePadded`: each mutex on its own cache line, so two cores
    /// taking two different shards do not bounce one line between them
    /// (false sharing would be contention the experiment did not ask for).
    shards: Box<[CachePadded<Mutex<Databases>>]>,
    databases: u32,
    observer: Arc<dyn LockObserver>,
}

impl ShardedStore {
    pub fn new(shards: u32, databases: u32, observer: Arc<dyn LockObserver>) -> Self {
        ShardedStore {
            shards: (0..shards.max(1))
                .map(|_| CachePadded::new(Mutex::new(Databases::new(databases))))
                .collect(),
            databases: databases.max(1),
            observer,
        }
    }

    fn lock_all<'a, G>(
        &'a self,
        locks: &[u32],
        access: Access,
        command: &'static str,
        wrap: impl Fn(MutexGuard<'a, Databases>) -> G,
    ) -> View<'a, G> {
        debug_assert!(locks.windows(2).all(|w| w[0] < w[1]), "locks must ascend");
        let held = locks
            .iter()
            .map(|&i| {
                let m = &self.shards[i as usize];
                let held = acquire(
                    &*self.observer,
                    i,
                    access,
                    command,
                    || try_mutex(m).map(&wrap),
                    || wrap(lock_mutex(m)),
                );
                (i, held)
            })
            .collect();
        View::new(self.shards.len() as u32, held)
    }
}

impl Store for ShardedStore {
    fn mode(&self) -> Mode {
        Mode::Shard
    }

    fn lock_count(&self) -> u32 {
        self.shards.len() as u32
    }

    fn databases(&self) -> u32 {
        self.databases
    }

    fn read<'a>(&'a self, locks: &[u32], command: &'static str) -> ReadView<'a> {
        self.lock_all(locks, Access::Read, command, ReadGuard::Mutex)
    }

    fn write<'a>(&'a self, locks: &[u32], command: &'static str) -> WriteView<'a> {
        self.lock_all(locks, Access::Write, command, WriteGuard::Mutex)
    }
}
