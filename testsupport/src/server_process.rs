//! The real `myongoredis` binary, started for one test and killed after it.
//!
//! The server is started on `--port 0` (the OS picks a free port) bound to
//! 127.0.0.1; the port is read from the start-up line, the one line CI and
//! scripts read too. Dropping the [`ServerProcess`] kills the process, so a
//! failing test leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a start-up line may take: the server prints it before it
/// accepts, so only a server that failed to start makes a test wait this.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// The environment variable that picks the I/O model of every server a
/// test starts (`threads`, the default, or `loop`).
pub const IO_ENV: &str = "MYONGOREDIS_TEST_IO";

/// A running `myongoredis`, killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Where it listens (127.0.0.1 and the port it printed).
    pub addr: SocketAddr,
    /// The `--mode` it was started with.
    pub mode: String,
    /// Its stdout after the start-up line, one line at a time (behind a
    /// mutex so that threads of one test can share the server).
    stdout: Mutex<Receiver<String>>,
}

impl ServerProcess {
    /// Start the server in `mode` with extra flags.
    pub fn start(mode: &str, extra: &[&str]) -> ServerProcess {
        Self::start_under(&[], mode, extra)
    }

    /// [`ServerProcess::start`] under a wrapper command, which gets the
    /// binary and its arguments as its own trailing arguments (`sh -c
    /// 'ulimit -f 4; exec "$0" "$@"'`, to give the process a resource
    /// limit).
    pub fn start_under(wrapper: &[&str], mode: &str, extra: &[&str]) -> ServerProcess {
        let binary = server_binary();
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        command
            .args(["--port", "0", "--bind", "127.0.0.1", "--mode", mode])
            .args(extra);
        // The I/O model is the experiment's second axis: scripts/test runs
        // the server's integration tests once per model, this variable
        // telling the second run which (`--io loop`). A test that names
        // its own `--io` keeps it.
        if let Ok(io) = std::env::var(IO_ENV) {
            if !extra.contains(&"--io") {
                command.args(["--io", &io]);
            }
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining after the test stops listening, so the server
            // never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = match rx.recv_timeout(STARTUP_DEADLINE) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not print its start-up line");
            }
        };
        let addr = line
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in start-up line {line:?}"));
        ServerProcess {
            child,
            addr,
            mode: mode.to_string(),
            stdout: Mutex::new(rx),
        }
    }

    /// The next line the server printed on stdout after its start-up line
    /// (e.g. `metrics on http://ADDR`), waiting up to the start-up deadline.
    pub fn next_stdout_line(&self) -> Option<String> {
        let stdout = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
        stdout.recv_timeout(STARTUP_DEADLINE).ok()
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A fresh synchronous client connection.
    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("valid url");
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connects");
        con.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        con
    }

    /// The process, for tests that signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for the process to exit (after a signal or SHUTDOWN), up to
    /// `timeout`; `None` if it is still running then.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl ServerProcess {
    /// SIGKILL, and wait for the process to go: no graceful shutdown, for
    /// tests of what a crash leaves behind.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `myongoredis` binary of this build: `target/<profile>/myongoredis`,
/// beside the directory of the running test executable
/// (`target/<profile>/deps/<test>`).
///
/// Why not `env!("CARGO_BIN_EXE_myongoredis")`: cargo sets that only for
/// the tests of the package that owns the binary, and the bench, the
/// simulator and the proptests are other packages. `cargo test --workspace`
/// has built the server already, into that same profile directory. A test
/// of one package run alone (`cargo test -p myongoredis-bench`) may find
/// none, so it is built then with `cargo build -p myongoredis` in the same
/// profile and target dir, once per test process. It is not rebuilt when
/// it exists: a suite run alone after a change to the server tests the
/// server last built, as `cargo test -p` of a package that does not depend
/// on it would.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(find_or_build).clone()
}

fn find_or_build() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe.parent().and_then(Path::parent).expect("profile dir");
    let bin = profile_dir.join(format!("myongoredis{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        return bin;
    }
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile directory name");
    let target_dir = profile_dir.parent().expect("target dir");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "myongoredis", "--bin", "myongoredis"])
        .arg("--manifest-path")
        .arg(&workspace)
        .arg("--target-dir")
        .arg(target_dir);
    // The `dev` profile's directory is `debug`; every other profile's
    // directory is its name.
    if profile != "debug" {
        build.args(["--profile", profile]);
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the server failed");
    assert!(bin.exists(), "cargo built no {}", bin.display());
    bin
}
