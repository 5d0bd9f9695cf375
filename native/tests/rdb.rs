//! RDB snapshots through the real binary: SAVE and a restart bring back
//! everything in every mode; redis-server 7.0 loads our dump.rdb and we
//! load its; BGSAVE and the save points run in the background; SIGTERM
//! saves when save points are configured and SHUTDOWN NOSAVE does not; a
//! corrupt file refuses to start rather than start empty.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use myongoredis_testsupport::{
    cmd, dump, populate, server_binary, RealRedis, ServerProcess, TempDir, MODES,
};

fn client(addr: std::net::SocketAddr) -> redis::Connection {
    let con = redis::Client::open(format!("redis://{addr}"))
        .expect("url")
        .get_connection()
        .expect("connects");
    con.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    con
}

fn start(mode: &str, dir: &Path, extra: &[&str]) -> ServerProcess {
    let d = dir.display().to_string();
    let mut args = vec!["--dir", d.as_str()];
    args.extend(extra);
    ServerProcess::start(mode, &args)
}

fn shutdown(server: &mut ServerProcess, how: &str) {
    let mut con = client(server.addr);
    let _ = cmd(&mut con, &["SHUTDOWN", how]);
    assert!(
        server.wait_exit(Duration::from_secs(60)).is_some(),
        "the server exits after SHUTDOWN {how}"
    );
}

fn info(con: &mut redis::Connection) -> String {
    redis::cmd("INFO")
        .arg("persistence")
        .query(con)
        .expect("INFO")
}

/// Wait until INFO persistence contains every one of `fields`.
fn wait_for(con: &mut redis::Connection, fields: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = info(con);
        if fields.iter().all(|f| text.contains(f)) {
            return text;
        }
        assert!(Instant::now() < deadline, "never {fields:?}: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn save_then_a_restart_brings_back_everything_in_every_mode() {
    for mode in MODES {
        let dir = TempDir::new(&format!("rdb-save-{mode}"));
        let mut server = start(mode, dir.path(), &[]);
        let mut con = client(server.addr);
        populate(&mut con);
        let before = dump(&mut con, 16);
        let lastsave: i64 = redis::cmd("LASTSAVE").query(&mut con).expect("LASTSAVE");
        assert_eq!(cmd(&mut con, &["SAVE"]).expect("SAVE"), redis::Value::Okay);
        let after: i64 = redis::cmd("LASTSAVE").query(&mut con).expect("LASTSAVE");
        assert!(after >= lastsave);
        let text = info(&mut con);
        assert!(text.contains("rdb_saves:1"), "{text}");
        assert!(text.contains("rdb_changes_since_last_save:0"), "{text}");
        assert!(dir.path().join("dump.rdb").exists());
        shutdown(&mut server, "NOSAVE");
        let mut again = start(mode, dir.path(), &[]);
        let mut con = client(again.addr);
        assert_eq!(dump(&mut con, 16), before, "{mode}");
        assert!(info(&mut con).contains("rdb_last_load_keys_loaded:"));
        shutdown(&mut again, "NOSAVE");
    }
}

#[test]
fn redis_server_loads_our_dump_and_we_load_its() {
    let ours = TempDir::new("rdb-ours");
    let mut server = start("shard", ours.path(), &[]);
    let mut con = client(server.addr);
    populate(&mut con);
    let expected = dump(&mut con, 16);
    cmd(&mut con, &["SAVE"]).expect("SAVE");
    shutdown(&mut server, "NOSAVE");
    let dir = ours.path().display().to_string();
    let Some(redis) = RealRedis::start(&["--dir", &dir, "--dbfilename", "dump.rdb"]) else {
        return;
    };
    assert_eq!(
        dump(&mut client(redis.addr()), 16),
        expected,
        "redis-server loads our dump.rdb"
    );
    drop(redis);

    let theirs = TempDir::new("rdb-theirs");
    let dir = theirs.path().display().to_string();
    let Some(mut redis) = RealRedis::start(&["--dir", &dir]) else {
        return;
    };
    let mut con = client(redis.addr());
    populate(&mut con);
    let expected = dump(&mut con, 16);
    cmd(&mut con, &["SAVE"]).expect("SAVE");
    redis.stop();
    let mut server = start("rw", theirs.path(), &[]);
    assert_eq!(
        dump(&mut client(server.addr), 16),
        expected,
        "we load redis-server's dump.rdb"
    );
    shutdown(&mut server, "NOSAVE");
}

#[test]
fn bgsave_and_save_points_run_in_the_background() {
    let dir = TempDir::new("rdb-bgsave");
    let server = start("shard", dir.path(), &["--save", "1 1"]);
    let mut con = client(server.addr);
    cmd(&mut con, &["SET", "a", "1"]).expect("SET");
    // The save point "1 1": one change, one second.
    let text = wait_for(
        &mut con,
        &[
            "rdb_saves:1",
            "rdb_bgsave_in_progress:0",
            "rdb_changes_since_last_save:0",
        ],
    );
    assert!(text.contains("rdb_last_bgsave_status:ok"), "{text}");
    let reply = cmd(&mut con, &["BGSAVE"]).expect("BGSAVE");
    assert!(
        matches!(&reply, redis::Value::SimpleString(s) if s.starts_with("Background saving")),
        "{reply:?}"
    );
    wait_for(&mut con, &["rdb_bgsave_in_progress:0"]);
    assert!(dir.path().join("dump.rdb").exists());
}

#[test]
fn sigterm_saves_with_save_points_and_shutdown_nosave_does_not() {
    let dir = TempDir::new("rdb-sigterm");
    let mut server = start("mutex", dir.path(), &["--save", "3600 1"]);
    cmd(&mut client(server.addr), &["SET", "kept", "1"]).expect("SET");
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(server.wait_exit(Duration::from_secs(60)).is_some());
    let mut again = start("mutex", dir.path(), &["--save", "3600 1"]);
    let mut con = client(again.addr);
    let kept: Option<String> = redis::cmd("GET").arg("kept").query(&mut con).expect("GET");
    assert_eq!(kept.as_deref(), Some("1"), "SIGTERM saved");
    cmd(&mut con, &["SET", "dropped", "1"]).expect("SET");
    shutdown(&mut again, "NOSAVE");
    let last = start("mutex", dir.path(), &[]);
    let dropped: Option<String> = redis::cmd("GET")
        .arg("dropped")
        .query(&mut client(last.addr))
        .expect("GET");
    assert_eq!(dropped, None, "NOSAVE did not save");
}

/// Start the server expecting it to refuse: its exit status and stderr.
fn refused_start(dir: &Path) -> (i32, String) {
    let output = Command::new(server_binary())
        .args(["--port", "0", "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_corrupt_dump_refuses_to_start() {
    let dir = TempDir::new("rdb-corrupt");
    let mut server = start("shard", dir.path(), &[]);
    let mut con = client(server.addr);
    populate(&mut con);
    cmd(&mut con, &["SAVE"]).expect("SAVE");
    shutdown(&mut server, "NOSAVE");
    let path = dir.path().join("dump.rdb");
    let whole = std::fs::read(&path).expect("dump");
    // Cut short, then one byte flipped in the middle (the checksum).
    for bad in [whole[..whole.len() / 2].to_vec(), {
        let mut b = whole.clone();
        let mid = b.len() / 2;
        b[mid] ^= 0x5a;
        b
    }] {
        std::fs::write(&path, &bad).expect("write");
        let (code, err) = refused_start(dir.path());
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("Fatal error loading the DB"), "{err}");
    }
}
