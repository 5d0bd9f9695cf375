//! The reference: a real `redis-server` (the Debian package, 7.0) on a
//! free loopback port, killed on drop.

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long redis-server may take to accept its first connection. It
/// starts in milliseconds; only a server that failed to start waits this.
const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A running `redis-server` with nothing persisted (`--save ''
/// --appendonly no`), killed on drop.
pub struct RealRedis {
    child: Child,
    port: u16,
}

impl RealRedis {
    /// Start `redis-server` with `extra` arguments; `None`, after saying
    /// why on stderr, when it is not installed, so the caller can skip.
    pub fn start(extra: &[&str]) -> Option<RealRedis> {
        Self::start_with_env(extra, &[])
    }

    /// [`RealRedis::start`] with extra environment variables (an
    /// `LD_PRELOAD` shim, say).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &OsStr)]) -> Option<RealRedis> {
        // redis-server cannot pick its own port and report it, so take a
        // free one from the OS and hand it over. Another process could take
        // it in between; on loopback, in a test, that is rare enough.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                eprintln!(
                    "SKIPPED: redis-server is not on PATH (apt-get install redis-server); .ci/run installs it"
                );
                return None;
            }
            Err(e) => panic!("redis-server did not start: {e}"),
        };
        let mut redis = RealRedis { child, port };
        let deadline = Instant::now() + STARTUP_DEADLINE;
        while TcpStream::connect(redis.addr()).is_err() {
            if let Ok(Some(status)) = redis.child.try_wait() {
                panic!("redis-server exited at start-up: {status}");
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    /// A single-node cluster (`cluster-enabled yes`) keeping its
    /// `nodes.conf` in `dir`. Its bus port is a second free port: the
    /// default, port + 10000, is past 65535 for many ephemeral ports.
    pub fn start_cluster(dir: &std::path::Path) -> Option<RealRedis> {
        let bus_port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
            .to_string();
        let dir = dir.to_str().expect("a UTF-8 directory");
        Self::start(&[
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            &bus_port,
            "--dir",
            dir,
        ])
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kill it now and wait for it (dropping does the same; this is for an
    /// owner that must clean up after the process is gone).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
