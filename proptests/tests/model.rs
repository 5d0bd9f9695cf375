//! Model-based test: random sessions against the reference model, in every
//! lock strategy. See the crate docs for what it guarantees.

use myongoredis_core::Frame;
use myongoredis_proptests::command::{
    known_core_divergences, type_sessions, Command, Elem, Field, Key, Member, Num, Score, SetOpt,
    Val,
};
use myongoredis_proptests::harness::{
    check_against_model, check_session, regression_sessions, Client, Server, Target,
};
use myongoredis_proptests::model::comparable;
use myongoredis_proptests::strategy::{cases, session_read_back};
use proptest::prelude::*;

/// The executor of one target, its replies put in the form the model's
/// are compared in ([`comparable`]: set members sorted).
struct Compared(Client);

impl Compared {
    fn new(target: Target) -> Compared {
        Compared(Client::new(target, 1))
    }
}

impl Server for Compared {
    fn send(&mut self, args: &[Vec<u8>], now_us: u64) -> Frame {
        comparable(args, self.0.send(args, now_us))
    }

    fn active_expire(&mut self, now_ms: u64) {
        self.0.exec.active_expire_cycle(now_ms);
    }
}

/// [`check_against_model`] with set replies compared sorted.
fn check(target: Target, commands: &[Command]) -> Result<(), String> {
    check_session(&mut Compared::new(target), &target.to_string(), commands)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(5000),
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    })]

    /// Every reply and the final state (strings and TTLs, then every key's
    /// type, hash and set) agree with the model, in every mode.
    #[test]
    fn every_mode_agrees_with_the_model(commands in session_read_back(40)) {
        for target in Target::ALL {
            if let Err(report) = check(target, &commands) {
                prop_assert!(false, "{}", report);
            }
        }
    }
}

/// A server that answers wrongly in one way, to show the check notices.
struct Faulty {
    inner: Client,
    fault: fn(&[Vec<u8>]) -> Option<Frame>,
}

impl Server for Faulty {
    fn send(&mut self, args: &[Vec<u8>], now_us: u64) -> Frame {
        (self.fault)(args).unwrap_or_else(|| self.inner.send(args, now_us))
    }

    fn active_expire(&mut self, now_ms: u64) {
        self.inner.exec.active_expire_cycle(now_ms);
    }
}

/// The check can fail: a wrong reply, and a write that silently does
/// nothing (seen only in the final state), are both reported. Otherwise
/// the property above could pass vacuously.
#[test]
fn the_check_catches_wrong_replies_and_wrong_state() {
    let session = [
        Command::Set(Key(0), Val(1), vec![SetOpt::Px(Num::Int(1500))]),
        Command::Advance(1_000_000),
        Command::Ttl(Key(0)),
        Command::Del(vec![Key(0)]),
    ];
    let target = Target::ALL[0];
    assert_eq!(check_against_model(target, &session), Ok(()));
    let wrong_ttl = |args: &[Vec<u8>]| (args[0] == b"TTL").then_some(Frame::Integer(42));
    let lost_del = |args: &[Vec<u8>]| (args[0] == b"DEL").then_some(Frame::Integer(1));
    for (fault, what) in [
        (
            wrong_ttl as fn(&[Vec<u8>]) -> Option<Frame>,
            "TTL a  ->  (integer) 42",
        ),
        (lost_del, "GET a  ->  \"1\""),
    ] {
        let mut server = Faulty {
            inner: Client::new(target, 1),
            fault,
        };
        let report = check_session(&mut server, "faulty", &session).unwrap_err();
        assert!(report.contains(what), "{report}");
    }
}

/// The same for hashes and sets: a write that does nothing, a reply in
/// another order, a key left behind empty are all reported.
#[test]
fn the_check_catches_wrong_hashes_and_sets() {
    let (f, g) = (Field(0), Field(1));
    let session = [
        Command::HSet(Key(0), vec![(f, Val(1)), (g, Val(2))], None),
        Command::SAdd(Key(1), vec![Member(0), Member(5)]),
        Command::SRem(Key(1), vec![Member(0)]),
        Command::HGetAll(Key(0)),
        Command::SRem(Key(1), vec![Member(5)]),
    ];
    let target = Target::ALL[0];
    let mut session = session.to_vec();
    session.extend(Command::read_back());
    assert_eq!(check(target, &session), Ok(()));
    let lost_srem = |args: &[Vec<u8>]| (args[0] == b"SREM").then_some(Frame::Integer(1));
    let reordered = |args: &[Vec<u8>]| {
        (args[0] == b"HGETALL" && args[1] == b"a").then(|| {
            let pair = |f: &'static [u8], v: &'static [u8]| (Frame::bulk(f), Frame::bulk(v));
            Frame::Map(vec![pair(b"g", b"-1"), pair(b"f", b"1")])
        })
    };
    for (fault, what) in [
        (
            lost_srem as fn(&[Vec<u8>]) -> Option<Frame>,
            "TYPE b  ->  set",
        ),
        (
            reordered,
            "HGETALL a  ->  {\"g\" => \"-1\", \"f\" => \"1\"}",
        ),
    ] {
        let mut server = Faulty {
            inner: Client::new(target, 1),
            fault,
        };
        let report = check_session(&mut server, "faulty", &session).unwrap_err();
        assert!(report.contains(what), "{report}");
    }
}

/// The same for lists and sorted sets: a push that does nothing, and a
/// score printed the short way (`1.1`, as Redis 7.2 would) rather than
/// with Redis 7.0's `%.17g`, are both reported, the RESP3 double that
/// `core` returns being compared as the RESP2 bulk string it is sent as.
#[test]
fn the_check_catches_wrong_lists_and_scores() {
    let mut session = vec![
        Command::RPush(Key(0), vec![Elem(0), Elem(1)]),
        Command::ZAdd(Key(1), vec![], vec![(Score(2), Member(0))]),
        Command::ZScore(Key(1), Member(0)),
    ];
    session.extend(Command::read_back());
    let target = Target::ALL[0];
    assert_eq!(check(target, &session), Ok(()));
    let lost_rpush = |args: &[Vec<u8>]| (args[0] == b"RPUSH").then_some(Frame::Integer(2));
    let short_score = |args: &[Vec<u8>]| {
        (args[0] == b"ZSCORE").then(|| Frame::Double(bytes::Bytes::from_static(b"1.1")))
    };
    for (fault, what) in [
        (
            lost_rpush as fn(&[Vec<u8>]) -> Option<Frame>,
            "TYPE a  ->  none",
        ),
        (short_score, "ZSCORE b 1  ->  \"1.1\""),
    ] {
        let mut server = Faulty {
            inner: Client::new(target, 1),
            fault,
        };
        let report = check_session(&mut server, "faulty", &session).unwrap_err();
        assert!(report.contains(what), "{report}");
    }
}

/// The regression sessions (see `harness::regression_sessions` and
/// `command::type_sessions`), in every mode. Every failing session is
/// reported, not just the first.
#[test]
fn regression_sessions_agree() {
    let mut failures = Vec::new();
    for (name, commands) in regression_sessions().into_iter().chain(type_sessions()) {
        // One mode per session is enough to report; the others usually agree.
        if let Some(report) = Target::ALL
            .iter()
            .find_map(|&target| check(target, &commands).err())
        {
            failures.push(format!("{name}\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The sessions on which `core` once disagreed with Redis 7.0 (see
/// [`known_core_divergences`]; the reference test shows the model follows
/// Redis on them): the order of key lookup and argument parsing in
/// LINDEX, LSET, ZRANGE and ZRANGEBYSCORE, -0 scores, lenient range
/// bounds. Fixed; kept as regressions.
#[test]
fn known_core_divergences_agree() {
    let mut failures = Vec::new();
    for (name, commands) in known_core_divergences() {
        for target in Target::ALL {
            if let Err(report) = check(target, &commands) {
                failures.push(format!("{name}\n{report}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
