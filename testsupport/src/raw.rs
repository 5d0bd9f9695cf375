//! A raw RESP connection: bytes in, [`Frame`]s out, nothing interpreted.
//!
//! Error texts and protocol errors are compared byte for byte with Redis,
//! and a client library would turn them into its own error values first.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use myongoredis_core::Frame;

/// How long [`Raw::is_closed`] waits for the server to close a connection.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(30);

/// How long one read may wait for a reply before the test fails: far
/// longer than any reply takes, so only a server that never answers hits it.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A raw RESP connection, for checking exact reply bytes (error texts,
/// protocol errors) that a client library would interpret away.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connects");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Send bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Send a command as a multibulk request and read one reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Frame {
        let mut out = bytes::BytesMut::new();
        myongoredis_core::resp::encode_request(args, &mut out);
        self.send_raw(&out);
        self.read_frame().expect("a reply")
    }

    /// Read one reply frame; `None` if the server closed the connection.
    pub fn read_frame(&mut self) -> Option<Frame> {
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
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        closed
    }
}
