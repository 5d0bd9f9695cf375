//! [`Databases`]: the numbered keyspaces behind one lock.
//!
//! Redis has `databases` (16 by default) independent keyspaces; a client
//! picks one with SELECT. Here every lock guards one [`Keyspace`] *per
//! database*: in `mutex` and `rw` mode the one lock holds all sixteen, in
//! `shard` mode shard *i* holds, for every database, the keys that hash to
//! *i*. A key's lock depends on the key alone, not on its database, so
//!
//! * two commands on different databases wait for each other exactly as
//!   two commands on different keys do (only when the keys share a shard);
//! * MOVE, which takes a key from one database to another, needs one lock;
//! * SWAPDB and FLUSHALL take every lock and swap or clear the databases
//!   inside each: no client can see one shard swapped and another not.

use bytes::Bytes;

use super::{ExpireStats, Keyspace};
use crate::rng::Rng;

/// Every database's share of the keys behind one lock.
pub struct Databases {
    dbs: Box<[Keyspace]>,
}

impl Databases {
    /// `count` empty databases (at least one). An empty [`Keyspace`]
    /// allocates nothing, so unused databases cost a few words each.
    pub fn new(count: u32) -> Databases {
        Databases {
            dbs: (0..count.max(1)).map(|_| Keyspace::new()).collect(),
        }
    }

    pub fn count(&self) -> u32 {
        self.dbs.len() as u32
    }

    /// Database `index`. The index was checked against `databases` by the
    /// command that chose it (SELECT, MOVE, SWAPDB, COPY ... DB), and the
    /// store was built with that same count.
    pub fn db(&self, index: u32) -> &Keyspace {
        &self.dbs[index as usize]
    }

    pub(crate) fn db_mut(&mut self, index: u32) -> &mut Keyspace {
        &mut self.dbs[index as usize]
    }

    /// Every database with its index, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Keyspace)> {
        self.dbs.iter().enumerate().map(|(i, ks)| (i as u32, ks))
    }

    /// Exchange two databases' keys (SWAPDB), deadlines and TTL estimate
    /// included, as Redis's `dbSwapDatabases` swaps the `dict`s; the
    /// watchers stay with their database number.
    pub(crate) fn swap(&mut self, a: u32, b: u32, now_ms: u64) {
        let (a, b) = (a.min(b) as usize, a.max(b) as usize);
        if a == b {
            return;
        }
        let (low, high) = self.dbs.split_at_mut(b);
        low[a].swap_data(&mut high[0], now_ms);
    }

    /// Did a read in any database meet an expired key? Clears the notes.
    pub fn take_expired_seen(&self) -> bool {
        self.dbs
            .iter()
            .fold(false, |seen, ks| ks.take_expired_seen() | seen)
    }

    /// The keys every database deleted by expiry since the last call, each
    /// with its database, databases in order.
    pub(crate) fn take_expired_logs(&mut self, mut each: impl FnMut(u32, Vec<Bytes>)) {
        for (i, ks) in self.dbs.iter_mut().enumerate() {
            if ks.has_expired_log() {
                each(i as u32, ks.take_expired_log());
            }
        }
    }

    /// One run of the active-expiry sampler on every database (Redis's
    /// cycle also walks the databases in turn).
    pub(crate) fn active_expire(&mut self, now_ms: u64, rng: &Rng, max_loops: u32) -> ExpireStats {
        let mut stats = ExpireStats::default();
        for ks in self.dbs.iter_mut() {
            let s = ks.active_expire(now_ms, rng, max_loops);
            stats.sampled += s.sampled;
            stats.expired += s.expired;
        }
        stats
    }

    /// The bytes every database behind this lock holds (see
    /// [`Keyspace::used_memory`]).
    pub fn used_memory(&self) -> u64 {
        self.dbs.iter().map(|ks| ks.used_memory() as u64).sum()
    }

    /// Read access clocks as `kind` in every database.
    pub(crate) fn set_clock_kind(&mut self, kind: super::ClockKind) {
        for ks in self.dbs.iter_mut() {
            ks.set_clock_kind(kind);
        }
    }

    /// Keys deleted by expiry, over all databases (INFO `expired_keys`).
    pub fn expired_total(&self) -> u64 {
        self.dbs.iter().map(Keyspace::expired_total).sum()
    }
}
