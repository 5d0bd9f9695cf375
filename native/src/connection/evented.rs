//! One connection as an event loop serves it (`--io loop`): the same
//! [`Connection`] state as the thread model, driven by readiness instead of
//! blocking reads.
//!
//! The thread model sleeps in `read`, in a blocking pop and in a pause;
//! here nothing sleeps, because one thread serves every client of its
//! loop. So each wait becomes a state the loop looks at:
//! * **input**: the socket said it is readable and we have not read it
//!   empty yet ([`Readiness::input`]). Readiness is edge-triggered
//!   (epoll's `EPOLLET`, as mio registers), so the flag stands in for the
//!   edge until a read returns less than it asked (the kernel's queue
//!   was emptied; the next byte raises a new edge: tokio relies on the
//!   same rule) or `WouldBlock`;
//! * **replies not yet written**: the kernel took only part of them.
//!   Nothing more is read or run for this client until it takes the rest
//!   (its own back-pressure, as a blocking `write` gives the thread
//!   model); the writable edge resumes it;
//! * **blocked in a pop**: the pipeline holds the command; the loop runs
//!   it again when the waiter rings ([`myongoredis_core::blocking::Ring`])
//!   or its deadline passes;
//! * **held by CLIENT PAUSE**: the pipeline kept the command buffered
//!   ([`myongoredis_core::Shell::hold`]); the loop asks again shortly.
//!
//! A batch itself runs exactly as in the thread model, locks included:
//! if a command waits for a lock, **every client of this loop waits with
//! it**. That is the trade the experiment shows: far fewer threads for
//! the scheduler to juggle, but a contended lock now stalls a whole loop
//! (the reason Redis runs its commands on one thread and shared-nothing
//! designs give each loop its own data).

use std::io::{self, Read};
use std::time::Instant;

use myongoredis_core::Flow;

use super::{is_timeout, Connection};

/// Reads per turn before the loop moves on to its other clients, so one
/// client streaming a huge pipeline cannot starve them (Redis reads 16 KB
/// per readable event; this is 4 × 16 KB).
const READS_PER_TURN: usize = 4;

/// What the loop does with a connection after driving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drive {
    /// Waiting for an event (readable, writable, a ring, a tick).
    Wait,
    /// It may have more input buffered in the kernel: drive it again this
    /// loop turn, after the others.
    Again,
    /// Done: deregister and drop it.
    Close,
}

/// The loop's view of one socket.
#[derive(Debug)]
pub(crate) struct Readiness {
    /// Readable, and not read empty since.
    pub input: bool,
    /// Replies (or messages) wait in `output` for the socket to take them.
    pub stalled: bool,
    /// Since when nothing of them could be written: past the I/O deadline
    /// the client is closed, as a blocking write times out in the thread
    /// model.
    pub stalled_since: Option<Instant>,
    /// The client is to be closed once `output` is written (QUIT, an
    /// error reply before closing, a kill noticed mid-batch).
    pub ending: bool,
    /// On the loop's list of clients to look at on its next tick.
    pub watched: bool,
}

impl Default for Readiness {
    fn default() -> Self {
        // A new socket may already hold the client's first request.
        Readiness {
            input: true,
            stalled: false,
            stalled_since: None,
            ending: false,
            watched: false,
        }
    }
}

impl Connection<'_> {
    /// The loop saw an event for this socket (or wants to continue it):
    /// write what waits, then read and run what the client sent.
    pub(crate) fn drive(&mut self, chunk: &mut [u8]) -> Drive {
        for _ in 0..READS_PER_TURN {
            // Messages a publisher queued because the socket was full: the
            // writable edge that brought us here is their turn.
            if !self.readiness.stalled && self.outbox.has_queued() {
                self.outbox.begin();
                self.readiness.stalled = true;
            }
            if self.readiness.stalled {
                match self.flush_with_messages() {
                    Err(_) => return Drive::Close,
                    Ok(false) => {
                        self.stall();
                        return Drive::Wait;
                    }
                    Ok(true) => {
                        self.readiness.stalled = false;
                        self.readiness.stalled_since = None;
                    }
                }
            }
            if self.readiness.ending {
                return Drive::Close;
            }
            if self.pipeline.is_held() {
                // Held by a pause, or by replies the client was not
                // taking (which were just written): try again.
                if self.run_and_reply() == Drive::Close {
                    return Drive::Close;
                }
                if self.readiness.stalled {
                    return Drive::Wait;
                }
            }
            if !self.readiness.input {
                return Drive::Wait;
            }
            if self.pipeline.is_blocked() || self.pipeline.is_held() {
                // Not read while the command waits (as in the thread
                // model); a client that left is noticed and closed.
                return if self.client_left() {
                    Drive::Close
                } else {
                    Drive::Wait
                };
            }
            let read_start = self.trace_stamp();
            let n = match (&*self.stream).read(chunk) {
                Ok(0) => return Drive::Close,
                Ok(n) => n,
                Err(e) if is_timeout(&e) => {
                    self.readiness.input = false;
                    return Drive::Wait;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Drive::Close,
            };
            if n < chunk.len() {
                self.readiness.input = false;
            }
            if let (Some(tracer), Some(start)) = (&self.shared.tracer, read_start) {
                tracer.io("read", start, tracer.now_ns(), n);
            }
            self.stats.bytes_in += n as u64;
            self.pipeline.feed(&chunk[..n]);
            if self.run_and_reply() == Drive::Close {
                return Drive::Close;
            }
        }
        if self.readiness.input {
            Drive::Again
        } else {
            Drive::Wait
        }
    }

    /// Run what is buffered (a blocked command first) and write the
    /// replies: after a read, a ring, a tick. `Close` once the client is
    /// done with.
    pub(crate) fn run_and_reply(&mut self) -> Drive {
        if self.stats.folded_at.elapsed() >= super::STATS_FOLD {
            self.fold_stats();
        }
        self.outbox.begin();
        let flow = self.execute_buffered();
        self.outbox.set_protocol(self.pipeline.session().protocol);
        if self.pipeline.pending() == 0 || self.pipeline.is_blocked() {
            self.partial_since = None;
        } else if self.partial_since.is_none() {
            self.partial_since = Some(Instant::now());
        }
        if flow == Flow::Shutdown {
            self.shared.shutdown.request();
        }
        if !matches!(flow, Flow::Continue | Flow::Block)
            || self.outbox.overflowed()
            || self.registered.entry.is_killed()
        {
            self.readiness.ending = true;
        }
        match self.flush_with_messages() {
            Err(_) => Drive::Close,
            Ok(false) => {
                self.stall();
                Drive::Wait
            }
            Ok(true) if self.readiness.ending => Drive::Close,
            Ok(true) => Drive::Wait,
        }
    }

    /// The deadline of the blocking pop this client waits in, if it has
    /// one (Unix ms).
    pub(crate) fn blocked_until_ms(&self) -> Option<u64> {
        if !self.pipeline.is_blocked() {
            return None;
        }
        self.pipeline.session().blocked.flatten()
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.pipeline.is_blocked()
    }

    pub(crate) fn is_held(&self) -> bool {
        self.pipeline.is_held()
    }

    /// Replies wait for the socket to take them (a writable event resumes).
    pub(crate) fn is_stalled(&self) -> bool {
        self.readiness.stalled
    }

    pub(crate) fn client_id(&self) -> u64 {
        self.pipeline.session().id
    }

    /// Replies wait for the socket; the I/O deadline starts now unless it
    /// already runs.
    fn stall(&mut self) {
        self.readiness.stalled = true;
        self.readiness
            .stalled_since
            .get_or_insert_with(Instant::now);
    }

    /// Must the loop look at this client on its next tick: statistics to
    /// fold, a request or replies that are stuck (their deadline runs),
    /// messages queued? An idle client needs nothing: a kill or an
    /// overflow shuts its socket down, which the loop sees as readiness.
    pub(crate) fn needs_tick(&self) -> bool {
        self.stats.commands > 0
            || self.partial_since.is_some()
            || self.readiness.stalled
            || self.outbox.has_queued()
    }

    /// Put on (or taken off) the loop's tick list; returns whether it was
    /// newly put on.
    pub(crate) fn watch(&mut self, on: bool) -> bool {
        let newly = on && !self.readiness.watched;
        self.readiness.watched = on;
        newly
    }

    /// The loop's tick (every `TICK`): what the thread model checks when
    /// its read times out. `Close` when the client must go.
    pub(crate) fn tick(&mut self) -> Drive {
        if self.registered.entry.is_killed() || self.outbox.overflowed() {
            return Drive::Close;
        }
        // A client blocked in a pop is not idle (Redis exempts it from
        // `timeout` too); its pop has its own deadline.
        if !self.pipeline.is_blocked() && self.deadline_passed() {
            return Drive::Close;
        }
        if self
            .readiness
            .stalled_since
            .is_some_and(|since| since.elapsed() >= self.deadlines.io)
        {
            return Drive::Close;
        }
        if !self.readiness.stalled && self.outbox.has_queued() {
            self.outbox.begin();
            match self.flush_with_messages() {
                Err(_) => return Drive::Close,
                Ok(false) => self.stall(),
                Ok(true) => {}
            }
        }
        if self.stats.commands > 0 {
            self.fold_stats();
        }
        Drive::Wait
    }

    /// The server is shutting down: a client blocked in a pop is told so
    /// (as in the thread model), and whatever replies are still buffered
    /// get one bounded, blocking attempt to leave.
    pub(crate) fn finish_for_shutdown(&mut self) {
        if self.pipeline.is_blocked() {
            let text = myongoredis_core::blocking::UNBLOCKED_BY_SHUTDOWN;
            self.output
                .extend_from_slice(format!("-{text}\r\n").as_bytes());
        }
        if !self.output.is_empty() || self.outbox.has_queued() {
            self.evented = false;
            let _ = self.stream.set_nonblocking(false);
            let _ = self
                .stream
                .set_write_timeout(Some(self.deadlines.io.min(super::TICK * 10)));
            self.outbox.begin();
            let _ = self.flush_with_messages();
        }
    }

    /// Fold this connection's counts into the server's (it is closing).
    pub(crate) fn close(mut self) {
        self.fold_stats();
    }
}

impl Connection<'_> {
    /// The socket reported readable (or closed, or in error: the read
    /// will say which).
    pub(crate) fn readable(&mut self) {
        self.readiness.input = true;
    }

    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&*self.stream)
    }
}
