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
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
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
    /// Each queued client's wake-up call, while it is queued anywhere.
    waiters: BTreeMap<u64, Arc<Waiter>>,
}

impl Queues {
    /// Wake the client first in line for `key` (in any database: a
    /// spurious wake-up only costs the woken client one more look).
    fn wake_first(&self, key: &[u8]) {
        for ((_, k), queue) in &self.keys {
            if k[..] == *key {
                if let Some(w) = queue.front().and_then(|c| self.waiters.get(c)) {
                    w.wake();
                }
            }
        }
    }
}

/// One blocked client's wake-up call: its shell sleeps on it, and a push
/// to a key the client is first in line for rings it.
///
/// Only the first client in line is woken, not every waiter: the others
/// could not take the element anyway (first come, first served), and
/// waking 50 consumer threads for every job, as one shared condition
/// variable would, costs 50 lock acquisitions and context switches per
/// push. When the first client is served it leaves the queue, and that
/// wakes the next one ([`Blocking::dequeue`]).
///
/// A shell that cannot sleep per client (an event loop serving thousands
/// on one thread) sets a [`Ring`] instead and is called when the bell
/// rings.
#[derive(Default)]
pub struct Waiter {
    /// Rung since the shell last waited: a wake-up that arrives between
    /// the attempt that blocked and the sleep is not lost, it makes the
    /// sleep return at once.
    rung: Mutex<Rung>,
    bell: Condvar,
}

/// What an event-loop shell is called with when its blocked client's bell
/// rings: it must only note the client and wake its loop (it runs under
/// the blocking queues' lock, inside another client's command).
pub type Ring = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Rung {
    rung: bool,
    ring: Option<Ring>,
}

impl Waiter {
    fn wake(&self) {
        let mut rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        rung.rung = true;
        if let Some(ring) = &rung.ring {
            ring();
        }
        self.bell.notify_one();
    }

    /// Call `ring` whenever this waiter is woken from now on, instead of
    /// sleeping on it. Returns whether it was already rung (since the
    /// attempt that blocked): then the shell retries at once.
    pub fn on_ring(&self, ring: Ring) -> bool {
        let mut rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        rung.ring = Some(ring);
        std::mem::take(&mut rung.rung)
    }

    /// Sleep until rung, or `timeout` passes (the shell's clock; `core`
    /// itself never sleeps).
    pub fn wait(&self, timeout: Duration) {
        let rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut rung, _) = self
            .bell
            .wait_timeout_while(rung, timeout, |rung| !rung.rung)
            .unwrap_or_else(PoisonError::into_inner);
        rung.rung = false;
    }
}

/// The blocked clients of one server.
#[derive(Default)]
pub struct Blocking {
    queues: Mutex<Queues>,
    /// Clients registered anywhere: writers skip the mutex while it is 0.
    waiting: AtomicUsize,
}

impl Blocking {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue `client` behind the keys' current waiters.
    pub fn enqueue(&self, client: u64, db: u32, keys: &[Bytes]) {
        let mut q = self.lock();
        for key in keys {
            // A copy: the key is a slice of the client's input buffer.
            let queue = q.keys.entry((db, Bytes::copy_from_slice(key))).or_default();
            if !queue.contains(&client) {
                queue.push_back(client);
            }
        }
        q.waiters.entry(client).or_default();
        self.waiting.fetch_add(1, Relaxed);
    }

    /// `client` stops waiting (served, timed out, gone); whoever is next
    /// in the queues it headed may now be served, so they are woken.
    pub fn dequeue(&self, client: u64) {
        let mut q = self.lock();
        let mut found = false;
        let mut next = Vec::new();
        q.keys.retain(|_, queue| {
            if let Some(i) = queue.iter().position(|&c| c == client) {
                queue.remove(i);
                found = true;
                if i == 0 {
                    next.extend(queue.front().copied());
                }
            }
            !queue.is_empty()
        });
        q.waiters.remove(&client);
        if found {
            self.waiting.fetch_sub(1, Relaxed);
        }
        for c in next {
            if let Some(w) = q.waiters.get(&c) {
                w.wake();
            }
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

    /// Keys were written: wake the client first in line for each.
    pub fn changed(&self, keys: &[Bytes]) {
        if self.waiting.load(Relaxed) == 0 || keys.is_empty() {
            return;
        }
        let q = self.lock();
        for key in keys {
            q.wake_first(key);
        }
    }

    /// Everything was written (FLUSHALL, SWAPDB): wake every waiter.
    pub fn changed_all(&self) {
        if self.waiting.load(Relaxed) == 0 {
            return;
        }
        for w in self.lock().waiters.values() {
            w.wake();
        }
    }

    /// The wake-up call of `client`, while it is queued: its shell sleeps
    /// on it between attempts.
    pub fn waiter(&self, client: u64) -> Option<Arc<Waiter>> {
        self.lock().waiters.get(&client).cloned()
    }
}
