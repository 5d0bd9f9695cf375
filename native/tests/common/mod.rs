//! Start the real `myongoredis` binary for a test and stop it afterwards.
//!
//! The server is started on `--port 0` (the OS picks a free port) bound to
//! 127.0.0.1; the port is read from the start-up line. Dropping the
//! [`Server`] kills the process, so a failing test leaves nothing behind.

#![allow(dead_code)] // each test binary uses a different part of this kit

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const MODES: [&str; 3] = ["mutex", "rw", "shard"];

/// How long [`Raw::is_closed`] waits for the server to close a connection.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(30);

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub mode: String,
}

impl Server {
    /// Start the server in `mode` with extra flags.
    pub fn start(mode: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_myongoredis"))
            .args(["--port", "0", "--bind", "127.0.0.1", "--mode", mode])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not print its start-up line");
            }
        };
        let addr = line
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in start-up line {line:?}"));
        Server {
            child,
            addr,
            mode: mode.to_string(),
        }
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

    /// Wait for the process to exit (after a signal), up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send a command and return its raw reply value.
pub fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

/// A raw RESP connection, for checking exact reply bytes (error texts,
/// protocol errors) that a client library would interpret away.
pub struct Raw {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = std::net::TcpStream::connect(addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Send bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.write_all(bytes).expect("write");
    }

    /// Send a command as a multibulk request and read one reply.
    pub fn call(&mut self, args: &[&[u8]]) -> myongoredis_core::Frame {
        let mut out = bytes::BytesMut::new();
        myongoredis_core::resp::encode_request(args, &mut out);
        self.send_raw(&out);
        self.read_frame().expect("a reply")
    }

    /// Read one reply frame; `None` if the server closed the connection.
    pub fn read_frame(&mut self) -> Option<myongoredis_core::Frame> {
        use std::io::Read;
        loop {
            if let Ok(Some((frame, used))) = myongoredis_core::resp::parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Wait for the server to close the connection: true when it does (EOF
    /// or a reset) within [`CLOSE_DEADLINE`], false when the connection is
    /// still open then, or the server sends bytes instead.
    ///
    /// The deadline is generous on purpose: a test waits for a condition,
    /// and only a server that never closes makes it wait that long.
    pub fn is_closed(&mut self) -> bool {
        use std::io::{ErrorKind, Read};
        self.stream
            .set_read_timeout(Some(CLOSE_DEADLINE))
            .expect("timeout");
        let mut b = [0u8; 1];
        let closed = match self.stream.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            ),
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        closed
    }
}
