//! MIGRATE from myongoredis to a real redis-server, and back: the DUMP
//! payloads must be accepted by Redis's own RESTORE (RDB 10 encoding,
//! CRC64 footer), and MIGRATE's options and error texts must be Redis's.
//! Skipped, saying why, without redis-server on PATH.

use myongoredis_core::Frame;
use myongoredis_testsupport::{Raw, RealRedis, ServerProcess};

fn args<'a>(words: &'a [&'a str]) -> Vec<&'a [u8]> {
    words.iter().map(|w| w.as_bytes()).collect()
}

#[test]
fn migrate_to_and_from_redis_server() {
    let Some(redis) = RealRedis::start(&["--requirepass", "s3cret"]) else {
        return;
    };
    let ours = ServerProcess::start("shard", &[]);
    let mut here = Raw::connect(ours.addr);
    let mut there = Raw::connect(redis.addr());
    assert_eq!(there.call(&args(&["AUTH", "s3cret"])), Frame::ok());
    let port = redis.port().to_string();

    for setup in [
        &["SET", "s", "text"][..],
        &["RPUSH", "l", "a", "b", "c"],
        &["HSET", "h", "f", "v"],
        &["SADD", "set", "1", "2", "3"],
        &["ZADD", "z", "1.5", "m"],
        &["SET", "ttl", "x", "EX", "1000"],
    ] {
        assert!(!here.call(&args(setup)).is_error(), "{setup:?}");
    }
    // Without the password the target refuses, and nothing is deleted.
    let refused = here.call(&args(&["MIGRATE", "127.0.0.1", &port, "s", "0", "5000"]));
    assert_eq!(
        refused,
        Frame::error("ERR Target instance replied with error: NOAUTH Authentication required.")
    );
    assert_eq!(here.call(&args(&["EXISTS", "s"])), Frame::Integer(1));
    // One key, with AUTH.
    assert_eq!(
        here.call(&args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "s",
            "0",
            "5000",
            "AUTH",
            "s3cret"
        ])),
        Frame::ok()
    );
    assert_eq!(here.call(&args(&["EXISTS", "s"])), Frame::Integer(0));
    assert_eq!(there.call(&args(&["GET", "s"])), Frame::bulk(b"text"));
    // Several keys with KEYS, COPY keeps them here; AUTH2 with the default user.
    assert_eq!(
        here.call(&args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "",
            "0",
            "5000",
            "COPY",
            "AUTH2",
            "default",
            "s3cret",
            "KEYS",
            "l",
            "h",
            "set",
            "z",
            "ttl",
            "nosuch"
        ])),
        Frame::ok()
    );
    assert_eq!(
        here.call(&args(&["EXISTS", "l", "h", "set", "z", "ttl"])),
        Frame::Integer(5)
    );
    assert_eq!(
        there.call(&args(&["LRANGE", "l", "0", "-1"])),
        Frame::Array(vec![
            Frame::bulk(b"a"),
            Frame::bulk(b"b"),
            Frame::bulk(b"c")
        ])
    );
    assert_eq!(there.call(&args(&["HGET", "h", "f"])), Frame::bulk(b"v"));
    assert_eq!(there.call(&args(&["SCARD", "set"])), Frame::Integer(3));
    assert_eq!(
        there.call(&args(&["ZSCORE", "z", "m"])),
        Frame::bulk(b"1.5")
    );
    let Frame::Integer(ttl) = there.call(&args(&["TTL", "ttl"])) else {
        panic!("TTL")
    };
    assert!((990..=1000).contains(&ttl), "the TTL travels: {ttl}");
    // The keys exist there now: without REPLACE the target says BUSYKEY.
    assert_eq!(
        here.call(&args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "l",
            "0",
            "5000",
            "AUTH",
            "s3cret"
        ])),
        Frame::error(
            "ERR Target instance replied with error: BUSYKEY Target key name already exists."
        )
    );
    assert_eq!(
        here.call(&args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "l",
            "0",
            "5000",
            "REPLACE",
            "AUTH",
            "s3cret"
        ])),
        Frame::ok()
    );
    // Nothing to move, and nobody listening.
    assert_eq!(
        here.call(&args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "nosuch",
            "0",
            "5000"
        ])),
        Frame::simple("NOKEY")
    );
    assert_eq!(
        here.call(&args(&["MIGRATE", "127.0.0.1", "1", "h", "0", "500"])),
        Frame::error("IOERR error or timeout connecting to the client")
    );

    // And back: redis-server's MIGRATE to us, its payloads restored here
    // (REPLACE: the COPY left "set" and "z" here).
    let ours_port = ours.addr.port().to_string();
    assert_eq!(
        there.call(&args(&[
            "MIGRATE",
            "127.0.0.1",
            &ours_port,
            "",
            "0",
            "5000",
            "REPLACE",
            "KEYS",
            "s",
            "set",
            "z"
        ])),
        Frame::ok()
    );
    assert_eq!(here.call(&args(&["GET", "s"])), Frame::bulk(b"text"));
    assert_eq!(here.call(&args(&["SCARD", "set"])), Frame::Integer(3));
    assert_eq!(here.call(&args(&["ZSCORE", "z", "m"])), Frame::bulk(b"1.5"));
}
