//! The write signal rebuilds the keyspace: run a random session on one
//! executor, collect every command it propagates (the commands' own,
//! rewritten as Redis 7.0 rewrites them, and the `DEL` of every key that
//! expired, lazily or in the active cycle) in order, apply that stream to a
//! fresh executor at the same clock readings, and the two keyspaces are
//! the same: same keys, values and absolute deadlines, same DBSIZE (which
//! counts expired keys not yet deleted, so a missing `DEL` shows).
//!
//! This is what an AOF or a replica relies on. Sessions mix the model's
//! command language with the writes it does not model (GETEX, SETEX,
//! PSETEX, INCRBYFLOAT, GETSET, SETRANGE, SETBIT, UNLINK, FLUSHALL) and
//! the database commands (SELECT, MOVE, COPY ... DB, SWAPDB, FLUSHDB) and
//! transactions (MULTI, EXEC, DISCARD around any of them), and
//! every propagated command must be one that means the same whenever it is
//! replayed: no relative times, no floating-point arithmetic. The copy
//! applies the stream as an AOF does, with a `SELECT` wherever the
//! database changes, and must match in every database.

use bytes::Bytes;
use myongoredis_core::signal::Propagated;
use myongoredis_core::{Executor, Frame, Session};
use myongoredis_proptests::command::{Command, Key, Num, SetOpt, Val, T0_MS};
use myongoredis_proptests::harness::{show, Target};
use myongoredis_proptests::strategy::{cases, command, key, val};
use proptest::collection::vec;
use proptest::prelude::*;

/// One step of a session: the model's language, or a raw write it lacks.
#[derive(Clone, Debug)]
enum Step {
    Model(Command),
    Raw(Vec<Vec<u8>>),
}

fn text(s: impl ToString) -> Vec<u8> {
    s.to_string().into_bytes()
}

/// A time option of GETEX (and PERSIST), near the clock in each unit.
fn getex_option() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let (secs, ms) = ((T0_MS / 1000) as i64, T0_MS as i64);
    prop_oneof![
        Just(vec![]),
        Just(vec![text("PERSIST")]),
        (-1i64..=4).prop_map(|n| vec![text("EX"), text(n)]),
        (0i64..5000).prop_map(|n| vec![text("PX"), text(n)]),
        (-3i64..=8).prop_map(move |n| vec![text("EXAT"), text(secs + n)]),
        (-3000i64..=8000).prop_map(move |n| vec![text("PXAT"), text(ms + n)]),
    ]
}

fn raw_write() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let k = || key().prop_map(|k: Key| k.bytes().to_vec());
    let v = || val().prop_map(|v: Val| v.bytes().to_vec());
    prop_oneof![
        3 => (k(), getex_option()).prop_map(|(k, o)| [vec![text("GETEX"), k], o].concat()),
        2 => (k(), -1i64..=4, v()).prop_map(|(k, n, v)| vec![text("SETEX"), k, text(n), v]),
        2 => (k(), 0i64..3000, v()).prop_map(|(k, n, v)| vec![text("PSETEX"), k, text(n), v]),
        3 => (k(), prop::sample::select(vec!["1.5", "-0.25", "1e2", "3", "abc"]))
            .prop_map(|(k, by)| vec![text("INCRBYFLOAT"), k, text(by)]),
        2 => (k(), v()).prop_map(|(k, v)| vec![text("GETSET"), k, v]),
        2 => (k(), 0u32..6, v()).prop_map(|(k, at, v)| vec![text("SETRANGE"), k, text(at), v]),
        2 => (k(), 0u32..20, 0u8..=1).prop_map(|(k, at, on)| vec![text("SETBIT"), k, text(at), text(on)]),
        1 => k().prop_map(|k| vec![text("UNLINK"), k]),
        1 => k().prop_map(|k| vec![text("GETDEL"), k]),
        1 => Just(vec![text("FLUSHALL")]),
        3 => db().prop_map(|db| vec![text("SELECT"), text(db)]),
        2 => (k(), db()).prop_map(|(k, db)| vec![text("MOVE"), k, text(db)]),
        2 => (k(), k(), db(), any::<bool>()).prop_map(|(a, b, db, replace)| {
            let mut args = vec![text("COPY"), a, b, text("DB"), text(db)];
            if replace {
                args.push(text("REPLACE"));
            }
            args
        }),
        1 => (db(), db()).prop_map(|(a, b)| vec![text("SWAPDB"), text(a), text(b)]),
        1 => Just(vec![text("FLUSHDB")]),
        // Hashes and sets: HINCRBYFLOAT propagates as HSET, SPOP as SREM/DEL.
        2 => (k(), k(), v()).prop_map(|(k, f, v)| vec![text("HSET"), k, f, v]),
        1 => (k(), k()).prop_map(|(k, f)| vec![text("HINCRBYFLOAT"), k, f, text("1.5")]),
        1 => (k(), k()).prop_map(|(k, f)| vec![text("HDEL"), k, f]),
        2 => (k(), v(), v()).prop_map(|(k, a, b)| vec![text("SADD"), k, a, b]),
        1 => (k(), 0u32..3).prop_map(|(k, n)| vec![text("SPOP"), k, text(n)]),
        1 => k().prop_map(|k| vec![text("SPOP"), k]),
        1 => (k(), k(), k()).prop_map(|(a, b, c)| vec![text("SUNIONSTORE"), a, b, c]),
        // Lists: LMPOP propagates as LPOP/RPOP key count.
        2 => (k(), v(), v()).prop_map(|(k, a, b)| vec![text("RPUSH"), k, a, b]),
        1 => (k(), 0u32..3).prop_map(|(k, n)| vec![text("LPOP"), k, text(n)]),
        1 => (k(), k()).prop_map(|(a, b)| vec![text("LMOVE"), a, b, text("RIGHT"), text("LEFT")]),
        1 => (k(), k()).prop_map(|(a, b)| vec![text("LMPOP"), text(2), a, b, text("LEFT"), text("COUNT"), text(2)]),
        1 => (k(), v()).prop_map(|(k, v)| vec![text("LREM"), k, text(0), v]),
        // Sorted sets: ZMPOP propagates as ZPOPMIN/ZPOPMAX key count.
        2 => (k(), -2i32..3, v()).prop_map(|(k, s, m)| vec![text("ZADD"), k, text(s), m]),
        1 => (k(), v()).prop_map(|(k, m)| vec![text("ZINCRBY"), k, text("0.5"), m]),
        1 => (k(), k()).prop_map(|(a, b)| vec![text("ZMPOP"), text(2), a, b, text("MAX")]),
        1 => (k(), k(), k()).prop_map(|(d, a, b)| vec![text("ZUNIONSTORE"), d, text(2), a, b]),
        // A transaction propagates what its commands changed, in order.
        2 => prop::sample::select(vec!["MULTI", "EXEC", "DISCARD"]).prop_map(|c| vec![text(c)]),
    ]
}

/// The databases sessions use: a few, so that keys meet across them.
const DATABASES: u32 = 3;

fn db() -> impl Strategy<Value = u32> {
    0..DATABASES
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => command().prop_map(Step::Model),
        1 => raw_write().prop_map(Step::Raw),
    ]
}

/// A propagated command and the clock reading it took effect at.
type Timed = (u64, Propagated);

fn bytes_args(args: &[Vec<u8>]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

fn show_argv(argv: &[Bytes]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|w| format!("{:?}", String::from_utf8_lossy(w)))
        .collect();
    words.join(" ")
}

/// Run `steps` on a fresh executor of `target`; every propagated command
/// in order, and the clock at the end.
fn run_primary(exec: &Executor, steps: &[Step]) -> Result<(Vec<Timed>, u64), String> {
    let mut session = exec.new_session();
    let mut now_us = T0_MS * 1000;
    let mut stream = Vec::new();
    for step in steps {
        let args = match step {
            Step::Model(Command::Advance(us)) => {
                now_us += u64::from(*us);
                continue;
            }
            Step::Model(Command::ActiveExpire) => {
                exec.active_expire_cycle_with(now_us / 1000, |step| {
                    stream.extend(step.signal.propagate.iter().map(|c| (now_us, c.clone())));
                });
                continue;
            }
            Step::Model(cmd) => cmd.args(),
            Step::Raw(args) => args.clone(),
        };
        let (_, executed) = exec.dispatch(&mut session, &bytes_args(&args), now_us);
        let signal = executed.signal;
        // Something is propagated exactly when something changed.
        if signal.propagate.is_empty() == signal.changed_data() {
            return Err(format!("{step:?}: inconsistent signal {signal:?}"));
        }
        for p in &signal.propagate {
            replayable(&p.argv)
                .map_err(|e| format!("{step:?} propagated {}: {e}", show_argv(&p.argv)))?;
        }
        stream.extend(signal.propagate.into_iter().map(|c| (now_us, c)));
    }
    Ok((stream, now_us))
}

/// A propagated command must mean the same whenever it is applied: no
/// relative time, no float arithmetic, no reply-only option.
fn replayable(argv: &[Bytes]) -> Result<(), String> {
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    let relative = [
        "expire",
        "pexpire",
        "expireat",
        "setex",
        "psetex",
        "getex",
        "getset",
        "getdel",
        "incrbyfloat",
    ];
    if relative.contains(&name.as_str()) {
        return Err(format!("{name} is not propagated as such by Redis"));
    }
    if name == "set" {
        for opt in &argv[3..] {
            let opt = String::from_utf8_lossy(opt).to_ascii_lowercase();
            if ["ex", "px", "exat", "get"].contains(&opt.as_str()) {
                return Err(format!("SET with {opt}"));
            }
        }
    }
    Ok(())
}

/// Apply `stream` to `exec`, each command at its clock reading and in its
/// database (a `SELECT` where the database changes, as the AOF writes
/// it); every command must succeed (a propagated command that errors is a
/// bug).
fn apply(exec: &Executor, stream: &[Timed]) -> Result<(), String> {
    let mut session: Session = exec.new_session();
    let mut selected = Some(0);
    for (now_us, propagated) in stream {
        let mut words = Vec::new();
        propagated.append_to(&mut words, &mut selected);
        for argv in &words {
            let (reply, _) = exec.dispatch(&mut session, argv, *now_us);
            if let Frame::Error(e) = reply {
                let e = String::from_utf8_lossy(&e);
                return Err(format!("replaying {} failed: {e}", show_argv(argv)));
            }
        }
    }
    Ok(())
}

/// The keyspace as the server's own commands show it at `now_us`, in
/// every database the sessions use.
fn listing(exec: &Executor, now_us: u64) -> Vec<String> {
    (0..DATABASES)
        .flat_map(|db| {
            let mut lines = vec![format!("db {db}")];
            lines.extend(listing_of(exec, db, now_us));
            lines
        })
        .collect()
}

/// Database `db` at `now_us`: every live key (sorted) with its value and
/// absolute deadline, and DBSIZE.
fn listing_of(exec: &Executor, db: u32, now_us: u64) -> Vec<String> {
    let mut session = exec.new_session();
    let mut send = |words: Vec<Bytes>| exec.dispatch(&mut session, &words, now_us).0;
    send(bytes_args(&[text("SELECT"), text(db)]));
    let keys = match send(bytes_args(&[text("KEYS"), text("*")])) {
        Frame::Array(keys) => keys,
        other => return vec![format!("KEYS * replied {}", show(&other))],
    };
    let mut keys: Vec<Vec<u8>> = keys
        .into_iter()
        .filter_map(|k| match k {
            Frame::Bulk(k) => Some(k.to_vec()),
            _ => None,
        })
        .collect();
    keys.sort();
    let mut lines: Vec<String> = keys
        .iter()
        .map(|k| {
            // Each type read whole, order-free (a hash table's order is
            // its history's; the copy's history may differ in encodings).
            let kind = send(bytes_args(&[text("TYPE"), k.clone()]));
            let read = match &kind {
                Frame::Simple(t) if &t[..] == b"hash" => "HGETALL",
                Frame::Simple(t) if &t[..] == b"set" => "SMEMBERS",
                Frame::Simple(t) if &t[..] == b"list" => "LLIST",
                Frame::Simple(t) if &t[..] == b"zset" => "ZLIST",
                _ => "GET",
            };
            let words = match read {
                // A list's order is its content: read it whole, in order.
                "LLIST" => vec![text("LRANGE"), k.clone(), text(0), text(-1)],
                "ZLIST" => vec![
                    text("ZRANGE"),
                    k.clone(),
                    text(0),
                    text(-1),
                    text("WITHSCORES"),
                ],
                _ => vec![text(read), k.clone()],
            };
            let value = match send(bytes_args(&words)) {
                Frame::Array(items) if read == "LLIST" || read == "ZLIST" => Frame::Array(items),
                Frame::Array(items) if read == "HGETALL" => {
                    let mut pairs: Vec<String> = items
                        .chunks(2)
                        .map(|p| p.iter().map(show).collect::<Vec<_>>().join("="))
                        .collect();
                    pairs.sort();
                    Frame::Bulk(pairs.join(",").into())
                }
                Frame::Array(items) => {
                    let mut members: Vec<String> = items.iter().map(show).collect();
                    members.sort();
                    Frame::Bulk(members.join(",").into())
                }
                other => other,
            };
            let deadline = send(bytes_args(&[text("PEXPIRETIME"), k.clone()]));
            format!(
                "{:?} = {} deadline {}",
                String::from_utf8_lossy(k),
                show(&value),
                show(&deadline)
            )
        })
        .collect();
    lines.push(format!(
        "dbsize {}",
        show(&send(bytes_args(&[text("DBSIZE")])))
    ));
    lines
}

/// The property for one target; `tamper` edits the stream before it is
/// applied (the identity in the property, a fault in the self-check).
fn check(
    target: Target,
    steps: &[Step],
    tamper: impl FnOnce(&mut Vec<Timed>),
) -> Result<(), String> {
    let primary = target.executor(7);
    let (mut stream, end_us) = run_primary(&primary, steps)?;
    tamper(&mut stream);
    // Another seed: the copy never samples, it only applies.
    let copy = target.executor(8);
    apply(&copy, &stream)?;
    let (want, got) = (listing(&primary, end_us), listing(&copy, end_us));
    if want != got {
        let shown: Vec<String> = stream
            .iter()
            .map(|(t, p)| {
                let at = t / 1000 - T0_MS;
                format!("  @{at} db {} {}", p.db, show_argv(&p.argv))
            })
            .collect();
        return Err(format!(
            "{target}: the copy differs.\nprimary: {want:#?}\ncopy:    {got:#?}\nstream:\n{}",
            shown.join("\n")
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1000),
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    })]

    /// Applying the propagated stream rebuilds the same keyspace, in every
    /// mode.
    #[test]
    fn the_propagated_stream_rebuilds_the_keyspace(steps in vec(step(), 1..=60)) {
        for target in Target::ALL {
            if let Err(report) = check(target, &steps, |_| {}) {
                prop_assert!(false, "{}", report);
            }
        }
    }
}

/// The check can fail: losing the `DEL` of an expired key, or one
/// command, leaves a copy that differs. Otherwise the property could pass
/// vacuously.
#[test]
fn the_check_catches_a_lost_deletion_and_a_lost_write() {
    let (a, b) = (Key(0), Key(1));
    let steps = vec![
        Step::Model(Command::Set(a, Val(1), vec![SetOpt::Px(Num::Int(10))])),
        Step::Model(Command::Set(b, Val(3), vec![])),
        Step::Model(Command::Advance(20_000)),
        Step::Model(Command::Get(a)),
        Step::Raw(vec![text("INCRBYFLOAT"), b.bytes().to_vec(), text("1.5")]),
    ];
    for target in Target::ALL {
        assert_eq!(check(target, &steps, |_| {}), Ok(()));
        let lost_del = |s: &mut Vec<Timed>| s.retain(|(_, p)| p.argv[0] != "DEL");
        assert!(check(target, &steps, lost_del).is_err(), "{target}");
        let lost_last = |s: &mut Vec<Timed>| {
            s.pop();
        };
        assert!(check(target, &steps, lost_last).is_err(), "{target}");
    }
    // Losing the databases (everything applied in database 0) shows too.
    let across = vec![
        Step::Raw(vec![text("SELECT"), text(1)]),
        Step::Model(Command::Set(a, Val(1), vec![])),
        Step::Raw(vec![text("MOVE"), a.bytes().to_vec(), text(2)]),
        Step::Model(Command::Set(b, Val(3), vec![])),
    ];
    for target in Target::ALL {
        assert_eq!(check(target, &across, |_| {}), Ok(()));
        let one_db = |s: &mut Vec<Timed>| s.iter_mut().for_each(|(_, p)| p.db = 0);
        assert!(check(target, &across, one_db).is_err(), "{target}");
    }
    // The stream itself, as Redis 7.0.15 writes it (times from the clock).
    let exec = Target::ALL[0].executor(1);
    let (stream, _) = run_primary(&exec, &steps).unwrap();
    let shown: Vec<String> = stream.iter().map(|(_, p)| show_argv(&p.argv)).collect();
    assert_eq!(
        shown,
        [
            format!("\"SET\" \"a\" \"1\" \"PXAT\" \"{}\"", T0_MS + 10),
            "\"SET\" \"b\" \"42\"".to_string(),
            "\"DEL\" \"a\"".to_string(),
            "\"SET\" \"b\" \"43.5\" \"KEEPTTL\"".to_string(),
        ]
    );
}
