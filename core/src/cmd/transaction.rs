//! Transactions (Redis's `multi.c`): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC the executor queues every command instead of
//! running it (`+QUEUED`); EXEC runs the queue atomically: it takes the
//! union of the queued commands' lock plans, in ascending order, and
//! holds it while every command runs, so no other client sees a state in
//! between, in any lock mode (see `exec/multi.rs`). WATCH makes the next
//! EXEC fail (a null reply) if a watched key changes or expires first:
//! the keyspace marks its watchers at the change itself
//! (`keyspace/watch.rs`), so EXEC checks one flag and scans nothing.

use bytes::Bytes;

use super::{spec, NO_KEYS};
use crate::cmd::{flags::*, key_flags::*, CommandSpec, Handler, KeySpec};
use crate::exec::Ctx;
use crate::frame::Frame;

#[rustfmt::skip]
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NO_KEYS, "transactions", "Mark the start of a transaction block", "1.2.0", Handler::Server(multi)),
    spec("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, NO_KEYS, "transactions", "Execute all commands issued after MULTI", "1.2.0", Handler::Exec),
    spec("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | OWN_LOCKS, NO_KEYS, "transactions", "Discard all commands issued after MULTI", "2.0.0", Handler::Server(discard)),
    spec("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | OWN_LOCKS, &[KeySpec::index(1).range(-1, 1, 0).flags(RO)], "transactions", "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0", Handler::Server(watch)),
    spec("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | OWN_LOCKS, NO_KEYS, "transactions", "Forget about all watched keys", "2.2.0", Handler::Server(unwatch)),
];

/// MULTI: start queueing. Never queued itself, so a second MULTI is an
/// error that leaves the transaction as it was.
fn multi(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    if ctx.session.multi.is_some() {
        return Frame::static_error("ERR MULTI calls can not be nested");
    }
    ctx.session.multi = Some(Default::default());
    Frame::ok()
}

/// DISCARD: drop the queue and every watch.
fn discard(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    if ctx.session.multi.is_none() {
        return Frame::static_error("ERR DISCARD without MULTI");
    }
    ctx.exec.end_transaction(ctx.session);
    Frame::ok()
}

/// WATCH key [key ...]: refused inside MULTI (it is never queued).
fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    if ctx.session.multi.is_some() {
        return Frame::static_error("ERR WATCH inside MULTI is not allowed");
    }
    let now_ms = ctx.now_ms();
    // Sequenced under the keys' locks, so a capture orders the WATCH
    // against the writes that may or may not make the EXEC fail.
    let Ctx {
        exec, session, seq, ..
    } = ctx;
    exec.watch(session, &args[1..], now_ms, seq);
    Frame::ok()
}

/// UNWATCH: forget every watch (queued inside MULTI, it finds none left:
/// EXEC unwatches before it runs the queue).
fn unwatch(ctx: &mut Ctx<'_>, _: &[Bytes]) -> Frame {
    ctx.exec.unwatch_all(ctx.session);
    Frame::ok()
}
