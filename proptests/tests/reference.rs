//! The model is Redis: the reference model's replies checked against a real
//! `redis-server` 7.0, on the same random sessions as `model.rs`.
//!
//! The model is the oracle of the model-based tests, so it deserves a check
//! of its own: if it and this server shared a misreading of Redis, the
//! model test would pass. Real Redis reads the wall clock, so it runs with
//! a small LD_PRELOAD shim (`tests/reference/frozen_clock.c`, built here
//! with `cc`) that freezes the clock at the model's virtual time, which is
//! written to a file before every command (sub-millisecond jumps included).
//! Active expiry is switched off (`DEBUG SET-ACTIVE-EXPIRE 0`) so only the
//! model's commands delete keys.
//!
//! Needs `redis-server` 7.0 and a C compiler (`apt-get install
//! redis-server gcc`); ignored by default for that reason. Run with
//! `cargo test -p myongoredis-proptests --release --test reference --
//! --ignored`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use bytes::BytesMut;
use myongoredis_core::resp::{encode_request, parse_frame};
use myongoredis_core::Frame;
use myongoredis_proptests::command::{known_core_divergences, type_sessions, Command, T0_MS};
use myongoredis_proptests::harness::{check_session, regression_sessions, Server};
use myongoredis_proptests::model::comparable;
use myongoredis_proptests::strategy::{cases, session_read_back};
use myongoredis_testsupport::RealRedis;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A `redis-server` on a free loopback port with a frozen, settable clock.
/// Killed when dropped (also when a test panics).
struct FrozenClockRedis {
    redis: RealRedis,
    stream: TcpStream,
    /// Holds the frozen time; rewritten in place, never truncated (the
    /// server maps it, and reading past a shrunk file would crash it).
    clock: File,
    clock_us: Option<u64>,
    dir: PathBuf,
}

impl FrozenClockRedis {
    fn start() -> FrozenClockRedis {
        // Unique per process: two runs at once must not share a clock.
        let dir =
            std::env::temp_dir().join(format!("myongoredis-reference-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let shim = dir.join("frozen_clock.so");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/frozen_clock.c");
        let built = Process::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&shim)
            .arg(&source)
            .status()
            .expect("a C compiler (cc) to build the clock shim");
        assert!(built.success(), "building {}", source.display());
        let clock_file = dir.join("clock");
        let clock = File::create(&clock_file).expect("clock file");
        write_clock(&clock, T0_MS * 1000);
        let redis = RealRedis::start_with_env(
            &[
                "--enable-debug-command",
                "yes",
                "--dir",
                dir.to_str().expect("a UTF-8 temp path"),
            ],
            &[
                ("LD_PRELOAD", shim.as_os_str()),
                ("FROZEN_CLOCK_FILE", clock_file.as_os_str()),
            ],
        )
        .expect("redis-server not found: apt-get install redis-server");
        let stream = TcpStream::connect(redis.addr()).expect("connects to redis-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut redis = FrozenClockRedis {
            redis,
            stream,
            clock,
            clock_us: Some(T0_MS * 1000),
            dir,
        };
        let off = [
            b"DEBUG".to_vec(),
            b"SET-ACTIVE-EXPIRE".to_vec(),
            b"0".to_vec(),
        ];
        assert_eq!(redis.call(&off), Frame::ok());
        let version = redis.call(&[b"INFO".to_vec(), b"server".to_vec()]);
        let Frame::Bulk(info) = version else {
            panic!("INFO replied {version:?}")
        };
        assert!(
            String::from_utf8_lossy(&info).contains("redis_version:7.0."),
            "the reference is Redis 7.0"
        );
        redis
    }

    fn call(&mut self, args: &[Vec<u8>]) -> Frame {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut out = BytesMut::new();
        encode_request(&refs, &mut out);
        self.stream.write_all(&out).expect("write to redis-server");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some((frame, _)) = parse_frame(&buf).expect("a valid reply") {
                return frame;
            }
            let n = self
                .stream
                .read(&mut chunk)
                .expect("read from redis-server");
            assert!(n > 0, "redis-server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Start a session: empty keyspace, clock at the model's start.
    fn reset(&mut self) {
        self.set_clock(T0_MS * 1000);
        assert_eq!(self.call(&[b"FLUSHALL".to_vec()]), Frame::ok());
    }

    fn set_clock(&mut self, now_us: u64) {
        if self.clock_us != Some(now_us) {
            write_clock(&self.clock, now_us);
            self.clock_us = Some(now_us);
        }
    }
}

/// Set the frozen time: Unix microseconds, little-endian, at offset 0. The
/// server reads it only while running a command, after this returned.
fn write_clock(clock: &File, now_us: u64) {
    clock
        .write_all_at(&now_us.to_le_bytes(), 0)
        .expect("write clock");
}

impl Server for FrozenClockRedis {
    /// The reply in the form the model's is compared in ([`comparable`]:
    /// set members sorted, HGETALL's RESP2 array read as the map it is).
    fn send(&mut self, args: &[Vec<u8>], now_us: u64) -> Frame {
        self.set_clock(now_us);
        comparable(args, self.call(args))
    }

    /// Redis runs its own cycle, switched off here; the model allows for
    /// one having run (DBSIZE becomes a range), so doing nothing is valid.
    fn active_expire(&mut self, _now_ms: u64) {}
}

impl Drop for FrozenClockRedis {
    fn drop(&mut self) {
        self.redis.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs redis-server 7.0 and a C compiler (apt-get install redis-server gcc)"]
fn the_model_agrees_with_real_redis() {
    // A RefCell: the runner takes an `Fn` closure; cases run one at a time.
    let redis = std::cell::RefCell::new(FrozenClockRedis::start());
    let mut runner = TestRunner::new(Config {
        cases: cases(500),
        max_shrink_iters: 5_000,
        ..Config::default()
    });
    let sessions = regression_sessions()
        .into_iter()
        .chain(type_sessions())
        .chain(known_core_divergences());
    for (name, commands) in sessions {
        let mut redis = redis.borrow_mut();
        redis.reset();
        if let Err(report) = check_session(&mut *redis, "redis-server 7.0", &commands) {
            panic!("{name}\n{report}");
        }
    }
    let result = runner.run(&session_read_back(40), |commands: Vec<Command>| {
        let mut redis = redis.borrow_mut();
        redis.reset();
        check_session(&mut *redis, "redis-server 7.0", &commands).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
