//! CONFIG through the executor, without a shell (as the WebAssembly guest
//! runs it). Replies as redis-server 7.0.15 gave them.

use crate::frame::Frame;
use crate::testkit::*;

#[test]
fn get_with_several_patterns() {
    let mut db = TestDb::new(crate::store::Mode::Mutex, 1);
    assert_eq!(
        db.cmd(&["CONFIG", "GET", "port", "MAX*", "maxclients"]),
        arr(vec![
            bulk("port"),
            bulk("6379"),
            bulk("maxclients"),
            bulk("10000"),
            bulk("maxmemory"),
            bulk("0"),
            bulk("maxmemory-eviction-tenacity"),
            bulk("10"),
            bulk("maxmemory-policy"),
            bulk("noeviction"),
            bulk("maxmemory-samples"),
            bulk("5"),
        ])
    );
    assert_eq!(db.cmd(&["CONFIG", "GET", "nosuch*"]), arr(vec![]));
}

#[test]
fn set_errors_and_atomicity() {
    let mut db = TestDb::new(crate::store::Mode::Shard, 4);
    assert_eq!(
        db.cmd(&["CONFIG", "SET", "hz", "20", "tcp-keepalive", "60"]),
        ok()
    );
    assert_eq!(
        db.cmd(&["CONFIG", "GET", "hz", "tcp-keepalive"]),
        arr(vec![
            bulk("hz"),
            bulk("20"),
            bulk("tcp-keepalive"),
            bulk("60")
        ])
    );
    for (args, want) in [
        (
            &["CONFIG", "SET", "hz", "5", "tcp-keepalive", "-1"][..],
            "ERR CONFIG SET failed (possibly related to argument 'tcp-keepalive') - argument must be between 0 and 2147483647 inclusive",
        ),
        (
            &["CONFIG", "SET", "hz", "5", "hz", "6"][..],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter",
        ),
        (
            &["CONFIG", "SET", "daemonize", "yes"][..],
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ),
        (
            &["CONFIG", "SET", "hz", "5", "nosuch", "1"][..],
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
        ),
        (&["CONFIG", "SET", "hz", "5", "tcp-keepalive"][..], "ERR syntax error"),
        (
            &["CONFIG", "SET", "hz"][..],
            "ERR wrong number of arguments for 'config|set' command",
        ),
    ] {
        assert_eq!(db.cmd(args), err(want), "{args:?}");
    }
    assert_eq!(
        db.cmd(&["CONFIG", "GET", "hz"]),
        arr(vec![bulk("hz"), bulk("20")])
    );
}

#[test]
fn rewrite_without_a_shell_has_no_file() {
    let mut db = TestDb::new(crate::store::Mode::Rw, 1);
    assert_eq!(
        db.cmd(&["CONFIG", "REWRITE"]),
        err("ERR The server is running without a config file")
    );
    assert_eq!(
        db.cmd(&["CONFIG", "REWRITE", "x"]),
        err("ERR wrong number of arguments for 'config|rewrite' command")
    );
    assert_eq!(db.cmd(&["CONFIG", "RESETSTAT"]), Frame::ok());
}
