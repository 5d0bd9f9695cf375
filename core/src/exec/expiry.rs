//! Expiry driven by the executor: the active cycle the shell runs `hz`
//! times a second, one lock at a time, and replay's re-run of a lazy
//! deletion. (Lazy expiry on access lives in the keyspace; the deletion a
//! read-only command defers is in the executor's `run`.)

use bytes::Bytes;

use super::{Executor, ExpireStep};
use crate::cmd;
use crate::keyspace::ExpireStats;

/// Knobs of the active-expiry cycle, named as in Redis's `expire.c`.
///
/// Redis runs the cycle `hz` ([`crate::config::DEFAULT_HZ`] by default)
/// times a second with a time budget of
/// 25 % of a tick. `core` has no clock, so the budget is counted in sample
/// loops instead: at most this many loops of 20 keys per keyspace per call.
pub const ACTIVE_EXPIRE_MAX_LOOPS: u32 = 16;

impl Executor {
    /// Replay of a captured lazy deletion: delete the expired keys among
    /// the key arguments of the read-only command `args`, run in database
    /// `db`, as [`Executor::dispatch`] did after running it. Returns how
    /// many were deleted.
    pub fn lazy_expire(&self, args: &[Bytes], db: u32, now_ms: u64) -> u64 {
        let Some(spec) = args.first().and_then(|name| cmd::lookup(name)) else {
            return 0;
        };
        if !spec.arity_ok(args.len()) {
            return 0;
        }
        let locks = self.lock_plan(spec, args);
        self.delete_expired_keys(spec, args, &locks, db, now_ms)
            .0
            .map_or(0, |l| l.deleted)
    }

    /// One run of the active-expiry cycle (the shell calls it `hz` times a
    /// second, see [`crate::config::DEFAULT_HZ`]). Keyspaces are visited one lock at a time, so
    /// in shard mode the cycle never stops the whole server.
    pub fn active_expire_cycle(&self, now_ms: u64) -> ExpireStats {
        self.active_expire_cycle_with(now_ms, |_| {})
    }

    /// [`Executor::active_expire_cycle`], handing every step to `on_step`
    /// (a capturing shell records the steps that expired keys).
    pub fn active_expire_cycle_with(
        &self,
        now_ms: u64,
        mut on_step: impl FnMut(&ExpireStep),
    ) -> ExpireStats {
        let mut total = ExpireStats::default();
        for lock in 0..self.store.lock_count() {
            let step = self.active_expire_step(lock, now_ms);
            total.sampled += step.stats.sampled;
            total.expired += step.stats.expired;
            on_step(&step);
        }
        total
    }

    /// One step of the cycle: the keyspace behind `lock`, sampled with a
    /// stream forked from the executor's PRNG. Replay re-runs a recorded
    /// step by setting the PRNG to the step's position first.
    pub fn active_expire_step(&self, lock: u32, now_ms: u64) -> ExpireStep {
        let mut view = self.store.write(&[lock], "active-expire");
        self.barrier(&view);
        let (rng_position, rng) = self.rng.fork();
        let stats = view.active_expire(now_ms, &rng, ACTIVE_EXPIRE_MAX_LOOPS);
        let signal = view.take_signal(&[]);
        self.feed(&signal);
        self.publish_memory(&view);
        // Under the lock, like a command's number (see dispatch).
        let seq = if stats.expired > 0 {
            self.next_seq()
        } else {
            None
        };
        drop(view);
        ExpireStep {
            lock,
            stats,
            seq,
            rng_position,
            signal,
        }
    }
}
