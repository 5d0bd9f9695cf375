//! List commands in every lock mode (8 shards in the last); replies are
//! compared with redis-server by the corpus (`13-lists.txt`).

use bytes::Bytes;

use crate::frame::Frame;
use crate::testkit::*;

#[test]
fn a_queue_moves_between_lists_in_any_shard() {
    check_all_modes(&[
        (&["RPUSH", "jobs", "j1", "j2", "j3"], int(3)),
        (&["LMOVE", "jobs", "working", "LEFT", "RIGHT"], bulk("j1")),
        (&["RPOPLPUSH", "jobs", "working"], bulk("j3")),
        (
            &["LRANGE", "working", "0", "-1"],
            arr(vec![bulk("j3"), bulk("j1")]),
        ),
        (
            &["LMPOP", "2", "nosuch", "jobs", "LEFT", "COUNT", "5"],
            arr(vec![bulk("jobs"), arr(vec![bulk("j2")])]),
        ),
        (&["EXISTS", "jobs"], int(0)),
        (&["LREM", "working", "0", "j1"], int(1)),
        (&["LLEN", "working"], int(1)),
    ]);
}

#[test]
fn lmpop_propagates_as_a_pop_with_its_count() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["RPUSH", "l", "a", "b", "c"]);
        let args: Vec<Bytes> = ["LMPOP", "1", "l", "RIGHT", "COUNT", "2"]
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        let (reply, executed) = db.exec.dispatch(&mut db.session, &args, db.now_ms * 1000);
        assert_eq!(
            reply,
            Frame::Array(vec![bulk("l"), Frame::Array(vec![bulk("c"), bulk("b")])])
        );
        let argv = &executed.signal.propagate[0].argv;
        assert_eq!(
            argv,
            &vec![
                Bytes::from_static(b"RPOP"),
                Bytes::from_static(b"l"),
                Bytes::from_static(b"2")
            ]
        );
    }
}

#[test]
fn a_long_list_spans_many_nodes_and_indexes_from_both_ends() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["CONFIG", "SET", "list-max-listpack-size", "3"]);
        for i in 0..50 {
            db.cmd(&["RPUSH", "l", &i.to_string()]);
        }
        assert_eq!(db.cmd(&["LINDEX", "l", "37"]), bulk("37"));
        assert_eq!(db.cmd(&["LINDEX", "l", "-1"]), bulk("49"));
        assert_eq!(db.cmd(&["LSET", "l", "25", "x"]), ok());
        assert_eq!(
            db.cmd(&["LRANGE", "l", "24", "26"]),
            arr(vec![bulk("24"), bulk("x"), bulk("26")])
        );
        assert_eq!(db.cmd(&["LPOS", "l", "x"]), int(25));
        assert_eq!(db.cmd(&["LTRIM", "l", "10", "-11"]), ok());
        assert_eq!(db.cmd(&["LLEN", "l"]), int(30));
        db.cmd(&["CONFIG", "SET", "list-max-listpack-size", "-2"]);
    }
}
