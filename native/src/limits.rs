//! Per-connection limits: the client-count semaphore and the deadlines.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// `--maxclients` as a counting semaphore that never blocks: the acceptor
/// either gets a permit or rejects the client with Redis's error, so one
/// flood of connections cannot stall the accept loop for the others.
pub struct ClientSlots {
    /// Atomic so CONFIG SET maxclients applies at once; lowering it below
    /// the clients already connected closes nobody, it only rejects new
    /// clients until enough have left (as Redis).
    max: AtomicUsize,
    used: AtomicUsize,
}

/// A held slot; dropping it frees the slot the moment the client leaves.
pub struct Slot<'a> {
    slots: &'a ClientSlots,
}

impl ClientSlots {
    pub fn new(max: usize) -> Self {
        ClientSlots {
            max: AtomicUsize::new(max),
            used: AtomicUsize::new(0),
        }
    }

    /// Take a slot, or `None` if all `max` are in use.
    pub fn try_acquire(&self) -> Option<Slot<'_>> {
        let max = self.max.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot { slots: self })
    }
}

impl ClientSlots {
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.slots.used.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The deadlines a connection enforces.
#[derive(Debug)]
pub struct Deadlines {
    /// Close a client idle (no partial request, nothing to do) this many
    /// seconds; 0 = never (Redis's `timeout 0`). Atomic: CONFIG SET
    /// timeout applies to connected clients at their next tick.
    pub idle_secs: AtomicU64,
    /// Close a client whose request has been incomplete this long, or whose
    /// replies could not be written for this long.
    pub io: Duration,
}

impl Deadlines {
    pub fn idle(&self) -> Option<Duration> {
        match self.idle_secs.load(Ordering::Relaxed) {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_freed_on_drop() {
        let slots = ClientSlots::new(2);
        let a = slots.try_acquire().expect("first");
        let _b = slots.try_acquire().expect("second");
        assert!(slots.try_acquire().is_none());
        drop(a);
        let _c = slots.try_acquire().expect("a freed slot is reusable");
        assert!(slots.try_acquire().is_none());
    }
}
