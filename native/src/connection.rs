//! One client connection: read, parse every complete request, execute
//! them all, write every reply with one `write`.
//!
//! That loop is what makes pipelining work: a client that sends 16
//! commands before reading gets 16 replies in one buffer, one syscall each
//! way instead of 32.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use bytes::{Buf, BytesMut};
use myongoredis_core::resp::{parse_request, Request};
use myongoredis_core::{Flow, Frame, Session};

use crate::clock::unix_now_us;
use crate::limits::{Deadlines, Slot};
use crate::server::Shared;
use crate::shutdown::TICK;

/// Bytes asked of the kernel per `read`.
const READ_CHUNK: usize = 16 * 1024;
/// Flush the reply buffer mid-batch once it holds this much, so a long
/// pipeline of large replies does not buffer without bound.
const FLUSH_AT: usize = 64 * 1024;
/// After a flush, a reply buffer that grew beyond this is released rather
/// than kept for the life of the connection.
const KEEP_OUTPUT_CAPACITY: usize = 1024 * 1024;

pub struct Connection<'a> {
    stream: TcpStream,
    /// This client's `--maxclients` slot, released when the connection ends.
    _slot: Slot<'a>,
    deadlines: Deadlines,
    /// When the client last completed a request (idle `--timeout`).
    last_activity: Instant,
    /// When the unfinished request now in `input` began to arrive. A
    /// slowloris client trickling one byte at a time does not reset it:
    /// the deadline is for the whole request, not for each byte.
    partial_since: Option<Instant>,
    session: Session,
    shared: &'a Shared,
    input: BytesMut,
    output: BytesMut,
}

impl<'a> Connection<'a> {
    pub fn new(stream: TcpStream, slot: Slot<'a>, session: Session, shared: &'a Shared) -> Self {
        Connection {
            stream,
            _slot: slot,
            deadlines: shared.deadlines,
            last_activity: Instant::now(),
            partial_since: None,
            session,
            shared,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// Serve the client until it leaves, errs, or asks to quit.
    pub fn serve(mut self) {
        // Redis sets TCP_NODELAY on every client: replies are small and
        // latency-bound, and we already batch them per read ourselves.
        let _ = self.stream.set_nodelay(true);
        // Reads wake up every TICK so the thread notices a shutdown or an
        // expired deadline even while its client is silent. A write that
        // cannot progress for the I/O deadline fails (the client stopped
        // reading its replies) and ends the connection.
        let _ = self.stream.set_read_timeout(Some(TICK));
        let _ = self.stream.set_write_timeout(Some(self.deadlines.io));
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let n = match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if is_timeout(&e) => {
                    if self.shared.shutdown.is_requested() || self.deadline_passed() {
                        return;
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            self.input.extend_from_slice(&chunk[..n]);
            // A batch that was read is executed and answered even when a
            // shutdown arrives meanwhile: no acknowledged command is lost.
            let flow = self.execute_buffered();
            if self.input.is_empty() {
                self.partial_since = None;
            } else if self.partial_since.is_none() {
                self.partial_since = Some(Instant::now());
            }
            if self.flush().is_err()
                || flow != Flow::Continue
                || self.shared.shutdown.is_requested()
                || self.deadline_passed()
            {
                if flow == Flow::Shutdown {
                    self.shared.shutdown.request();
                }
                return;
            }
        }
    }

    /// Has this client been idle, or stuck mid-request, for too long?
    fn deadline_passed(&self) -> bool {
        match self.partial_since {
            Some(since) => since.elapsed() >= self.deadlines.io,
            None => self
                .deadlines
                .idle
                .is_some_and(|idle| self.last_activity.elapsed() >= idle),
        }
    }

    /// Execute every complete request in the input buffer, appending the
    /// replies to the output buffer.
    fn execute_buffered(&mut self) -> Flow {
        // One clock reading per batch, as Redis caches the time per event
        // loop iteration: every command of a pipeline sees the same "now".
        let now_us = unix_now_us();
        loop {
            match parse_request(&self.input) {
                Ok(Request::Command { args, consumed }) => {
                    self.input.advance(consumed);
                    self.last_activity = Instant::now();
                    let flow = self.execute(&args, now_us);
                    if flow != Flow::Continue {
                        return flow;
                    }
                    if self.output.len() >= FLUSH_AT && self.flush().is_err() {
                        return Flow::Close;
                    }
                }
                Ok(Request::Skip { consumed }) => self.input.advance(consumed),
                Ok(Request::Incomplete) => return Flow::Continue,
                Err(e) => {
                    // As Redis: reply with the protocol error, then close
                    // (the rest of the stream cannot be framed any more).
                    Frame::Error(e.message_bytes().into()).encode(&mut self.output);
                    return Flow::Close;
                }
            }
        }
    }

    /// Execute one command, containing any panic to this connection.
    fn execute(&mut self, args: &[bytes::Bytes], now_us: u64) -> Flow {
        let mark = self.output.len();
        let shared = self.shared;
        let (session, output) = (&mut self.session, &mut self.output);
        let result = catch_unwind(AssertUnwindSafe(|| {
            if shared
                .panic_on
                .as_deref()
                .is_some_and(|c| args[0].eq_ignore_ascii_case(c))
            {
                panic!("--debug-panic-on {}", String::from_utf8_lossy(&args[0]));
            }
            shared.exec.execute(session, args, now_us, output)
        }));
        match result {
            Ok(flow) => flow,
            Err(_) => {
                // The panic message went to stderr through the panic hook.
                // This client gets an error and is closed; a lock the
                // command held was released during unwinding, and the
                // store enters poisoned locks (see core's strategies.rs).
                self.output.truncate(mark);
                Frame::static_error(
                    "ERR internal error while executing the command; closing the connection",
                )
                .encode(&mut self.output);
                Flow::Close
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.output.is_empty() {
            self.stream.write_all(&self.output)?;
            self.output.clear();
            if self.output.capacity() > KEEP_OUTPUT_CAPACITY {
                self.output = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        Ok(())
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
