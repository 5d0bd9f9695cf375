//! Transactions under real concurrency: threads share one executor (with
//! a sequencer, as a capturing server) and run random MULTI/EXEC
//! transactions, some after a WATCH, over a few shared keys, in every
//! lock mode. Two properties:
//!
//! * **Serializable, in the order the sequencer saw.** Each EXEC takes its
//!   sequence number while holding its locks. Replaying the successful
//!   transactions one after another in that order, on a fresh executor,
//!   gives every command inside them the same reply the threads got, and
//!   the same final keys. (Only transactions write, so nothing else can
//!   explain a difference.)
//! * **WATCH aborts exactly when it should.** WATCH is sequenced under its
//!   keys' locks too. An EXEC fails (null) if and only if a successful
//!   transaction whose number lies between the WATCH's and the EXEC's
//!   modified a watched key.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use myongoredis_core::{Executor, Frame, Mode};
use myongoredis_proptests::command::T0_MS;
use myongoredis_proptests::harness::{show, Target};
use myongoredis_proptests::strategy::cases;
use proptest::collection::vec;
use proptest::prelude::*;

const KEYS: u8 = 4;

/// One command inside a transaction.
#[derive(Clone, Debug)]
enum Op {
    Incr(u8),
    IncrBy(u8, i8),
    /// SET to a fresh value (thread, transaction, position).
    Set(u8),
    Del(u8),
    Get(u8),
    MGet,
}

#[derive(Clone, Debug)]
struct Txn {
    watch: Vec<u8>,
    ops: Vec<Op>,
}

fn key(i: u8) -> Bytes {
    Bytes::from(format!("key:{i}"))
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0..KEYS;
    prop_oneof![
        3 => k().prop_map(Op::Incr),
        1 => (k(), any::<i8>()).prop_map(|(k, n)| Op::IncrBy(k, n)),
        2 => k().prop_map(Op::Set),
        1 => k().prop_map(Op::Del),
        2 => k().prop_map(Op::Get),
        1 => Just(Op::MGet),
    ]
}

fn txn() -> impl Strategy<Value = Txn> {
    (vec(0..KEYS, 0..3), vec(op(), 1..5)).prop_map(|(watch, ops)| Txn { watch, ops })
}

fn args(words: &[&[u8]]) -> Vec<Bytes> {
    words.iter().map(|w| Bytes::copy_from_slice(w)).collect()
}

impl Op {
    fn argv(&self, tag: &str) -> Vec<Bytes> {
        match self {
            Op::Incr(k) => vec![Bytes::from_static(b"INCR"), key(*k)],
            Op::IncrBy(k, n) => vec![
                Bytes::from_static(b"INCRBY"),
                key(*k),
                Bytes::from(n.to_string()),
            ],
            Op::Set(k) => vec![
                Bytes::from_static(b"SET"),
                key(*k),
                Bytes::from(tag.to_string()),
            ],
            Op::Del(k) => vec![Bytes::from_static(b"DEL"), key(*k)],
            Op::Get(k) => vec![Bytes::from_static(b"GET"), key(*k)],
            Op::MGet => std::iter::once(Bytes::from_static(b"MGET"))
                .chain((0..KEYS).map(key))
                .collect(),
        }
    }
}

/// What one thread saw of one transaction.
#[derive(Debug)]
struct Seen {
    watch_seq: Option<u64>,
    watched: Vec<u8>,
    commands: Vec<Vec<Bytes>>,
    exec_seq: u64,
    reply: Frame,
}

fn run_thread(exec: &Executor, thread: usize, txns: &[Txn]) -> Result<Vec<Seen>, String> {
    let mut session = exec.new_session();
    let now = T0_MS * 1000;
    let mut seen = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        let mut watch_seq = None;
        if !txn.watch.is_empty() {
            let mut words = vec![Bytes::from_static(b"WATCH")];
            words.extend(txn.watch.iter().map(|k| key(*k)));
            let (reply, executed) = exec.dispatch(&mut session, &words, now);
            if reply != Frame::ok() {
                return Err(format!("WATCH replied {}", show(&reply)));
            }
            watch_seq = executed.seq;
        }
        exec.dispatch(&mut session, &args(&[b"MULTI"]), now);
        let commands: Vec<Vec<Bytes>> = txn
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| op.argv(&format!("t{thread}.{t}.{i}")))
            .collect();
        for c in &commands {
            let (reply, _) = exec.dispatch(&mut session, c, now);
            if reply != Frame::simple("QUEUED") {
                return Err(format!("queueing replied {}", show(&reply)));
            }
        }
        let (reply, executed) = exec.dispatch(&mut session, &args(&[b"EXEC"]), now);
        let exec_seq = executed.seq.ok_or("no sequence number")?;
        seen.push(Seen {
            watch_seq,
            watched: txn.watch.clone(),
            commands,
            exec_seq,
            reply,
        });
    }
    Ok(seen)
}

/// Does `argv`, which replied `reply`, modify `k` (signal it to WATCH)?
fn modifies(argv: &[Bytes], reply: &Frame, k: u8) -> bool {
    if argv.get(1) != Some(&key(k)) {
        return false;
    }
    match &argv[0][..] {
        b"INCR" | b"INCRBY" | b"SET" => !reply.is_error(),
        b"DEL" => reply == &Frame::Integer(1),
        _ => false,
    }
}

fn check(target: Target, programs: &[Vec<Txn>]) -> Result<(), String> {
    let exec = Arc::new(target.executor(3).with_sequencer());
    let results: Vec<Result<Vec<Seen>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = programs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let exec = Arc::clone(&exec);
                s.spawn(move || run_thread(&exec, i, p))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let mut all: Vec<Seen> = Vec::new();
    for r in results {
        all.extend(r?);
    }
    all.sort_by_key(|s| s.exec_seq);

    // Serial replay of the committed transactions, in sequence order.
    let serial = target.executor(3);
    let mut session = serial.new_session();
    let now = T0_MS * 1000;
    // (exec seq, keys modified) of every committed transaction.
    let mut writes: Vec<(u64, BTreeSet<u8>)> = Vec::new();
    for s in &all {
        let Frame::Array(replies) = &s.reply else {
            continue; // Aborted by WATCH: checked below.
        };
        let mut modified = BTreeSet::new();
        for (argv, want) in s.commands.iter().zip(replies) {
            let (got, _) = serial.dispatch(&mut session, argv, now);
            if &got != want {
                return Err(format!(
                    "{target}: in EXEC #{}, {:?} replied {} under concurrency but {} serially",
                    s.exec_seq,
                    argv,
                    show(want),
                    show(&got)
                ));
            }
            for k in 0..KEYS {
                if modifies(argv, want, k) {
                    modified.insert(k);
                }
            }
        }
        writes.push((s.exec_seq, modified));
    }
    let mut probe = exec.new_session();
    for k in 0..KEYS {
        let get = args(&[b"GET", &key(k)]);
        let (live, _) = exec.dispatch(&mut probe, &get, now);
        let (replayed, _) = serial.dispatch(&mut session, &get, now);
        if live != replayed {
            return Err(format!(
                "{target}: key:{k} is {} but {} serially",
                show(&live),
                show(&replayed)
            ));
        }
    }

    // WATCH: aborted exactly when a committed transaction in between
    // modified a watched key.
    for s in all.iter().filter(|s| s.watch_seq.is_some()) {
        let w = s.watch_seq.unwrap_or(0);
        let conflict = writes.iter().any(|(seq, keys)| {
            *seq > w && *seq < s.exec_seq && s.watched.iter().any(|k| keys.contains(k))
        });
        let aborted = s.reply == Frame::NullArray;
        if aborted != conflict {
            return Err(format!(
                "{target}: EXEC #{} after WATCH #{w} of {:?}: aborted={aborted}, a conflicting write in between={conflict}",
                s.exec_seq, s.watched
            ));
        }
    }
    Ok(())
}

fn target() -> impl Strategy<Value = Target> {
    prop::sample::select(vec![
        Target::new(Mode::Mutex, 1),
        Target::new(Mode::Rw, 1),
        Target::new(Mode::Shard, 2),
        Target::new(Mode::Shard, 32),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn transactions_are_serializable_and_watch_aborts_exactly_on_conflict(
        target in target(),
        programs in vec(vec(txn(), 5..40), 2..=5),
    ) {
        if let Err(why) = check(target, &programs) {
            prop_assert!(false, "{}", why);
        }
    }
}

/// The check can fail: a transaction replayed out of order, or a missing
/// abort, is reported.
#[test]
fn the_check_sees_a_wrong_serial_order() {
    let t = |watch: Vec<u8>, ops: Vec<Op>| Txn { watch, ops };
    let programs = vec![
        vec![t(vec![], vec![Op::Set(0), Op::Incr(1)])],
        vec![t(vec![0], vec![Op::Get(0)])],
    ];
    assert_eq!(check(Target::new(Mode::Shard, 2), &programs), Ok(()));
    // A reply that could not come from any serial order is refused.
    let exec = Target::new(Mode::Mutex, 1).executor(3);
    let mut s = exec.new_session();
    let (r, _) = exec.dispatch(&mut s, &args(&[b"GET", b"key:0"]), T0_MS * 1000);
    assert_eq!(r, Frame::Null);
    assert!(modifies(
        &[Bytes::from_static(b"DEL"), key(2)],
        &Frame::Integer(1),
        2
    ));
    assert!(!modifies(
        &[Bytes::from_static(b"DEL"), key(2)],
        &Frame::Integer(0),
        2
    ));
}
