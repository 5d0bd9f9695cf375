//! What the executor reports about what it did, besides the reply: the
//! facts a capture records (sequence numbers, PRNG positions, deferred
//! lazy expiry) and the [`WriteSignal`] of every change.

use crate::keyspace::ExpireStats;
use crate::session::Flow;
use crate::signal::WriteSignal;

/// What a capture needs to know about one executed command besides its
/// reply, and what the command changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    pub flow: Flow,
    /// Place in the global order, taken while the command's locks were
    /// held; `None` when the executor has no sequencer.
    pub seq: Option<u64>,
    /// The shared PRNG position the command's stream was forked from, if
    /// the command drew random numbers.
    pub rng_position: Option<u64>,
    /// A read-only command that met expired keys deletes them afterwards
    /// under a write lock, in a critical section of its own: other
    /// commands may run in between. When that deletion removed keys, its
    /// own sequence number and count, so a capture can place it.
    pub lazy_expire: Option<LazyExpire>,
    /// What the command changed (empty for a read that met no expired
    /// key); for a read-only command, the deletion of the expired keys it
    /// met, made in the separate critical section [`Executed::lazy_expire`]
    /// numbers.
    pub signal: WriteSignal,
    /// An EXEC ran a command whose reply shows the shell's state (INFO,
    /// CLIENT LIST: [`crate::capture::SHELL_DEPENDENT`]), so its reply
    /// cannot be compared on replay either.
    pub shell_dependent: bool,
    /// Keys evicted (maxmemory) before the command ran, each numbered
    /// under the lock of its deletion: a capture records them first.
    pub evictions: Vec<super::Eviction>,
}

/// The deferred deletion of a read-only command's expired keys (see
/// [`Executed::lazy_expire`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazyExpire {
    /// `None` without a sequencer.
    pub seq: Option<u64>,
    pub deleted: u64,
}

/// One active-expiry step on one lock's keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpireStep {
    pub lock: u32,
    pub stats: ExpireStats,
    /// Taken under the lock, only for a step that expired keys (a step
    /// that deleted nothing changed nothing and needs no record), and only
    /// with a sequencer.
    pub seq: Option<u64>,
    /// The shared PRNG position the step's sampler was forked from.
    pub rng_position: u64,
    /// The keys the step deleted, each as a modified key and a `DEL` to
    /// propagate (Redis's `activeExpireCycleTryExpire`).
    pub signal: WriteSignal,
}
