//! Tests of GET, SET and their single-key relatives (GETSET, GETDEL, GETEX,
//! SETNX, SETEX, PSETEX), in every lock mode. The expected replies were
//! checked against redis-server 7.0.15.

use crate::frame::Frame;
use crate::testkit::*;

#[test]
fn get_and_set() {
    check_all_modes(&[
        (&["GET", "k"], Frame::Null),
        (&["SET", "k", "v"], ok()),
        (&["GET", "k"], bulk("v")),
        (
            &["get", "k", "extra"],
            err("ERR wrong number of arguments for 'get' command"),
        ),
        (
            &["SET", "k"],
            err("ERR wrong number of arguments for 'set' command"),
        ),
    ]);
}

#[test]
fn set_options_follow_redis() {
    check_all_modes(&[
        (&["SET", "k", "1", "NX"], ok()),
        (&["SET", "k", "2", "NX"], Frame::Null),
        (&["SET", "k", "3", "XX", "GET"], bulk("1")),
        (&["SET", "missing", "3", "XX", "GET"], Frame::Null),
        (&["SET", "k", "4", "NX", "XX"], err("ERR syntax error")),
        (
            &["SET", "k", "4", "EX", "10", "PX", "100"],
            err("ERR syntax error"),
        ),
        (
            &["SET", "k", "4", "EX", "10", "KEEPTTL"],
            err("ERR syntax error"),
        ),
        (&["SET", "k", "4", "EX"], err("ERR syntax error")),
        (
            &["SET", "k", "4", "EX", "0"],
            err("ERR invalid expire time in 'set' command"),
        ),
        (
            &["SET", "k", "4", "EX", "-5"],
            err("ERR invalid expire time in 'set' command"),
        ),
        (
            &["SET", "k", "4", "EX", "x"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["SET", "k", "4", "EX", "9223372036854776"],
            err("ERR invalid expire time in 'set' command"),
        ),
        (
            &["SET", "k", "4", "PX", "9223372036854775807"],
            err("ERR invalid expire time in 'set' command"),
        ),
        (&["SET", "k", "4", "EX", "10", "EX", "20"], ok()),
        (&["SET", "k", "5", "KEEPTTL"], ok()),
        (&["GET", "k"], bulk("5")),
    ]);
}

#[test]
fn set_expiry_is_lazy_and_exact_to_the_millisecond() {
    for mut db in TestDb::all_modes() {
        assert_eq!(db.cmd(&["SET", "k", "v", "PX", "100"]), ok());
        db.advance_ms(100);
        assert_eq!(db.cmd(&["GET", "k"]), bulk("v"), "alive at the deadline");
        db.advance_ms(1);
        assert_eq!(db.cmd(&["GET", "k"]), Frame::Null);
        let past = (db.now_ms - 1).to_string();
        assert_eq!(db.cmd(&["SET", "k", "v", "PXAT", &past]), ok());
        assert_eq!(db.cmd(&["GET", "k"]), Frame::Null);
    }
}

#[test]
fn getset_replies_with_the_old_value_and_drops_the_ttl() {
    check_all_modes(&[
        (&["GETSET", "k", "a"], Frame::Null),
        (&["GETSET", "k", "b"], bulk("a")),
        (&["GET", "k"], bulk("b")),
        (
            &["GETSET", "k"],
            err("ERR wrong number of arguments for 'getset' command"),
        ),
    ]);
    for mut db in TestDb::all_modes() {
        db.cmd(&["SET", "k", "v", "EX", "100"]);
        assert_eq!(db.cmd(&["GETSET", "k", "w"]), bulk("v"));
        assert_eq!(db.cmd(&["TTL", "k"]), int(-1));
        db.cmd(&["SET", "old", "v", "PX", "10"]);
        db.advance_ms(11);
        assert_eq!(
            db.cmd(&["GETSET", "old", "new"]),
            Frame::Null,
            "expired is missing"
        );
        assert_eq!(db.cmd_bytes(&[b"GETSET", b"bin", b"\x00\r\n"]), Frame::Null);
        assert_eq!(
            db.cmd_bytes(&[b"GETSET", b"bin", b"x"]),
            Frame::bulk(b"\x00\r\n")
        );
    }
}

#[test]
fn getdel_deletes() {
    check_all_modes(&[
        (&["GETDEL", "k"], Frame::Null),
        (&["SET", "k", "v"], ok()),
        (&["GETDEL", "k"], bulk("v")),
        (&["GETDEL", "k"], Frame::Null),
        (&["EXISTS", "k"], int(0)),
        (
            &["GETDEL", "k", "x"],
            err("ERR wrong number of arguments for 'getdel' command"),
        ),
    ]);
}

#[test]
fn getex_sets_and_clears_the_ttl() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["SET", "k", "v"]);
        assert_eq!(db.cmd(&["GETEX", "k"]), bulk("v"));
        assert_eq!(db.cmd(&["TTL", "k"]), int(-1));
        assert_eq!(db.cmd(&["GETEX", "k", "EX", "10"]), bulk("v"));
        assert_eq!(db.cmd(&["PTTL", "k"]), int(10_000));
        assert_eq!(
            db.cmd(&["GETEX", "k", "ex", "10", "EX", "20"]),
            bulk("v"),
            "last wins"
        );
        assert_eq!(db.cmd(&["TTL", "k"]), int(20));
        assert_eq!(
            db.cmd(&["GETEX", "k"]),
            bulk("v"),
            "no option keeps the TTL"
        );
        assert_eq!(db.cmd(&["TTL", "k"]), int(20));
        assert_eq!(db.cmd(&["GETEX", "k", "PERSIST", "persist"]), bulk("v"));
        assert_eq!(db.cmd(&["TTL", "k"]), int(-1));
        assert_eq!(db.cmd(&["GETEX", "k", "PX", "50"]), bulk("v"));
        assert_eq!(db.cmd(&["PTTL", "k"]), int(50));
        let at = (db.now_ms + 5_000).to_string();
        assert_eq!(db.cmd(&["GETEX", "k", "PXAT", &at]), bulk("v"));
        assert_eq!(db.cmd(&["PTTL", "k"]), int(5_000));
        let at = (db.now_ms / 1000 + 100).to_string();
        assert_eq!(db.cmd(&["GETEX", "k", "EXAT", &at]), bulk("v"));
        assert_eq!(
            db.cmd(&["PEXPIRETIME", "k"]),
            int((db.now_ms / 1000 + 100) as i64 * 1000)
        );
        db.advance_ms(100_000);
        assert_eq!(db.cmd(&["GETEX", "k"]), bulk("v"), "alive at its deadline");
        db.advance_ms(1);
        assert_eq!(db.cmd(&["GETEX", "k"]), Frame::Null, "expired");
    }
}

#[test]
fn getex_with_a_deadline_already_reached_deletes_the_key() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["SET", "k", "v"]);
        assert_eq!(db.cmd(&["GETEX", "k", "EXAT", "1"]), bulk("v"));
        assert_eq!(db.cmd(&["EXISTS", "k"]), int(0));
        db.cmd(&["SET", "k", "v"]);
        let now = db.now_ms.to_string();
        assert_eq!(
            db.cmd(&["GETEX", "k", "PXAT", &now]),
            bulk("v"),
            "a deadline of now"
        );
        assert_eq!(db.cmd(&["EXISTS", "k"]), int(0));
    }
}

#[test]
fn getex_errors() {
    let invalid = "ERR invalid expire time in 'getex' command";
    check_all_modes(&[
        (&["GETEX", "missing", "FOO"], err("ERR syntax error")),
        // The time is only validated for an existing key.
        (&["GETEX", "missing", "EX", "abc"], Frame::Null),
        (&["GETEX", "missing", "EX", "0"], Frame::Null),
        (&["SET", "k", "v", "EX", "100"], ok()),
        (&["GETEX", "k", "EX", "0"], err(invalid)),
        (&["GETEX", "k", "PX", "-1"], err(invalid)),
        (&["GETEX", "k", "EX", "9223372036854776"], err(invalid)),
        (&["GETEX", "k", "PX", "9223372036854775807"], err(invalid)),
        (
            &["GETEX", "k", "EX", "abc"],
            err("ERR value is not an integer or out of range"),
        ),
        (&["GETEX", "k", "EX"], err("ERR syntax error")),
        (
            &["GETEX", "k", "PERSIST", "EX", "10"],
            err("ERR syntax error"),
        ),
        (
            &["GETEX", "k", "EX", "10", "PERSIST"],
            err("ERR syntax error"),
        ),
        (
            &["GETEX", "k", "EX", "10", "PX", "10"],
            err("ERR syntax error"),
        ),
        (&["GETEX", "k", "KEEPTTL"], err("ERR syntax error")),
        (&["GETEX", "k", "NX"], err("ERR syntax error")),
        (&["GETEX", "k", "GET"], err("ERR syntax error")),
        (&["TTL", "k"], int(100)),
        (
            &["GETEX"],
            err("ERR wrong number of arguments for 'getex' command"),
        ),
    ]);
}

#[test]
fn setnx_sets_only_a_missing_key() {
    check_all_modes(&[
        (&["SETNX", "k", "a"], int(1)),
        (&["SETNX", "k", "b"], int(0)),
        (&["GET", "k"], bulk("a")),
        (
            &["SETNX", "k"],
            err("ERR wrong number of arguments for 'setnx' command"),
        ),
    ]);
    for mut db in TestDb::all_modes() {
        db.cmd(&["SET", "k", "v", "PX", "5"]);
        db.advance_ms(6);
        assert_eq!(
            db.cmd(&["SETNX", "k", "w"]),
            int(1),
            "an expired key is missing"
        );
        assert_eq!(db.cmd(&["PTTL", "k"]), int(-1));
    }
}

#[test]
fn setex_and_psetex() {
    for mut db in TestDb::all_modes() {
        db.cmd(&["SET", "k", "old"]);
        assert_eq!(db.cmd(&["SETEX", "k", "10", "v"]), ok());
        assert_eq!(db.cmd(&["GET", "k"]), bulk("v"));
        assert_eq!(db.cmd(&["PTTL", "k"]), int(10_000));
        assert_eq!(db.cmd(&["PSETEX", "k", "1500", "w"]), ok());
        assert_eq!(db.cmd(&["PTTL", "k"]), int(1_500));
        db.advance_ms(1_501);
        assert_eq!(db.cmd(&["GET", "k"]), Frame::Null);
    }
    check_all_modes(&[
        (
            &["SETEX", "k", "0", "v"],
            err("ERR invalid expire time in 'setex' command"),
        ),
        (
            &["SETEX", "k", "-1", "v"],
            err("ERR invalid expire time in 'setex' command"),
        ),
        (
            &["SETEX", "k", "9223372036854776", "v"],
            err("ERR invalid expire time in 'setex' command"),
        ),
        (
            &["SETEX", "k", "abc", "v"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["PSETEX", "k", "0", "v"],
            err("ERR invalid expire time in 'psetex' command"),
        ),
        (
            &["PSETEX", "k", "9223372036854775807", "v"],
            err("ERR invalid expire time in 'psetex' command"),
        ),
        (
            &["PSETEX", "k", "1.5", "v"],
            err("ERR value is not an integer or out of range"),
        ),
        (&["EXISTS", "k"], int(0)),
        (
            &["SETEX", "k", "10"],
            err("ERR wrong number of arguments for 'setex' command"),
        ),
        (
            &["PSETEX", "k", "10", "v", "x"],
            err("ERR wrong number of arguments for 'psetex' command"),
        ),
    ]);
}
