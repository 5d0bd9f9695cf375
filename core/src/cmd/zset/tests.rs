//! Sorted-set commands in every lock mode; the corpus (`14-zsets.txt`)
//! compares replies with redis-server byte for byte. These cover the
//! large encoding at scale and what the corpus cannot see.

use bytes::Bytes;

use crate::frame::Frame;
use crate::testkit::*;

#[test]
fn a_large_sorted_set_answers_ranks_and_ranges_like_a_small_one() {
    for mut db in TestDb::all_modes() {
        for i in 0..1000 {
            let (score, member) = ((i * 7919) % 1000, format!("m{i:04}"));
            db.cmd(&["ZADD", "big", &score.to_string(), &member]);
        }
        assert_eq!(db.cmd(&["OBJECT", "ENCODING", "big"]), bulk("skiplist"));
        assert_eq!(db.cmd(&["ZCARD", "big"]), int(1000));
        // Scores are a permutation of 0..999: member with score s has rank s.
        for i in [0, 1, 500, 999] {
            let member = format!("m{i:04}");
            let score = (i * 7919) % 1000;
            assert_eq!(db.cmd(&["ZRANK", "big", &member]), int(score));
            assert_eq!(db.cmd(&["ZREVRANK", "big", &member]), int(999 - score));
        }
        assert_eq!(db.cmd(&["ZCOUNT", "big", "(100", "200"]), int(100));
        let Frame::Array(top) = db.cmd(&["ZREVRANGE", "big", "0", "2"]) else {
            panic!("not an array");
        };
        assert_eq!(top.len(), 3);
        assert_eq!(
            db.cmd(&["ZREMRANGEBYSCORE", "big", "-inf", "(500"]),
            int(500)
        );
        assert_eq!(db.cmd(&["ZCARD", "big"]), int(500));
        // The lowest left is the member scored 500.
        let Frame::Array(low) = db.cmd(&["ZRANGE", "big", "0", "0", "WITHSCORES"]) else {
            panic!("not an array");
        };
        assert_eq!(low[1], bulk("500"));
    }
}

#[test]
fn zmpop_propagates_as_a_pop_with_its_count() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        let args: Vec<Bytes> = ["ZMPOP", "1", "z", "MAX", "COUNT", "2"]
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        let (_, executed) = db.exec.dispatch(&mut db.session, &args, db.now_ms * 1000);
        let words: Vec<&[u8]> = executed.signal.propagate[0]
            .argv
            .iter()
            .map(|b| &b[..])
            .collect();
        assert_eq!(words, [&b"ZPOPMAX"[..], b"z", b"2"]);
    }
}
