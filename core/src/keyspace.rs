//! [`Keyspace`]: the keys of one lock's worth of data, their values and
//! their expiry times.
//!
//! In `mutex` and `rw` mode there is one keyspace; in `shard` mode each of
//! the N shards owns one. A keyspace never locks anything itself: the store
//! hands out `&Keyspace` or `&mut Keyspace` only through a held lock.
//!
//! ## Expiry, as Redis does it
//! A key with a TTL carries an absolute deadline in milliseconds. It is
//! removed in two ways:
//! * **lazily**, when a command touches it after the deadline
//!   ([`KeyspaceMut::lookup`] deletes it; [`Keyspace::get`], which runs under
//!   a shared read lock in rw mode and so cannot delete, only hides it);
//! * **actively**, by `Keyspace::active_expire`, which samples keys that
//!   have a TTL so that keys nobody reads again still go away.
//!
//! Every deletion by expiry goes through `Keyspace::expire_if_due`, which
//! also logs the key, so that the command or expiry step that caused it
//! can signal it (a `DEL` to propagate, a modified key): see
//! [`crate::signal`].
//!
//! ## Who may mutate
//! A command never holds a `&mut Keyspace`: its write view hands it a
//! [`KeyspaceMut`], whose mutations note the key in the command's journal.
//! The raw mutators here are `pub(crate)` for that wrapper, the store and
//! the executor's expiry cycle; memory accounting and the access clock for
//! eviction belong in them, the one place every change passes.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::dict::Dict;
use crate::rng::Rng;
pub use crate::str::Str;

/// A value. Every command checks the variant (`WRONGTYPE`) rather than
/// assuming it. The collections are boxed so that a string entry, by far
/// the most common, stays 24 bytes (the enum uses spare bit patterns of
/// the [`Str`] as its tag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Binary-safe bytes, inline when short (see [`Str`]); APPEND and
    /// SETRANGE grow it in place.
    String(Str),
    Hash(Box<Hash>),
    Set(Box<Set>),
    List(Box<List>),
    ZSet(Box<ZSet>),
}

impl Value {
    /// The bytes of a string value; `None` for any other type, which the
    /// caller turns into `WRONGTYPE`.
    pub fn as_string(&self) -> Option<&Str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The hash, if this is one (else the caller replies WRONGTYPE).
    pub fn as_hash(&self) -> Option<&Hash> {
        match self {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The set, if this is one.
    pub fn as_set(&self) -> Option<&Set> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The sorted set, if this is one.
    pub fn as_zset(&self) -> Option<&ZSet> {
        match self {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// OBJECT ENCODING's name for how the value is stored. Strings as
    /// Redis classifies them: `int` for a canonical integer that fits a
    /// long, `raw` once edited in place (APPEND, SETRANGE, SETBIT: the
    /// [`Str`] is then a growable buffer), else `embstr` up to 44 bytes and
    /// `raw` beyond (here inline up to 22 bytes, one allocation above).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(s) if s.is_raw() => "raw",
            Value::String(s) if s.len() <= 20 && crate::cmd::parse_i64(s).is_some() => "int",
            Value::String(s) if s.len() <= 44 => "embstr",
            Value::String(_) => "raw",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// Mutable access to a string value; `None` for other types. Only
    /// through [`StringMut`], which notes the change.
    pub(crate) fn as_string_mut(&mut self) -> Option<&mut Str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::ZSet(_) => "zset",
        }
    }
}

/// A value, its deadline, when it was last used and what it costs.
///
/// 40 bytes, like the `(Value, Option<u64>)` it replaced: the deadline
/// keeps "none" as `u64::MAX` instead of an `Option`'s tag word, which
/// pays for the access clock and the charge.
#[derive(Debug)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry time in Unix milliseconds; [`NO_DEADLINE`] when
    /// persistent.
    deadline: u64,
    /// The access clock (see [`access`]): the last use under an LRU
    /// policy, the frequency counter under an LFU one. Atomic because a
    /// read under a shared lock (rw mode) updates it.
    clock: AtomicU32,
    /// The bytes this entry adds to its keyspace's `used_memory` (see
    /// [`memory`]); saturates at 4 GiB, and is taken back exactly.
    charged: u32,
}

/// The deadline of a persistent key.
const NO_DEADLINE: u64 = u64::MAX;

impl Entry {
    fn new(value: Value, expire_at: Option<u64>, clock: u32) -> Entry {
        Entry {
            value,
            deadline: expire_at.unwrap_or(NO_DEADLINE),
            clock: AtomicU32::new(clock),
            charged: 0,
        }
    }

    pub fn expire_at(&self) -> Option<u64> {
        (self.deadline != NO_DEADLINE).then_some(self.deadline)
    }

    fn set_expire_at(&mut self, expire_at: Option<u64>) -> Option<u64> {
        let was = self.expire_at();
        self.deadline = expire_at.unwrap_or(NO_DEADLINE);
        was
    }

    fn is_expired(&self, now_ms: u64) -> bool {
        // Redis: a key is expired when now > when (strictly greater);
        // at exactly its deadline it is still alive.
        self.deadline != NO_DEADLINE && now_ms > self.deadline
    }

    /// The raw access clock word (read as [`ClockKind`] says).
    pub fn clock(&self) -> u32 {
        self.clock.load(Ordering::Relaxed)
    }

    /// Seconds since a command last used the key (OBJECT IDLETIME), by
    /// the LRU reading of the clock.
    pub fn idle_seconds(&self, now_ms: u64) -> u64 {
        ClockKind::idle_ms(self.clock(), now_ms) / 1000
    }

    /// The bytes this entry is charged in `used_memory`.
    pub fn charged(&self) -> u64 {
        u64::from(self.charged)
    }
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry {
            value: self.value.clone(),
            deadline: self.deadline,
            clock: AtomicU32::new(self.clock()),
            charged: self.charged,
        }
    }
}

/// Equal when value and deadline are (the access time is not data).
impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.value == other.value && self.deadline == other.deadline
    }
}

impl Eq for Entry {}

thread_local! {
    /// Keyspace hits and misses of reads on this thread (INFO
    /// `keyspace_hits`/`keyspace_misses`). Thread-local so that counting
    /// adds no shared cache line to the very reads whose contention is
    /// being measured; the shell folds them into its totals per batch.
    static LOOKUPS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// Run `f` without counting its lookups: write commands look keys up too
/// (SET checks existence), but Redis counts hits and misses only for
/// reads (`lookupKeyRead`).
pub(crate) fn without_lookup_stats<R>(f: impl FnOnce() -> R) -> R {
    let saved = LOOKUPS.with(|c| c.get());
    let result = f();
    LOOKUPS.with(|c| c.set(saved));
    result
}

/// Take (and reset) this thread's read hits and misses.
pub fn take_thread_lookups() -> (u64, u64) {
    LOOKUPS.with(|c| c.replace((0, 0)))
}

/// What an entry for `key` holding `value` is charged: its bytes by the
/// memory model, saturated to the `u32` the entry keeps.
fn charge_of(key: &[u8], value: &Value) -> u32 {
    u32::try_from(memory::entry_bytes(key, value)).unwrap_or(u32::MAX)
}

/// What one call of the active-expiry sampler did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpireStats {
    pub sampled: u64,
    pub expired: u64,
}

/// One keyspace: every key of a database (or of one shard of it).
#[derive(Default)]
pub struct Keyspace {
    entries: Dict<Entry>,
    /// The keys that have a deadline, so the active cycle samples only
    /// those (Redis's `db->expires`).
    volatile: Dict<()>,
    /// Keys deleted because their deadline passed (INFO `expired_keys`).
    expired_total: u64,
    /// Set by [`Keyspace::get`] when it hid an expired key.
    expired_seen: AtomicBool,
    /// Running estimate of the remaining TTL of volatile keys, in ms,
    /// maintained by the active cycle's samples as Redis does (INFO
    /// keyspace `avg_ttl`; 0 until a sample has been taken).
    avg_ttl: u64,
    /// The bucket of `volatile` where the next [`Keyspace::reclaim_expired`]
    /// step resumes its walk. Buckets are walked in index order, as Redis
    /// 7's `expires_cursor`, not in SCAN's reversed order: neighbouring
    /// buckets share a cache line, and across a resize a key is at worst
    /// met one pass late. Moved only by writes, which replay re-runs in
    /// the same order, so it needs no record of its own.
    reclaim_cursor: u64,
    /// Consecutive reclaim steps that found nothing dead, and the TTL
    /// writes still to skip before the next step (2^(misses - 1) - 1 of
    /// them), so writes whose keys are all alive (a cache with long TTLs)
    /// pay for a step only now and then.
    reclaim_misses: u8,
    reclaim_skip: u8,
    /// Keys deleted by expiry since the last [`Keyspace::take_expired_log`]:
    /// each is propagated as `DEL` by whoever holds the lock. Empty (and
    /// unallocated) unless a deadline passed.
    expired_log: Vec<Bytes>,
    /// The clients WATCHing keys of this keyspace (see [`watch`]). Every
    /// raw mutator below touches it.
    watchers: Watchers,
    /// The sum of the entries' charges (see [`memory`]).
    charged: usize,
    /// The heap bytes of the volatile index's keys that do not fit inline.
    volatile_heap: usize,
    /// How the entries' access clocks are read and advanced.
    clock: ClockKind,
}

impl Keyspace {
    pub fn new() -> Keyspace {
        Keyspace::default()
    }

    /// Number of keys, including keys whose deadline passed but which were
    /// not removed yet (Redis's DBSIZE counts those too).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    pub fn expired_total(&self) -> u64 {
        self.expired_total
    }

    /// The running average TTL estimate in milliseconds (INFO `avg_ttl`).
    pub fn avg_ttl(&self) -> u64 {
        self.avg_ttl
    }

    /// The bytes this keyspace holds, by the memory model: every entry's
    /// charge, the main table, and the volatile index.
    pub fn used_memory(&self) -> usize {
        self.charged + self.table_bytes() + self.volatile_bytes()
    }

    /// The charge total and the same sum recomputed from every entry now:
    /// equal unless an edit escaped accounting (tests assert it).
    pub fn memory_audit(&self) -> (usize, usize) {
        let recomputed = self
            .entries
            .iter()
            .map(|(key, entry)| charge_of(key, &entry.value) as usize)
            .sum();
        (self.charged, recomputed)
    }

    /// The main table, for the eviction sampler.
    pub(crate) fn entries_index(&self) -> &Dict<Entry> {
        &self.entries
    }

    /// The keys with a deadline, for the eviction sampler.
    pub(crate) fn volatile_index(&self) -> &Dict<()> {
        &self.volatile
    }

    /// The main table's bucket array (MEMORY STATS overhead).
    pub fn table_bytes(&self) -> usize {
        crate::memory::alloc_size(self.entries.buckets() * crate::memory::POINTER)
    }

    /// The volatile index: its table, nodes and keys.
    pub fn volatile_bytes(&self) -> usize {
        use crate::memory::{alloc_size, KEY_NODE, POINTER};
        alloc_size(self.volatile.buckets() * POINTER)
            + self.volatile.len() * alloc_size(KEY_NODE)
            + self.volatile_heap
    }

    /// How access clocks are read here.
    pub fn clock_kind(&self) -> ClockKind {
        self.clock
    }

    /// Read clocks as `kind` from now on (CONFIG SET maxmemory-policy).
    /// The words are not converted: as in Redis, LRU and LFU data take
    /// some time to adjust after a switch.
    pub(crate) fn set_clock_kind(&mut self, kind: ClockKind) {
        self.clock = kind;
    }

    /// Charge `entry`, about to be stored under `key`, to this keyspace.
    fn charge(&mut self, key: &[u8], entry: &mut Entry) {
        entry.charged = charge_of(key, &entry.value);
        self.charged += entry.charged as usize;
    }

    /// Take back what a removed entry was charged.
    fn uncharge(&mut self, entry: &Entry) {
        self.charged -= entry.charged as usize;
    }

    fn volatile_add(&mut self, key: &[u8]) {
        self.volatile.insert(key, ());
        self.volatile_heap += memory::key_bytes(key);
    }

    fn volatile_remove(&mut self, key: &[u8]) {
        if self.volatile.remove(key).is_some() {
            self.volatile_heap -= memory::key_bytes(key);
        }
    }

    /// The live entry of `key`, if any. An expired entry is treated as
    /// absent but left in place (this may run under a shared lock); the
    /// sighting is noted so the executor can delete it right after, under
    /// an exclusive lock (see [`Keyspace::take_expired_seen`]).
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let found = self.peek(key, now_ms);
        if let Some(entry) = found {
            self.clock.touch(&entry.clock, key, now_ms);
        }
        found
    }

    /// [`Keyspace::get`] without marking the key as used (Redis's
    /// `LOOKUP_NOTOUCH`: TYPE, EXISTS, TTL, OBJECT and SCAN's filter look
    /// at a key without making it recent).
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let found = match self.entries.get(key) {
            Some(entry) if entry.is_expired(now_ms) => {
                self.expired_seen.store(true, Ordering::Relaxed);
                None
            }
            other => other,
        };
        LOOKUPS.with(|c| {
            let (hits, misses) = c.get();
            c.set(if found.is_some() {
                (hits + 1, misses)
            } else {
                (hits, misses + 1)
            });
        });
        found
    }

    /// Did a read meet an expired key since the last call? Clears the note.
    ///
    /// Redis deletes an expired key the moment any command touches it, so
    /// `GET k` followed by `DBSIZE` no longer counts `k`. A read under a
    /// shared lock cannot delete; instead it raises this flag and the
    /// executor deletes the command's expired keys under a write lock
    /// afterwards. The flag is only written on that rare path, so the
    /// common read costs one uncontended load.
    pub fn take_expired_seen(&self) -> bool {
        self.expired_seen.load(Ordering::Relaxed)
            && self.expired_seen.swap(false, Ordering::Relaxed)
    }

    /// The live entry of `key` for modification; an expired entry is
    /// deleted first (lazy expiry).
    pub(crate) fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.expire_if_due(key, now_ms);
        let entry = self.entries.get_mut(key)?;
        self.clock.touch(&entry.clock, key, now_ms);
        Some(entry)
    }

    /// [`Keyspace::get_mut`] plus the watch list, borrowed apart, for an
    /// edit in place that touches the key only if it really writes.
    pub(crate) fn get_mut_watched(
        &mut self,
        key: &[u8],
        now_ms: u64,
    ) -> Option<(&mut Entry, &Watchers)> {
        self.expire_if_due(key, now_ms);
        let entry = self.entries.get_mut(key)?;
        self.clock.touch(&entry.clock, key, now_ms);
        Some((entry, &self.watchers))
    }

    /// Re-charge `key`'s entry after its value was edited in place (an
    /// emptied collection may already be gone: nothing to do then).
    pub(crate) fn recharge(&mut self, key: &[u8]) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let bytes = charge_of(key, &entry.value);
        self.charged = self.charged - entry.charged as usize + bytes as usize;
        entry.charged = bytes;
    }

    /// Insert a value for a key that is not there, touching nothing: the
    /// caller notes the change when it writes into the value.
    pub(crate) fn insert_quietly(&mut self, key: &[u8], value: Value, now_ms: u64) {
        let mut entry = Entry::new(value, None, self.clock.fresh(now_ms));
        self.charge(key, &mut entry);
        self.entries.insert(key, entry);
    }

    /// Does the keyspace hold an entry for `key`, live or expired? No
    /// lookup statistics, no expiry: the RDB loader's duplicate check.
    pub(crate) fn holds(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    /// Is `key` live? A lookup that does not make the key recent (EXISTS).
    pub fn contains(&self, key: &[u8], now_ms: u64) -> bool {
        self.peek(key, now_ms).is_some()
    }

    /// Delete `key` if its deadline has passed; true if it did. The one
    /// place where a key expires, lazily or actively: it logs the key for
    /// the write signal (Redis's `deleteExpiredKeyAndPropagate`).
    pub(crate) fn expire_if_due(&mut self, key: &[u8], now_ms: u64) -> bool {
        // No key here has a deadline (the common case): nothing can be
        // due, and the lookup is saved (Redis's `dictSize(db->expires)`
        // check in `keyIsExpired`).
        if self.volatile.is_empty() {
            return false;
        }
        let due = self.entries.get(key).is_some_and(|e| e.is_expired(now_ms));
        if due {
            if let Some(entry) = self.entries.remove(key) {
                self.uncharge(&entry);
            }
            self.volatile_remove(key);
            self.expired_total += 1;
            self.expired_log.push(Bytes::copy_from_slice(key));
            self.watchers.touch(key, false);
        }
        due
    }

    /// Are there keys in the expiry log?
    pub(crate) fn has_expired_log(&self) -> bool {
        !self.expired_log.is_empty()
    }

    /// The keys deleted by expiry since the last call, in the order they
    /// were deleted; clears the log.
    pub(crate) fn take_expired_log(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired_log)
    }

    /// Store `value` under `key` with deadline `expire_at`, replacing any
    /// previous value and deadline.
    pub(crate) fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>, now_ms: u64) {
        // Under LFU an overwritten key keeps its counter (Redis's
        // `dbSetValue`): a hot key rewritten often is still hot.
        let kept = match self.clock {
            ClockKind::Lfu { .. } => self.entries.get(key).map(Entry::clock),
            ClockKind::Lru => None,
        };
        let clock = kept.unwrap_or_else(|| self.clock.fresh(now_ms));
        let mut entry = Entry::new(value, expire_at, clock);
        self.charge(key, &mut entry);
        let old = self.entries.insert(key, entry);
        if let Some(old) = &old {
            self.uncharge(old);
        }
        self.watchers.touch(key, true);
        let was_volatile = old.is_some_and(|e| e.expire_at().is_some());
        match (was_volatile, expire_at.is_some()) {
            (false, true) => self.volatile_add(key),
            (true, false) => self.volatile_remove(key),
            _ => {}
        }
    }

    /// Change the deadline of a live key; false if there is no such key.
    pub(crate) fn set_expire(&mut self, key: &[u8], expire_at: Option<u64>, now_ms: u64) -> bool {
        let Some(entry) = self.get_mut(key, now_ms) else {
            return false;
        };
        let was = entry.set_expire_at(expire_at);
        self.watchers.touch(key, true);
        match (was.is_some(), expire_at.is_some()) {
            (false, true) => self.volatile_add(key),
            (true, false) => self.volatile_remove(key),
            _ => {}
        }
        true
    }

    /// Remove `key`; returns the live entry it held (an expired one is
    /// removed too, but reported as absent).
    pub(crate) fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        if self.expire_if_due(key, now_ms) {
            return None;
        }
        let entry = self.entries.remove(key)?;
        self.uncharge(&entry);
        if entry.expire_at().is_some() {
            self.volatile_remove(key);
        }
        self.watchers.touch(key, false);
        Some(entry)
    }

    /// Remove every key; returns how many there were (expired ones too).
    /// Clients watching a key that existed are marked as for a change.
    pub(crate) fn clear(&mut self) -> u64 {
        let entries = &self.entries;
        self.watchers.touch_all(|key| KeyFate {
            exists_now: entries.contains_key(key),
            replacement: None,
        });
        let removed = self.entries.len() as u64;
        self.entries.clear();
        self.volatile.clear();
        self.avg_ttl = 0;
        self.charged = 0;
        self.volatile_heap = 0;
        removed
    }

    /// Exchange every key, value and deadline with `other` (SWAPDB), but
    /// not the watchers: as in Redis, a client watching a key of database
    /// 3 keeps watching database 3's key. Watchers on both sides whose key
    /// changes by the swap are marked.
    pub(crate) fn swap_data(&mut self, other: &mut Keyspace, now_ms: u64) {
        for (emptied, replacing) in [(&*self, &*other), (&*other, &*self)] {
            emptied.watchers.touch_all(|key| KeyFate {
                exists_now: emptied.entries.contains_key(key),
                replacement: replacing
                    .entries
                    .get(key)
                    .map(|entry| entry.is_expired(now_ms)),
            });
        }
        std::mem::swap(&mut self.entries, &mut other.entries);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
        std::mem::swap(&mut self.avg_ttl, &mut other.avg_ttl);
        std::mem::swap(&mut self.charged, &mut other.charged);
        std::mem::swap(&mut self.volatile_heap, &mut other.volatile_heap);
    }

    /// Watch `key` for `dirty`'s client (WATCH): the returned watch is
    /// registered here until [`Keyspace::unwatch`].
    pub(crate) fn watch(&mut self, key: &[u8], dirty: Arc<AtomicBool>, now_ms: u64) -> Arc<Watch> {
        let expired = self.entries.get(key).is_some_and(|e| e.is_expired(now_ms));
        let watch = Watch::new(dirty, expired);
        self.watchers.add(key, watch.clone());
        watch
    }

    pub(crate) fn unwatch(&mut self, key: &[u8], watch: &Arc<Watch>) {
        self.watchers.remove(key, watch);
    }

    /// Is `key` in the keyspace with its deadline passed (Redis's
    /// `keyIsExpired`)? EXEC fails if a watched key expired since WATCH.
    pub fn is_expired(&self, key: &[u8], now_ms: u64) -> bool {
        self.entries.get(key).is_some_and(|e| e.is_expired(now_ms))
    }

    /// Every live key and entry, in the dict's deterministic order.
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.entries
            .iter()
            .filter(move |(_, e)| !e.is_expired(now_ms))
    }

    /// One step of SCAN over this keyspace (see [`Dict::scan`]); visits
    /// every key in the bucket, expired or not (the caller filters).
    pub fn scan(&self, cursor: u64, visit: impl FnMut(&[u8], &Entry)) -> u64 {
        self.entries.scan(cursor, visit)
    }

    /// A random live key (RANDOMKEY). Draws that land on an expired key
    /// are retried, at most 100 times, so a keyspace full of dead keys
    /// cannot make this loop; `None` then, as for an empty keyspace.
    pub fn random_key(&self, rng: &Rng, now_ms: u64) -> Option<&[u8]> {
        for _ in 0..100 {
            let (key, entry) = self.entries.random_entry(rng)?;
            if !entry.is_expired(now_ms) {
                return Some(key);
            }
        }
        None
    }

    /// The active-expiry sampler (Redis's `activeExpireCycle`, per
    /// keyspace): sample up to [`ACTIVE_EXPIRE_KEYS_PER_LOOP`] keys that have
    /// a deadline, delete the expired ones, and repeat while more than
    /// [`ACTIVE_EXPIRE_ACCEPTABLE_STALE`] percent of a sample was expired —
    /// but at most `max_loops` times, so one call holds the lock for a
    /// bounded time. Randomness comes from the store's seeded `rng`.
    pub(crate) fn active_expire(&mut self, now_ms: u64, rng: &Rng, max_loops: u32) -> ExpireStats {
        let mut stats = ExpireStats::default();
        // The sampled key, copied out of the index to delete it: one
        // buffer for the call, not an allocation per sample.
        let mut key = Vec::new();
        for _ in 0..max_loops {
            let sample = (self.volatile.len() as u64).min(ACTIVE_EXPIRE_KEYS_PER_LOOP);
            if sample == 0 {
                break;
            }
            let mut expired_now = 0;
            let (mut ttl_sum, mut ttl_samples) = (0u64, 0u64);
            for _ in 0..sample {
                let Some((sampled, _)) = self.volatile.random_entry(rng) else {
                    break;
                };
                key.clear();
                key.extend_from_slice(sampled);
                if self.expire_if_due(&key, now_ms) {
                    expired_now += 1;
                } else if let Some(at) = self.entries.get(&key).and_then(Entry::expire_at) {
                    ttl_sum += at.saturating_sub(now_ms);
                    ttl_samples += 1;
                }
            }
            if let Some(avg) = ttl_sum.checked_div(ttl_samples) {
                // Redis's smoothing: the new sample weighs 2 %.
                self.avg_ttl = if self.avg_ttl == 0 {
                    avg
                } else {
                    (self.avg_ttl / 50) * 49 + avg / 50
                };
            }
            stats.sampled += sample;
            stats.expired += expired_now;
            if expired_now * 100 <= sample * ACTIVE_EXPIRE_ACCEPTABLE_STALE {
                break;
            }
        }
        stats
    }

    /// Reclaim by writes: walk on through the keys that have a deadline,
    /// from where the last step stopped, examining about `keys` of them
    /// (whole buckets, at most [`RECLAIM_BUCKETS_PER_KEY`] × `keys` buckets),
    /// and delete those whose deadline has passed. A write that stores a
    /// key with a TTL runs one step ([`KeyspaceMut::set`]).
    ///
    /// Why writes, and not only the active cycle: the cycle is one thread
    /// that wakes `hz` times a second, and under a flood of `SET .. PX`
    /// from 50 connection threads on 2 cores it gets a few percent of the
    /// CPU; keys then die far faster than it deletes them. A step per TTL
    /// write makes the reclaiming rate follow the insertion rate whatever
    /// the scheduler does (Dragonfly does the same).
    ///
    /// Why a cursor rather than random samples: the walk covers every key
    /// once per pass, so a dead key waits at most one pass (two if a
    /// resize moved it behind the cursor); a pass of `V`
    /// volatile keys takes `V / keys` writes, in which `V / keys` keys are
    /// written and (in a steady flood) as many die, so about one dead key
    /// in `keys` is met and the keys a flood leaves dead stay near
    /// `1 / (2 × keys)` of the volatile keys. It draws no random numbers,
    /// so a write needs no fork of the shared PRNG (an atomic every
    /// connection thread would contend on) and no capture record: the
    /// cursor moves only with writes, which replay re-runs in order.
    ///
    /// Every deletion goes through [`Keyspace::expire_if_due`], so it is
    /// logged, propagated as `DEL` and invalidates WATCH like lazy expiry.
    ///
    /// From the second step in a row that finds nothing dead, each doubles
    /// the number of writes before the next one (up to
    /// 2^[`RECLAIM_MAX_BACKOFF`]); one that deletes a key brings it back to
    /// every write. Under a flood of short TTLs the
    /// steps keep finding dead keys and run on every write; with long TTLs
    /// they cost a write 1/16 of a key examined or less.
    pub(crate) fn reclaim_expired(&mut self, now_ms: u64, keys: u64) -> ExpireStats {
        let mut stats = ExpireStats::default();
        if self.volatile.is_empty() {
            return stats;
        }
        if self.reclaim_skip > 0 {
            self.reclaim_skip -= 1;
            return stats;
        }
        // The due keys, end to end, and where each ends: nothing is
        // allocated unless a key is due.
        let (mut due, mut ends) = (Vec::new(), Vec::new());
        let buckets = self.volatile.buckets() as u64;
        let mut bucket = self.reclaim_cursor % buckets;
        let entries = &self.entries;
        for _ in 0..keys * RECLAIM_BUCKETS_PER_KEY {
            // One bucket: `scan` visits bucket `bucket`; its reversed
            // cursor is not used (see `reclaim_cursor`).
            self.volatile.scan(bucket, |key, ()| {
                stats.sampled += 1;
                if entries.get(key).is_some_and(|e| e.is_expired(now_ms)) {
                    due.extend_from_slice(key);
                    ends.push(due.len());
                }
            });
            bucket = (bucket + 1) % buckets;
            // At 0 a pass is complete: the next step starts the next one.
            if bucket == 0 || stats.sampled >= keys {
                break;
            }
        }
        self.reclaim_cursor = bucket;
        let mut start = 0;
        for end in ends {
            if self.expire_if_due(&due[start..end], now_ms) {
                stats.expired += 1;
            }
            start = end;
        }
        self.reclaim_misses = if stats.expired > 0 {
            0
        } else {
            (self.reclaim_misses + 1).min(RECLAIM_MAX_BACKOFF + 1)
        };
        // One fruitless step may be bad luck (a few keys, in a flood one
        // in four of them dead): the back-off starts at the second.
        self.reclaim_skip = (1u8 << self.reclaim_misses.saturating_sub(1)) - 1;
        stats
    }
}

/// Keys a write that stores a key with a TTL examines for reclaiming
/// ([`Keyspace::reclaim_expired`]). In a steady flood the dead keys left
/// in the keyspace are then about 1 / (2 × this) of the volatile ones
/// (12 % at 4); each examined key costs a few cache misses of the write.
pub const RECLAIM_KEYS_PER_WRITE: u64 = 4;
/// After this many fruitless reclaim steps in a row (plus one), a step
/// runs once every 2^this TTL writes (64), no rarer: keys that start dying are met
/// within 64 writes, and the walk is back to every write.
pub const RECLAIM_MAX_BACKOFF: u8 = 6;
/// Buckets a reclaim step may visit per key it is to examine: the walk
/// skips empty buckets, and a dict is shrunk before fewer than one in ten
/// is used, so this bounds a step in a sparse table too.
pub const RECLAIM_BUCKETS_PER_KEY: u64 = 4;

/// Keys sampled per loop of the active cycle (Redis's
/// `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
pub const ACTIVE_EXPIRE_KEYS_PER_LOOP: u64 = 20;
/// Keep looping while more than this percentage of a sample was expired
/// (Redis 7's `ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`, at the default
/// `active-expire-effort 1`): at 10 % or less, the memory held by dead
/// keys is considered acceptable. (Redis 6.0 and earlier stopped at 25 %.)
pub const ACTIVE_EXPIRE_ACCEPTABLE_STALE: u64 = 10;

pub mod access;
mod databases;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod memory;
pub mod set;
pub mod watch;
mod write;
pub mod zset;
pub use access::ClockKind;
pub use databases::Databases;
pub use hash::{Hash, Limits};
pub use list::{List, NodeLimit};
pub use set::Set;
use watch::{KeyFate, Watch, Watchers};
pub use write::{KeyspaceMut, StringMut, ValueMut, WrongType};
pub use zset::ZSet;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(Str::from(v.as_bytes()))
    }

    /// The entry stays as small as before it carried an access clock, and
    /// the collections do not make a string's value any larger.
    #[test]
    fn entries_stay_small() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 40);
    }

    #[test]
    fn lazy_expiry_hides_then_deletes() {
        let mut ks = Keyspace::new();
        ks.set(b"k", s("v"), Some(1000), 0);
        assert!(ks.get(b"k", 1000).is_some(), "alive at its deadline");
        assert!(ks.get(b"k", 1001).is_none(), "hidden after");
        assert_eq!(ks.len(), 1, "a read does not delete");
        assert!(ks.get_mut(b"k", 1001).is_none());
        assert_eq!(ks.len(), 0);
        assert_eq!(ks.volatile_len(), 0);
        assert_eq!(ks.expired_total(), 1);
        assert_eq!(ks.take_expired_log(), vec![Bytes::from_static(b"k")]);
        assert!(ks.take_expired_log().is_empty());
    }

    #[test]
    fn set_and_set_expire_maintain_the_volatile_index() {
        let mut ks = Keyspace::new();
        ks.set(b"a", s("1"), Some(10), 0);
        assert_eq!(ks.volatile_len(), 1);
        ks.set(b"a", s("2"), None, 0);
        assert_eq!(ks.volatile_len(), 0);
        assert!(ks.set_expire(b"a", Some(50), 0));
        assert_eq!(ks.volatile_len(), 1);
        assert!(ks.set_expire(b"a", None, 0));
        assert_eq!(ks.volatile_len(), 0);
        assert!(!ks.set_expire(b"missing", Some(5), 0));
        ks.set(b"b", s("x"), Some(10), 0);
        assert!(ks.remove(b"b", 5).is_some());
        assert_eq!(ks.volatile_len(), 0);
    }

    #[test]
    fn active_expire_removes_dead_keys_nobody_reads() {
        let mut ks = Keyspace::new();
        for i in 0..1000 {
            ks.set(format!("dead{i}").as_bytes(), s("v"), Some(100), 0);
            ks.set(format!("live{i}").as_bytes(), s("v"), None, 0);
        }
        let rng = Rng::new(1);
        let mut total = 0;
        for _ in 0..200 {
            total += ks.active_expire(200, &rng, 16).expired;
        }
        assert_eq!(total, 1000);
        assert_eq!(ks.len(), 1000);
        assert_eq!(ks.volatile_len(), 0);
        assert_eq!(ks.active_expire(200, &rng, 16), ExpireStats::default());
    }

    /// Keys that died before a stream of TTL writes are all reclaimed by
    /// the writes themselves, with no active cycle: the walk covers every
    /// volatile key once a pass.
    #[test]
    fn writes_with_a_ttl_reclaim_dead_keys_without_an_active_cycle() {
        let mut ks = Keyspace::new();
        for i in 0..10_000 {
            ks.set(format!("dead{i}").as_bytes(), s("v"), Some(100), 0);
            ks.set(format!("kept{i}").as_bytes(), s("v"), None, 0);
        }
        let mut journal = crate::signal::Journal::default();
        let mut w = KeyspaceMut::new(&mut ks, 0, &mut journal).at(200);
        for i in 0..20_000 {
            let key = Bytes::from(format!("new{i}"));
            w.set(&key, s("v"), Some(60_000));
        }
        drop(w);
        assert_eq!(ks.expired_total(), 10_000);
        assert_eq!(ks.len(), 30_000, "the persistent and the new keys");
        assert_eq!(ks.volatile_len(), 20_000);
    }

    /// A flood of 100 keys a millisecond with a one-second TTL, and no
    /// active cycle: the keyspace stays near rate x TTL (100,000 keys)
    /// instead of growing with every write (400,000 here).
    #[test]
    fn a_ttl_flood_stays_near_rate_times_ttl() {
        let mut ks = Keyspace::new();
        let mut journal = crate::signal::Journal::default();
        let mut peak = 0;
        for now in 0..4_000u64 {
            let mut w = KeyspaceMut::new(&mut ks, 0, &mut journal).at(now);
            for i in 0..100 {
                let key = Bytes::from(format!("k{now}:{i}"));
                w.set(&key, s("v"), Some(now + 1_000));
            }
            drop(w);
            // The journal of one "command" at a time, as the executor does.
            journal = crate::signal::Journal::default();
            peak = peak.max(ks.len());
        }
        assert!(peak <= 130_000, "peak {peak} keys for 100,000 live");
        assert_eq!(ks.expired_total() + ks.len() as u64, 400_000);
    }

    /// Writes with long TTLs, among keys that are all alive, back off to
    /// a step every 64 writes; once keys die, the steps find them and run
    /// on every write again until the dead keys are gone.
    #[test]
    fn reclaiming_backs_off_while_nothing_is_dead() {
        let mut ks = Keyspace::new();
        for i in 0..1000 {
            ks.set(format!("k{i}").as_bytes(), s("v"), Some(1_000), 0);
        }
        let examined: u64 = (0..6400)
            .map(|_| ks.reclaim_expired(10, RECLAIM_KEYS_PER_WRITE).sampled)
            .sum();
        assert!(examined <= 6400 * 4 / 32, "{examined} keys examined");
        let mut writes = 0;
        while !ks.is_empty() {
            writes += 1;
            assert!(writes <= 64 + 1000, "{} keys left", ks.len());
            ks.reclaim_expired(2_000, RECLAIM_KEYS_PER_WRITE);
        }
        assert_eq!(ks.expired_total(), 1000);
    }

    #[test]
    fn active_expire_stops_when_few_keys_are_stale() {
        let mut ks = Keyspace::new();
        for i in 0..1000 {
            ks.set(format!("k{i}").as_bytes(), s("v"), Some(10_000), 0);
        }
        let stats = ks.active_expire(5, &Rng::new(3), 16);
        assert_eq!(
            stats,
            ExpireStats {
                sampled: 20,
                expired: 0
            }
        );
    }
}
