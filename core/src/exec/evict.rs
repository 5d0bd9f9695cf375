//! `maxmemory` and eviction, as Redis's `evict.c` does them, one lock at a
//! time.
//!
//! ## When
//! Before a write command runs (Redis: before every command), if the data
//! holds more than `maxmemory` bytes ([`crate::keyspace::memory`] counts
//! them), keys are evicted until it holds less. If the policy is
//! `noeviction`, or nothing can be evicted (the `volatile-*` policies with
//! no key that has a TTL), a command flagged `denyoom` gets
//! `-OOM command not allowed when used memory > 'maxmemory'.`; other
//! writes (DEL, EXPIRE...) and reads still run: they free memory or cost
//! none.
//!
//! ## Which keys
//! * `*-random`: a random key (of those with a TTL for `volatile-random`).
//! * `*-lru`, `*-lfu`, `volatile-ttl`: Redis's **eviction pool**. Each
//!   round samples `maxmemory-samples` keys and offers them to a pool of
//!   the [`POOL_SIZE`] best candidates seen so far, ranked by idle time,
//!   by low access frequency, or by nearest deadline; the best one is
//!   evicted. The pool outlives the call, so over many rounds it
//!   approximates true LRU well with few samples.
//!
//! ## Locks
//! Each round holds one lock: it samples the keyspaces behind one lock
//! (the next in turn), releases it, then takes the lock of the pool's
//! best candidate to delete it. In shard mode eviction never stops the
//! world, and never holds two locks (so it cannot deadlock with commands
//! that take several in ascending order).
//!
//! ## How much is used
//! Each lock's byte count is published, after every write under that
//! lock, to an atomic of its own (no shared counter on the hot path). The
//! total is the sum of those. Only while a limit is set: without one,
//! nothing is published and nothing is summed.
//!
//! ## Determinism
//! Sampling draws from a stream forked from the executor's seeded PRNG.
//! Which keys go depends on timing in a threaded server (how much the
//! other shards hold at that instant), so each eviction is reported
//! ([`Eviction`]) with its sequence number, taken under the lock of the
//! deletion: a capture records it and replay deletes the same key at the
//! same point of the order. An evicted key is propagated as `DEL`,
//! invalidates WATCH and counts in INFO `evicted_keys`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use crossbeam_utils::CachePadded;

use super::Executor;
use crate::cmd::{flags, CommandSpec};
use crate::config::named;
use crate::keyspace::{ClockKind, Entry, Keyspace};
use crate::rng::Rng;
use crate::session::Session;

/// Redis's `EVPOOL_SIZE`.
pub const POOL_SIZE: usize = 16;

/// While another thread evicts, a write goes ahead unless the data is more
/// than 1/64 of the limit over it.
const EVICTION_SLACK: u64 = 64;

/// Redis's error for a `denyoom` command past the limit.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    Lru { volatile: bool },
    Lfu { volatile: bool },
    Random { volatile: bool },
    VolatileTtl,
}

impl Policy {
    pub fn parse(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::Lru { volatile: false },
            "volatile-lru" => Policy::Lru { volatile: true },
            "allkeys-lfu" => Policy::Lfu { volatile: false },
            "volatile-lfu" => Policy::Lfu { volatile: true },
            "allkeys-random" => Policy::Random { volatile: false },
            "volatile-random" => Policy::Random { volatile: true },
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    /// Only keys with a TTL may go.
    fn volatile(self) -> bool {
        match self {
            Policy::Lru { volatile } | Policy::Lfu { volatile } | Policy::Random { volatile } => {
                volatile
            }
            Policy::VolatileTtl => true,
            Policy::NoEviction => false,
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::Lfu { .. })
    }
}

/// The eviction settings, read from the config when it changes.
#[derive(Clone, Copy, Debug)]
struct Settings {
    policy: Policy,
    samples: u64,
    clock: ClockKind,
}

/// One evicted key: what a capture records and replay repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eviction {
    /// Taken under the lock of the deletion; `None` without a sequencer.
    pub seq: Option<u64>,
    pub db: u32,
    pub key: Bytes,
}

/// A candidate in the pool: the higher the score, the better to evict.
#[derive(Clone, Debug)]
struct Candidate {
    score: u64,
    lock: u32,
    db: u32,
    key: Bytes,
}

/// The eviction state behind one mutex: a thread evicting holds it, so two
/// clients past the limit do not both evict for the same excess.
#[derive(Default)]
struct Evictor {
    /// Ascending by score (Redis keeps the best at the right end too).
    pool: Vec<Candidate>,
    /// The next lock to sample, and for the random policies the next
    /// database (round robin, as Redis's `next_db`).
    next_lock: u32,
    next_db: u32,
}

impl Evictor {
    /// The next lock in turn, of `locks`.
    fn take_next_lock(&mut self, locks: u32) -> u32 {
        let lock = self.next_lock % locks;
        self.next_lock = self.next_lock.wrapping_add(1);
        lock
    }

    /// Would a candidate of `score` enter the pool? (Checked before its
    /// key is copied.)
    fn admits(&self, score: u64) -> bool {
        self.pool.len() < POOL_SIZE || score > self.pool[0].score
    }

    /// Offer a sampled key (Redis's `evictionPoolPopulate`).
    fn offer(&mut self, candidate: Candidate) {
        if self
            .pool
            .iter()
            .any(|c| c.key == candidate.key && c.db == candidate.db)
        {
            return;
        }
        if self.pool.len() == POOL_SIZE && candidate.score <= self.pool[0].score {
            return;
        }
        let at = self.pool.partition_point(|c| c.score <= candidate.score);
        self.pool.insert(at, candidate);
        if self.pool.len() > POOL_SIZE {
            self.pool.remove(0);
        }
    }
}

/// What the executor knows about memory (see the module documentation).
pub(crate) struct Memory {
    /// Bytes behind each lock, as of the last write that held it.
    published: Box<[CachePadded<AtomicU64>]>,
    /// `maxmemory`; 0: no limit.
    limit: AtomicU64,
    settings: Mutex<Settings>,
    evictor: Mutex<Evictor>,
    /// INFO `evicted_keys`.
    evicted: AtomicU64,
}

impl Memory {
    pub(crate) fn new(locks: u32) -> Memory {
        Memory {
            published: (0..locks.max(1))
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            limit: AtomicU64::new(0),
            settings: Mutex::new(Settings {
                policy: Policy::NoEviction,
                samples: 5,
                clock: ClockKind::Lru,
            }),
            evictor: Mutex::new(Evictor::default()),
            evicted: AtomicU64::new(0),
        }
    }

    fn total(&self) -> u64 {
        self.published
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .sum()
    }

    fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Executor {
    /// Read `maxmemory`, the policy and the LFU knobs from the config:
    /// at start-up and after every CONFIG SET. A change between LRU and
    /// LFU changes how every keyspace reads its clocks.
    pub(crate) fn apply_memory_config(&self) {
        let config = self.config();
        let policy = Policy::parse(&config.value(named("maxmemory-policy")).to_string());
        let clock = if policy.is_lfu() {
            ClockKind::Lfu {
                log_factor: config
                    .int(named("lfu-log-factor"))
                    .clamp(0, u32::MAX as i64) as u32,
                decay_minutes: config
                    .int(named("lfu-decay-time"))
                    .clamp(0, u32::MAX as i64) as u32,
            }
        } else {
            ClockKind::Lru
        };
        let settings = Settings {
            policy,
            samples: config.int(named("maxmemory-samples")).max(1) as u64,
            clock,
        };
        let previous = {
            let mut current = self
                .memory
                .settings
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *current, settings)
        };
        let limit = config.int(named("maxmemory")).max(0) as u64;
        let was_limited = self.memory.limit.swap(limit, Ordering::Relaxed) > 0;
        if previous.clock != clock || (limit > 0 && !was_limited) {
            // Every lock in turn: set the clock reading and publish what
            // it holds (nothing was published while there was no limit).
            for lock in 0..self.store.lock_count() {
                let mut view = self.store.write(&[lock], "config");
                view.for_each_databases_mut(|dbs| dbs.set_clock_kind(clock));
                self.publish_memory(&view);
            }
        }
        if previous.policy != policy {
            self.memory
                .evictor
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pool
                .clear();
        }
    }

    /// After a write: publish what the locks it held now hold (only while
    /// there is a limit to compare against).
    pub(crate) fn publish_memory<G>(&self, view: &crate::store::View<'_, G>)
    where
        G: std::ops::Deref<Target = crate::keyspace::Databases>,
    {
        if self.memory.limit.load(Ordering::Relaxed) == 0 {
            return;
        }
        for (lock, dbs) in view.databases_by_lock() {
            if let Some(slot) = self.memory.published.get(lock as usize) {
                slot.store(dbs.used_memory(), Ordering::Relaxed);
            }
        }
    }

    /// The bytes the data holds now, counted lock by lock (INFO, MEMORY
    /// STATS): each lock is held only while its keyspaces are summed.
    pub fn used_memory(&self) -> u64 {
        (0..self.store.lock_count())
            .map(|lock| {
                let view = self.store.read(&[lock], "memory");
                view.databases().map(|dbs| dbs.used_memory()).sum::<u64>()
            })
            .sum()
    }

    /// How access clocks are read under the current policy.
    pub fn clock_kind(&self) -> ClockKind {
        self.memory.settings().clock
    }

    /// `maxmemory` (0: none).
    pub fn maxmemory(&self) -> u64 {
        self.memory.limit.load(Ordering::Relaxed)
    }

    /// Keys evicted since start (INFO `evicted_keys`).
    pub fn evicted_keys(&self) -> u64 {
        self.memory.evicted.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_evicted_keys(&self) {
        self.memory.evicted.store(0, Ordering::Relaxed);
    }

    /// The gate before a command (Redis's `processCommand` calling
    /// `performEvictions`): with a limit set and the data above it, evict;
    /// if that cannot bring it under, a `denyoom` command is refused with
    /// [`OOM`]. Evicted keys are appended to `evicted`.
    pub(crate) fn memory_gate(
        &self,
        spec: &CommandSpec,
        session: &Session,
        now_ms: u64,
        evicted: &mut Vec<Eviction>,
    ) -> Option<crate::frame::Frame> {
        let limit = self.memory.limit.load(Ordering::Relaxed);
        // Queueing in MULTI takes memory too: Redis refuses every command
        // but EXEC, DISCARD, QUIT and RESET there.
        let queueing =
            session.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "quit" | "reset");
        if limit == 0 || !(spec.has(flags::WRITE) || spec.name == "exec" || queueing) {
            return None;
        }
        if self.memory.total() <= limit {
            return None;
        }
        let denyoom = queueing
            || spec.has(flags::DENYOOM)
            || (spec.name == "exec"
                && session.multi.as_ref().is_some_and(|t| {
                    t.commands.iter().any(|args| {
                        args.first()
                            .and_then(|name| crate::cmd::lookup(name))
                            .is_some_and(|s| s.has(flags::DENYOOM))
                    })
                }));
        let freed = self.perform_evictions(limit, now_ms, evicted);
        (!freed && denyoom).then(|| crate::frame::Frame::static_error(OOM))
    }

    /// Evict until the data is under `limit`; false if it is still over it
    /// (Redis's `EVICT_FAIL`).
    fn perform_evictions(&self, limit: u64, now_ms: u64, evicted: &mut Vec<Eviction>) -> bool {
        let settings = self.memory.settings();
        if settings.policy == Policy::NoEviction {
            return self.memory.total() <= limit;
        }
        // Replay deletes the keys the capture says were evicted, where it
        // says, and never chooses any itself. The server evicted until the
        // data was under the limit or nothing was left to evict, so a
        // command it refused is one that found nothing evictable.
        if self.defer_lazy_expiry {
            return self.memory.total() <= limit || self.has_evictable(settings.policy.volatile());
        }
        // One evicting thread at a time: two clients past the limit must
        // not both evict for the same excess. A client that finds another
        // evicting goes ahead while the excess is small (Redis too lets
        // commands through while its eviction runs in the background), so
        // the evictor's mutex does not become every writer's global lock.
        let mut evictor = match self.memory.evictor.try_lock() {
            Ok(evictor) => evictor,
            Err(_) if self.memory.total() <= limit + limit / EVICTION_SLACK => return true,
            Err(_) => self
                .memory
                .evictor
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        };
        let (_, rng) = self.rng.fork();
        while self.memory.total() > limit {
            let Some(eviction) = self.evict_one(&mut evictor, settings, &rng, now_ms) else {
                return false;
            };
            self.memory.evicted.fetch_add(1, Ordering::Relaxed);
            evicted.push(eviction);
        }
        true
    }

    /// Is there a key the policy could evict (any key, or any with a TTL)?
    fn has_evictable(&self, volatile: bool) -> bool {
        (0..self.store.lock_count()).any(|lock| {
            let view = self.store.read(&[lock], "evict");
            let found = view.databases().any(|dbs| {
                dbs.iter().any(|(_, ks)| {
                    if volatile {
                        ks.volatile_len() > 0
                    } else {
                        !ks.is_empty()
                    }
                })
            });
            found
        })
    }

    /// One key out, by `settings.policy`; `None` if there is none to evict.
    fn evict_one(
        &self,
        evictor: &mut Evictor,
        settings: Settings,
        rng: &Rng,
        now_ms: u64,
    ) -> Option<Eviction> {
        let locks = self.store.lock_count();
        let volatile = settings.policy.volatile();
        if let Policy::Random { .. } = settings.policy {
            for _ in 0..locks {
                let lock = evictor.take_next_lock(locks);
                let mut view = self.store.write(&[lock], "evict");
                self.barrier(&view);
                let dbs = view.databases().next()?.count();
                for _ in 0..dbs {
                    let db = evictor.next_db % dbs;
                    evictor.next_db = evictor.next_db.wrapping_add(1);
                    let ks = view.keyspace_in_lock(0, db);
                    let key = ks
                        .random_evictable(rng, volatile)
                        .map(Bytes::copy_from_slice);
                    if let Some(key) = key {
                        return Some(self.evict_key(&mut view, db, key));
                    }
                }
            }
            return None;
        }
        // Each round samples the next lock into the pool (Redis samples
        // every database each round: the pool stays fresh), then takes the
        // best candidate. A candidate used since it was sampled is offered
        // again with its score now, and the next best is tried.
        let mut sampled_empty = 0;
        for _ in 0..(4 * POOL_SIZE as u32 + locks) {
            let lock = evictor.take_next_lock(locks);
            {
                let view = self.store.read(&[lock], "evict");
                let before = evictor.pool.len();
                for (db, ks) in view.databases().next()?.iter() {
                    ks.sample_for_eviction(rng, settings.samples, volatile, |key, entry| {
                        let score = score(settings, entry, now_ms);
                        if evictor.admits(score) {
                            evictor.offer(Candidate {
                                score,
                                lock,
                                db,
                                key: Bytes::copy_from_slice(key),
                            })
                        }
                    });
                }
                sampled_empty = if evictor.pool.len() == before && evictor.pool.is_empty() {
                    sampled_empty + 1
                } else {
                    0
                };
            }
            let Some(best) = evictor.pool.pop() else {
                if sampled_empty >= locks {
                    return None;
                }
                continue;
            };
            let mut view = self.store.write(&[best.lock], "evict");
            self.barrier(&view);
            let ks = view.keyspace_in_lock(0, best.db);
            let now = match ks.entries_index().get(&best.key) {
                Some(e) if !volatile || e.expire_at().is_some() => score(settings, e, now_ms),
                _ => continue,
            };
            if now < best.score {
                evictor.offer(Candidate { score: now, ..best });
                continue;
            }
            return Some(self.evict_key(&mut view, best.db, best.key));
        }
        None
    }

    /// Delete `key` from database `db` behind the one lock `view` holds,
    /// as an eviction: propagated as `DEL`, WATCH invalidated, numbered.
    fn evict_key(&self, view: &mut crate::store::WriteView<'_>, db: u32, key: Bytes) -> Eviction {
        if let Ok(mut ks) = view.ks_mut_in(db, &key) {
            ks.evict(&key);
        }
        let signal = view.take_signal(&[]);
        self.feed(&signal);
        self.publish_memory(view);
        Eviction {
            seq: self.next_seq(),
            db,
            key,
        }
    }

    /// Replay of a captured eviction: delete `key` from `db` now, as the
    /// server did (replay numbers nothing: it has no sequencer).
    pub fn replay_eviction(&self, db: u32, key: &Bytes) {
        let lock = crate::store::lock_of(key, self.store.lock_count());
        let mut view = self.store.write(&[lock], "evict");
        self.evict_key(&mut view, db, key.clone());
        self.memory.evicted.fetch_add(1, Ordering::Relaxed);
    }
}

/// How good a candidate `entry` is: idle milliseconds (LRU), 255 minus
/// the decayed counter (LFU), or how soon it expires (TTL).
fn score(settings: Settings, entry: &Entry, now_ms: u64) -> u64 {
    match settings.policy {
        Policy::Lfu { .. } => 255 - u64::from(settings.clock.decayed(entry.clock(), now_ms)),
        Policy::VolatileTtl => u64::MAX - entry.expire_at().unwrap_or(u64::MAX),
        _ => ClockKind::idle_ms(entry.clock(), now_ms),
    }
}

impl Keyspace {
    /// Offer `samples` random keys (with a TTL only, if `volatile`) to
    /// `offer`, drawn with `rng` (Redis's `dictGetSomeKeys` feeding
    /// `evictionPoolPopulate`).
    pub(crate) fn sample_for_eviction(
        &self,
        rng: &Rng,
        samples: u64,
        volatile: bool,
        mut offer: impl FnMut(&[u8], &Entry),
    ) {
        for _ in 0..samples {
            let Some(key) = self.random_evictable(rng, volatile) else {
                return;
            };
            if let Some(entry) = self.entries_index().get(key) {
                offer(key, entry);
            }
        }
    }

    /// A random key to evict (with a TTL only, if `volatile`).
    fn random_evictable(&self, rng: &Rng, volatile: bool) -> Option<&[u8]> {
        if volatile {
            self.volatile_index().random_entry(rng).map(|(k, _)| k)
        } else {
            self.entries_index().random_entry(rng).map(|(k, _)| k)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(score: u64, key: &str) -> Candidate {
        Candidate {
            score,
            lock: 0,
            db: 0,
            key: Bytes::copy_from_slice(key.as_bytes()),
        }
    }

    #[test]
    fn the_pool_keeps_the_best_sixteen_once_each() {
        let mut e = Evictor::default();
        for i in 0..40u64 {
            e.offer(candidate(i * 7 % 41, &format!("k{i}")));
        }
        // k35 (score 40) is in the pool: offered again, it stays once.
        e.offer(candidate(1000, "k35"));
        assert_eq!(e.pool.len(), POOL_SIZE);
        let scores: Vec<u64> = e.pool.iter().map(|c| c.score).collect();
        let mut sorted = scores.clone();
        sorted.sort();
        assert_eq!(scores, sorted);
        // 0..=40 but 34 were offered: the best sixteen are 24..=40.
        assert_eq!(scores[0], 24, "{scores:?}");
        assert_eq!(e.pool.iter().filter(|c| c.key == "k35").count(), 1);
        assert_eq!(e.pool.last().map(|c| c.score), Some(40));
    }

    #[test]
    fn policies_parse_as_redis_names_them() {
        assert_eq!(
            Policy::parse("allkeys-lru"),
            Policy::Lru { volatile: false }
        );
        assert_eq!(Policy::parse("volatile-ttl"), Policy::VolatileTtl);
        assert!(Policy::parse("volatile-random").volatile());
        assert!(!Policy::parse("allkeys-lfu").volatile());
        assert_eq!(Policy::parse("noeviction"), Policy::NoEviction);
    }
}

/// The policies through the executor, in every lock mode.
#[cfg(test)]
mod policy_tests {
    use super::OOM;
    use crate::frame::Frame;
    use crate::testkit::*;

    const LIMIT: u64 = 200_000;

    fn used(db: &TestDb) -> u64 {
        db.exec.used_memory()
    }

    fn limited(db: &mut TestDb, policy: &str) {
        assert_eq!(
            db.cmd(&["CONFIG", "SET", "maxmemory", &LIMIT.to_string()]),
            Frame::ok()
        );
        assert_eq!(
            db.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]),
            Frame::ok()
        );
    }

    fn value() -> String {
        "v".repeat(100)
    }

    #[test]
    fn noeviction_refuses_writes_that_add_and_lets_the_rest_run() {
        for mut db in TestDb::all_modes() {
            limited(&mut db, "noeviction");
            let mut i = 0;
            let refused = loop {
                let reply = db.cmd(&["SET", &format!("k{i}"), &value()]);
                if reply != Frame::ok() {
                    break reply;
                }
                i += 1;
                assert!(i < 100_000, "never refused");
            };
            assert_eq!(refused, Frame::static_error(OOM));
            // Reads and deletions still run; so does a write flagged
            // neither (EXPIRE).
            assert_eq!(db.cmd(&["GET", "k0"]), bulk(&value()));
            assert_eq!(db.cmd(&["EXPIRE", "k0", "100"]), int(1));
            assert_eq!(db.cmd(&["DEL", "k0", "k1", "k2"]), int(3));
            // MULTI: a refused SET aborts the transaction.
            db.cmd(&["SET", "fill", &"x".repeat(10_000)]);
            assert_eq!(db.cmd(&["MULTI"]), Frame::ok());
            assert_eq!(
                db.cmd(&["SET", "again", &value()]),
                Frame::static_error(OOM)
            );
            assert_eq!(
                db.cmd(&["EXEC"]),
                Frame::static_error("EXECABORT Transaction discarded because of previous errors.")
            );
            assert!(used(&db) > LIMIT - 20_000);
        }
    }

    #[test]
    fn every_evicting_policy_holds_the_limit() {
        for policy in [
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            for mut db in TestDb::all_modes() {
                limited(&mut db, policy);
                let volatile = policy.starts_with("volatile");
                for i in 0..5_000 {
                    let key = format!("k{i}");
                    let reply = if volatile {
                        db.cmd(&["SET", &key, &value(), "EX", &(1000 + i).to_string()])
                    } else {
                        db.cmd(&["SET", &key, &value()])
                    };
                    assert_eq!(reply, Frame::ok(), "{policy} key {i}");
                    // At most one command's worth over the limit: the
                    // value, or a hash table doubling its buckets.
                    assert!(used(&db) <= LIMIT + LIMIT / 10, "{policy}: {}", used(&db));
                }
                let keys = match db.cmd(&["DBSIZE"]) {
                    Frame::Integer(n) => n,
                    other => panic!("{other:?}"),
                };
                assert!((500..5_000).contains(&keys), "{policy}: {keys} keys");
                assert!(db.exec.evicted_keys() >= 5_000 - keys as u64, "{policy}");
                if policy == "volatile-ttl" {
                    // The nearest deadlines went first.
                    assert_eq!(db.cmd(&["EXISTS", "k0"]), int(0));
                    assert_eq!(db.cmd(&["EXISTS", "k4999"]), int(1));
                }
            }
        }
    }

    #[test]
    fn volatile_policies_never_evict_a_key_without_ttl() {
        for policy in [
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            for mut db in TestDb::all_modes() {
                for i in 0..500 {
                    db.cmd(&["SET", &format!("keep{i}"), &value()]);
                }
                limited(&mut db, policy);
                for i in 0..5_000 {
                    let reply = db.cmd(&["SET", &format!("k{i}"), &value(), "EX", "1000"]);
                    assert_eq!(reply, Frame::ok(), "{policy}");
                }
                // Below what the persistent keys alone hold: every key
                // with a TTL goes, then there is nothing left to evict.
                db.cmd(&["CONFIG", "SET", "maxmemory", "1000"]);
                assert_eq!(
                    db.cmd(&["SET", "more", "x"]),
                    Frame::static_error(OOM),
                    "{policy}"
                );
                assert_eq!(db.cmd(&["EXISTS", "k4999"]), int(0), "{policy}");
                for i in 0..500 {
                    assert_eq!(db.cmd(&["EXISTS", &format!("keep{i}")]), int(1), "{policy}");
                }
            }
        }
    }

    #[test]
    fn lru_and_lfu_keep_the_hot_keys() {
        for policy in ["allkeys-lru", "allkeys-lfu"] {
            for mut db in TestDb::all_modes() {
                limited(&mut db, policy);
                // 1,000 keys fit; 200 of them are read after every write.
                let hot: Vec<String> = (0..200).map(|i| format!("hot{i}")).collect();
                for key in &hot {
                    db.cmd(&["SET", key, &value()]);
                }
                for i in 0..10_000 {
                    db.advance_ms(1);
                    db.cmd(&["SET", &format!("cold{i}"), &value()]);
                    let key = &hot[i % hot.len()];
                    db.cmd(&["GET", key]);
                }
                let alive = hot
                    .iter()
                    .filter(|k| db.cmd(&["EXISTS", k]) == int(1))
                    .count();
                assert!(
                    alive * 100 >= hot.len() * 90,
                    "{policy}: {alive} of 200 hot keys"
                );
            }
        }
    }

    #[test]
    fn an_eviction_is_propagated_as_del_and_reported() {
        let mut db = TestDb::new(crate::store::Mode::Shard, 4);
        limited(&mut db, "allkeys-random");
        let mut evicted = Vec::new();
        for i in 0..3_000 {
            let args: Vec<bytes::Bytes> = ["SET", &format!("k{i}"), &value()]
                .iter()
                .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
                .collect();
            let (_, executed) = db.exec.dispatch(&mut db.session, &args, db.now_ms * 1000);
            evicted.extend(executed.evictions);
        }
        assert!(!evicted.is_empty());
        for e in &evicted {
            assert_eq!(
                db.cmd_bytes(&[b"EXISTS", &e.key]),
                int(0),
                "{:?} was evicted",
                e.key
            );
        }
    }

    #[test]
    fn the_charge_total_is_the_sum_of_the_entries() {
        for mut db in TestDb::all_modes() {
            for i in 0..300 {
                let k = format!("k{}", i % 37);
                db.cmd(&["SET", &format!("s{i}"), &"x".repeat(i % 50)]);
                db.cmd(&["APPEND", &format!("s{i}"), "tail"]);
                db.cmd(&["HSET", &k, &format!("f{i}"), &"v".repeat(i % 90)]);
                db.cmd(&["SADD", &format!("set{}", i % 7), &i.to_string()]);
                db.cmd(&["SADD", &format!("sset{}", i % 5), &format!("m{i}")]);
                db.cmd(&["RPUSH", &format!("l{}", i % 3), &"e".repeat(i)]);
                db.cmd(&[
                    "ZADD",
                    &format!("z{}", i % 4),
                    &i.to_string(),
                    &format!("m{i}"),
                ]);
                if i % 10 == 0 {
                    db.cmd(&["LPOP", &format!("l{}", i % 3), "5"]);
                    db.cmd(&["HDEL", &k, &format!("f{}", i + 1)]);
                    db.cmd(&["DEL", &format!("s{}", i / 2)]);
                    db.cmd(&["SPOP", &format!("set{}", i % 7)]);
                }
            }
            db.cmd(&["RENAME", "k1", "renamed"]);
            db.cmd(&["SELECT", "3"]);
            db.cmd(&["SET", "other", "db"]);
            db.cmd(&["SWAPDB", "0", "3"]);
            let store = db.exec.store();
            for lock in 0..store.lock_count() {
                let view = store.read(&[lock], "test");
                for dbs in view.databases() {
                    for (i, ks) in dbs.iter() {
                        let (charged, recomputed) = ks.memory_audit();
                        assert_eq!(charged, recomputed, "db {i} lock {lock}");
                    }
                }
            }
            assert!(used(&db) > 10_000);
            db.cmd(&["FLUSHALL"]);
            assert!(used(&db) < 1_000, "{}", used(&db));
        }
    }
}
