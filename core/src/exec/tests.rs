//! The executor's safety net: a command whose table row does not declare
//! every key it touches gets an error reply, not a panic, and changes
//! nothing.

use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::cmd::{key_flags::*, KeySpec};
use crate::store::{lock_of, new_store, KeyOutsidePlan, Mode, NoObserver, WriteView};

/// A broken row: `COPYTO src dst` writes `dst`, but its key specs only
/// declare `src`, so the lock plan misses `dst`'s lock.
static UNDECLARED_DST: CommandSpec = crate::cmd::spec(
    "copyto",
    3,
    flags::WRITE,
    &[KeySpec::key(1, RO | ACCESS)],
    "generic",
    "test only",
    "0.0.0",
    Handler::Write(copy_to),
);

fn copy_to(
    ctx: &mut Ctx<'_>,
    view: &mut WriteView<'_>,
    args: &[Bytes],
) -> Result<Frame, KeyOutsidePlan> {
    let now = ctx.now_ms();
    let value = match view.ks(&args[1])?.get(&args[1], now) {
        Some(entry) => entry.value.clone(),
        None => return Ok(Frame::Integer(0)),
    };
    view.ks_mut(&args[2])?.set(&args[2], value, None);
    Ok(Frame::Integer(1))
}

fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

#[test]
fn a_key_outside_the_lock_plan_is_an_error_reply_not_a_panic() {
    let exec = Executor::new(
        new_store(
            Mode::Shard,
            8,
            crate::config::DEFAULT_DATABASES,
            Arc::new(NoObserver),
        ),
        1,
        Config::with_defaults(),
    );
    let mut session = exec.new_session();
    // Two keys in different shards.
    let (src, dst) = ("src", "dst");
    let (src_lock, dst_lock) = (lock_of(src.as_bytes(), 8), lock_of(dst.as_bytes(), 8));
    assert_ne!(src_lock, dst_lock, "pick keys in different shards");
    let now_us = 1_700_000_000_000_000;
    let (reply, _) = exec.dispatch(&mut session, &args(&["SET", src, "v"]), now_us);
    assert_eq!(reply, Frame::ok());

    let (reply, executed) = exec.run(
        &UNDECLARED_DST,
        &mut session,
        &args(&["copyto", src, dst]),
        now_us,
    );
    assert_eq!(reply, Frame::from(KeyOutsidePlan { lock: dst_lock }));
    assert_eq!(executed.flow, Flow::Continue);
    let Frame::Error(line) = &reply else {
        panic!("an error reply")
    };
    assert!(line.starts_with(b"ERR internal error:"), "{reply:?}");

    // Nothing was written, and the server goes on serving.
    let (reply, _) = exec.dispatch(&mut session, &args(&["EXISTS", dst]), now_us);
    assert_eq!(reply, Frame::Integer(0));
    let (reply, _) = exec.dispatch(&mut session, &args(&["GET", src]), now_us);
    assert_eq!(reply, Frame::Bulk(Bytes::from_static(b"v")));
}

#[test]
fn the_same_row_works_when_both_keys_share_the_lock() {
    // With one lock (mutex mode) every key is in the plan: the broken row
    // only shows in shard mode, which is why the check is at run time.
    let exec = Executor::new(
        new_store(
            Mode::Mutex,
            1,
            crate::config::DEFAULT_DATABASES,
            Arc::new(NoObserver),
        ),
        1,
        Config::with_defaults(),
    );
    let mut session = exec.new_session();
    let now_us = 1_700_000_000_000_000;
    exec.dispatch(&mut session, &args(&["SET", "src", "v"]), now_us);
    let (reply, _) = exec.run(
        &UNDECLARED_DST,
        &mut session,
        &args(&["copyto", "src", "dst"]),
        now_us,
    );
    assert_eq!(reply, Frame::Integer(1));
    let (reply, _) = exec.dispatch(&mut session, &args(&["GET", "dst"]), now_us);
    assert_eq!(reply, Frame::Bulk(Bytes::from_static(b"v")));
}
