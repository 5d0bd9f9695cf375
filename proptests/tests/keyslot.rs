//! Hash slots against the reference: for random keys (binary, with many
//! braces so that hash tags of every shape occur: empty `{}`, nested,
//! unclosed, several), `cluster::key_slot` must equal what a real
//! redis-server 7.0 in cluster mode answers to CLUSTER KEYSLOT. Skipped,
//! saying why, without redis-server on PATH.

use myongoredis_core::cluster::key_slot;
use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, RealRedis, TempDir};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Key bytes: braces a third of the time, else any byte.
fn key() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            1 => Just(b'{'),
            1 => Just(b'}'),
            4 => any::<u8>(),
        ],
        0..24,
    )
}

#[test]
fn key_slots_match_redis_server() {
    let dir = TempDir::new("keyslot");
    let Some(redis) = RealRedis::start_cluster(dir.path()) else {
        return;
    };
    // `run` takes an `Fn`: the one connection is borrowed mutably inside.
    let raw = std::cell::RefCell::new(Raw::connect(redis.addr()));
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    runner
        .run(&key(), |k| {
            let want = raw.borrow_mut().call(&[b"CLUSTER", b"KEYSLOT", &k]);
            prop_assert_eq!(Frame::Integer(key_slot(&k) as i64), want, "key {:?}", k);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
