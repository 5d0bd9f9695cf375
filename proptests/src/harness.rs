//! Driving the real executor: one per lock strategy, the same commands as
//! the [`Model`], every reply compared.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use myongoredis_core::{new_store, Config, Executor, Frame, Mode, NoObserver, Session};

use crate::command::{cli_line, At, Command, ExpireCond, Key, Num, SetOpt, Val};
use crate::model::{Expected, Model};

/// A store configuration under test: a mode, and for `shard` the number of
/// shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub mode: Mode,
    pub shards: u32,
}

impl Target {
    /// mutex, rw, and shard with 1, 2 and 32 shards: one lock, two locks
    /// (most multi-key commands span both), and the default layout.
    pub const ALL: [Target; 5] = [
        Target::new(Mode::Mutex, 1),
        Target::new(Mode::Rw, 1),
        Target::new(Mode::Shard, 1),
        Target::new(Mode::Shard, 2),
        Target::new(Mode::Shard, 32),
    ];

    pub const fn new(mode: Mode, shards: u32) -> Target {
        Target { mode, shards }
    }

    /// A fresh executor with this store, a default config and `seed`.
    pub fn executor(self, seed: u64) -> Executor {
        let config = Config::with_defaults();
        Executor::new(
            new_store(
                self.mode,
                self.shards,
                config.databases(),
                Arc::new(NoObserver),
            ),
            seed,
            config,
        )
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.mode {
            Mode::Shard => write!(f, "shard×{}", self.shards),
            mode => f.write_str(mode.name()),
        }
    }
}

/// A reply as `redis-cli` shows it, on one line: `"v"`, `(nil)`,
/// `(integer) 3`, `(error) ERR ...`, `OK`, `["a", (nil)]`.
pub fn show(frame: &Frame) -> String {
    match frame {
        Frame::Simple(s) => String::from_utf8_lossy(s).into_owned(),
        Frame::Error(e) => format!("(error) {}", String::from_utf8_lossy(e)),
        Frame::Integer(n) => format!("(integer) {n}"),
        Frame::Bulk(_) | Frame::ShortBulk(_) => {
            format!(
                "{:?}",
                String::from_utf8_lossy(frame.as_bulk().unwrap_or_default())
            )
        }
        Frame::Null => "(nil)".to_string(),
        Frame::NullArray => "(nil array)".to_string(),
        Frame::Many(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            items.join(" ")
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        Frame::Map(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{} => {}", show(k), show(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        Frame::Pairs(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(a, b)| format!("[{}, {}]", show(a), show(b)))
                .collect();
            format!("[{}]", pairs.join(", "))
        }
        Frame::Verbatim(t) => format!("{:?}", String::from_utf8_lossy(t)),
        Frame::Double(d) => format!("(double) {}", String::from_utf8_lossy(d)),
        Frame::Boolean(b) => format!("({b})"),
    }
}

fn show_expected(e: &Expected) -> String {
    match e {
        Expected::Reply(f) => show(f),
        Expected::IntBetween(lo, hi) => format!("(integer) {lo}..={hi}"),
        Expected::Nothing => String::new(),
    }
}

/// One executor and one client session, with the model's clock.
pub struct Client {
    pub exec: Executor,
    pub session: Session,
}

impl Client {
    pub fn new(target: Target, seed: u64) -> Client {
        let exec = target.executor(seed);
        let session = exec.new_session();
        Client { exec, session }
    }

    /// Send one command (as arguments) at clock `now_us`.
    pub fn send(&mut self, args: &[Vec<u8>], now_us: u64) -> Frame {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        self.exec.dispatch(&mut self.session, &args, now_us).0
    }
}

/// Something that answers commands like a Redis server: this crate's
/// executor ([`Client`]), or a real `redis-server` (the `reference` test).
pub trait Server {
    /// Send one command (as arguments) at clock `now_us`; its reply.
    fn send(&mut self, args: &[Vec<u8>], now_us: u64) -> Frame;
    /// Run one active-expiry cycle at `now_ms`, if the server lets us.
    fn active_expire(&mut self, now_ms: u64);
}

impl Server for Client {
    fn send(&mut self, args: &[Vec<u8>], now_us: u64) -> Frame {
        Client::send(self, args, now_us)
    }

    fn active_expire(&mut self, now_ms: u64) {
        self.exec.active_expire_cycle(now_ms);
    }
}

/// Run `commands` on a fresh executor of `target` and on a fresh [`Model`],
/// compare every reply, then compare the final state key by key (GET and
/// PTTL of every key of the alphabet, DBSIZE, and `KEYS *` as a set).
///
/// On the first disagreement, returns a report: the target, the session up
/// to that point with the server's replies, and what the model expected.
pub fn check_against_model(target: Target, commands: &[Command]) -> Result<(), String> {
    check_session(&mut Client::new(target, 1), &target.to_string(), commands)
}

/// [`check_against_model`] for any [`Server`] holding an empty keyspace;
/// `label` names it in the report.
pub fn check_session(
    server: &mut impl Server,
    label: &str,
    commands: &[Command],
) -> Result<(), String> {
    let mut model = Model::new();
    let mut transcript = String::new();
    let mut step = |cmd: &Command, transcript: &mut String| -> Result<(), String> {
        let expected = model.apply(cmd);
        let now_us = model.now_us();
        let actual = match cmd {
            Command::Advance(_) => None,
            Command::ActiveExpire => {
                server.active_expire(now_us / 1000);
                None
            }
            // In the form the model's replies take (set members sorted,
            // HGETALL as a map), whatever the server is.
            _ => {
                let args = cmd.args();
                Some(crate::model::comparable(&args, server.send(&args, now_us)))
            }
        };
        let agrees = match (&expected, &actual) {
            (Expected::Nothing, None) => true,
            (Expected::Reply(want), Some(got)) => want == got,
            (Expected::IntBetween(lo, hi), Some(Frame::Integer(n))) => (lo..=hi).contains(&n),
            _ => false,
        };
        let got = actual.as_ref().map(show).unwrap_or_default();
        let _ = writeln!(transcript, "  {cmd:?}  ->  {got}");
        if agrees {
            Ok(())
        } else {
            Err(format!(
                "{label}: the server disagrees with the model at the last step:\n{transcript}  expected: {}",
                show_expected(&expected)
            ))
        }
    };
    for cmd in commands {
        step(cmd, &mut transcript)?;
    }
    // The final state, through the server's own read commands.
    let _ = writeln!(transcript, "  -- final state --");
    for key in Key::all() {
        step(&Command::Get(key), &mut transcript)?;
        step(&Command::Pttl(key), &mut transcript)?;
    }
    step(&Command::DbSize, &mut transcript)?;
    let keys_cmd = vec![b"KEYS".to_vec(), b"*".to_vec()];
    let mut keys = match server.send(&keys_cmd, model.now_us()) {
        Frame::Array(items) => items,
        other => return Err(format!("{label}: KEYS * replied {}", show(&other))),
    };
    keys.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    let mut want: Vec<Frame> = model.live_keys().iter().map(|k| Frame::bulk(k)).collect();
    want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    if keys != want {
        return Err(format!(
            "{label}: after\n{transcript}  {} -> {} (sorted), expected {}",
            cli_line(&keys_cmd),
            show(&Frame::Array(keys)),
            show(&Frame::Array(want))
        ));
    }
    Ok(())
}

/// Sessions kept as plain regression tests, checked against every mode
/// (`model.rs`) and against real Redis (`reference.rs`): each pins a Redis
/// rule that is easy to get wrong, or once exposed a disagreement.
pub fn regression_sessions() -> Vec<(&'static str, Vec<Command>)> {
    use Command::*;
    let (a, b, c, counter) = (Key(0), Key(1), Key(2), Key(3));
    vec![
        (
            "a key is alive at its deadline and gone one millisecond later",
            vec![
                Set(a, Val(1), vec![SetOpt::Px(Num::Int(100))]),
                Advance(100_000),
                Get(a),
                Advance(1_000),
                Get(a),
                DbSize,
            ],
        ),
        (
            "a write that stores a deadline may reclaim expired keys it did not look up",
            vec![
                Set(a, Val(0), vec![SetOpt::Px(Num::Int(1))]),
                Set(b, Val(0), vec![SetOpt::Px(Num::Int(1))]),
                Set(counter, Val(0), vec![]),
                Advance(2_000),
                // myongoredis: DBSIZE 2 (a and b reclaimed); Redis: 4.
                Set(c, Val(0), vec![SetOpt::Px(Num::Int(100))]),
                DbSize,
                Set(a, Val(0), vec![SetOpt::Px(Num::Int(1))]),
                Advance(2_000),
                Expire(counter, Num::Int(5), vec![]),
                DbSize,
            ],
        ),
        (
            "EXPIRE GT refuses a key without TTL, LT accepts it",
            vec![
                Set(b, Val(0), vec![]),
                Expire(b, Num::Int(5), vec![ExpireCond::Gt]),
                Expire(b, Num::Int(5), vec![ExpireCond::Lt]),
                Ttl(b),
            ],
        ),
        (
            "DECRBY of i64::MIN has its own error; INCR keeps the TTL",
            vec![
                Set(counter, Val(0), vec![SetOpt::Ex(Num::Int(10))]),
                DecrBy(counter, Num::Int(i64::MIN)),
                Incr(counter),
                Ttl(counter),
            ],
        ),
        (
            "TTL rounds to the nearest second",
            vec![
                Set(a, Val(0), vec![SetOpt::Px(Num::Int(1499))]),
                Ttl(a),
                Advance(1_000),
                Ttl(a),
                Pttl(a),
            ],
        ),
        (
            "a deadline not in the future deletes the key at once",
            vec![
                Set(a, Val(0), vec![]),
                PExpireAt(a, At::FromStart(0), vec![]),
                DbSize,
                Exists(vec![a]),
            ],
        ),
        (
            "MSETNX looks keys up in order and stops at the first live one",
            vec![
                Set(b, Val(0), vec![SetOpt::PxAt(At::FromStart(0))]),
                Set(c, Val(0), vec![SetOpt::PxAt(At::FromStart(0))]),
                Incr(counter),
                Advance(1_000),
                // b is expired and removed; counter is live, so the command
                // stops before c, which stays until something looks it up.
                MSetNx(vec![(b, Val(0)), (counter, Val(0)), (c, Val(0))]),
                DbSize,
            ],
        ),
        (
            "SET XX on an expired key removes it (Redis looks it up first)",
            vec![
                Set(a, Val(0), vec![SetOpt::Px(Num::Int(1))]),
                Advance(2_000),
                Set(a, Val(1), vec![SetOpt::Xx]),
                DbSize,
            ],
        ),
    ]
}
