//! Who waits for which key (BLPOP and the other blocking pops), and the
//! signal that wakes them.
//!
//! A blocking command that finds nothing does not hold a lock while it
//! waits: it registers its client in the queue of every key it waits on
//! (under those keys' locks, so no push can slip in between the empty
//! look and the registration), returns [`crate::Flow::Block`], and its
//! shell parks the connection until [`Blocking::changed`] says that a
//! key with waiters was written, or its deadline passes. Then the shell
//! runs the same command again. A retry may take an element only from a
//! key whose queue it heads, so clients blocked on one key are served
//! first come, first served.
//!
//! The queues live here, in the executor, and change only inside
//! commands (and at the end of a session), so replay rebuilds them
//! exactly. Writers pay one atomic load while nobody waits.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;

/// What a client blocked in a pop is told when the server shuts down
/// under it, before its connection closes.
///
/// Redis 7.0 itself just closes such a connection at exit; this is the
/// error Redis sends when it *must* end every blocking operation at once
/// (`disconnectAllBlockedClients`, when a primary becomes a replica).
/// Client libraries know it: Sidekiq and redis-rb treat it as "retry
/// elsewhere", which is what a queue consumer should do when its server
/// goes away.
pub const UNBLOCKED_BY_SHUTDOWN: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

#[derive(Default)]
struct Queues {
    /// (database, key) → waiting client ids, oldest first.
    keys: BTreeMap<(u32, Bytes), VecDeque<u64>>,
}

/// The blocked clients of one server.
#[derive(Default)]
pub struct Blocking {
    queues: Mutex<Queues>,
    woken: Condvar,
    /// Clients registered anywhere: writers skip the mutex while it is 0.
    waiting: AtomicUsize,
    /// Bumped (under the mutex) whenever a key with waiters changes: a
    /// shell reads it before an attempt, and if the attempt blocks, sleeps
    /// until it moves past that value, so a push between the attempt and
    /// the sleep is not missed. Read without the mutex.
    generation: AtomicU64,
}

impl Blocking {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue `client` behind the keys' current waiters.
    pub fn enqueue(&self, client: u64, db: u32, keys: &[Bytes]) {
        let mut q = self.lock();
        for key in keys {
            let queue = q.keys.entry((db, key.clone())).or_default();
            if !queue.contains(&client) {
                queue.push_back(client);
            }
        }
        self.waiting.fetch_add(1, Relaxed);
    }

    /// `client` stops waiting (served, timed out, gone); whoever is next
    /// in its queues may now be served, so waiters are woken.
    pub fn dequeue(&self, client: u64) {
        let mut q = self.lock();
        let before = q.keys.len();
        let mut found = false;
        q.keys.retain(|_, queue| {
            if let Some(i) = queue.iter().position(|&c| c == client) {
                queue.remove(i);
                found = true;
            }
            !queue.is_empty()
        });
        if found {
            self.waiting.fetch_sub(1, Relaxed);
        }
        if found || q.keys.len() != before {
            self.generation.fetch_add(1, Relaxed);
            self.woken.notify_all();
        }
    }

    /// May `client` take from `key` now: nobody waits on it, or `client`
    /// is first in line?
    pub fn may_serve(&self, client: u64, db: u32, key: &Bytes) -> bool {
        if self.waiting.load(Relaxed) == 0 {
            return true;
        }
        let q = self.lock();
        q.keys
            .get(&(db, key.clone()))
            .and_then(|queue| queue.front())
            .is_none_or(|&first| first == client)
    }

    /// Keys were written: wake the waiters if any of them waits on one.
    /// (Databases are not told apart here: a spurious wake-up only costs
    /// the woken client one more look.)
    pub fn changed(&self, keys: &[Bytes]) {
        if self.waiting.load(Relaxed) == 0 || keys.is_empty() {
            return;
        }
        let q = self.lock();
        if q.keys.keys().any(|(_, k)| keys.contains(k)) {
            self.generation.fetch_add(1, Relaxed);
            self.woken.notify_all();
        }
    }

    /// Everything was written (FLUSHALL, SWAPDB): wake every waiter.
    pub fn changed_all(&self) {
        if self.waiting.load(Relaxed) == 0 {
            return;
        }
        let _q = self.lock();
        self.generation.fetch_add(1, Relaxed);
        self.woken.notify_all();
    }

    /// The current generation, to pass to [`Blocking::wait`]: read it
    /// before the attempt that may block.
    pub fn generation(&self) -> u64 {
        self.generation.load(Relaxed)
    }

    /// Sleep until a key with waiters changed after `seen` was read, or
    /// `timeout` passes (the shell's clock; `core` itself never sleeps).
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let q = self.lock();
        let _ = self
            .woken
            .wait_timeout_while(q, timeout, |_| self.generation.load(Relaxed) == seen);
    }
}
