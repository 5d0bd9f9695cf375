//! Set commands in every lock mode. Replies are compared byte for byte
//! with redis-server by the corpus (`11-sets.txt`); these cover random
//! draws, propagation and atomicity across shards.

use std::collections::BTreeSet;

use bytes::Bytes;

use crate::frame::Frame;
use crate::testkit::*;

fn members(reply: Frame) -> Vec<String> {
    let (Frame::Array(items) | Frame::Set(items)) = reply else {
        panic!("not an aggregate: {reply:?}");
    };
    items
        .into_iter()
        .map(|f| match f {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect()
}

#[test]
fn spop_and_srandmember_draw_from_the_set() {
    for mut db in TestDb::all_modes() {
        let all: BTreeSet<String> = (0..30).map(|i| format!("m{i}")).collect();
        for m in &all {
            db.cmd(&["SADD", "s", m]);
        }
        let picked = members(db.cmd(&["SRANDMEMBER", "s", "10"]));
        assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), 10, "distinct");
        assert_eq!(members(db.cmd(&["SRANDMEMBER", "s", "-40"])).len(), 40);
        let popped = members(db.cmd(&["SPOP", "s", "12"]));
        assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 12);
        assert!(popped.iter().all(|m| all.contains(m)));
        assert_eq!(db.cmd(&["SCARD", "s"]), int(18));
        for m in &popped {
            assert_eq!(db.cmd(&["SISMEMBER", "s", m]), int(0), "{m} was popped");
        }
    }
}

/// SPOP is propagated as the SREM of what it popped (or a DEL of the whole
/// set), never as SPOP: replaying it must not depend on the random stream.
#[test]
fn spop_propagates_as_srem_or_del() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["SADD", "s", "a", "b", "c"]);
        let args = |words: &[&str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        let (reply, executed) =
            db.exec
                .dispatch(&mut db.session, &args(&["SPOP", "s"]), db.now_ms * 1000);
        let Frame::Bulk(popped) = reply else {
            panic!("SPOP replied {reply:?}");
        };
        let argv = &executed.signal.propagate[0].argv;
        assert_eq!(
            argv,
            &vec![
                Bytes::from_static(b"SREM"),
                Bytes::from_static(b"s"),
                popped
            ]
        );
        let (_, executed) = db.exec.dispatch(
            &mut db.session,
            &args(&["SPOP", "s", "5"]),
            db.now_ms * 1000,
        );
        assert_eq!(executed.signal.propagate[0].argv, args(&["DEL", "s"]));
        assert_eq!(db.cmd(&["EXISTS", "s"]), int(0));
    }
}

/// SMOVE and the STORE commands span shards (8 shards in the last mode):
/// the executor locked every key they name.
#[test]
fn multi_key_set_commands_work_across_shards() {
    check_all_modes(&[
        (&["SADD", "a", "1", "2", "3"], int(3)),
        (&["SADD", "b", "2", "3", "4"], int(3)),
        (&["SADD", "c", "3", "9"], int(2)),
        (&["SINTERSTORE", "out", "a", "b", "c"], int(1)),
        (&["SMEMBERS", "out"], arr(vec![bulk("3")])),
        (&["SUNIONSTORE", "out", "a", "b", "c"], int(5)),
        (&["SDIFFSTORE", "out", "a", "b"], int(1)),
        (&["SMOVE", "a", "zzz", "1"], int(1)),
        (&["SMEMBERS", "zzz"], arr(vec![bulk("1")])),
        (&["SINTERCARD", "3", "a", "b", "c", "LIMIT", "5"], int(1)),
    ]);
}
