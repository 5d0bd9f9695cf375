//! One client connection: write request bytes, read reply frames.
//!
//! Replies are read with the engine's own strict reply parser
//! (`myongoredis_core::resp::parse_frame`), so the load generator and the
//! server's tests agree on what a well-formed reply is, and a malformed one
//! is an error in the report instead of a silent miscount.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use myongoredis_core::resp::{encode_request, parse_frame};
use myongoredis_core::Frame;

use crate::workload::{Encoder, Op, Prefill};

/// How long any single read or write may block. A server that stops
/// answering for this long is reported as an I/O error rather than
/// hanging the benchmark.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes asked of the kernel per `read`: enough for a whole pipelined
/// batch of small replies in one call.
const READ_CHUNK: usize = 64 * 1024;

/// Connect with the options every benchmark client needs.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    // Without TCP_NODELAY, Nagle's algorithm holds back a small request
    // until the previous one is acknowledged, and a depth-1 closed loop
    // would measure the kernel's delayed-ACK timer instead of the server.
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// The receive side of a connection: a buffer and a read position.
///
/// Parsed bytes are skipped by moving `pos`, and the buffer is compacted
/// only when more bytes are needed, so a pipelined batch of N replies costs
/// one copy, not N.
pub struct ReplyReader {
    buf: Vec<u8>,
    pos: usize,
}

impl Default for ReplyReader {
    fn default() -> Self {
        ReplyReader {
            buf: Vec::with_capacity(READ_CHUNK),
            pos: 0,
        }
    }
}

impl ReplyReader {
    /// The next reply frame, reading from `stream` as needed.
    pub fn next_frame(&mut self, stream: &mut impl Read) -> io::Result<Frame> {
        loop {
            match parse_frame(&self.buf[self.pos..]) {
                Ok(Some((frame, used))) => {
                    self.pos += used;
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            self.buf.drain(..self.pos);
            self.pos = 0;
            let filled = self.buf.len();
            self.buf.resize(filled + READ_CHUNK, 0);
            let n = match stream.read(&mut self.buf[filled..]) {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            };
            self.buf.truncate(filled + n);
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
        }
    }
}

/// A connection for one-off commands (INFO, PING, filling keys).
pub struct Conn {
    stream: TcpStream,
    reader: ReplyReader,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> io::Result<Conn> {
        Ok(Conn {
            stream: connect(addr)?,
            reader: ReplyReader::default(),
        })
    }

    /// Send one command and return its reply.
    pub fn command(&mut self, args: &[&[u8]]) -> io::Result<Frame> {
        let mut out = BytesMut::new();
        encode_request(args, &mut out);
        self.stream.write_all(&out)?;
        self.reader.next_frame(&mut self.stream)
    }
}

/// Requests per write while filling keys: deep enough that the fill is
/// bound by the server, not by round trips.
const PREFILL_BATCH: u64 = 1000;

/// Connections used to fill keys: a few, so that on a sharded server the
/// fill itself runs in parallel, but not so many that it matters on two
/// cores.
const PREFILL_CONNECTIONS: u64 = 4;

/// SET every key of `space` to `value`, over a few pipelined connections.
pub fn prefill(addr: SocketAddr, space: Prefill, value: &[u8]) -> io::Result<()> {
    let count = space.count();
    let per_conn = count.div_ceil(PREFILL_CONNECTIONS);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..PREFILL_CONNECTIONS)
            .map(|i| {
                let range = (i * per_conn)..((i + 1) * per_conn).min(count);
                s.spawn(move || fill_range(addr, space, value, range))
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(io::Error::other("a fill thread panicked")))
        })
    })
}

fn fill_range(
    addr: SocketAddr,
    space: Prefill,
    value: &[u8],
    range: std::ops::Range<u64>,
) -> io::Result<()> {
    if range.is_empty() {
        return Ok(());
    }
    let mut conn = Conn::open(addr)?;
    let mut encoder = Encoder::new(space.kind(), 0, value);
    let mut out = BytesMut::new();
    let mut key = range.start;
    while key < range.end {
        let end = (key + PREFILL_BATCH).min(range.end);
        out.clear();
        for k in key..end {
            encoder.encode(Op { set: true, key: k }, &mut out);
        }
        conn.stream.write_all(&out)?;
        for k in key..end {
            let reply = conn.reader.next_frame(&mut conn.stream)?;
            encoder
                .check(Op { set: true, key: k }, &reply)
                .map_err(io::Error::other)?;
        }
        key = end;
    }
    Ok(())
}
