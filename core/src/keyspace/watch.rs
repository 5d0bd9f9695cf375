//! WATCH's bookkeeping inside a keyspace: which clients watch which keys
//! (Redis's `db->watched_keys`), and the "touch" that marks them.
//!
//! A client that WATCHes a key gets a [`Watch`], shared between its
//! session (so EXEC and UNWATCH find it) and the watch list of the
//! keyspace that holds the key (so a change finds it). Every change to a
//! key goes through the keyspace's raw mutators, and each of them calls
//! [`Watchers::touch`]: the moment a watched key changes, every client
//! watching it is marked dirty, and its next EXEC fails. Nothing is
//! scanned; a keyspace nobody watches pays one length check per change.
//!
//! The flags are atomics only because the session and the keyspace share
//! them; they are read and written under the key's lock (EXEC holds the
//! locks of every key its client watches), so `Relaxed` is enough.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use crate::dict::Dict;

/// One client's watch on one key (Redis's `watchedKey`).
#[derive(Debug)]
pub struct Watch {
    /// The client's "a watched key changed" flag (`CLIENT_DIRTY_CAS`),
    /// shared by all its watches.
    dirty: Arc<AtomicBool>,
    /// The key was already expired when WATCH ran: its deletion by expiry
    /// is no change, and neither is the deadline passing.
    expired: AtomicBool,
}

impl Watch {
    pub(crate) fn new(dirty: Arc<AtomicBool>, expired: bool) -> Arc<Watch> {
        Arc::new(Watch {
            dirty,
            expired: AtomicBool::new(expired),
        })
    }

    /// Was the key already expired when it was watched (and not deleted
    /// since)?
    pub fn was_expired(&self) -> bool {
        self.expired.load(Relaxed)
    }
}

/// The watches on one keyspace's keys.
#[derive(Default)]
pub(crate) struct Watchers {
    keys: Dict<Vec<Arc<Watch>>>,
}

impl Watchers {
    pub(crate) fn add(&mut self, key: &[u8], watch: Arc<Watch>) {
        match self.keys.get_mut(key) {
            Some(list) => list.push(watch),
            None => {
                self.keys.insert(key, vec![watch]);
            }
        }
    }

    /// Drop one watch; the key's entry goes with its last watch.
    pub(crate) fn remove(&mut self, key: &[u8], watch: &Arc<Watch>) {
        let Some(list) = self.keys.get_mut(key) else {
            return;
        };
        list.retain(|w| !Arc::ptr_eq(w, watch));
        if list.is_empty() {
            self.keys.remove(key);
        }
    }

    /// `key` changed (Redis's `touchWatchedKey`); `exists` says whether it
    /// is in the keyspace after the change. A client that watched the key
    /// while it was already expired is not disturbed by its deletion: that
    /// is no logical change (the flag is cleared, so a later change counts).
    pub(crate) fn touch(&self, key: &[u8], exists: bool) {
        if self.keys.is_empty() {
            return;
        }
        let Some(list) = self.keys.get(key) else {
            return;
        };
        for watch in list {
            if watch.expired.load(Relaxed) {
                if !exists {
                    watch.expired.store(false, Relaxed);
                }
                continue;
            }
            watch.dirty.store(true, Relaxed);
        }
    }

    /// Every watched key of a database that is about to be emptied
    /// (FLUSHDB, FLUSHALL) or replaced by another's keys (SWAPDB) (Redis's
    /// `touchAllWatchedKeysInDb`). `state(key)` says whether the key
    /// exists now, and, for a swap, whether it exists in the replacing
    /// database and is expired there.
    pub(crate) fn touch_all(&self, state: impl Fn(&[u8]) -> KeyFate) {
        for (key, list) in self.keys.iter() {
            let fate = state(key);
            let replaced = fate.replacement.is_some();
            if !fate.exists_now && !replaced {
                continue;
            }
            for watch in list {
                if watch.expired.load(Relaxed) {
                    match fate.replacement {
                        // Gone, as it was logically: no change.
                        None => {
                            watch.expired.store(false, Relaxed);
                            continue;
                        }
                        // Still an expired key after the swap.
                        Some(true) => continue,
                        Some(false) => {}
                    }
                } else if !fate.exists_now && fate.replacement == Some(true) {
                    // A missing key becomes an expired one: no change yet.
                    watch.expired.store(true, Relaxed);
                    continue;
                }
                watch.dirty.store(true, Relaxed);
            }
        }
    }
}

/// What happens to a watched key when its whole database is emptied or
/// swapped (see [`Watchers::touch_all`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyFate {
    /// The key is in the database now.
    pub exists_now: bool,
    /// After a swap, the key exists in the database that replaces this
    /// one: `Some(expired)`. `None` after a flush, or if it does not.
    pub replacement: Option<bool>,
}
