//! MULTI/EXEC and WATCH in the executor: queueing, the atomic run of the
//! queue, and the watch bookkeeping that needs locks.
//!
//! ## Atomic in every lock mode
//! EXEC plans the locks of every queued command (and of every watched key)
//! before it runs the first one, takes their union in ascending order,
//! exclusively, and holds it to the end: in shard mode a transaction over
//! keys in three shards holds those three shards, not the world; a queued
//! KEYS or FLUSHALL makes it hold every shard. The trace shows the EXEC as
//! one span per lock. Read-only commands in the queue see the same locks
//! through a lent read view.
//!
//! One clock reading and one random stream serve the whole transaction,
//! so a capture records one EXEC and replay re-runs the queue its
//! session rebuilt from the `+QUEUED` records.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;

use super::{Ctx, Executor};
use crate::capture;
use crate::cmd::{self, flags, Handler};
use crate::frame::Frame;
use crate::keyspace::without_lookup_stats;
use crate::session::{Session, Watched};
use crate::signal::WriteSignal;
use crate::store::lock_of;

/// What EXEC did: its reply, what its commands changed (in order), and its
/// place in the global order (taken under its locks).
pub(super) struct Ran {
    pub reply: Frame,
    pub signal: WriteSignal,
    pub seq: Option<u64>,
    /// A queued command's reply shows the shell's state (INFO, ...).
    pub shell_dependent: bool,
}

/// Commands that run at once even between MULTI and EXEC (Redis's
/// `processCommand` list): they end, inspect or leave the transaction.
const NOT_QUEUED: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

impl Executor {
    /// Between MULTI and EXEC: the reply for a command that is queued or
    /// refused, or `None` if it runs now (EXEC, DISCARD, ...). `spec` is
    /// `None` for an unknown command, whose error the caller sends.
    pub(super) fn queue(
        &self,
        session: &mut Session,
        spec: Option<&'static cmd::CommandSpec>,
        args: &[Bytes],
        refused: Option<Frame>,
    ) -> Option<Frame> {
        let txn = session.multi.as_mut()?;
        // A command refused while queueing (unknown, wrong arity, not
        // allowed) makes EXEC fail: Redis's flagTransaction.
        if let Some(error) = refused {
            txn.aborted = true;
            return Some(error);
        }
        let spec = spec?;
        if NOT_QUEUED.contains(&spec.name) {
            return None;
        }
        if spec.has(flags::NO_MULTI) {
            txn.aborted = true;
            return Some(Frame::static_error(
                "ERR Command not allowed inside a transaction",
            ));
        }
        // An aborted transaction keeps answering QUEUED but stores nothing.
        if !txn.aborted {
            // Copies, not slices of the input buffer (see pipeline.rs).
            txn.commands
                .push(args.iter().map(|a| Bytes::copy_from_slice(a)).collect());
        }
        Some(Frame::simple("QUEUED"))
    }

    /// EXEC. See the module comment.
    pub(super) fn exec_transaction(&self, ctx: &mut Ctx<'_>) -> Ran {
        let done = |reply: Frame| Ran {
            reply,
            signal: WriteSignal::default(),
            seq: self.next_seq(),
            shell_dependent: false,
        };
        let Some(txn) = ctx.session.multi.take() else {
            return done(Frame::static_error("ERR EXEC without MULTI"));
        };
        if txn.aborted {
            self.unwatch_all(ctx.session);
            return done(Frame::static_error(
                "EXECABORT Transaction discarded because of previous errors.",
            ));
        }
        let now_ms = ctx.now_ms();
        let queued: Vec<(&'static cmd::CommandSpec, &[Bytes])> = txn
            .commands
            .iter()
            .filter_map(|args| Some((cmd::lookup(&args[0])?, &args[..])))
            .collect();
        let mut locks: Vec<u32> = ctx
            .session
            .watched
            .iter()
            .map(|w| lock_of(&w.key, self.store.lock_count()))
            .collect();
        for (spec, args) in &queued {
            if !matches!(spec.handler, Handler::Server(_)) {
                locks.extend(self.lock_plan(spec, args));
            }
        }
        locks.sort_unstable();
        locks.dedup();
        let mut view = self
            .store
            .write(&locks, "exec")
            .in_db(ctx.session.db)
            .at(now_ms);
        self.barrier(&view);

        // WATCH: a watched key changed (the flag), or its deadline passed
        // since it was watched (Redis's isWatchedKeyExpired).
        let expired = ctx.session.watched.iter().any(|w| {
            !w.watch.was_expired()
                && view
                    .ks_in(w.db, &w.key)
                    .is_ok_and(|ks| ks.is_expired(&w.key, now_ms))
        });
        let dirty = ctx.session.watch_dirty.swap(false, Relaxed) || expired;
        for w in std::mem::take(&mut ctx.session.watched) {
            if let Ok(mut ks) = view.ks_mut_in(w.db, &w.key) {
                ks.unwatch(&w.key, &w.watch);
            }
        }
        if dirty {
            return Ran {
                reply: Frame::NullArray,
                signal: WriteSignal::default(),
                seq: self.next_seq(),
                shell_dependent: false,
            };
        }

        ctx.in_exec = true;
        let mut replies = Vec::with_capacity(queued.len());
        let mut later = Vec::new();
        let mut signal = WriteSignal::default();
        for (i, (spec, args)) in queued.iter().enumerate() {
            ctx.spec = spec;
            view.set_db(ctx.session.db);
            let reply = match spec.handler {
                Handler::Server(_) if spec.has(flags::OWN_LOCKS) => {
                    later.push(i);
                    Frame::Null
                }
                Handler::Server(run) => run(ctx, args),
                Handler::Read(run) => {
                    let reply = run(ctx, &view.lend(), args).unwrap_or_else(Frame::from);
                    // Under exclusive locks a read deletes the expired
                    // keys it met at once, as Redis's lookupKeyRead does.
                    let seen = view
                        .databases()
                        .fold(false, |seen, dbs| dbs.take_expired_seen() | seen);
                    if seen {
                        for key in spec.keys(args) {
                            if let Ok(mut ks) = view.ks_mut(&args[key.pos]) {
                                ks.expire_due(&args[key.pos], now_ms);
                            }
                        }
                    }
                    reply
                }
                Handler::Write(run) => {
                    let reply = without_lookup_stats(|| run(ctx, &mut view, args))
                        .unwrap_or_else(Frame::from);
                    for dbs in view.databases() {
                        dbs.take_expired_seen();
                    }
                    reply
                }
                // EXEC is never queued.
                Handler::Exec => Frame::static_error("ERR EXEC without MULTI"),
            };
            signal.extend(view.take_signal(args));
            replies.push(reply);
        }
        self.feed(&signal);
        self.publish_memory(&view);
        let seq = self.next_seq();
        drop(view);
        ctx.in_exec = false;
        for i in later {
            let (spec, args) = queued[i];
            if let Handler::Server(run) = spec.handler {
                ctx.spec = spec;
                replies[i] = run(ctx, args);
            }
        }
        Ran {
            reply: Frame::Array(replies),
            signal,
            seq,
            shell_dependent: queued
                .iter()
                .any(|(_, args)| capture::shell_dependent(args)),
        }
    }

    /// WATCH `keys` in the session's database (already watched ones once).
    /// `sequence` is called while the keys' locks are held.
    pub(crate) fn watch(
        &self,
        session: &mut Session,
        keys: &[Bytes],
        now_ms: u64,
        seq: &std::cell::Cell<Option<u64>>,
    ) {
        let db = session.db;
        let fresh: Vec<&Bytes> = keys
            .iter()
            .enumerate()
            .filter(|(i, key)| {
                !keys[..*i].contains(key)
                    && !session.watched.iter().any(|w| w.db == db && w.key == **key)
            })
            .map(|(_, key)| key)
            .collect();
        if fresh.is_empty() {
            return;
        }
        let mut locks: Vec<u32> = fresh
            .iter()
            .map(|k| lock_of(k, self.store.lock_count()))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        let mut view = self.store.write(&locks, "watch").in_db(db);
        if seq.get().is_none() {
            seq.set(self.next_seq());
        }
        for key in fresh {
            if let Ok(mut ks) = view.ks_mut(key) {
                let watch = ks.watch(key, session.watch_dirty.clone(), now_ms);
                session.watched.push(Watched {
                    db,
                    key: Bytes::copy_from_slice(key),
                    watch,
                });
            }
        }
    }

    /// Forget every watch of `session` (UNWATCH, DISCARD, EXEC, the end of
    /// the connection).
    pub fn unwatch_all(&self, session: &mut Session) {
        session.watch_dirty.store(false, Relaxed);
        if session.watched.is_empty() {
            return;
        }
        let watched = std::mem::take(&mut session.watched);
        let mut locks: Vec<u32> = watched
            .iter()
            .map(|w| lock_of(&w.key, self.store.lock_count()))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        let mut view = self.store.write(&locks, "unwatch");
        for w in watched {
            if let Ok(mut ks) = view.ks_mut_in(w.db, &w.key) {
                ks.unwatch(&w.key, &w.watch);
            }
        }
    }

    /// Leave a transaction: drop the queue and every watch (DISCARD).
    pub fn end_transaction(&self, session: &mut Session) {
        session.multi = None;
        self.unwatch_all(session);
    }

    /// A connection ends: whatever it left in the store (its watches)
    /// goes. Every shell calls this when it drops a session.
    pub fn end_session(&self, session: &mut Session) {
        self.end_transaction(session);
        if session.blocked.take().is_some() {
            self.blocking.dequeue(session.id);
        }
        crate::cmd::pubsub::unsubscribe_all(self, session);
    }
}

#[cfg(test)]
mod tests {
    use crate::frame::Frame;
    use crate::testkit::*;

    fn queued() -> Frame {
        Frame::simple("QUEUED")
    }

    #[test]
    fn queue_then_exec_runs_everything_in_order() {
        check_all_modes(&[
            (&["MULTI"], ok()),
            (&["SET", "a", "1"], queued()),
            (&["INCR", "a"], queued()),
            (&["GET", "a"], queued()),
            (&["INCR", "notanumber"], queued()),
            (&["PING"], queued()),
            (
                &["EXEC"],
                arr(vec![ok(), int(2), bulk("2"), int(1), Frame::simple("PONG")]),
            ),
            (&["EXEC"], err("ERR EXEC without MULTI")),
            (&["DISCARD"], err("ERR DISCARD without MULTI")),
        ]);
    }

    #[test]
    fn errors_while_queueing_abort_the_transaction() {
        check_all_modes(&[
            (&["MULTI"], ok()),
            (&["MULTI"], err("ERR MULTI calls can not be nested")),
            (&["SET", "a", "1"], queued()),
            (
                &["WATCH", "a"],
                err("ERR WATCH inside MULTI is not allowed"),
            ),
            (&["EXEC"], arr(vec![ok()])),
            (&["MULTI"], ok()),
            (&["SET", "b", "1"], queued()),
            (
                &["NOSUCH"],
                err("ERR unknown command 'NOSUCH', with args beginning with: "),
            ),
            (
                &["GET"],
                err("ERR wrong number of arguments for 'get' command"),
            ),
            (
                &["SHUTDOWN"],
                err("ERR Command not allowed inside a transaction"),
            ),
            (&["SET", "c", "1"], queued()),
            (
                &["EXEC"],
                err("EXECABORT Transaction discarded because of previous errors."),
            ),
            (&["EXISTS", "b", "c"], int(0)),
        ]);
    }

    #[test]
    fn watch_fails_exec_when_a_watched_key_changes() {
        check_all_modes(&[
            (&["SET", "k", "1"], ok()),
            (&["WATCH", "k", "other"], ok()),
            (&["SET", "k", "2"], ok()),
            (&["MULTI"], ok()),
            (&["SET", "k", "3"], queued()),
            (&["EXEC"], Frame::NullArray),
            (&["GET", "k"], bulk("2")),
            // Unwatched after EXEC: the next transaction runs.
            (&["MULTI"], ok()),
            (&["SET", "k", "3"], queued()),
            (&["EXEC"], arr(vec![ok()])),
            // UNWATCH forgets; a change to an unwatched key is no matter.
            (&["WATCH", "k"], ok()),
            (&["UNWATCH"], ok()),
            (&["SET", "k", "4"], ok()),
            (&["MULTI"], ok()),
            (&["GET", "k"], queued()),
            (&["EXEC"], arr(vec![bulk("4")])),
            // A no-op write does not touch; FLUSHDB of an existing key does.
            (&["WATCH", "k"], ok()),
            (&["SET", "x", "1", "NX"], ok()),
            (&["DEL", "missing"], int(0)),
            (&["MULTI"], ok()),
            (&["EXEC"], arr(vec![])),
            (&["WATCH", "k"], ok()),
            (&["FLUSHDB"], ok()),
            (&["MULTI"], ok()),
            (&["EXEC"], Frame::NullArray),
        ]);
    }

    #[test]
    fn watched_keys_and_expiry() {
        for mut db in TestDb::all_modes() {
            // Expires after WATCH: EXEC fails.
            db.cmd(&["SET", "k", "v", "PX", "100"]);
            db.cmd(&["WATCH", "k"]);
            db.advance_ms(200);
            db.cmd(&["MULTI"]);
            assert_eq!(db.cmd(&["EXEC"]), Frame::NullArray);
            // Already expired at WATCH: its deletion is no change.
            db.cmd(&["SET", "e", "v", "PX", "100"]);
            db.advance_ms(200);
            db.cmd(&["WATCH", "e"]);
            assert_eq!(db.cmd(&["GET", "e"]), Frame::Null);
            db.cmd(&["MULTI"]);
            assert_eq!(db.cmd(&["EXEC"]), arr(vec![]));
            // ... but a new value after it is.
            db.cmd(&["SET", "e", "v", "PX", "100"]);
            db.advance_ms(200);
            db.cmd(&["WATCH", "e"]);
            db.cmd(&["SET", "e", "new"]);
            db.cmd(&["MULTI"]);
            assert_eq!(db.cmd(&["EXEC"]), Frame::NullArray);
        }
    }
}
