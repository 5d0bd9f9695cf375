//! Tests of the expiry commands, in every lock mode, on the virtual clock.

use crate::frame::Frame;
use crate::testkit::*;

#[test]
fn option_errors_match_redis() {
    let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    let gtlt = "ERR GT and LT options at the same time are not compatible";
    check_all_modes(&[
        (&["SET", "k", "v"], ok()),
        (
            &["EXPIRE", "k"],
            err("ERR wrong number of arguments for 'expire' command"),
        ),
        (
            &["PEXPIREAT", "k"],
            err("ERR wrong number of arguments for 'pexpireat' command"),
        ),
        (&["EXPIRE", "k", "10", "nx", "xx"], err(nx)),
        (&["EXPIRE", "k", "10", "NX", "GT"], err(nx)),
        (&["EXPIRE", "k", "10", "lt", "nx"], err(nx)),
        (&["EXPIRE", "k", "10", "gt", "lt"], err(gtlt)),
        (&["EXPIRE", "k", "10", "xx", "gt", "lt"], err(gtlt)),
        // NX's conflict is reported before GT/LT's.
        (&["EXPIRE", "k", "10", "gt", "lt", "nx"], err(nx)),
        (
            &["EXPIRE", "k", "10", "foo"],
            err("ERR Unsupported option foo"),
        ),
        (&["EXPIRE", "k", "10", ""], err("ERR Unsupported option ")),
        // Options are checked before the number, the number before the key.
        (
            &["EXPIRE", "k", "abc", "foo"],
            err("ERR Unsupported option foo"),
        ),
        (
            &["EXPIRE", "nope", "abc"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["EXPIRE", "nope", "1.5"],
            err("ERR value is not an integer or out of range"),
        ),
        (
            &["EXPIRE", "nope", "9223372036854776"],
            err("ERR invalid expire time in 'expire' command"),
        ),
        (
            &["EXPIRE", "k", "-9223372036854776"],
            err("ERR invalid expire time in 'expire' command"),
        ),
        (
            &["PEXPIRE", "k", "9223372036854775807"],
            err("ERR invalid expire time in 'pexpire' command"),
        ),
        (
            &["EXPIREAT", "k", "9223372036854776"],
            err("ERR invalid expire time in 'expireat' command"),
        ),
        (
            &["PEXPIREAT", "k", "9223372036854775808"],
            err("ERR value is not an integer or out of range"),
        ),
        (&["TTL", "k"], int(-1)),
        (
            &["TTL"],
            err("ERR wrong number of arguments for 'ttl' command"),
        ),
        (
            &["PERSIST", "k", "x"],
            err("ERR wrong number of arguments for 'persist' command"),
        ),
    ]);
}

#[test]
fn unsupported_option_text_is_one_c_string_line() {
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    db.cmd(&["SET", "k", "v"]);
    assert_eq!(
        db.cmd_bytes(&[b"EXPIRE", b"k", b"10", b"a\r\nb\0c"]),
        err("ERR Unsupported option a  b")
    );
}

#[test]
fn conditions_follow_redis_7() {
    check_all_modes(&[
        (&["EXPIRE", "nope", "10"], int(0)),
        (&["SET", "k", "v"], ok()),
        // No deadline counts as infinite: GT fails, LT succeeds.
        (&["EXPIRE", "k", "10", "gt"], int(0)),
        (&["EXPIRE", "k", "10", "xx"], int(0)),
        (&["TTL", "k"], int(-1)),
        (&["EXPIRE", "k", "10", "lt"], int(1)),
        (&["TTL", "k"], int(10)),
        (&["EXPIRE", "k", "20", "nx"], int(0)),
        (&["EXPIRE", "k", "20", "xx", "gt"], int(1)),
        (&["TTL", "k"], int(20)),
        (&["EXPIRE", "k", "20", "gt"], int(0)),
        (&["EXPIRE", "k", "5", "gt"], int(0)),
        (&["EXPIRE", "k", "20", "lt"], int(0)),
        (&["EXPIRE", "k", "5", "LT"], int(1)),
        (&["TTL", "k"], int(5)),
        (&["PERSIST", "k"], int(1)),
        (&["PERSIST", "k"], int(0)),
        (&["PERSIST", "nope"], int(0)),
        (&["EXPIRE", "k", "30", "NX", "nx"], int(1)),
        (&["TTL", "k"], int(30)),
        // A deadline in the past passes GT/LT checks like any other.
        (&["EXPIRE", "k", "-1", "gt"], int(0)),
    ]);
}

#[test]
fn a_deadline_not_in_the_future_deletes_the_key() {
    for mut db in TestDb::all_modes() {
        let now = db.now_ms;
        for args in [
            vec!["EXPIRE".to_string(), "k".into(), "0".into()],
            vec!["EXPIRE".into(), "k".into(), "-9223372036854775".into()],
            vec!["PEXPIRE".into(), "k".into(), "-1".into()],
            vec!["PEXPIRE".into(), "k".into(), "0".into()],
            vec!["PEXPIREAT".into(), "k".into(), now.to_string()],
            vec!["EXPIREAT".into(), "k".into(), "1".into()],
            vec![
                "PEXPIREAT".into(),
                "k".into(),
                "-9223372036854775808".into(),
            ],
            vec!["EXPIRE".into(), "k".into(), "-5".into(), "LT".into()],
        ] {
            assert_eq!(db.cmd(&["SET", "k", "v"]), ok());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(db.cmd(&args), int(1), "{args:?}");
            assert_eq!(db.cmd(&["EXISTS", "k"]), int(0), "{args:?}");
            assert_eq!(db.cmd(&["DBSIZE"]), int(0), "{args:?} deleted, not hidden");
        }
        // One millisecond ahead is in the future.
        assert_eq!(db.cmd(&["SET", "k", "v"]), ok());
        assert_eq!(db.cmd(&["PEXPIREAT", "k", &(now + 1).to_string()]), int(1));
        assert_eq!(db.cmd(&["PTTL", "k"]), int(1));
    }
}

#[test]
fn ttl_family_counts_down_on_the_virtual_clock() {
    for mut db in TestDb::all_modes() {
        let now = db.now_ms;
        assert_eq!(db.cmd(&["TTL", "k"]), int(-2));
        assert_eq!(db.cmd(&["PTTL", "k"]), int(-2));
        assert_eq!(db.cmd(&["EXPIRETIME", "k"]), int(-2));
        assert_eq!(db.cmd(&["PEXPIRETIME", "k"]), int(-2));
        assert_eq!(db.cmd(&["SET", "k", "v"]), ok());
        assert_eq!(db.cmd(&["PTTL", "k"]), int(-1));
        assert_eq!(db.cmd(&["EXPIRETIME", "k"]), int(-1));
        assert_eq!(db.cmd(&["PEXPIRETIME", "k"]), int(-1));
        assert_eq!(db.cmd(&["PEXPIRE", "k", "2500"]), int(1));
        assert_eq!(db.cmd(&["PEXPIRETIME", "k"]), int(now as i64 + 2500));
        assert_eq!(
            db.cmd(&["EXPIRETIME", "k"]),
            int((now as i64 + 2500 + 500) / 1000)
        );
        // TTL rounds to the nearest second: 2500 ms shows 3, 1499 ms 1.
        assert_eq!(db.cmd(&["TTL", "k"]), int(3));
        db.advance_ms(1001);
        assert_eq!(db.cmd(&["PTTL", "k"]), int(1499));
        assert_eq!(db.cmd(&["TTL", "k"]), int(1));
        db.advance_ms(1000);
        assert_eq!(db.cmd(&["TTL", "k"]), int(0));
        db.advance_ms(499);
        // At the deadline itself the key is still alive, with 0 left.
        assert_eq!(db.cmd(&["PTTL", "k"]), int(0));
        assert_eq!(db.cmd(&["EXISTS", "k"]), int(1));
        db.advance_ms(1);
        assert_eq!(db.cmd(&["PTTL", "k"]), int(-2));
        assert_eq!(db.cmd(&["TTL", "k"]), int(-2));
        assert_eq!(
            db.cmd(&["EXPIRE", "k", "10"]),
            int(0),
            "expired keys cannot be revived"
        );
        assert_eq!(db.cmd(&["PERSIST", "k"]), int(0));
    }
}

#[test]
fn absolute_deadlines_and_extremes() {
    for mut db in TestDb::all_modes() {
        let now_s = db.now_ms / 1000;
        assert_eq!(db.cmd(&["SET", "k", "v"]), ok());
        assert_eq!(
            db.cmd(&["EXPIREAT", "k", &(now_s + 100).to_string()]),
            int(1)
        );
        assert_eq!(db.cmd(&["EXPIRETIME", "k"]), int(now_s as i64 + 100));
        assert_eq!(
            db.cmd(&["PEXPIRETIME", "k"]),
            int((now_s as i64 + 100) * 1000)
        );
        assert_eq!(db.cmd(&["EXPIREAT", "k", "9223372036854775"]), int(1));
        assert_eq!(
            db.cmd(&["PEXPIRETIME", "k"]),
            int(9_223_372_036_854_775_000)
        );
        // As Redis 7.0: the largest deadline rounds up without overflowing.
        assert_eq!(db.cmd(&["PEXPIREAT", "k", "9223372036854775807"]), int(1));
        assert_eq!(db.cmd(&["PEXPIRETIME", "k"]), int(i64::MAX));
        assert_eq!(db.cmd(&["EXPIRETIME", "k"]), int(9_223_372_036_854_776));
        let pttl = i64::MAX - db.now_ms as i64;
        assert_eq!(db.cmd(&["PTTL", "k"]), int(pttl));
        assert_eq!(db.cmd(&["TTL", "k"]), int((pttl + 500) / 1000));
        // Relative overflow depends on the clock: LLONG_MAX - now is the
        // largest PEXPIRE accepted.
        let max_rel = (i64::MAX - db.now_ms as i64).to_string();
        assert_eq!(db.cmd(&["PEXPIRE", "k", &max_rel]), int(1));
        let too_far = (i64::MAX - db.now_ms as i64 + 1).to_string();
        assert_eq!(
            db.cmd(&["PEXPIRE", "k", &too_far]),
            err("ERR invalid expire time in 'pexpire' command")
        );
    }
}

#[test]
fn expire_and_persist_update_the_active_expiry_index() {
    for mut db in TestDb::all_modes() {
        for i in 0..50 {
            assert_eq!(db.cmd(&["SET", &format!("k{i}"), "v"]), ok());
            assert_eq!(db.cmd(&["PEXPIRE", &format!("k{i}"), "10"]), int(1));
        }
        for i in 0..10 {
            assert_eq!(db.cmd(&["PERSIST", &format!("k{i}")]), int(1));
        }
        db.advance_ms(11);
        // Nobody reads the keys: the active cycle alone must remove the 40
        // volatile ones and leave the 10 persistent ones.
        for _ in 0..50 {
            db.exec.active_expire_cycle(db.now_ms);
        }
        assert_eq!(db.cmd(&["DBSIZE"]), int(10));
    }
}

#[test]
fn a_reader_that_meets_an_expired_key_deletes_it_as_redis_does() {
    for mut db in TestDb::all_modes() {
        assert_eq!(db.cmd(&["SET", "k", "v", "PX", "1"]), ok());
        assert_eq!(db.cmd(&["SET", "other", "v", "PX", "1"]), ok());
        db.advance_ms(2);
        // Not yet touched: DBSIZE still counts both, as in Redis.
        assert_eq!(db.cmd(&["DBSIZE"]), int(2));
        // TTL runs under a (possibly shared) read lock, which hides the
        // entry; the executor then deletes it under a write lock.
        assert_eq!(db.cmd(&["TTL", "k"]), int(-2));
        assert_eq!(db.cmd(&["DBSIZE"]), int(1));
        assert_eq!(db.cmd(&["EXISTS", "other"]), int(0));
        assert_eq!(db.cmd(&["DBSIZE"]), int(0));
    }
}

#[test]
fn expire_then_set_behaves_as_in_redis() {
    check_all_modes(&[
        (&["SET", "k", "v"], ok()),
        (&["EXPIRE", "k", "100"], int(1)),
        (&["SET", "k", "w"], ok()),
        (&["TTL", "k"], int(-1)),
        (&["SET", "k", "v", "EX", "100"], ok()),
        (&["SET", "k", "w", "KEEPTTL"], ok()),
        (&["TTL", "k"], int(100)),
        (&["GET", "k"], bulk("w")),
        (&["TYPE", "k"], Frame::simple("string")),
    ]);
}
