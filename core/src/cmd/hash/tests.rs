//! Hash commands in every lock mode; the replies' bytes are checked against
//! redis-server by the differential corpus (`10-hashes.txt`), so these
//! cover what the corpus cannot: random draws, encodings and signals.

use std::collections::BTreeSet;

use crate::frame::Frame;
use crate::testkit::*;

fn bulks(reply: Frame) -> Vec<String> {
    let Frame::Array(items) = reply else {
        panic!("not an array: {reply:?}");
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
fn hrandfield_draws_distinct_or_repeated_fields_from_the_hash() {
    for mut db in TestDb::all_modes() {
        for i in 0..20 {
            db.cmd(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
        }
        let fields: BTreeSet<String> = (0..20).map(|i| format!("f{i}")).collect();
        let distinct = bulks(db.cmd(&["HRANDFIELD", "h", "7"]));
        assert_eq!(distinct.len(), 7);
        assert_eq!(
            distinct.iter().collect::<BTreeSet<_>>().len(),
            7,
            "distinct"
        );
        assert!(distinct.iter().all(|f| fields.contains(f)));
        let repeated = bulks(db.cmd(&["HRANDFIELD", "h", "-50"]));
        assert_eq!(repeated.len(), 50);
        assert!(repeated.iter().all(|f| fields.contains(f)));
        let all = bulks(db.cmd(&["HRANDFIELD", "h", "100"]));
        assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), fields);
        let pairs = bulks(db.cmd(&["HRANDFIELD", "h", "-5", "WITHVALUES"]));
        for pair in pairs.chunks(2) {
            assert_eq!(
                pair[1],
                pair[0].replacen('f', "v", 1),
                "value matches field"
            );
        }
    }
}

#[test]
fn a_hash_becomes_a_table_past_its_limits_and_hdel_of_the_last_field_deletes_it() {
    check_all_modes(&[
        (&["CONFIG", "SET", "hash-max-listpack-entries", "3"], ok()),
        (&["HSET", "h", "a", "1", "b", "2", "c", "3"], int(3)),
        (&["OBJECT", "ENCODING", "h"], bulk("listpack")),
        (&["HSET", "h", "d", "4"], int(1)),
        (&["OBJECT", "ENCODING", "h"], bulk("hashtable")),
        (&["HDEL", "h", "a", "b", "c"], int(3)),
        (&["OBJECT", "ENCODING", "h"], bulk("hashtable")),
        (&["HDEL", "h", "d", "x"], int(1)),
        (&["EXISTS", "h"], int(0)),
        (&["CONFIG", "SET", "hash-max-listpack-entries", "512"], ok()),
    ]);
}

#[test]
fn hash_writes_are_watched_and_only_real_changes_count() {
    check_all_modes(&[
        (&["HSET", "h", "f", "1"], int(1)),
        (&["WATCH", "h"], ok()),
        (&["HDEL", "h", "nosuch"], int(0)),
        (&["HGET", "h", "f"], bulk("1")),
        (&["MULTI"], ok()),
        (&["HLEN", "h"], Frame::simple("QUEUED")),
        (&["EXEC"], arr(vec![int(1)])),
        (&["WATCH", "h"], ok()),
        (&["HINCRBY", "h", "f", "1"], int(2)),
        (&["MULTI"], ok()),
        (&["EXEC"], Frame::NullArray),
    ]);
}
