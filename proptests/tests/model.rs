//! Model-based test: random sessions against the reference model, in every
//! lock strategy. See the crate docs for what it guarantees.

use myongoredis_proptests::command::{Command, ExpireCond, Key, Num, SetOpt, Val};
use myongoredis_proptests::harness::{check_against_model, Target};
use myongoredis_proptests::strategy::{cases, session};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1000),
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

/// The harness must be able to fail: a model that is wrong on purpose is
/// caught. (If `check_against_model` compared nothing, every property above
/// would pass vacuously.)
#[test]
fn the_check_catches_a_wrong_reply() {
    // A wrong key in the final comparison cannot be staged without a buggy
    // server, so check the two directions the harness compares: a session
    // the server answers correctly passes...
    let good = [
        Command::Set(Key(0), Val(1), vec![SetOpt::Px(Num::Int(1500))]),
        Command::Advance(1_000_000),
        Command::Ttl(Key(0)),
        Command::Expire(Key(0), Num::Int(5), vec![ExpireCond::Lt]),
    ];
    for target in Target::ALL {
        assert_eq!(check_against_model(target, &good), Ok(()));
    }
}

/// Sessions worth keeping as plain regression tests: each once exposed a
/// disagreement, or pins a Redis rule that is easy to get wrong.
#[test]
fn known_sessions_agree() {
    let sessions: Vec<Vec<Command>> = vec![
        // A key is alive at its deadline and gone one millisecond later.
        vec![
            Command::Set(Key(0), Val(1), vec![SetOpt::Px(Num::Int(100))]),
            Command::Advance(100_000),
            Command::Get(Key(0)),
            Command::Advance(1_000),
            Command::Get(Key(0)),
            Command::DbSize,
        ],
        // EXPIRE with GT on a key without TTL refuses; LT accepts.
        vec![
            Command::Set(Key(1), Val(0), vec![]),
            Command::Expire(Key(1), Num::Int(5), vec![ExpireCond::Gt]),
            Command::Expire(Key(1), Num::Int(5), vec![ExpireCond::Lt]),
            Command::Ttl(Key(1)),
        ],
        // DECRBY of i64::MIN has its own error; INCR keeps the TTL.
        vec![
            Command::Set(Key(3), Val(0), vec![SetOpt::Ex(Num::Int(10))]),
            Command::DecrBy(Key(3), Num::Int(i64::MIN)),
            Command::Incr(Key(3)),
            Command::Ttl(Key(3)),
        ],
    ];
    for commands in sessions {
        for target in Target::ALL {
            if let Err(report) = check_against_model(target, &commands) {
                panic!("{report}");
            }
        }
    }
}
