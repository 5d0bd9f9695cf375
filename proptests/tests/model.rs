//! Model-based test: random sessions against the reference model, in every
//! lock strategy. See the crate docs for what it guarantees.

use myongoredis_core::Frame;
use myongoredis_proptests::command::{Command, Key, Num, SetOpt, Val};
use myongoredis_proptests::harness::{
    check_against_model, check_session, regression_sessions, Client, Server, Target,
};
use myongoredis_proptests::strategy::{cases, session};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(5000),
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    })]

    /// Every reply and the final state agree with the model, in every mode.
    #[test]
    fn every_mode_agrees_with_the_model(commands in session(40)) {
        for target in Target::ALL {
            if let Err(report) = check_against_model(target, &commands) {
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

/// The regression sessions (see `harness::regression_sessions`), in every
/// mode. Every failing session is reported, not just the first.
#[test]
fn regression_sessions_agree() {
    let mut failures = Vec::new();
    for (name, commands) in regression_sessions() {
        // One mode per session is enough to report; the others usually agree.
        if let Some(report) = Target::ALL
            .iter()
            .find_map(|&target| check_against_model(target, &commands).err())
        {
            failures.push(format!("{name}\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
