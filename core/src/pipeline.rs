//! One client connection without the socket: bytes and the time in;
//! replies, flow and capture records out.
//!
//! Every shell that serves clients runs this same loop: the native server
//! (per connection thread), the simulator (per generated client) and the
//! property and fuzz harnesses. What differs between them is not the loop
//! but what wraps each command, so that is the [`Shell`] trait: the native
//! server times and traces a command and contains its panic; a harness
//! may decline commands it cannot bound. Sockets, deadlines and statistics
//! stay in the shells. (TigerBeetle shares its state machine between the
//! replica and its simulator the same way.)
//!
//! The loop, as Redis's `processInputBuffer`:
//! * parse every complete request in the input buffer, in order; an
//!   incomplete one stays buffered until more bytes arrive;
//! * execute each with the batch's one clock reading (Redis caches the time
//!   per event-loop iteration, so every command of a pipeline sees the same
//!   "now");
//! * after QUIT or SHUTDOWN, stop: the rest of the buffer is not executed;
//! * on a protocol error, reply with Redis's `-ERR Protocol error: ...`
//!   and close: the rest of the stream cannot be framed any more.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use crate::capture::{self, CommandRecord, Mark, Record};
use crate::exec::{Executed, Executor, Flow, Session};
use crate::frame::Frame;
use crate::resp::{parse_request_in, Parsed};

/// The reply a client gets when its command panicked. The connection is
/// closed after it: the panic may have left the session half-changed.
pub const PANIC_REPLY: &str =
    "ERR internal error while executing the command; closing the connection";

/// What the shell made of one command (see [`Shell::command`]).
// `Ran` is large (the write signal keeps its keys inline); boxing it would
// cost an allocation per command for a value that lives on the stack for
// one command.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// It ran; the executor's report.
    Ran(Executed),
    /// It panicked (the shell caught the unwind); the pipeline replies
    /// with [`PANIC_REPLY`] and closes.
    Panicked,
    /// The shell chose not to run it: no reply, no record (a fuzz harness
    /// skipping commands whose memory it cannot bound).
    Declined,
}

/// What wraps each command: the one place where shells differ.
pub trait Shell {
    /// Run one command by calling `run`, and say how it went. The native
    /// server measures and traces the call and wraps it in
    /// `catch_unwind`; the plain shell just calls it.
    fn command(&mut self, args: &[Bytes], run: &mut dyn FnMut() -> Executed) -> Outcome;

    /// Called before each command with the clock reading it was to run
    /// with; returns the reading it runs with. A shell may hold the
    /// command here (the native server does while CLIENT PAUSE is in
    /// force) and then hand it a fresh reading, so a command that waited
    /// does not run in the past. The capture records the reading used.
    fn admit(&mut self, args: &[Bytes], now_us: u64) -> u64 {
        let _ = args;
        now_us
    }

    /// Asked before a command is consumed: must it wait (a CLIENT PAUSE
    /// in force)? If so the pipeline stops with [`Step::Held`], leaving
    /// the command and everything after it buffered, and the shell runs
    /// the batch again later. A shell that serves many clients on one
    /// thread (the event loop) cannot sleep in [`Shell::admit`] without
    /// stalling the others, so it holds here instead.
    ///
    /// The command is given by name and argument count (its arity is
    /// checked first, as for a paused command in Redis), before anything
    /// is copied out of the input buffer.
    fn hold(&mut self, name: &[u8], argc: usize) -> bool {
        let _ = (name, argc);
        false
    }

    /// Called after each command with every reply not yet taken: a shell
    /// may write them out (and clear `out`) so a long pipeline of large
    /// replies does not buffer without bound. An error ends the batch and
    /// the connection.
    fn replies(&mut self, out: &mut BytesMut) -> std::io::Result<()> {
        let _ = out;
        Ok(())
    }
}

/// The shell with nothing around a command.
pub struct PlainShell;

impl Shell for PlainShell {
    fn command(&mut self, _: &[Bytes], run: &mut dyn FnMut() -> Executed) -> Outcome {
        Outcome::Ran(run())
    }
}

/// Where a capturing pipeline puts its records.
pub enum CaptureSink {
    /// Not capturing.
    Off,
    /// Encoded straight into capture-file lines (the server: no record is
    /// built, nothing allocated but the buffer's growth).
    Lines(Vec<u8>),
    /// As records (the simulator, which compares and saves them).
    Records(Vec<Record>),
}

impl CaptureSink {
    fn is_on(&self) -> bool {
        !matches!(self, CaptureSink::Off)
    }

    fn command(
        &mut self,
        conn: u64,
        now_us: u64,
        args: &[Bytes],
        request: &[u8],
        reply: &[u8],
        executed: &Executed,
    ) {
        match self {
            CaptureSink::Off => {}
            CaptureSink::Lines(lines) => {
                capture::encode_command_records(lines, conn, now_us, args, request, reply, executed)
            }
            CaptureSink::Records(records) => records.extend(capture::command_records(
                conn, now_us, args, request, reply, executed,
            )),
        }
    }

    fn record(&mut self, record: Record) {
        match self {
            CaptureSink::Off => {}
            CaptureSink::Lines(lines) => record.encode(lines),
            CaptureSink::Records(records) => records.push(record),
        }
    }
}

/// The result of one [`Pipeline::run_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// No complete request is buffered: wait for more bytes.
    Incomplete,
    /// The next command must wait ([`Shell::hold`]): nothing was consumed.
    Held,
    /// One request was consumed; go on unless the flow says otherwise.
    Done {
        flow: Flow,
        /// False for an empty request (a blank inline line, `*0`) and for
        /// a command the shell declined.
        executed: bool,
    },
}

/// One client's connection state: its session, the bytes it sent that
/// were not executed yet, and its capture records.
pub struct Pipeline {
    session: Session,
    input: BytesMut,
    capture: CaptureSink,
    /// Bytes consumed since the pipeline was made.
    consumed: usize,
    /// A blocking pop that found nothing: its arguments and request bytes.
    /// The next batch runs it again before anything else (the client's
    /// later requests wait behind it, as in Redis).
    blocked: Option<(Vec<Bytes>, Bytes)>,
    /// The last batch stopped at a command the shell held ([`Shell::hold`]).
    held: bool,
    /// Where the arguments of the request being parsed lie in `input`,
    /// and the arguments as slices of it: kept between requests, so
    /// parsing allocates nothing once they have grown.
    ranges: Vec<Range<usize>>,
    args: Vec<Bytes>,
}

impl Pipeline {
    pub fn new(session: Session, capture: CaptureSink) -> Pipeline {
        Pipeline {
            session,
            input: BytesMut::new(),
            capture,
            consumed: 0,
            blocked: None,
            held: false,
            ranges: Vec::new(),
            args: Vec::new(),
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, when the connection is done with.
    pub fn into_session(self) -> Session {
        self.session
    }

    /// The connection is over: release what its session holds in the
    /// store (its WATCHes; see [`Executor::end_session`]).
    pub fn end(&mut self, exec: &Executor) {
        exec.end_session(&mut self.session);
    }

    /// Append bytes the client sent.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    /// Bytes of an unfinished request still waiting for the rest (the
    /// shell's I/O deadline runs while this is non-zero).
    pub fn pending(&self) -> usize {
        self.input.len()
    }

    /// Bytes consumed (executed, skipped or refused) since the start.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Take the capture output collected so far, leaving an empty buffer
    /// of the same kind.
    pub fn take_capture(&mut self) -> CaptureSink {
        let empty = match &self.capture {
            CaptureSink::Off => CaptureSink::Off,
            CaptureSink::Lines(l) => CaptureSink::Lines(Vec::with_capacity(l.len())),
            CaptureSink::Records(_) => CaptureSink::Records(Vec::new()),
        };
        std::mem::replace(&mut self.capture, empty)
    }

    /// Execute every complete request buffered, at `now_us`, appending the
    /// replies to `out`. Stops early on QUIT, SHUTDOWN, a protocol error,
    /// a panic or a failed [`Shell::replies`]; returns the flow and the
    /// number of commands executed.
    pub fn run_batch(
        &mut self,
        exec: &Executor,
        now_us: u64,
        out: &mut BytesMut,
        shell: &mut dyn Shell,
    ) -> (Flow, usize) {
        let mut executed = 0;
        self.held = false;
        loop {
            match self.run_next(exec, now_us, out, shell) {
                Step::Incomplete => return (Flow::Continue, executed),
                Step::Held => {
                    self.held = true;
                    return (Flow::Continue, executed);
                }
                Step::Done {
                    flow,
                    executed: ran,
                } => {
                    executed += usize::from(ran);
                    if flow != Flow::Continue {
                        return (flow, executed);
                    }
                    if ran && shell.replies(out).is_err() {
                        return (Flow::Close, executed);
                    }
                }
            }
        }
    }

    /// Did the last batch stop at a command the shell held? It is still
    /// buffered; run the batch again once the hold is over.
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Is the connection waiting in a blocking pop?
    pub fn is_blocked(&self) -> bool {
        self.blocked.is_some()
    }

    /// Consume and execute at most one request (a harness that moves the
    /// clock between commands calls this in a loop).
    pub fn run_next(
        &mut self,
        exec: &Executor,
        now_us: u64,
        out: &mut BytesMut,
        shell: &mut dyn Shell,
    ) -> Step {
        if let Some((args, request)) = self.blocked.take() {
            if shell.hold(&args[0], args.len()) {
                self.blocked = Some((args, request));
                return Step::Held;
            }
            return self.execute(exec, &args, &request, now_us, out, shell);
        }
        match parse_request_in(&self.input, &mut self.ranges) {
            Ok(Parsed::Incomplete) => Step::Incomplete,
            Ok(Parsed::InPlace { .. }) if self.held_by(shell) => Step::Held,
            Ok(Parsed::Owned { ref args, .. })
                if shell.hold(args.first().map_or(&[][..], |a| a), args.len()) =>
            {
                Step::Held
            }
            Ok(Parsed::Skip { consumed }) => {
                self.input.advance(consumed);
                self.consumed += consumed;
                Step::Done {
                    flow: Flow::Continue,
                    executed: false,
                }
            }
            Ok(Parsed::InPlace { consumed }) => {
                // The request leaves the input buffer as one shared,
                // reference-counted piece, and every argument is a slice of
                // it: no copy, no allocation. The buffer is reused for the
                // next read once the command dropped its slices (see the
                // module's notes on what must not keep them).
                let request = self.input.split_to(consumed).freeze();
                self.consumed += consumed;
                let mut args = std::mem::take(&mut self.args);
                args.extend(self.ranges.iter().map(|r| request.slice(r.clone())));
                let step = self.execute(exec, &args, &request, now_us, out, shell);
                args.clear();
                self.args = args;
                step
            }
            Ok(Parsed::Owned { args, consumed }) => {
                let request = self.input.split_to(consumed).freeze();
                self.consumed += consumed;
                self.execute(exec, &args, &request, now_us, out, shell)
            }
            Err(e) => {
                Frame::Error(e.message_bytes().into()).encode(out);
                if self.capture.is_on() {
                    if let Some(seq) = exec.next_seq() {
                        self.capture.record(Record::Command(CommandRecord {
                            seq,
                            conn: self.session.id,
                            now_us,
                            rng: None,
                            mark: Mark::Compared,
                            request: self.input.to_vec(),
                            reply: capture::protocol_error_reply(&e),
                        }));
                    }
                }
                self.consumed += self.input.len();
                self.input.clear();
                Step::Done {
                    flow: Flow::Close,
                    executed: false,
                }
            }
        }
    }

    /// [`Shell::hold`] for the in-place request just parsed.
    fn held_by(&self, shell: &mut dyn Shell) -> bool {
        let name = self
            .ranges
            .first()
            .map_or(&[][..], |r| &self.input[r.clone()]);
        shell.hold(name, self.ranges.len())
    }

    fn execute(
        &mut self,
        exec: &Executor,
        args: &[Bytes],
        request: &[u8],
        now_us: u64,
        out: &mut BytesMut,
        shell: &mut dyn Shell,
    ) -> Step {
        let now_us = shell.admit(args, now_us);
        let mark = out.len();
        let session = &mut self.session;
        let outcome = shell.command(args, &mut || exec.execute(session, args, now_us, out));
        let conn = self.session.id;
        match outcome {
            Outcome::Ran(executed) => {
                self.capture
                    .command(conn, now_us, args, request, &out[mark..], &executed);
                if executed.flow == Flow::Block {
                    // Copies: a client may stay blocked for hours, and
                    // slices would keep its whole input buffer alive.
                    let args = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
                    self.blocked = Some((args, Bytes::copy_from_slice(request)));
                }
                Step::Done {
                    flow: executed.flow,
                    executed: true,
                }
            }
            Outcome::Declined => {
                out.truncate(mark);
                Step::Done {
                    flow: Flow::Continue,
                    executed: false,
                }
            }
            Outcome::Panicked => {
                // A lock the command held was released while unwinding;
                // the store enters poisoned locks (see store/strategies.rs).
                out.truncate(mark);
                Frame::static_error(PANIC_REPLY).encode(out);
                // Replay cannot redo half a command: marked, not replayed.
                if self.capture.is_on() {
                    if let Some(seq) = exec.next_seq() {
                        self.capture.record(Record::Command(CommandRecord {
                            seq,
                            conn,
                            now_us,
                            rng: None,
                            mark: Mark::Panicked,
                            request: request.to_vec(),
                            reply: out[mark..].to_vec(),
                        }));
                    }
                }
                Step::Done {
                    flow: Flow::Close,
                    executed: true,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
