//! Views: what a command sees of the store while it holds its locks.
//!
//! A [`View`] is a small set of held locks, each guarding one keyspace.
//! [`View::ks`] finds the keyspace that owns a key. The executor planned
//! the locks from the keys the command's key specs find, so for a correct
//! table row that keyspace is always among the held ones; for a wrong row
//! it is not, and the command gets [`KeyOutsidePlan`] (an error reply for
//! its client) instead of a keyspace it never locked. A [`ReadView`] hands
//! out `&Keyspace` only; a [`WriteView`] also `&mut Keyspace`, so a
//! read-only command cannot mutate data under a shared lock: the type
//! system checks the lock plan's mode, the key specs its extent.
//!
//! A write view also carries the command's [`Journal`]: the keyspace it
//! hands out is a [`KeyspaceMut`], which notes every change, and
//! [`WriteView::take_signal`] turns the notes (and the keys the held
//! keyspaces deleted by expiry) into the command's
//! [`WriteSignal`] while the locks are still held.

use std::ops::{Deref, DerefMut};
use std::sync::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};

use super::{lock_of, LockObserver, LockSpan, NoObserver};
use crate::error;
use crate::frame::Frame;
use crate::keyspace::{Databases, ExpireStats, Keyspace, KeyspaceMut};
use crate::rng::Rng;
use crate::signal::{Journal, WriteSignal};

/// A command reached for a key whose lock is not in its lock plan: its
/// table row's key specs do not find every key it touches. Returned
/// instead of the keyspace, so the bug costs one error reply, not the
/// server (or, in a shard the command never locked, a data race).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyOutsidePlan {
    /// The lock the key needed.
    pub lock: u32,
}

impl From<KeyOutsidePlan> for Frame {
    fn from(e: KeyOutsidePlan) -> Frame {
        error::key_outside_lock_plan(e.lock)
    }
}

/// A lock guard that reports its [`LockSpan`] to the observer on release.
pub struct Held<'a, G> {
    guard: G,
    observer: &'a dyn LockObserver,
    span: LockSpan,
}

impl<'a, G> Held<'a, G> {
    pub(crate) fn new(guard: G, observer: &'a dyn LockObserver, span: LockSpan) -> Self {
        Held {
            guard,
            observer,
            span,
        }
    }
}

impl<G> Drop for Held<'_, G> {
    fn drop(&mut self) {
        // `guard` is dropped (the lock released) right after this returns,
        // so the stamp below is the last moment the lock was held.
        self.span.released = self.observer.stamp();
        self.observer.record(&self.span);
    }
}

/// A guard that allows reading: a mutex (exclusive even for reads) or the
/// shared side of an RwLock.
pub enum ReadGuard<'a> {
    Mutex(MutexGuard<'a, Databases>),
    Shared(RwLockReadGuard<'a, Databases>),
    /// Data behind a lock a [`WriteView`] holds, lent to a read-only
    /// command inside EXEC (see [`WriteView::lend`]).
    Lent(&'a Databases),
}

/// A guard that allows writing.
pub enum WriteGuard<'a> {
    Mutex(MutexGuard<'a, Databases>),
    Exclusive(RwLockWriteGuard<'a, Databases>),
}

impl Deref for ReadGuard<'_> {
    type Target = Databases;
    fn deref(&self) -> &Databases {
        match self {
            ReadGuard::Mutex(g) => g,
            ReadGuard::Shared(g) => g,
            ReadGuard::Lent(d) => d,
        }
    }
}

impl Deref for WriteGuard<'_> {
    type Target = Databases;
    fn deref(&self) -> &Databases {
        match self {
            WriteGuard::Mutex(g) => g,
            WriteGuard::Exclusive(g) => g,
        }
    }
}

impl DerefMut for WriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Databases {
        match self {
            WriteGuard::Mutex(g) => g,
            WriteGuard::Exclusive(g) => g,
        }
    }
}

/// The locks a command holds, in ascending lock order, and the database
/// it works in.
pub struct View<'a, G> {
    lock_count: u32,
    held: HeldLocks<'a, G>,
    /// The client's selected database: the one [`View::ks`] and
    /// [`View::keyspaces`] look in.
    db: u32,
    /// The command's clock reading (for the access time of what it
    /// stores); 0 for the executor's own passes.
    now_ms: u64,
    /// What a writer changed so far (untouched by readers).
    journal: Journal,
}

/// The locks a view holds, by lock index: inline when it is one, as for
/// every single-key command (and every command in mutex and rw mode).
pub(crate) type HeldLocks<'a, G> = smallvec::SmallVec<[(u32, Held<'a, G>); 1]>;

pub type ReadView<'a> = View<'a, ReadGuard<'a>>;
pub type WriteView<'a> = View<'a, WriteGuard<'a>>;

impl<'a, G> View<'a, G> {
    pub(crate) fn new(lock_count: u32, held: HeldLocks<'a, G>) -> Self {
        View {
            lock_count,
            held,
            db: 0,
            now_ms: 0,
            journal: Journal::default(),
        }
    }

    /// The command runs at `now_ms`.
    pub fn at(mut self, now_ms: u64) -> Self {
        self.now_ms = now_ms;
        self
    }

    /// Look in database `db` (the session's SELECT) from now on.
    pub fn in_db(mut self, db: u32) -> Self {
        self.db = db;
        self
    }

    /// The database this view looks in.
    pub fn db(&self) -> u32 {
        self.db
    }

    /// Look in database `db` from now on (EXEC, whose queued SELECT
    /// changes the database of the commands after it).
    pub(crate) fn set_db(&mut self, db: u32) {
        self.db = db;
    }

    fn position(&self, key: &[u8]) -> Result<usize, KeyOutsidePlan> {
        let lock = lock_of(key, self.lock_count);
        self.held
            .iter()
            .position(|(l, _)| *l == lock)
            .ok_or(KeyOutsidePlan { lock })
    }
}

impl<G: Deref<Target = Databases>> View<'_, G> {
    /// The keyspace that owns `key` in the selected database, if its lock
    /// is held.
    pub fn ks(&self, key: &[u8]) -> Result<&Keyspace, KeyOutsidePlan> {
        self.ks_in(self.db, key)
    }

    /// The keyspace that owns `key` in database `db` (MOVE, COPY ... DB).
    pub fn ks_in(&self, db: u32, key: &[u8]) -> Result<&Keyspace, KeyOutsidePlan> {
        Ok(self.held[self.position(key)?].1.guard.db(db))
    }

    /// The selected database's keyspace behind every held lock, in lock
    /// order (all of them for commands that lock the whole store, such as
    /// DBSIZE or KEYS).
    pub fn keyspaces(&self) -> impl Iterator<Item = &Keyspace> {
        let db = self.db;
        self.held.iter().map(move |(_, h)| h.guard.db(db))
    }

    /// Every database behind every held lock (INFO keyspace, expiry
    /// bookkeeping).
    pub fn databases(&self) -> impl Iterator<Item = &Databases> {
        self.held.iter().map(|(_, h)| &*h.guard)
    }

    /// [`View::databases`] with each lock's index (a snapshot in progress
    /// is tracked per lock: see `snapshot.rs`).
    pub fn databases_by_lock(&self) -> impl Iterator<Item = (u32, &Databases)> {
        self.held.iter().map(|(lock, h)| (*lock, &*h.guard))
    }

    /// The selected database's keyspace behind the held lock with index
    /// `i` in lock order (SCAN's cursor names a shard this way).
    pub fn keyspace_at(&self, i: usize) -> Option<&Keyspace> {
        self.held.get(i).map(|(_, h)| h.guard.db(self.db))
    }

    /// Database `db`'s keyspace behind the held lock with index `i` in
    /// lock order.
    pub fn keyspace_in_lock(&self, i: usize, db: u32) -> &Keyspace {
        self.held[i].1.guard.db(db)
    }

    /// Number of held locks.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }
}

/// Reports nothing: the spans of a lent view belong to the view that
/// really holds the locks.
static LENDER: NoObserver = NoObserver;

impl WriteView<'_> {
    /// The held locks as a read view, for a read-only command inside EXEC
    /// (which holds every lock its commands need, exclusively). Lending
    /// takes no lock and reports no span.
    pub(crate) fn lend(&self) -> ReadView<'_> {
        let held = self
            .held
            .iter()
            .map(|(lock, h)| {
                let guard = ReadGuard::Lent(&h.guard);
                (*lock, Held::new(guard, &LENDER, h.span))
            })
            .collect();
        View::new(self.lock_count, held).in_db(self.db)
    }
}

impl<'a, G: DerefMut<Target = Databases>> View<'a, G> {
    /// The keyspace that owns `key` in the selected database, for
    /// modification, if its lock is held.
    pub fn ks_mut(&mut self, key: &[u8]) -> Result<KeyspaceMut<'_>, KeyOutsidePlan> {
        self.ks_mut_in(self.db, key)
    }

    /// [`View::ks_mut`] in database `db`.
    pub fn ks_mut_in(&mut self, db: u32, key: &[u8]) -> Result<KeyspaceMut<'_>, KeyOutsidePlan> {
        let i = self.position(key)?;
        Ok(
            KeyspaceMut::new(self.held[i].1.guard.db_mut(db), db, &mut self.journal)
                .at(self.now_ms),
        )
    }

    /// Change every database behind every held lock (the executor's own
    /// passes, such as switching the access clock's reading).
    pub(crate) fn for_each_databases_mut(&mut self, mut change: impl FnMut(&mut Databases)) {
        for (_, h) in &mut self.held {
            change(&mut h.guard);
        }
    }

    /// Remove every key of the selected database (FLUSHDB), or of every
    /// database (FLUSHALL), behind every held lock.
    pub fn flush(&mut self, all: bool) {
        for (_, h) in &mut self.held {
            for db in 0..h.guard.count() {
                if all || db == self.db {
                    KeyspaceMut::new(h.guard.db_mut(db), db, &mut self.journal).clear();
                }
            }
        }
    }

    /// Exchange databases `a` and `b` behind every held lock (SWAPDB, which
    /// holds them all). One change to the data set, as Redis counts it
    /// (even for `a == b`), so it is propagated.
    pub fn swap_databases(&mut self, a: u32, b: u32, now_ms: u64) {
        for (_, h) in &mut self.held {
            h.guard.swap(a, b, now_ms);
        }
        self.journal.swapped(a, b);
    }

    /// One run of the active-expiry sampler on every database of every
    /// held lock (see [`Keyspace::active_expire`]); the executor's cycle,
    /// not a command.
    pub(crate) fn active_expire(&mut self, now_ms: u64, rng: &Rng, max_loops: u32) -> ExpireStats {
        let mut stats = ExpireStats::default();
        for (_, h) in &mut self.held {
            let s = h.guard.active_expire(now_ms, rng, max_loops);
            stats.sampled += s.sampled;
            stats.expired += s.expired;
        }
        stats
    }

    /// What the holder of this view changed, for a command run with
    /// `args` in the view's database: the keys deleted by expiry (through
    /// a [`KeyspaceMut`], in the order the command met them; by the active
    /// cycle, in lock and database order), then the changes noted in the
    /// journal. Resets the journal.
    pub(crate) fn take_signal(&mut self, args: &[bytes::Bytes]) -> WriteSignal {
        self.take_signal_with(args, true)
    }

    /// [`View::take_signal`], building the argv to propagate only if
    /// `with_argv` (see `Journal::into_signal`).
    pub(crate) fn take_signal_with(
        &mut self,
        args: &[bytes::Bytes],
        with_argv: bool,
    ) -> WriteSignal {
        for (_, h) in &mut self.held {
            let journal = &mut self.journal;
            h.guard
                .take_expired_logs(|db, keys| journal.expired(db, keys));
        }
        std::mem::take(&mut self.journal).into_signal(args, self.db, with_argv)
    }
}
