//! The servers under test: one row of the report each.
//!
//! The bench starts every server it measures itself, on a free loopback
//! port, and stops it with SIGTERM at the end (myongoredis then exits 0
//! after a graceful drain; anything else is recorded). Two safety nets
//! make sure no server outlives the bench: [`Server`]'s `Drop` kills it,
//! and on Linux the child is started with `PR_SET_PDEATHSIG`, so even a
//! bench killed with SIGKILL takes its servers with it.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use myongoredis_core::Frame;
use serde::Serialize;

use crate::cli::{IoName, ModeName};
use crate::client::Conn;
use crate::info;

/// How long a server may take to print its address or answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a graceful SIGTERM shutdown may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A row of the report: what was measured, as recorded in results.json.
#[derive(Clone, Debug, Serialize)]
pub struct RowInfo {
    /// `mutex`, `rw`, `shard`, `redis-server` or `target`.
    pub label: String,
    /// `myongoredis`, `redis-server`, or `external` for `--target`.
    pub server: String,
    /// The lock mode, when known (from the flag, or from INFO contention).
    pub mode: Option<String>,
    /// The `--shards` passed to the server, if any.
    pub shards: Option<u32>,
    pub binary: Option<PathBuf>,
    pub addr: SocketAddr,
    /// The server's start-up line, or its `redis_version`.
    pub version: Option<String>,
    /// Where the server's output went.
    pub log: Option<PathBuf>,
    /// The server's trace file (`--trace-sample`), for the report to link.
    pub trace_file: Option<PathBuf>,
    /// How the server ended: `exit 0`, `exit 1`, `signal 9`, ...
    pub exit: Option<String>,
}

/// A running (or external) server.
pub struct Server {
    pub row: RowInfo,
    child: Option<Child>,
}

impl Server {
    /// Start `binary --port 0 --mode MODE [--shards N]` and read its
    /// address from the start-up line (`... listening on 127.0.0.1:PORT`).
    pub fn start_mode(
        binary: &Path,
        mode: ModeName,
        (io, io_threads): (IoName, Option<u32>),
        shards: Option<u32>,
        logs: &Path,
        trace: Option<(PathBuf, u64)>,
        label: String,
    ) -> Result<Server, String> {
        let log_path = logs.join(format!("server-{}.log", label.replace('/', "-")));
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let mut cmd = Command::new(binary);
        cmd.args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--mode",
            mode.as_str(),
        ]);
        if let (ModeName::Shard, Some(n)) = (mode, shards) {
            cmd.args(["--shards", &n.to_string()]);
        }
        cmd.args(["--io", io.as_str()]);
        if let (IoName::Loop, Some(n)) = (io, io_threads) {
            cmd.args(["--io-threads", &n.to_string()]);
        }
        if let Some((path, sample)) = &trace {
            cmd.arg("--trace")
                .arg(path)
                .args(["--trace-sample", &sample.to_string()]);
        }
        let mut child = spawn(cmd, Stdio::piped(), &log, binary)?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's stdout is not piped")?;
        let mut copy = log.try_clone().map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = writeln!(copy, "{line}");
                let _ = tx.send(line);
            }
            // Keep draining into the log, so the server never blocks on a
            // full pipe.
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(copy, "{line}");
            }
        });
        let line = rx.recv_timeout(START_TIMEOUT).map_err(|_| {
            let _ = child.kill();
            let _ = child.wait();
            format!(
                "{} --mode {} printed no start-up line (see {})",
                binary.display(),
                mode.as_str(),
                log_path.display()
            )
        })?;
        let addr: SocketAddr = match line.rsplit(' ').next().and_then(|a| a.parse().ok()) {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no address in the start-up line {line:?}"));
            }
        };
        Ok(Server {
            row: RowInfo {
                label,
                server: "myongoredis".into(),
                mode: Some(mode.as_str().to_string()),
                shards: shards.filter(|_| mode == ModeName::Shard),
                binary: Some(binary.to_path_buf()),
                addr,
                version: Some(line),
                log: Some(log_path),
                trace_file: trace.map(|(path, _)| path),
                exit: None,
            },
            child: Some(child),
        })
    }

    /// Start a real redis-server as the reference row, configured as the
    /// issue asks: no RDB snapshots, no AOF (and Redis's default 16
    /// databases, as myongoredis has).
    pub fn start_redis(binary: &Path, logs: &Path) -> Result<Server, String> {
        // redis-server cannot pick its own port and report it, so take a
        // free one from the OS and hand it over. Another process could
        // grab it in between; then PING fails below and the run says so.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log_path = logs.join("server-redis-server.log");
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let mut cmd = Command::new(binary);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        let out = log.try_clone().map_err(|e| e.to_string())?;
        let child = spawn(cmd, Stdio::from(out), &log, binary)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Server {
            row: RowInfo {
                label: "redis-server".into(),
                server: "redis-server".into(),
                mode: None,
                shards: None,
                binary: Some(binary.to_path_buf()),
                addr,
                version: None,
                log: Some(log_path),
                trace_file: None,
                exit: None,
            },
            child: Some(child),
        };
        server.wait_for_ping()?;
        server.row.version = info::info(addr, "server")
            .and_then(|text| info::info_field(&text, "redis_version"))
            .map(|v| format!("redis-server {v}"));
        Ok(server)
    }

    /// A server someone else runs (`--target`); it is never stopped.
    pub fn existing(addr: SocketAddr) -> Result<Server, String> {
        let mut server = Server {
            row: RowInfo {
                label: "target".into(),
                server: "external".into(),
                mode: None,
                shards: None,
                binary: None,
                addr,
                version: None,
                log: None,
                trace_file: None,
                exit: None,
            },
            child: None,
        };
        server.wait_for_ping()?;
        server.row.mode = info::contention(addr).map(|c| c.mode);
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.row.addr
    }

    /// The process id of a server the bench started (not of `--target`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn wait_for_ping(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let pong = Conn::open(self.row.addr)
                .and_then(|mut c| c.command(&[b"PING"]))
                .is_ok_and(|f| f == Frame::simple("PONG"));
            if pong {
                return Ok(());
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("{} exited at start: {status}", self.row.label));
                }
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{} does not answer PING at {}",
                    self.row.label, self.row.addr
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then wait for a graceful exit; SIGKILL if it takes too long.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX);
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our
        // own child, not yet reaped (we hold its `Child`), so it cannot have
        // been reused by another process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        let exit = loop {
            match child.try_wait() {
                Ok(Some(status)) => break describe(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break format!(
                        "killed: no exit within {} s of SIGTERM",
                        STOP_TIMEOUT.as_secs()
                    );
                }
            }
        };
        self.row.exit = Some(exit);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// Spawn a server with its stderr in `log`, so that it dies with us.
fn spawn(mut cmd: Command, stdout: Stdio, log: &File, binary: &Path) -> Result<Child, String> {
    let stderr = log.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: runs in the child between fork and exec, where only
        // async-signal-safe calls are allowed; prctl is one. It asks the
        // kernel to SIGKILL the server when the thread that spawned it (the
        // bench's main thread, alive for the whole bench) dies.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))
}
