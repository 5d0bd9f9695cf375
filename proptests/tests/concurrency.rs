//! Concurrency: threads share one store; multi-key commands must be atomic,
//! counters exact, and nothing may deadlock. See the crate docs.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use myongoredis_core::store::lock_of;
use myongoredis_core::{Executor, Frame, Mode};
use myongoredis_proptests::command::T0_MS;
use myongoredis_proptests::harness::{show, Target};
use myongoredis_proptests::strategy::cases;
use proptest::collection::vec;
use proptest::prelude::*;

/// How long all threads together may take before the run counts as a
/// deadlock. A healthy case takes well under a second.
const WATCHDOG: Duration = Duration::from_secs(30);

/// Number of tokens that RENAME passes around (`token:0` .. `token:3`).
const TOKENS: u8 = 4;

/// One operation of a thread's mix.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// `MSET a v b v c v` with a value unique to this thread and step.
    MSetGroup,
    /// `MGET a b c`: all three must be equal (or all nil).
    MGetGroup,
    /// `DEL a b c`: removes all three or none, so replies 3 or 0.
    DelGroup,
    /// `MSETNX p v q v r v`: sets all or none.
    MSetNxGroup,
    /// `MGET p q r`: all equal or all nil.
    MGetNxGroup,
    /// `DEL p q r`: 3 or 0.
    DelNxGroup,
    /// `INCR counter:<i>`: every reply of every thread is distinct.
    Incr(u8),
    /// `INCRBY sum <n>`.
    IncrBy(i8),
    /// `RENAME token:<i> token:<j>`: the token moves, or is not there.
    MoveToken(u8, u8),
    /// `EXISTS token:0 .. token:3`: exactly one token exists.
    CountTokens,
    /// `SET volatile:<i> x PX 1`, so the expiry cycle has work.
    SetVolatile(u8),
    /// One run of the active-expiry cycle (it takes every lock in turn).
    ActiveExpire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::MSetGroup),
        3 => Just(Op::MGetGroup),
        1 => Just(Op::DelGroup),
        2 => Just(Op::MSetNxGroup),
        2 => Just(Op::MGetNxGroup),
        1 => Just(Op::DelNxGroup),
        3 => (0u8..2).prop_map(Op::Incr),
        2 => (-3i8..=3).prop_map(Op::IncrBy),
        3 => (0..TOKENS, 0..TOKENS).prop_map(|(a, b)| Op::MoveToken(a, b)),
        2 => Just(Op::CountTokens),
        1 => (0u8..8).prop_map(Op::SetVolatile),
        1 => Just(Op::ActiveExpire),
    ]
}

/// The names of a key group: three keys in three different locks where the
/// store has that many (two where it has two), so a group command really
/// spans locks.
fn group(prefix: &str, locks: u32) -> Vec<Vec<u8>> {
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    let wanted_distinct = locks.min(3);
    for n in 0.. {
        let name = format!("{prefix}:{n}").into_bytes();
        let distinct = |c: &Vec<Vec<u8>>| {
            let mut l: Vec<u32> = c.iter().map(|k| lock_of(k, locks)).collect();
            l.sort_unstable();
            l.dedup();
            l.len() as u32
        };
        let mut with = chosen.clone();
        with.push(name);
        // Take a key if it adds a new lock, or once enough locks are covered.
        if distinct(&with) > distinct(&chosen) || distinct(&chosen) >= wanted_distinct {
            chosen = with;
        }
        if chosen.len() == 3 {
            break;
        }
    }
    chosen
}

/// What one thread counted, for the checks after all threads are done.
#[derive(Default)]
struct Report {
    /// Replies of `INCR counter:<i>`.
    incr_replies: [Vec<i64>; 2],
    /// Sum of the INCRBY amounts that succeeded.
    incrby_total: i64,
}

struct Shared {
    exec: Executor,
    plain: Vec<Vec<u8>>,
    nx: Vec<Vec<u8>>,
}

fn call(
    exec: &Executor,
    session: &mut myongoredis_core::Session,
    args: &[&[u8]],
    now_us: u64,
) -> Frame {
    let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    exec.dispatch(session, &args, now_us).0
}

fn token(i: u8) -> Vec<u8> {
    format!("token:{i}").into_bytes()
}

/// Run one thread's mix `rounds` times; the first broken invariant ends it.
fn worker(shared: &Shared, id: usize, ops: &[Op], rounds: usize) -> Result<Report, String> {
    let exec = &shared.exec;
    let mut session = exec.new_session();
    let mut report = Report::default();
    let (a, b, c) = (
        &shared.plain[0][..],
        &shared.plain[1][..],
        &shared.plain[2][..],
    );
    let (p, q, r) = (&shared.nx[0][..], &shared.nx[1][..], &shared.nx[2][..]);
    let mut now_us = T0_MS * 1000;
    for round in 0..rounds {
        for (step, op) in ops.iter().enumerate() {
            now_us += 100;
            let value = format!("t{id}-r{round}-s{step}").into_bytes();
            let v = &value[..];
            let reply = match *op {
                Op::MSetGroup => call(exec, &mut session, &[b"MSET", a, v, b, v, c, v], now_us),
                Op::MGetGroup => call(exec, &mut session, &[b"MGET", a, b, c], now_us),
                Op::DelGroup => call(exec, &mut session, &[b"DEL", a, b, c], now_us),
                Op::MSetNxGroup => call(exec, &mut session, &[b"MSETNX", p, v, q, v, r, v], now_us),
                Op::MGetNxGroup => call(exec, &mut session, &[b"MGET", p, q, r], now_us),
                Op::DelNxGroup => call(exec, &mut session, &[b"DEL", p, q, r], now_us),
                Op::Incr(i) => {
                    let key = format!("counter:{i}").into_bytes();
                    call(exec, &mut session, &[b"INCR", &key], now_us)
                }
                Op::IncrBy(n) => {
                    let n = n.to_string().into_bytes();
                    call(exec, &mut session, &[b"INCRBY", b"sum", &n], now_us)
                }
                Op::MoveToken(i, j) => call(
                    exec,
                    &mut session,
                    &[b"RENAME", &token(i), &token(j)],
                    now_us,
                ),
                Op::CountTokens => {
                    let (t0, t1, t2, t3) = (token(0), token(1), token(2), token(3));
                    call(exec, &mut session, &[b"EXISTS", &t0, &t1, &t2, &t3], now_us)
                }
                Op::SetVolatile(i) => {
                    let key = format!("volatile:{i}").into_bytes();
                    call(
                        exec,
                        &mut session,
                        &[b"SET", &key, b"x", b"PX", b"1"],
                        now_us,
                    )
                }
                Op::ActiveExpire => {
                    exec.active_expire_cycle(now_us / 1000 + 10);
                    Frame::ok()
                }
            };
            let broken =
                |why: &str| Err(format!("thread {id}, {op:?}: {why}, got {}", show(&reply)));
            match (*op, &reply) {
                (Op::MGetGroup, Frame::Array(items)) if items.iter().all(|i| i == &items[0]) => {}
                (Op::MGetGroup, _) => return broken("saw part of an MSET (or of a DEL)"),
                (Op::MGetNxGroup, Frame::Array(items)) if items.iter().all(|i| i == &items[0]) => {}
                (Op::MGetNxGroup, _) => return broken("saw part of an MSETNX (or of a DEL)"),
                (Op::DelGroup | Op::DelNxGroup, Frame::Integer(0 | 3)) => {}
                (Op::DelGroup | Op::DelNxGroup, _) => return broken("deleted part of a group"),
                (Op::MSetNxGroup, Frame::Integer(0 | 1)) => {}
                (Op::MSetGroup | Op::SetVolatile(_) | Op::ActiveExpire, f) if *f == Frame::ok() => {
                }
                (Op::Incr(i), Frame::Integer(n)) => report.incr_replies[usize::from(i)].push(*n),
                (Op::IncrBy(n), Frame::Integer(_)) => report.incrby_total += i64::from(n),
                (Op::MoveToken(..), f) if *f == Frame::ok() => {}
                (Op::MoveToken(..), Frame::Error(e)) if &e[..] == b"ERR no such key" => {}
                (Op::CountTokens, Frame::Integer(1)) => {}
                (Op::CountTokens, _) => return broken("the token is lost or duplicated"),
                _ => return broken("unexpected reply"),
            }
        }
    }
    Ok(report)
}

fn target() -> impl Strategy<Value = Target> {
    prop::sample::select(vec![
        Target::new(Mode::Shard, 2),
        Target::new(Mode::Shard, 3),
        Target::new(Mode::Shard, 32),
        Target::new(Mode::Shard, 32),
        Target::new(Mode::Rw, 1),
        Target::new(Mode::Mutex, 1),
    ])
}

/// Run the threads under a watchdog; check the totals afterwards.
fn run(target: Target, mixes: Vec<Vec<Op>>, rounds: usize) -> Result<(), String> {
    let exec = target.executor(7);
    let locks = exec.store().lock_count();
    let shared = Arc::new(Shared {
        exec,
        plain: group("group", locks),
        nx: group("nxgroup", locks),
    });
    let mut setup = shared.exec.new_session();
    call(
        &shared.exec,
        &mut setup,
        &[b"SET", b"token:0", b"the token"],
        T0_MS * 1000,
    );

    let (tx, rx) = mpsc::channel();
    for (id, ops) in mixes.iter().cloned().enumerate() {
        let (shared, tx) = (Arc::clone(&shared), tx.clone());
        // Detached on purpose: a deadlocked thread cannot be joined, so the
        // watchdog below gives up on it and fails the test instead.
        std::thread::spawn(move || {
            // AssertUnwindSafe: after a panic the store is never used again
            // (the test fails with the panic's report).
            let run = std::panic::AssertUnwindSafe(|| worker(&shared, id, &ops, rounds));
            let result = std::panic::catch_unwind(run)
                .unwrap_or_else(|_| Err(format!("thread {id} panicked")));
            let _ = tx.send(result);
        });
    }
    let deadline = Instant::now() + WATCHDOG;
    let mut reports = Vec::new();
    for _ in 0..mixes.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(result) => reports.push(result?),
            Err(_) => {
                return Err(format!(
                    "{target}: threads still running after {WATCHDOG:?}: deadlock"
                ))
            }
        }
    }

    let mut session = shared.exec.new_session();
    let now = T0_MS * 1000;
    let exec = &shared.exec;
    for i in 0..2 {
        let mut replies: Vec<i64> = reports
            .iter()
            .flat_map(|r| r.incr_replies[i].clone())
            .collect();
        replies.sort_unstable();
        let n = replies.len() as i64;
        if replies != (1..=n).collect::<Vec<_>>() {
            return Err(format!(
                "{target}: INCR counter:{i} replies are not 1..={n}: {replies:?}"
            ));
        }
        let key = format!("counter:{i}").into_bytes();
        let want = if n == 0 {
            Frame::Null
        } else {
            Frame::bulk(n.to_string().as_bytes())
        };
        let got = call(exec, &mut session, &[b"GET", &key], now);
        if got != want {
            return Err(format!(
                "{target}: counter:{i} is {}, {n} INCRs ran",
                show(&got)
            ));
        }
    }
    let total: i64 = reports.iter().map(|r| r.incrby_total).sum();
    let got = call(exec, &mut session, &[b"GET", b"sum"], now);
    let any_incrby = mixes.iter().flatten().any(|op| matches!(op, Op::IncrBy(_)));
    let want = if any_incrby {
        Frame::bulk(total.to_string().as_bytes())
    } else {
        Frame::Null
    };
    if got != want {
        return Err(format!(
            "{target}: sum is {}, the INCRBYs add up to {total}",
            show(&got)
        ));
    }
    let (t0, t1, t2, t3) = (token(0), token(1), token(2), token(3));
    let tokens = call(exec, &mut session, &[b"EXISTS", &t0, &t1, &t2, &t3], now);
    if tokens != Frame::Integer(1) {
        return Err(format!("{target}: {} tokens at the end", show(&tokens)));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(48),
        // Each case runs threads for real; shrinking a failure is slow and
        // only roughly repeatable, so keep it short.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn multi_key_commands_are_atomic_and_nothing_deadlocks(
        target in target(),
        mixes in vec(vec(op(), 10..60), 2..=6),
    ) {
        if let Err(why) = run(target, mixes, 200) {
            prop_assert!(false, "{}", why);
        }
    }
}

/// The key groups really span locks, or the atomicity checks would be
/// checking a single lock.
#[test]
fn groups_span_several_locks() {
    for locks in [2, 3, 32] {
        for prefix in ["group", "nxgroup"] {
            let mut l: Vec<u32> = group(prefix, locks)
                .iter()
                .map(|k| lock_of(k, locks))
                .collect();
            l.sort_unstable();
            l.dedup();
            assert_eq!(l.len() as u32, locks.min(3), "{prefix} with {locks} locks");
        }
    }
}
