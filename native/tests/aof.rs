//! `--appendonly yes` through the real binary: what was acknowledged is
//! there after a restart (a clean one, and SIGKILL), in every lock mode
//! and across modes; redis-server 7.0 loads our AOF directory and we load
//! its; a last command cut short, an unfinished MULTI and a corrupt
//! middle are handled as Redis handles them; a disk that refuses writes
//! gets MISCONF for writes while reads go on.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use myongoredis_testsupport::{
    dump, populate, server_binary, RealRedis, ServerProcess, TempDir, MODES,
};

fn client(addr: std::net::SocketAddr) -> redis::Connection {
    let con = redis::Client::open(format!("redis://{addr}"))
        .expect("url")
        .get_connection()
        .expect("connects");
    con.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    con
}

fn aof_args(dir: &Path) -> Vec<String> {
    vec![
        "--appendonly".into(),
        "yes".into(),
        "--dir".into(),
        dir.display().to_string(),
    ]
}

fn start(mode: &str, dir: &Path, extra: &[&str]) -> ServerProcess {
    let mut args = aof_args(dir);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start(mode, &args)
}

/// SHUTDOWN, and wait for the process to go.
fn shutdown(server: &mut ServerProcess) {
    let mut con = client(server.addr);
    let _ = myongoredis_testsupport::cmd(&mut con, &["SHUTDOWN"]);
    assert!(
        server.wait_exit(Duration::from_secs(60)).is_some(),
        "the server exits after SHUTDOWN"
    );
}

fn incr_file(dir: &Path) -> std::path::PathBuf {
    dir.join("appendonlydir/appendonly.aof.1.incr.aof")
}

#[test]
fn a_restart_brings_back_everything_in_every_mode_and_across_modes() {
    for (i, mode) in MODES.iter().enumerate() {
        let dir = TempDir::new(&format!("aof-restart-{mode}"));
        let mut server = start(mode, dir.path(), &[]);
        populate(&mut client(server.addr));
        let before = dump(&mut client(server.addr), 16);
        assert!(before.len() > 15, "{before:?}");
        assert!(!before.iter().any(|l| l.contains(" gone ")));
        shutdown(&mut server);
        let manifest =
            std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest"))
                .expect("a manifest");
        assert_eq!(
            manifest,
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
            "the base is an RDB file (aof-use-rdb-preamble yes, the default)"
        );
        // The same files, read by the same mode and by the next one.
        for reader in [mode, &MODES[(i + 1) % MODES.len()]] {
            let mut again = start(reader, dir.path(), &[]);
            assert_eq!(
                dump(&mut client(again.addr), 16),
                before,
                "{mode} written, {reader} read"
            );
            shutdown(&mut again);
        }
    }
}

#[test]
fn redis_server_loads_our_aof_and_we_load_its() {
    // Ours, read by redis-server.
    let ours = TempDir::new("aof-ours");
    let mut server = start("shard", ours.path(), &[]);
    populate(&mut client(server.addr));
    let expected = dump(&mut client(server.addr), 16);
    shutdown(&mut server);
    let dir = ours.path().display().to_string();
    let Some(redis) = RealRedis::start(&[
        "--appendonly",
        "yes",
        "--aof-use-rdb-preamble",
        "no",
        "--dir",
        &dir,
    ]) else {
        return;
    };
    assert_eq!(
        dump(&mut client(redis.addr()), 16),
        expected,
        "redis-server reads our AOF"
    );
    drop(redis);

    // Redis's, read by us: a base of commands, and an RDB base written by
    // a rewrite (its default), with an incr file after it.
    for preamble in ["no", "yes"] {
        let theirs = TempDir::new(&format!("aof-theirs-{preamble}"));
        let dir = theirs.path().display().to_string();
        let Some(mut redis) = RealRedis::start(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            preamble,
            "--dir",
            &dir,
        ]) else {
            return;
        };
        let mut con = client(redis.addr());
        populate(&mut con);
        if preamble == "yes" {
            myongoredis_testsupport::cmd(&mut con, &["BGREWRITEAOF"]).expect("BGREWRITEAOF");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let info: String = redis::cmd("INFO")
                    .arg("persistence")
                    .query(&mut con)
                    .expect("INFO");
                if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "redis-server's rewrite never ended"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            myongoredis_testsupport::cmd(&mut con, &["SET", "after-rewrite", "1"]).expect("SET");
        }
        let expected = dump(&mut con, 16);
        redis.stop();
        let mut server = start("rw", theirs.path(), &[]);
        assert_eq!(
            dump(&mut client(server.addr), 16),
            expected,
            "we read redis-server's AOF (preamble {preamble})"
        );
        shutdown(&mut server);
    }
}
#[test]
fn bgrewriteaof_compacts_the_files_and_a_restart_reads_them_in_every_mode() {
    for (mode, preamble) in MODES.iter().flat_map(|m| [(*m, "yes"), (*m, "no")]) {
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        let dir = TempDir::new(&format!("aof-rewrite-{mode}-{ext}"));
        let mut server = start(mode, dir.path(), &["--aof-use-rdb-preamble", preamble]);
        let mut con = client(server.addr);
        populate(&mut con);
        let reply =
            myongoredis_testsupport::cmd(&mut con, &["BGREWRITEAOF"]).expect("BGREWRITEAOF");
        assert_eq!(
            reply,
            redis::Value::SimpleString("Background append only file rewriting started".into())
        );
        // Wait for it, then write more: into the new incr file.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let info: String = redis::cmd("INFO")
                .arg("persistence")
                .query(&mut con)
                .expect("INFO");
            if info.contains("aof_rewrites:1") && info.contains("aof_rewrite_in_progress:0") {
                assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the rewrite never finished: {info}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        myongoredis_testsupport::cmd(&mut con, &["RPUSH", "l", "after"]).expect("RPUSH");
        myongoredis_testsupport::cmd(&mut con, &["HDEL", "hbig", "field1"]).expect("HDEL");
        let before = dump(&mut con, 16);
        shutdown(&mut server);
        let manifest =
            std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest"))
                .expect("a manifest");
        assert_eq!(
            manifest,
            format!(
                "file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
            )
        );
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("appendonlydir"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("appendonly.aof.2.base.{ext}"),
                "appendonly.aof.2.incr.aof".to_string(),
                "appendonly.aof.manifest".to_string()
            ],
            "the old files are gone"
        );
        let mut again = start(mode, dir.path(), &[]);
        assert_eq!(dump(&mut client(again.addr), 16), before, "{mode} {ext}");
        shutdown(&mut again);
    }
}

/// The snapshot of a rewrite is one instant although writers run during
/// it (see core's `snapshot.rs`): with INCRs on every shard racing back to
/// back rewrites, a restart finds every counter exactly at its last reply
/// — a write in both the base and the new incr file would count twice, a
/// write in neither would be lost.
#[test]
fn rewrites_racing_writers_neither_lose_nor_repeat_a_write() {
    for mode in MODES {
        let dir = TempDir::new(&format!("aof-race-{mode}"));
        let mut server = start(mode, dir.path(), &[]);
        let addr = server.addr;
        {
            let mut con = client(addr);
            let mut pipe = redis::pipe();
            for i in 0..20_000 {
                pipe.cmd("SET").arg(format!("filler:{i}")).arg(i).ignore();
            }
            let () = pipe.query(&mut con).expect("filler");
        }
        let done = std::sync::atomic::AtomicBool::new(false);
        let last: Vec<i64> = std::thread::scope(|s| {
            let rewriter = s.spawn(|| {
                let mut con = client(addr);
                let mut started = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    if myongoredis_testsupport::cmd(&mut con, &["BGREWRITEAOF"]).is_ok() {
                        started += 1;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                started
            });
            let writers: Vec<_> = (0..8)
                .map(|w| {
                    s.spawn(move || {
                        let mut con = client(addr);
                        let mut n = 0;
                        for _ in 0..3000 {
                            n = redis::cmd("INCR")
                                .arg(format!("counter:{w}"))
                                .query(&mut con)
                                .expect("INCR");
                        }
                        n
                    })
                })
                .collect();
            let last = writers
                .into_iter()
                .map(|w| w.join().expect("writer"))
                .collect();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(
                rewriter.join().expect("rewriter") > 0,
                "{mode}: no rewrite ran"
            );
            last
        });
        shutdown(&mut server);
        let again = start(mode, dir.path(), &[]);
        let mut con = client(again.addr);
        for (w, n) in last.iter().enumerate() {
            let got: i64 = redis::cmd("GET")
                .arg(format!("counter:{w}"))
                .query(&mut con)
                .expect("GET");
            assert_eq!(got, *n, "{mode}: counter {w}");
        }
    }
}

/// Start the server expecting it to refuse: its exit status and stderr.
fn refused_start(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut child = Command::new(server_binary())
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(aof_args(dir))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err)
                .expect("stderr");
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server with `a=1` in its AOF, shut down.
fn one_key(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    let mut server = start("shard", dir.path(), &[]);
    myongoredis_testsupport::cmd(&mut client(server.addr), &["SET", "a", "1"]).expect("SET");
    shutdown(&mut server);
    dir
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open")
        .write_all(bytes)
        .expect("append");
}

fn get(addr: std::net::SocketAddr, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut client(addr))
        .expect("GET")
}

#[test]
fn a_last_command_cut_short_is_dropped_or_refused_as_configured() {
    let dir = one_key("aof-cut");
    let incr = incr_file(dir.path());
    let whole = std::fs::metadata(&incr).expect("incr").len();
    append(&incr, b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r");

    let (code, err) = refused_start(dir.path(), &["--aof-load-truncated", "no"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"
        ),
        "{err}"
    );

    let mut server = start("mutex", dir.path(), &[]);
    assert_eq!(get(server.addr, "a").as_deref(), Some("1"));
    assert_eq!(get(server.addr, "z"), None);
    shutdown(&mut server);
    // Cut back to the last whole command (the SET a, the SELECT before it,
    // nothing written since).
    assert_eq!(std::fs::metadata(&incr).expect("incr").len(), whole);
}

#[test]
fn an_unfinished_multi_is_reverted() {
    let dir = one_key("aof-multi");
    let incr = incr_file(dir.path());
    let whole = std::fs::metadata(&incr).expect("incr").len();
    append(
        &incr,
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$1\r\n1\r\n",
    );
    let mut server = start("rw", dir.path(), &[]);
    assert_eq!(get(server.addr, "a").as_deref(), Some("1"));
    assert_eq!(get(server.addr, "q"), None, "the transaction is dropped");
    shutdown(&mut server);
    assert_eq!(std::fs::metadata(&incr).expect("incr").len(), whole);
}

#[test]
fn a_corrupt_middle_or_an_unknown_command_refuses_to_start() {
    let dir = one_key("aof-corrupt");
    let incr = incr_file(dir.path());
    append(&incr, b"garbage\r\n*1\r\n$4\r\nPING\r\n");
    let (code, err) = refused_start(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Bad file format reading the append only file appendonly.aof.1.incr.aof"),
        "{err}"
    );

    let dir = one_key("aof-unknown");
    append(&incr_file(dir.path()), b"*1\r\n$7\r\nNOSUCHX\r\n");
    let (code, err) = refused_start(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Unknown command 'NOSUCHX' reading the append only file"),
        "{err}"
    );

    let dir = TempDir::new("aof-bad-manifest");
    std::fs::create_dir_all(dir.path().join("appendonlydir")).expect("dir");
    dir.write(
        "appendonlydir/appendonly.aof.manifest",
        "file a seq 2 type i\nfile b seq 1 type i\n",
    );
    let (code, err) = refused_start(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Found a non-monotonic sequence number"),
        "{err}"
    );
}

/// The incr file "fills the disk" at 2 kB (the hidden
/// `--debug-aof-disk-full-at`): from then on every write to it fails with
/// ENOSPC, as on a full disk.
#[test]
fn writes_get_misconf_while_the_aof_cannot_be_written_and_reads_go_on() {
    let dir = TempDir::new("aof-full");
    let server = start(
        "shard",
        dir.path(),
        &[
            "--appendfsync",
            "everysec",
            "--debug-aof-disk-full-at",
            "2048",
        ],
    );
    let mut con = client(server.addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        match myongoredis_testsupport::cmd(&mut con, &["SET", "k", &"v".repeat(100)]) {
            Err(e) => break e.to_string(),
            Ok(_) => {
                assert!(Instant::now() < deadline, "writes never refused");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert!(
        error.contains("MISCONF")
            && error.contains("Errors writing to the AOF file: No space left on device"),
        "{error}"
    );
    // Reads go on.
    assert_eq!(get(server.addr, "k"), Some("v".repeat(100)));
    let pong = myongoredis_testsupport::cmd(&mut con, &["PING"]).unwrap_err();
    assert!(
        pong.to_string().contains("MISCONF"),
        "PING too, as in Redis: {pong}"
    );
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .expect("INFO");
    assert!(info.contains("aof_last_write_status:err"), "{info}");
}

/// 20 clients INCR their own counters, recording every acknowledged
/// value; the server is killed with SIGKILL while they run. After a
/// restart no counter is below its last acknowledged value under
/// `always`; under `everysec` none is below what was acknowledged a
/// second before the kill.
///
/// The third run kills during rewrites: 100k keys make each BGREWRITEAOF
/// take a while, and one client asks for them back to back.
#[test]
fn sigkill_loses_no_acknowledged_write() {
    for (policy, slack, rewrites) in [
        ("always", Duration::ZERO, false),
        ("everysec", Duration::from_secs(1), false),
        ("always", Duration::ZERO, true),
    ] {
        let dir = TempDir::new(&format!("aof-kill-{policy}-{rewrites}"));
        let mut server = start("shard", dir.path(), &["--appendfsync", policy]);
        let addr = server.addr;
        if rewrites {
            let mut con = client(addr);
            for chunk in 0..100 {
                let mut pipe = redis::pipe();
                for i in 0..1000 {
                    pipe.cmd("SET")
                        .arg(format!("filler:{chunk}:{i}"))
                        .arg(i)
                        .ignore();
                }
                let () = pipe.query(&mut con).expect("filler");
            }
        }
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (acked, killed_at): (Vec<Vec<(Instant, i64)>>, Instant) = std::thread::scope(|s| {
            let workers: Vec<_> = (0..20)
                .map(|i| {
                    let stop = &stop;
                    s.spawn(move || {
                        let mut con = client(addr);
                        let key = format!("counter:{i}");
                        let mut acks = Vec::new();
                        // Bounded: at most 100k increments each.
                        for _ in 0..100_000 {
                            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                                break;
                            }
                            match redis::cmd("INCR").arg(&key).query::<i64>(&mut con) {
                                Ok(n) => acks.push((Instant::now(), n)),
                                Err(_) => break,
                            }
                        }
                        acks
                    })
                })
                .collect();
            if rewrites {
                let stop = &stop;
                s.spawn(move || {
                    let mut con = client(addr);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // "already in progress" is expected; a dead server
                        // ends the loop.
                        if let Err(e) = myongoredis_testsupport::cmd(&mut con, &["BGREWRITEAOF"]) {
                            if !e.to_string().contains("already in progress") {
                                break;
                            }
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                });
            }
            // Kill at a moment that varies from run to run, once writes
            // are flowing.
            let wait = 300 + (std::process::id() % 700) as u64;
            std::thread::sleep(Duration::from_millis(wait));
            let killed_at = Instant::now();
            server.kill();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let acked = workers
                .into_iter()
                .map(|w| w.join().expect("worker"))
                .collect();
            (acked, killed_at)
        });
        let restarted = start("shard", dir.path(), &[]);
        let mut con = client(restarted.addr);
        let mut total = 0;
        for (i, acks) in acked.iter().enumerate() {
            let Some(&(_, last)) = acks.last() else {
                continue;
            };
            total += acks.len();
            // Under `always` every reply that arrived at all was sent
            // after its fsync.
            let must: i64 = match slack {
                Duration::ZERO => last,
                _ => acks
                    .iter()
                    .rev()
                    .find(|(at, _)| *at + slack <= killed_at)
                    .map_or(0, |(_, n)| *n),
            };
            let now: Option<i64> = redis::cmd("GET")
                .arg(format!("counter:{i}"))
                .query(&mut con)
                .expect("GET");
            let now = now.unwrap_or(0);
            assert!(
                now >= must && now <= last + 1,
                "{policy}: counter {i} is {now} after the restart; {last} was acknowledged last, {must} at least must survive"
            );
        }
        assert!(
            total > 0,
            "{policy}: no write was acknowledged before the kill"
        );
        if rewrites {
            let size: i64 = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
            assert!(
                size >= 100_000,
                "the filler keys survive the rewrites: {size}"
            );
        }
    }
}
