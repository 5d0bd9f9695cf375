//! The cluster state as the threads share it: one writer at a time,
//! and a published copy for routing (see [`Cluster`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{ClusterShell, ClusterState};

/// The cluster state shared by every connection and the bus: read on
/// every keyed command (routing), written by CLUSTER commands and bus
/// messages. An `RwLock` because reads outnumber writes by far; no
/// keyspace lock is ever taken while it is held for writing, and it is
/// never held while a keyspace lock is awaited (MIGRATE, which does
/// network I/O, holds neither it nor the executor's shared state).
///
/// The hot path does not take that lock at all: routing reads a
/// *published* copy of the state. Every write that moves
/// [`ClusterState::version`] publishes a new copy when its guard is
/// dropped; each connection keeps the copy it last used
/// ([`ClusterView`], in its session) and only compares a version number
/// (one shared atomic, read and never written by commands, so its cache
/// line is not bounced between cores) before trusting it. In shard mode a
/// lock taken by every keyed command would be a contention point of its
/// own, invisible to the lock trace.
pub struct Cluster {
    state: RwLock<ClusterState>,
    /// The last published copy, and its version.
    published: Mutex<Arc<ClusterState>>,
    published_version: AtomicU64,
    shell: Arc<dyn ClusterShell>,
}

/// A connection's copy of the cluster state (see [`Cluster`]).
#[derive(Clone)]
pub struct ClusterView(pub Arc<ClusterState>);

impl std::fmt::Debug for ClusterView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClusterView(version {})", self.0.version)
    }
}

/// The write guard of the cluster state: publishes a new copy for
/// routing when dropped, if the version moved.
pub struct StateWrite<'a> {
    guard: RwLockWriteGuard<'a, ClusterState>,
    cluster: &'a Cluster,
}

impl std::ops::Deref for StateWrite<'_> {
    type Target = ClusterState;
    fn deref(&self) -> &ClusterState {
        &self.guard
    }
}

impl std::ops::DerefMut for StateWrite<'_> {
    fn deref_mut(&mut self) -> &mut ClusterState {
        &mut self.guard
    }
}

impl Drop for StateWrite<'_> {
    fn drop(&mut self) {
        // Published while the write lock is still held, so copies are
        // published in the order of the changes.
        if self.guard.version != self.cluster.published_version.load(Ordering::Acquire) {
            let copy = Arc::new(self.guard.clone());
            *self
                .cluster
                .published
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = copy;
            self.cluster
                .published_version
                .store(self.guard.version, Ordering::Release);
        }
    }
}

impl Cluster {
    pub fn new(state: ClusterState, shell: Arc<dyn ClusterShell>) -> Cluster {
        let version = state.version;
        Cluster {
            published: Mutex::new(Arc::new(state.clone())),
            published_version: AtomicU64::new(version),
            state: RwLock::new(state),
            shell,
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, ClusterState> {
        // A panic while holding the lock leaves plain data behind, still
        // consistent enough to serve (every change is one assignment).
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> StateWrite<'_> {
        StateWrite {
            guard: self.state.write().unwrap_or_else(|e| e.into_inner()),
            cluster: self,
        }
    }

    /// The state as routing sees it: `view` (a connection's copy), renewed
    /// first if a newer one was published.
    pub fn view<'v>(&self, view: &'v mut Option<ClusterView>) -> &'v ClusterState {
        let current = self.published_version.load(Ordering::Acquire);
        if view.as_ref().is_none_or(|v| v.0.version != current) {
            let copy = self
                .published
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            *view = Some(ClusterView(copy));
        }
        // Just set if it was missing.
        &view.as_ref().expect("set above").0
    }

    pub fn shell(&self) -> &dyn ClusterShell {
        &*self.shell
    }
}
